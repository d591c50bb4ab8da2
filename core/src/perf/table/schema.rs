//! What each distilled operation table holds: its categorical keys (matched
//! exactly, e.g. the dtype) and its numeric coordinates, in the order the
//! lookup trie nests them, each with the way a lookup treats it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How a lookup treats one numeric coordinate of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Must equal a measured value (parallel sizes, head dim, window, GPU
    /// count): no lookup is made up across these.
    Exact,
    /// Piecewise linear in the coordinate. Within one measured bracket latency
    /// is affine in a size (fixed launch/overhead + per-unit work), which
    /// linear interpolation reproduces exactly; a proportional latency is
    /// reproduced exactly too (interpolating with log-weights would be ~6 %
    /// high at the middle of an octave).
    Linear,
    /// Piecewise linear in the square of the coordinate: context attention
    /// over the sequence length, whose work grows as `isl²`.
    Square,
}

impl Axis {
    /// The coordinate in which values are interpolated (exact in f64 for
    /// every u32 coordinate: at most 2⁶⁴, rounded the same on every platform).
    pub(crate) fn work(self, x: f64) -> f64 {
        match self {
            Axis::Square => x * x,
            Axis::Exact | Axis::Linear => x,
        }
    }
}

/// One numeric coordinate of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dim {
    /// Its name (for messages and summaries).
    pub name: &'static str,
    /// How lookups treat it.
    pub axis: Axis,
}

const fn exact(name: &'static str) -> Dim {
    Dim {
        name,
        axis: Axis::Exact,
    }
}
const fn linear(name: &'static str) -> Dim {
    Dim {
        name,
        axis: Axis::Linear,
    }
}
const fn square(name: &'static str) -> Dim {
    Dim {
        name,
        axis: Axis::Square,
    }
}

/// The operations whose measured latencies are distilled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Dense GEMM `[m, k] × [k, n]`.
    Gemm,
    /// Prefill attention (MHA/GQA, optionally sliding-window).
    ContextAttention,
    /// Decode attention over a KV cache.
    GenerationAttention,
    /// Prefill MLA attention core.
    ContextMla,
    /// Decode MLA attention core.
    GenerationMla,
    /// Whole prefill MLA module (projections + attention) of a given model.
    MlaContextModule,
    /// Whole decode MLA module of a given model.
    MlaGenerationModule,
    /// The batched GEMMs around decode MLA (`mla_gen_pre`, `mla_gen_post`).
    MlaBmm,
    /// Fused MoE experts layer (routing + expert GEMMs), per GPU.
    Moe,
    /// The experts of a wide expert-parallel layer in prefill (SGLang's
    /// DeepEP MoE, normal mode): one GPU's share of the tokens its experts
    /// receive, `num_tokens` counted over the whole EP group as in [`Op::Moe`].
    MoeWideContext,
    /// The same in decode (DeepEP low-latency mode, masked grouped GEMM).
    MoeWideGeneration,
    /// NCCL collectives (`all_gather`, `all_reduce`, `alltoall`, `reduce_scatter`).
    Nccl,
    /// The backend's own (custom) all-reduce kernel.
    CustomAllreduce,
    /// The kernels of a gated-delta-net layer (Qwen3.5), each on its own
    /// (`kernel`: the short convolution and the chunked or recurrent core).
    Gdn,
    /// The kernels of a Kimi-delta-attention layer (Kimi-K3), each on its own.
    Kda,
    /// DeepSeek-V4's hyper-connection kernels (`stage`: `pre`, mixing the
    /// residual streams into a sublayer's input; `post`, back), per site.
    Mhc,
    /// Whole prefill attention block of a DeepSeek sparse-attention layer
    /// (MLA with its indexer: DeepSeek-V3.2, GLM-5) of a given model.
    DsaContextModule,
    /// Whole decode attention block of a DeepSeek sparse-attention layer.
    DsaGenerationModule,
    /// Whole prefill attention block of a MiniMax-M3 block-sparse attention
    /// layer (GQA with its block indexer).
    MsaContextModule,
    /// Whole decode attention block of a MiniMax-M3 block-sparse layer.
    MsaGenerationModule,
    /// Whole prefill attention block of a DeepSeek-V4 compressed-sparse
    /// layer (compress ratio 4, with its indexer) of a given model.
    Dsv4CsaContextModule,
    /// Whole decode attention block of a DeepSeek-V4 compressed-sparse layer.
    Dsv4CsaGenerationModule,
    /// Whole prefill attention block of a DeepSeek-V4 heavily-compressed
    /// layer (compress ratio 128).
    Dsv4HcaContextModule,
    /// Whole decode attention block of a DeepSeek-V4 heavily-compressed layer.
    Dsv4HcaGenerationModule,
}

