//! The weight tensors of a model, layer by layer, derived from its
//! [`ModelArch`]. Parameter counts, weight bytes and quantization exclusions are
//! all computed over this one list, so they cannot disagree.
//!
//! Shapes follow the reference implementations in HuggingFace `transformers`
//! (checked against them for every model of the built-in catalog): `rows` is the
//! output width of a linear map, `cols` its input width, `count` how many copies
//! (experts) a layer holds.

use super::arch::{Attention, CompressedAttention, IndexerKind, ModelArch, OutputGate, QkNorm};

/// What a tensor belongs to, for breakdowns and for the active-parameter count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    Embedding,
    LmHead,
    Attention,
    Indexer,
    /// Linear-attention and Mamba mixers.
    Mixer,
    DenseMlp,
    RoutedExperts,
    SharedExperts,
    Router,
    /// Projections into and out of the experts' latent space.
    MoeLatent,
    Norm,
}

/// One weight tensor (or a stack of identical ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tensor {
    /// Decoder layer, `None` for embeddings, head and final norm.
    pub layer: Option<u64>,
    /// Canonical name (`attn.q`, `experts.down`, ...); see [`aliases`].
    pub name: &'static str,
    pub component: Component,
    pub rows: u64,
    pub cols: u64,
    pub count: u64,
    /// A linear weight that quantization may store in a narrower format.
    pub quantizable: bool,
}

impl Tensor {
    pub fn params(&self) -> u64 {
        self.rows
            .saturating_mul(self.cols)
            .saturating_mul(self.count)
    }
}

/// How a checkpoint names the modules of a decoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// `self_attn.*`, `linear_attn.*`, `mlp.*`, `mlp.experts.N.*`, `mlp.shared_expert(s).*`.
    Standard,
    /// MiniMax and Mixtral: experts under `block_sparse_moe` with `w1/w2/w3`.
    BlockSparseMoe,
    /// Nemotron-H: every block is a `mixer`.
    Mixer,
    /// Gemma-4: `experts.*` and `router.*` beside `mlp.*`.
    Gemma4,
    /// Llama-4: `feed_forward.*`.
    FeedForward,
    /// DeepSeek-V4's reference: `attn.wq_a`, `ffn.experts.N.w1`, ...
    DeepseekV4,
    /// Kimi-Linear / Kimi-K3: both attention kinds under `self_attn`, experts
    /// under `block_sparse_moe` with `w1/w2/w3`.
    KimiLinear,
}

