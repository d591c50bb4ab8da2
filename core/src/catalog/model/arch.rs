//! Architecture facts of a model: what its config.json says, in one shape for
//! every family (dense, MoE, MLA, hybrids), rich enough to count parameters,
//! weight bytes and KV-cache bytes exactly and to derive the GEMM shapes of a step.
//!
//! Layers are described by two per-layer code strings ([`Layers`]), one
//! character per decoder layer, so hybrids (sliding/full, linear/full,
//! Mamba/attention/MoE) are explicit without per-layer structs.

use serde::{Deserialize, Serialize};

use super::quant::Quantization;

/// The broad family that decides how the model may be parallelised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Dense, multi-head attention (KV heads = attention heads).
    DenseMha,
    /// Dense, grouped-query attention.
    DenseGqa,
    /// Mixture of experts with (grouped-query) multi-head attention.
    GqaMoe,
    /// Mixture of experts with multi-head latent attention (DeepSeek-V3 and kin).
    MlaMoe,
    /// Gated-delta-net linear attention interleaved with full attention (Qwen3.5).
    HybridLinearAttention,
    /// Mamba-2 layers interleaved with attention (Nemotron-H).
    HybridMamba,
    /// Mixture of experts with compressed sparse attention (DeepSeek-V4).
    CompressedMoe,
}

impl Family {
    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::DenseMha => "dense_mha",
            Family::DenseGqa => "dense_gqa",
            Family::GqaMoe => "gqa_moe",
            Family::MlaMoe => "mla_moe",
            Family::HybridLinearAttention => "hybrid_linear_attention",
            Family::HybridMamba => "hybrid_mamba",
            Family::CompressedMoe => "compressed_moe",
        }
    }
}

/// Numeric type of weights or states that are not quantized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    Bf16,
    Fp16,
    Fp32,
}

impl Dtype {
    pub fn bytes(self) -> u64 {
        match self {
            Dtype::Bf16 | Dtype::Fp16 => 2,
            Dtype::Fp32 => 4,
        }
    }

    /// Reads a HuggingFace dtype name (`bfloat16`, `torch.float16`, `float32`, ...).
    pub fn from_hf(name: &str) -> Option<Dtype> {
        match name.trim_start_matches("torch.") {
            "bfloat16" | "bf16" => Some(Dtype::Bf16),
            "float16" | "fp16" | "half" => Some(Dtype::Fp16),
            "float32" | "fp32" | "float" => Some(Dtype::Fp32),
            _ => None,
        }
    }
}

/// Normalisation of queries and keys inside attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QkNorm {
    None,
    /// One RMSNorm weight of `head_dim` for queries and one for keys (Qwen3).
    PerHead,
    /// One RMSNorm over all query heads and one over all key heads (MiniMax-M2).
    PerLayer,
}

/// Gating of the attention output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputGate {
    None,
    /// An element-wise gate computed by doubling the query projection (Qwen3.5).
    Elementwise,
    /// One gate per head from a `hidden → heads` projection (Step-3.7).
    Headwise,
}

/// Multi-head latent attention (DeepSeek-V3 and kin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mla {
    /// Rank of the query down-projection; `None` when queries are projected directly.
    pub q_lora_rank: Option<u64>,
    pub kv_lora_rank: u64,
    pub qk_rope_head_dim: u64,
    pub qk_nope_head_dim: u64,
    pub v_head_dim: u64,
}

/// One kind of attention layer: heads, dimensions and the small extras that
/// change the parameter count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attention {
    pub num_heads: u64,
    /// KV heads (= `num_heads` for MHA and MLA).
    pub num_kv_heads: u64,
    /// Query/key head dimension (MLA: nope + rope).
    pub head_dim: u64,
    /// Value head dimension (usually = `head_dim`).
    pub v_head_dim: u64,
    /// Bias on the q, k and v projections.
    pub qkv_bias: bool,
    /// Bias on the output projection.
    pub o_bias: bool,
    pub qk_norm: QkNorm,
    pub output_gate: OutputGate,
    /// Learned attention sinks, one per head (gpt-oss, MiMo-V2).
    pub sinks: bool,
    /// Keys double as values: no value projection (Gemma-4 global layers).
    pub k_eq_v: bool,
    /// Present for multi-head latent attention.
    pub mla: Option<Mla>,
}

