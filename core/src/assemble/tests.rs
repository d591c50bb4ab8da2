use super::*;
use crate::plan::{AchievedTargets, ConcreteBackend, DecodeProfile, Parallel, PrefillProfile};
use crate::render::render_dgd;
use crate::render::tests::{disagg, engine, spec};
use serde_json::json;

fn base() -> Value {
    json!({
        "model": "Qwen/Qwen3-32B",
        "image": "nvcr.io/nvidia/ai-dynamo/dynamo-frontend:1.0.0",
        "hardware": {"numGpusPerNode": 8, "totalGpus": 16, "gpuSku": "h200_sxm"}
    })
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn profile() -> ProfileData {
    ProfileData {
        prefill: PrefillProfile {
            prefill_isl: vec![100.0, 1000.0, 4000.0],
            prefill_ttft: vec![20.0, 80.0, 300.0],
            prefill_thpt_per_gpu: vec![5000.0, 12500.0, 13333.3],
        },
        decode: DecodeProfile {
            x_kv_usage: vec![0.1, 0.5, 0.9],
            y_context_length: vec![4500.0, 4500.0, 4500.0],
            z_itl: vec![8.0, 12.0, 20.0],
            z_thpt_per_gpu: vec![500.0, 1800.0, 2600.0],
            max_kv_tokens: 400_000,
        },
    }
}

fn run(v: Value, plan: &DeploymentPlan, data: Option<&ProfileData>) -> Assembled {
    let s = spec(v);
    let dgd = render_dgd(&s, "req", Some("ns"), plan).unwrap();
    assemble(&s, dgd, plan, data).unwrap()
}

fn planner_json(a: &Assembled) -> Value {
    let cm = a
        .config_maps
        .iter()
        .find(|c| c.name.starts_with("planner-config-"))
        .unwrap();
    serde_json::from_str(&cm.data[PLANNER_CONFIG_FILE]).unwrap()
}

#[test]
fn no_layers_is_the_rendered_dgd() {
    let plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(1),
        Parallel::tp(2),
        false,
    );
    let s = spec(base());
    let dgd = render_dgd(&s, "req", None, &plan).unwrap();
    let manifest = dgd.manifest.clone();
    let a = assemble(&s, dgd, &plan, None).unwrap();
    assert_eq!(a.dgd, manifest);
    assert!(a.config_maps.is_empty());
    assert!(
        a.to_yaml()
            .starts_with("---\napiVersion: nvidia.com/v1alpha1\n")
    );
}

#[test]
fn load_only_planner_adds_service_and_config() {
    let plan = disagg(
        ConcreteBackend::Sglang,
        Parallel::tp(2),
        Parallel::tp(4),
        false,
    );
    let a = run(
        with(base(), "features", json!({"planner": {}})),
        &plan,
        None,
    );
    assert_eq!(a.config_maps.len(), 1);
    let cm = &a.config_maps[0];
    assert!(cm.name.starts_with("planner-config-"));
    let p = &a.dgd["spec"]["services"][PLANNER];
    assert_eq!(p["componentType"], "planner");
    assert_eq!(p["replicas"], 1);
    let mc = &p["extraPodSpec"]["mainContainer"];
    assert_eq!(mc["image"], "nvcr.io/nvidia/ai-dynamo/dynamo-planner:1.0.0");
    assert_eq!(mc["command"], json!(["python3", "-m", "dynamo.planner"]));
    assert_eq!(
        mc["args"],
        json!(["--config", "/workspace/planner_config/planner_config.json"])
    );
    assert_eq!(
        p["extraPodSpec"]["volumes"],
        json!([{"name": "planner-config", "configMap": {"name": cm.name}}])
    );
    let cfg = planner_json(&a);
    assert_eq!(cfg["prefill_engine_num_gpu"], 2);
    assert_eq!(cfg["decode_engine_num_gpu"], 4);
    assert_eq!(cfg["profile_results_dir"], PROFILE_DATA_DIR);
    assert_eq!(cfg["backend"], "sglang");
    assert_eq!(cfg["mode"], "disagg");
    assert_eq!(cfg["enable_load_scaling"], true);
    // The request's SLA (defaults 2000 / 30) drives the planner.
    assert_eq!(
        (cfg["ttft"].as_f64(), cfg["itl"].as_f64()),
        (Some(2000.0), Some(30.0))
    );
}

