//! Parsing a HuggingFace `config.json` (and an optional `hf_quant_config.json`)
//! into a [`ModelArch`].
//!
//! Each supported architecture is read by its own function, following the
//! reference implementation of the architecture in HuggingFace `transformers`
//! (or the model's own modelling code where transformers has none). An
//! architecture that cannot be modelled exactly is refused with
//! [`ModelError::UnsupportedArchitecture`], never approximated.

use serde_json::{Map, Value};

use super::arch::{
    Attention, CompressedAttention, DenseMlp, Dtype, Family, Indexer, IndexerKind, KdaGates,
    Layers, LinearAttention, Mamba, Mla, ModelArch, Moe, Mtp, Norms, OutputGate, PerLayer, QkNorm,
    SlidingWindow,
};
use super::error::ModelError;
use super::json::{Cfg, as_u64, parse_lenient};
use super::quant::{Quantization, parse_rules};
use super::tensors::{Naming, layer};
use super::vision::vision;

/// Architectures (`architectures[0]`) the catalog models exactly.
pub const SUPPORTED_ARCHITECTURES: &[&str] = &[
    "DeciLMForCausalLM",
    "DeepseekV32ForCausalLM",
    "DeepseekV3ForCausalLM",
    "DeepseekV4ForCausalLM",
    "Gemma4ForCausalLM",
    "Gemma4ForConditionalGeneration",
    "GlmMoeDsaForCausalLM",
    "GptOssForCausalLM",
    "KimiK25ForConditionalGeneration",
    "KimiK3ForConditionalGeneration",
    "KimiLinearForCausalLM",
    "Llama4ForCausalLM",
    "Llama4ForConditionalGeneration",
    "LlamaForCausalLM",
    "MiMoForCausalLM",
    "MiMoV2FlashForCausalLM",
    "MiniMaxM2ForCausalLM",
    "MiniMaxM3ForCausalLM",
    "MiniMaxM3SparseForConditionalGeneration",
    "MistralForCausalLM",
    "MixtralForCausalLM",
    "NemotronHForCausalLM",
    "Qwen2ForCausalLM",
    "Qwen3ForCausalLM",
    "Qwen3MoeForCausalLM",
    "Qwen3VLForConditionalGeneration",
    "Qwen3VLMoeForConditionalGeneration",
    "Qwen3_5ForConditionalGeneration",
    "Qwen3_5MoeForConditionalGeneration",
    "Step3p7FlashForCausalLM",
];

/// Parses a model's `config.json` text, with its `hf_quant_config.json` text
/// when the checkpoint has one (NVIDIA ModelOpt checkpoints). The returned
/// architecture has an empty `id`: the caller knows where the files came from.
pub fn parse_hf_config(
    config_json: &str,
    hf_quant_config_json: Option<&str>,
) -> Result<ModelArch, ModelError> {
    let root = parse_lenient(config_json, "config.json")?;
    let obj = root
        .as_object()
        .ok_or_else(|| ModelError::invalid("config.json", "must be a JSON object"))?;
    let hq = match hf_quant_config_json {
        Some(t) => Some(parse_lenient(t, "hf_quant_config.json")?),
        None => None,
    };
    parse_value(obj, hq.as_ref())
}

/// [`parse_hf_config`] on parsed JSON.
pub(crate) fn parse_value(
    obj: &Map<String, Value>,
    hf_quant: Option<&Value>,
) -> Result<ModelArch, ModelError> {
    let top = Cfg::new(obj, "");
    let architecture = top
        .strings("architectures")?
        .and_then(|a| a.first().map(|s| s.to_string()))
        .ok_or_else(|| {
            ModelError::invalid(
                "architectures",
                "is missing: config.json must name the model class, e.g. [\"LlamaForCausalLM\"]",
            )
        })?;
    refuse_unsupported(&architecture)?;
    let text_obj = top.object("text_config")?;
    let text = match text_obj {
        Some(t) => Cfg::new(t, "text_config."),
        None => top,
    };
    let mut p = Parsed::new(&architecture, top, text)?;
    let naming = match architecture.as_str() {
        "LlamaForCausalLM" | "MistralForCausalLM" => p.dense(Flavor::Llama)?,
        "Qwen2ForCausalLM" | "MiMoForCausalLM" => p.dense(Flavor::Qwen2)?,
        "Qwen3ForCausalLM" | "Qwen3VLForConditionalGeneration" => p.dense(Flavor::Qwen3)?,
        "Qwen3MoeForCausalLM" | "Qwen3VLMoeForConditionalGeneration" => p.qwen3_moe()?,
        "MixtralForCausalLM" => p.mixtral()?,
        "MiniMaxM2ForCausalLM" => p.minimax_m2()?,
        "MiniMaxM3ForCausalLM" | "MiniMaxM3SparseForConditionalGeneration" => p.minimax_m3()?,
        "DeepseekV3ForCausalLM"
        | "DeepseekV32ForCausalLM"
        | "GlmMoeDsaForCausalLM"
        | "KimiK25ForConditionalGeneration" => p.deepseek()?,
        "DeepseekV4ForCausalLM" => p.deepseek_v4()?,
        "KimiK3ForConditionalGeneration" | "KimiLinearForCausalLM" => p.kimi_linear()?,
        "Qwen3_5ForConditionalGeneration" | "Qwen3_5MoeForConditionalGeneration" => p.qwen3_5()?,
        "NemotronHForCausalLM" => p.nemotron_h()?,
        "GptOssForCausalLM" => p.gpt_oss()?,
        "Gemma4ForConditionalGeneration" | "Gemma4ForCausalLM" => p.gemma4()?,
        "Llama4ForConditionalGeneration" | "Llama4ForCausalLM" => p.llama4()?,
        "MiMoV2FlashForCausalLM" => p.mimo_v2_flash()?,
        "Step3p7FlashForCausalLM" => p.step3p7()?,
        "DeciLMForCausalLM" => p.decilm()?,
        _ => {
            return Err(ModelError::unsupported(
                architecture,
                "internal: supported architecture without a reader",
            ));
        }
    };
    let mut arch = p.finish()?;
    arch.vision = vision(&architecture, top, arch.hidden_size)?;
    if let Some(mut rules) = parse_rules(obj, text_obj, hf_quant)? {
        // DeepSeek-V4 ships its experts in FP4 (`expert_dtype`) beside
        // block-FP8 everything else; a ModelOpt re-quantization says its own.
        if hf_quant.is_none() && top.str("expert_dtype")? == Some("fp4") {
            rules.set_experts(super::quant::WeightFormat::Mxfp4);
        }
        arch.quantization = rules.resolve(&arch, naming);
    }
    if arch.compressed.is_some() && arch.quantization.kv_cache.is_none() {
        // DeepSeek-V4's reference and every engine's kernels for it keep the
        // compressed KV in FP8.
        arch.quantization.kv_cache = Some(super::quant::KvCacheDtype::Fp8);
    }
    Ok(arch)
}

/// Refuses architectures the catalog does not model, saying why.
fn refuse_unsupported(architecture: &str) -> Result<(), ModelError> {
    if SUPPORTED_ARCHITECTURES.contains(&architecture) {
        return Ok(());
    }
    let reason = format!(
        "not one of the architectures dgdr models ({})",
        SUPPORTED_ARCHITECTURES.join(", ")
    );
    Err(ModelError::unsupported(architecture, reason))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// Llama/Mistral: `attention_bias` on q, k, v and o; `mlp_bias`.
    Llama,
    /// Qwen2/MiMo: bias on q, k, v only.
    Qwen2,
    /// Qwen3: per-head q/k norms, `attention_bias` on q, k, v and o.
    Qwen3,
}

/// The architecture being assembled.
struct Parsed<'a> {
    architecture: String,
    top: Cfg<'a>,
    c: Cfg<'a>,
    arch: ModelArch,
    /// MTP parameters can be counted (DeepSeek-style MTP modules).
    mtp_countable: bool,
}

fn layer_code(kind: &str, field: &str) -> Result<char, ModelError> {
    Ok(match kind {
        "full_attention" | "attention" | "global" => 'F',
        "sliding_attention" | "sliding" | "local" => 'S',
        "chunked_attention" => 'C',
        "linear_attention" => 'L',
        "mamba" => 'M',
        other => {
            return Err(ModelError::invalid(
                field,
                format!("has an unknown layer type `{other}`"),
            ));
        }
    })
}

