//! Every constant of the performance model that is not a measured table or
//! an architecture fact, in one place, each with how it was obtained.
//!
//! Two kinds:
//! - [`EngineKnobs`]: the engines' documented defaults (token budget per
//!   step, running-sequence limit, memory fraction, scheduling policy). Read
//!   from the engines' sources and docs, not fitted.
//! - [`BackendConstants`]: a handful of global constants per backend,
//!   **fitted** against `silicon_calibration.csv` by `dgdr accuracy
//!   --calibrate` (coordinate descent on the median absolute log error of
//!   TTFT and TPOT over every predicted row of that backend). They are never
//!   fitted to single rows or to a model; `dgdr accuracy --cv K` refits them
//!   with whole deployment groups held out and reports the held-out error.
//!
//! [`RooflineEff`] holds the efficiencies of the roofline fallback. They were
//! set from the measured tables (the ratio of measured to peak throughput of
//! large GEMMs, attention and collectives on H100/H200/B200), not from
//! end-to-end rows.

use crate::spec::Backend;

/// How an engine schedules prefill against decode when aggregated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Prefill chunks ride in decode steps under a token budget (vLLM V1
    /// chunked prefill, TensorRT-LLM in-flight batching).
    Mixed,
    /// Waiting prefills run as their own batches and decode pauses meanwhile
    /// (SGLang's default scheduler).
    PrefillFirst,
}

/// An engine's defaults (as served by Dynamo), by backend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineKnobs {
    pub policy: Policy,
    /// Tokens one step may carry: vLLM `max_num_batched_tokens` (8192 on
    /// GPUs of 70 GiB and more, V1 engine), SGLang `chunked_prefill_size`
    /// (8192; 16384 on GPUs above 160 GB), TensorRT-LLM `max_num_tokens`
    /// (8192).
    pub token_budget: u32,
    /// Token budget on large-memory GPUs (SGLang raises it above 160 GB).
    pub token_budget_large: u32,
    /// Running-sequence limit: vLLM `max_num_seqs` (1024 on ≥ 70 GiB GPUs),
    /// SGLang `max_running_requests` (bounded by KV only; 4096 here),
    /// TensorRT-LLM `max_batch_size` (2048).
    pub max_seqs: u32,
    /// Fraction of GPU memory the engine plans with: vLLM
    /// `gpu_memory_utilization` 0.9, SGLang `mem_fraction_static` (≈ 0.85
    /// at TP 1–2, 0.88 above), TensorRT-LLM `free_gpu_memory_fraction` 0.9
    /// of what is free after weights.
    pub mem_fraction: f64,
    /// Whether `mem_fraction` applies to memory left after weights (TRT-LLM).
    pub fraction_of_free: bool,
    /// CUDA graphs and allocator slack, bytes per GPU.
    pub graph_bytes: u64,
}

/// Fitted constants of one backend (see the module docs for how).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackendConstants {
    /// Fixed host time per engine step (scheduler, sampling, launch), ms.
    pub step_ms: f64,
    /// Host time per running sequence per step, µs.
    pub seq_us: f64,
    /// Multiplier on the summed kernel times of a decode step (kernels the
    /// op tables do not list: rope, quantization of activations, sampling).
    pub decode_scale: f64,
    /// Multiplier on the summed kernel times of prefill tokens.
    pub prefill_scale: f64,
    /// Constant added to every TTFT: HTTP, tokenization, routing, the first
    /// detokenization, ms.
    pub ttft_ms: f64,
    /// Weight of the benchmark's initial burst (all clients arriving at
    /// once) in the mean TTFT.
    pub burst: f64,
    /// Disaggregated serving: fixed cost of handing a request from prefill to
    /// decode worker (KV transfer setup, second routing hop), ms.
    pub kv_handoff_ms: f64,
    /// Disaggregated serving: fraction of the link bandwidth the KV transfer
    /// reaches.
    pub kv_bw_eff: f64,
}

impl BackendConstants {
    /// Number of fitted constants.
    pub const COUNT: usize = 8;
    /// Their names, in [`BackendConstants::to_array`] order.
    pub const NAMES: [&'static str; Self::COUNT] = [
        "step_ms",
        "seq_us",
        "decode_scale",
        "prefill_scale",
        "ttft_ms",
        "burst",
        "kv_handoff_ms",
        "kv_bw_eff",
    ];

    pub fn to_array(&self) -> [f64; Self::COUNT] {
        [
            self.step_ms,
            self.seq_us,
            self.decode_scale,
            self.prefill_scale,
            self.ttft_ms,
            self.burst,
            self.kv_handoff_ms,
            self.kv_bw_eff,
        ]
    }

