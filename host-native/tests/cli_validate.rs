//! `dgdr validate` as a user runs it: the real binary on files of the
//! conformance corpus (`tests/corpus/`), checking exit codes, the human
//! output, and that `--json` prints exactly the corpus's golden reports (which
//! `tests/tests/corpus.rs` checks against the core).

use dgdr_core::diag::Code;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus")
}

/// `dgdr ARGS` run from `tests/corpus/`, without colours.
fn dgdr(args: &[&str]) -> Output {
    dgdr_with_stdin(args, None)
}

fn dgdr_with_stdin(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dgdr"));
    cmd.args(args)
        .current_dir(corpus())
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run the dgdr binary");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("wait for dgdr")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("dgdr exited normally")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn golden(rel: &str) -> String {
    std::fs::read_to_string(corpus().join("expected").join(format!("{rel}.json")))
        .unwrap_or_else(|e| panic!("golden of {rel}: {e}"))
}

/// The flags a corpus case asks for in its first line.
fn flags_of(rel: &str) -> Vec<String> {
    let text = std::fs::read_to_string(corpus().join(rel)).expect("read case");
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("# dgdr-validate:"))
        .map(|f| f.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Every input of the corpus, relative to `tests/corpus/`.
fn corpus_inputs() -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir)
            .expect("read corpus folder")
            .flatten()
        {
            let p = entry.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            ) {
                let rel = p.strip_prefix(root).expect("under the corpus");
                out.push(
                    rel.components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/"),
                );
            }
        }
    }
    let root = corpus();
    let mut out = Vec::new();
    for dir in ["upstream", "cases"] {
        walk(&root, &root.join(dir), &mut out);
    }
    out.sort();
    out
}

