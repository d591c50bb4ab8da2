//! The validation conformance corpus (`tests/corpus/`, see its README).
//!
//! Every DGDR under `tests/corpus/upstream/` and `tests/corpus/cases/` is
//! validated with `dgdr_core::validate::validate_text` and the gates every host
//! uses, and the report is compared, byte for byte, with its golden file
//! `tests/corpus/expected/<same path>.json`, which holds exactly what
//! `dgdr validate --json [flags] FILE` prints when run from `tests/corpus/`
//! (`host-native/tests/cli_validate.rs` checks that the binary agrees).
//!
//! A case may ask for options in its first line:
//! `# dgdr-validate: --what-if --no-discovery` (either flag or both).
//!
//! To regenerate the goldens after an intended change (review the diff like
//! code):
//!
//! ```sh
//! UPDATE_GOLDEN=1 cargo test -p dgdr-tests --test corpus
//! ```

use dgdr_core::diag::{Code, Diagnostic, Report};
use dgdr_core::gates::default_gates;
use dgdr_core::spec::{ResolvedSpec, SourceVersion};
use dgdr_core::validate::{Options, Purpose, validate_text};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The folders of the corpus that hold inputs, relative to `tests/corpus/`.
const INPUT_DIRS: &[&str] = &["upstream", "cases"];

/// The minimum number of hand-written cases.
const MIN_CASES: usize = 60;

/// Every diagnostic code that validation can produce, with a case whose golden
/// shows it. A new code must get a case here (or a line in [`NOT_YET`]).
const COVERED: &[(Code, &str)] = &[
    (Code::Syntax, "cases/040-syntax-error-yaml.yaml"),
    (Code::NotAMapping, "cases/045-not-a-mapping-list.yaml"),
    (Code::WrongKind, "cases/049-wrong-kind.yaml"),
    (
        Code::UnsupportedApiVersion,
        "cases/050-unsupported-api-version.yaml",
    ),
    (Code::TypeMismatch, "cases/051-type-string.yaml"),
    (Code::InvalidEnum, "cases/059-enum-backend.yaml"),
    (Code::OutOfRange, "cases/063-range-zero.yaml"),
    (Code::MissingRequired, "cases/070-missing-model.yaml"),
    (Code::EmptyString, "cases/072-empty-model-and-image.yaml"),
    (
        Code::UnknownGpuSku,
        "cases/073-unknown-gpu-sku-near-miss.yaml",
    ),
    (Code::MalformedValue, "cases/076-bad-metadata-name.yaml"),
    (
        Code::ThoroughNeedsBackend,
        "cases/077-thorough-backend-auto-explicit.yaml",
    ),
    (
        Code::BothRateAndConcurrency,
        "cases/079-both-rate-and-concurrency.yaml",
    ),
    (Code::E2eWithTtftOrItl, "cases/080-e2e-with-ttft.yaml"),
    (Code::OneSlaTargetNull, "cases/082-sla-one-target-null.yaml"),
    (Code::ImageRequired, "cases/084-missing-image.yaml"),
    (
        Code::HardwareRequired,
        "cases/085-no-discovery-no-hardware.yaml",
    ),
    (
        Code::EngineBoundsInverted,
        "cases/087-engine-min-greater-than-max.yaml",
    ),
    (
        Code::ModelCacheInvalid,
        "cases/090-model-cache-path-joined-twice.yaml",
    ),
    (
        Code::PlannerThroughputNeedsSweep,
        "cases/094-planner-throughput-sweep-none.yaml",
    ),
    (
        Code::MockerNeedsSweep,
        "cases/095-mocker-planner-sweep-none.yaml",
    ),
    (Code::PlannerNoScaling, "cases/096-planner-no-scaling.yaml"),
    (
        Code::PlannerIntervalOrder,
        "cases/097-planner-interval-order.yaml",
    ),
    (
        Code::PlannerBucketNotSquare,
        "cases/098-planner-bucket-not-square.yaml",
    ),
    (Code::UnknownField, "cases/102-unknown-nested-fields.yaml"),
    (
        Code::ConvertedFromV1alpha1,
        "cases/027-v1alpha1-resource.yaml",
    ),
    (Code::ImageMissing, "cases/024-what-if-no-image.yaml"),
    (
        Code::PlannerSettingOverridden,
        "cases/121-resolve-warnings-with-an-error.yaml",
    ),
    (Code::Suspicious, "cases/105-suspicious-vram.yaml"),
    (
        Code::FieldIgnored,
        "cases/110-overrides-dgd-other-kind.yaml",
    ),
    (
        Code::PlannerNotCovered,
        "cases/128-planner-not-covered.yaml",
    ),
    (Code::ModelUnknown, "cases/122-model-unknown.yaml"),
    (Code::ModelDoesNotFit, "cases/124-model-does-not-fit.yaml"),
    (Code::FormatUnsupported, "cases/130-nvfp4-on-hopper.yaml"),
];