impl<'a> Parsed<'a> {
    fn new(architecture: &str, top: Cfg<'a>, c: Cfg<'a>) -> Result<Self, ModelError> {
        let mut notes = Vec::new();
        let dtype_name = match c.str("torch_dtype")?.or(c.str("dtype")?) {
            Some(d) => Some(d),
            None => top.str("torch_dtype")?.or(top.str("dtype")?),
        };
        let dtype = match dtype_name {
            Some(d) => Dtype::from_hf(d).ok_or_else(|| {
                ModelError::invalid(
                    "torch_dtype",
                    format!("`{d}` is not bfloat16, float16 or float32"),
                )
            })?,
            None => {
                notes.push("config.json gives no dtype: bfloat16 assumed".to_string());
                Dtype::Bf16
            }
        };
        let hidden = c.pos_u64("hidden_size")?;
        let model_type = c
            .str("model_type")?
            .or(top.str("model_type")?)
            .unwrap_or("")
            .to_string();
        let max_pos = c
            .wide_u64("max_position_embeddings")?
            .or(top.wide_u64("max_position_embeddings")?)
            .ok_or_else(|| ModelError::invalid(c.field("max_position_embeddings"), "is missing"))?;
        let heads = c.u64("num_attention_heads")?.unwrap_or(0);
        let attention = Attention::plain(heads, heads, 0);
        let arch = ModelArch {
            id: String::new(),
            architecture: architecture.to_string(),
            model_type,
            family: Family::DenseGqa,
            dtype,
            num_layers: c.u64("num_hidden_layers")?.unwrap_or(0),
            hidden_size: hidden,
            vocab_size: c.pos_u64("vocab_size")?,
            tie_word_embeddings: false,
            max_position_embeddings: max_pos,
            attention,
            sliding_window: None,
            linear_attention: None,
            compressed: None,
            mamba: None,
            indexer: None,
            mlp: None,
            moe: None,
            layers: Layers {
                attention: String::new(),
                mlp: String::new(),
            },
            per_layer: None,
            norms: Norms {
                attention: 1,
                mlp: 1,
                moe_extra: 0,
            },
            mtp: None,
            vision: None,
            quantization: Quantization::none(),
            notes,
        };
        Ok(Parsed {
            architecture: architecture.to_string(),
            top,
            c,
            arch,
            mtp_countable: false,
        })
    }

    fn unsupported(&self, reason: impl Into<String>) -> ModelError {
        ModelError::unsupported(self.architecture.clone(), reason)
    }

    fn note(&mut self, s: impl Into<String>) {
        self.arch.notes.push(s.into());
    }

    fn tie(&mut self, default: bool) -> Result<(), ModelError> {
        self.arch.tie_word_embeddings = match self.c.bool("tie_word_embeddings")? {
            Some(t) => t,
            None => self.top.bool_or("tie_word_embeddings", default)?,
        };
        Ok(())
    }

    fn layers(&self) -> Result<u64, ModelError> {
        self.c.pos_u64("num_hidden_layers")
    }

    /// Grouped-query attention from the usual keys.
    fn gqa(&self) -> Result<Attention, ModelError> {
        let c = self.c;
        let heads = c.pos_u64("num_attention_heads")?;
        let kv = c.u64("num_key_value_heads")?.unwrap_or(heads);
        if kv == 0 || heads % kv != 0 {
            return Err(ModelError::invalid(
                c.field("num_key_value_heads"),
                format!("must divide num_attention_heads ({heads})"),
            ));
        }
        let head_dim = match c.u64("head_dim")? {
            Some(d) => d,
            None => self.arch.hidden_size / heads,
        };
        Ok(Attention::plain(heads, kv, head_dim))
    }

    /// Multi-head latent attention of `heads` heads from the usual keys
    /// (`q_lora_rank` 0 or absent: queries projected directly;
    /// `v_head_dim` required, or else the nope head width).
    fn mla_attention(&self, heads: u64, v_required: bool) -> Result<Attention, ModelError> {
        let c = self.c;
        let q_lora_rank = c.u64("q_lora_rank")?.filter(|r| *r > 0);
        let kv_lora_rank = c.pos_u64("kv_lora_rank")?;
        let qk_rope_head_dim = c.pos_u64("qk_rope_head_dim")?;
        let qk_nope_head_dim = c.pos_u64("qk_nope_head_dim")?;
        let v_head_dim = if v_required {
            c.pos_u64("v_head_dim")?
        } else {
            c.u64_or("v_head_dim", qk_nope_head_dim)?
        };
        let mla = Mla {
            q_lora_rank,
            kv_lora_rank,
            qk_rope_head_dim,
            qk_nope_head_dim,
            v_head_dim,
        };
        let head_dim = mla.qk_nope_head_dim + mla.qk_rope_head_dim;
        Ok(Attention {
            v_head_dim,
            mla: Some(mla),
            ..Attention::plain(heads, heads, head_dim)
        })
    }

    fn all(n: u64, code: char) -> String {
        std::iter::repeat_n(code, usize::try_from(n).unwrap_or(0)).collect()
    }

    /// Attention codes from `layer_types` (trimmed to `n`: some configs append
    /// the MTP layers).
    fn layer_types(&self, n: u64) -> Result<Option<String>, ModelError> {
        let Some(types) = self.c.strings("layer_types")? else {
            return Ok(None);
        };
        let field = self.c.field("layer_types");
        if (types.len() as u64) < n {
            return Err(ModelError::invalid(
                field,
                format!("has {} entries for {n} layers", types.len()),
            ));
        }
        types
            .iter()
            .take(usize::try_from(n).unwrap_or(0))
            .map(|t| layer_code(t, &field))
            .collect::<Result<String, _>>()
            .map(Some)
    }

    /// Sliding window of the usual keys, required when a layer is `S`.
    fn window(&self) -> Result<u64, ModelError> {
        let window = match self.c.wide_u64("sliding_window")? {
            Some(w) => Some(w),
            None => self.c.wide_u64("sliding_window_size")?,
        };
        window.filter(|w| *w > 0).ok_or_else(|| {
            ModelError::invalid(
                self.c.field("sliding_window"),
                "is missing but some layers use sliding-window attention",
            )
        })
    }

    /// Qwen2/Qwen3/MiMo sliding-window rule: layers from `max_window_layers` on
    /// slide when `use_sliding_window` is true.
    fn qwen_sliding(&mut self, n: u64) -> Result<String, ModelError> {
        if let Some(t) = self.layer_types(n)? {
            return Ok(t);
        }
        if self.c.bool_or("use_sliding_window", false)? && self.c.has("sliding_window") {
            let from = self.c.u64_or("max_window_layers", n)?;
            return Ok((0..n).map(|i| if i >= from { 'S' } else { 'F' }).collect());
        }
        Ok(Self::all(n, 'F'))
    }

    fn set_sliding(&mut self, attention: Attention, chunked: bool) -> Result<(), ModelError> {
        if self.arch.layers.attention.contains(['S', 'C']) {
            let window = if chunked {
                self.c
                    .wide_u64("attention_chunk_size")?
                    .filter(|w| *w > 0)
                    .ok_or_else(|| {
                        ModelError::invalid(self.c.field("attention_chunk_size"), "must be > 0")
                    })?
            } else {
                self.window()?
            };
            self.arch.sliding_window = Some(SlidingWindow {
                window,
                chunked,
                attention,
            });
        }
        Ok(())
    }

    fn dense_mlp(&mut self, key: &str, gated: bool, bias: bool) -> Result<(), ModelError> {
        self.arch.mlp = Some(DenseMlp {
            intermediate_size: self.c.pos_u64(key)?,
            gated,
            bias,
        });
        Ok(())
    }

    fn mtp(&mut self, layers: u64) {
        if layers > 0 {
            self.arch.mtp = Some(Mtp {
                layers,
                params: None,
            });
        }
    }

    // ---- architectures ---------------------------------------------------

    fn dense(&mut self, flavor: Flavor) -> Result<Naming, ModelError> {
        let n = self.layers()?;
        let mut att = self.gqa()?;
        let attention_bias = self.c.bool_or("attention_bias", false)?;
        match flavor {
            Flavor::Llama => {
                att.qkv_bias = attention_bias;
                att.o_bias = attention_bias;
            }
            Flavor::Qwen2 => att.qkv_bias = true,
            Flavor::Qwen3 => {
                att.qkv_bias = attention_bias;
                att.o_bias = attention_bias;
                att.qk_norm = QkNorm::PerHead;
            }
        }
        self.arch.layers.attention = match flavor {
            Flavor::Llama if self.arch.architecture == "MistralForCausalLM" => {
                if self.c.has("sliding_window") {
                    Self::all(n, 'S')
                } else {
                    Self::all(n, 'F')
                }
            }
            Flavor::Llama => Self::all(n, 'F'),
            _ => self.qwen_sliding(n)?,
        };
        self.arch.layers.mlp = Self::all(n, 'D');
        let mlp_bias = flavor == Flavor::Llama && self.c.bool_or("mlp_bias", false)?;
        self.dense_mlp("intermediate_size", true, mlp_bias)?;
        self.set_sliding(att.clone(), false)?;
        self.arch.attention = att;
        self.arch.num_layers = n;
        self.tie(false)?;
        self.mtp(self.c.u64_or("num_nextn_predict_layers", 0)?);
        Ok(Naming::Standard)
    }