impl Attention {
    /// Plain attention: `heads` query heads over `kv_heads` key/value heads
    /// of `head_dim`, no biases, norms, gates, sinks or latent.
    pub fn plain(heads: u64, kv_heads: u64, head_dim: u64) -> Attention {
        Attention {
            num_heads: heads,
            num_kv_heads: kv_heads,
            head_dim,
            v_head_dim: head_dim,
            qkv_bias: false,
            o_bias: false,
            qk_norm: QkNorm::None,
            output_gate: OutputGate::None,
            sinks: false,
            k_eq_v: false,
            mla: None,
        }
    }
}

/// Sliding-window (or chunked) attention layers: they keep at most `window`
/// tokens of KV cache per sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlidingWindow {
    pub window: u64,
    /// Chunked attention (Llama-4): attends within fixed chunks of `window` tokens.
    pub chunked: bool,
    /// Attention of the windowed layers (heads may differ from the full layers).
    pub attention: Attention,
}

/// DeepSeek-V4 attention (layer code `K`): one key/value head of the
/// attention's `head_dim` that doubles as value, queries through a low-rank
/// map, outputs through `o_groups` grouped low-rank maps, and a KV cache of
/// two parts: the raw KV of the last `window` tokens, and compressed entries,
/// one per `ratio` tokens (layers with ratio 4 pick the top-k of theirs with
/// the indexer; the others attend to all of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompressedAttention {
    pub q_lora_rank: u64,
    pub o_lora_rank: u64,
    pub o_groups: u64,
    pub rope_head_dim: u64,
    /// Raw (uncompressed) tokens each query attends to: the most recent ones.
    pub window: u64,
    /// Per layer: tokens folded into one compressed KV entry (0: the window only).
    pub ratios: Vec<u64>,
    /// Width of the residual stream in hidden sizes (hyper-connections; 1: none).
    pub hc_mult: u64,
}

impl CompressedAttention {
    /// Compression ratio of layer `i` (0: window only).
    pub fn ratio(&self, i: usize) -> u64 {
        self.ratios.get(i).copied().unwrap_or(0)
    }

    /// Compressed entries computed per ratio window: overlapping windows
    /// (ratio 4) produce two candidates per entry.
    pub fn overlap(ratio: u64) -> u64 {
        if ratio == 4 { 2 } else { 1 }
    }

    /// Keys one query attends to in a layer of `ratio` at `context` tokens
    /// with a raw window of `window`: the window plus the compressed entries
    /// (at most `topk` of them where an indexer selects).
    pub fn keys(window: u64, ratio: u64, context: u64, topk: Option<u64>) -> u64 {
        let window = window.min(context);
        if ratio == 0 {
            return window;
        }
        let compressed = context / ratio;
        window + topk.map_or(compressed, |k| compressed.min(k))
    }
}

/// Gated-delta-net linear attention (Qwen3.5 / Qwen3-Next) and Kimi delta
/// attention (Kimi-Linear, Kimi-K3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinearAttention {
    pub num_key_heads: u64,
    pub num_value_heads: u64,
    pub key_head_dim: u64,
    pub value_head_dim: u64,
    pub conv_kernel: u64,
    /// Type of the recurrent state.
    pub state_dtype: Dtype,
    /// Kimi delta attention (KDA): the decay `f` and the output gate `g` are
    /// per channel, projected from the hidden state. `None`: the gated delta
    /// net's per-head decay (`a`) and `z` output gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kda: Option<KdaGates>,
}

/// The gate projections of Kimi delta attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdaGates {
    /// Rank of the bottleneck of the `f` and `g` projections (`hidden →
    /// rank → channels`); `None`: full rank (`hidden → channels`).
    pub rank: Option<u64>,
}

/// Mamba-2 mixer (Nemotron-H).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mamba {
    pub num_heads: u64,
    pub head_dim: u64,
    pub state_size: u64,
    pub n_groups: u64,
    pub conv_kernel: u64,
    pub conv_bias: bool,
    pub proj_bias: bool,
    /// Type of the SSM state (`mamba_ssm_cache_dtype`).
    pub ssm_state_dtype: Dtype,
}

