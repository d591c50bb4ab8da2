//! Quantization of a deployment: the format of the GEMM weights, of the MoE
//! expert weights and of the KV cache, their names in the perf tables, and
//! their bytes and peak-FLOP dtype for the roofline.

use serde::Serialize;

use super::error::PerfError;
use crate::catalog::model::{Component, KvCacheDtype, ModelArch, WeightFormat, tensors};
use crate::catalog::system::TensorDtype;

/// Storage format of linear (GEMM or expert) weights as deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GemmQuant {
    /// 16-bit weights and activations (bf16/fp16).
    Bf16,
    /// FP8 per-tensor/per-channel weights, FP8 activations.
    Fp8,
    /// FP8 with 128×128 block scales (DeepSeek style).
    Fp8Block,
    /// NVFP4 weights and activations (Blackwell).
    Nvfp4,
    /// MXFP4 weights (gpt-oss style experts).
    Mxfp4,
    /// INT4 weight-only (W4A16, group 128).
    Int4Wo,
}

/// Names accepted by [`GemmQuant::parse`].
pub const GEMM_QUANT_NAMES: &str = "bf16, fp8 (fp8_ootb), fp8_block (mxfp8), nvfp4 (fp4), \
     mxfp4 (w4a16_mxfp4, w4a8_mxfp4_fp8, w4a8_mxfp4_mxfp8), int4_wo (int4, w4a16, w4afp8)";
/// Names accepted by [`KvQuant::parse`].
pub const KV_QUANT_NAMES: &str = "bf16, fp8";

