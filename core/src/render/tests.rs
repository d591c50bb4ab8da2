use super::*;
use crate::diag::Diagnostics;
use crate::plan::{Engine, EngineConfig, Parallel};
use serde_json::json;

pub(crate) fn spec(v: Value) -> ResolvedSpec {
    let doc = crate::spec::read_document(&v);
    let mut d = Diagnostics::new();
    crate::spec::resolve(&doc.dgdr.unwrap().spec, &mut d).unwrap_or_else(|| panic!("{d:?}"))
}

pub(crate) fn engine(parallel: Parallel, replicas: u32) -> Engine {
    Engine {
        config: EngineConfig {
            parallel,
            max_batch_size: 128,
            max_num_tokens: 8192,
            max_seq_len: 5000,
            kv_cache_dtype: None,
            block_size: None,
            gpu_memory_fraction: None,
        },
        replicas,
    }
}

pub(crate) fn disagg(
    backend: ConcreteBackend,
    p: Parallel,
    d: Parallel,
    moe: bool,
) -> DeploymentPlan {
    DeploymentPlan {
        backend,
        moe,
        moe_top_k: None,
        topology: Topology::Disagg {
            prefill: engine(p, 2),
            decode: engine(d, 1),
        },
        achieved: None,
    }
}

fn base() -> Value {
    json!({
        "model": "Qwen/Qwen3-32B",
        "image": "nvcr.io/nvidia/ai-dynamo/dynamo-frontend:1.0.0",
        "hardware": {"numGpusPerNode": 8, "totalGpus": 16, "gpuSku": "h200_sxm"}
    })
}