/// Sparse-attention indexer: a small attention that picks the top-k keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexerKind {
    /// DeepSeek sparse attention (DeepSeek-V3.2, GLM-5): `wq_b`, `wk`, `k_norm`, `weights_proj`.
    Dsa,
    /// MiniMax-M3 block-sparse attention: `q_proj`, `k_proj`, `q_norm`, `k_norm`.
    BlockSparse,
    /// DeepSeek-V4 compressed sparse attention: `wq_b`, `weights_proj` and
    /// its own compressor of the keys it scores (one per `ratio` tokens).
    Compressed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indexer {
    pub kind: IndexerKind,
    pub num_heads: u64,
    pub head_dim: u64,
    /// Keys (DSA) or blocks (block-sparse) each query attends to.
    pub topk: u64,
    /// Per layer: `I` own indexer, `s` reuses an earlier layer's indexer, `-` none.
    pub layers: String,
}

/// Dense feed-forward network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenseMlp {
    pub intermediate_size: u64,
    /// Gated (gate, up, down: SwiGLU/GeGLU) or plain (up, down: ReLU²).
    pub gated: bool,
    pub bias: bool,
}

/// Mixture of experts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moe {
    pub num_experts: u64,
    /// Experts routed per token.
    pub top_k: u64,
    /// Width of one routed expert.
    pub expert_intermediate_size: u64,
    /// Gated (3 matrices) or plain (2 matrices) experts.
    pub gated: bool,
    /// Per-expert biases on the expert projections (gpt-oss).
    pub expert_bias: bool,
    /// Bias on the router projection (gpt-oss).
    pub router_bias: bool,
    /// Router carries a learned input scale (hidden) and per-expert scale (Gemma-4).
    pub router_scales: bool,
    /// Shared experts, always active (0 when none).
    pub num_shared_experts: u64,
    /// Total width of the shared expert MLP (all shared experts together).
    pub shared_intermediate_size: u64,
    /// A sigmoid gate (`hidden → 1`) on the shared expert output (Qwen3.5).
    pub shared_expert_gate: bool,
    /// Experts work in a latent space of this width (Nemotron-3 Super/Ultra).
    pub latent_size: Option<u64>,
}

impl Moe {
    /// DeepSeek-style experts: gated, no biases or router scales, and
    /// `shared` always-on experts of the routed experts' `width` each.
    pub fn gated_with_shared(num_experts: u64, top_k: u64, width: u64, shared: u64) -> Moe {
        Moe {
            num_experts,
            top_k,
            expert_intermediate_size: width,
            gated: true,
            expert_bias: false,
            router_bias: false,
            router_scales: false,
            num_shared_experts: shared,
            shared_intermediate_size: shared * width,
            shared_expert_gate: false,
            latent_size: None,
        }
    }
}

/// Per-layer code strings, one character per decoder layer.
///
/// `attention`: `F` full attention (GQA/MHA/MLA), `S` sliding window, `C`
/// chunked, `K` compressed (DeepSeek-V4), `L` linear attention, `M` Mamba-2,
/// `X` replaced by one linear map, `-` none. `mlp`: `D` dense, `E` experts,
/// `B` both in parallel (Gemma-4),
/// `X` replaced by one linear map, `-` none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layers {
    pub attention: String,
    pub mlp: String,
}

/// Per-layer shapes of heterogeneous models (Nemotron-NAS / DeciLM), where
/// KV heads and MLP width change from layer to layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerLayer {
    pub num_kv_heads: Vec<u64>,
    pub intermediate_size: Vec<u64>,
}

/// Hidden-size normalisation vectors, counted per layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Norms {
    /// In layers that have an attention/mixer block.
    pub attention: u64,
    /// In layers that have an MLP block.
    pub mlp: u64,
    /// Extra, in layers with experts.
    pub moe_extra: u64,
}

/// Multi-token-prediction layers. They are not part of the served model (unless
/// speculative decoding uses them), so parameter counts exclude them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mtp {
    pub layers: u64,
    /// Their parameters, not counting the embedding and head they share with
    /// the main model; `None` where the config does not say enough.
    pub params: Option<u64>,
}

/// A vision (or other modality) tower beside the language model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vision {
    /// Parameters of the tower and its projector; `None` when the config does
    /// not give enough to count them.
    pub params: Option<u64>,
    /// Where the count comes from, or why it is unknown.
    pub note: String,
}