/// Codes the corpus cannot show yet, and why. When one starts appearing in a
/// golden, the test asks for it to move to [`COVERED`].
const NOT_YET: &[(Code, &str)] = &[
    (
        Code::SpecImmutable,
        "only validate_update (old vs new resource) produces it, never validate_text; \
         unit-tested in core/src/validate.rs",
    ),
    (
        Code::UnsupportedArchitecture,
        "every architecture of the built-in model catalog is modelled (DeepSeek-V4 and \
         Kimi-K3 were the last two refused), so no model id reaches it; a catalog built from \
         other configs does (unit-tested in core/src/catalog/model/alias.rs)",
    ),
];

/// JSON has no comments: what each JSON case checks and the verdict expected.
const JSON_CASES: &[(&str, &str)] = &[
    (
        "cases/019-json-valid.json",
        "a whole resource in JSON with hardware, a concurrency target and an e2e SLA \
         with nulls. Expected: valid, no warnings.",
    ),
    (
        "cases/043-syntax-error-json.json",
        "JSON with a trailing comma. Expected: unreadable (exit 2), DGDR-E001 at line 4, \
         column 23.",
    ),
    (
        "cases/044-syntax-error-json-after-blank-lines.json",
        "JSON whose error (a missing value, at the `}` of line 7) follows three blank \
         lines. Expected: DGDR-E001 at line 7, column 1 (the code says line 4: it \
         counts lines after the leading blank ones).",
    ),
    (
        "cases/048-not-a-mapping-json-array.json",
        "a JSON list at the top. Expected: invalid, DGDR-E002 at the document.",
    ),
    (
        "cases/114-json-errors.json",
        "a bare spec in JSON with a range error, a wrong type, no image, itl null, and a \
         typo. Expected: invalid, DGDR-E012, E010, E024, E023; warning DGDR-W001 \
         (totalGpu, did you mean totalGpus).",
    ),
];

/// One document's verdict as `dgdr validate --json` prints it.
///
/// This duplicates `JsonVerdict` of `host-native/src/cli/validate.rs` (the
/// CLI test compares the binary's output with the goldens, so the two cannot
/// drift apart unnoticed). It belongs in the core, next to `Verdict`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonVerdict {
    file: String,
    document: usize,
    #[serde(flatten)]
    report: Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<SourceVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved: Option<ResolvedSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// `cases/001-x.yaml` → `expected/cases/001-x.yaml.json`.
fn golden_path(rel: &str) -> PathBuf {
    corpus_dir().join("expected").join(format!("{rel}.json"))
}

/// Every input file of the corpus, as paths relative to `tests/corpus/` with
/// `/` separators, sorted.
fn inputs() -> Vec<String> {
    let mut out = Vec::new();
    for dir in INPUT_DIRS {
        walk(&corpus_dir(), &corpus_dir().join(dir), &mut out);
    }
    out.sort();
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(rel_name(root, &path));
        }
    }
}

fn rel_name(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).expect("path under the corpus");
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The options a case asks for in its first line, as the CLI flags do.
fn options_of(rel: &str, text: &str) -> Options {
    let mut opts = Options {
        purpose: Purpose::Profile,
        gpu_discovery: true,
    };
    let first = text.lines().next().unwrap_or("");
    if let Some(flags) = first.strip_prefix("# dgdr-validate:") {
        for flag in flags.split_whitespace() {
            match flag {
                "--what-if" => opts.purpose = Purpose::WhatIf,
                "--no-discovery" => opts.gpu_discovery = false,
                other => panic!(
                    "{rel}: unknown option `{other}` in `# dgdr-validate:` (only --what-if and --no-discovery)"
                ),
            }
        }
    }
    opts
}