impl Op {
    /// Every op, in file order.
    pub const ALL: &'static [Op] = &[
        Op::Gemm,
        Op::ContextAttention,
        Op::GenerationAttention,
        Op::ContextMla,
        Op::GenerationMla,
        Op::MlaContextModule,
        Op::MlaGenerationModule,
        Op::MlaBmm,
        Op::Moe,
        Op::MoeWideContext,
        Op::MoeWideGeneration,
        Op::Nccl,
        Op::CustomAllreduce,
        Op::Gdn,
        Op::Kda,
        Op::Mhc,
        Op::DsaContextModule,
        Op::DsaGenerationModule,
        Op::MsaContextModule,
        Op::MsaGenerationModule,
        Op::Dsv4CsaContextModule,
        Op::Dsv4CsaGenerationModule,
        Op::Dsv4HcaContextModule,
        Op::Dsv4HcaGenerationModule,
    ];

    /// The stable name used in files and summaries.
    pub fn name(self) -> &'static str {
        match self {
            Op::Gemm => "gemm",
            Op::ContextAttention => "context_attention",
            Op::GenerationAttention => "generation_attention",
            Op::ContextMla => "context_mla",
            Op::GenerationMla => "generation_mla",
            Op::MlaContextModule => "mla_context_module",
            Op::MlaGenerationModule => "mla_generation_module",
            Op::MlaBmm => "mla_bmm",
            Op::Moe => "moe",
            Op::MoeWideContext => "moe_wide_context",
            Op::MoeWideGeneration => "moe_wide_generation",
            Op::Nccl => "nccl",
            Op::CustomAllreduce => "custom_allreduce",
            Op::Gdn => "gdn",
            Op::Kda => "kda",
            Op::Mhc => "mhc",
            Op::DsaContextModule => "dsa_context_module",
            Op::DsaGenerationModule => "dsa_generation_module",
            Op::MsaContextModule => "msa_context_module",
            Op::MsaGenerationModule => "msa_generation_module",
            Op::Dsv4CsaContextModule => "dsv4_csa_context_module",
            Op::Dsv4CsaGenerationModule => "dsv4_csa_generation_module",
            Op::Dsv4HcaContextModule => "dsv4_hca_context_module",
            Op::Dsv4HcaGenerationModule => "dsv4_hca_generation_module",
        }
    }

    /// Parses [`Op::name`] back.
    pub fn from_name(s: &str) -> Option<Op> {
        Op::ALL.iter().copied().find(|op| op.name() == s)
    }

    /// The categorical keys, matched exactly, in key order.
    pub fn categories(self) -> &'static [&'static str] {
        match self {
            Op::Gemm => &["dtype"],
            Op::ContextAttention | Op::GenerationAttention => &["attn_dtype", "kv_dtype"],
            Op::ContextMla | Op::GenerationMla => &["mla_dtype", "kv_dtype"],
            Op::MlaContextModule
            | Op::MlaGenerationModule
            | Op::DsaContextModule
            | Op::DsaGenerationModule
            | Op::MsaContextModule
            | Op::MsaGenerationModule
            | Op::Dsv4CsaContextModule
            | Op::Dsv4CsaGenerationModule
            | Op::Dsv4HcaContextModule
            | Op::Dsv4HcaGenerationModule => &["model", "mla_dtype", "kv_dtype", "gemm_dtype"],
            Op::MlaBmm => &["stage", "dtype"],
            Op::Moe | Op::MoeWideContext | Op::MoeWideGeneration => &["dtype"],
            Op::Nccl => &["collective", "dtype"],
            Op::CustomAllreduce => &["dtype"],
            Op::Gdn | Op::Kda => &["kernel"],
            Op::Mhc => &["stage"],
        }
    }

    /// The numeric coordinates, outermost first. Exact coordinates always
    /// come before interpolated ones, so an interpolation never has to give
    /// up half-way; the densest coordinate is innermost.
    pub fn dims(self) -> &'static [Dim] {
        const GEMM: &[Dim] = &[linear("n"), linear("k"), linear("m")];
        const CTX_ATTN: &[Dim] = &[
            exact("window"),
            exact("head_dim"),
            linear("num_heads"),
            linear("num_kv_heads"),
            square("isl"),
            linear("batch"),
        ];
        const GEN_ATTN: &[Dim] = &[
            exact("window"),
            exact("head_dim"),
            linear("num_heads"),
            linear("num_kv_heads"),
            linear("kv_len"),
            linear("batch"),
        ];
        const CTX_MLA: &[Dim] = &[linear("num_heads"), square("isl"), linear("batch")];
        const GEN_MLA: &[Dim] = &[linear("num_heads"), linear("kv_len"), linear("batch")];
        const MLA_BMM: &[Dim] = &[linear("num_heads"), linear("num_tokens")];
        const MOE: &[Dim] = &[
            exact("moe_tp"),
            exact("moe_ep"),
            linear("num_experts"),
            linear("topk"),
            linear("hidden"),
            linear("inter"),
            linear("num_tokens"),
        ];
        const COMM: &[Dim] = &[exact("num_gpus"), linear("elements")];
        const MHC: &[Dim] = &[exact("hidden"), linear("num_tokens")];
        const GDN: &[Dim] = &[
            linear("num_k_heads"),
            linear("num_v_heads"),
            linear("seq_len"),
            linear("batch"),
        ];
        match self {
            Op::Gemm => GEMM,
            Op::ContextAttention => CTX_ATTN,
            Op::GenerationAttention => GEN_ATTN,
            Op::ContextMla
            | Op::MlaContextModule
            | Op::DsaContextModule
            | Op::MsaContextModule
            | Op::Dsv4CsaContextModule
            | Op::Dsv4HcaContextModule => CTX_MLA,
            Op::GenerationMla
            | Op::MlaGenerationModule
            | Op::DsaGenerationModule
            | Op::MsaGenerationModule
            | Op::Dsv4CsaGenerationModule
            | Op::Dsv4HcaGenerationModule => GEN_MLA,
            Op::MlaBmm => MLA_BMM,
            Op::Moe | Op::MoeWideContext | Op::MoeWideGeneration => MOE,
            Op::Nccl | Op::CustomAllreduce => COMM,
            Op::Gdn | Op::Kda => GDN,
            Op::Mhc => MHC,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_dims_come_first_and_names_round_trip() {
        for &op in Op::ALL {
            assert_eq!(Op::from_name(op.name()), Some(op));
            let dims = op.dims();
            let first_interp = dims
                .iter()
                .position(|d| d.axis != Axis::Exact)
                .unwrap_or(dims.len());
            assert!(
                dims[first_interp..].iter().all(|d| d.axis != Axis::Exact),
                "{op}: exact dims must precede interpolated ones"
            );
            assert!(!op.categories().is_empty());
        }
    }
}
