//! The performance model.
//!
//! - [`table`]: measured per-operation latency tables and lookups on them;
//! - [`ops`]: op composition of one engine step from the tables (and the
//!   roofline where they do not reach);
//! - `engine`: what each engine does with those steps under a closed-loop
//!   benchmark, aggregated and disaggregated;
//! - [`memory`]: weights, activations, runtime reserve and KV cache per GPU;
//! - [`estimate`](mod@estimate): the API ([`estimate::estimate`], [`estimate::step_breakdown`]);
//! - [`constants`]: every fitted or assumed constant, in one place;
//! - the roofline fallback's op times, re-exported ([`gemm_ms`],
//!   [`context_attention_ms`], [`generation_attention_ms`], [`comm_ms`]) so
//!   that hosts can compare it with measurements.

pub mod table;

pub mod constants;
mod engine;
pub mod error;
pub mod estimate;
pub mod memory;
pub mod ops;
pub mod parallel;
pub mod quant;
mod roofline;

pub use constants::{
    BackendConstants, Calibration, MemoryRule, VersionFamily, engine_knobs, version_family,
};
pub use error::PerfError;
pub use estimate::{
    Breakdown, Estimate, EstimateRequest, Mode, Prepared, Sources, Worker, estimate, step_breakdown,
};
pub use memory::{Memory, min_gpus_to_fit};
pub use ops::{OpSource, OpTime, StepModel, StepShape};
pub use parallel::Parallel;
pub use quant::{GemmQuant, KvQuant, QuantConfig, QuantOverrides};
pub use roofline::{Comm, comm_ms, context_attention_ms, gemm_ms, generation_attention_ms};
