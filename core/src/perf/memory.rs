//! Memory per GPU: weights (sharded and replicated parts), activations,
//! runtime reserve (CUDA context, NCCL buffers, CUDA graphs) and the KV cache
//! the rest holds, by each engine's own rule; and the smallest GPU count a
//! model fits on.

use serde::Serialize;

use super::constants::{EngineKnobs, MemoryRule, engine_knobs};
use super::error::PerfError;
use super::parallel::Parallel;
use super::quant::{GemmQuant, QuantConfig, QuantOverrides, checkpoint_formats};
use crate::catalog::model::{Component, ModelArch, WeightFormat, tensors};
use crate::catalog::system::SystemSpec;
use crate::spec::Backend;

const GB: f64 = 1e9;

/// Memory of one GPU, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Memory {
    /// Weights held by the GPU (its shard of the model).
    pub weights: u64,
    /// Activations of the largest step the engine plans for.
    pub activations: u64,
    /// CUDA context, NCCL buffers, CUDA graphs, allocator slack.
    pub reserve: u64,
    /// KV cache (0 when the model does not fit).
    pub kv: u64,
    /// The GPU's memory.
    pub gpu: u64,
    /// What the engine lets itself use (its memory fraction of `gpu`).
    pub usable: u64,
}

/// Bytes of weights per GPU, by what they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct WeightSplit {
    /// Sharded by tensor parallelism (attention, dense MLP, shared experts,
    /// embedding and head).
    pub tensor_parallel: u64,
    /// Routed experts, sharded `moe_tp × moe_ep` ways.
    pub experts: u64,
    /// Held whole by every GPU (norms, routers).
    pub replicated: u64,
}

impl WeightSplit {
    pub fn total(&self) -> u64 {
        self.tensor_parallel + self.experts + self.replicated
    }
}

/// Weights per GPU of the most loaded pipeline stage.
pub fn weights_per_gpu(model: &ModelArch, quant: &QuantConfig, par: Parallel) -> WeightSplit {
    weights_per_gpu_with(model, quant, None, par)
}

/// Like [`weights_per_gpu`]; `checkpoint` says which formats are the
/// checkpoint's own (then per-tensor exceptions of the checkpoint are kept).
fn weights_per_gpu_with(
    model: &ModelArch,
    quant: &QuantConfig,
    checkpoint: Option<(GemmQuant, GemmQuant)>,
    par: Parallel,
) -> WeightSplit {
    let q = &model.quantization;
    let dtype = model.dtype.bytes();
    let tp = f64::from(par.tp.max(1));
    let experts_way = f64::from((par.moe_tp * par.moe_ep).max(1));
    let pp = f64::from(par.pp.max(1));
    let (ck_gemm, ck_moe) = checkpoint.unwrap_or_else(|| checkpoint_formats(model));
    let mut tpar = 0.0;
    let mut experts = 0.0;
    let mut repl = 0.0;
    let mut embed = 0.0;
    let mut head = 0.0;
    for t in tensors(model) {
        let format = if t.component == Component::LmHead {
            q.lm_head
        } else if !t.quantizable {
            WeightFormat::Native
        } else if t.component == Component::RoutedExperts {
            if quant.moe == ck_moe {
                q.format_of(t.name, t.layer)
            } else {
                quant.moe.weight_format()
            }
        } else if quant.gemm == ck_gemm {
            q.format_of(t.name, t.layer)
        } else {
            quant.gemm.weight_format()
        };
        let bytes = q.tensor_bytes(&t, format, dtype) as f64;
        match t.component {
            Component::Embedding => embed += bytes / tp,
            Component::LmHead => head += bytes / tp,
            Component::Attention
            | Component::Indexer
            | Component::Mixer
            | Component::DenseMlp
            | Component::SharedExperts => tpar += bytes / tp / pp,
            Component::RoutedExperts => experts += bytes / experts_way / pp,
            Component::Router | Component::Norm | Component::MoeLatent => {
                repl += if t.layer.is_some() { bytes / pp } else { bytes };
            }
        }
    }
    // Pipeline stages: the first holds the embedding, the last the head.
    let ends = if par.pp > 1 {
        embed.max(head)
    } else {
        embed + head
    };
    WeightSplit {
        tensor_parallel: (tpar + ends) as u64,
        experts: experts as u64,
        replicated: repl as u64,
    }
}

