//! Exact counts: parameters (total and active per token), bytes of weights
//! under the model's quantization, KV-cache bytes per token and per layer, and
//! the constant recurrent state of linear-attention and Mamba layers.

use serde::{Deserialize, Serialize};

use super::arch::ModelArch;
use super::tensors::{Component, tensors};

/// Parameter counts of the served language model. Multi-token-prediction
/// layers and the vision tower are reported beside, not in, `total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamCounts {
    /// Every parameter of the served language model (tied embeddings once).
    pub total: u64,
    /// Parameters one token passes through: `total` less the routed experts a
    /// token is not sent to (embedding table and head included).
    pub active: u64,
    /// `active` without the input embedding table (of which a token reads one
    /// row), the convention of OpenAI, Moonshot and NVIDIA model cards; equal to
    /// `active` when the embedding is tied to the head.
    pub active_without_embedding: u64,
    pub embedding: u64,
    pub lm_head: u64,
    pub attention: u64,
    pub indexer: u64,
    /// Linear-attention and Mamba mixers.
    pub mixer: u64,
    pub dense_mlp: u64,
    pub routed_experts: u64,
    pub shared_experts: u64,
    pub router: u64,
    pub moe_latent: u64,
    pub norms: u64,
    /// Multi-token-prediction layers, where countable.
    pub mtp: Option<u64>,
    /// Vision tower and projector, where countable.
    pub vision: Option<u64>,
}

/// KV cache of one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerKv {
    pub layer: u64,
    /// Bytes added per token of context.
    pub bytes_per_token: u64,
    /// The layer keeps at most this many tokens (sliding window, chunk).
    pub window: Option<u64>,
}

impl ModelArch {
    /// Exact parameter counts.
    pub fn params(&self) -> ParamCounts {
        let mut c = ParamCounts {
            total: 0,
            active: 0,
            active_without_embedding: 0,
            embedding: 0,
            lm_head: 0,
            attention: 0,
            indexer: 0,
            mixer: 0,
            dense_mlp: 0,
            routed_experts: 0,
            shared_experts: 0,
            router: 0,
            moe_latent: 0,
            norms: 0,
            mtp: self.mtp.as_ref().and_then(|m| m.params),
            vision: self.vision.as_ref().and_then(|v| v.params),
        };
        for t in tensors(self) {
            let n = t.params();
            c.total = c.total.saturating_add(n);
            let slot = match t.component {
                Component::Embedding => &mut c.embedding,
                Component::LmHead => &mut c.lm_head,
                Component::Attention => &mut c.attention,
                Component::Indexer => &mut c.indexer,
                Component::Mixer => &mut c.mixer,
                Component::DenseMlp => &mut c.dense_mlp,
                Component::RoutedExperts => &mut c.routed_experts,
                Component::SharedExperts => &mut c.shared_experts,
                Component::Router => &mut c.router,
                Component::MoeLatent => &mut c.moe_latent,
                Component::Norm => &mut c.norms,
            };
            *slot = slot.saturating_add(n);
        }
        c.active = c.total - c.routed_experts;
        if let Some(m) = &self.moe
            && m.num_experts > 0
        {
            // Every MoE layer holds `num_experts` identical experts: a token
            // uses `top_k` of them.
            c.active = c
                .active
                .saturating_add((c.routed_experts / m.num_experts).saturating_mul(m.top_k));
        }
        c.active_without_embedding = if self.tie_word_embeddings {
            c.active
        } else {
            c.active.saturating_sub(c.embedding)
        };
        c
    }

    /// Bytes of the served language model's weights, with quantized linear
    /// layers in their stored format (scales included) and everything else in
    /// the model dtype.
    pub fn weight_bytes(&self) -> u64 {
        let q = &self.quantization;
        let dtype = self.dtype.bytes();
        tensors(self)
            .iter()
            .map(|t| {
                let format = if t.component == Component::LmHead {
                    q.lm_head
                } else if t.quantizable {
                    q.format_of(t.name, t.layer)
                } else {
                    super::quant::WeightFormat::Native
                };
                q.tensor_bytes(t, format, dtype)
            })
            .fold(0, u64::saturating_add)
    }

    /// Bytes of the vision tower, kept in the model dtype; `None` when its size
    /// is unknown (and 0 without one).
    pub fn vision_weight_bytes(&self) -> Option<u64> {
        match &self.vision {
            None => Some(0),
            Some(v) => v.params.map(|p| p.saturating_mul(self.dtype.bytes())),
        }
    }