fn args_of(dgd: &Dgd, service: &str) -> Vec<String> {
    dgd.service(service).unwrap()["extraPodSpec"]["mainContainer"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

fn after<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

#[test]
fn vllm_disagg_has_the_examples_shape() {
    let s = spec(base());
    let plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(2),
        Parallel::tp(4),
        false,
    );
    let dgd = render_dgd(&s, "my-request", Some("team-a"), &plan).unwrap();
    let m = &dgd.manifest;
    assert_eq!(m["apiVersion"], "nvidia.com/v1alpha1");
    assert_eq!(m["kind"], "DynamoGraphDeployment");
    assert_eq!(m["metadata"]["name"], "my-request");
    assert_eq!(m["metadata"]["namespace"], "team-a");
    assert_eq!(m["metadata"]["labels"][LABEL_NAME], "my-request");
    assert_eq!(m["metadata"]["labels"][LABEL_NAMESPACE], "team-a");
    assert_eq!(m["metadata"]["labels"][LABEL_MANAGED_BY], "dgdr");
    let names: Vec<&String> = dgd.services().unwrap().keys().collect();
    assert_eq!(names, ["Frontend", "VllmPrefillWorker", "VllmDecodeWorker"]);
    let f = dgd.service("Frontend").unwrap();
    assert_eq!(f["componentType"], "frontend");
    assert_eq!(
        f["extraPodSpec"]["mainContainer"]["image"],
        "nvcr.io/nvidia/ai-dynamo/dynamo-frontend:1.0.0"
    );
    let p = dgd.service("VllmPrefillWorker").unwrap();
    assert_eq!(p["componentType"], "worker");
    assert_eq!(p["subComponentType"], "prefill");
    assert_eq!(p["replicas"], 2);
    assert_eq!(p["envFromSecret"], "hf-token-secret");
    assert_eq!(p["resources"]["limits"]["gpu"], "2");
    assert!(p.get("multinode").is_none());
    let mc = &p["extraPodSpec"]["mainContainer"];
    assert_eq!(mc["image"], "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.0.0");
    assert_eq!(mc["command"], json!(["python3", "-m", "dynamo.vllm"]));
    assert_eq!(
        mc["env"],
        json!([{"name": "DYN_BENCHMARK_MODE", "value": "prefill"}])
    );
    let d = dgd.service("VllmDecodeWorker").unwrap();
    assert_eq!(d["subComponentType"], "decode");
    assert_eq!(d["resources"]["limits"]["gpu"], "4");
    let a = args_of(&dgd, "VllmDecodeWorker");
    assert_eq!(after(&a, "--model"), Some("Qwen/Qwen3-32B"));
    assert_eq!(after(&a, "--disaggregation-mode"), Some("decode"));
    assert!(dgd.config_maps.is_empty());
    assert!(dgd.warnings.is_empty());
}

#[test]
fn agg_workers_have_no_sub_component_type() {
    let s = spec(base());
    for backend in ConcreteBackend::ALL {
        let plan = DeploymentPlan {
            backend,
            moe: false,
            moe_top_k: None,
            topology: Topology::Agg {
                worker: engine(Parallel::tp(1), 3),
            },
            achieved: None,
        };
        let dgd = render_dgd(&s, "r", None, &plan).unwrap();
        let name = worker_service_name(backend, Role::Agg);
        let w = dgd.service(&name).unwrap();
        assert!(w.get("subComponentType").is_none());
        assert_eq!(w["replicas"], 3);
        assert!(!args_of(&dgd, &name).contains(&"--disaggregation-mode".to_string()));
        assert!(dgd.manifest["metadata"].get("namespace").is_none());
        assert!(
            dgd.manifest["metadata"]["labels"]
                .get(LABEL_NAMESPACE)
                .is_none()
        );
    }
}

#[test]
fn model_cache_is_mounted_and_the_path_joined_once() {
    let mut v = base();
    v["modelCache"] =
        json!({"pvcName": "model-cache", "pvcModelPath": "qwen3-32b", "pvcMountPath": "/models/"});
    let s = spec(v);
    for backend in ConcreteBackend::ALL {
        let plan = disagg(backend, Parallel::tp(1), Parallel::tp(1), false);
        let dgd = render_dgd(&s, "r", None, &plan).unwrap();
        assert_eq!(
            dgd.manifest["spec"]["pvcs"],
            json!([{"name": "model-cache", "create": false}])
        );
        let name = worker_service_name(backend, Role::Decode);
        let w = dgd.service(&name).unwrap();
        assert_eq!(
            w["volumeMounts"],
            json!([{"name": "model-cache", "mountPoint": "/models"}])
        );
        let a = args_of(&dgd, &name);
        let flag = if backend == ConcreteBackend::Vllm {
            "--model"
        } else {
            "--model-path"
        };
        assert_eq!(after(&a, flag), Some("/models/qwen3-32b"));
        assert_eq!(after(&a, "--served-model-name"), Some("Qwen/Qwen3-32B"));
        assert!(
            dgd.service("Frontend")
                .unwrap()
                .get("volumeMounts")
                .is_none()
        );
    }
}

#[test]
fn multinode_and_attention_dp() {
    let s = spec(base());
    // A 16-GPU TEP engine on 8-GPU nodes: 2 nodes of 8.
    let plan = disagg(
        ConcreteBackend::Sglang,
        Parallel::tep(16),
        Parallel::dep(8),
        true,
    );
    let dgd = render_dgd(&s, "r", None, &plan).unwrap();
    let p = dgd.service("prefill").unwrap();
    assert_eq!(p["resources"]["limits"]["gpu"], "8");
    assert_eq!(p["multinode"]["nodeCount"], 2);
    // DEP 8 (tp 1 × dp 8) fits one node: attention-DP GPUs counted once.
    let d = dgd.service("decode").unwrap();
    assert_eq!(d["resources"]["limits"]["gpu"], "8");
    assert!(d.get("multinode").is_none());
    // DEP 16: two nodes of 8 (upstream got nodeCount wrong for DP workers).
    let plan = disagg(
        ConcreteBackend::Trtllm,
        Parallel::tp(8),
        Parallel::dep(16),
        true,
    );
    let dgd = render_dgd(&s, "r", None, &plan).unwrap();
    let d = dgd.service("TRTLLMDecodeWorker").unwrap();
    assert_eq!(d["resources"]["limits"]["gpu"], "8");
    assert_eq!(d["multinode"]["nodeCount"], 2);
}

#[test]
fn placement_rules() {
    let p = |g, n| placement(g, n);
    assert_eq!(
        p(1, None).unwrap(),
        Placement {
            gpus_per_pod: 1,
            node_count: None
        }
    );
    assert_eq!(p(4, Some(8)).unwrap().node_count, None);
    assert_eq!(p(8, Some(8)).unwrap().node_count, None);
    assert_eq!(
        p(32, Some(8)).unwrap(),
        Placement {
            gpus_per_pod: 8,
            node_count: Some(4)
        }
    );
    assert!(matches!(
        p(2, None),
        Err(RenderError::GpusPerNodeUnknown { gpus: 2 })
    ));
    assert!(matches!(p(12, Some(8)), Err(RenderError::InvalidPlan(_))));
    assert!(matches!(p(0, Some(8)), Err(RenderError::InvalidPlan(_))));
}

#[test]
fn trtllm_engine_overrides_ride_in_a_config_map() {
    let s = spec(base());
    let plan = disagg(
        ConcreteBackend::Trtllm,
        Parallel::tp(1),
        Parallel::tp(2),
        false,
    );
    let dgd = render_dgd(&s, "r", Some("ns"), &plan).unwrap();
    assert_eq!(dgd.config_maps.len(), 1);
    let cm = &dgd.config_maps[0];
    assert!(cm.name.starts_with("trtllm-engine-config-"));
    assert_eq!(cm.name.len(), "trtllm-engine-config-".len() + 4);
    assert_eq!(cm.namespace.as_deref(), Some("ns"));
    assert_eq!(
        cm.data.keys().collect::<Vec<_>>(),
        ["decode.yaml", "prefill.yaml"]
    );
    assert!(cm.data["prefill.yaml"].contains("disable_overlap_scheduler: true"));
    assert!(!cm.data["decode.yaml"].contains("disable_overlap_scheduler"));
    let p = dgd.service("TRTLLMPrefillWorker").unwrap();
    assert_eq!(
        p["extraPodSpec"]["volumes"],
        json!([{"name": "trtllm-engine-config", "configMap": {"name": cm.name}}])
    );
    assert_eq!(
        p["extraPodSpec"]["mainContainer"]["volumeMounts"][0]["mountPath"],
        TRTLLM_ENGINE_CONFIG_DIR
    );
    let a = args_of(&dgd, "TRTLLMPrefillWorker");
    assert_eq!(
        after(&a, "--extra-engine-args"),
        Some("/workspace/engine_configs/prefill.yaml")
    );
    // An aggregated worker with nothing to override gets no file.
    let agg = DeploymentPlan {
        backend: ConcreteBackend::Trtllm,
        moe: false,
        moe_top_k: None,
        topology: Topology::Agg {
            worker: engine(Parallel::tp(1), 1),
        },
        achieved: None,
    };
    let dgd = render_dgd(&s, "r", None, &agg).unwrap();
    assert!(dgd.config_maps.is_empty());
    assert!(!args_of(&dgd, "TRTLLMWorker").contains(&"--extra-engine-args".to_string()));
}

#[test]
fn long_names_are_fitted() {
    let s = spec(base());
    let plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(1),
        Parallel::tp(1),
        false,
    );
    let long = format!("{}.with.dots", "a-very-long-request-name".repeat(4));
    let dgd = render_dgd(&s, &long, None, &plan).unwrap();
    let name = dgd.manifest["metadata"]["name"].as_str().unwrap();
    assert!(name.len() <= 45, "{name}");
    assert!(
        name.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    );
    let label = dgd.manifest["metadata"]["labels"][LABEL_NAME]
        .as_str()
        .unwrap();
    assert!(label.len() <= 63);
    for svc in dgd.services().unwrap().keys() {
        assert!(svc.len() <= names::MAX_SERVICE_NAME);
    }
    assert!(matches!(
        render_dgd(&s, "...", None, &plan),
        Err(RenderError::InvalidName { .. })
    ));
}

