//! How fast the rapid profile is (issue targets: the search and pick of a
//! Qwen3-32B / 8×H200 / vLLM request within 100 ms; a 64-GPU DeepSeek-R1
//! search over every backend within 1 s).
//! `cargo bench -p dgdr-core --bench profile`.

use criterion::{Criterion, criterion_group, criterion_main};
use dgdr_core::catalog::model::Catalog;
use dgdr_core::catalog::system::SystemCatalog;
use dgdr_core::driver::{Inputs, profile};
use dgdr_core::pick::pick;
use dgdr_core::search::{SearchInput, search};
use dgdr_core::spec::{ResolvedSpec, parse_documents};
use dgdr_core::validate::{Options, validate_text};
use std::hint::black_box;
use std::time::Duration;

const QWEN: &str = include_str!("../../examples/qwen3-32b-h200-vllm.yaml");
const DEEPSEEK: &str = include_str!("../../examples/deepseek-r1-64xh200-load.yaml");

fn resolved(yaml: &str) -> ResolvedSpec {
    let v = validate_text(yaml, &Options::default(), dgdr_core::gates::default_gates())
        .expect("example parses");
    v.into_iter()
        .next()
        .and_then(|v| v.resolved)
        .expect("example is valid")
}

fn search_and_pick(c: &mut Criterion, name: &str, yaml: &str) {
    let spec = resolved(yaml);
    let model = Catalog::builtin()
        .resolve(&spec.model)
        .expect("model in catalog");
    let sku = spec.hardware.gpu_sku.clone().expect("gpu named");
    let system = SystemCatalog::builtin()
        .lookup(&sku)
        .expect("gpu in catalog");
    let input = SearchInput::from_spec(&spec, &model, system).expect("a GPU budget");
    c.bench_function(&format!("profile/{name}: search + pick"), |b| {
        b.iter(|| {
            let s = search(black_box(&input)).expect("search");
            pick(&spec, &s).expect("pick")
        })
    });
    let doc = parse_documents(yaml).expect("yaml").remove(0);
    c.bench_function(
        &format!("profile/{name}: whole rapid profile (no plots)"),
        |b| b.iter(|| profile(black_box(&doc), Inputs::default()).expect("profile")),
    );
}

fn bench(c: &mut Criterion) {
    search_and_pick(c, "qwen3-32b 8xh200 vllm", QWEN);
    search_and_pick(c, "deepseek-r1 64xh200 auto load-match", DEEPSEEK);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