    fn qwen3_moe(&mut self) -> Result<Naming, ModelError> {
        self.dense(Flavor::Qwen3)?;
        let n = self.arch.num_layers;
        let c = self.c;
        let experts = c.pos_u64("num_experts")?;
        let step = c.u64_or("decoder_sparse_step", 1)?.max(1);
        let mlp_only = c.u64s("mlp_only_layers")?.unwrap_or_default();
        self.arch.layers.mlp = (0..n)
            .map(|i| {
                if !mlp_only.contains(&i) && (i + 1) % step == 0 {
                    'E'
                } else {
                    'D'
                }
            })
            .collect();
        if !self.arch.layers.mlp.contains('D') {
            self.arch.mlp = None;
        }
        let shared = c.u64_or("shared_expert_intermediate_size", 0)?;
        self.arch.moe = Some(Moe {
            num_experts: experts,
            top_k: c.pos_u64("num_experts_per_tok")?,
            expert_intermediate_size: c.pos_u64("moe_intermediate_size")?,
            gated: true,
            expert_bias: false,
            router_bias: false,
            router_scales: false,
            num_shared_experts: u64::from(shared > 0),
            shared_intermediate_size: shared,
            shared_expert_gate: shared > 0,
            latent_size: None,
        });
        Ok(Naming::Standard)
    }

    fn mixtral(&mut self) -> Result<Naming, ModelError> {
        let n = self.layers()?;
        let att = self.gqa()?;
        let c = self.c;
        self.arch.layers.attention = if c.has("sliding_window") {
            Self::all(n, 'S')
        } else {
            Self::all(n, 'F')
        };
        self.arch.layers.mlp = Self::all(n, 'E');
        self.arch.moe = Some(Moe {
            num_experts: c.pos_u64("num_local_experts")?,
            top_k: c.pos_u64("num_experts_per_tok")?,
            expert_intermediate_size: c.pos_u64("intermediate_size")?,
            gated: true,
            expert_bias: false,
            router_bias: false,
            router_scales: false,
            num_shared_experts: 0,
            shared_intermediate_size: 0,
            shared_expert_gate: false,
            latent_size: None,
        });
        self.set_sliding(att.clone(), false)?;
        self.arch.attention = att;
        self.arch.num_layers = n;
        self.tie(false)?;
        Ok(Naming::BlockSparseMoe)
    }

    fn minimax_m2(&mut self) -> Result<Naming, ModelError> {
        let n = self.layers()?;
        let c = self.c;
        if let Some(types) = c.u64s("attn_type_list")?
            && types.iter().any(|t| *t != 1)
        {
            return Err(self.unsupported(
                "lightning (linear) attention layers (`attn_type_list` entries 0) are not modelled",
            ));
        }
        let mut att = self.gqa()?;
        if c.bool_or("use_qk_norm", false)? {
            att.qk_norm = match c.str("qk_norm_type")?.unwrap_or("per_layer") {
                "per_head" => QkNorm::PerHead,
                _ => QkNorm::PerLayer,
            };
        }
        self.arch.layers.attention = Self::all(n, 'F');
        self.arch.layers.mlp = Self::all(n, 'E');
        let shared = c.u64_or("shared_intermediate_size", 0)?;
        let n_shared = if shared > 0 {
            c.u64_or("n_shared_experts", 1)?
        } else {
            0
        };
        self.arch.moe = Some(Moe {
            num_experts: c.pos_u64("num_local_experts")?,
            top_k: c.pos_u64("num_experts_per_tok")?,
            expert_intermediate_size: c.pos_u64("intermediate_size")?,
            gated: true,
            expert_bias: false,
            router_bias: false,
            router_scales: false,
            num_shared_experts: n_shared,
            shared_intermediate_size: shared * n_shared,
            shared_expert_gate: false,
            latent_size: None,
        });
        self.arch.attention = att;
        self.arch.num_layers = n;
        self.tie(false)?;
        if c.bool_or("use_mtp", false)? {
            let modules = c.u64_or("num_mtp_modules", 0)?;
            let per = c.u64_or("mtp_transformer_layers", 1)?;
            self.mtp(modules * per);
        }
        Ok(Naming::BlockSparseMoe)
    }

    fn minimax_m3(&mut self) -> Result<Naming, ModelError> {
        let n = self.layers()?;
        let c = self.c;
        if c.bool_or("attention_output_gate", false)? {
            return Err(self.unsupported("`attention_output_gate: true` is not modelled"));
        }
        let mut att = self.gqa()?;
        if c.bool_or("use_qk_norm", false)? {
            att.qk_norm = match c.str("qk_norm_type")?.unwrap_or("per_head") {
                "per_layer" => QkNorm::PerLayer,
                _ => QkNorm::PerHead,
            };
        }
        self.arch.layers.attention = Self::all(n, 'F');
        let freq = self.per_layer_flags("moe_layer_freq", n)?;
        self.arch.layers.mlp = freq.iter().map(|m| if *m { 'E' } else { 'D' }).collect();
        if self.arch.layers.mlp.contains('D') {
            self.dense_mlp("dense_intermediate_size", true, false)?;
        }
        let n_shared = c.u64_or("n_shared_experts", 0)?;
        let shared = c.u64_or("shared_intermediate_size", 0)?;
        self.arch.moe = Some(Moe {
            num_experts: c.pos_u64("num_local_experts")?,
            top_k: c.pos_u64("num_experts_per_tok")?,
            expert_intermediate_size: match c.u64("moe_intermediate_size")? {
                Some(w) => w,
                None => c.pos_u64("intermediate_size")?,
            },
            gated: true,
            expert_bias: false,
            router_bias: false,
            router_scales: false,
            num_shared_experts: if shared > 0 { n_shared } else { 0 },
            shared_intermediate_size: shared * n_shared,
            shared_expert_gate: false,
            latent_size: None,
        });
        if let Some(sa) = c.object("sparse_attention_config")? {
            let s = Cfg::new(sa, "sparse_attention_config.");
            if s.bool_or("use_sparse_attention", false)? {
                let flags = match s.u64s("sparse_attention_freq")? {
                    Some(f) if f.len() as u64 >= n => f,
                    _ => {
                        return Err(ModelError::invalid(
                            s.field("sparse_attention_freq"),
                            "must give one entry per layer",
                        ));
                    }
                };
                self.arch.indexer = Some(Indexer {
                    kind: IndexerKind::BlockSparse,
                    num_heads: s.pos_u64("sparse_num_index_heads")?,
                    head_dim: s.pos_u64("sparse_index_dim")?,
                    topk: s.u64_or("sparse_topk_blocks", 0)? * s.u64_or("sparse_block_size", 1)?,
                    layers: flags
                        .iter()
                        .take(usize::try_from(n).unwrap_or(0))
                        .map(|f| if *f > 0 { 'I' } else { '-' })
                        .collect(),
                });
            }
        }
        self.arch.attention = att;
        self.arch.num_layers = n;
        self.tie(false)?;
        match c.u64("num_nextn_predict_layers")? {
            Some(k) => {
                if let Some(m) = c.u64("num_mtp_modules")?
                    && m != k
                {
                    self.note(format!(
                        "num_nextn_predict_layers ({k}) and num_mtp_modules ({m}) disagree: \
                         {k} MTP layers recorded"
                    ));
                }
                self.mtp(k);
            }
            None => self.mtp(c.u64_or("num_mtp_modules", 0)?),
        }
        Ok(Naming::BlockSparseMoe)
    }

    /// A per-layer 0/1 list, or a period (`every k-th layer`).
    fn per_layer_flags(&self, key: &str, n: u64) -> Result<Vec<bool>, ModelError> {
        match self.c.get(key) {
            Some(Value::Array(a)) => {
                if (a.len() as u64) < n {
                    return Err(ModelError::invalid(
                        self.c.field(key),
                        format!("has {} entries for {n} layers", a.len()),
                    ));
                }
                a.iter()
                    .take(usize::try_from(n).unwrap_or(0))
                    .map(|v| {
                        as_u64(v).map(|x| x > 0).ok_or_else(|| {
                            ModelError::invalid(self.c.field(key), "must hold 0/1 entries")
                        })
                    })
                    .collect()
            }
            _ => Err(ModelError::invalid(
                self.c.field(key),
                "must be a per-layer list of 0/1",
            )),
        }
    }

