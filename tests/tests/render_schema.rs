//! Rendered deployments against the real DGD CRD, the SPEC §9 bugs checked
//! one by one, and golden `final_config.yaml` files.
//!
//! - Every combination of backend × agg/disagg × planner (none, load-only,
//!   throughput) × mocker × model-cache PVC, plus multinode, attention-DP,
//!   pipeline-parallel, engine-option and overrides cases, is rendered and
//!   assembled. Every DGD is validated against the `v1alpha1` OpenAPI schema
//!   of `dynamo/crds/nvidia.com_dynamographdeployments.yaml` (converted to
//!   JSON Schema, see [`convert_schema`]), every ConfigMap against
//!   `tests/schemas/configmap.v1.json`.
//! - `tests/schemas/dynamographdeployment.v1alpha1.json` is the converted
//!   schema, committed so the test runs without `../shared`; when `../shared`
//!   is there, the test checks the copy is current.
//! - Goldens: `tests/corpus/render/<name>.yaml`, byte for byte.
//!
//! Regenerate the schema copy and the goldens after an intended change:
//!
//! ```sh
//! UPDATE_GOLDEN=1 cargo test -p dgdr-tests --test render_schema
//! ```

use dgdr_core::assemble::{AssembleError, Assembled, assemble};
use dgdr_core::catalog::model::KvCacheDtype;
use dgdr_core::diag::Diagnostics;
use dgdr_core::plan::{
    AchievedTargets, ConcreteBackend, DecodeProfile, DeploymentPlan, Engine, EngineConfig,
    Parallel, PrefillProfile, ProfileData, Topology,
};
use dgdr_core::render::render_dgd;
use dgdr_core::spec::{ResolvedSpec, read_document, resolve};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

const SCHEMA_FILE: &str = dgdr_tests::schema::DGD_FILE;
const CRD_FILE: &str = "dynamo/crds/nvidia.com_dynamographdeployments.yaml";
const PER_NODE: u32 = 8;

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------
// The schema: CRD (OpenAPI v3, structural) → JSON Schema draft 7.