/// The flags of a case, for the regeneration command and the CLI.
fn flags_of(text: &str) -> Vec<String> {
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("# dgdr-validate:"))
        .map(|f| f.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// What `dgdr validate --json [flags] <rel>` prints for this text.
fn report_json(rel: &str, text: &str) -> String {
    let opts = options_of(rel, text);
    let verdicts: Vec<JsonVerdict> = match validate_text(text, &opts, default_gates()) {
        Ok(vs) => vs
            .into_iter()
            .enumerate()
            .map(|(i, v)| JsonVerdict {
                file: rel.to_string(),
                document: i + 1,
                report: v.report,
                source: Some(v.source),
                resolved: None,
                line: None,
                column: None,
            })
            .collect(),
        // As the CLI reports a file that is not YAML/JSON.
        Err(e) => vec![JsonVerdict {
            file: rel.to_string(),
            document: 1,
            report: Report {
                valid: false,
                errors: vec![Diagnostic::error(
                    "",
                    Code::Syntax,
                    format!("not YAML or JSON: {}", e.message),
                    "fix the syntax at the position shown",
                )],
                warnings: Vec::new(),
            },
            source: None,
            resolved: None,
            line: e.line,
            column: e.column,
        }],
    };
    let text = if verdicts.len() == 1 {
        serde_json::to_string_pretty(&verdicts[0])
    } else {
        serde_json::to_string_pretty(&verdicts)
    }
    .expect("verdicts serialize");
    format!("{text}\n")
}

/// The codes a golden report shows.
fn codes_in(golden: &str) -> BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_str(golden).expect("golden is JSON");
    let docs = match v {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    let mut out = BTreeSet::new();
    for doc in docs {
        for list in ["errors", "warnings"] {
            for d in doc[list].as_array().into_iter().flatten() {
                if let Some(c) = d["code"].as_str() {
                    out.insert(c.to_string());
                }
            }
        }
    }
    out
}

/// A line diff (longest common subsequence), `-` expected, `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, "   {}", a[i]);
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "  -{}", a[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "  +{}", b[j]);
            j += 1;
        }
    }
    out
}