    fn deepseek(&mut self) -> Result<Naming, ModelError> {
        let n = self.layers()?;
        let c = self.c;
        if c.bool_or("attention_bias", false)? {
            return Err(self.unsupported("MLA with `attention_bias: true` is not modelled"));
        }
        let heads = c.pos_u64("num_attention_heads")?;
        self.arch.attention = self.mla_attention(heads, true)?;
        self.arch.layers.attention = Self::all(n, 'F');
        // Which layers have experts.
        let experts = c.u64_or("n_routed_experts", 0)?;
        self.arch.layers.mlp = if let Some(types) = c.strings("mlp_layer_types")? {
            if (types.len() as u64) < n {
                return Err(ModelError::invalid(
                    c.field("mlp_layer_types"),
                    "must give one entry per layer",
                ));
            }
            types
                .iter()
                .take(usize::try_from(n).unwrap_or(0))
                .map(|t| match *t {
                    "sparse" | "moe" => Ok('E'),
                    "dense" => Ok('D'),
                    other => Err(ModelError::invalid(
                        c.field("mlp_layer_types"),
                        format!("has an unknown entry `{other}`"),
                    )),
                })
                .collect::<Result<String, _>>()?
        } else {
            let first_dense = c.u64_or("first_k_dense_replace", 0)?;
            let freq = c.u64_or("moe_layer_freq", 1)?.max(1);
            (0..n)
                .map(|i| {
                    if experts > 0 && i >= first_dense && i % freq == 0 {
                        'E'
                    } else {
                        'D'
                    }
                })
                .collect()
        };
        if self.arch.layers.mlp.contains('D') {
            self.dense_mlp("intermediate_size", true, false)?;
        }
        if self.arch.layers.mlp.contains('E') {
            let width = c.pos_u64("moe_intermediate_size")?;
            let shared = c.u64_or("n_shared_experts", 0)?;
            self.arch.moe = Some(Moe::gated_with_shared(
                experts,
                c.pos_u64("num_experts_per_tok")?,
                width,
                shared,
            ));
        }
        if let Some(index_heads) = c.u64("index_n_heads")? {
            let layers = match c.strings("indexer_types")? {
                Some(types) => types
                    .iter()
                    .take(usize::try_from(n).unwrap_or(0))
                    .map(|t| match *t {
                        "full" => Ok('I'),
                        "shared" => Ok('s'),
                        other => Err(ModelError::invalid(
                            c.field("indexer_types"),
                            format!("has an unknown entry `{other}`"),
                        )),
                    })
                    .collect::<Result<String, _>>()?,
                None => Self::all(n, 'I'),
            };
            if self
                .arch
                .attention
                .mla
                .as_ref()
                .and_then(|m| m.q_lora_rank)
                .is_none()
            {
                return Err(self.unsupported("a sparse-attention indexer without `q_lora_rank`"));
            }
            self.arch.indexer = Some(Indexer {
                kind: IndexerKind::Dsa,
                num_heads: index_heads,
                head_dim: c.pos_u64("index_head_dim")?,
                topk: c.wide_u64("index_topk")?.unwrap_or(0),
                layers,
            });
        }
        self.arch.num_layers = n;
        self.tie(false)?;
        self.mtp(c.u64_or("num_nextn_predict_layers", 0)?);
        self.mtp_countable = true;
        Ok(Naming::Standard)
    }

    /// DeepSeek-V4 (reference: the `inference/model.py` of its checkpoints):
    /// compressed attention on every layer, routed experts on every layer
    /// (the first `num_hash_layers` routed by a token-id table), and a
    /// residual stream `hc_mult` hidden sizes wide (hyper-connections).
    fn deepseek_v4(&mut self) -> Result<Naming, ModelError> {
        let n = self.layers()?;
        let c = self.c;
        let heads = c.pos_u64("num_attention_heads")?;
        if c.u64_or("num_key_value_heads", 1)? != 1 {
            return Err(self.unsupported(
                "compressed attention with more than one key/value head is not modelled",
            ));
        }
        let head_dim = c.pos_u64("head_dim")?;
        let o_groups = c.pos_u64("o_groups")?;
        if heads % o_groups != 0 {
            return Err(ModelError::invalid(
                c.field("o_groups"),
                format!("must divide num_attention_heads ({heads})"),
            ));
        }
        let ratios_all = c.u64s("compress_ratios")?.ok_or_else(|| {
            ModelError::invalid(
                c.field("compress_ratios"),
                "is missing: DeepSeek-V4 gives one compression ratio per layer",
            )
        })?;
        if (ratios_all.len() as u64) < n {
            return Err(ModelError::invalid(
                c.field("compress_ratios"),
                format!("has {} entries for {n} layers", ratios_all.len()),
            ));
        }
        // The list also covers the MTP layers, after the decoder layers.
        let ratios: Vec<u64> = ratios_all
            .into_iter()
            .take(usize::try_from(n).unwrap_or(0))
            .collect();
        let window = self.window()?;
        self.arch.attention = Attention {
            sinks: true,
            k_eq_v: true,
            ..Attention::plain(heads, 1, head_dim)
        };
        if let Some(index_heads) = c.u64("index_n_heads")? {
            // The reference gives an indexer to the ratio-4 layers only.
            self.arch.indexer = Some(Indexer {
                kind: IndexerKind::Compressed,
                num_heads: index_heads,
                head_dim: c.pos_u64("index_head_dim")?,
                topk: c.pos_u64("index_topk")?,
                layers: ratios
                    .iter()
                    .map(|r| if *r == 4 { 'I' } else { '-' })
                    .collect(),
            });
        }
        self.arch.compressed = Some(CompressedAttention {
            q_lora_rank: c.pos_u64("q_lora_rank")?,
            o_lora_rank: c.pos_u64("o_lora_rank")?,
            o_groups,
            rope_head_dim: c.pos_u64("qk_rope_head_dim")?,
            window,
            ratios,
            hc_mult: c.u64_or("hc_mult", 1)?.max(1),
        });
        self.arch.layers.attention = Self::all(n, 'K');
        self.arch.layers.mlp = Self::all(n, 'E');
        let width = c.pos_u64("moe_intermediate_size")?;
        let shared = c.u64_or("n_shared_experts", 0)?;
        self.arch.moe = Some(Moe::gated_with_shared(
            c.pos_u64("n_routed_experts")?,
            c.pos_u64("num_experts_per_tok")?,
            width,
            shared,
        ));
        if c.u64_or("num_hash_layers", 0)? > 0 {
            self.note(
                "the token-id → expert tables of the hash-routed layers (`num_hash_layers`) \
                 are integer lookup tables, not counted as parameters",
            );
        }
        self.note(
            "compressor and hyper-connection weights are taken as unquantized (the reference \
             keeps them in higher precision); they are under 1% of the weights",
        );
        self.arch.num_layers = n;
        self.tie(false)?;
        self.mtp(c.u64_or("num_nextn_predict_layers", 0)?);
        Ok(Naming::DeepseekV4)
    }

