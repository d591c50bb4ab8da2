//! `dgdr validate`: check DGDR files and list every problem.

use super::exit;
use super::style::{self, paint};
use dgdr_core::diag::{Code, Diagnostic, Report, Severity};
use dgdr_core::validate::{self, Options, Purpose, Verdict};
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Check DynamoGraphDeploymentRequest files and report every problem at once.
///
/// Each problem is shown on one line with the path of the field
/// (e.g. `spec.workload.requestRate`), a stable code, what is wrong and how to
/// fix it. A file may hold a whole resource or only its `spec`, in YAML or
/// JSON, as v1beta1 or the legacy v1alpha1.
///
/// Exit codes: 0 all valid, 1 some document invalid, 2 a file unreadable or not
/// YAML/JSON.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  dgdr validate my-dgdr.yaml\n  dgdr validate --json a.yaml b.yaml\n  cat my-dgdr.yaml | dgdr validate -\n  dgdr validate --list-codes"
)]
pub struct Args {
    /// Files to check; `-` reads standard input.
    #[arg(required_unless_present = "list_codes")]
    files: Vec<PathBuf>,
    /// Print the reports as JSON: one object for one document, else a list.
    #[arg(long)]
    json: bool,
    /// What-if planning: a missing `image` is a warning, not an error.
    #[arg(long)]
    what_if: bool,
    /// No GPU discovery (namespace-restricted operator, no cluster): then
    /// `hardware.gpuSku` and `hardware.numGpusPerNode` are required.
    #[arg(long)]
    no_discovery: bool,
    /// Also print the request with every default applied (with --json).
    #[arg(long)]
    resolved: bool,
    /// List every diagnostic code with its meaning, and exit.
    #[arg(long)]
    list_codes: bool,
}

/// One document's verdict as printed with `--json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonVerdict {
    file: String,
    /// 1-based document number within the file.
    document: usize,
    #[serde(flatten)]
    report: Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<dgdr_core::spec::SourceVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved: Option<dgdr_core::spec::ResolvedSpec>,
    /// Where a syntax error is, for files that are not YAML/JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
}

pub fn run(args: &Args) -> i32 {
    if args.list_codes {
        return list_codes(args.json);
    }
    let opts = Options {
        purpose: if args.what_if {
            Purpose::WhatIf
        } else {
            Purpose::Profile
        },
        gpu_discovery: !args.no_discovery,
    };
    // Paths in `spec.model` are read from this machine's disk.
    let gates =
        dgdr_core::gates::CatalogGates::new().with_source(Box::new(crate::local_models::FsModels));
    let gates = &gates;
    let mut code = exit::OK;
    let mut out: Vec<JsonVerdict> = Vec::new();
    for file in &args.files {
        let name = file.display().to_string();
        let text = match read_input(file) {
            Ok(t) => t,
            Err(e) => {
                code = code.max(exit::UNREADABLE);
                let d = Diagnostic::error(
                    "",
                    Code::Syntax,
                    format!("cannot read the file: {e}"),
                    "check the path and permissions",
                );
                emit_failure(args.json, &name, d, None, None, &mut out);
                continue;
            }
        };
        match validate::validate_text(&text, &opts, gates) {
            Err(e) => {
                code = code.max(exit::UNREADABLE);
                let d = Diagnostic::error(
                    "",
                    Code::Syntax,
                    format!("not YAML or JSON: {}", e.message),
                    "fix the syntax at the position shown",
                );
                emit_failure(args.json, &name, d, e.line, e.column, &mut out);
            }
            Ok(verdicts) => {
                let many = verdicts.len() > 1;
                for (i, v) in verdicts.into_iter().enumerate() {
                    if !v.report.valid {
                        code = code.max(exit::INVALID);
                    }
                    let label = if many {
                        format!("{name} (document {})", i + 1)
                    } else {
                        name.clone()
                    };
                    if args.json {
                        out.push(JsonVerdict {
                            file: name.clone(),
                            document: i + 1,
                            source: Some(v.source),
                            resolved: if args.resolved {
                                v.resolved.clone()
                            } else {
                                None
                            },
                            report: v.report,
                            line: None,
                            column: None,
                        });
                    } else {
                        print_verdict(&label, &v);
                    }
                }
            }
        }
    }
    if args.json {
        let text = if out.len() == 1 {
            serde_json::to_string_pretty(&out[0])
        } else {
            serde_json::to_string_pretty(&out)
        };
        match text {
            Ok(t) => anstream::println!("{t}"),
            Err(e) => {
                anstream::eprintln!("dgdr: internal error writing JSON: {e}");
                return exit::INTERNAL;
            }
        }
    }
    code
}