impl GemmQuant {
    /// Reads a name as the calibration CSV and the CLI write it.
    pub fn parse(s: &str) -> Option<GemmQuant> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "bf16" | "bfloat16" | "fp16" | "float16" | "half" | "none" | "native" => {
                GemmQuant::Bf16
            }
            // AI Configurator's mode names are accepted too, each as the
            // format whose weight bytes and tables it shares: its
            // out-of-the-box FP8 is per-tensor FP8, MXFP8 a block-scaled
            // 8-bit format, the W4A8 MXFP4 experts (gpt-oss on TensorRT-LLM)
            // MXFP4 weights, W4AFP8 (DeepSeek on TensorRT-LLM) INT4 weights.
            "fp8" | "float8" | "fp8_per_tensor" | "fp8_per_channel" | "fp8_ootb" => GemmQuant::Fp8,
            "fp8_block" | "fp8-block" | "fp8block" | "mxfp8" => GemmQuant::Fp8Block,
            "nvfp4" | "fp4" => GemmQuant::Nvfp4,
            "mxfp4" | "w4a16_mxfp4" | "w4a8_mxfp4_fp8" | "w4a8_mxfp4_mxfp8" => GemmQuant::Mxfp4,
            "int4_wo" | "int4" | "w4a16" | "int4-wo" | "w4afp8" => GemmQuant::Int4Wo,
            _ => return None,
        })
    }

    /// Like [`GemmQuant::parse`], with an error naming the accepted names.
    pub fn parse_or_err(s: &str, what: &'static str) -> Result<GemmQuant, PerfError> {
        GemmQuant::parse(s).ok_or_else(|| PerfError::UnknownQuant {
            what,
            name: s.to_string(),
            known: GEMM_QUANT_NAMES,
        })
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            GemmQuant::Bf16 => "bf16",
            GemmQuant::Fp8 => "fp8",
            GemmQuant::Fp8Block => "fp8_block",
            GemmQuant::Nvfp4 => "nvfp4",
            GemmQuant::Mxfp4 => "mxfp4",
            GemmQuant::Int4Wo => "int4_wo",
        }
    }

    /// The deployed format of weights stored as `f` in a checkpoint.
    pub fn from_weight_format(f: WeightFormat) -> GemmQuant {
        match f {
            WeightFormat::Native => GemmQuant::Bf16,
            WeightFormat::Fp8 | WeightFormat::Mxfp8 => GemmQuant::Fp8,
            WeightFormat::Fp8Block => GemmQuant::Fp8Block,
            WeightFormat::Nvfp4 => GemmQuant::Nvfp4,
            WeightFormat::Mxfp4 => GemmQuant::Mxfp4,
            WeightFormat::Int4 => GemmQuant::Int4Wo,
        }
    }

    /// The checkpoint format that stores weights deployed in this format.
    pub fn weight_format(self) -> WeightFormat {
        match self {
            GemmQuant::Bf16 => WeightFormat::Native,
            GemmQuant::Fp8 => WeightFormat::Fp8,
            GemmQuant::Fp8Block => WeightFormat::Fp8Block,
            GemmQuant::Nvfp4 => WeightFormat::Nvfp4,
            GemmQuant::Mxfp4 => WeightFormat::Mxfp4,
            GemmQuant::Int4Wo => WeightFormat::Int4,
        }
    }

    /// Bytes per weight, scales included.
    pub fn bytes_per_param(self) -> f64 {
        match self {
            GemmQuant::Bf16 => 2.0,
            GemmQuant::Fp8 => 1.0,
            GemmQuant::Fp8Block => 1.0 + 4.0 / 16384.0,
            GemmQuant::Nvfp4 => 0.5 + 1.0 / 16.0,
            GemmQuant::Mxfp4 => 0.5 + 1.0 / 32.0,
            GemmQuant::Int4Wo => 0.5 + 2.0 / 128.0,
        }
    }

    /// Bytes per activation element entering the GEMM.
    pub fn act_bytes(self) -> f64 {
        match self {
            GemmQuant::Bf16 | GemmQuant::Int4Wo | GemmQuant::Mxfp4 => 2.0,
            GemmQuant::Fp8 | GemmQuant::Fp8Block => 1.0,
            GemmQuant::Nvfp4 => 0.5625,
        }
    }

    /// Tensor-core dtypes whose peak bounds the compute, best first.
    pub fn compute_dtypes(self) -> &'static [TensorDtype] {
        match self {
            GemmQuant::Bf16 | GemmQuant::Int4Wo | GemmQuant::Mxfp4 => {
                &[TensorDtype::Bf16, TensorDtype::Fp16]
            }
            GemmQuant::Fp8 | GemmQuant::Fp8Block => {
                &[TensorDtype::Fp8, TensorDtype::Bf16, TensorDtype::Fp16]
            }
            // Without FP4 tensor cores the only engine that runs NVFP4
            // weights (vLLM's Marlin kernels) dequantizes them to 16 bits.
            GemmQuant::Nvfp4 => &[TensorDtype::Fp4, TensorDtype::Bf16, TensorDtype::Fp16],
        }
    }

    /// GEMM table dtypes measuring exactly this format.
    pub(crate) fn gemm_tables(self) -> &'static [&'static str] {
        match self {
            GemmQuant::Bf16 => &["bfloat16"],
            GemmQuant::Fp8 => &["fp8"],
            GemmQuant::Fp8Block => &["fp8_block"],
            GemmQuant::Nvfp4 => &["nvfp4"],
            GemmQuant::Mxfp4 | GemmQuant::Int4Wo => &[],
        }
    }

    /// GEMM table dtypes of a kin format, rescaled by the roofline ratio.
    pub(crate) fn gemm_kin(self) -> &'static [(&'static str, GemmQuant)] {
        match self {
            GemmQuant::Bf16 => &[],
            GemmQuant::Fp8 => &[
                ("fp8_block", GemmQuant::Fp8Block),
                ("bfloat16", GemmQuant::Bf16),
            ],
            GemmQuant::Fp8Block => &[("fp8", GemmQuant::Fp8), ("bfloat16", GemmQuant::Bf16)],
            GemmQuant::Nvfp4 | GemmQuant::Mxfp4 => &[
                ("fp8", GemmQuant::Fp8),
                ("fp8_block", GemmQuant::Fp8Block),
                ("bfloat16", GemmQuant::Bf16),
            ],
            GemmQuant::Int4Wo => &[("bfloat16", GemmQuant::Bf16)],
        }
    }

    /// MoE table dtypes measuring exactly this format (MXFP4 experts run
    /// with 16-bit activations, or with MXFP8 ones on Blackwell: the same
    /// weights).
    pub(crate) fn moe_tables(self) -> &'static [&'static str] {
        match self {
            GemmQuant::Bf16 => &["bfloat16"],
            GemmQuant::Fp8 => &["fp8"],
            GemmQuant::Fp8Block => &["fp8_block"],
            GemmQuant::Nvfp4 => &["nvfp4"],
            GemmQuant::Mxfp4 => &["w4a16_mxfp4", "w4a8_mxfp4_mxfp8"],
            GemmQuant::Int4Wo => &["int4_wo"],
        }
    }

    /// MoE table dtypes of a kin format, rescaled by the roofline ratio.
    pub(crate) fn moe_kin(self) -> &'static [(&'static str, GemmQuant)] {
        match self {
            GemmQuant::Bf16 => &[],
            GemmQuant::Fp8 => &[
                ("fp8_block", GemmQuant::Fp8Block),
                ("bfloat16", GemmQuant::Bf16),
            ],
            GemmQuant::Fp8Block => &[("fp8", GemmQuant::Fp8), ("bfloat16", GemmQuant::Bf16)],
            GemmQuant::Nvfp4 => &[
                ("fp8_block", GemmQuant::Fp8Block),
                ("fp8", GemmQuant::Fp8),
                ("bfloat16", GemmQuant::Bf16),
            ],
            GemmQuant::Mxfp4 => &[
                ("int4_wo", GemmQuant::Int4Wo),
                ("nvfp4", GemmQuant::Nvfp4),
                ("bfloat16", GemmQuant::Bf16),
            ],
            GemmQuant::Int4Wo => &[
                ("w4a16_mxfp4", GemmQuant::Mxfp4),
                ("bfloat16", GemmQuant::Bf16),
            ],
        }
    }
}

