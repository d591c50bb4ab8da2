//! The model catalog: architecture facts of LLMs, read from HuggingFace
//! `config.json` (+ `hf_quant_config.json`), with exact parameter counts,
//! weight bytes and KV-cache bytes.
//!
//! - [`parse_hf_config`] reads a user's own config files (the host reads them);
//! - [`Catalog::builtin`] is the catalog compiled into the core, and
//!   [`Catalog::resolve`] (or [`resolve`]) turns a DGDR `model` id into a
//!   [`ModelArch`]: exact ids, any case, aliases, instruct variants and
//!   quantized checkpoints of known architectures; unknown ids are errors that
//!   list the closest known ones, never guesses;
//! - [`ModelArch::params`], [`ModelArch::weight_bytes`],
//!   [`ModelArch::kv_bytes_per_token`], [`ModelArch::kv_bytes_for_sequence`]
//!   and [`ModelArch::state_bytes_per_sequence`] do the arithmetic.

mod alias;
mod arch;
mod config;
mod embedded;
mod error;
mod import;
mod json;
mod params;
mod quant;
mod tensors;
mod vision;

pub use alias::{ALIASES, ORG_ALIASES, is_path, resolve};
pub use arch::{
    Attention, CompressedAttention, DenseMlp, Dtype, Family, Indexer, IndexerKind, KdaGates,
    Layers, LinearAttention, Mamba, Mla, ModelArch, Moe, Mtp, Norms, OutputGate, PerLayer, QkNorm,
    SlidingWindow, Vision,
};
pub use config::{SUPPORTED_ARCHITECTURES, parse_hf_config};
pub use embedded::{CATALOG_FORMAT, CATALOG_JSON, Catalog, Unsupported};
pub use error::ModelError;
pub use import::{ConfigFiles, build_catalog, hf_quant_file_name, id_from_file_name};
pub use params::{LayerKv, ParamCounts};
pub use quant::{KvCacheDtype, QuantSource, Quantization, WeightFormat};
pub use tensors::{Component, Naming, Tensor, aliases, layer as layer_tensors, tensors};
