//! The whole rapid profile never panics and never breaks its promises, on
//! any request that passes validation: every catalogued model on every
//! catalogued GPU, budgets from 1 to far beyond a cluster, extreme ISL/OSL
//! and SLA values, planner and mocker on and off, loads from tiny to
//! absurd. Each run either finishes with a plan inside the budget or fails
//! with a message and the fields to change.
//!
//! `PROFILE_FUZZ_CASES=N` runs more cases (default 48: each case is a whole
//! profile, and some models have hundreds of candidates).

// The test harness, not the core, reads the case count from the environment.
#![allow(clippy::disallowed_methods)]

use dgdr_core::catalog::model::Catalog;
use dgdr_core::catalog::system::SystemCatalog;
use dgdr_core::driver::{Inputs, profile};
use dgdr_core::plan::Topology;
use dgdr_core::spec::parse_documents;
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROFILE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

fn models() -> Vec<String> {
    Catalog::builtin().ids().map(str::to_string).collect()
}

fn skus() -> Vec<String> {
    SystemCatalog::builtin()
        .known_skus()
        .map(str::to_string)
        .collect()
}

#[derive(Debug, Clone)]
struct Req {
    model: String,
    sku: String,
    backend: &'static str,
    total: u32,
    per_node: u32,
    isl: u32,
    osl: u32,
    sla: String,
    load: String,
    features: String,
    bounds: String,
}

impl Req {
    fn yaml(&self) -> String {
        format!(
            "apiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeploymentRequest\nmetadata:\n  name: fuzz\nspec:\n  model: {}\n  backend: {}\n  image: nvcr.io/nvidia/ai-dynamo/dynamo-runtime:1.0.0\n  hardware:\n    gpuSku: {}\n    totalGpus: {}\n    numGpusPerNode: {}\n{}  workload:\n    isl: {}\n    osl: {}\n{}  sla:\n{}{}",
            self.model,
            self.backend,
            self.sku,
            self.total,
            self.per_node,
            self.bounds,
            self.isl,
            self.osl,
            self.load,
            self.sla,
            self.features
        )
    }
}

fn req() -> impl Strategy<Value = Req> {
    let models = models();
    let skus = skus();
    (
        (
            prop::sample::select(models),
            prop::sample::select(skus),
            prop::sample::select(vec!["auto", "vllm", "sglang", "trtllm"]),
            prop_oneof![1u32..=16, Just(64u32), Just(4096u32), Just(1_000_000u32)],
            prop::sample::select(vec![1u32, 2, 4, 8, 16]),
        ),
        (
            prop_oneof![1u32..=64, 64u32..=32768, Just(1_000_000u32)],
            prop_oneof![1u32..=16, 16u32..=4096, Just(500_000u32)],
            prop_oneof![
                (0.01f64..100_000.0, 0.01f64..10_000.0)
                    .prop_map(|(t, i)| format!("    ttft: {t}\n    itl: {i}\n")),
                (0.01f64..1e7).prop_map(|e| format!(
                    "    ttft: null\n    itl: null\n    e2eLatency: {e}\n"
                )),
            ],
            prop_oneof![
                Just(String::new()),
                (0.0001f64..1e6).prop_map(|r| format!("    requestRate: {r}\n")),
                (1u32..1_000_000).prop_map(|c| format!("    concurrency: {c}\n")),
            ],
            prop_oneof![
                Just(String::new()),
                Just("  features:\n    mocker:\n      enabled: true\n".to_string()),
                Just(
                    "  features:\n    planner:\n      enable_throughput_scaling: true\n      optimization_target: sla\n"
                        .to_string()
                ),
                Just(
                    "  features:\n    planner:\n      mode: agg\n      enable_load_scaling: true\n      enable_throughput_scaling: false\n"
                        .to_string()
                ),
            ],
            prop_oneof![
                Just(String::new()),
                (1u32..=64, 1u32..=64).prop_map(|(a, b)| format!(
                    "    minNumGpusPerEngine: {}\n    maxNumGpusPerEngine: {}\n",
                    a.min(b),
                    a.max(b)
                )),
            ],
        ),
    )
        .prop_map(
            |((model, sku, backend, total, per_node), (isl, osl, sla, load, features, bounds))| {
                Req {
                    model,
                    sku,
                    backend,
                    total,
                    per_node,
                    isl,
                    osl,
                    sla,
                    load,
                    features,
                    bounds,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn profile_finishes_or_fails_cleanly(r in req()) {
        let yaml = r.yaml();
        let doc = parse_documents(&yaml).expect("generated YAML parses").remove(0);
        match profile(&doc, Inputs::default()) {
            Ok(o) => {
                let total = o.spec.hardware.total_gpus.expect("a budget");
                prop_assert!(o.pick.total_gpus_used <= total, "{} GPUs used of {total}\n{yaml}", o.pick.total_gpus_used);
                let used: u32 = match &o.pick.plan.topology {
                    Topology::Agg { worker } => worker.replicas * worker.config.parallel.gpus().unwrap_or(0),
                    Topology::Disagg { prefill, decode } => {
                        prefill.replicas * prefill.config.parallel.gpus().unwrap_or(0)
                            + decode.replicas * decode.config.parallel.gpus().unwrap_or(0)
                    }
                };
                prop_assert!(used <= total, "the plan adds up to {used} GPUs of {total}\n{yaml}");
                prop_assert!(o.final_config.contains("kind: DynamoGraphDeployment"));
                let a = o.pick.plan.achieved.as_ref().expect("achieved targets");
                prop_assert!(a.ttft_ms.is_finite() && a.itl_ms.is_finite(), "{a:?}\n{yaml}");
                if let Some(d) = &o.profile_data {
                    prop_assert!(d.decode.x_kv_usage.iter().all(|x| (0.0..=1.0).contains(x)));
                    prop_assert!(d.prefill.prefill_ttft.iter().all(|t| t.is_finite() && *t > 0.0));
                }
            }
            Err(f) => {
                prop_assert!(!f.message.is_empty(), "a failure without a message\n{yaml}");
                // A failure names the field to change.
                prop_assert!(
                    f.errors.iter().all(|e| !e.message.is_empty()) && !f.errors.is_empty(),
                    "{:?} failed without a field path: {}\n{yaml}",
                    f.phase,
                    f.message
                );
            }
        }
    }
}