/// KV-cache element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KvQuant {
    Bf16,
    Fp8,
}

impl KvQuant {
    /// Reads `bf16`/`fp16`/`auto`-free names and `fp8`.
    pub fn parse(s: &str) -> Option<KvQuant> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "bf16" | "bfloat16" | "fp16" | "float16" | "half" => KvQuant::Bf16,
            "fp8" | "fp8_e4m3" | "float8" => KvQuant::Fp8,
            _ => return None,
        })
    }

    /// Like [`KvQuant::parse`], with an error naming the accepted names.
    pub fn parse_or_err(s: &str) -> Result<KvQuant, PerfError> {
        KvQuant::parse(s).ok_or_else(|| PerfError::UnknownQuant {
            what: "kv",
            name: s.to_string(),
            known: KV_QUANT_NAMES,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KvQuant::Bf16 => "bf16",
            KvQuant::Fp8 => "fp8",
        }
    }

    pub fn bytes(self) -> u64 {
        match self {
            KvQuant::Bf16 => 2,
            KvQuant::Fp8 => 1,
        }
    }

    /// The name in the attention tables.
    pub(crate) fn table(self) -> &'static str {
        match self {
            KvQuant::Bf16 => "bfloat16",
            KvQuant::Fp8 => "fp8",
        }
    }

    /// Every name the tables give this KV type (SGLang's say `fp8_e4m3`).
    pub(crate) fn table_names(self) -> &'static [&'static str] {
        match self {
            KvQuant::Bf16 => &["bfloat16"],
            KvQuant::Fp8 => &["fp8", "fp8_e4m3"],
        }
    }
}

/// What a request may override; `None` keeps the checkpoint's own format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct QuantOverrides {
    pub gemm: Option<GemmQuant>,
    pub moe: Option<GemmQuant>,
    pub kv: Option<KvQuant>,
}