#[test]
fn exit_code_0_for_a_valid_file() {
    let o = dgdr(&["validate", "cases/001-minimal-bare-spec.yaml"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("cases/001-minimal-bare-spec.yaml: valid"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn exit_code_1_for_an_invalid_file() {
    let o = dgdr(&["validate", "cases/084-missing-image.yaml"]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("invalid, 1 error"), "{}", stdout(&o));
}

#[test]
fn warnings_alone_keep_exit_code_0() {
    let o = dgdr(&["validate", "--what-if", "cases/024-what-if-no-image.yaml"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("valid, 1 warning"), "{}", stdout(&o));
}

#[test]
fn exit_code_2_for_a_syntax_error_with_line_and_column() {
    let rel = "cases/040-syntax-error-yaml.yaml";
    let g: Value = serde_json::from_str(&golden(rel)).expect("golden is JSON");
    let (line, column) = (g["line"].as_u64().unwrap(), g["column"].as_u64().unwrap());
    let o = dgdr(&["validate", rel]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!("{rel}:{line}:{column}:")),
        "no `file:line:column:` in {out}"
    );
    assert!(out.contains("DGDR-E001"), "{out}");
}

#[test]
fn exit_code_2_for_a_missing_file() {
    let o = dgdr(&["validate", "cases/no-such-file.yaml"]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("cases/no-such-file.yaml") && out.contains("cannot read"),
        "{out}"
    );
    let o = dgdr(&["validate", "--json", "cases/no-such-file.yaml"]);
    assert_eq!(code(&o), 2);
    let v: Value = serde_json::from_str(&stdout(&o)).expect("--json output is JSON");
    assert_eq!(v["valid"], Value::Bool(false));
    assert_eq!(v["errors"][0]["code"], "DGDR-E001");
}

/// Human output: a summary line per document, then one line per problem with
/// its severity, code, path, message and hint, for every problem of the golden.
#[test]
fn human_output_has_one_line_per_problem() {
    for rel in [
        "cases/111-all-problems-at-once.yaml",
        "cases/029-v1alpha1-errors-in-config.yaml",
        "cases/102-unknown-nested-fields.yaml",
    ] {
        let o = dgdr(&["validate", rel]);
        let out = stdout(&o);
        let problem_lines: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("  error[") || l.starts_with("  warning["))
            .collect();
        let g: Value = serde_json::from_str(&golden(rel)).expect("golden is JSON");
        let docs = match g {
            Value::Array(items) => items,
            other => vec![other],
        };
        let mut expected = Vec::new();
        for doc in &docs {
            for list in ["errors", "warnings"] {
                for d in doc[list].as_array().expect("a list of problems") {
                    let path = match d["path"].as_str().unwrap() {
                        "" => "<document>",
                        p => p,
                    };
                    expected.push(format!(
                        "  {}[{}] {}: {} hint: {}",
                        d["severity"].as_str().unwrap(),
                        d["code"].as_str().unwrap(),
                        path,
                        d["message"].as_str().unwrap(),
                        d["hint"].as_str().unwrap(),
                    ));
                }
            }
        }
        assert_eq!(problem_lines, expected, "{rel}: human output\n{out}");
        assert_eq!(
            out.lines().count(),
            docs.len() + expected.len(),
            "{rel}: one summary line per document plus one line per problem\n{out}"
        );
    }
}

/// `--json` prints exactly the golden report, for every file of the corpus.
#[test]
fn json_output_equals_the_goldens() {
    let mut differ = Vec::new();
    let inputs = corpus_inputs();
    assert!(
        inputs.len() >= 60,
        "corpus not found under {}",
        corpus().display()
    );
    for rel in &inputs {
        let flags = flags_of(rel);
        let mut args: Vec<&str> = vec!["validate", "--json"];
        args.extend(flags.iter().map(String::as_str));
        args.push(rel);
        let o = dgdr(&args);
        let out = stdout(&o);
        serde_json::from_str::<Value>(&out)
            .unwrap_or_else(|e| panic!("{rel}: --json output is not JSON ({e}):\n{out}"));
        if out != golden(rel) {
            differ.push(format!("dgdr {}", args.join(" ")));
        }
        // The exit code agrees with the report.
        let g: Value = serde_json::from_str(&golden(rel)).unwrap();
        let docs = match &g {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        let want = if docs.iter().any(|d| d.get("line").is_some()) {
            2
        } else if docs.iter().all(|d| d["valid"] == Value::Bool(true)) {
            0
        } else {
            1
        };
        assert_eq!(code(&o), want, "{rel}: exit code");
    }
    assert!(
        differ.is_empty(),
        "the binary's --json differs from the golden for (run from tests/corpus/):\n  {}\n\
         regenerate with UPDATE_GOLDEN=1 cargo test -p dgdr-tests --test corpus if the core changed",
        differ.join("\n  ")
    );
}

#[test]
fn dash_reads_standard_input() {
    let rel = "cases/079-both-rate-and-concurrency.yaml";
    let text = std::fs::read_to_string(corpus().join(rel)).unwrap();
    let o = dgdr_with_stdin(&["validate", "--json", "-"], Some(&text));
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let expected = golden(rel).replace(&format!("\"file\": \"{rel}\""), "\"file\": \"-\"");
    assert_eq!(stdout(&o), expected);

    let o = dgdr_with_stdin(
        &["validate", "-"],
        Some("model: Qwen/Qwen3-32B\nimage: i\n"),
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("-: valid"), "{}", stdout(&o));
}

#[test]
fn several_files_give_the_worst_exit_code() {
    let valid = "cases/001-minimal-bare-spec.yaml";
    let invalid = "cases/070-missing-model.yaml";
    let broken = "cases/042-syntax-error-duplicate-key.yaml";
    assert_eq!(
        code(&dgdr(&[
            "validate",
            valid,
            "cases/009-sla-ttft-and-itl.yaml"
        ])),
        0
    );
    assert_eq!(code(&dgdr(&["validate", valid, invalid])), 1);
    assert_eq!(code(&dgdr(&["validate", invalid, valid])), 1);
    assert_eq!(code(&dgdr(&["validate", broken, invalid, valid])), 2);
    assert_eq!(code(&dgdr(&["validate", valid, "cases/missing.yaml"])), 2);

    // With --json, one list entry per document of every file, in order.
    let o = dgdr(&[
        "validate",
        "--json",
        valid,
        "cases/018-multi-document-mixed.yaml",
        broken,
    ]);
    assert_eq!(code(&o), 2);
    let v: Value = serde_json::from_str(&stdout(&o)).expect("--json output is JSON");
    let files: Vec<(&str, u64)> = v
        .as_array()
        .expect("a list for several files")
        .iter()
        .map(|d| (d["file"].as_str().unwrap(), d["document"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        files,
        vec![
            (valid, 1),
            ("cases/018-multi-document-mixed.yaml", 1),
            ("cases/018-multi-document-mixed.yaml", 2),
            ("cases/018-multi-document-mixed.yaml", 3),
            (broken, 1),
        ]
    );
}

#[test]
fn options_change_the_verdict() {
    let rel = "cases/084-missing-image.yaml";
    assert_eq!(code(&dgdr(&["validate", rel])), 1);
    assert_eq!(code(&dgdr(&["validate", "--what-if", rel])), 0);
    let rel = "cases/001-minimal-bare-spec.yaml";
    let o = dgdr(&["validate", "--no-discovery", rel]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("DGDR-E025"), "{}", stdout(&o));
}

#[test]
fn list_codes_lists_every_code() {
    let o = dgdr(&["validate", "--list-codes"]);
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    for c in Code::ALL {
        let line = format!("{}  {}", c.as_str(), c.summary());
        assert!(
            out.lines().any(|l| l == line),
            "`{line}` missing from:\n{out}"
        );
    }
    assert_eq!(out.lines().count(), Code::ALL.len());

    let o = dgdr(&["validate", "--list-codes", "--json"]);
    assert_eq!(code(&o), 0);
    let v: Value = serde_json::from_str(&stdout(&o)).expect("--list-codes --json is JSON");
    let codes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(codes, all);
}