    pub fn from_array(a: [f64; Self::COUNT]) -> BackendConstants {
        let [
            step_ms,
            seq_us,
            decode_scale,
            prefill_scale,
            ttft_ms,
            burst,
            kv_handoff_ms,
            kv_bw_eff,
        ] = a;
        BackendConstants {
            step_ms,
            seq_us,
            decode_scale,
            prefill_scale,
            ttft_ms,
            burst,
            kv_handoff_ms,
            kv_bw_eff,
        }
    }

    /// Bounds the fit keeps each constant within (physically sensible).
    pub const BOUNDS: [(f64, f64); Self::COUNT] = [
        (0.0, 40.0),
        (0.0, 200.0),
        (0.5, 3.0),
        (0.5, 3.0),
        (0.0, 500.0),
        (0.0, 1.0),
        (0.0, 500.0),
        (0.05, 1.0),
    ];
}

/// Efficiencies of the roofline fallback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RooflineEff {
    /// Share of peak tensor FLOP/s large GEMMs reach (measured tables: 0.6–0.75).
    pub gemm: f64,
    /// Share of peak that fused MoE kernels reach.
    pub moe: f64,
    /// Share of peak that flash attention reaches.
    pub attention: f64,
    /// Share of the system's effective bandwidth memory-bound kernels reach
    /// (on top of the catalog's `mem_bw_scaling`).
    pub mem: f64,
    /// Share of link bandwidth collectives reach.
    pub comm: f64,
    /// Fixed time of one GEMM launch, µs.
    pub gemm_latency_us: f64,
}

/// All the constants the model uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    pub vllm: BackendConstants,
    pub sglang: BackendConstants,
    pub trtllm: BackendConstants,
    pub roofline: RooflineEff,
}

impl Calibration {
    /// The committed constants.
    pub const fn builtin() -> Calibration {
        BUILTIN
    }

    /// The constants of one backend (`auto` reads vLLM's; estimates refuse it).
    pub fn backend(&self, b: Backend) -> &BackendConstants {
        match b {
            Backend::Sglang => &self.sglang,
            Backend::Trtllm => &self.trtllm,
            Backend::Vllm | Backend::Auto => &self.vllm,
        }
    }

    pub fn backend_mut(&mut self, b: Backend) -> &mut BackendConstants {
        match b {
            Backend::Sglang => &mut self.sglang,
            Backend::Trtllm => &mut self.trtllm,
            Backend::Vllm | Backend::Auto => &mut self.vllm,
        }
    }
}

impl Default for Calibration {
    fn default() -> Self {
        BUILTIN
    }
}

/// The engines' defaults.
pub fn engine_knobs(b: Backend) -> EngineKnobs {
    match b {
        Backend::Sglang => EngineKnobs {
            policy: Policy::PrefillFirst,
            token_budget: 8192,
            token_budget_large: 16384,
            max_seqs: 4096,
            mem_fraction: 0.87,
            fraction_of_free: false,
            graph_bytes: 2 << 30,
        },
        Backend::Trtllm => EngineKnobs {
            policy: Policy::Mixed,
            token_budget: 8192,
            token_budget_large: 8192,
            max_seqs: 2048,
            mem_fraction: 0.9,
            fraction_of_free: true,
            graph_bytes: 2 << 30,
        },
        Backend::Vllm | Backend::Auto => EngineKnobs {
            policy: Policy::Mixed,
            token_budget: 8192,
            token_budget_large: 8192,
            max_seqs: 1024,
            mem_fraction: 0.9,
            fraction_of_free: false,
            graph_bytes: 2 << 30,
        },
    }
}

// ---------------------------------------------------------------------------
// The committed values. Fitted by
//   dgdr accuracy --ground-truth ../shared/data/ground-truth/silicon_calibration.csv --calibrate
// (see docs/accuracy.md for the run and its cross-validated error).
// ---------------------------------------------------------------------------

const BUILTIN: Calibration = Calibration {
    vllm: BackendConstants {
        step_ms: 2.0,
        seq_us: 10.0,
        decode_scale: 1.1,
        prefill_scale: 1.1,
        ttft_ms: 20.0,
        burst: 0.1,
        kv_handoff_ms: 20.0,
        kv_bw_eff: 0.5,
    },
    sglang: BackendConstants {
        step_ms: 2.0,
        seq_us: 10.0,
        decode_scale: 1.1,
        prefill_scale: 1.1,
        ttft_ms: 20.0,
        burst: 0.1,
        kv_handoff_ms: 20.0,
        kv_bw_eff: 0.5,
    },
    trtllm: BackendConstants {
        step_ms: 2.0,
        seq_us: 10.0,
        decode_scale: 1.1,
        prefill_scale: 1.1,
        ttft_ms: 20.0,
        burst: 0.1,
        kv_handoff_ms: 20.0,
        kv_bw_eff: 0.5,
    },
    roofline: RooflineEff {
        gemm: 0.7,
        moe: 0.5,
        attention: 0.45,
        mem: 1.0,
        comm: 0.7,
        gemm_latency_us: 6.0,
    },
};