/// The resolved formats of one deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QuantConfig {
    /// Dense linear layers (attention projections, dense MLP, shared experts).
    pub gemm: GemmQuant,
    /// Routed experts.
    pub moe: GemmQuant,
    pub kv: KvQuant,
}

impl QuantConfig {
    /// The checkpoint's own formats, with the overrides applied. The KV cache
    /// is the checkpoint's calibrated type where it names one, else 16-bit
    /// (every engine's `auto`); an override to FP8 per-tensor or NVFP4 stands
    /// for a ModelOpt checkpoint, which carries an FP8 KV cache.
    pub fn resolve(model: &ModelArch, o: &QuantOverrides) -> QuantConfig {
        let (gemm, moe) = checkpoint_formats(model);
        let kv = match model.quantization.kv_cache {
            Some(KvCacheDtype::Fp8) => KvQuant::Fp8,
            _ => KvQuant::Bf16,
        };
        let gemm_q = o.gemm.unwrap_or(gemm);
        let moe_q = o.moe.or(o.gemm.filter(|_| !model.is_moe())).unwrap_or(moe);
        // Quantizing a checkpoint to FP8 per-tensor or NVFP4 means serving
        // a ModelOpt checkpoint, and those carry an FP8 KV cache.
        let modelopt = |want: Option<GemmQuant>, had: GemmQuant| {
            want.is_some_and(|w| w != had && matches!(w, GemmQuant::Fp8 | GemmQuant::Nvfp4))
        };
        let kv = if modelopt(o.gemm, gemm) || modelopt(o.moe, moe) {
            KvQuant::Fp8
        } else {
            kv
        };
        QuantConfig {
            gemm: gemm_q,
            moe: moe_q,
            kv: o.kv.unwrap_or(kv),
        }
    }
}

/// The deployed formats of a checkpoint's attention/dense weights and of its
/// routed experts (the first quantizable tensor of each kind decides).
pub fn checkpoint_formats(model: &ModelArch) -> (GemmQuant, GemmQuant) {
    let q = &model.quantization;
    let mut gemm = None;
    let mut moe = None;
    for t in tensors(model) {
        if !t.quantizable {
            continue;
        }
        let f = GemmQuant::from_weight_format(q.format_of(t.name, t.layer));
        match t.component {
            Component::RoutedExperts => {
                moe.get_or_insert(f);
            }
            Component::Attention | Component::DenseMlp | Component::Mixer => {
                gemm.get_or_insert(f);
            }
            _ => {}
        }
        if gemm.is_some() && moe.is_some() {
            break;
        }
    }
    let gemm = gemm.unwrap_or(GemmQuant::from_weight_format(q.linear));
    (gemm, moe.unwrap_or(gemm))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for q in [
            GemmQuant::Bf16,
            GemmQuant::Fp8,
            GemmQuant::Fp8Block,
            GemmQuant::Nvfp4,
            GemmQuant::Mxfp4,
            GemmQuant::Int4Wo,
        ] {
            assert_eq!(GemmQuant::parse(q.as_str()), Some(q));
            assert_eq!(GemmQuant::from_weight_format(q.weight_format()), q);
        }
        assert_eq!(GemmQuant::parse("FP4"), Some(GemmQuant::Nvfp4));
        assert_eq!(GemmQuant::parse("int8"), None);
        // AI Configurator's mode names.
        let aic = [
            ("fp8_ootb", GemmQuant::Fp8),
            ("mxfp8", GemmQuant::Fp8Block),
            ("w4a8_mxfp4_fp8", GemmQuant::Mxfp4),
            ("w4a8_mxfp4_mxfp8", GemmQuant::Mxfp4),
            ("w4afp8", GemmQuant::Int4Wo),
        ];
        for (name, want) in aic {
            assert_eq!(GemmQuant::parse(name), Some(want), "{name}");
        }
        assert_eq!(KvQuant::parse("fp8"), Some(KvQuant::Fp8));
        assert!(GemmQuant::parse_or_err("int3", "gemm").is_err());
    }
}