#[test]
fn errors_that_concern_the_input_become_diagnostics() {
    let mut v = base();
    v.as_object_mut().unwrap().remove("image");
    let s = spec(v);
    let plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(1),
        Parallel::tp(1),
        false,
    );
    let e = render_dgd(&s, "r", None, &plan).unwrap_err();
    let d = e.to_diagnostic().unwrap();
    assert_eq!(
        (d.path.as_str(), d.code),
        ("spec.image", Code::ImageRequired)
    );

    let mut v = base();
    v["hardware"] = json!({"totalGpus": 8});
    let s = spec(v);
    let plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(2),
        Parallel::tp(1),
        false,
    );
    let d = render_dgd(&s, "r", None, &plan)
        .unwrap_err()
        .to_diagnostic()
        .unwrap();
    assert_eq!(d.path, "spec.hardware.numGpusPerNode");

    // Plan bugs are not the user's: no diagnostic.
    let s = spec(base());
    let bad = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(0),
        Parallel::tp(1),
        false,
    );
    let e = render_dgd(&s, "r", None, &bad).unwrap_err();
    assert!(matches!(e, RenderError::InvalidPlan(_)));
    assert!(e.to_diagnostic().is_none());
    let moe_bad = disagg(
        ConcreteBackend::Vllm,
        Parallel {
            tp: 2,
            pp: 1,
            dp: 2,
            moe_tp: 1,
            moe_ep: 2,
        },
        Parallel::tp(1),
        true,
    );
    assert!(render_dgd(&s, "r", None, &moe_bad).is_err());
    // TRT-LLM cannot run tensor parallelism inside an attention-DP rank.
    let hybrid = Parallel {
        tp: 2,
        pp: 1,
        dp: 4,
        moe_tp: 1,
        moe_ep: 8,
    };
    let trt = disagg(ConcreteBackend::Trtllm, hybrid, Parallel::tp(1), true);
    assert!(matches!(
        render_dgd(&s, "r", None, &trt),
        Err(RenderError::InvalidPlan(_))
    ));
    let sgl = disagg(ConcreteBackend::Sglang, hybrid, Parallel::tp(1), true);
    assert!(render_dgd(&s, "r", None, &sgl).is_ok());
}

