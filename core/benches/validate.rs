//! How fast validation is: the admission webhook and the browser call it on
//! every request and keystroke. `cargo bench -p dgdr-core --bench validate`.

use criterion::{Criterion, criterion_group, criterion_main};
use dgdr_core::gates::default_gates;
use dgdr_core::validate::{DocumentOnly, Options, validate_text};
use std::hint::black_box;

const VALID: &str = include_str!("../../examples/qwen3-32b-h200-vllm.yaml");
const INVALID: &str = include_str!("../../examples/invalid-typos.yaml");
const MOE: &str = include_str!("../../examples/deepseek-r1-64xh200-load.yaml");

fn bench(c: &mut Criterion) {
    let opts = Options::default();
    // Catalogs are parsed once per process; do it before timing.
    let _ = validate_text(VALID, &opts, default_gates());
    c.bench_function("validate/valid (document only)", |b| {
        b.iter(|| validate_text(black_box(VALID), &opts, &DocumentOnly))
    });
    c.bench_function("validate/valid (with catalog gates)", |b| {
        b.iter(|| validate_text(black_box(VALID), &opts, default_gates()))
    });
    c.bench_function("validate/moe load-match (with catalog gates)", |b| {
        b.iter(|| validate_text(black_box(MOE), &opts, default_gates()))
    });
    c.bench_function("validate/invalid, 8 problems (with catalog gates)", |b| {
        b.iter(|| validate_text(black_box(INVALID), &opts, default_gates()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
