use super::*;
use crate::catalog::model::Catalog;
use crate::catalog::system::SystemCatalog;
use crate::search::{SearchInput, search};
use crate::validate::{DocumentOnly, Options, validate_text};

pub(crate) fn resolved(yaml: &str) -> ResolvedSpec {
    let v = validate_text(yaml, &Options::default(), &DocumentOnly).unwrap();
    let verdict = v.into_iter().next().unwrap();
    verdict
        .resolved
        .unwrap_or_else(|| panic!("{:?}", verdict.report))
}

pub(crate) fn spec_yaml(model: &str, backend: &str, gpus: u32, extra: &str) -> String {
    format!(
        "spec:\n  model: {model}\n  backend: {backend}\n  image: nvcr.io/nvidia/ai-dynamo/dynamo-runtime:1.0.0\n  hardware:\n    gpuSku: h200_sxm\n    numGpusPerNode: 8\n    totalGpus: {gpus}\n{extra}"
    )
}

pub(crate) fn run(spec: &ResolvedSpec) -> (SearchResult, Pick) {
    let model = Catalog::builtin().resolve(&spec.model).unwrap();
    let system = SystemCatalog::builtin().lookup("h200_sxm").unwrap();
    let input = SearchInput::from_spec(spec, &model, system).expect("a GPU budget");
    let s = search(&input).unwrap();
    let p = pick(spec, &s).unwrap();
    (s, p)
}

#[test]
fn default_mode_meets_the_sla_within_the_budget() {
    let spec = resolved(&spec_yaml(
        "Qwen/Qwen3-32B",
        "vllm",
        8,
        "  workload:\n    isl: 4000\n    osl: 500\n  sla:\n    ttft: 600\n    itl: 25\n",
    ));
    let (s, p) = run(&spec);
    assert!(!s.rows.is_empty());
    assert_eq!(p.mode, PickingMode::Default);
    assert!(p.sla_met, "{:?}", p.warnings);
    assert!(p.total_gpus_used <= 8);
    let c = p.chosen.as_ref().unwrap();
    assert!(c.row.ttft_ms <= 600.0 && c.row.tpot_ms <= 25.0);
    eprintln!(
        "{} rows; pick {} {:?} tps/gpu {:.0} ttft {:.0} tpot {:.1} replicas {}",
        s.rows.len(),
        c.row.label(),
        c.row.mode,
        c.row.tokens_per_s_per_gpu,
        c.row.ttft_ms,
        c.row.tpot_ms,
        c.replicas
    );
    for r in &p.top {
        eprintln!(
            "  {:?} {} cluster {:.0} tps/user {:.1} ttft {:.0} tpot {:.1} conc {}",
            r.row.mode,
            r.row.label(),
            r.cluster_tokens_per_s_per_gpu.unwrap_or(0.0),
            r.row.tokens_per_s_per_user,
            r.row.ttft_ms,
            r.row.tpot_ms,
            r.row.concurrency
        );
    }
}

#[test]
fn unachievable_sla_picks_the_closest_and_says_so() {
    let spec = resolved(&spec_yaml(
        "Qwen/Qwen3-32B",
        "vllm",
        8,
        "  workload:\n    isl: 4000\n    osl: 500\n  sla:\n    ttft: 20\n    itl: 2\n",
    ));
    let (_, p) = run(&spec);
    assert!(!p.sla_met);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("TTFT SLA 20.0ms is unachievable; best achievable")),
        "{:?}",
        p.warnings
    );
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("ITL SLA 2.0ms is unachievable"))
    );
    let a = p.plan.achieved.unwrap();
    assert!(a.ttft_ms > 20.0 && a.itl_ms > 2.0);
}

#[test]
fn load_match_never_exceeds_the_budget() {
    let spec = resolved(&spec_yaml(
        "Qwen/Qwen3-32B",
        "vllm",
        8,
        "  workload:\n    isl: 4000\n    osl: 500\n    requestRate: 500\n  sla:\n    ttft: 2000\n    itl: 50\n",
    ));
    let (_, p) = run(&spec);
    assert_eq!(p.mode, PickingMode::LoadMatch);
    assert!(p.total_gpus_used <= 8, "{}", p.total_gpus_used);
    let pct = p.load_served_pct.unwrap();
    assert!(pct > 0.0 && pct < 100.0, "{pct}");
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("capped at the budget"))
    );
}

