//! What an engine can run on a GPU, beyond memory.
//!
//! NVFP4 weights need FP4 tensor cores, which only Blackwell GPUs have.
//! TensorRT-LLM and SGLang refuse NVFP4 checkpoints elsewhere. vLLM runs them
//! on older GPUs weight-only (its Marlin FP4 kernels dequantize to 16 bits).
//! The performance model can time an NVFP4 deployment on any GPU (its
//! tables are rescaled from a kin format), so without this check it would
//! plan deployments that cannot start.

use crate::catalog::system::{SystemSpec, TensorDtype};
use crate::perf::{GemmQuant, QuantConfig};
use crate::spec::Backend;

/// Why `backend` cannot run weights quantized as `quant` on `system`, or
/// `None` when it can (`auto` is never refused: the search skips the
/// backends that cannot).
pub fn unsupported(quant: &QuantConfig, system: &SystemSpec, backend: Backend) -> Option<String> {
    let nvfp4 = quant.gemm == GemmQuant::Nvfp4 || quant.moe == GemmQuant::Nvfp4;
    if !nvfp4 || system.flops(TensorDtype::Fp4).is_some() {
        return None;
    }
    let name = match backend {
        Backend::Trtllm => "TensorRT-LLM",
        Backend::Sglang => "SGLang",
        Backend::Vllm | Backend::Auto => return None,
    };
    Some(format!(
        "{name} runs NVFP4 weights only on GPUs with FP4 tensor cores (Blackwell); {} ({}) has none",
        system.sku, system.display_name
    ))
}

/// The note of a search for backend `auto` that leaves out `refused`
/// (backends [`unsupported`] refuses on `system`).
pub fn auto_skips(refused: &[&str], system: &SystemSpec) -> String {
    format!(
        "backend auto: {} not searched (NVFP4 weights need FP4 tensor cores, which {} lacks)",
        refused.join(", "),
        system.sku
    )
}

/// What to do instead, for messages.
pub const HINT: &str = "use vLLM (it runs NVFP4 weights weight-only on older GPUs), a Blackwell GPU, or an FP8 or 16-bit checkpoint of the model";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::Catalog;
    use crate::catalog::system::lookup;
    use crate::perf::QuantOverrides;

    fn quant(id: &str) -> QuantConfig {
        let m = Catalog::builtin().resolve(id).unwrap();
        QuantConfig::resolve(&m, &QuantOverrides::default())
    }

    #[test]
    fn nvfp4_needs_blackwell_on_trtllm_and_sglang() {
        let fp4 = quant("nvidia/DeepSeek-R1-NVFP4");
        let h200 = lookup("h200_sxm").unwrap();
        let b200 = lookup("b200_sxm").unwrap();
        for b in [Backend::Trtllm, Backend::Sglang] {
            let why = unsupported(&fp4, h200, b).unwrap();
            assert!(
                why.contains("h200_sxm") && why.contains("Blackwell"),
                "{why}"
            );
            assert_eq!(unsupported(&fp4, b200, b), None);
        }
        assert_eq!(unsupported(&fp4, h200, Backend::Vllm), None);
        assert_eq!(unsupported(&fp4, h200, Backend::Auto), None);
        let fp8 = quant("deepseek-ai/DeepSeek-R1");
        assert_eq!(unsupported(&fp8, h200, Backend::Trtllm), None);
    }

    #[test]
    fn the_search_skips_the_backends_that_cannot_run_the_weights() {
        use crate::plan::ConcreteBackend;
        use crate::search::backends_for;
        let fp4 = quant("nvidia/DeepSeek-R1-NVFP4");
        let h200 = lookup("h200_sxm").unwrap();
        let (auto, note) = backends_for(Backend::Auto, h200, &fp4);
        assert_eq!(auto, vec![ConcreteBackend::Vllm]);
        let note = note.unwrap();
        assert!(note.contains("sglang, trtllm not searched"), "{note}");
        let (trt, why) = backends_for(Backend::Trtllm, h200, &fp4);
        assert!(trt.is_empty() && why.is_some());
        let b200 = lookup("b200_sxm").unwrap();
        assert_eq!(backends_for(Backend::Auto, b200, &fp4).0.len(), 3);
    }
}
