//! Conformance of the rapid profile (`dgdr profile`) on the corpus.
//!
//! Every DGDR under `tests/corpus/upstream/` and `tests/corpus/cases/` that
//! parses to exactly one document (most of them name no hardware and fail
//! validation: that failure is the golden), and every profile-only case of
//! `tests/corpus/profile/inputs/` (requests that reach the picker: MoE
//! models, loads beyond the budget, the mocker, planners), is profiled with
//! `dgdr_core::driver::profile` and `Inputs::default()` — no local model
//! directories, no GPU discovery, as on a machine that has neither — and a
//! summary of the outcome is compared, byte for byte, with its golden
//! `tests/corpus/profile/<same path>.json` (for `profile/inputs/x.yaml`,
//! `profile/inputs/x.yaml.json` beside it; pretty JSON, trailing newline):
//!
//! - success: `ok: true`, the picking mode, the backend, the topology (per
//!   role: the mapping, replicas, max batch size, max tokens per step), the
//!   GPUs used, whether the SLA is met, the share of the load served
//!   (load-match capped by the budget), the achieved TTFT/ITL (0.1 ms), the
//!   warnings and notes, and the number of candidate rows;
//! - failure: `ok: false`, the phase, the message and the errors (path, code).
//!
//! A successful case also keeps its whole `final_config.yaml` as
//! `<golden path without .json>.final_config.yaml`, so a reviewer sees the
//! manifests; every DGD in it is validated against the CRD's schema
//! (`tests/schemas/dynamographdeployment.v1alpha1.json`, the copy
//! `render_schema.rs` keeps current) and every ConfigMap against
//! `tests/schemas/configmap.v1.json`.
//!
//! Invariants checked on every successful case, golden or not:
//! - GPUs used ≤ `hardware.totalGpus`, and equal to what the topology adds up to;
//! - picking mode is autoscale iff a planner is present, load_match iff a
//!   load (requestRate/concurrency) is set without a planner;
//! - an aggregated pick has neither the mocker nor a throughput planner on
//!   (they need separate prefill and decode curves);
//! - an SLA-unachievable pick says so in a warning and in a `SLAAchievable`
//!   `False` condition.
//!
//! Regenerate after an intended change (review the diff like code):
//!
//! ```sh
//! UPDATE_GOLDEN=1 cargo test -p dgdr-tests --test profile_corpus
//! ```

use dgdr_core::driver::{self, Failure, Inputs, Outcome};
use dgdr_core::plan::{Engine, Topology};
use dgdr_core::spec::{PickingMode, parse_documents};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The folders of the corpus that hold inputs, relative to `tests/corpus/`.
const INPUT_DIRS: &[&str] = &["upstream", "cases"];

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn corpus_dir() -> PathBuf {
    tests_dir().join("corpus")
}

fn profile_dir() -> PathBuf {
    corpus_dir().join("profile")
}

/// Profile-only cases: requests that exercise the picker where the
/// validation corpus does not (most of its cases name no hardware).
fn profile_inputs_dir() -> PathBuf {
    profile_dir().join("inputs")
}

/// A case: its path relative to `tests/corpus/` (as reports show it), and
/// the stem its goldens are named after (`<stem>.json`,
/// `<stem>.final_config.yaml`).
struct Input {
    rel: String,
    golden_stem: PathBuf,
}

fn rel_name(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).expect("path under the corpus");
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a file under `profile/inputs/` is a golden rather than an input.
fn is_golden_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".final_config.yaml") || name.ends_with(".json")
}