/// Everything the planner knows about one model's architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelArch {
    /// HuggingFace id, e.g. `Qwen/Qwen3-32B` (empty when parsed from a user's file).
    pub id: String,
    /// `architectures[0]` of the config.
    pub architecture: String,
    /// `model_type` of the language model (the text config of multimodal models).
    pub model_type: String,
    pub family: Family,
    /// Type of the weights that are not quantized.
    pub dtype: Dtype,
    /// Decoder layers served (multi-token-prediction layers excluded).
    pub num_layers: u64,
    pub hidden_size: u64,
    pub vocab_size: u64,
    pub tie_word_embeddings: bool,
    pub max_position_embeddings: u64,
    /// Attention of the full-attention layers (`F`).
    pub attention: Attention,
    pub sliding_window: Option<SlidingWindow>,
    pub linear_attention: Option<LinearAttention>,
    /// Compressed attention of the `K` layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressed: Option<CompressedAttention>,
    pub mamba: Option<Mamba>,
    pub indexer: Option<Indexer>,
    pub mlp: Option<DenseMlp>,
    pub moe: Option<Moe>,
    pub layers: Layers,
    pub per_layer: Option<PerLayer>,
    pub norms: Norms,
    pub mtp: Option<Mtp>,
    pub vision: Option<Vision>,
    pub quantization: Quantization,
    /// Assumptions made while reading the config (defaults taken, fields ignored).
    pub notes: Vec<String>,
}

/// Largest accepted width (hidden size, head dim, MLP and expert widths, ranks).
pub const MAX_WIDTH: u64 = 1 << 17;
/// Largest accepted count of heads, experts, groups or kernel taps.
pub const MAX_COUNT: u64 = 1 << 12;
/// Largest accepted number of layers (decoder or MTP).
pub const MAX_LAYERS: u64 = 1 << 10;
/// Largest accepted vocabulary.
pub const MAX_VOCAB: u64 = 1 << 22;