    /// KV cache per layer for a cache type of `kv_dtype_bytes` per element.
    /// Full attention stores K and V of every KV head (MLA: the compressed
    /// latent and the rope key, once for all heads); sparse-attention indexers
    /// add their key; sliding-window and chunked layers keep at most their
    /// window. Linear-attention and Mamba layers hold no per-token cache (see
    /// [`ModelArch::state_bytes_per_sequence`]).
    pub fn kv_layers(&self, kv_dtype_bytes: u64) -> Vec<LayerKv> {
        let mut out = Vec::new();
        let b = kv_dtype_bytes;
        for (i, code) in self.layers.attention.chars().enumerate() {
            let layer = i as u64;
            let indexer = self
                .indexer
                .as_ref()
                .filter(|ix| ix.layers.chars().nth(i) == Some('I'))
                .map(|ix| ix.head_dim.saturating_mul(b))
                .unwrap_or(0);
            if code == 'K' {
                out.extend(self.compressed_kv(i, b, indexer));
                continue;
            }
            let (bytes, window) = match code {
                'F' => {
                    let a = &self.attention;
                    let bytes = match &a.mla {
                        Some(m) => (m.kv_lora_rank + m.qk_rope_head_dim).saturating_mul(b),
                        None => {
                            let kv = self
                                .per_layer
                                .as_ref()
                                .and_then(|p| p.num_kv_heads.get(i).copied())
                                .unwrap_or(a.num_kv_heads);
                            (kv * (a.head_dim + a.v_head_dim)).saturating_mul(b)
                        }
                    };
                    (bytes, None)
                }
                'S' | 'C' => match &self.sliding_window {
                    Some(sw) => {
                        let a = &sw.attention;
                        (
                            (a.num_kv_heads * (a.head_dim + a.v_head_dim)).saturating_mul(b),
                            Some(sw.window),
                        )
                    }
                    None => (0, None),
                },
                _ => (0, None),
            };
            if bytes > 0 || indexer > 0 {
                out.push(LayerKv {
                    layer,
                    bytes_per_token: bytes.saturating_add(indexer),
                    window,
                });
            }
        }
        out
    }

    /// KV cache of compressed-attention layer `i` (DeepSeek-V4): the raw KV
    /// of the window, and one compressed entry (with the indexer's key, of
    /// `indexer` bytes, where the layer has one) per `ratio` tokens, counted
    /// as a share of a token.
    fn compressed_kv(&self, i: usize, b: u64, indexer: u64) -> Vec<LayerKv> {
        let Some(k) = &self.compressed else {
            return Vec::new();
        };
        let layer = i as u64;
        let entry = self.attention.head_dim.saturating_mul(b);
        let mut out = vec![LayerKv {
            layer,
            bytes_per_token: entry,
            window: Some(k.window),
        }];
        let ratio = k.ratio(i);
        if ratio > 0 {
            out.push(LayerKv {
                layer,
                bytes_per_token: entry.saturating_add(indexer).div_ceil(ratio),
                window: None,
            });
        }
        out
    }

    /// KV-cache bytes each token of context adds once every window is full:
    /// the layers without a window (full attention, MLA, indexers).
    pub fn kv_bytes_per_token(&self, kv_dtype_bytes: u64) -> u64 {
        self.kv_layers(kv_dtype_bytes)
            .iter()
            .filter(|l| l.window.is_none())
            .map(|l| l.bytes_per_token)
            .fold(0, u64::saturating_add)
    }

    /// KV-cache bytes per token of the windowed layers, while the context is
    /// shorter than their window.
    pub fn windowed_kv_bytes_per_token(&self, kv_dtype_bytes: u64) -> u64 {
        self.kv_layers(kv_dtype_bytes)
            .iter()
            .filter(|l| l.window.is_some())
            .map(|l| l.bytes_per_token)
            .fold(0, u64::saturating_add)
    }

    /// Exact KV-cache bytes of one sequence of `tokens` tokens (windowed layers
    /// capped at their window; the constant state not included).
    pub fn kv_bytes_for_sequence(&self, tokens: u64, kv_dtype_bytes: u64) -> u64 {
        self.kv_layers(kv_dtype_bytes)
            .iter()
            .map(|l| {
                l.bytes_per_token
                    .saturating_mul(l.window.map_or(tokens, |w| tokens.min(w)))
            })
            .fold(0, u64::saturating_add)
    }

