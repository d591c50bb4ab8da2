//! The distilled op tables agree with op latencies measured on real H100 and
//! H200 GPUs (`bench/gpu/results/`, made with `bench/gpu/measure_ops.py`).
//! The bands are what the committed measurements show; docs/gpu-measurements.md
//! has the full tables (`dgdr calibrate compare-gpu`), with the roofline
//! fallback's agreement beside the tables'.

use dgdr_core::catalog::system::lookup;
use dgdr_core::perf::Calibration;
use dgdr_core::perf::table::PerfDb;
use dgdr_native::calibrate::gpu_compare::{
    Agreement, compare, markdown, read_measurements, roofline_predictor, table_predictor,
};
use dgdr_tests::workspace_root;

const SYSTEMS: [(&str, &str); 2] = [("h100_sxm-x1", "h100_sxm"), ("h200_sxm-x2", "h200_sxm")];

fn agreement(dir: &str, system: &str, backend: &str) -> Vec<Agreement> {
    let measured =
        read_measurements(&workspace_root().join("bench/gpu/results").join(dir)).unwrap();
    assert!(!measured.is_empty(), "no measurements in {dir}");
    let tables = PerfDb::builtin().system(system, backend).unwrap().unwrap();
    let p = table_predictor(tables);
    compare(&measured, &[("tables", &p)])
}

/// The tables and the roofline side by side, as `dgdr calibrate compare-gpu`.
fn with_roofline(dir: &str, system: &str, backend: &str) -> Vec<Agreement> {
    let measured =
        read_measurements(&workspace_root().join("bench/gpu/results").join(dir)).unwrap();
    let tables = PerfDb::builtin().system(system, backend).unwrap().unwrap();
    let t = table_predictor(tables);
    let r = roofline_predictor(lookup(system).unwrap(), Calibration::builtin().roofline);
    compare(&measured, &[("tables", &t), ("roofline", &r)])
}

fn family<'a>(rows: &'a [Agreement], name: &str) -> &'a Agreement {
    by(rows, name, "tables")
}

fn by<'a>(rows: &'a [Agreement], name: &str, predictor: &str) -> &'a Agreement {
    rows.iter()
        .find(|a| a.family == name && a.predictor == predictor)
        .unwrap_or_else(|| panic!("no {name} rows by {predictor}"))
}

#[test]
fn bf16_gemm_tables_match_real_gpus() {
    for (dir, system) in SYSTEMS {
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
    for (dir, system) in SYSTEMS {
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

#[test]
fn roofline_answers_every_measured_op_with_finite_times() {
    for (dir, system) in SYSTEMS {
        let rows = with_roofline(dir, system, "vllm");
        let tables: Vec<&Agreement> = rows.iter().filter(|a| a.predictor == "tables").collect();
        assert!(!tables.is_empty());
        for t in tables {
            let r = by(&rows, &t.family, "roofline");
            assert_eq!(
                r.predicted, r.rows,
                "{system}: roofline on every {}",
                r.family
            );
            for v in [r.median_ratio, r.mdape, r.within_20] {
                assert!(v.is_finite() && v >= 0.0, "{system}: {r:?}");
            }
            assert!(r.median_ratio > 0.0, "{system}: {r:?}");
        }
        let md = markdown(&rows);
        assert!(
            md.lines().next().unwrap().contains("roofline: MdAPE"),
            "the markdown has a roofline column: {md}"
        );
        assert!(!md.contains("NaN") && !md.contains("inf"), "{md}");
    }
}

#[test]
fn roofline_bf16_gemm_is_in_the_right_range() {
    // The roofline is the fallback where no table reaches: it must stay
    // within a factor of two of real GEMMs at the median.
    for (dir, system) in SYSTEMS {
        let rows = with_roofline(dir, system, "vllm");
        let g = by(&rows, "gemm bf16", "roofline");
        assert!(
            g.median_ratio > 0.5 && g.median_ratio < 2.0,
            "{system}: roofline bf16 GEMM median ratio {:.3}",
            g.median_ratio
        );
    }
}
