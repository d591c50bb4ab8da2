//! What the search and the picker hand to rendering: the chosen deployment.
//!
//! These types are the contract between `search`/`pick` (which fill them) and
//! [`crate::render`] / [`crate::assemble`] (which turn them into manifests).
//! They are plain data, serialisable both ways, because they also go into
//! `webui_data.json`.
//!
//! Conventions (the same as the performance model's and the calibration data's):
//! - `tp` is the attention tensor-parallel size *within one attention-DP rank*,
//!   `dp` the number of attention-DP ranks, `pp` the pipeline stages. One
//!   engine instance uses `tp × pp × dp` GPUs: attention-DP GPUs are counted
//!   once (SPEC §9 lists counting them twice as an upstream bug).
//! - For MoE models the experts are split `moe_tp × moe_ep = tp × dp` ways
//!   over the same GPUs as attention. Dense models ignore `moe_tp`/`moe_ep`.

use crate::catalog::model::KvCacheDtype;
use crate::spec::Backend;
use serde::{Deserialize, Serialize};

/// A backend that can be deployed (`auto` is resolved by the search).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConcreteBackend {
    Vllm,
    Sglang,
    Trtllm,
}

impl ConcreteBackend {
    pub const ALL: [ConcreteBackend; 3] = [
        ConcreteBackend::Vllm,
        ConcreteBackend::Sglang,
        ConcreteBackend::Trtllm,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConcreteBackend::Vllm => "vllm",
            ConcreteBackend::Sglang => "sglang",
            ConcreteBackend::Trtllm => "trtllm",
        }
    }

    /// The concrete backend a request names; `None` for `auto`.
    pub fn from_backend(b: Backend) -> Option<ConcreteBackend> {
        match b {
            Backend::Auto => None,
            Backend::Vllm => Some(ConcreteBackend::Vllm),
            Backend::Sglang => Some(ConcreteBackend::Sglang),
            Backend::Trtllm => Some(ConcreteBackend::Trtllm),
        }
    }

    /// The last path component of this backend's Dynamo runtime image.
    pub fn runtime_image_name(self) -> &'static str {
        match self {
            ConcreteBackend::Vllm => "vllm-runtime",
            ConcreteBackend::Sglang => "sglang-runtime",
            ConcreteBackend::Trtllm => "tensorrtllm-runtime",
        }
    }
}

impl From<ConcreteBackend> for Backend {
    fn from(b: ConcreteBackend) -> Backend {
        match b {
            ConcreteBackend::Vllm => Backend::Vllm,
            ConcreteBackend::Sglang => Backend::Sglang,
            ConcreteBackend::Trtllm => Backend::Trtllm,
        }
    }
}

impl std::fmt::Display for ConcreteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parallel layout of one engine instance (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Parallel {
    pub tp: u32,
    pub pp: u32,
    /// Attention data-parallel ranks.
    pub dp: u32,
    pub moe_tp: u32,
    pub moe_ep: u32,
}

impl Parallel {
    /// Whether the attention-DP ranks exchange tokens around the experts
    /// all-to-all: an expert-parallel group wider than the routing's
    /// `top_k`, where a token travels only to the GPUs holding its experts
    /// (narrower groups all-gather every rank's tokens). The performance
    /// model times the exchange by this ([`Parallel::wide_expert_parallel`]
    /// adds the experts' side).
    pub fn exchanges_all_to_all(&self, top_k: u64) -> bool {
        self.dp > 1 && top_k > 0 && u64::from(self.moe_ep) > top_k
    }

    /// Whether the experts run SGLang's wide expert-parallel path (DeepEP):
    /// the ranks exchange tokens all-to-all and the experts are not
    /// tensor-parallel. The performance model times those experts from
    /// DeepEP's tables, and the manifest passes `--moe-a2a-backend deepep`.
    pub fn wide_expert_parallel(&self, top_k: u64) -> bool {
        self.moe_tp <= 1 && self.exchanges_all_to_all(top_k)
    }

    /// Plain tensor parallelism over `tp` GPUs.
    pub fn tp(tp: u32) -> Parallel {
        Parallel {
            tp,
            pp: 1,
            dp: 1,
            moe_tp: tp,
            moe_ep: 1,
        }
    }

    /// Tensor-expert parallelism (TEP): attention TP over `n` GPUs, experts
    /// split by expert parallelism over the same `n`.
    pub fn tep(n: u32) -> Parallel {
        Parallel {
            tp: n,
            pp: 1,
            dp: 1,
            moe_tp: 1,
            moe_ep: n,
        }
    }

    /// Data-expert parallelism (DEP): `n` attention-DP ranks of one GPU each,
    /// experts split by expert parallelism over the same `n`.
    pub fn dep(n: u32) -> Parallel {
        Parallel {
            tp: 1,
            pp: 1,
            dp: n,
            moe_tp: 1,
            moe_ep: n,
        }
    }

    /// GPUs of one instance: `tp × pp × dp` (attention-DP GPUs counted once).
    /// `None` only on overflow, which a valid plan never reaches.
    pub fn gpus(&self) -> Option<u32> {
        self.tp.checked_mul(self.pp)?.checked_mul(self.dp)
    }

    /// GPUs of one pipeline stage (`tp × dp`): the group the experts split over.
    pub fn stage_gpus(&self) -> Option<u32> {
        self.tp.checked_mul(self.dp)
    }
}

/// The engine settings of one worker kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineConfig {
    pub parallel: Parallel,
    /// Sequences in flight per instance (vLLM `--max-num-seqs`, SGLang
    /// `--max-running-requests`, TRT-LLM `--max-batch-size`).
    pub max_batch_size: u32,
    /// Tokens per engine step (vLLM `--max-num-batched-tokens`, SGLang
    /// `--chunked-prefill-size`, TRT-LLM `--max-num-tokens`).
    pub max_num_tokens: u32,
    /// Longest sequence, prompt plus output.
    pub max_seq_len: u32,
    /// KV-cache type; `None` lets the engine follow the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_dtype: Option<KvCacheDtype>,
    /// KV-cache block (page) size in tokens; `None` is the engine's default.
    /// TRT-LLM always uses 32 (SPEC §5.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_size: Option<u32>,
    /// Fraction of GPU memory the engine may use (vLLM
    /// `--gpu-memory-utilization`, SGLang `--mem-fraction-static`, TRT-LLM
    /// `free_gpu_memory_fraction`); `None` is the engine's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_memory_fraction: Option<f64>,
}