/// KV-cache bytes one GPU holds per sequence of `len` tokens (windowed
/// layers capped at their window; recurrent state included). GQA heads are
/// split by TP (replicated when TP exceeds them); MLA latents are not.
pub fn kv_bytes_per_seq(model: &ModelArch, quant: &QuantConfig, par: Parallel, len: u64) -> f64 {
    KvCoeffs::new(model, quant, par).bytes(len)
}

/// [`kv_bytes_per_seq`] as a function of the length, precomputed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KvCoeffs {
    /// Bytes per token of the layers without a window.
    full: f64,
    /// (bytes per token, window) of the windowed layers.
    windowed: Vec<(f64, u64)>,
    /// Constant per-sequence state.
    state: f64,
}

impl KvCoeffs {
    pub(crate) fn new(model: &ModelArch, quant: &QuantConfig, par: Parallel) -> KvCoeffs {
        let tp = u64::from(par.tp.max(1));
        let pp = f64::from(par.pp.max(1));
        let codes: Vec<char> = model.layers.attention.chars().collect();
        let mut full = 0.0;
        let mut windowed = Vec::new();
        for l in model.kv_layers(quant.kv.bytes()) {
            let i = usize::try_from(l.layer).unwrap_or(usize::MAX);
            let code = codes.get(i).copied().unwrap_or('-');
            let kv_heads = match code {
                'S' | 'C' => model
                    .sliding_window
                    .as_ref()
                    .map_or(model.attention.num_kv_heads, |s| s.attention.num_kv_heads),
                _ => model
                    .per_layer
                    .as_ref()
                    .and_then(|p| p.num_kv_heads.get(i).copied())
                    .unwrap_or(model.attention.num_kv_heads),
            };
            let latent = model.attention.mla.is_some() && code == 'F';
            let share = if latent || kv_heads == 0 {
                1.0
            } else {
                kv_heads.div_ceil(tp) as f64 / kv_heads as f64
            };
            let bytes = l.bytes_per_token as f64 * share / pp;
            match l.window {
                Some(w) => windowed.push((bytes, w)),
                None => full += bytes,
            }
        }
        KvCoeffs {
            full,
            windowed,
            state: model.state_bytes_per_sequence() as f64 / tp as f64 / pp,
        }
    }

    /// Bytes of one sequence of `len` tokens.
    pub(crate) fn bytes(&self, len: u64) -> f64 {
        let w: f64 = self
            .windowed
            .iter()
            .map(|(b, win)| b * len.min(*win) as f64)
            .sum();
        self.full * len as f64 + w + self.state
    }
}

/// Activations of the largest step (`tokens` tokens) on one GPU, bytes.
fn activation_bytes(model: &ModelArch, par: Parallel, tokens: u64, max_seqs: u64) -> u64 {
    let tp = f64::from(par.tp.max(1));
    let h = model.hidden_size as f64;
    let dense = model
        .mlp
        .as_ref()
        .map_or(0.0, |m| m.intermediate_size as f64 / tp);
    let moe = model.moe.as_ref().map_or(0.0, |m| {
        f64::from(par.dp.max(1)) * m.top_k as f64 * m.expert_intermediate_size as f64
            / f64::from((par.moe_tp * par.moe_ep).max(1))
    });
    let t = tokens as f64;
    let per_token = 2.0 * (10.0 * h + 3.0 * dense.max(moe));
    let logits = max_seqs.min(tokens) as f64 * (model.vocab_size as f64 / tp) * 4.0;
    (t * per_token + logits) as u64
}

/// The engine's plan for one GPU's memory, at its default memory fraction.
pub fn plan_memory(
    model: &ModelArch,
    system: &SystemSpec,
    backend: Backend,
    quant: &QuantConfig,
    par: Parallel,
    checkpoint: Option<(GemmQuant, GemmQuant)>,
) -> Memory {
    let knobs = engine_knobs(backend);
    let weights = weights_per_gpu_with(model, quant, checkpoint, par).total();
    plan_with(model, system, &knobs, par, weights, None)
}