/// Converts one node of a Kubernetes structural schema to JSON Schema.
///
/// What validation needs, and what it does not:
/// - `description` is dropped (it is most of the CRD's size and validates
///   nothing).
/// - `x-kubernetes-int-or-string` already comes with `anyOf: [integer,
///   string]`; the marker is dropped (an `anyOf` is added if missing).
/// - `nullable: true` becomes a `null` alternative in `type`.
/// - An object with `properties` gets `additionalProperties: false` unless
///   it has `x-kubernetes-preserve-unknown-fields`: the API server would
///   silently prune an unknown field, so a typo in what dgdr writes would be
///   lost in the cluster; here it is an error.
/// - `format: int32` gets the int32 bounds (JSON Schema treats formats as
///   annotations).
/// - `x-kubernetes-validations` (CEL) are translated by hand, rule by rule
///   ([`cel_rule`]); a new rule fails the test until it is translated.
/// - `x-kubernetes-list-type`, `-list-map-keys`, `-map-type`,
///   `-embedded-resource` describe merge strategy and identity, not
///   validity; they are dropped (list-map key uniqueness is not checked).
fn convert_schema(node: &Value) -> Value {
    let Value::Object(o) = node else {
        return node.clone();
    };
    let mut out = Map::new();
    let mut extra_all_of = Vec::new();
    let preserve = o.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let int_or_string = o.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    let nullable = o.get("nullable") == Some(&Value::Bool(true));
    for (k, v) in o {
        match k.as_str() {
            "description" | "nullable" => {}
            "properties" => {
                let props = v
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(name, s)| (name.clone(), convert_schema(s)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" | "additionalProperties" | "not" => {
                out.insert(k.clone(), convert_schema(v));
            }
            "anyOf" | "allOf" | "oneOf" => {
                let items = v
                    .as_array()
                    .map(|a| a.iter().map(convert_schema).collect())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Array(items));
            }
            "x-kubernetes-validations" => {
                for rule in v.as_array().into_iter().flatten() {
                    let text = rule.get("rule").and_then(Value::as_str).unwrap_or("");
                    extra_all_of.push(cel_rule(text));
                }
            }
            "x-kubernetes-int-or-string"
            | "x-kubernetes-preserve-unknown-fields"
            | "x-kubernetes-list-type"
            | "x-kubernetes-list-map-keys"
            | "x-kubernetes-map-type"
            | "x-kubernetes-embedded-resource" => {}
            other if other.starts_with("x-kubernetes-") => {
                panic!("the CRD uses `{other}`: decide how convert_schema treats it")
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if int_or_string && !out.contains_key("anyOf") {
        out.insert(
            "anyOf".into(),
            json!([{"type": "integer"}, {"type": "string"}]),
        );
    }
    if nullable && let Some(t) = out.get("type").cloned() {
        out.insert("type".into(), json!([t, "null"]));
    }
    if out.get("type") == Some(&json!("integer")) && out.get("format") == Some(&json!("int32")) {
        out.entry("minimum").or_insert(json!(i32::MIN));
        out.entry("maximum").or_insert(json!(i32::MAX));
    }
    if out.get("type") == Some(&json!("object"))
        && out.contains_key("properties")
        && !out.contains_key("additionalProperties")
        && !preserve
    {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    if !extra_all_of.is_empty() {
        let mut all = out
            .get("allOf")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        all.extend(extra_all_of);
        out.insert("allOf".into(), Value::Array(all));
    }
    Value::Object(out)
}

/// The CRD's CEL rules, translated to JSON Schema by hand.
fn cel_rule(rule: &str) -> Value {
    match rule {
        // spec.pvcs[]: creating a PVC needs its size, class and access mode.
        "!has(self.create) || self.create == false || (has(self.size) && has(self.storageClass) && has(self.volumeAccessMode))" =>
        {
            json!({
                "if": {"required": ["create"], "properties": {"create": {"const": true}}},
                "then": {"required": ["size", "storageClass", "volumeAccessMode"]}
            })
        }
        // services.*.checkpoint: an enabled checkpoint names what to restore.
        "!self.enabled || (has(self.checkpointRef) && size(self.checkpointRef) > 0) || (has(self.identity) && has(self.identity.model) && has(self.identity.backendFramework))" =>
        {
            json!({
                "if": {"required": ["enabled"], "properties": {"enabled": {"const": true}}},
                "then": {"anyOf": [
                    {"required": ["checkpointRef"], "properties": {"checkpointRef": {"minLength": 1}}},
                    {"required": ["identity"], "properties": {"identity": {"required": ["model", "backendFramework"]}}}
                ]}
            })
        }
        // services.*.sharedMemory: no size when disabled.
        "!(has(self.disabled) && self.disabled && has(self.size))" => {
            json!({"not": {"required": ["disabled", "size"], "properties": {"disabled": {"const": true}}}})
        }
        other => panic!("the CRD has a new CEL rule; translate it in cel_rule: {other}"),
    }
}

/// The `v1alpha1` schema of the CRD, converted, with the parts the API
/// server checks outside the CRD schema added: `apiVersion`/`kind` and the
/// ObjectMeta fields dgdr writes (name, namespace, labels).
fn schema_from_crd(crd: &Value) -> Value {
    let version = crd["spec"]["versions"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["name"] == "v1alpha1"))
        .expect("the CRD has a v1alpha1 version");
    let mut schema = convert_schema(&version["schema"]["openAPIV3Schema"]);
    let root = schema.as_object_mut().unwrap();
    let mut out = Map::new();
    out.insert(
        "$schema".into(),
        json!("http://json-schema.org/draft-07/schema#"),
    );
    out.insert(
        "$comment".into(),
        json!(
            "Generated by tests/tests/render_schema.rs from the v1alpha1 openAPIV3Schema of \
             dynamo/crds/nvidia.com_dynamographdeployments.yaml: descriptions dropped, \
             x-kubernetes-* markers converted or dropped, CEL rules translated, unknown fields \
             rejected. Regenerate with UPDATE_GOLDEN=1 cargo test -p dgdr-tests --test render_schema."
        ),
    );
    for (k, v) in root.iter() {
        out.insert(k.clone(), v.clone());
    }
    out.insert(
        "required".into(),
        json!(["apiVersion", "kind", "metadata", "spec"]),
    );
    let props = out
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .unwrap();
    props.insert(
        "apiVersion".into(),
        json!({"type": "string", "const": "nvidia.com/v1alpha1"}),
    );
    props.insert(
        "kind".into(),
        json!({"type": "string", "const": "DynamoGraphDeployment"}),
    );
    props.insert(
        "metadata".into(),
        json!({
            "$comment": "ObjectMeta, the fields dgdr writes; the API server checks these itself",
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "maxLength": 45, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                "namespace": {"type": "string", "maxLength": 63, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                "labels": {
                    "type": "object",
                    "propertyNames": {"pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"},
                    "additionalProperties": {"type": "string", "maxLength": 63, "pattern": "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"}
                },
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        }),
    );
    schema = Value::Object(out);
    schema
}

fn schema_text(schema: &Value) -> String {
    let mut s = serde_json::to_string_pretty(schema).unwrap();
    s.push('\n');
    s
}

#[test]
fn schema_copy_is_current() {
    let Some(shared) = dgdr_tests::shared_dir() else {
        eprintln!("../shared is not here: the committed schema copy is used as it is");
        return;
    };
    let crd_text = std::fs::read_to_string(shared.join(CRD_FILE)).unwrap();
    let crd: Value = serde_yaml_ng::from_str(&crd_text).unwrap();
    let want = schema_text(&schema_from_crd(&crd));
    let path = tests_dir().join(SCHEMA_FILE);
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        if dgdr_tests::updating() {
            std::fs::write(&path, want).unwrap();
            eprintln!("UPDATE_GOLDEN: wrote {}", path.display());
        } else {
            panic!(
                "{SCHEMA_FILE} is not the conversion of the CRD in ../shared; regenerate it:\n  \
                 UPDATE_GOLDEN=1 cargo test -p dgdr-tests --test render_schema"
            );
        }
    }
}

#[test]
fn schema_rejects_what_it_should() {
    let v = dgdr_tests::schema::dgd();
    let good = json!({
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": "x"},
        "spec": {"services": {"Frontend": {"componentType": "frontend", "replicas": 1}}}
    });
    assert!(
        v.is_valid(&good),
        "{:?}",
        dgdr_tests::schema::errors(v, &good)
    );
    let mut typo = good.clone();
    typo["spec"]["services"]["Frontend"]["replica"] = json!(1);
    assert!(!v.is_valid(&typo), "unknown fields are rejected");
    let mut gpu_number = good.clone();
    gpu_number["spec"]["services"]["Frontend"]["resources"] = json!({"limits": {"gpu": 1}});
    assert!(!v.is_valid(&gpu_number), "gpu is a string");
    let mut node_count = good.clone();
    node_count["spec"]["services"]["Frontend"]["multinode"] = json!({"nodeCount": 1});
    assert!(!v.is_valid(&node_count), "nodeCount ≥ 2");
    let mut pvc = good.clone();
    pvc["spec"]["pvcs"] = json!([{"name": "p", "create": true}]);
    assert!(!v.is_valid(&pvc), "CEL rule: create needs size etc.");
    let mut shm = good.clone();
    shm["spec"]["services"]["Frontend"]["sharedMemory"] = json!({"disabled": true, "size": "1Gi"});
    assert!(!v.is_valid(&shm), "CEL rule: no size when disabled");
    let mut long = good;
    long["metadata"]["name"] = json!("a".repeat(46));
    assert!(!v.is_valid(&long));
}

// ---------------------------------------------------------------------------
// Cases.

#[derive(Clone, Copy, Debug, PartialEq)]
enum PlannerKind {
    None,
    Load,
    Throughput,
}

struct Case {
    name: String,
    spec: Value,
    plan: DeploymentPlan,
    profile: bool,
}

fn cfg(parallel: Parallel) -> EngineConfig {
    EngineConfig {
        parallel,
        max_batch_size: 128,
        max_num_tokens: 8192,
        max_seq_len: 5000,
        kv_cache_dtype: None,
        block_size: None,
        gpu_memory_fraction: None,
    }
}

fn eng(parallel: Parallel, replicas: u32) -> Engine {
    Engine {
        config: cfg(parallel),
        replicas,
    }
}

fn spec_json(
    model: &str,
    backend: ConcreteBackend,
    planner: PlannerKind,
    mocker: bool,
    pvc: bool,
) -> Value {
    let mut s = json!({
        "model": model,
        "backend": backend.as_str(),
        "image": "nvcr.io/nvidia/ai-dynamo/dynamo-frontend:1.0.0",
        "hardware": {"gpuSku": "h200_sxm", "numGpusPerNode": PER_NODE, "totalGpus": 32},
        "workload": {"isl": 4000, "osl": 1000},
        "sla": {"ttft": 500, "itl": 20},
    });
    let mut features = Map::new();
    match planner {
        PlannerKind::None => {}
        PlannerKind::Load => {
            features.insert("planner".into(), json!({}));
        }
        PlannerKind::Throughput => {
            features.insert(
                "planner".into(),
                json!({"optimization_target": "sla", "enable_throughput_scaling": true}),
            );
        }
    }
    if mocker {
        features.insert("mocker".into(), json!({"enabled": true}));
    }
    if !features.is_empty() {
        s["features"] = Value::Object(features);
    }
    if pvc {
        s["modelCache"] = json!({"pvcName": "model-cache", "pvcModelPath": "weights/model"});
    }
    s
}

fn profile_data() -> ProfileData {
    let isl: Vec<f64> = (1..=8).map(|i| f64::from(i) * 500.0).collect();
    let ttft: Vec<f64> = isl.iter().map(|x| 10.0 + x * 0.05).collect();
    let thpt: Vec<f64> = isl.iter().zip(&ttft).map(|(i, t)| i / t * 1000.0).collect();
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut z = Vec::new();
    let mut zt = Vec::new();
    for ctx in [1000.0, 4500.0, 8000.0] {
        for kv in [0.1, 0.4, 0.7, 1.0] {
            x.push(kv);
            y.push(ctx);
            z.push(5.0 + 20.0 * kv + ctx / 2000.0);
            zt.push(3000.0 * kv);
        }
    }
    ProfileData {
        prefill: PrefillProfile {
            prefill_isl: isl,
            prefill_ttft: ttft,
            prefill_thpt_per_gpu: thpt,
        },
        decode: DecodeProfile {
            x_kv_usage: x,
            y_context_length: y,
            z_itl: z,
            z_thpt_per_gpu: zt,
            max_kv_tokens: 412_345,
        },
    }
}

/// The full matrix: backend × agg/disagg × planner × mocker × PVC.
fn matrix() -> Vec<Case> {
    let mut out = Vec::new();
    for backend in ConcreteBackend::ALL {
        for disagg in [false, true] {
            for planner in [
                PlannerKind::None,
                PlannerKind::Load,
                PlannerKind::Throughput,
            ] {
                for mocker in [false, true] {
                    for pvc in [false, true] {
                        let topology = if disagg {
                            Topology::Disagg {
                                prefill: eng(Parallel::tp(1), 2),
                                decode: eng(Parallel::tp(2), 1),
                            }
                        } else {
                            Topology::Agg {
                                worker: eng(Parallel::tp(2), 2),
                            }
                        };
                        out.push(Case {
                            name: format!(
                                "{backend}-{}-planner_{planner:?}-mocker_{mocker}-pvc_{pvc}",
                                if disagg { "disagg" } else { "agg" }
                            ),
                            spec: spec_json("Qwen/Qwen3-32B", backend, planner, mocker, pvc),
                            plan: DeploymentPlan {
                                backend,
                                moe: false,
                                moe_top_k: None,
                                topology,
                                achieved: None,
                            },
                            profile: mocker || planner == PlannerKind::Throughput,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Layouts the matrix does not cover.
fn special_cases() -> Vec<Case> {
    let mut out = Vec::new();
    for backend in ConcreteBackend::ALL {
        // A 16-GPU TEP engine on 8-GPU nodes: two nodes per instance.
        out.push(Case {
            name: format!("{backend}-multinode-tep16"),
            spec: spec_json(
                "deepseek-ai/DeepSeek-R1",
                backend,
                PlannerKind::Throughput,
                false,
                true,
            ),
            plan: DeploymentPlan {
                backend,
                moe: true,
                moe_top_k: None,
                topology: Topology::Disagg {
                    prefill: eng(Parallel::tep(16), 1),
                    decode: eng(Parallel::tep(16), 1),
                },
                achieved: Some(AchievedTargets {
                    ttft_ms: 812.5,
                    itl_ms: 18.0,
                    request_latency_ms: Some(18_794.5),
                }),
            },
            profile: true,
        });
        // Attention DP: DEP 8 on one node, DEP 16 over two.
        out.push(Case {
            name: format!("{backend}-attention-dp"),
            spec: spec_json(
                "deepseek-ai/DeepSeek-R1",
                backend,
                PlannerKind::None,
                false,
                false,
            ),
            plan: DeploymentPlan {
                backend,
                moe: true,
                moe_top_k: None,
                topology: Topology::Disagg {
                    prefill: eng(Parallel::dep(8), 2),
                    decode: eng(Parallel::dep(16), 1),
                },
                achieved: None,
            },
            profile: false,
        });
        // Hybrid: tp 2 inside each of 4 attention-DP ranks, experts 8-way
        // (TRT-LLM runs attention on one GPU per rank: not a TRT-LLM layout).
        if backend != ConcreteBackend::Trtllm {
            out.push(Case {
                name: format!("{backend}-attention-dp-hybrid"),
                spec: spec_json(
                    "Qwen/Qwen3-235B-A22B",
                    backend,
                    PlannerKind::None,
                    false,
                    false,
                ),
                plan: DeploymentPlan {
                    backend,
                    moe: true,
                    moe_top_k: None,
                    topology: Topology::Agg {
                        worker: eng(
                            Parallel {
                                tp: 2,
                                pp: 1,
                                dp: 4,
                                moe_tp: 1,
                                moe_ep: 8,
                            },
                            1,
                        ),
                    },
                    achieved: None,
                },
                profile: false,
            });
        }
        // Engine options: KV type, block size, memory fraction.
        let mut c = cfg(Parallel::tp(4));
        c.kv_cache_dtype = Some(KvCacheDtype::Fp8);
        c.block_size = (backend != ConcreteBackend::Trtllm).then_some(64);
        c.gpu_memory_fraction = Some(0.88);
        c.max_num_tokens = 8000;
        out.push(Case {
            name: format!("{backend}-engine-options"),
            spec: spec_json("Qwen/Qwen3-32B", backend, PlannerKind::None, false, false),
            plan: DeploymentPlan {
                backend,
                moe: false,
                moe_top_k: None,
                topology: Topology::Agg {
                    worker: Engine {
                        config: c,
                        replicas: 2,
                    },
                },
                achieved: None,
            },
            profile: false,
        });
    }
    // Pipeline parallel over two nodes.
    out.push(Case {
        name: "vllm-pipeline-parallel".into(),
        spec: spec_json(
            "meta-llama/Llama-3.1-405B-Instruct",
            ConcreteBackend::Vllm,
            PlannerKind::None,
            false,
            true,
        ),
        plan: DeploymentPlan {
            backend: ConcreteBackend::Vllm,
            moe: false,
            moe_top_k: None,
            topology: Topology::Agg {
                worker: eng(
                    Parallel {
                        tp: 8,
                        pp: 2,
                        dp: 1,
                        moe_tp: 8,
                        moe_ep: 1,
                    },
                    1,
                ),
            },
            achieved: None,
        },
        profile: false,
    });
    // Overrides: tolerations from the profiling Job, DGD overrides.
    let mut s = spec_json(
        "Qwen/Qwen3-32B",
        ConcreteBackend::Sglang,
        PlannerKind::Load,
        false,
        false,
    );
    s["overrides"] = json!({
        "profilingJob": {"template": {"spec": {"tolerations": [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]}}},
        "dgd": {
            "metadata": {"labels": {"team": "inference"}, "annotations": {"owner": "ml-platform"}},
            "spec": {
                "envs": [{"name": "DYN_LOG", "value": "debug"}],
                "services": {
                    "decode": {
                        "extraPodSpec": {
                            "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-H200"},
                            "mainContainer": {"args": ["--trust-remote-code"]}
                        },
                        "sharedMemory": {"size": "16Gi"}
                    },
                    "Planner": {"replicas": 1},
                    "Decode": {"replicas": 3}
                }
            }
        }
    });
    out.push(Case {
        name: "sglang-overrides".into(),
        spec: s,
        plan: DeploymentPlan {
            backend: ConcreteBackend::Sglang,
            moe: false,
            moe_top_k: None,
            topology: Topology::Disagg {
                prefill: eng(Parallel::tp(2), 1),
                decode: eng(Parallel::tp(2), 3),
            },
            achieved: None,
        },
        profile: false,
    });
    out
}

fn resolved(spec: &Value) -> ResolvedSpec {
    let doc = read_document(spec);
    let mut d = Diagnostics::new();
    let r = resolve(&doc.dgdr.expect("a DGDR").spec, &mut d);
    r.unwrap_or_else(|| panic!("the case's spec does not resolve: {d:?}"))
}

fn run(case: &Case) -> Result<Assembled, AssembleError> {
    let spec = resolved(&case.spec);
    let dgd = render_dgd(&spec, "sla-request", Some("dynamo"), &case.plan)?;
    let data = profile_data();
    assemble(&spec, dgd, &case.plan, case.profile.then_some(&data))
}

// ---------------------------------------------------------------------------
// Checks.

fn args(service: &Value) -> Vec<String> {
    service["extraPodSpec"]["mainContainer"]["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// Validates and checks one assembled case; returns the problems found.
fn check(case: &Case, a: &Assembled) -> Vec<String> {
    let mut problems = Vec::new();
    for e in dgdr_tests::schema::errors(dgdr_tests::schema::dgd(), &a.dgd) {
        problems.push(format!("DGD schema: {e}"));
    }
    for cm in &a.config_maps {
        for e in dgdr_tests::schema::errors(dgdr_tests::schema::configmap(), &cm.to_manifest()) {
            problems.push(format!("ConfigMap {} schema: {e}", cm.name));
        }
    }
    let spec = resolved(&case.spec);
    let services = a.dgd["spec"]["services"].as_object().unwrap();
    let mocker = spec.mocker;

    // §9: names over 45 characters.
    let name = a.dgd["metadata"]["name"].as_str().unwrap_or("");
    if name.len() > 45 {
        problems.push(format!("DGD name `{name}` is over 45 characters"));
    }
    for svc in services.keys() {
        if svc.len() > 45 {
            problems.push(format!("service name `{svc}` is over 45 characters"));
        }
    }
    for label in ["dgdr.nvidia.com/name", "dgdr.nvidia.com/namespace"] {
        if a.dgd["metadata"]["labels"][label].as_str().is_none() {
            problems.push(format!("label {label} missing"));
        }
    }

    let (engines, disagg): (Vec<(Option<&str>, &Engine)>, bool) = match &case.plan.topology {
        Topology::Agg { worker } => (vec![(None, worker)], false),
        Topology::Disagg { prefill, decode } => (
            vec![(Some("prefill"), prefill), (Some("decode"), decode)],
            true,
        ),
    };
    let workers: Vec<(&String, &Value)> = services
        .iter()
        .filter(|(_, s)| s["componentType"] == "worker")
        .collect();
    if workers.len() != engines.len() {
        problems.push(format!(
            "{} worker services for {} engines",
            workers.len(),
            engines.len()
        ));
    }
    let mut planned_gpus = 0u64;
    let mut rendered_gpus = 0u64;
    for (svc_name, svc) in &workers {
        let sub = svc.get("subComponentType").and_then(Value::as_str);
        let a = args(svc);
        // §9: disaggregated workers without --disaggregation-mode.
        if disagg && sub.is_none() {
            problems.push(format!(
                "{svc_name}: disaggregated worker without subComponentType"
            ));
        }
        if let Some(sub) = sub
            && flag(&a, "--disaggregation-mode") != Some(sub)
        {
            problems.push(format!(
                "{svc_name}: {sub} worker without `--disaggregation-mode {sub}`"
            ));
        }
        let Some((_, engine)) = engines.iter().find(|(role, _)| *role == sub) else {
            problems.push(format!("{svc_name}: no engine for role {sub:?}"));
            continue;
        };
        // §9: model path doubled with a PVC.
        if let Some(mc) = &spec.model_cache {
            let want = format!("{}/{}", mc.pvc_mount_path, mc.pvc_model_path);
            let model = flag(&a, "--model").or(flag(&a, "--model-path"));
            if model != Some(want.as_str()) {
                problems.push(format!("{svc_name}: model path {model:?}, want {want}"));
            }
            if model.is_some_and(|m| m.matches(&mc.pvc_mount_path).count() != 1) {
                problems.push(format!("{svc_name}: mount path joined twice"));
            }
        } else {
            let model = flag(&a, "--model").or(flag(&a, "--model-path"));
            if model != Some(spec.model.as_str()) {
                problems.push(format!("{svc_name}: model {model:?}"));
            }
        }
        let replicas = svc["replicas"].as_u64().unwrap_or(0);
        if replicas != u64::from(engine.replicas) {
            problems.push(format!("{svc_name}: replicas {replicas}"));
        }
        if mocker {
            if svc.get("resources").is_some() {
                problems.push(format!("{svc_name}: mocker worker asks for GPUs"));
            }
            if flag(&a, "--planner-profile-data") != Some("/workspace/profiling_results") {
                problems.push(format!("{svc_name}: mocker without profile data"));
            }
            continue;
        }
        // §9: attention-DP counted twice; nodeCount wrong for DP workers.
        let p = engine.config.parallel;
        let per_instance = u64::from(p.tp) * u64::from(p.pp) * u64::from(p.dp);
        let gpu: u64 = svc["resources"]["limits"]["gpu"]
            .as_str()
            .and_then(|g| g.parse().ok())
            .unwrap_or(0);
        let nodes = svc["multinode"]["nodeCount"].as_u64();
        if gpu > u64::from(PER_NODE) {
            problems.push(format!("{svc_name}: {gpu} GPUs on one {PER_NODE}-GPU node"));
        }
        if gpu * nodes.unwrap_or(1) != per_instance {
            problems.push(format!(
                "{svc_name}: {gpu} GPUs × {nodes:?} nodes for a {per_instance}-GPU instance (tp {} pp {} dp {})",
                p.tp, p.pp, p.dp
            ));
        }
        if (per_instance > u64::from(PER_NODE)) != nodes.is_some() {
            problems.push(format!(
                "{svc_name}: multinode is {nodes:?} for {per_instance} GPUs"
            ));
        }
        planned_gpus += per_instance * u64::from(engine.replicas);
        rendered_gpus += gpu * nodes.unwrap_or(1) * replicas;
        if case.plan.backend == ConcreteBackend::Vllm {
            let mode = sub.unwrap_or("agg");
            let env = &svc["extraPodSpec"]["mainContainer"]["env"];
            if *env != json!([{"name": "DYN_BENCHMARK_MODE", "value": mode}]) {
                problems.push(format!("{svc_name}: env {env}"));
            }
        }
        let image = svc["extraPodSpec"]["mainContainer"]["image"]
            .as_str()
            .unwrap_or("");
        let runtime = case.plan.backend.runtime_image_name();
        if image != format!("nvcr.io/nvidia/ai-dynamo/{runtime}:1.0.0") {
            problems.push(format!("{svc_name}: image {image}"));
        }
    }
    if planned_gpus != rendered_gpus {
        problems.push(format!(
            "the plan uses {planned_gpus} GPUs, the DGD asks for {rendered_gpus}"
        ));
    }

    // Planner and profile data.
    let planner = services.get("Planner");
    if spec.planner.is_some() != planner.is_some() {
        problems.push(format!("Planner service present: {}", planner.is_some()));
    }
    if let Some(p) = planner {
        if p["componentType"] != "planner" || p["replicas"] != 1 {
            problems.push("Planner is not a 1-replica planner".into());
        }
        let img = &p["extraPodSpec"]["mainContainer"]["image"];
        if *img != "nvcr.io/nvidia/ai-dynamo/dynamo-planner:1.0.0" {
            problems.push(format!("Planner image {img}"));
        }
    }
    let has_profile_cm = a
        .config_maps
        .iter()
        .any(|c| c.name.starts_with("planner-profile-data-"));
    if has_profile_cm != spec.needs_profile_data() {
        problems.push(format!("profile data ConfigMap present: {has_profile_cm}"));
    }
    // Every mounted ConfigMap is emitted, every emitted one is mounted.
    let mut mounted = Vec::new();
    for svc in services.values() {
        for v in svc["extraPodSpec"]["volumes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(n) = v["configMap"]["name"].as_str() {
                mounted.push(n.to_string());
            }
        }
    }
    for cm in &a.config_maps {
        if !mounted.contains(&cm.name) {
            problems.push(format!("ConfigMap {} is not mounted", cm.name));
        }
    }
    for m in &mounted {
        if !a.config_maps.iter().any(|c| &c.name == m) {
            problems.push(format!("ConfigMap {m} is mounted but not emitted"));
        }
    }
    problems
}

#[test]
fn every_combination_validates() {
    let mut failures = Vec::new();
    let mut validated = 0;
    let mut refused = 0;
    for case in matrix().into_iter().chain(special_cases()) {
        match run(&case) {
            Ok(a) => {
                validated += 1;
                for p in check(&case, &a) {
                    failures.push(format!("{}: {p}", case.name));
                }
            }
            // SPEC §4: with the mocker the picker chooses a disaggregated
            // plan; an aggregated one is refused, not rendered wrong.
            Err(AssembleError::MockerNeedsDisagg)
                if resolved(&case.spec).mocker && !case.plan.topology.is_disagg() =>
            {
                refused += 1;
            }
            Err(e) => failures.push(format!("{}: {e}", case.name)),
        }
    }
    eprintln!(
        "{validated} deployments validated, {refused} refused (mocker with an aggregated plan)"
    );
    assert_eq!(refused, 3 * 3 * 2, "mocker × agg cases");
    // 72 combinations less the 18 refused, and 13 special cases.
    assert_eq!(validated, 72 - 18 + 13);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn assembly_is_deterministic() {
    for case in matrix().into_iter().chain(special_cases()) {
        let (Ok(a), Ok(b)) = (run(&case), run(&case)) else {
            continue;
        };
        assert_eq!(a.to_yaml(), b.to_yaml(), "{}", case.name);
    }
}

#[test]
fn the_checks_catch_the_upstream_bugs() {
    // The checks above are only worth something if they fail on the bugs.
    let case = special_cases()
        .into_iter()
        .find(|c| c.name == "sglang-multinode-tep16")
        .unwrap();
    let good = run(&case).unwrap();
    assert!(check(&case, &good).is_empty());

    let mut a = good.clone();
    let svc = &mut a.dgd["spec"]["services"]["decode"];
    let args = svc["extraPodSpec"]["mainContainer"]["args"]
        .as_array_mut()
        .unwrap();
    let i = args
        .iter()
        .position(|x| x == "--disaggregation-mode")
        .unwrap();
    args.drain(i..i + 2);
    assert!(
        check(&case, &a)
            .iter()
            .any(|p| p.contains("--disaggregation-mode"))
    );

    let mut a = good.clone();
    a.dgd["spec"]["services"]["decode"]["multinode"]["nodeCount"] = json!(16);
    assert!(
        check(&case, &a)
            .iter()
            .any(|p| p.contains("nodes for a 16-GPU"))
    );

    let mut a = good.clone();
    a.dgd["spec"]["services"]["prefill"]["extraPodSpec"]["mainContainer"]["args"][1] =
        json!("/opt/model-cache/opt/model-cache/weights/model");
    assert!(check(&case, &a).iter().any(|p| p.contains("model path")));

    let mut a = good.clone();
    let services = a.dgd["spec"]["services"].as_object_mut().unwrap();
    let frontend = services.shift_remove("Frontend").unwrap();
    services.insert("F".repeat(46), frontend);
    assert!(check(&case, &a).iter().any(|p| p.contains("over 45")));

    let mut a = good;
    a.dgd["spec"]["services"]["decode"]["resources"]["limits"]["gpu"] = json!(8);
    assert!(check(&case, &a).iter().any(|p| p.contains("DGD schema")));
}

// ---------------------------------------------------------------------------
// Goldens.

fn golden_cases() -> Vec<Case> {
    let pick = |name: &str| -> Case {
        matrix()
            .into_iter()
            .chain(special_cases())
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no case {name}"))
    };
    vec![
        pick("vllm-agg-planner_None-mocker_false-pvc_false"),
        pick("vllm-disagg-planner_Throughput-mocker_false-pvc_true"),
        pick("sglang-multinode-tep16"),
        pick("trtllm-attention-dp"),
        pick("trtllm-engine-options"),
        pick("vllm-disagg-planner_Load-mocker_true-pvc_false"),
        pick("sglang-overrides"),
    ]
}

fn golden_name(case: &Case) -> String {
    case.name.to_ascii_lowercase().replace('_', "-")
}

#[test]
fn goldens_match() {
    let dir = tests_dir().join("corpus/render");
    let mut mismatched = Vec::new();
    let mut expected_files = Vec::new();
    for case in golden_cases() {
        let name = format!("{}.yaml", golden_name(&case));
        expected_files.push(name.clone());
        let text = run(&case)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name))
            .to_yaml();
        let path = dir.join(&name);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != text {
            if dgdr_tests::updating() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
                eprintln!("UPDATE_GOLDEN: wrote {}", path.display());
            } else {
                let first = have
                    .lines()
                    .zip(text.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(have.lines().count().min(text.lines().count()));
                mismatched.push(format!(
                    "{name}: differs from line {} (golden: {:?}, now: {:?})",
                    first + 1,
                    have.lines().nth(first),
                    text.lines().nth(first)
                ));
            }
        }
    }
    for f in dgdr_tests::files_with(&dir, &["yaml"]) {
        let n = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if !expected_files.contains(&n) {
            if dgdr_tests::updating() {
                std::fs::remove_file(&f).unwrap();
            } else {
                mismatched.push(format!("{n}: golden without a case"));
            }
        }
    }
    assert!(
        mismatched.is_empty(),
        "{}\nreview, then regenerate: UPDATE_GOLDEN=1 cargo test -p dgdr-tests --test render_schema",
        mismatched.join("\n")
    );
}

#[test]
fn goldens_are_valid_yaml_streams() {
    for case in golden_cases() {
        let text = run(&case).unwrap().to_yaml();
        let docs: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&text)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
        let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
        assert_eq!(
            kinds.last(),
            Some(&"DynamoGraphDeployment"),
            "{}",
            case.name
        );
        assert!(
            kinds[..kinds.len() - 1].iter().all(|k| *k == "ConfigMap"),
            "{}: ConfigMaps first",
            case.name
        );
    }
}