/// One worker kind and how many instances of it to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Engine {
    pub config: EngineConfig,
    /// Instances (DGD `replicas`); each uses `config.parallel.gpus()` GPUs.
    pub replicas: u32,
}

/// Aggregated (one engine does prefill and decode) or disaggregated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Topology {
    Agg { worker: Engine },
    Disagg { prefill: Engine, decode: Engine },
}

impl Topology {
    pub fn is_disagg(&self) -> bool {
        matches!(self, Topology::Disagg { .. })
    }
}

/// What the picked configuration achieves, by the performance model (rapid)
/// or by measurement (thorough). When the requested SLA was unachievable
/// these are the closest values, and the planner is told to hold these
/// (SPEC §4; §9: upstream computed them and threw them away).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AchievedTargets {
    /// Time to first token, ms.
    pub ttft_ms: f64,
    /// Inter-token latency (TPOT), ms.
    pub itl_ms: f64,
    /// `ttft + itl × (osl − 1)`, ms, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_latency_ms: Option<f64>,
}

/// The deployment the picker chose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentPlan {
    pub backend: ConcreteBackend,
    /// Whether the model has experts: decides the MoE flags (`--enable-expert-parallel`,
    /// `--ep`, `--enable-dp-attention`, `--expert-parallel-size`).
    #[serde(default)]
    pub moe: bool,
    /// Experts each token is routed to (MoE models): an expert-parallel
    /// group wider than this exchanges tokens all-to-all, the wide-EP path
    /// the performance model times (SGLang: `--moe-a2a-backend deepep`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moe_top_k: Option<u32>,
    pub topology: Topology,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achieved: Option<AchievedTargets>,
}

/// Interpolation data for the planner and the mocker (SPEC §6), as it goes
/// into `prefill_raw_data.json` and `decode_raw_data.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProfileData {
    pub prefill: PrefillProfile,
    pub decode: DecodeProfile,
}

/// TTFT and throughput against ISL, for the picked prefill engine.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PrefillProfile {
    pub prefill_isl: Vec<f64>,
    /// ms.
    pub prefill_ttft: Vec<f64>,
    /// tokens/s/GPU.
    pub prefill_thpt_per_gpu: Vec<f64>,
}

/// ITL and throughput over KV usage and context length, for the picked decode engine.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DecodeProfile {
    /// KV-cache usage in [0, 1].
    pub x_kv_usage: Vec<f64>,
    pub y_context_length: Vec<f64>,
    /// ms.
    pub z_itl: Vec<f64>,
    /// tokens/s/GPU.
    pub z_thpt_per_gpu: Vec<f64>,
    /// KV-cache capacity of one decode instance, tokens.
    pub max_kv_tokens: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attention_dp_gpus_are_counted_once() {
        assert_eq!(Parallel::dep(8).gpus(), Some(8));
        assert_eq!(Parallel::tep(8).gpus(), Some(8));
        let p = Parallel {
            tp: 2,
            pp: 2,
            dp: 4,
            moe_tp: 1,
            moe_ep: 8,
        };
        assert_eq!(p.gpus(), Some(16));
        assert_eq!(p.stage_gpus(), Some(8));
        let huge = Parallel {
            tp: u32::MAX,
            pp: 2,
            dp: 1,
            moe_tp: 1,
            moe_ep: 1,
        };
        assert_eq!(huge.gpus(), None);
    }

    #[test]
    fn plan_round_trips_through_json() {
        let plan = DeploymentPlan {
            backend: ConcreteBackend::Sglang,
            moe: true,
            moe_top_k: Some(8),
            topology: Topology::Disagg {
                prefill: Engine {
                    config: EngineConfig {
                        parallel: Parallel::tep(4),
                        max_batch_size: 1,
                        max_num_tokens: 8192,
                        max_seq_len: 5000,
                        kv_cache_dtype: Some(KvCacheDtype::Fp8),
                        block_size: None,
                        gpu_memory_fraction: None,
                    },
                    replicas: 2,
                },
                decode: Engine {
                    config: EngineConfig {
                        parallel: Parallel::dep(8),
                        max_batch_size: 256,
                        max_num_tokens: 256,
                        max_seq_len: 5000,
                        kv_cache_dtype: None,
                        block_size: Some(64),
                        gpu_memory_fraction: Some(0.85),
                    },
                    replicas: 1,
                },
            },
            achieved: Some(AchievedTargets {
                ttft_ms: 312.5,
                itl_ms: 20.0,
                request_latency_ms: None,
            }),
        };
        let j = serde_json::to_value(&plan).unwrap();
        assert_eq!(j["topology"]["mode"], "disagg");
        assert_eq!(j["backend"], "sglang");
        let back: DeploymentPlan = serde_json::from_value(j).unwrap();
        assert_eq!(back, plan);
    }
}