impl ModelArch {
    /// Checks that every size is within the bounds above, far beyond any real
    /// model, so that no count can overflow 64 bits. Parsing and catalog
    /// loading call it; a [`ModelArch`] built by hand should pass it too.
    pub fn check_bounds(&self) -> Result<(), super::error::ModelError> {
        let mut checks: Vec<(&str, u64, u64)> = vec![
            ("num_hidden_layers", self.num_layers, MAX_LAYERS),
            ("hidden_size", self.hidden_size, MAX_WIDTH),
            ("vocab_size", self.vocab_size, MAX_VOCAB),
        ];
        let mut attention = |name: &'static str, a: &Attention| {
            checks.push((name, a.num_heads, MAX_COUNT));
            checks.push((name, a.num_kv_heads, MAX_COUNT));
            checks.push((name, a.head_dim, MAX_WIDTH));
            checks.push((name, a.v_head_dim, MAX_WIDTH));
            if let Some(m) = &a.mla {
                checks.push(("q_lora_rank", m.q_lora_rank.unwrap_or(0), MAX_WIDTH));
                checks.push(("kv_lora_rank", m.kv_lora_rank, MAX_WIDTH));
                checks.push(("qk_rope_head_dim", m.qk_rope_head_dim, MAX_WIDTH));
                checks.push(("qk_nope_head_dim", m.qk_nope_head_dim, MAX_WIDTH));
                checks.push(("v_head_dim", m.v_head_dim, MAX_WIDTH));
            }
        };
        attention("attention", &self.attention);
        if let Some(sw) = &self.sliding_window {
            attention("sliding-window attention", &sw.attention);
        }
        if let Some(l) = &self.linear_attention {
            checks.push(("linear_num_key_heads", l.num_key_heads, MAX_COUNT));
            checks.push(("linear_num_value_heads", l.num_value_heads, MAX_COUNT));
            checks.push(("linear_key_head_dim", l.key_head_dim, MAX_WIDTH));
            checks.push(("linear_value_head_dim", l.value_head_dim, MAX_WIDTH));
            checks.push(("linear_conv_kernel_dim", l.conv_kernel, MAX_COUNT));
        }
        if let Some(k) = &self.compressed {
            checks.push(("q_lora_rank", k.q_lora_rank, MAX_WIDTH));
            checks.push(("o_lora_rank", k.o_lora_rank, MAX_WIDTH));
            checks.push(("o_groups", k.o_groups, MAX_COUNT));
            checks.push(("sliding_window", k.window, MAX_WIDTH));
            checks.push(("hc_mult", k.hc_mult, 64));
            for r in &k.ratios {
                checks.push(("compress_ratios", *r, MAX_WIDTH));
            }
        }
        if let Some(m) = &self.mamba {
            checks.push(("mamba_num_heads", m.num_heads, MAX_COUNT));
            checks.push(("mamba_head_dim", m.head_dim, MAX_WIDTH));
            checks.push(("ssm_state_size", m.state_size, MAX_WIDTH));
            checks.push(("n_groups", m.n_groups, MAX_COUNT));
            checks.push(("conv_kernel", m.conv_kernel, MAX_COUNT));
        }
        if let Some(ix) = &self.indexer {
            checks.push(("index_n_heads", ix.num_heads, MAX_COUNT));
            checks.push(("index_head_dim", ix.head_dim, MAX_WIDTH));
        }
        if let Some(m) = &self.mlp {
            checks.push(("intermediate_size", m.intermediate_size, MAX_WIDTH));
        }
        if let Some(m) = &self.moe {
            checks.push(("num_experts", m.num_experts, MAX_COUNT));
            checks.push(("num_experts_per_tok", m.top_k, MAX_COUNT));
            checks.push((
                "moe_intermediate_size",
                m.expert_intermediate_size,
                MAX_WIDTH,
            ));
            checks.push(("shared expert width", m.shared_intermediate_size, MAX_WIDTH));
            checks.push(("moe_latent_size", m.latent_size.unwrap_or(0), MAX_WIDTH));
        }
        if let Some(p) = &self.per_layer {
            for kv in &p.num_kv_heads {
                checks.push(("block_configs n_heads_in_group", *kv, MAX_COUNT));
            }
            for w in &p.intermediate_size {
                checks.push(("block_configs ffn_mult", *w, MAX_WIDTH));
            }
        }
        if let Some(m) = &self.mtp {
            checks.push(("num_nextn_predict_layers", m.layers, MAX_LAYERS));
        }
        checks.push((
            "norms",
            self.norms.attention + self.norms.mlp + self.norms.moe_extra,
            64,
        ));
        match checks.into_iter().find(|(_, v, max)| v > max) {
            None => Ok(()),
            Some((field, v, max)) => Err(super::error::ModelError::invalid(
                field,
                format!("is {v}, implausibly large (dgdr accepts at most {max})"),
            )),
        }
    }

    pub fn is_moe(&self) -> bool {
        self.moe.is_some()
    }

    /// Number of layers whose attention code is `code`.
    pub fn count_attention(&self, code: char) -> u64 {
        self.layers.attention.chars().filter(|c| *c == code).count() as u64
    }

    /// Number of layers whose MLP code is `code`.
    pub fn count_mlp(&self, code: char) -> u64 {
        self.layers.mlp.chars().filter(|c| *c == code).count() as u64
    }

    /// Layers with experts (`E` or `B`).
    pub fn moe_layers(&self) -> u64 {
        self.count_mlp('E') + self.count_mlp('B')
    }

    /// Attention code of layer `i`.
    pub fn attention_code(&self, i: usize) -> char {
        self.layers.attention.chars().nth(i).unwrap_or('-')
    }

    /// MLP code of layer `i`.
    pub fn mlp_code(&self, i: usize) -> char {
        self.layers.mlp.chars().nth(i).unwrap_or('-')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_names() {
        let cases = [
            ("bfloat16", Some(Dtype::Bf16)),
            ("torch.bfloat16", Some(Dtype::Bf16)),
            ("float16", Some(Dtype::Fp16)),
            ("float32", Some(Dtype::Fp32)),
            ("int8", None),
        ];
        for (name, want) in cases {
            assert_eq!(Dtype::from_hf(name), want, "{name}");
        }
        assert_eq!(Dtype::Bf16.bytes(), 2);
        assert_eq!(Dtype::Fp32.bytes(), 4);
    }

    #[test]
    fn family_names_match_serde() {
        for f in [
            Family::DenseMha,
            Family::DenseGqa,
            Family::GqaMoe,
            Family::MlaMoe,
            Family::HybridLinearAttention,
            Family::HybridMamba,
            Family::CompressedMoe,
        ] {
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.as_str()));
        }
    }
}