/// A file's text, or standard input's for `-`.
pub(super) fn read_input(file: &Path) -> std::io::Result<String> {
    if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s)
    } else {
        std::fs::read_to_string(file)
    }
}

fn emit_failure(
    json: bool,
    name: &str,
    d: Diagnostic,
    line: Option<usize>,
    column: Option<usize>,
    out: &mut Vec<JsonVerdict>,
) {
    if json {
        out.push(JsonVerdict {
            file: name.to_string(),
            document: 1,
            report: Report {
                valid: false,
                errors: vec![d],
                warnings: Vec::new(),
            },
            source: None,
            resolved: None,
            line,
            column,
        });
        return;
    }
    let pos = match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    };
    anstream::println!(
        "{} {}{}: {} {}",
        paint("✗", style::error()),
        paint(name, style::bold()),
        pos,
        d.message,
        paint(format!("[{}]", d.code), style::dim()),
    );
}

fn print_verdict(label: &str, v: &Verdict) {
    let r = &v.report;
    let counts = |n: usize, what: &str| {
        if n == 1 {
            format!("1 {what}")
        } else {
            format!("{n} {what}s")
        }
    };
    let legacy = match v.source {
        dgdr_core::spec::SourceVersion::V1alpha1 => " (legacy v1alpha1, converted)",
        dgdr_core::spec::SourceVersion::V1beta1 => "",
    };
    if r.valid {
        let tail = if r.warnings.is_empty() {
            String::new()
        } else {
            format!(", {}", counts(r.warnings.len(), "warning"))
        };
        anstream::println!(
            "{} {}: valid{legacy}{tail}",
            paint("✓", style::ok()),
            paint(label, style::bold())
        );
    } else {
        let mut parts = vec![counts(r.errors.len(), "error")];
        if !r.warnings.is_empty() {
            parts.push(counts(r.warnings.len(), "warning"));
        }
        anstream::println!(
            "{} {}: invalid{legacy}, {}",
            paint("✗", style::error()),
            paint(label, style::bold()),
            parts.join(", ")
        );
    }
    for d in r.errors.iter().chain(r.warnings.iter()) {
        print_diagnostic(d);
    }
}

fn print_diagnostic(d: &Diagnostic) {
    let (word, st) = match d.severity {
        Severity::Error => ("error", style::error()),
        Severity::Warning => ("warning", style::warning()),
    };
    let path = if d.path.is_empty() {
        "<document>"
    } else {
        &d.path
    };
    let hint = if d.hint.is_empty() {
        String::new()
    } else {
        format!(" {} {}", paint("hint:", style::dim()), d.hint)
    };
    anstream::println!(
        "  {}{} {}: {}{hint}",
        paint(word, st),
        paint(format!("[{}]", d.code), st),
        paint(path, style::path()),
        d.message,
    );
}

fn list_codes(json: bool) -> i32 {
    if json {
        let v: Vec<_> = Code::ALL
            .iter()
            .map(|c| serde_json::json!({"code": c.as_str(), "meaning": c.summary()}))
            .collect();
        match serde_json::to_string_pretty(&v) {
            Ok(t) => anstream::println!("{t}"),
            Err(_) => return exit::INTERNAL,
        }
    } else {
        for c in Code::ALL {
            anstream::println!("{}  {}", paint(c.as_str(), style::bold()), c.summary());
        }
    }
    exit::OK
}