/// The most memory fraction an operator can give an engine that does not
/// fit at its default: deployments measured on such layouts ran, so they
/// were started with the fraction raised.
pub const RAISED_FRACTION: f64 = 0.95;

/// A plan (`default`, from [`plan_memory`]) redone with the memory fraction
/// raised to [`RAISED_FRACTION`] (for SGLang, at most what leaves its
/// activations and CUDA graphs room outside the static pool), and that
/// fraction.
pub(crate) fn plan_memory_raised(
    model: &ModelArch,
    system: &SystemSpec,
    backend: Backend,
    par: Parallel,
    default: &Memory,
) -> (Memory, f64) {
    let knobs = engine_knobs(backend);
    let fraction = match knobs.memory {
        MemoryRule::StaticPool => {
            let outside = (default.activations + knobs.graph_bytes) as f64;
            RAISED_FRACTION.min(1.0 - outside / (default.gpu as f64).max(1.0))
        }
        MemoryRule::ShareOfGpu(_) | MemoryRule::ShareOfFree(_) => RAISED_FRACTION,
    };
    (
        plan_with(model, system, &knobs, par, default.weights, Some(fraction)),
        fraction,
    )
}

/// SGLang's default `mem_fraction_static` (`ServerArgs`,
/// `_handle_gpu_memory_settings`, 0.5.x): `(GPU − reserved) / GPU`, with
/// `reserved` in MiB = 512 + 1.5 × the chunked-prefill size + 2 × the CUDA
/// graph batch limit + 1024 × (its TP size × PP) / 8, and at least 10 GiB
/// on GPUs above 60 GiB. The graph batch limit is 512 on GPUs of 160 GiB
/// and more or at TP ≥ 4, else 256. SGLang's TP size counts every GPU of
/// the worker (attention DP runs inside it). Not modelled: the extra padding
/// SGLang reserves per attention-DP rank, which at its default CUDA-graph
/// batch would leave DeepSeek no room on 16 H100s, where it is served; such
/// deployments set the fraction themselves.
pub fn sglang_static_fraction(system: &SystemSpec, par: Parallel, chunk: u32) -> f64 {
    const MIB: f64 = (1u64 << 20) as f64;
    let gpu = system.gpu.memory_bytes as f64 / MIB;
    let tp = f64::from(par.tp.max(1) * par.dp.max(1));
    let pp = f64::from(par.pp.max(1));
    let graph_bs = if gpu >= 160.0 * 1024.0 || tp >= 4.0 {
        512.0
    } else {
        256.0
    };
    let mut reserved =
        512.0 + 1.5 * f64::from(chunk.max(2048)) + 2.0 * graph_bs + 1024.0 * tp * pp / 8.0;
    if gpu > 60.0 * 1024.0 {
        reserved = reserved.max(10.0 * 1024.0);
    }
    ((gpu - reserved) / gpu.max(1.0)).clamp(0.0, 1.0)
}

fn plan_with(
    model: &ModelArch,
    system: &SystemSpec,
    knobs: &EngineKnobs,
    par: Parallel,
    weights: u64,
    fraction: Option<f64>,
) -> Memory {
    let gpu = system.gpu.memory_bytes;
    let budget = budget_for(knobs, system);
    let activations = activation_bytes(model, par, u64::from(budget), u64::from(knobs.max_seqs));
    let runtime = system.misc.other_mem_bytes + system.nccl_mem_bytes(par.worker_gpus());
    let reserve = runtime + knobs.graph_bytes;
    let (usable, kv) = match knobs.memory {
        MemoryRule::ShareOfFree(default) => {
            let free = gpu.saturating_sub(weights + activations + reserve);
            let kv = (free as f64 * fraction.unwrap_or(default)) as u64;
            (weights + activations + reserve + kv, kv)
        }
        MemoryRule::ShareOfGpu(default) => {
            let usable = (gpu as f64 * fraction.unwrap_or(default)) as u64;
            (
                usable,
                usable.saturating_sub(weights + activations + reserve),
            )
        }
        MemoryRule::StaticPool => {
            // The pool is weights and KV; what the runtime allocated before
            // SGLang measured free memory (context, NCCL) is outside both.
            let f = fraction.unwrap_or_else(|| sglang_static_fraction(system, par, budget));
            let usable = (gpu as f64 * f) as u64;
            (usable, usable.saturating_sub(weights + runtime))
        }
    };
    Memory {
        weights,
        activations,
        reserve,
        kv,
        gpu,
        usable,
    }
}