    /// Kimi-Linear and Kimi-K3 (reference: `modeling_kimi_linear.py`): Kimi
    /// delta attention on the `kda_layers`, MLA (NoPE, optionally with an
    /// output gate) on the `full_attn_layers` (both lists 1-based), dense
    /// MLP before `first_k_dense_replace`, then experts (in a latent space of
    /// `routed_expert_hidden_size` where given), and attention residuals
    /// across blocks of `attn_res_block_size` layers.
    fn kimi_linear(&mut self) -> Result<Naming, ModelError> {
        let n = self.layers()?;
        let c = self.c;
        let la = c.object("linear_attn_config")?.ok_or_else(|| {
            ModelError::invalid(
                c.field("linear_attn_config"),
                "is missing: Kimi-Linear names its delta-attention and full-attention layers there",
            )
        })?;
        let l = Cfg::new(la, "linear_attn_config.");
        let mut codes = vec!['-'; usize::try_from(n).unwrap_or(0)];
        for (key, code) in [("full_attn_layers", 'F'), ("kda_layers", 'L')] {
            for i in l.u64s(key)?.unwrap_or_default() {
                let slot = i
                    .checked_sub(1)
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| codes.get_mut(i))
                    .ok_or_else(|| {
                        ModelError::invalid(
                            l.field(key),
                            format!("names layer {i}, outside 1..={n} (the lists are 1-based)"),
                        )
                    })?;
                *slot = code;
            }
        }
        if codes.contains(&'-') {
            return Err(ModelError::invalid(
                l.field("kda_layers"),
                "with `full_attn_layers` must name every layer",
            ));
        }
        self.arch.layers.attention = codes.into_iter().collect();
        let heads = c.pos_u64("num_attention_heads")?;
        let mut attention = self.mla_attention(heads, false)?;
        if c.bool_or("mla_use_output_gate", false)? {
            attention.output_gate = OutputGate::Elementwise;
        }
        self.arch.attention = attention;
        let kda_heads = l.pos_u64("num_heads")?;
        let kda_dim = l.pos_u64("head_dim")?;
        let state_dtype = match c.str("mamba_ssm_dtype")? {
            Some(d) => Dtype::from_hf(d).ok_or_else(|| {
                ModelError::invalid(c.field("mamba_ssm_dtype"), format!("unknown dtype `{d}`"))
            })?,
            // The engines' KDA kernels keep the recurrent state in fp32.
            None => Dtype::Fp32,
        };
        self.arch.linear_attention = Some(LinearAttention {
            num_key_heads: kda_heads,
            num_value_heads: kda_heads,
            key_head_dim: kda_dim,
            value_head_dim: kda_dim,
            conv_kernel: l.pos_u64("short_conv_kernel_size")?,
            state_dtype,
            kda: Some(KdaGates {
                rank: if l.bool_or("use_full_rank_gate", false)? {
                    None
                } else {
                    Some(kda_dim)
                },
            }),
        });
        let first_dense = c.u64_or("first_k_dense_replace", 0)?;
        let freq = c.u64_or("moe_layer_freq", 1)?.max(1);
        let experts = c.u64_or("num_experts", 0)?;
        self.arch.layers.mlp = (0..n)
            .map(|i| {
                if experts > 0 && i >= first_dense && (i - first_dense) % freq == 0 {
                    'E'
                } else {
                    'D'
                }
            })
            .collect();
        if self.arch.layers.mlp.contains('D') {
            self.dense_mlp("intermediate_size", true, false)?;
        }
        if experts > 0 {
            let width = c.pos_u64("moe_intermediate_size")?;
            let shared = c.u64_or("num_shared_experts", 0)?;
            let top_k = match c.u64("num_experts_per_token")? {
                Some(k) => k,
                None => c.pos_u64("num_experts_per_tok")?,
            };
            let latent = c
                .u64("routed_expert_hidden_size")?
                .filter(|l| *l > 0 && *l != self.arch.hidden_size);
            self.arch.moe = Some(Moe {
                latent_size: latent,
                ..Moe::gated_with_shared(experts, top_k, width, shared)
            });
        }
        if let Some(block) = c.u64("attn_res_block_size")?.filter(|b| *b > 0) {
            // Attention residuals: each sublayer mixes the earlier blocks'
            // outputs with a learned query; one hidden-size vector per
            // sublayer, the config gives no other shape.
            self.arch.norms.attention += 1;
            self.arch.norms.mlp += 1;
            self.note(format!(
                "attention residuals (blocks of {block} layers) counted as one learned query of \
                 the hidden size per sublayer; the config does not give their shapes"
            ));
        }
        self.arch.num_layers = n;
        self.tie(false)?;
        self.mtp(c.u64_or("num_nextn_predict_layers", 0)?);
        Ok(Naming::KimiLinear)
    }

    fn qwen3_5(&mut self) -> Result<Naming, ModelError> {
        let n = self.layers()?;
        let c = self.c;
        let mut att = self.gqa()?;
        att.qk_norm = QkNorm::PerHead;
        if c.bool_or("attn_output_gate", true)? {
            att.output_gate = OutputGate::Elementwise;
        }
        self.arch.layers.attention = match self.layer_types(n)? {
            Some(t) => t,
            None => {
                let every = c.pos_u64("full_attention_interval")?;
                (0..n)
                    .map(|i| if (i + 1) % every == 0 { 'F' } else { 'L' })
                    .collect()
            }
        };
        let state_dtype = match c.str("mamba_ssm_dtype")? {
            Some(d) => Dtype::from_hf(d).ok_or_else(|| {
                ModelError::invalid(c.field("mamba_ssm_dtype"), format!("unknown dtype `{d}`"))
            })?,
            None => self.arch.dtype,
        };
        self.arch.linear_attention = Some(LinearAttention {
            num_key_heads: c.pos_u64("linear_num_key_heads")?,
            num_value_heads: c.pos_u64("linear_num_value_heads")?,
            key_head_dim: c.pos_u64("linear_key_head_dim")?,
            value_head_dim: c.pos_u64("linear_value_head_dim")?,
            conv_kernel: c.pos_u64("linear_conv_kernel_dim")?,
            state_dtype,
            kda: None,
        });
        if c.has("num_experts") {
            let experts = c.pos_u64("num_experts")?;
            let step = c.u64_or("decoder_sparse_step", 1)?.max(1);
            let mlp_only = c.u64s("mlp_only_layers")?.unwrap_or_default();
            self.arch.layers.mlp = (0..n)
                .map(|i| {
                    if !mlp_only.contains(&i) && (i + 1) % step == 0 {
                        'E'
                    } else {
                        'D'
                    }
                })
                .collect();
            if self.arch.layers.mlp.contains('D') {
                self.dense_mlp("intermediate_size", true, false)?;
            }
            let shared = c.u64_or("shared_expert_intermediate_size", 0)?;
            self.arch.moe = Some(Moe {
                num_experts: experts,
                top_k: c.pos_u64("num_experts_per_tok")?,
                expert_intermediate_size: c.pos_u64("moe_intermediate_size")?,
                gated: true,
                expert_bias: false,
                router_bias: false,
                router_scales: false,
                num_shared_experts: u64::from(shared > 0),
                shared_intermediate_size: shared,
                shared_expert_gate: shared > 0,
                latent_size: None,
            });
        } else {
            self.arch.layers.mlp = Self::all(n, 'D');
            self.dense_mlp("intermediate_size", true, false)?;
        }
        self.arch.attention = att;
        self.arch.num_layers = n;
        self.tie(false)?;
        self.mtp(c.u64_or("mtp_num_hidden_layers", 0)?);
        Ok(Naming::Standard)
    }

    fn nemotron_h(&mut self) -> Result<Naming, ModelError> {
        let c = self.c;
        let (attn, mlp): (String, String) = if let Some(p) = c.str("hybrid_override_pattern")? {
            let mut a = String::new();
            let mut m = String::new();
            for ch in p.chars() {
                let (x, y) = match ch {
                    'M' => ('M', '-'),
                    '*' => ('F', '-'),
                    '-' => ('-', 'D'),
                    'E' => ('-', 'E'),
                    other => {
                        return Err(ModelError::invalid(
                            c.field("hybrid_override_pattern"),
                            format!("has an unknown block `{other}`"),
                        ));
                    }
                };
                a.push(x);
                m.push(y);
            }
            (a, m)
        } else if let Some(types) = c.strings("layers_block_type")? {
            let mut a = String::new();
            let mut m = String::new();
            for t in types {
                let (x, y) = match t {
                    "mamba" => ('M', '-'),
                    "attention" => ('F', '-'),
                    "mlp" => ('-', 'D'),
                    "moe" => ('-', 'E'),
                    other => {
                        return Err(ModelError::invalid(
                            c.field("layers_block_type"),
                            format!("has an unknown block `{other}`"),
                        ));
                    }
                };
                a.push(x);
                m.push(y);
            }
            (a, m)
        } else {
            return Err(ModelError::invalid(
                c.field("hybrid_override_pattern"),
                "is missing (and so is `layers_block_type`)",
            ));
        };
        let n = attn.chars().count() as u64;
        if let Some(declared) = c.u64("num_hidden_layers")?
            && declared != n
        {
            return Err(ModelError::invalid(
                c.field("num_hidden_layers"),
                format!("is {declared} but the block pattern has {n} blocks"),
            ));
        }
        let heads = c.pos_u64("num_attention_heads")?;
        let kv = c.u64("num_key_value_heads")?.unwrap_or(heads);
        let head_dim = match c.first_u64(&["head_dim", "attention_head_dim"])? {
            Some(d) => d,
            None => self.arch.hidden_size / heads,
        };
        let bias = c.bool_or("attention_bias", false)?;
        self.arch.attention = Attention {
            qkv_bias: bias,
            o_bias: bias,
            ..Attention::plain(heads, kv, head_dim)
        };
        if attn.contains('M') {
            let ssm_dtype = match c.str("mamba_ssm_cache_dtype")? {
                Some(d) => Dtype::from_hf(d).ok_or_else(|| {
                    ModelError::invalid(
                        c.field("mamba_ssm_cache_dtype"),
                        format!("unknown dtype `{d}`"),
                    )
                })?,
                None => self.arch.dtype,
            };
            let proj_bias = match c.bool("mamba_proj_bias")? {
                Some(b) => b,
                None => c.bool_or("use_bias", false)?,
            };
            self.arch.mamba = Some(Mamba {
                num_heads: c.pos_u64("mamba_num_heads")?,
                head_dim: c.pos_u64("mamba_head_dim")?,
                state_size: c.pos_u64("ssm_state_size")?,
                n_groups: c.u64_or("n_groups", 1)?,
                conv_kernel: c.u64_or("conv_kernel", 4)?,
                conv_bias: c.bool_or("use_conv_bias", true)?,
                proj_bias,
                ssm_state_dtype: ssm_dtype,
            });
        }
        if mlp.contains('D') {
            let bias = c.bool_or("mlp_bias", false)?;
            self.dense_mlp("intermediate_size", false, bias)?;
        }
        if mlp.contains('E') {
            let n_shared = c.u64_or("n_shared_experts", 0)?;
            let shared = c.u64_or("moe_shared_expert_intermediate_size", 0)?;
            self.arch.moe = Some(Moe {
                num_experts: c.pos_u64("n_routed_experts")?,
                top_k: c.pos_u64("num_experts_per_tok")?,
                expert_intermediate_size: c.pos_u64("moe_intermediate_size")?,
                gated: false,
                expert_bias: false,
                router_bias: false,
                router_scales: false,
                num_shared_experts: n_shared,
                shared_intermediate_size: shared * n_shared,
                shared_expert_gate: false,
                latent_size: c.u64("moe_latent_size")?.filter(|l| *l > 0),
            });
        }
        if c.has("sliding_window") {
            return Err(
                self.unsupported("Nemotron-H with sliding-window attention is not modelled")
            );
        }
        self.arch.layers = Layers {
            attention: attn,
            mlp,
        };
        self.arch.num_layers = n;
        self.tie(false)?;
        self.mtp(c.u64_or("num_nextn_predict_layers", 0)?);
        Ok(Naming::Mixer)
    }

    fn gpt_oss(&mut self) -> Result<Naming, ModelError> {
        let n = self.layers()?;
        let c = self.c;
        let mut att = self.gqa()?;
        let bias = c.bool_or("attention_bias", false)?;
        att.qkv_bias = bias;
        att.o_bias = bias;
        att.sinks = true;
        self.arch.layers.attention = self.layer_types(n)?.unwrap_or_else(|| Self::all(n, 'F'));
        self.arch.layers.mlp = Self::all(n, 'E');
        self.arch.moe = Some(Moe {
            num_experts: c.pos_u64("num_local_experts")?,
            top_k: match c.first_u64(&["num_experts_per_tok", "experts_per_token"])? {
                Some(k) => k,
                None => c.pos_u64("num_experts_per_tok")?,
            },
            expert_intermediate_size: c.pos_u64("intermediate_size")?,
            gated: true,
            expert_bias: true,
            router_bias: true,
            router_scales: false,
            num_shared_experts: 0,
            shared_intermediate_size: 0,
            shared_expert_gate: false,
            latent_size: None,
        });
        self.set_sliding(att.clone(), false)?;
        self.arch.attention = att;
        self.arch.num_layers = n;
        self.tie(false)?;
        Ok(Naming::Standard)
    }

    fn gemma4(&mut self) -> Result<Naming, ModelError> {
        let n = self.layers()?;
        let c = self.c;
        if c.u64_or("hidden_size_per_layer_input", 0)? > 0 {
            return Err(
                self.unsupported("per-layer input embeddings (`hidden_size_per_layer_input`)")
            );
        }
        if c.u64_or("num_kv_shared_layers", 0)? > 0 {
            return Err(self.unsupported("KV-cache sharing across layers (`num_kv_shared_layers`)"));
        }
        let mut sliding = self.gqa()?;
        sliding.qk_norm = QkNorm::PerHead;
        let mut full = sliding.clone();
        if let Some(kv) = c.u64("num_global_key_value_heads")? {
            full.num_kv_heads = kv;
        }
        if let Some(d) = c.u64("global_head_dim")? {
            full.head_dim = d;
            full.v_head_dim = d;
        }
        full.k_eq_v = c.bool_or("attention_k_eq_v", false)?;
        let bias = c.bool_or("attention_bias", false)?;
        for a in [&mut full, &mut sliding] {
            a.qkv_bias = bias;
            a.o_bias = bias;
        }
        self.arch.layers.attention = self.layer_types(n)?.unwrap_or_else(|| Self::all(n, 'F'));
        let moe = c.bool_or("enable_moe_block", false)?;
        self.arch.layers.mlp = Self::all(n, if moe { 'B' } else { 'D' });
        self.dense_mlp("intermediate_size", true, false)?;
        if moe {
            self.arch.moe = Some(Moe {
                num_experts: c.pos_u64("num_experts")?,
                top_k: c.pos_u64("top_k_experts")?,
                expert_intermediate_size: match c
                    .first_u64(&["moe_intermediate_size", "expert_intermediate_size"])?
                {
                    Some(w) => w,
                    None => c.pos_u64("moe_intermediate_size")?,
                },
                gated: true,
                expert_bias: false,
                router_bias: false,
                router_scales: true,
                num_shared_experts: 0,
                shared_intermediate_size: 0,
                shared_expert_gate: false,
                latent_size: None,
            });
        }
        self.arch.norms = Norms {
            attention: 2,
            mlp: 2,
            moe_extra: 3,
        };
        self.set_sliding(sliding, false)?;
        self.arch.attention = full;
        self.arch.num_layers = n;
        self.tie(true)?;
        Ok(Naming::Gemma4)
    }

    fn llama4(&mut self) -> Result<Naming, ModelError> {
        let n = self.layers()?;
        let c = self.c;
        let mut att = self.gqa()?;
        let bias = c.bool_or("attention_bias", false)?;
        att.qkv_bias = bias;
        att.o_bias = bias;
        let chunked = c.wide_u64("attention_chunk_size")?.is_some();
        self.arch.layers.attention = if let Some(t) = self.layer_types(n)? {
            t
        } else if !chunked {
            Self::all(n, 'F')
        } else if let Some(rope) = c.u64s("no_rope_layers")?.filter(|r| !r.is_empty()) {
            // 1 = uses RoPE = chunked attention; 0 = NoPE = global attention.
            (0..usize::try_from(n).unwrap_or(0))
                .map(|i| {
                    if rope.get(i).copied().unwrap_or(1) > 0 {
                        'C'
                    } else {
                        'F'
                    }
                })
                .collect()
        } else {
            let every = c.u64_or("no_rope_layer_interval", 4)?.max(1);
            (0..n)
                .map(|i| if (i + 1) % every != 0 { 'C' } else { 'F' })
                .collect()
        };
        let moe_layers: Vec<u64> = match c.u64s("moe_layers")? {
            Some(l) => l,
            None => {
                let step = c.u64_or("interleave_moe_layer_step", 1)?.max(1);
                (0..n).filter(|i| (i + 1) % step == 0).collect()
            }
        };
        self.arch.layers.mlp = (0..n)
            .map(|i| if moe_layers.contains(&i) { 'E' } else { 'D' })
            .collect();
        if self.arch.layers.mlp.contains('D') {
            self.dense_mlp("intermediate_size_mlp", true, false)?;
        }
        let width = c.pos_u64("intermediate_size")?;
        self.arch.moe = Some(Moe {
            num_experts: c.pos_u64("num_local_experts")?,
            top_k: c.pos_u64("num_experts_per_tok")?,
            expert_intermediate_size: width,
            gated: true,
            expert_bias: false,
            router_bias: false,
            router_scales: false,
            num_shared_experts: 1,
            shared_intermediate_size: width,
            shared_expert_gate: false,
            latent_size: None,
        });
        self.set_sliding(att.clone(), true)?;
        self.arch.attention = att;
        self.arch.num_layers = n;
        self.tie(false)?;
        Ok(Naming::FeedForward)
    }

    fn mimo_v2_flash(&mut self) -> Result<Naming, ModelError> {
        let n = self.layers()?;
        let c = self.c;
        let mut full = self.gqa()?;
        full.v_head_dim = c.u64_or("v_head_dim", full.head_dim)?;
        full.sinks = c.bool_or("add_full_attention_sink_bias", false)?;
        let swa_heads = c.u64_or("swa_num_attention_heads", full.num_heads)?;
        let swa_head_dim = c.u64_or("swa_head_dim", full.head_dim)?;
        let sliding = Attention {
            num_heads: swa_heads,
            num_kv_heads: c.u64_or("swa_num_key_value_heads", full.num_kv_heads)?,
            head_dim: swa_head_dim,
            v_head_dim: c.u64_or("swa_v_head_dim", swa_head_dim)?,
            sinks: c.bool_or("add_swa_attention_sink_bias", false)?,
            ..full.clone()
        };
        let pattern = self.per_layer_flags("hybrid_layer_pattern", n)?;
        self.arch.layers.attention = pattern.iter().map(|s| if *s { 'S' } else { 'F' }).collect();
        let moe = self.per_layer_flags("moe_layer_freq", n)?;
        self.arch.layers.mlp = moe.iter().map(|m| if *m { 'E' } else { 'D' }).collect();
        if self.arch.layers.mlp.contains('D') {
            self.dense_mlp("intermediate_size", true, false)?;
        }
        let width = c.pos_u64("moe_intermediate_size")?;
        let shared = c.u64_or("n_shared_experts", 0)?;
        self.arch.moe = Some(Moe::gated_with_shared(
            c.pos_u64("n_routed_experts")?,
            c.pos_u64("num_experts_per_tok")?,
            width,
            shared,
        ));
        self.set_sliding(sliding, false)?;
        self.arch.attention = full;
        self.arch.num_layers = n;
        self.tie(false)?;
        self.mtp(c.u64_or("num_nextn_predict_layers", 0)?);
        Ok(Naming::Standard)
    }

    fn step3p7(&mut self) -> Result<Naming, ModelError> {
        let n = self.layers()?;
        let c = self.c;
        let mut att = self.gqa()?;
        att.qk_norm = QkNorm::PerHead;
        att.output_gate = OutputGate::Headwise;
        self.note(
            "Step-3.7 attention has per-head q/k norms and a head-wise output gate \
             (`g_proj`), as in the transformers step3p7 implementation",
        );
        self.arch.layers.attention = self.layer_types(n)?.unwrap_or_else(|| Self::all(n, 'F'));
        let mut sliding = att.clone();
        if let Some(h) = c.u64("num_sliding_attention_heads")? {
            sliding.num_heads = h;
        }
        let first_dense = c.u64_or("first_k_dense_replace", 3)?;
        self.arch.layers.mlp = (0..n)
            .map(|i| if i < first_dense { 'D' } else { 'E' })
            .collect();
        if first_dense > 0 {
            self.dense_mlp("intermediate_size", true, false)?;
        }
        let n_shared = c.u64_or("n_shared_experts", 1)?;
        let shared = c.u64_or("share_expert_dim", 0)?;
        self.arch.moe = Some(Moe {
            num_experts: match c.first_u64(&["num_experts", "n_routed_experts"])? {
                Some(e) => e,
                None => c.pos_u64("num_experts")?,
            },
            top_k: c.pos_u64("num_experts_per_tok")?,
            expert_intermediate_size: c.pos_u64("moe_intermediate_size")?,
            gated: true,
            expert_bias: false,
            router_bias: false,
            router_scales: false,
            num_shared_experts: if shared > 0 { n_shared } else { 0 },
            shared_intermediate_size: shared * n_shared,
            shared_expert_gate: false,
            latent_size: None,
        });
        self.set_sliding(sliding, false)?;
        self.arch.attention = att;
        self.arch.num_layers = n;
        self.tie(false)?;
        self.mtp(c.u64_or("num_nextn_predict_layers", 0)?);
        Ok(Naming::Standard)
    }

    fn decilm(&mut self) -> Result<Naming, ModelError> {
        let n = self.layers()?;
        let c = self.c;
        let h = self.arch.hidden_size;
        let heads = c.pos_u64("num_attention_heads")?;
        let blocks = c.array("block_configs")?.ok_or_else(|| {
            ModelError::invalid(
                c.field("block_configs"),
                "is missing: DeciLM needs per-layer blocks",
            )
        })?;
        if blocks.len() as u64 != n {
            return Err(ModelError::invalid(
                c.field("block_configs"),
                format!("has {} blocks for {n} layers", blocks.len()),
            ));
        }
        let mut attn = String::new();
        let mut mlp = String::new();
        let mut kv_heads = Vec::new();
        let mut widths = Vec::new();
        for (i, b) in blocks.iter().enumerate() {
            let field = format!("{}block_configs[{i}]", c.prefix);
            let obj = b
                .as_object()
                .ok_or_else(|| ModelError::invalid(&field, "must be an object"))?;
            let bc = Cfg::new(obj, "");
            let a = bc
                .object("attention")?
                .ok_or_else(|| ModelError::invalid(&field, "has no `attention`"))?;
            let a = Cfg::new(a, "");
            let f = bc
                .object("ffn")?
                .ok_or_else(|| ModelError::invalid(&field, "has no `ffn`"))?;
            let f = Cfg::new(f, "");
            for (cfg, part) in [(a, "attention"), (f, "ffn")] {
                if cfg.has("sparsify") || cfg.has("num_sink_tokens") || cfg.has("window_length") {
                    return Err(self.unsupported(format!(
                        "{field}.{part} uses sparsity, sink tokens or a window, which are not modelled"
                    )));
                }
            }
            if a.bool_or("no_op", false)? {
                attn.push('-');
                kv_heads.push(0);
            } else if a.bool_or("replace_with_linear", false)? {
                attn.push('X');
                kv_heads.push(0);
            } else {
                let group = a.pos_u64("n_heads_in_group")?;
                if heads % group != 0 {
                    return Err(ModelError::invalid(
                        format!("{field}.attention.n_heads_in_group"),
                        format!("must divide num_attention_heads ({heads})"),
                    ));
                }
                attn.push('F');
                kv_heads.push(heads / group);
            }
            if f.bool_or("no_op", false)? {
                mlp.push('-');
                widths.push(0);
            } else if f.bool_or("replace_with_linear", false)? {
                mlp.push('X');
                widths.push(0);
            } else {
                let mult = f.f64("ffn_mult")?.ok_or_else(|| {
                    ModelError::invalid(format!("{field}.ffn.ffn_mult"), "is missing")
                })?;
                // DeciLM: find_multiple(int(2 * ffn_mult * hidden / 3), 256).
                let raw = (2.0 * mult * h as f64 / 3.0).floor();
                if !(raw.is_finite() && raw > 0.0 && raw <= super::arch::MAX_WIDTH as f64) {
                    return Err(ModelError::invalid(
                        format!("{field}.ffn.ffn_mult"),
                        "must be a positive number",
                    ));
                }
                let width = (raw as u64).div_ceil(256) * 256;
                mlp.push('D');
                widths.push(width);
            }
        }
        let first_kv = kv_heads.iter().copied().find(|k| *k > 0).unwrap_or(heads);
        let bias = c.bool_or("attention_bias", false)?;
        self.arch.attention = Attention {
            qkv_bias: bias,
            o_bias: bias,
            ..Attention::plain(heads, first_kv, h / heads)
        };
        self.arch.mlp = Some(DenseMlp {
            intermediate_size: widths.iter().copied().max().unwrap_or(0),
            gated: true,
            bias: c.bool_or("mlp_bias", false)?,
        });
        self.arch.per_layer = Some(PerLayer {
            num_kv_heads: kv_heads,
            intermediate_size: widths,
        });
        self.arch.layers = Layers {
            attention: attn,
            mlp,
        };
        self.arch.num_layers = n;
        self.tie(false)?;
        Ok(Naming::Standard)
    }

    /// Checks the assembled facts and settles the family.
    fn finish(mut self) -> Result<ModelArch, ModelError> {
        let n = usize::try_from(self.arch.num_layers).unwrap_or(0);
        let a = &self.arch;
        if a.layers.attention.chars().count() != n || a.layers.mlp.chars().count() != n {
            return Err(ModelError::invalid(
                self.c.field("num_hidden_layers"),
                "does not match the per-layer pattern",
            ));
        }
        if a.layers.mlp.contains(['E', 'B']) && a.moe.is_none() {
            return Err(ModelError::invalid(
                "num_experts",
                "is missing for MoE layers",
            ));
        }
        if let Some(m) = &a.moe
            && (m.top_k > m.num_experts || m.num_experts == 0)
        {
            return Err(ModelError::invalid(
                self.c.field("num_experts_per_tok"),
                format!(
                    "({}) must be between 1 and the number of experts ({})",
                    m.top_k, m.num_experts
                ),
            ));
        }
        if let Some(ix) = &a.indexer
            && ix.layers.chars().count() != n
        {
            return Err(ModelError::invalid(
                self.c.field("indexer_types"),
                "must give one entry per layer",
            ));
        }
        self.arch.family = if self.arch.compressed.is_some() {
            Family::CompressedMoe
        } else if self.arch.mamba.is_some() {
            Family::HybridMamba
        } else if self.arch.linear_attention.is_some() {
            Family::HybridLinearAttention
        } else if self.arch.attention.mla.is_some() && self.arch.moe.is_some() {
            Family::MlaMoe
        } else if self.arch.moe.is_some() {
            Family::GqaMoe
        } else if self.arch.attention.num_kv_heads == self.arch.attention.num_heads
            && self.arch.per_layer.is_none()
        {
            Family::DenseMha
        } else {
            Family::DenseGqa
        };
        self.arch.check_bounds()?;
        if self.mtp_countable {
            // A DeepSeek MTP module: one decoder layer like the last one, plus
            // `eh_proj` (2h → h) and three norms (enorm, hnorm, shared head).
            let h = self.arch.hidden_size;
            let last = self.arch.num_layers.saturating_sub(1);
            let block: u64 = layer(&self.arch, last)
                .iter()
                .map(|t| t.params())
                .fold(0, u64::saturating_add);
            if let Some(mtp) = self.arch.mtp.as_mut() {
                mtp.params = Some(mtp.layers.saturating_mul(block + 2 * h * h + 3 * h));
            }
        }
        Ok(self.arch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn llama(extra: &str) -> String {
        format!(
            r#"{{"architectures": ["LlamaForCausalLM"], "model_type": "llama",
               "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
               "num_key_value_heads": 8, "num_hidden_layers": 32, "vocab_size": 128256,
               "max_position_embeddings": 131072, "torch_dtype": "bfloat16"{extra}}}"#
        )
    }

    #[test]
    fn llama_facts() {
        let a = parse_hf_config(&llama(""), None).unwrap();
        assert_eq!(a.family, Family::DenseGqa);
        assert_eq!(a.num_layers, 32);
        assert_eq!(a.attention.head_dim, 128);
        assert_eq!(a.attention.num_kv_heads, 8);
        assert_eq!(a.layers.attention, "F".repeat(32));
        assert_eq!(a.mlp.as_ref().unwrap().intermediate_size, 14336);
        assert!(!a.quantization.is_quantized());
        assert!(a.notes.is_empty(), "{:?}", a.notes);
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let cases: Vec<(String, &str)> = vec![
            ("{".into(), "not valid JSON"),
            ("[1]".into(), "must be a JSON object"),
            (r#"{"hidden_size": 1}"#.into(), "architectures"),
            (
                r#"{"architectures": ["FooForCausalLM"], "hidden_size": 8, "vocab_size": 8,
                   "max_position_embeddings": 8}"#
                    .into(),
                "unsupported architecture FooForCausalLM",
            ),
            (
                r#"{"architectures": ["KimiK3ForConditionalGeneration"], "hidden_size": 8,
                   "vocab_size": 8, "max_position_embeddings": 8, "num_hidden_layers": 2}"#
                    .into(),
                "`linear_attn_config` is missing",
            ),
            (llama(r#", "num_key_value_heads": 5"#), "must divide"),
            (
                llama("").replace(r#""vocab_size": 128256,"#, ""),
                "`vocab_size` is missing",
            ),
            (
                llama(r#", "quantization_config": {"quant_method": "awq"}"#),
                "unsupported quantization `awq`",
            ),
        ];
        for (json, needle) in cases {
            let err = parse_hf_config(&json, None).unwrap_err();
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
        }
    }

    #[test]
    fn implausible_sizes_are_refused() {
        let cases = [
            (llama(r#", "hidden_size": 262144"#), "hidden_size"),
            (llama(r#", "vocab_size": 4294967296"#), "vocab_size"),
            (
                llama(r#", "num_hidden_layers": 100000"#),
                "num_hidden_layers",
            ),
        ];
        for (json, field) in cases {
            let err = parse_hf_config(&json, None).unwrap_err();
            assert!(
                err.to_string().contains(field) && err.to_string().contains("implausibly"),
                "{err}"
            );
        }
        // Long contexts are fine: they are compared, never multiplied.
        let a =
            parse_hf_config(&llama(r#", "max_position_embeddings": 100000000000"#), None).unwrap();
        assert_eq!(a.max_position_embeddings, 100_000_000_000);
    }

    /// Keys the readers use, planted with arbitrary values.
    const KEYS: &[&str] = &[
        "hidden_size",
        "intermediate_size",
        "num_attention_heads",
        "num_key_value_heads",
        "num_hidden_layers",
        "vocab_size",
        "max_position_embeddings",
        "head_dim",
        "num_experts",
        "num_experts_per_tok",
        "moe_intermediate_size",
        "n_routed_experts",
        "n_shared_experts",
        "num_local_experts",
        "first_k_dense_replace",
        "moe_layer_freq",
        "q_lora_rank",
        "kv_lora_rank",
        "qk_rope_head_dim",
        "qk_nope_head_dim",
        "v_head_dim",
        "index_n_heads",
        "index_head_dim",
        "layer_types",
        "sliding_window",
        "full_attention_interval",
        "linear_num_key_heads",
        "linear_num_value_heads",
        "linear_key_head_dim",
        "linear_value_head_dim",
        "linear_conv_kernel_dim",
        "hybrid_override_pattern",
        "mamba_num_heads",
        "mamba_head_dim",
        "ssm_state_size",
        "n_groups",
        "moe_latent_size",
        "moe_shared_expert_intermediate_size",
        "shared_expert_intermediate_size",
        "global_head_dim",
        "num_global_key_value_heads",
        "enable_moe_block",
        "top_k_experts",
        "attention_chunk_size",
        "interleave_moe_layer_step",
        "intermediate_size_mlp",
        "hybrid_layer_pattern",
        "block_configs",
        "decoder_sparse_step",
        "mlp_only_layers",
        "tie_word_embeddings",
        "quantization_config",
        "text_config",
        "vision_config",
        "dense_intermediate_size",
        "shared_intermediate_size",
    ];

    fn arbitrary_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (0u64..300).prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "[a-z_*ME-]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Whatever a config holds, parsing gives an architecture or an error,
        /// and the arithmetic on a parsed architecture never panics.
        #[test]
        fn arbitrary_configs_never_panic(
            arch in proptest::sample::select(SUPPORTED_ARCHITECTURES),
            planted in proptest::collection::vec(
                (proptest::sample::select(KEYS), arbitrary_value()), 0..8),
            base in proptest::bool::ANY,
        ) {
            let mut obj: Map<String, Value> = if base {
                serde_json::from_str(&llama("")).unwrap()
            } else {
                Map::new()
            };
            obj.insert("architectures".into(), Value::from(vec![arch]));
            for (k, v) in planted {
                obj.insert(k.to_string(), v);
            }
            let text = Value::Object(obj).to_string();
            if let Ok(a) = parse_hf_config(&text, None) {
                let p = a.params();
                proptest::prop_assert!(p.active <= p.total);
                let _ = a.weight_bytes();
                let _ = a.kv_bytes_for_sequence(u64::MAX, u64::MAX);
                let _ = a.kv_bytes_per_token(u64::MAX);
                let _ = a.state_bytes_per_sequence();
            }
        }
    }

    #[test]
    fn missing_dtype_is_noted() {
        let a = parse_hf_config(
            &llama("").replace(r#", "torch_dtype": "bfloat16""#, ""),
            None,
        )
        .unwrap();
        assert_eq!(a.dtype, Dtype::Bf16);
        assert!(a.notes.iter().any(|n| n.contains("no dtype")));
    }

    #[test]
    fn fp8_block_quantization_is_read() {
        let a = parse_hf_config(
            &llama(
                r#", "quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128],
                    "modules_to_not_convert": ["model.layers.0.self_attn"]}"#,
            ),
            None,
        )
        .unwrap();
        let q = &a.quantization;
        assert_eq!(q.method, "fp8_block");
        assert_eq!(q.fp8_block, Some([128, 128]));
        assert_eq!(
            q.format_of("attn.q", Some(0)),
            super::super::quant::WeightFormat::Native
        );
        assert_eq!(
            q.format_of("attn.q", Some(1)),
            super::super::quant::WeightFormat::Fp8Block
        );
    }

    #[test]
    fn hf_quant_config_wins_and_gives_kv_dtype() {
        let hq = r#"{"quantization": {"quant_algo": "NVFP4", "kv_cache_quant_algo": "FP8",
                     "group_size": 16, "exclude_modules": ["lm_head"]}}"#;
        let a = parse_hf_config(&llama(""), Some(hq)).unwrap();
        assert_eq!(a.quantization.method, "nvfp4");
        assert_eq!(
            a.quantization.kv_cache,
            Some(super::super::quant::KvCacheDtype::Fp8)
        );
    }
}