#[test]
fn corpus_matches_goldens() {
    let update = dgdr_tests::updating();
    let mut failures = Vec::new();
    let mut written = 0;
    let files = inputs();
    assert!(
        !files.is_empty(),
        "no corpus inputs under {}",
        corpus_dir().display()
    );
    for rel in &files {
        let text = std::fs::read_to_string(corpus_dir().join(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        let actual = report_json(rel, &text);
        let golden = golden_path(rel);
        let expected = std::fs::read_to_string(&golden).ok();
        if expected.as_deref() == Some(actual.as_str()) {
            continue;
        }
        if update {
            std::fs::create_dir_all(golden.parent().expect("golden has a parent"))
                .expect("create expected/ folder");
            std::fs::write(&golden, &actual).expect("write golden");
            written += 1;
            continue;
        }
        let flags = flags_of(&text);
        let cmd = format!(
            "(cd tests/corpus && dgdr validate --json {}{rel})",
            flags.iter().map(|f| format!("{f} ")).collect::<String>()
        );
        let body = match &expected {
            Some(e) => diff(e, &actual),
            None => format!("  (no golden file {})\n{actual}", golden.display()),
        };
        failures.push(format!("── {rel}  (same as {cmd})\n{body}"));
    }
    // Goldens whose case is gone.
    let wanted: BTreeSet<PathBuf> = files.iter().map(|r| golden_path(r)).collect();
    let stale = dgdr_tests::all_files(&corpus_dir().join("expected"));
    for g in stale.into_iter().filter(|g| !wanted.contains(g)) {
        if update {
            std::fs::remove_file(&g).expect("remove stale golden");
            written += 1;
        } else {
            failures.push(format!(
                "── {}: golden without a case (delete it, or rerun with UPDATE_GOLDEN=1)\n",
                g.display()
            ));
        }
    }
    if update {
        eprintln!("UPDATE_GOLDEN: {written} golden file(s) written or removed");
        return;
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus file(s) differ from their golden report (- golden, + now):\n\n{}\n\
         If the change is intended, regenerate the goldens and review the diff:\n  \
         UPDATE_GOLDEN=1 cargo test -p dgdr-tests --test corpus\n",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn every_code_is_covered_or_accounted_for() {
    if dgdr_tests::updating() {
        return;
    }
    let covered: BTreeMap<&str, &str> = COVERED.iter().map(|(c, f)| (c.as_str(), *f)).collect();
    let not_yet: BTreeMap<&str, &str> = NOT_YET.iter().map(|(c, r)| (c.as_str(), *r)).collect();
    assert_eq!(
        covered.len(),
        COVERED.len(),
        "a code is listed twice in COVERED"
    );
    assert_eq!(
        not_yet.len(),
        NOT_YET.len(),
        "a code is listed twice in NOT_YET"
    );
    let mut problems = Vec::new();
    for code in Code::ALL {
        let c = code.as_str();
        match (covered.get(c), not_yet.get(c)) {
            (Some(_), Some(_)) => problems.push(format!("{c} is both COVERED and NOT_YET")),
            (None, None) => problems.push(format!(
                "{c} ({}) has no corpus case: add one under tests/corpus/cases/ and list it in COVERED",
                code.summary()
            )),
            _ => {}
        }
    }
    // Each COVERED case really shows its code.
    for (code, rel) in COVERED {
        match std::fs::read_to_string(golden_path(rel)) {
            Ok(g) if codes_in(&g).contains(code.as_str()) => {}
            Ok(_) => problems.push(format!(
                "{rel} is listed for {code} but its golden does not show it"
            )),
            Err(e) => problems.push(format!("{rel}: no golden ({e})")),
        }
    }
    // A NOT_YET code that now appears has a case: move it to COVERED.
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for rel in inputs() {
        if let Ok(g) = std::fs::read_to_string(golden_path(&rel)) {
            for c in codes_in(&g) {
                seen.entry(c).or_insert_with(|| rel.clone());
            }
        }
    }
    for (code, _) in NOT_YET {
        if let Some(rel) = seen.get(code.as_str()) {
            problems.push(format!(
                "{code} now appears in {rel}: move it from NOT_YET to COVERED"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "coverage table out of date:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn cases_are_numbered_and_described() {
    let cases: Vec<String> = inputs()
        .into_iter()
        .filter(|r| r.starts_with("cases/"))
        .collect();
    assert!(
        cases.len() >= MIN_CASES,
        "only {} hand-written cases; the corpus keeps at least {MIN_CASES}",
        cases.len()
    );
    let json: BTreeMap<&str, &str> = JSON_CASES.iter().copied().collect();
    let mut numbers = BTreeMap::new();
    let mut problems = Vec::new();
    for rel in &cases {
        let name = rel.trim_start_matches("cases/");
        let number = name.split('-').next().unwrap_or("");
        let well_named = number.len() == 3
            && number.chars().all(|c| c.is_ascii_digit())
            && name.len() > 4
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c));
        if !well_named {
            problems.push(format!(
                "{rel}: name it NNN-short-description.yaml (or .json)"
            ));
        }
        if let Some(other) = numbers.insert(number.to_string(), rel.clone()) {
            problems.push(format!("{rel}: number {number} is also used by {other}"));
        }
        let text = std::fs::read_to_string(corpus_dir().join(rel)).expect("read case");
        if rel.ends_with(".json") {
            if !json.contains_key(rel.as_str()) {
                problems.push(format!(
                    "{rel}: JSON has no comments; describe it in JSON_CASES"
                ));
            }
            continue;
        }
        // After the optional options line: a comment saying what is checked and
        // the verdict expected.
        let comment: Vec<&str> = text
            .lines()
            .skip_while(|l| l.starts_with("# dgdr-validate:"))
            .take_while(|l| l.starts_with('#'))
            .collect();
        let said = comment.join("\n");
        if !said.contains("Checks:") || !said.contains("Expected") {
            problems.push(format!(
                "{rel}: start with a comment `# Checks: ...` and `# Expected: ...` (the verdict in words)"
            ));
        }
        if text
            .lines()
            .skip(1)
            .any(|l| l.starts_with("# dgdr-validate:"))
        {
            problems.push(format!("{rel}: `# dgdr-validate:` must be the first line"));
        }
    }
    for (rel, _) in JSON_CASES {
        if !cases.iter().any(|c| c == rel) {
            problems.push(format!("JSON_CASES names {rel}, which does not exist"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn diff_marks_changed_lines() {
    let d = diff("a\nb\nc\n", "a\nx\nc\n");
    assert_eq!(d, "   a\n  -b\n  +x\n   c\n");
}