/// The module names a canonical tensor has in checkpoints named by `naming`,
/// relative to its decoder layer (`layers.N.`), used to match quantization
/// exclusions and mixed-precision maps. Experts appear as expert 0; fused
/// stacks (`mlp.experts`) are listed too.
pub fn aliases(name: &str, naming: Naming) -> &'static [&'static str] {
    use Naming::*;
    match (naming, name) {
        (Mixer, "attn.q") => &["mixer.q_proj"],
        (Mixer, "attn.k") => &["mixer.k_proj"],
        (Mixer, "attn.v") => &["mixer.v_proj"],
        (Mixer, "attn.o") => &["mixer.o_proj"],
        (Mixer, "mlp.up") => &["mixer.up_proj"],
        (Mixer, "mlp.down") => &["mixer.down_proj"],
        (Mixer, "experts.up") => &["mixer.experts.0.up_proj", "mixer.experts"],
        (Mixer, "experts.down") => &["mixer.experts.0.down_proj", "mixer.experts"],
        (Mixer, "shared.up") => &["mixer.shared_experts.up_proj"],
        (Mixer, "shared.down") => &["mixer.shared_experts.down_proj"],
        (DeepseekV4, "attn.q_a") => &["attn.wq_a"],
        (DeepseekV4, "attn.q_b") => &["attn.wq_b"],
        (DeepseekV4, "attn.kv") => &["attn.wkv"],
        (DeepseekV4, "attn.o_a") => &["attn.wo_a"],
        (DeepseekV4, "attn.o_b") => &["attn.wo_b"],
        (DeepseekV4, "indexer.q") => &["attn.indexer.wq_b"],
        (DeepseekV4, "indexer.w") => &["attn.indexer.weights_proj"],
        (DeepseekV4, "experts.gate") => &["ffn.experts.0.w1", "ffn.experts"],
        (DeepseekV4, "experts.up") => &["ffn.experts.0.w3", "ffn.experts"],
        (DeepseekV4, "experts.down") => &["ffn.experts.0.w2", "ffn.experts"],
        (DeepseekV4, "shared.gate") => &["ffn.shared_experts.w1"],
        (DeepseekV4, "shared.up") => &["ffn.shared_experts.w3"],
        (DeepseekV4, "shared.down") => &["ffn.shared_experts.w2"],
        (KimiLinear, "linear.qkv") => &["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
        (KimiLinear, "linear.z") => &[
            "self_attn.g_proj",
            "self_attn.g_a_proj",
            "self_attn.g_b_proj",
        ],
        (KimiLinear, "linear.a") => &[
            "self_attn.f_proj",
            "self_attn.f_a_proj",
            "self_attn.f_b_proj",
        ],
        (KimiLinear, "linear.b") => &["self_attn.b_proj"],
        (KimiLinear, "linear.out") => &["self_attn.o_proj"],
        (KimiLinear, "attn.g") => &["self_attn.g_proj"],
        (KimiLinear, "experts.gate") => &["block_sparse_moe.experts.0.w1"],
        (KimiLinear, "experts.up") => &["block_sparse_moe.experts.0.w3"],
        (KimiLinear, "experts.down") => &["block_sparse_moe.experts.0.w2"],
        (KimiLinear, "shared.gate") => &["block_sparse_moe.shared_experts.gate_proj"],
        (KimiLinear, "shared.up") => &["block_sparse_moe.shared_experts.up_proj"],
        (KimiLinear, "shared.down") => &["block_sparse_moe.shared_experts.down_proj"],
        (_, "attn.q") => &["self_attn.q_proj", "self_attn.qkv_proj"],
        (_, "attn.k") => &["self_attn.k_proj", "self_attn.qkv_proj"],
        (_, "attn.v") => &["self_attn.v_proj", "self_attn.qkv_proj"],
        (_, "attn.o") => &["self_attn.o_proj"],
        (_, "attn.g") => &["self_attn.g_proj"],
        (_, "attn.q_a") => &["self_attn.q_a_proj"],
        (_, "attn.q_b") => &["self_attn.q_b_proj"],
        (_, "attn.kv_a") => &["self_attn.kv_a_proj_with_mqa"],
        (_, "attn.kv_b") => &["self_attn.kv_b_proj"],
        (_, "attn.linear") => &["self_attn.linear_attn"],
        (BlockSparseMoe, "indexer.q") => &["self_attn.index_q_proj", "self_attn.indexer.q_proj"],
        (BlockSparseMoe, "indexer.k") => &["self_attn.index_k_proj", "self_attn.indexer.k_proj"],
        (_, "indexer.q") => &["self_attn.indexer.wq_b"],
        (_, "indexer.k") => &["self_attn.indexer.wk"],
        (_, "indexer.w") => &["self_attn.indexer.weights_proj", "self_attn.indexers_proj"],
        (_, "linear.qkv") => &["linear_attn.in_proj_qkv", "linear_attn.in_proj_qkvz"],
        (_, "linear.z") => &["linear_attn.in_proj_z", "linear_attn.in_proj_qkvz"],
        (_, "linear.a") => &["linear_attn.in_proj_a", "linear_attn.in_proj_ba"],
        (_, "linear.b") => &["linear_attn.in_proj_b", "linear_attn.in_proj_ba"],
        (_, "linear.out") => &["linear_attn.out_proj"],
        (_, "mamba.in") => &["mixer.in_proj"],
        (_, "mamba.out") => &["mixer.out_proj"],
        (FeedForward, "mlp.gate") => &["feed_forward.gate_proj"],
        (FeedForward, "mlp.up") => &["feed_forward.up_proj"],
        (FeedForward, "mlp.down") => &["feed_forward.down_proj"],
        (_, "mlp.gate") => &["mlp.gate_proj", "mlp.gate_up_proj"],
        (_, "mlp.up") => &["mlp.up_proj", "mlp.gate_up_proj"],
        (_, "mlp.down") => &["mlp.down_proj"],
        (_, "mlp.linear") => &["mlp.linear_mlp"],
        (BlockSparseMoe, "experts.gate") => &["block_sparse_moe.experts.0.w1"],
        (BlockSparseMoe, "experts.up") => &["block_sparse_moe.experts.0.w3"],
        (BlockSparseMoe, "experts.down") => &["block_sparse_moe.experts.0.w2"],
        (BlockSparseMoe, "shared.gate") => &["block_sparse_moe.shared_experts.gate_proj"],
        (BlockSparseMoe, "shared.up") => &["block_sparse_moe.shared_experts.up_proj"],
        (BlockSparseMoe, "shared.down") => &["block_sparse_moe.shared_experts.down_proj"],
        (Gemma4, "experts.gate") => &["experts.0.gate_proj", "experts.gate_up_proj", "experts"],
        (Gemma4, "experts.up") => &["experts.0.up_proj", "experts.gate_up_proj", "experts"],
        (Gemma4, "experts.down") => &["experts.0.down_proj", "experts.down_proj", "experts"],
        (FeedForward, "experts.gate") => {
            &["feed_forward.experts.0.gate_proj", "feed_forward.experts"]
        }
        (FeedForward, "experts.up") => &["feed_forward.experts.0.up_proj", "feed_forward.experts"],
        (FeedForward, "experts.down") => {
            &["feed_forward.experts.0.down_proj", "feed_forward.experts"]
        }
        (FeedForward, "shared.gate") => &["feed_forward.shared_expert.gate_proj"],
        (FeedForward, "shared.up") => &["feed_forward.shared_expert.up_proj"],
        (FeedForward, "shared.down") => &["feed_forward.shared_expert.down_proj"],
        (_, "experts.gate") => &[
            "mlp.experts.0.gate_proj",
            "mlp.experts.0.gate_up_proj",
            "mlp.experts.gate_up_proj",
            "mlp.experts",
        ],
        (_, "experts.up") => &[
            "mlp.experts.0.up_proj",
            "mlp.experts.0.gate_up_proj",
            "mlp.experts.gate_up_proj",
            "mlp.experts",
        ],
        (_, "experts.down") => &[
            "mlp.experts.0.down_proj",
            "mlp.experts.down_proj",
            "mlp.experts",
        ],
        (_, "shared.gate") => &[
            "mlp.shared_experts.gate_proj",
            "mlp.shared_expert.gate_proj",
            "mlp.shared_experts.gate_up_proj",
        ],
        (_, "shared.up") => &[
            "mlp.shared_experts.up_proj",
            "mlp.shared_expert.up_proj",
            "mlp.shared_experts.gate_up_proj",
        ],
        (_, "shared.down") => &[
            "mlp.shared_experts.down_proj",
            "mlp.shared_expert.down_proj",
        ],
        (_, "moe.latent_in") => &["mixer.fc1_latent_proj"],
        (_, "moe.latent_out") => &["mixer.fc2_latent_proj"],
        _ => &[],
    }
}

struct Builder {
    out: Vec<Tensor>,
    layer: Option<u64>,
}

impl Builder {
    fn push(
        &mut self,
        name: &'static str,
        c: Component,
        rows: u64,
        cols: u64,
        count: u64,
        q: bool,
    ) {
        if rows == 0 || cols == 0 || count == 0 {
            return;
        }
        self.out.push(Tensor {
            layer: self.layer,
            name,
            component: c,
            rows,
            cols,
            count,
            quantizable: q,
        });
    }

    /// A quantizable linear weight `rows × cols`.
    fn linear(&mut self, name: &'static str, c: Component, rows: u64, cols: u64) {
        self.push(name, c, rows, cols, 1, true);
    }

    /// A vector (norm weight, bias, per-head scalars).
    fn vector(&mut self, name: &'static str, c: Component, len: u64) {
        self.push(name, c, len, 1, 1, false);
    }
}

/// All weight tensors of the served language model (no MTP, no vision).
pub fn tensors(arch: &ModelArch) -> Vec<Tensor> {
    let h = arch.hidden_size;
    let mut b = Builder {
        out: Vec::new(),
        layer: None,
    };
    b.push("embed", Component::Embedding, arch.vocab_size, h, 1, false);
    for i in 0..arch.num_layers {
        layer_tensors(arch, i, &mut b);
    }
    b.layer = None;
    b.vector("norm.final", Component::Norm, h);
    if let Some(k) = arch.compressed.as_ref().filter(|k| k.hc_mult > 1) {
        // Hyper-connections fold the m-wide stream back into one before the head.
        b.push(
            "hc.head",
            Component::Norm,
            k.hc_mult,
            k.hc_mult * h,
            1,
            false,
        );
        b.vector("hc.head_bias_scale", Component::Norm, k.hc_mult + 1);
    }
    if !arch.tie_word_embeddings {
        b.push("lm_head", Component::LmHead, arch.vocab_size, h, 1, false);
    }
    b.out
}

/// The tensors of decoder layer `i`.
pub fn layer(arch: &ModelArch, i: u64) -> Vec<Tensor> {
    let mut b = Builder {
        out: Vec::new(),
        layer: None,
    };
    layer_tensors(arch, i, &mut b);
    b.out
}

fn layer_tensors(arch: &ModelArch, i: u64, b: &mut Builder) {
    let h = arch.hidden_size;
    let idx = usize::try_from(i).unwrap_or(usize::MAX);
    b.layer = Some(i);
    let a = arch.attention_code(idx);
    let m = arch.mlp_code(idx);

    // Norms.
    let mut norms = 0;
    if a != '-' {
        norms += arch.norms.attention;
    }
    if m != '-' {
        norms += arch.norms.mlp;
    }
    if m == 'E' || m == 'B' {
        norms += arch.norms.moe_extra;
    }
    b.push("norm.layer", Component::Norm, h, 1, norms, false);

    match a {
        'F' => {
            let mut att = arch.attention.clone();
            if let Some(kv) = arch
                .per_layer
                .as_ref()
                .and_then(|p| p.num_kv_heads.get(idx))
            {
                att.num_kv_heads = *kv;
            }
            attention(&att, h, b);
        }
        'S' | 'C' => {
            if let Some(sw) = &arch.sliding_window {
                attention(&sw.attention, h, b);
            }
        }
        'L' => {
            if let Some(l) = &arch.linear_attention {
                let key = l.num_key_heads * l.key_head_dim;
                let value = l.num_value_heads * l.value_head_dim;
                let conv = 2 * key + value;
                b.linear("linear.qkv", Component::Mixer, conv, h);
                b.linear("linear.b", Component::Mixer, l.num_value_heads, h);
                match l.kda.map(|k| k.rank) {
                    // Gated delta net: z output gate, per-head decay.
                    None => {
                        b.linear("linear.z", Component::Mixer, value, h);
                        b.linear("linear.a", Component::Mixer, l.num_value_heads, h);
                    }
                    // KDA: per-channel output gate g and decay f.
                    Some(None) => {
                        b.linear("linear.z", Component::Mixer, value, h);
                        b.linear("linear.a", Component::Mixer, value, h);
                    }
                    Some(Some(r)) => {
                        b.linear("linear.z", Component::Mixer, r, h);
                        b.linear("linear.z_b", Component::Mixer, value, r);
                        b.linear("linear.a", Component::Mixer, r, h);
                        b.linear("linear.a_b", Component::Mixer, value, r);
                    }
                }
                b.push(
                    "linear.conv",
                    Component::Mixer,
                    conv,
                    l.conv_kernel,
                    1,
                    false,
                );
                // A_log per head; dt bias per head (GDN) or per channel (KDA).
                let dt = if l.kda.is_some() {
                    value
                } else {
                    l.num_value_heads
                };
                b.vector(
                    "linear.a_log_dt_bias",
                    Component::Mixer,
                    l.num_value_heads + dt,
                );
                b.vector("linear.norm", Component::Mixer, l.value_head_dim);
                b.linear("linear.out", Component::Mixer, h, value);
            }
        }
        'M' => {
            if let Some(mb) = &arch.mamba {
                let inner = mb.num_heads * mb.head_dim;
                let conv = inner + 2 * mb.n_groups * mb.state_size;
                b.linear("mamba.in", Component::Mixer, inner + conv + mb.num_heads, h);
                if mb.proj_bias {
                    b.vector(
                        "mamba.in_bias",
                        Component::Mixer,
                        inner + conv + mb.num_heads,
                    );
                    b.vector("mamba.out_bias", Component::Mixer, h);
                }
                b.push(
                    "mamba.conv",
                    Component::Mixer,
                    conv,
                    mb.conv_kernel,
                    1,
                    false,
                );
                if mb.conv_bias {
                    b.vector("mamba.conv_bias", Component::Mixer, conv);
                }
                b.vector("mamba.dt_a_d", Component::Mixer, 3 * mb.num_heads);
                b.vector("mamba.norm", Component::Mixer, inner);
                b.linear("mamba.out", Component::Mixer, h, inner);
            }
        }
        'X' => b.linear("attn.linear", Component::Attention, h, h),
        'K' => {
            if let Some(k) = &arch.compressed {
                compressed_attention(arch, k, idx, b);
            }
        }
        _ => {}
    }

    // Indexer of sparse attention (DeepSeek-V4's comes with its attention).
    if let Some(ix) = &arch.indexer
        && ix.layers.chars().nth(idx) == Some('I')
        && ix.kind != IndexerKind::Compressed
    {
        let width = ix.num_heads * ix.head_dim;
        match ix.kind {
            IndexerKind::Dsa => {
                let q_in = arch
                    .attention
                    .mla
                    .as_ref()
                    .and_then(|m| m.q_lora_rank)
                    .unwrap_or(h);
                b.linear("indexer.q", Component::Indexer, width, q_in);
                b.linear("indexer.k", Component::Indexer, ix.head_dim, h);
                b.vector("indexer.k_norm", Component::Indexer, 2 * ix.head_dim);
                b.push("indexer.w", Component::Indexer, ix.num_heads, h, 1, false);
            }
            IndexerKind::BlockSparse => {
                b.linear("indexer.q", Component::Indexer, width, h);
                b.linear("indexer.k", Component::Indexer, ix.head_dim, h);
                b.vector("indexer.qk_norm", Component::Indexer, 2 * ix.head_dim);
            }
            IndexerKind::Compressed => {}
        }
    }

    // Feed-forward.
    if m == 'D' || m == 'B' {
        let width = arch
            .per_layer
            .as_ref()
            .and_then(|p| p.intermediate_size.get(idx).copied())
            .or_else(|| arch.mlp.as_ref().map(|d| d.intermediate_size))
            .unwrap_or(0);
        let gated = arch.mlp.as_ref().is_none_or(|d| d.gated);
        let bias = arch.mlp.as_ref().is_some_and(|d| d.bias);
        if gated {
            b.linear("mlp.gate", Component::DenseMlp, width, h);
        }
        b.linear("mlp.up", Component::DenseMlp, width, h);
        b.linear("mlp.down", Component::DenseMlp, h, width);
        if bias {
            let n = if gated { 2 * width } else { width };
            b.vector("mlp.bias", Component::DenseMlp, n + h);
        }
    }
    if m == 'X' {
        b.linear("mlp.linear", Component::DenseMlp, h, h);
    }
    if (m == 'E' || m == 'B')
        && let Some(moe) = &arch.moe
    {
        let e = moe.num_experts;
        let w = moe.expert_intermediate_size;
        let dim = moe.latent_size.unwrap_or(h);
        b.push("router", Component::Router, e, h, 1, false);
        if moe.router_bias {
            b.vector("router.bias", Component::Router, e);
        }
        if moe.router_scales {
            b.vector("router.scales", Component::Router, h + e);
        }
        if let Some(latent) = moe.latent_size {
            b.linear("moe.latent_in", Component::MoeLatent, latent, h);
            b.linear("moe.latent_out", Component::MoeLatent, h, latent);
        }
        if moe.gated {
            b.push("experts.gate", Component::RoutedExperts, w, dim, e, true);
        }
        b.push("experts.up", Component::RoutedExperts, w, dim, e, true);
        b.push("experts.down", Component::RoutedExperts, dim, w, e, true);
        if moe.expert_bias {
            let n = if moe.gated { 2 * w } else { w };
            b.push(
                "experts.bias",
                Component::RoutedExperts,
                n + dim,
                1,
                e,
                false,
            );
        }
        let s = moe.shared_intermediate_size;
        if s > 0 {
            if moe.gated {
                b.linear("shared.gate", Component::SharedExperts, s, h);
            }
            b.linear("shared.up", Component::SharedExperts, s, h);
            b.linear("shared.down", Component::SharedExperts, h, s);
        }
        if moe.shared_expert_gate {
            b.push(
                "shared.router_gate",
                Component::SharedExperts,
                1,
                h,
                1,
                false,
            );
        }
    }
}

/// DeepSeek-V4's attention block of layer `idx`: queries through `wq_a`/`wq_b`,
/// one key/value head (`wkv`), grouped low-rank outputs (`wo_a`/`wo_b`),
/// sinks; the compressor of its KV (and of its indexer's keys), which forms
/// `overlap` candidates per entry, each with a gate and a positional bias per
/// position in the ratio window; the hyper-connection maps around the
/// attention and the experts (`(2 + m)·m` mixing weights from the `m`-wide
/// residual stream, their bias and 3 scales).
fn compressed_attention(arch: &ModelArch, k: &CompressedAttention, idx: usize, b: &mut Builder) {
    let h = arch.hidden_size;
    let a = &arch.attention;
    let d = a.head_dim;
    let q = a.num_heads * d;
    let o_mid = k.o_groups * k.o_lora_rank;
    b.linear("attn.q_a", Component::Attention, k.q_lora_rank, h);
    b.vector("attn.q_a_norm", Component::Attention, k.q_lora_rank);
    b.linear("attn.q_b", Component::Attention, q, k.q_lora_rank);
    b.linear("attn.kv", Component::Attention, d, h);
    b.vector("attn.kv_norm", Component::Attention, d);
    b.linear(
        "attn.o_a",
        Component::Attention,
        o_mid,
        q / k.o_groups.max(1),
    );
    b.linear("attn.o_b", Component::Attention, h, o_mid);
    b.vector("attn.sinks", Component::Attention, a.num_heads);
    let ratio = k.ratio(idx);
    let compressor = |b: &mut Builder, name: [&'static str; 4], c: Component, width: u64| {
        let wide = CompressedAttention::overlap(ratio) * width;
        b.push(name[0], c, wide, h, 1, false);
        b.push(name[1], c, wide, h, 1, false);
        b.vector(name[2], c, ratio * wide);
        b.vector(name[3], c, width);
    };
    if ratio > 0 {
        compressor(
            b,
            [
                "compressor.kv",
                "compressor.gate",
                "compressor.ape",
                "compressor.norm",
            ],
            Component::Attention,
            d,
        );
    }
    if let Some(ix) = &arch.indexer
        && ix.kind == IndexerKind::Compressed
        && ix.layers.chars().nth(idx) == Some('I')
    {
        let width = ix.num_heads * ix.head_dim;
        b.linear("indexer.q", Component::Indexer, width, k.q_lora_rank);
        b.push("indexer.w", Component::Indexer, ix.num_heads, h, 1, false);
        compressor(
            b,
            [
                "indexer.compressor.kv",
                "indexer.compressor.gate",
                "indexer.compressor.ape",
                "indexer.compressor.norm",
            ],
            Component::Indexer,
            ix.head_dim,
        );
    }
    let m = k.hc_mult;
    if m > 1 {
        let mix = (2 + m) * m;
        b.push("hc.maps", Component::Norm, mix, m * h, 2, false);
        b.vector("hc.bias_scale", Component::Norm, 2 * (mix + 3));
    }
}

fn attention(a: &Attention, h: u64, b: &mut Builder) {
    if let Some(mla) = &a.mla {
        let qk = mla.qk_nope_head_dim + mla.qk_rope_head_dim;
        match mla.q_lora_rank {
            Some(r) => {
                b.linear("attn.q_a", Component::Attention, r, h);
                b.vector("attn.q_a_norm", Component::Attention, r);
                b.linear("attn.q_b", Component::Attention, a.num_heads * qk, r);
            }
            None => b.linear("attn.q", Component::Attention, a.num_heads * qk, h),
        }
        b.linear(
            "attn.kv_a",
            Component::Attention,
            mla.kv_lora_rank + mla.qk_rope_head_dim,
            h,
        );
        b.vector("attn.kv_a_norm", Component::Attention, mla.kv_lora_rank);
        b.linear(
            "attn.kv_b",
            Component::Attention,
            a.num_heads * (mla.qk_nope_head_dim + mla.v_head_dim),
            mla.kv_lora_rank,
        );
        b.linear(
            "attn.o",
            Component::Attention,
            h,
            a.num_heads * mla.v_head_dim,
        );
        if a.output_gate == OutputGate::Elementwise {
            b.linear(
                "attn.g",
                Component::Attention,
                a.num_heads * mla.v_head_dim,
                h,
            );
        }
        return;
    }
    let q = a.num_heads * a.head_dim;
    let k = a.num_kv_heads * a.head_dim;
    let v = if a.k_eq_v {
        0
    } else {
        a.num_kv_heads * a.v_head_dim
    };
    let q_rows = if a.output_gate == OutputGate::Elementwise {
        2 * q
    } else {
        q
    };
    b.linear("attn.q", Component::Attention, q_rows, h);
    b.linear("attn.k", Component::Attention, k, h);
    b.linear("attn.v", Component::Attention, v, h);
    b.linear(
        "attn.o",
        Component::Attention,
        h,
        a.num_heads * a.v_head_dim,
    );
    if a.output_gate == OutputGate::Headwise {
        b.linear("attn.g", Component::Attention, a.num_heads, h);
    }
    let mut bias = 0;
    if a.qkv_bias {
        bias += q_rows + k + v;
    }
    if a.o_bias {
        bias += h;
    }
    b.vector("attn.bias", Component::Attention, bias);
    let norm = match a.qk_norm {
        QkNorm::None => 0,
        QkNorm::PerHead => 2 * a.head_dim,
        QkNorm::PerLayer => q + k,
    };
    b.vector("attn.qk_norm", Component::Attention, norm);
    if a.sinks {
        b.vector("attn.sinks", Component::Attention, a.num_heads);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_follow_the_checkpoint_naming() {
        let cases = [
            (Naming::Standard, "attn.q", "self_attn.q_proj"),
            (Naming::Mixer, "attn.q", "mixer.q_proj"),
            (Naming::Mixer, "experts.up", "mixer.experts.0.up_proj"),
            (
                Naming::BlockSparseMoe,
                "experts.gate",
                "block_sparse_moe.experts.0.w1",
            ),
            (Naming::Gemma4, "experts.down", "experts.0.down_proj"),
            (
                Naming::FeedForward,
                "shared.up",
                "feed_forward.shared_expert.up_proj",
            ),
            (
                Naming::Standard,
                "shared.down",
                "mlp.shared_expert.down_proj",
            ),
            (Naming::Standard, "linear.qkv", "linear_attn.in_proj_qkv"),
        ];
        for (naming, name, alias) in cases {
            assert!(aliases(name, naming).contains(&alias), "{naming:?} {name}");
        }
        // Gemma-4 keeps its experts out of `mlp.*`, so `mlp*` exclusions miss them.
        assert!(
            !aliases("experts.gate", Naming::Gemma4)
                .iter()
                .any(|a| a.starts_with("mlp"))
        );
        assert!(aliases("no.such.tensor", Naming::Standard).is_empty());
    }

    #[test]
    fn tensor_params_multiply_out() {
        let t = Tensor {
            layer: Some(0),
            name: "experts.up",
            component: Component::RoutedExperts,
            rows: 3,
            cols: 5,
            count: 7,
            quantizable: true,
        };
        assert_eq!(t.params(), 105);
    }
}