#[test]
fn throughput_planner_mounts_profile_data() {
    let plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(1),
        Parallel::tp(2),
        false,
    );
    let v = with(
        base(),
        "features",
        json!({"planner": {"optimization_target": "sla", "enable_throughput_scaling": true}}),
    );
    let s = spec(v.clone());
    let dgd = render_dgd(&s, "req", None, &plan).unwrap();
    assert_eq!(
        assemble(&s, dgd, &plan, None).unwrap_err(),
        AssembleError::ProfileDataMissing {
            needed_by: "the planner's throughput-based scaling"
        }
    );
    let a = run(v, &plan, Some(&profile()));
    let names: Vec<&str> = a.config_maps.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 2);
    assert!(names[0].starts_with("planner-config-"));
    assert!(names[1].starts_with("planner-profile-data-"));
    let data = &a.config_maps[1].data;
    let prefill: Value = serde_json::from_str(&data[PREFILL_DATA_FILE]).unwrap();
    assert_eq!(prefill["prefill_isl"], json!([100.0, 1000.0, 4000.0]));
    let decode: Value = serde_json::from_str(&data[DECODE_DATA_FILE]).unwrap();
    assert_eq!(decode["max_kv_tokens"], 400_000);
    let p = &a.dgd["spec"]["services"][PLANNER];
    assert_eq!(
        p["extraPodSpec"]["volumes"][1]["configMap"]["name"],
        names[1]
    );
    assert_eq!(
        p["extraPodSpec"]["mainContainer"]["volumeMounts"][1]["mountPath"],
        PROFILE_DATA_DIR
    );
    // Workers of a real backend do not get the profile data.
    assert!(
        a.dgd["spec"]["services"]["VllmDecodeWorker"]["extraPodSpec"]
            .get("volumes")
            .is_none()
    );
}

#[test]
fn mocker_replaces_workers() {
    let plan = disagg(
        ConcreteBackend::Trtllm,
        Parallel::tp(1),
        Parallel::tp(2),
        false,
    );
    let mut v = with(base(), "features", json!({"mocker": {"enabled": true}}));
    v["modelCache"] = json!({"pvcName": "cache", "pvcModelPath": "qwen"});
    let a = run(v, &plan, Some(&profile()));
    // TRT-LLM engine configs go with the TRT-LLM workers.
    assert_eq!(a.config_maps.len(), 1);
    assert!(a.config_maps[0].name.starts_with("planner-profile-data-"));
    let services = a.dgd["spec"]["services"].as_object().unwrap();
    assert_eq!(
        services.keys().collect::<Vec<_>>(),
        ["Frontend", "prefill", "decode"]
    );
    assert!(a.dgd["spec"].get("backendFramework").is_none());
    assert_eq!(a.dgd["spec"]["pvcs"][0]["name"], "cache");
    for role in ["prefill", "decode"] {
        let w = &services[role];
        assert_eq!(w["subComponentType"], role);
        assert!(w.get("resources").is_none());
        let mc = &w["extraPodSpec"]["mainContainer"];
        assert_eq!(
            mc["image"],
            "nvcr.io/nvidia/ai-dynamo/dynamo-frontend:1.0.0"
        );
        assert_eq!(mc["command"], json!(["python3", "-m", "dynamo.mocker"]));
        assert_eq!(
            mc["args"],
            json!([
                "--model-path",
                "/opt/model-cache/qwen",
                "--model-name",
                "Qwen/Qwen3-32B",
                "--speedup-ratio",
                "1.0",
                "--planner-profile-data",
                "/workspace/profiling_results",
                "--disaggregation-mode",
                role
            ])
        );
        assert_eq!(mc["volumeMounts"][0]["mountPath"], PROFILE_DATA_DIR);
        assert!(mc.get("env").is_none());
    }
    assert_eq!(services["prefill"]["replicas"], 2);

    let agg = DeploymentPlan {
        backend: ConcreteBackend::Vllm,
        moe: false,
        moe_top_k: None,
        topology: Topology::Agg {
            worker: engine(Parallel::tp(1), 1),
        },
        achieved: None,
    };
    let s = spec(with(
        base(),
        "features",
        json!({"mocker": {"enabled": true}}),
    ));
    let dgd = render_dgd(&s, "r", None, &agg).unwrap();
    assert_eq!(
        assemble(&s, dgd, &agg, Some(&profile())).unwrap_err(),
        AssembleError::MockerNeedsDisagg
    );
}

