//! Errors of the performance model.

use crate::perf::table::PerfDbError;

/// Why an estimate could not be made. Every message says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PerfError {
    /// `backend: auto` names no engine.
    #[error("backend `auto` cannot be estimated: name one engine (vllm, sglang or trtllm)")]
    AutoBackend,
    /// A size that must be positive is zero.
    #[error("{what} must be at least 1")]
    Zero {
        /// The size (e.g. `isl`, `tp`).
        what: &'static str,
    },
    /// A parallel layout that does not add up.
    #[error("invalid parallel layout: {0}")]
    Layout(String),
    /// A quantization name dgdr does not know.
    #[error("unknown {what} quantization `{name}` (known: {known})")]
    UnknownQuant {
        /// `gemm`, `moe` or `kv`.
        what: &'static str,
        /// The name given.
        name: String,
        /// The names accepted.
        known: &'static str,
    },
    /// The model or system has something the model cannot handle.
    #[error("{0}")]
    Unsupported(String),
    /// A disaggregated configuration that lacks what the estimate needs.
    #[error("{0}")]
    Incomplete(String),
    /// The embedded perf tables are unreadable (a build defect).
    #[error("perf tables: {0}")]
    Tables(#[from] PerfDbError),
}