/// The engine's token budget per step on this GPU.
pub(crate) fn budget_for(knobs: &EngineKnobs, system: &SystemSpec) -> u32 {
    if system.gpu.memory_bytes as f64 > 160.0 * GB {
        knobs.token_budget_large
    } else {
        knobs.token_budget
    }
}

/// The memory arithmetic as a sentence, for messages:
/// `weights 65.5 GB + activations 1.2 GB + runtime 6.1 GB = 72.8 GB > 72.0 GB (0.9 × 80.0 GB)`.
pub fn memory_arithmetic(m: &Memory, backend: Backend) -> String {
    let g = |b: u64| b as f64 / GB;
    let knobs = engine_knobs(backend);
    let share = |part: u64, whole: u64| part as f64 / (whole as f64).max(1.0);
    // vLLM and TensorRT-LLM plan activations and the runtime before the KV
    // cache alike; they differ in what the KV cache gets of the rest.
    let need = m.weights + m.activations + m.reserve;
    let sum = format!(
        "weights {:.1} GB + activations {:.1} GB + runtime {:.1} GB = {:.1} GB",
        g(m.weights),
        g(m.activations),
        g(m.reserve),
        g(need)
    );
    match knobs.memory {
        MemoryRule::ShareOfFree(_) => {
            let cmp = if need > m.gpu { ">" } else { "≤" };
            format!(
                "{sum} {cmp} {:.1} GB of GPU memory; KV cache gets {:.2} × the rest = {:.1} GB",
                g(m.gpu),
                share(m.kv, m.gpu.saturating_sub(need)),
                g(m.kv)
            )
        }
        MemoryRule::ShareOfGpu(_) => {
            let cmp = if need > m.usable { ">" } else { "≤" };
            format!(
                "{sum} {cmp} {:.1} GB ({:.2} × {:.1} GB); KV cache gets {:.1} GB",
                g(m.usable),
                share(m.usable, m.gpu),
                g(m.gpu),
                g(m.kv)
            )
        }
        MemoryRule::StaticPool => {
            let runtime = m.reserve.saturating_sub(knobs.graph_bytes);
            let need = m.weights + runtime;
            let cmp = if need > m.usable { ">" } else { "≤" };
            format!(
                "weights {:.1} GB + runtime {:.1} GB = {:.1} GB {cmp} {:.1} GB static pool ({}={:.3} × {:.1} GB; activations and CUDA graphs use the rest); KV cache gets {:.1} GB",
                g(m.weights),
                g(runtime),
                g(need),
                g(m.usable),
                knobs.memory.flag(),
                share(m.usable, m.gpu),
                g(m.gpu),
                g(m.kv)
            )
        }
    }
}

/// Whether a layout leaves room for at least `min_kv_tokens` tokens of KV cache.
pub fn fits(
    model: &ModelArch,
    system: &SystemSpec,
    backend: Backend,
    quant: &QuantConfig,
    par: Parallel,
    min_kv_tokens: u64,
) -> (bool, Memory) {
    let m = plan_memory(model, system, backend, quant, par, None);
    let need = kv_bytes_per_seq(model, quant, par, min_kv_tokens.max(1));
    (m.kv as f64 >= need && m.kv > 0, m)
}