/// Every input: the validation corpus (goldens under `profile/<rel>`), then
/// the profile-only cases of `profile/inputs/` (goldens beside them), sorted.
fn inputs() -> Vec<Input> {
    let root = corpus_dir();
    let mut out = Vec::new();
    for dir in INPUT_DIRS {
        for p in dgdr_tests::files_with(&root.join(dir), &["yaml", "yml", "json"]) {
            let rel = rel_name(&root, &p);
            out.push(Input {
                golden_stem: profile_dir().join(&rel),
                rel,
            });
        }
    }
    for p in dgdr_tests::files_with(&profile_inputs_dir(), &["yaml", "yml"]) {
        if !is_golden_name(&p) {
            out.push(Input {
                rel: rel_name(&root, &p),
                golden_stem: p,
            });
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    out
}

fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Milliseconds (or percent) to one decimal.
fn tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn role(e: &Engine) -> Value {
    let p = &e.config.parallel;
    json!({
        "tp": p.tp,
        "pp": p.pp,
        "dp": p.dp,
        "moe_tp": p.moe_tp,
        "moe_ep": p.moe_ep,
        "replicas": e.replicas,
        "max_batch_size": e.config.max_batch_size,
        "max_num_tokens": e.config.max_num_tokens,
    })
}

fn gpus_of(e: &Engine) -> u64 {
    u64::from(e.config.parallel.gpus().unwrap_or(u32::MAX)) * u64::from(e.replicas)
}

fn success_summary(o: &Outcome) -> Value {
    let p = &o.pick;
    let topology = match &p.plan.topology {
        Topology::Agg { worker } => json!({"mode": "agg", "worker": role(worker)}),
        Topology::Disagg { prefill, decode } => {
            json!({"mode": "disagg", "prefill": role(prefill), "decode": role(decode)})
        }
    };
    let achieved = p
        .plan
        .achieved
        .as_ref()
        .map(|a| json!({"ttft_ms": tenth(a.ttft_ms), "itl_ms": tenth(a.itl_ms)}));
    let summary = o.status(Vec::new()).message;
    json!({
        "ok": true,
        "summary": summary.strip_prefix("profiling finished: ").unwrap_or(&summary),
        "picking_mode": p.mode,
        "backend": p.plan.backend,
        "topology": topology,
        "total_gpus_used": p.total_gpus_used,
        "sla_met": p.sla_met,
        "load_served_pct": p.load_served_pct.map(tenth),
        "achieved": achieved,
        "warnings": o.warnings(),
        "notes": o.search.notes.iter().chain(p.notes.iter()).collect::<Vec<_>>(),
        "candidates": o.search.rows.len(),
    })
}

fn failure_summary(f: &Failure) -> Value {
    json!({
        "ok": false,
        "phase": f.phase,
        "message": f.message,
        "errors": f
            .errors
            .iter()
            .map(|d| json!({"path": d.path, "code": d.code}))
            .collect::<Vec<_>>(),
    })
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("summary serializes");
    s.push('\n');
    s
}

/// The invariants of a successful profile; each violation as a sentence.
fn invariants(o: &Outcome) -> Vec<String> {
    let mut bad = Vec::new();
    let p = &o.pick;
    let spec = &o.spec;
    let budget = spec.hardware.total_gpus.unwrap_or(0);
    if p.total_gpus_used > budget {
        bad.push(format!(
            "uses {} GPUs, more than totalGpus {budget}",
            p.total_gpus_used
        ));
    }
    let topo_gpus = match &p.plan.topology {
        Topology::Agg { worker } => gpus_of(worker),
        Topology::Disagg { prefill, decode } => gpus_of(prefill) + gpus_of(decode),
    };
    if topo_gpus != u64::from(p.total_gpus_used) {
        bad.push(format!(
            "the topology adds up to {topo_gpus} GPUs but total_gpus_used is {}",
            p.total_gpus_used
        ));
    }
    let want = if spec.planner.is_some() {
        PickingMode::Autoscale
    } else if spec.workload.load.is_some() {
        PickingMode::LoadMatch
    } else {
        PickingMode::Default
    };
    if p.mode != want {
        bad.push(format!("picking mode {:?}, expected {want:?}", p.mode));
    }
    if !p.plan.topology.is_disagg() && spec.needs_profile_data() {
        bad.push(format!(
            "an aggregated pick with {} on: it needs prefill and decode curves",
            if spec.mocker {
                "the mocker"
            } else {
                "a throughput planner"
            }
        ));
    }
    if !p.sla_met {
        let said = p.warnings.iter().any(|w| {
            w.contains("is unachievable")
                || w.contains("cannot be met")
                || w.contains("not together")
        });
        if !said {
            bad.push(format!(
                "the SLA is not met but no warning says so: {:?}",
                p.warnings
            ));
        }
        if !o
            .conditions
            .iter()
            .any(|c| c.type_ == "SLAAchievable" && c.status == "False")
        {
            bad.push("the SLA is not met but there is no SLAAchievable False condition".into());
        }
    }
    if o.final_config != o.assembled.to_yaml() {
        bad.push("final_config differs from the assembled manifests".into());
    }
    bad
}

/// Every document of `final_config.yaml` against its schema.
fn schema_problems(final_config: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let mut kinds = Vec::new();
    for (i, d) in serde_yaml_ng::Deserializer::from_str(final_config).enumerate() {
        let doc: Value = match serde::Deserialize::deserialize(d) {
            Ok(v) => v,
            Err(e) => {
                bad.push(format!("document {}: not YAML: {e}", i + 1));
                continue;
            }
        };
        let kind = doc["kind"].as_str().unwrap_or("").to_string();
        let errs = match kind.as_str() {
            "DynamoGraphDeployment" => dgdr_tests::schema::errors(dgdr_tests::schema::dgd(), &doc),
            "ConfigMap" => dgdr_tests::schema::errors(dgdr_tests::schema::configmap(), &doc),
            other => vec![format!("unexpected kind `{other}`")],
        };
        bad.extend(
            errs.into_iter()
                .map(|e| format!("document {} ({kind}): {e}", i + 1)),
        );
        kinds.push(kind);
    }
    let dgds = kinds
        .iter()
        .filter(|k| *k == "DynamoGraphDeployment")
        .count();
    if dgds != 1 || kinds.last().map(String::as_str) != Some("DynamoGraphDeployment") {
        bad.push(format!(
            "expected ConfigMaps then one DynamoGraphDeployment, got {kinds:?}"
        ));
    }
    bad
}

/// The first differing lines of two texts, with a little context.
fn first_difference(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let Some(first) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) else {
        return "  (only the line endings differ)\n".into();
    };
    let mut out = String::new();
    let from = first.saturating_sub(2);
    for line in a.iter().take(first).skip(from) {
        out.push_str(&format!("     {line}\n"));
    }
    let shown = 8;
    for (i, line) in a.iter().enumerate().skip(first).take(shown) {
        if b.get(i) != Some(line) {
            out.push_str(&format!("  -{:>3} {line}\n", i + 1));
        }
    }
    for (i, line) in b.iter().enumerate().skip(first).take(shown) {
        if a.get(i) != Some(line) {
            out.push_str(&format!("  +{:>3} {line}\n", i + 1));
        }
    }
    out
}

/// Compares (or, updating, writes) one golden; `None` when it matches.
fn check_golden(path: &Path, actual: &str, update: bool, written: &mut usize) -> Option<String> {
    let expected = std::fs::read_to_string(path).ok();
    if expected.as_deref() == Some(actual) {
        return None;
    }
    if update {
        std::fs::create_dir_all(path.parent().expect("golden has a parent"))
            .expect("create the golden folder");
        std::fs::write(path, actual).expect("write golden");
        *written += 1;
        return None;
    }
    let rel = path.strip_prefix(tests_dir()).unwrap_or(path).display();
    Some(match expected {
        Some(e) => format!(
            "── {rel} differs (- golden, + now):\n{}",
            first_difference(&e, actual)
        ),
        None => format!("── {rel}: no golden file"),
    })
}

/// What a profile run gives.
type Run = Result<Box<Outcome>, Box<Failure>>;

/// One profiled case.
struct Case {
    input: Input,
    result: Run,
}

/// Profiles every single-document case, on a few threads.
fn run_corpus() -> Vec<Case> {
    let files: Vec<(Input, Value)> = inputs()
        .into_iter()
        .filter_map(|input| {
            let text = std::fs::read_to_string(corpus_dir().join(&input.rel))
                .unwrap_or_else(|e| panic!("{}: {e}", input.rel));
            let mut docs = parse_documents(&text).ok()?;
            (docs.len() == 1).then(|| (input, docs.remove(0)))
        })
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    let next = AtomicUsize::new(0);
    let results: Vec<(usize, Run)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((_, doc)) = files.get(i) else {
                            break done;
                        };
                        done.push((i, driver::profile(doc, Inputs::default()).map(Box::new)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a profiling thread panicked"))
            .collect()
    });
    let mut by_index: Vec<Option<Run>> = (0..files.len()).map(|_| None).collect();
    for (i, r) in results {
        by_index[i] = Some(r);
    }
    files
        .into_iter()
        .zip(by_index)
        .map(|((input, _), result)| Case {
            input,
            result: result.expect("every case was profiled"),
        })
        .collect()
}

#[test]
fn profile_corpus_matches_goldens() {
    let update = dgdr_tests::updating();
    let cases = run_corpus();
    assert!(
        cases.len() >= 50,
        "only {} single-document cases",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut violations = Vec::new();
    let mut written = 0;
    let mut wanted = BTreeSet::new();
    let mut ok = 0;
    for c in &cases {
        let json_path = with_suffix(&c.input.golden_stem, ".json");
        wanted.insert(json_path.clone());
        let summary = match &c.result {
            Ok(o) => {
                ok += 1;
                for v in invariants(o)
                    .into_iter()
                    .chain(schema_problems(&o.final_config))
                {
                    violations.push(format!("{}: {v}", c.input.rel));
                }
                let yaml_path = with_suffix(&c.input.golden_stem, ".final_config.yaml");
                wanted.insert(yaml_path.clone());
                if let Some(f) = check_golden(&yaml_path, &o.final_config, update, &mut written) {
                    failures.push(f);
                }
                success_summary(o)
            }
            Err(f) => failure_summary(f),
        };
        if let Some(f) = check_golden(&json_path, &pretty(&summary), update, &mut written) {
            failures.push(f);
        }
    }
    // Goldens whose case is gone (or no longer succeeds).
    let present = dgdr_tests::all_files(&profile_dir());
    let inputs_dir = profile_inputs_dir();
    let stale = present
        .into_iter()
        .filter(|g| !wanted.contains(g) && (!g.starts_with(&inputs_dir) || is_golden_name(g)));
    for g in stale {
        if update {
            std::fs::remove_file(&g).expect("remove stale golden");
            written += 1;
        } else {
            failures.push(format!(
                "── {}: golden without a case (delete it, or rerun with UPDATE_GOLDEN=1)",
                g.display()
            ));
        }
    }
    eprintln!(
        "{} cases profiled: {ok} succeeded, {} failed",
        cases.len(),
        cases.len() - ok
    );
    assert!(
        ok >= 20,
        "only {ok} cases profiled successfully: the goldens would show little of the picker"
    );
    assert!(
        violations.is_empty(),
        "{} invariant violation(s):\n{}",
        violations.len(),
        violations.join("\n")
    );
    if update {
        eprintln!("UPDATE_GOLDEN: {written} golden file(s) written or removed");
        return;
    }
    assert!(
        failures.is_empty(),
        "{} profile golden(s) differ:\n\n{}\n\nIf the change is intended, regenerate and review the diff:\n  \
         UPDATE_GOLDEN=1 cargo test -p dgdr-tests --test profile_corpus\n  git diff tests/corpus/profile/\n",
        failures.len(),
        failures.join("\n")
    );
}
