//! How fast the performance model is: one engine step composed from the op
//! tables (a dense model, and an MoE model with MLA), one estimate (aggregated and disaggregated), and an estimate of a
//! prepared deployment (what `dgdr estimate --batch` and the calibration fit
//! run per row). `cargo bench -p dgdr-core --bench perf`; the whole
//! calibration file in batch mode is `cargo bench -p dgdr-native --bench batch`.

use criterion::{Criterion, criterion_group, criterion_main};
use dgdr_core::catalog::model::{Catalog, ModelArch};
use dgdr_core::catalog::system::lookup;
use dgdr_core::perf::{
    Calibration, EstimateRequest, Mode, Parallel, Prepared, QuantConfig, QuantOverrides, StepModel,
    StepShape, Worker, estimate,
};
use dgdr_core::spec::Backend;
use std::hint::black_box;

const MODEL: &str = "Qwen/Qwen3-32B";
const SYSTEM: &str = "h200_sxm";

fn model() -> ModelArch {
    Catalog::builtin()
        .resolve(MODEL)
        .expect("Qwen3-32B in the catalog")
}

/// One decode step (64 sequences at 2k tokens of context) and one prefill
/// step (one 4k prompt) of `model_id` on vLLM over `tp` GPUs of `sku`.
fn bench_steps(c: &mut Criterion, model_id: &str, sku: &str, tp: u32) {
    let m = Catalog::builtin()
        .resolve(model_id)
        .expect("the model in the catalog");
    let sys = lookup(sku).expect("the system in the catalog");
    let quant = QuantConfig::resolve(&m, &QuantOverrides::default());
    let step = StepModel::new(
        &m,
        sys,
        Backend::Vllm,
        Parallel::tp(tp),
        quant,
        Calibration::builtin().roofline,
    )
    .expect("a step model");
    let decode = StepShape::decode(64, 2048);
    let prefill = StepShape::prefill(1, 4096);
    assert!(step.step_ms(&decode) > 0.0 && step.step_ms(&prefill) > 0.0);
    let name = model_id.rsplit('/').next().unwrap_or(model_id);
    let mut g = c.benchmark_group(format!("step ({name}, {sku}, vllm, TP{tp})"));
    g.bench_function("decode, batch 64, kv 2048", |b| {
        b.iter(|| step.step_ms(black_box(&decode)))
    });
    g.bench_function("prefill, 1 × 4096", |b| {
        b.iter(|| step.step_ms(black_box(&prefill)))
    });
    g.finish();
}

fn bench_step(c: &mut Criterion) {
    bench_steps(c, MODEL, SYSTEM, 2);
    // A DeepSeek-style model: MoE experts and the MLA module tables, whose
    // decode is checked against the sum of its kernels every step.
    bench_steps(c, "deepseek-ai/DeepSeek-R1", "b200_sxm", 8);
}

fn bench_estimate(c: &mut Criterion) {
    let m = model();
    let sys = lookup(SYSTEM).expect("h200_sxm in the catalog");
    let request = |mode: Mode| EstimateRequest {
        model: &m,
        system: sys,
        backend: Backend::Vllm,
        backend_version: None,
        isl: 4000,
        osl: 500,
        quant: QuantOverrides::default(),
        mode,
        calibration: None,
    };
    let agg = request(Mode::Agg {
        parallel: Parallel::tp(2),
        concurrency: 32,
    });
    let disagg = request(Mode::Disagg {
        prefill: Worker {
            parallel: Parallel::tp(2),
            batch: None,
            workers: Some(2),
        },
        decode: Worker {
            parallel: Parallel::tp(4),
            batch: None,
            workers: Some(1),
        },
        concurrency: Some(64),
    });
    estimate(&agg).expect("agg estimate");
    estimate(&disagg).expect("disagg estimate");

    let mut g = c.benchmark_group("estimate (Qwen3-32B, h200_sxm, vllm, 4000/500)");
    g.bench_function("agg TP2, concurrency 32", |b| {
        b.iter(|| estimate(black_box(&agg)))
    });
    g.bench_function("disagg 2×TP2 prefill + TP4 decode, concurrency 64", |b| {
        b.iter(|| estimate(black_box(&disagg)))
    });
    // Preparing once and estimating many rows is what the batch mode and the
    // calibration fit do.
    let constants = *Calibration::builtin().backend(Backend::Vllm);
    for (name, req) in [("agg", &agg), ("disagg", &disagg)] {
        let p = Prepared::new(req).expect("prepared");
        g.bench_function(format!("{name}, prepared once (estimate_fast)"), |b| {
            b.iter(|| p.estimate_fast(req.isl, req.osl, black_box(&req.mode), &constants))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_step, bench_estimate);
criterion_main!(benches);