    /// Constant per-sequence state of linear-attention and Mamba layers: the
    /// convolution state (kernel − 1 columns, model dtype) and the recurrent
    /// state (in its own dtype). Zero for pure-attention models.
    pub fn state_bytes_per_sequence(&self) -> u64 {
        let dtype = self.dtype.bytes();
        let mut total = 0;
        if let Some(l) = &self.linear_attention {
            let conv_dim =
                2 * l.num_key_heads * l.key_head_dim + l.num_value_heads * l.value_head_dim;
            let per_layer = conv_dim * l.conv_kernel.saturating_sub(1) * dtype
                + l.num_value_heads * l.key_head_dim * l.value_head_dim * l.state_dtype.bytes();
            total += per_layer * self.count_attention('L');
        }
        if let Some(m) = &self.mamba {
            let inner = m.num_heads * m.head_dim;
            let conv_dim = inner + 2 * m.n_groups * m.state_size;
            let per_layer = conv_dim * m.conv_kernel.saturating_sub(1) * dtype
                + m.num_heads * m.head_dim * m.state_size * m.ssm_state_dtype.bytes();
            total += per_layer * self.count_attention('M');
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::parse_hf_config;

    const TINY_LLAMA: &str = r#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 64,
        "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2,
        "num_hidden_layers": 2, "vocab_size": 100, "max_position_embeddings": 64,
        "torch_dtype": "bfloat16"}"#;

    const TINY_MOE: &str = r#"{"architectures": ["Qwen3MoeForCausalLM"], "hidden_size": 64,
        "intermediate_size": 128, "moe_intermediate_size": 32, "num_experts": 8,
        "num_experts_per_tok": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 16, "num_hidden_layers": 2, "vocab_size": 100,
        "max_position_embeddings": 64, "torch_dtype": "bfloat16"}"#;

    #[test]
    fn counts_by_hand() {
        // Per layer: q 64·64 + k 32·64 + v 32·64 + o 64·64 + MLP 3·128·64 + 2 norms·64.
        let layer = 4096 + 2048 + 2048 + 4096 + 24576 + 128;
        let dense = 100 * 64 * 2 + 2 * layer + 64;
        // MoE layer: same attention + q/k norms (2·16) + router 8·64 + experts 8·3·32·64.
        let moe_layer = 4096 + 2048 + 2048 + 4096 + 32 + 512 + 8 * 3 * 32 * 64 + 128;
        let moe_total = 100 * 64 * 2 + 2 * moe_layer + 64;
        let moe_active = moe_total - 2 * 6 * 3 * 32 * 64;
        let cases = [
            (TINY_LLAMA, dense, dense),
            (TINY_MOE, moe_total, moe_active),
        ];
        for (json, total, active) in cases {
            let a = parse_hf_config(json, None).unwrap();
            let p = a.params();
            assert_eq!((p.total, p.active), (total, active), "{}", a.architecture);
            assert_eq!(p.active_without_embedding, active - 100 * 64);
            assert_eq!(a.weight_bytes(), 2 * total);
        }
    }

    #[test]
    fn quantized_bytes_include_scales() {
        // (quantization_config / hf_quant_config, bytes of one 64×64 linear weight)
        let cases = [
            (
                r#""quantization_config": {"quant_method": "fp8"}"#,
                None,
                4096,
            ),
            (
                r#""quantization_config": {"quant_method": "fp8", "weight_block_size": [32, 32]}"#,
                None,
                4096 + 4 * 4,
            ),
            (
                "",
                Some(r#"{"quantization": {"quant_algo": "NVFP4"}}"#),
                2048 + 64 * 4,
            ),
        ];
        for (qc, hq, per_64x64) in cases {
            let json = if qc.is_empty() {
                TINY_LLAMA.to_string()
            } else {
                TINY_LLAMA.replacen('{', &format!("{{{qc}, "), 1)
            };
            let a = parse_hf_config(&json, hq).unwrap();
            // q and o are 64×64; k and v 32×64 (half of it); MLP 3 of 128×64 (6 halves).
            let linear_per_layer = per_64x64 * (2 + 1 + 6);
            let native = 2 * (100 * 64 * 2 + 2 * 128 + 64);
            assert_eq!(
                a.weight_bytes(),
                2 * linear_per_layer + native,
                "{qc}{hq:?}"
            );
        }
    }

    #[test]
    fn kv_and_state() {
        let a = parse_hf_config(TINY_LLAMA, None).unwrap();
        // 2 layers · 2 KV heads · (16 + 16) · 2 bytes.
        assert_eq!(a.kv_bytes_per_token(2), 2 * 2 * 32 * 2);
        assert_eq!(a.kv_bytes_for_sequence(10, 1), 10 * 2 * 2 * 32);
        assert_eq!(a.windowed_kv_bytes_per_token(2), 0);
        assert_eq!(a.state_bytes_per_sequence(), 0);
        assert_eq!(a.kv_layers(2).len(), 2);
    }
}