#[test]
fn mocker_with_planner_uses_mocker_backend() {
    let plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(1),
        Parallel::tp(1),
        false,
    );
    let v = with(
        base(),
        "features",
        json!({"mocker": {"enabled": true}, "planner": {}}),
    );
    let a = run(v, &plan, Some(&profile()));
    assert_eq!(planner_json(&a)["backend"], "mocker");
    assert_eq!(a.config_maps.len(), 2);
    let services = a.dgd["spec"]["services"].as_object().unwrap();
    assert_eq!(
        services.keys().collect::<Vec<_>>(),
        ["Frontend", "prefill", "decode", "Planner"]
    );
}

#[test]
fn achieved_targets_replace_an_unachievable_sla() {
    let mut plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(1),
        Parallel::tp(1),
        false,
    );
    plan.achieved = Some(AchievedTargets {
        ttft_ms: 312.4,
        itl_ms: 8.0,
        request_latency_ms: None,
    });
    let v = with(
        with(base(), "sla", json!({"ttft": 200.0, "itl": 10.0})),
        "features",
        json!({"planner": {}}),
    );
    let cfg = planner_json(&run(v, &plan, None));
    // TTFT was unachievable: the planner holds what the plan achieves; ITL was met.
    assert_eq!(cfg["ttft"], 312.4);
    assert_eq!(cfg["itl"], 10.0);

    let v = with(
        with(base(), "sla", json!({"e2eLatency": 20000.0})),
        "features",
        json!({"planner": {}}),
    );
    let cfg = planner_json(&run(v, &plan, None));
    assert_eq!(
        (cfg["ttft"].as_f64(), cfg["itl"].as_f64()),
        (Some(312.4), Some(8.0))
    );
}

#[test]
fn planner_mode_follows_the_topology() {
    let agg = DeploymentPlan {
        backend: ConcreteBackend::Vllm,
        moe: false,
        moe_top_k: None,
        topology: Topology::Agg {
            worker: engine(Parallel::tp(4), 2),
        },
        achieved: None,
    };
    let a = run(with(base(), "features", json!({"planner": {}})), &agg, None);
    let cfg = planner_json(&a);
    assert_eq!(cfg["mode"], "agg");
    assert_eq!(cfg["prefill_engine_num_gpu"], 4);
    assert_eq!(cfg["decode_engine_num_gpu"], 4);

    let plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(1),
        Parallel::tp(1),
        false,
    );
    let a = run(
        with(base(), "features", json!({"planner": {"mode": "agg"}})),
        &plan,
        None,
    );
    assert_eq!(planner_json(&a)["mode"], "disagg");
    assert!(
        a.diagnostics
            .iter()
            .any(|d| d.path == "spec.features.planner.mode")
    );
}

