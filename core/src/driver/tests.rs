use super::*;
use crate::spec::parse_documents;

fn doc(yaml: &str) -> Value {
    parse_documents(yaml).unwrap().remove(0)
}

const QWEN: &str = "apiVersion: nvidia.com/v1beta1
kind: DynamoGraphDeploymentRequest
metadata:
  name: qwen3-32b
  namespace: team-a
spec:
  model: Qwen/Qwen3-32B
  backend: vllm
  image: nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.0.0
  hardware:
    gpuSku: h200_sxm
    numGpusPerNode: 8
    totalGpus: 8
  workload:
    isl: 4000
    osl: 500
  sla:
    ttft: 600
    itl: 25
";

#[test]
fn rapid_run_walks_the_phases_in_order() {
    let mut d = Driver::new(&doc(QWEN), Inputs::default()).unwrap();
    let mut phases = Vec::new();
    let mut ev = Event::Continue;
    let out = loop {
        match d.step(ev) {
            Command::Report { phase, .. } => {
                phases.push(phase);
                ev = Event::Continue;
            }
            Command::Finished(o) => break o,
            other => panic!("unexpected {other:?}"),
        }
    };
    use ProfilingPhase as P;
    assert_eq!(
        phases,
        vec![
            P::SweepingPrefill,
            P::SweepingDecode,
            P::SelectingConfig,
            P::BuildingCurves,
            P::GeneratingDgd
        ]
    );
    assert!(out.final_config.contains("kind: DynamoGraphDeployment"));
    assert!(out.pick.sla_met);
    assert!(out.profile_data.is_some());
    let w = out.webui_data();
    assert_eq!(w["request"]["picking_mode"], "default");
    assert!(w["candidates"].as_array().unwrap().len() > 10);
    assert!(!w["pareto"]["agg"].as_array().unwrap().is_empty());
    // After the end, the driver only says so.
    assert!(matches!(d.step(Event::Continue), Command::Failed(_)));
}

#[test]
fn same_input_same_artifacts() {
    let a = profile(&doc(QWEN), Inputs::default()).unwrap();
    let b = profile(&doc(QWEN), Inputs::default()).unwrap();
    assert_eq!(a.final_config, b.final_config);
    assert_eq!(a.webui_data(), b.webui_data());
}

#[test]
fn missing_hardware_asks_for_discovery_and_uses_the_answer() {
    let yaml = QWEN
        .replace("    gpuSku: h200_sxm\n", "")
        .replace("    totalGpus: 8\n", "");
    let mut d = Driver::new(
        &doc(&yaml),
        Inputs {
            gpu_discovery: true,
            ..Inputs::default()
        },
    )
    .unwrap();
    assert_eq!(d.step(Event::Continue), Command::DiscoverHardware);
    let hw = DiscoveredHardware {
        gpu_sku: Some("h100_sxm".into()),
        vram_mb: None,
        total_gpus: Some(4),
        num_gpus_per_node: Some(16),
    };
    assert!(matches!(
        d.step(Event::Discovered(hw)),
        Command::Report {
            phase: ProfilingPhase::SweepingPrefill,
            ..
        }
    ));
    // Only the empty fields were filled.
    assert_eq!(d.spec().hardware.num_gpus_per_node, Some(8));
    assert_eq!(d.spec().hardware.total_gpus, Some(4));
}

#[test]
fn discovery_failure_fails_with_a_field_path() {
    let yaml = QWEN.replace("    gpuSku: h200_sxm\n", "");
    let mut d = Driver::new(
        &doc(&yaml),
        Inputs {
            gpu_discovery: true,
            ..Inputs::default()
        },
    )
    .unwrap();
    assert_eq!(d.step(Event::Continue), Command::DiscoverHardware);
    let Command::Failed(f) = d.step(Event::DiscoveryFailed("no nodes".into())) else {
        panic!()
    };
    assert_eq!(f.phase, ProfilingPhase::Initializing);
    assert_eq!(f.errors[0].path, "spec.hardware");
}

#[test]
fn invalid_request_lists_every_problem() {
    let yaml = QWEN
        .replace("isl: 4000", "isl: two")
        .replace("itl: 25", "itl: 0");
    let f = Driver::new(&doc(&yaml), Inputs::default()).unwrap_err();
    assert!(f.errors.len() >= 2, "{:?}", f.errors);
    let s = ProfilerStatus::failed(&f, vec![]).to_yaml();
    assert!(s.contains("status: failed"), "{s}");
}

#[test]
fn thorough_is_refused_with_a_reason() {
    let yaml = QWEN.replace(
        "  backend: vllm\n",
        "  backend: vllm\n  searchStrategy: thorough\n",
    );
    let f = profile(&doc(&yaml), Inputs::default()).unwrap_err();
    assert_eq!(f.errors[0].path, "spec.searchStrategy");
}

#[test]
fn mocker_gets_a_disaggregated_plan_and_profile_data() {
    let yaml = QWEN.replace(
        "  sla:\n",
        "  features:\n    mocker:\n      enabled: true\n  sla:\n",
    );
    let out = profile(&doc(&yaml), Inputs::default()).unwrap();
    assert!(out.pick.plan.topology.is_disagg());
    assert!(out.final_config.contains("planner-profile-data-"));
}
