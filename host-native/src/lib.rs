//! dgdr-native: the `dgdr` command and the hosts that bring the world (files,
//! Kubernetes, GPUs, terminals) to the pure planning core.
#![deny(clippy::unwrap_used)]

pub mod accuracy;
pub mod artifacts;
pub mod calibrate;
pub mod cli;
pub mod discovery;
pub mod local_models;
pub mod output_dir;
pub mod wasm_runtime;
