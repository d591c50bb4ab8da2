//! The distilled op tables agree with op latencies measured on real H100 and
//! H200 GPUs (`bench/gpu/results/`, made with `bench/gpu/measure_ops.py`).
//! The bands are what the committed measurements show; docs/gpu-measurements.md
//! has the full tables (`dgdr calibrate compare-gpu`).

use dgdr_core::perf::table::PerfDb;
use dgdr_native::calibrate::gpu_compare::{Agreement, compare, read_measurements, table_predictor};
use dgdr_tests::workspace_root;

fn agreement(dir: &str, system: &str, backend: &str) -> Vec<Agreement> {
    let measured =
        read_measurements(&workspace_root().join("bench/gpu/results").join(dir)).unwrap();
    assert!(!measured.is_empty(), "no measurements in {dir}");
    let tables = PerfDb::builtin().system(system, backend).unwrap().unwrap();
    let p = table_predictor(tables);
    compare(&measured, &[("tables", &p)])
}

fn family<'a>(rows: &'a [Agreement], name: &str) -> &'a Agreement {
    rows.iter()
        .find(|a| a.family == name)
        .unwrap_or_else(|| panic!("no {name} rows"))
}

#[test]
fn bf16_gemm_tables_match_real_gpus() {
    for (dir, system) in [("h100_sxm-x1", "h100_sxm"), ("h200_sxm-x2", "h200_sxm")] {
        for backend in ["vllm", "trtllm", "sglang"] {
            let rows = agreement(dir, system, backend);
            let g = family(&rows, "gemm bf16");
            assert_eq!(
                g.predicted, g.rows,
                "{system}/{backend}: every GEMM predicted"
            );
            assert!(
                g.mdape < 0.06,
                "{system}/{backend}: bf16 GEMM MdAPE {:.3}",
                g.mdape
            );
        }
    }
}

#[test]
fn attention_tables_match_the_backends_kernels() {
    for (dir, system) in [("h100_sxm-x1", "h100_sxm"), ("h200_sxm-x2", "h200_sxm")] {
        // vLLM's FlashAttention-3 context kernel is what cuDNN's SDPA matches.
        let rows = agreement(dir, system, "vllm");
        let c = family(&rows, "context attention");
        assert!(
            c.mdape < 0.10,
            "{system}: context attention MdAPE {:.3}",
            c.mdape
        );
        let g = family(&rows, "generation attention");
        assert!(
            g.mdape < 0.25,
            "{system}: generation attention MdAPE {:.3}",
            g.mdape
        );
    }
}

#[test]
fn fp8_gemm_tables_include_activation_quantization() {
    // TRT-LLM's fp8 rows time the GEMM with dynamic activation quantization.
    let rows = agreement("h100_sxm-x1", "h100_sxm", "trtllm");
    let g = family(&rows, "gemm fp8 (dynamic act. quant)");
    assert!(g.mdape < 0.20, "fp8 (dynamic) MdAPE {:.3}", g.mdape);
}
