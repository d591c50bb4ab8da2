//! Parse + validate never panics: arbitrary bytes, arbitrary JSON values, and
//! arbitrary values planted at real field paths all give a report or a parse
//! error. The field vocabulary makes the generator reach deep into the spec
//! instead of stopping at the first unknown key.

use dgdr_core::gates::default_gates;
use dgdr_core::validate::{Options, Purpose, validate_text, validate_value};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "labels",
    "annotations",
    "spec",
    "status",
    "model",
    "backend",
    "image",
    "modelCache",
    "pvcName",
    "pvcModelPath",
    "pvcMountPath",
    "hardware",
    "gpuSku",
    "vramMb",
    "totalGpus",
    "numGpusPerNode",
    "interconnect",
    "rdma",
    "minNumGpusPerEngine",
    "maxNumGpusPerEngine",
    "workload",
    "isl",
    "osl",
    "requestRate",
    "concurrency",
    "sla",
    "ttft",
    "itl",
    "e2eLatency",
    "overrides",
    "profilingJob",
    "dgd",
    "features",
    "planner",
    "mocker",
    "enabled",
    "searchStrategy",
    "autoApply",
    "phase",
    "pre_deployment_sweeping_mode",
    "optimization_target",
    "enable_throughput_scaling",
    "enable_load_scaling",
    "load_adjustment_interval",
    "throughput_adjustment_interval",
    "fpm_sample_bucket_size",
    "profilingConfig",
    "config",
    "profilerImage",
    "useMocker",
    "deploymentOverrides",
    "planner_min_endpoint",
    "x",
];

const WORDS: &[&str] = &[
    "nvidia.com/v1beta1",
    "nvidia.com/v1alpha1",
    "DynamoGraphDeploymentRequest",
    "auto",
    "vllm",
    "sglang",
    "trtllm",
    "rapid",
    "thorough",
    "none",
    "sla",
    "throughput",
    "h200_sxm",
    "Qwen/Qwen3-32B",
    "/opt/model-cache",
    "Profiling",
    "",
    "é",
    "a/../b",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (0usize..WORDS.len()).prop_map(|i| json!(WORDS[i])),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(((0usize..KEYS.len()), inner), 0..6).prop_map(|kv| {
                let mut m = Map::new();
                for (k, v) in kv {
                    m.insert(KEYS[k].to_string(), v);
                }
                Value::Object(m)
            }),
        ]
    })
}

fn opts() -> impl Strategy<Value = Options> {
    (any::<bool>(), any::<bool>()).prop_map(|(w, g)| Options {
        purpose: if w { Purpose::WhatIf } else { Purpose::Profile },
        gpu_discovery: g,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_values_give_a_report(v in value(), o in opts()) {
        let verdict = validate_value(&v, &o, default_gates());
        // A verdict without errors must carry a resolved spec, and vice versa.
        prop_assert_eq!(verdict.report.valid, verdict.resolved.is_some());
        prop_assert_eq!(verdict.report.valid, verdict.report.errors.is_empty());
    }

    #[test]
    fn arbitrary_values_under_spec_give_a_report(v in value(), o in opts()) {
        let doc = json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeploymentRequest", "spec": v});
        let _ = validate_value(&doc, &o, default_gates());
        let doc = json!({"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentRequest", "spec": v});
        let _ = validate_value(&doc, &o, default_gates());
    }

    #[test]
    fn arbitrary_text_gives_a_report_or_a_syntax_error(s in ".{0,400}", o in opts()) {
        let _ = validate_text(&s, &o, default_gates());
    }

    #[test]
    fn arbitrary_bytes_give_a_report_or_a_syntax_error(b in prop::collection::vec(any::<u8>(), 0..400)) {
        let s = String::from_utf8_lossy(&b);
        let _ = validate_text(&s, &Options::default(), default_gates());
    }

    #[test]
    fn yaml_made_from_arbitrary_values_gives_a_report(v in value()) {
        if let Ok(text) = serde_yaml_ng::to_string(&v) {
            let _ = validate_text(&text, &Options::default(), default_gates());
        }
    }
}