/// The smallest power-of-two GPU count (plain TP; experts split the same
/// way) whose memory holds the weights, the runtime and at least
/// `min_kv_tokens` of KV cache; the message carries the arithmetic of the
/// largest count tried when none up to `max_gpus` fits.
pub fn min_gpus_to_fit(
    model: &ModelArch,
    system: &SystemSpec,
    overrides: &QuantOverrides,
    backend: Backend,
    min_kv_tokens: u64,
    max_gpus: u32,
) -> Result<u32, PerfError> {
    let quant = QuantConfig::resolve(model, overrides);
    let mut n = 1;
    let mut last = None;
    while n <= max_gpus.max(1) {
        let par = Parallel::tp(n);
        let (ok, m) = fits(model, system, backend, &quant, par, min_kv_tokens);
        if ok {
            return Ok(n);
        }
        last = Some(m);
        n *= 2;
    }
    let why = last.map_or_else(String::new, |m| {
        format!(" on {} GPUs: {}", n / 2, memory_arithmetic(&m, backend))
    });
    Err(PerfError::Unsupported(format!(
        "{} does not fit {} × {} with room for {min_kv_tokens} tokens of KV cache{why}",
        if model.id.is_empty() {
            "the model"
        } else {
            &model.id
        },
        max_gpus,
        system.sku
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::Catalog;
    use crate::catalog::system::SystemCatalog;

    fn model(id: &str) -> ModelArch {
        Catalog::builtin().resolve(id).unwrap()
    }

    #[test]
    fn weights_shard_with_tp() {
        let m = model("meta-llama/Llama-3.1-70B");
        let q = QuantConfig::resolve(&m, &QuantOverrides::default());
        let one = weights_per_gpu(&m, &q, Parallel::tp(1)).total();
        // bf16 70.6 B parameters.
        assert!((one as f64 / 141.1e9 - 1.0).abs() < 0.01, "{one}");
        let mut prev = one;
        for tp in [2, 4, 8] {
            let w = weights_per_gpu(&m, &q, Parallel::tp(tp)).total();
            assert!(w < prev, "tp {tp}");
            // Norms are replicated, so a little more than 1/tp.
            assert!((w as f64) >= one as f64 / f64::from(tp));
            prev = w;
        }
        let fp8 = QuantConfig::resolve(
            &m,
            &QuantOverrides {
                gemm: Some(GemmQuant::Fp8),
                ..QuantOverrides::default()
            },
        );
        let w8 = weights_per_gpu(&m, &fp8, Parallel::tp(1)).total();
        // Linear layers halve; embedding and head stay 16-bit.
        assert!(
            (w8 as f64) < 0.55 * one as f64 && (w8 as f64) > 0.5 * one as f64,
            "{w8} vs {one}"
        );
    }

    #[test]
    fn experts_split_over_ep() {
        let m = model("deepseek-ai/DeepSeek-V3");
        let q = QuantConfig::resolve(&m, &QuantOverrides::default());
        let tp8 = weights_per_gpu(&m, &q, Parallel::tp(8));
        let dep8 = weights_per_gpu(
            &m,
            &q,
            Parallel {
                tp: 1,
                pp: 1,
                dp: 8,
                moe_tp: 1,
                moe_ep: 8,
            },
        );
        assert_eq!(tp8.experts, dep8.experts);
        // Attention replicated in DEP: more per GPU.
        assert!(dep8.tensor_parallel > tp8.tensor_parallel);
        // ~671 GB fp8 over 8 GPUs.
        let total = tp8.total() as f64;
        assert!(total > 80e9 && total < 90e9, "{total}");
    }

    #[test]
    fn min_gpus_by_hand() {
        let h100 = SystemCatalog::builtin().lookup("h100_sxm").unwrap();
        let cases = [
            ("meta-llama/Llama-3.1-8B-Instruct", 1),
            ("meta-llama/Llama-3.1-70B", 4),
            ("deepseek-ai/DeepSeek-V3", 16),
        ];
        for (id, want) in cases {
            let m = model(id);
            let got = min_gpus_to_fit(
                &m,
                h100,
                &QuantOverrides::default(),
                Backend::Vllm,
                8192,
                64,
            );
            assert_eq!(got.ok(), Some(want), "{id}");
        }
        let m = model("deepseek-ai/DeepSeek-V3");
        let err = min_gpus_to_fit(&m, h100, &QuantOverrides::default(), Backend::Vllm, 8192, 8)
            .unwrap_err()
            .to_string();
        assert!(err.contains("weights") && err.contains("GB"), "{err}");
    }

    #[test]
    fn sglang_default_fraction_by_hand() {
        let systems = SystemCatalog::builtin();
        let h100 = systems.lookup("h100_sxm").unwrap();
        // 80 GiB: reserved 512 + 1.5 × 8192 + 2 × 256 + 1024 / 8 = 13440 MiB.
        let f = sglang_static_fraction(h100, Parallel::tp(1), 8192);
        assert!((f - (81920.0 - 13440.0) / 81920.0).abs() < 1e-12, "{f}");
        // TP 8: graph batch 512 and 1024 MiB for the parallel size.
        let f8 = sglang_static_fraction(h100, Parallel::tp(8), 8192);
        assert!((f8 - (81920.0 - 14848.0) / 81920.0).abs() < 1e-12, "{f8}");
        // SGLang's TP size is every GPU of the worker, attention DP included.
        let dep = Parallel {
            tp: 1,
            pp: 1,
            dp: 8,
            moe_tp: 1,
            moe_ep: 8,
        };
        assert_eq!(sglang_static_fraction(h100, dep, 8192), f8);
        // Large GPUs keep a larger share.
        let h200 = systems.lookup("h200_sxm").unwrap();
        assert!(sglang_static_fraction(h200, Parallel::tp(8), 8192) > f8);
    }

    #[test]
    fn sglang_pool_leaves_activations_outside() {
        let h100 = SystemCatalog::builtin().lookup("h100_sxm").unwrap();
        let m = model("Qwen/Qwen3-32B");
        let q = QuantConfig::resolve(&m, &QuantOverrides::default());
        let mem = plan_memory(&m, h100, Backend::Sglang, &q, Parallel::tp(1), None);
        let runtime = h100.misc.other_mem_bytes;
        assert_eq!(mem.kv, mem.usable - mem.weights - runtime);
        assert!(mem.activations > 0 && mem.kv > 0);
        // vLLM plans activations and graphs inside its share.
        let v = plan_memory(&m, h100, Backend::Vllm, &q, Parallel::tp(1), None);
        assert_eq!(
            v.kv,
            v.usable
                .saturating_sub(v.weights + v.activations + v.reserve)
        );
    }

    #[test]
    fn raised_fraction_only_for_given_layouts() {
        let gb200 = SystemCatalog::builtin().lookup("gb200").unwrap();
        let m = model("deepseek-ai/DeepSeek-V3");
        let q = QuantConfig::resolve(&m, &QuantOverrides::default());
        let par = Parallel::tp(4);
        // 671 B fp8 parameters over 4 GPUs fill SGLang's default pool...
        let (ok, default) = fits(&m, gb200, Backend::Sglang, &q, par, 1);
        assert!(!ok && default.kv == 0, "{default:?}");
        // ...and the raised fraction leaves room, with activations and
        // graphs still outside the pool.
        let (raised, f) = plan_memory_raised(&m, gb200, Backend::Sglang, par, &default);
        assert!(raised.kv > 10_000_000_000, "{raised:?}");
        assert!(f <= RAISED_FRACTION);
        assert!(raised.gpu - raised.usable >= raised.activations + (2u64 << 30));
    }

    #[test]
    fn kv_per_sequence() {
        let m = model("meta-llama/Llama-3.1-8B-Instruct");
        let q = QuantConfig::resolve(&m, &QuantOverrides::default());
        // 32 layers × 8 KV heads × 256 × 2 bytes = 128 KiB per token.
        assert_eq!(
            kv_bytes_per_seq(&m, &q, Parallel::tp(1), 10),
            10.0 * 131072.0
        );
        assert_eq!(
            kv_bytes_per_seq(&m, &q, Parallel::tp(8), 10),
            10.0 * 16384.0
        );
        // TP 16 > 8 KV heads: replicated.
        assert_eq!(
            kv_bytes_per_seq(&m, &q, Parallel::tp(16), 10),
            10.0 * 16384.0
        );
        let ds = model("deepseek-ai/DeepSeek-V3");
        let qd = QuantConfig::resolve(&ds, &QuantOverrides::default());
        assert_eq!(
            kv_bytes_per_seq(&ds, &qd, Parallel::tp(8), 1),
            kv_bytes_per_seq(&ds, &qd, Parallel::tp(1), 1)
        );
    }
}