#[test]
fn load_match_small_load_uses_few_gpus() {
    let spec = resolved(&spec_yaml(
        "Qwen/Qwen3-32B",
        "vllm",
        8,
        "  workload:\n    isl: 2000\n    osl: 200\n    requestRate: 0.5\n  sla:\n    ttft: 2000\n    itl: 50\n",
    ));
    let (_, p) = run(&spec);
    assert!(p.load_served_pct.is_none());
    assert!(p.total_gpus_used <= 2, "{:?}", p.chosen);
}

#[test]
fn autoscale_picks_one_worker_each() {
    let spec = resolved(&spec_yaml(
        "Qwen/Qwen3-32B",
        "sglang",
        8,
        "  workload:\n    isl: 3000\n    osl: 300\n  sla:\n    ttft: 1000\n    itl: 30\n  features:\n    planner:\n      enable_throughput_scaling: true\n      optimization_target: sla\n",
    ));
    let (_, p) = run(&spec);
    assert_eq!(p.mode, PickingMode::Autoscale);
    let Topology::Disagg { prefill, decode } = &p.plan.topology else {
        panic!("autoscale is disaggregated")
    };
    assert_eq!((prefill.replicas, decode.replicas), (1, 1));
    assert!(p.sla_met, "{:?}", p.warnings);
}

#[test]
fn deepseek_auto_backend_searches_moe_mappings() {
    let spec = resolved(&spec_yaml(
        "deepseek-ai/DeepSeek-R1",
        "auto",
        64,
        "  workload:\n    isl: 4000\n    osl: 1000\n  sla:\n    ttft: 3000\n    itl: 60\n",
    ));
    let (s, p) = run(&spec);
    assert!(s.backends.len() >= 2, "{:?}", s.backends);
    assert!(
        s.decode
            .iter()
            .any(|d| d.mapping.kind == crate::search::MappingKind::Dep)
    );
    assert!(
        !s.decode
            .iter()
            .any(|d| d.mapping.kind == crate::search::MappingKind::Tp)
    );
    assert!(p.total_gpus_used <= 64);
    eprintln!(
        "{} rows; {:?}",
        s.rows.len(),
        p.chosen.as_ref().map(|c| (
            c.row.label(),
            c.row.backend,
            c.replicas,
            c.row.tokens_per_s_per_gpu
        ))
    );
}

/// Regression: a disaggregated unit whose prefill workers are the bottleneck
/// holds fewer requests in flight than its decode batch (Little's law).
/// Load-match by concurrency used the decode batch and sent 64 users to one
/// prefill worker that starts 1.4 prompts/s (1 × TP1 + 2 × TP1, 3 GPUs),
/// promising a 785 ms TTFT the queue in front of prefill would never keep.
#[test]
fn load_match_by_concurrency_counts_what_prefill_sustains() {
    let spec = resolved(&spec_yaml(
        "Qwen/Qwen3-32B",
        "sglang",
        16,
        "  workload:\n    isl: 4000\n    osl: 500\n    concurrency: 64\n  sla:\n    ttft: 1500\n    itl: 30\n",
    ));
    let (s, p) = run(&spec);
    assert_eq!(p.mode, PickingMode::LoadMatch);
    for r in s.rows.iter().filter(|r| r.mode == ServingMode::Disagg) {
        let little = r.seq_per_s * r.request_latency_ms / 1000.0;
        let batch = r.batch_per_rank * r.mapping.parallel.dp.max(1) * r.decode_workers;
        assert!(r.concurrency <= batch, "{}", r.label());
        assert!(
            f64::from(r.concurrency) <= little.max(1.0) + 1.0 || r.concurrency == batch,
            "{} holds {} in flight but completes {:.2}/s of {:.0} ms",
            r.label(),
            r.concurrency,
            r.seq_per_s,
            r.request_latency_ms
        );
    }
    let c = p.chosen.as_ref().unwrap();
    let sustained = f64::from(c.replicas) * c.row.seq_per_s * c.row.request_latency_ms / 1000.0;
    assert!(
        sustained >= 0.85 * 64.0,
        "{} × {} sustains {sustained:.1} requests in flight, not 64",
        c.replicas,
        c.row.label()
    );
    assert!(p.total_gpus_used <= 16);
}