#[test]
fn overrides_apply_last_and_reach_the_planner() {
    let plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(1),
        Parallel::tp(1),
        false,
    );
    let mut v = with(base(), "features", json!({"planner": {}}));
    v["overrides"] = json!({
        "profilingJob": {"template": {"spec": {"tolerations": [{"key": "gpu", "operator": "Exists"}]}}},
        "dgd": {"spec": {"services": {
            "Planner": {"extraPodSpec": {"mainContainer": {"image": "mine/planner:1"}}},
            "VllmDecodeWorker": {"extraPodSpec": {"mainContainer": {"args": ["--enforce-eager"]}}},
            "Nope": {}
        }}}
    });
    let a = run(v, &plan, None);
    let s = &a.dgd["spec"]["services"];
    assert_eq!(
        s["Planner"]["extraPodSpec"]["mainContainer"]["image"],
        "mine/planner:1"
    );
    let args = s["VllmDecodeWorker"]["extraPodSpec"]["mainContainer"]["args"]
        .as_array()
        .unwrap();
    assert_eq!(args.last().unwrap(), "--enforce-eager");
    assert!(args.contains(&json!("--disaggregation-mode")));
    for name in [
        "Frontend",
        "VllmPrefillWorker",
        "VllmDecodeWorker",
        "Planner",
    ] {
        assert_eq!(
            s[name]["extraPodSpec"]["tolerations"][0]["key"], "gpu",
            "{name}"
        );
    }
    assert_eq!(a.diagnostics.len(), 1);
    assert_eq!(
        a.diagnostics[0].path,
        "spec.overrides.dgd.spec.services.Nope"
    );
}

#[test]
fn bad_profile_data_is_rejected() {
    let plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(1),
        Parallel::tp(1),
        false,
    );
    let v = with(base(), "features", json!({"mocker": {"enabled": true}}));
    let s = spec(v);
    let mut cases = Vec::new();
    let mut p = profile();
    p.prefill.prefill_ttft.pop();
    cases.push(p);
    let mut p = profile();
    p.decode.z_itl[0] = f64::NAN;
    cases.push(p);
    let mut p = profile();
    p.decode.x_kv_usage[0] = 1.5;
    cases.push(p);
    let mut p = profile();
    p.decode.max_kv_tokens = 0;
    cases.push(p);
    cases.push(ProfileData::default());
    for p in cases {
        let dgd = render_dgd(&s, "r", None, &plan).unwrap();
        assert!(matches!(
            assemble(&s, dgd, &plan, Some(&p)),
            Err(AssembleError::InvalidProfileData(_))
        ));
    }
}

#[test]
fn config_map_names_derive_from_content() {
    let plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(1),
        Parallel::tp(1),
        false,
    );
    let v = with(base(), "features", json!({"mocker": {"enabled": true}}));
    let a = run(v.clone(), &plan, Some(&profile()));
    let b = run(v.clone(), &plan, Some(&profile()));
    assert_eq!(a.config_maps[0].name, b.config_maps[0].name);
    let mut other = profile();
    other.decode.max_kv_tokens += 1;
    let c = run(v, &plan, Some(&other));
    assert_ne!(a.config_maps[0].name, c.config_maps[0].name);
}

#[test]
fn yaml_is_byte_identical_and_ordered() {
    let plan = disagg(
        ConcreteBackend::Trtllm,
        Parallel::tep(8),
        Parallel::dep(8),
        true,
    );
    let v = with(
        base(),
        "features",
        json!({"planner": {"optimization_target": "sla"}}),
    );
    let a = run(v.clone(), &plan, Some(&profile())).to_yaml();
    let b = run(v, &plan, Some(&profile())).to_yaml();
    assert_eq!(a, b);
    let kinds: Vec<&str> = a.lines().filter_map(|l| l.strip_prefix("kind: ")).collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "ConfigMap",
            "ConfigMap",
            "DynamoGraphDeployment"
        ]
    );
    let docs: Vec<Value> = a
        .split("---\n")
        .filter(|d| !d.is_empty())
        .map(|d| serde_yaml_ng::from_str(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 4);
    assert_eq!(docs[3]["spec"]["services"]["Planner"]["replicas"], 1);
}

#[test]
fn the_mocker_needs_no_node_size() {
    let plan = disagg(
        ConcreteBackend::Vllm,
        Parallel::tp(4),
        Parallel::tp(8),
        false,
    );
    let mut v = with(base(), "features", json!({"mocker": {"enabled": true}}));
    v["hardware"] = json!({"totalGpus": 16});
    let a = run(v, &plan, Some(&profile()));
    assert_eq!(a.meta.name, "req");
    assert!(
        a.dgd["spec"]["services"]["decode"]
            .get("resources")
            .is_none()
    );
}