#[test]
fn backend_of_the_request_must_match_the_plan() {
    let mut v = base();
    v["backend"] = json!("sglang");
    let s = spec(v);
    let plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(1),
        Parallel::tp(1),
        false,
    );
    assert!(matches!(
        render_dgd(&s, "r", None, &plan),
        Err(RenderError::InvalidPlan(_))
    ));
}

#[test]
fn digest_pinned_image_warns() {
    let mut v = base();
    v["image"] = json!("reg:5000/x/dynamo-frontend@sha256:abcd");
    let s = spec(v);
    let plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(1),
        Parallel::tp(1),
        false,
    );
    let dgd = render_dgd(&s, "r", None, &plan).unwrap();
    assert_eq!(
        dgd.service("VllmDecodeWorker").unwrap()["extraPodSpec"]["mainContainer"]["image"],
        "reg:5000/x/vllm-runtime@sha256:abcd"
    );
    assert_eq!(dgd.warnings.len(), 1);
    assert_eq!(dgd.warnings[0].path, "spec.image");
}

#[test]
fn rendering_is_deterministic() {
    let s = spec(base());
    let plan = disagg(
        ConcreteBackend::Trtllm,
        Parallel::tep(8),
        Parallel::dep(8),
        true,
    );
    let a = render_dgd(&s, "r", Some("ns"), &plan).unwrap();
    let b = render_dgd(&s, "r", Some("ns"), &plan).unwrap();
    assert_eq!(
        serde_json::to_string(&a.manifest).unwrap(),
        serde_json::to_string(&b.manifest).unwrap()
    );
    assert_eq!(a.config_maps, b.config_maps);
}
