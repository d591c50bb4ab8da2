//! Validation and gate checks (SPEC §2): the one function the CLI, the
//! admission webhook and the browser all call.
//!
//! It reports every problem at once. The rules that need the model catalog
//! and the performance model (model unknown, model does not fit, performance
//! model coverage) are behind the [`Gates`] trait, so that this module stays
//! about the document and a caller can choose how much it knows.

use crate::diag::{Code, Diagnostic, Diagnostics, Report};
use crate::spec::{
    self, Phase, ReadDocument, ResolvedSpec, SourceVersion, SyntaxError, parse_documents,
    read_document,
};
use serde::Serialize;
use serde_json::Value;

/// What the request is being validated for; it decides whether a missing
/// `image` is an error (profiling and deploying need one) or only a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// Profile and deploy: what the operator does.
    #[default]
    Profile,
    /// What-if planning: nothing is deployed.
    WhatIf,
}

/// The caller's situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Options {
    pub purpose: Purpose,
    /// Whether GPU discovery can fill the hardware the user left out (a
    /// cluster-scoped operator can; a namespace-restricted one or a laptop
    /// without GPUs cannot).
    pub gpu_discovery: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            purpose: Purpose::Profile,
            gpu_discovery: true,
        }
    }
}

/// The checks that need knowledge beyond the document: the model catalog, the
/// GPU catalog and the performance model. The performance-model issue
/// provides the real implementation; [`DocumentOnly`] skips them.
pub trait Gates {
    /// Model unknown or unreadable, architecture unsupported, model does not
    /// fit on the GPUs, planner needs a performance model that does not cover
    /// the model/GPU/backend. Push every problem found into `d`.
    fn check(&self, spec: &ResolvedSpec, d: &mut Diagnostics);
}

/// Checks the document only: no catalog lookups.
#[derive(Debug, Clone, Copy, Default)]
pub struct DocumentOnly;

impl Gates for DocumentOnly {
    fn check(&self, _spec: &ResolvedSpec, _d: &mut Diagnostics) {}
}

/// The verdict on one document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    #[serde(flatten)]
    pub report: Report,
    /// The API version the document was written in.
    pub source: SourceVersion,
    /// The request with every default applied, when it is valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<ResolvedSpec>,
}

/// Validates every document in a YAML/JSON text. A syntax error is not a
/// verdict: the text could not be read at all.
pub fn validate_text(
    text: &str,
    opts: &Options,
    gates: &dyn Gates,
) -> Result<Vec<Verdict>, SyntaxError> {
    let docs = parse_documents(text)?;
    if docs.is_empty() {
        let mut d = Diagnostics::new();
        d.push(Diagnostic::error(
            "",
            Code::NotAMapping,
            "the file holds no document",
            "write a DynamoGraphDeploymentRequest, or at least its spec with `model`",
        ));
        return Ok(vec![Verdict {
            report: Report::from_diagnostics(d),
            source: SourceVersion::V1beta1,
            resolved: None,
        }]);
    }
    Ok(docs
        .iter()
        .map(|doc| validate_value(doc, opts, gates))
        .collect())
}

/// Validates one parsed document.
pub fn validate_value(doc: &Value, opts: &Options, gates: &dyn Gates) -> Verdict {
    let read = read_document(doc);
    validate_read(read, opts, gates)
}

/// Validates a document that has been read.
pub fn validate_read(read: ReadDocument, opts: &Options, gates: &dyn Gates) -> Verdict {
    let ReadDocument {
        dgdr,
        source,
        mut diagnostics,
        paths,
        ..
    } = read;
    let Some(dgdr) = dgdr else {
        return Verdict {
            report: Report::from_diagnostics(diagnostics),
            source,
            resolved: None,
        };
    };
    let spec = &dgdr.spec;
    // Without a readable `spec` there is nothing more to say about its fields.
    let spec_unreadable = diagnostics.iter().any(|x| x.is_error() && x.path == "spec");
    let resolved = if spec_unreadable {
        None
    } else {
        check_document(spec, opts, &mut diagnostics);
        spec::resolve(spec, &mut diagnostics)
    };
    if let Some(r) = &resolved
        && !diagnostics.has_errors()
    {
        // Gates only make sense on a request that is otherwise sound.
        gates.check(r, &mut diagnostics);
    }
    let resolved = resolved.filter(|_| !diagnostics.has_errors());
    if let Some(paths) = &paths {
        diagnostics = diagnostics
            .into_iter()
            .map(|mut x| {
                x.path = paths.to_source(&x.path);
                x
            })
            .collect();
    }
    Verdict {
        report: Report::from_diagnostics(sorted(diagnostics)),
        source,
        resolved,
    }
}

/// The rules that depend on the caller's situation, not only on the fields.
fn check_document(spec: &spec::Spec, opts: &Options, d: &mut Diagnostics) {
    if spec.image.is_none() {
        match opts.purpose {
            Purpose::Profile => d.push(Diagnostic::error(
                "spec.image",
                Code::ImageRequired,
                "`image` is required to profile and deploy",
                "set the Dynamo runtime image, e.g. `nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.0.0` (worker images are derived from it)",
            )),
            Purpose::WhatIf => d.push(Diagnostic::warning(
                "spec.image",
                Code::ImageMissing,
                "no `image`: fine for what-if planning, but deploying needs one",
                "set the Dynamo runtime image before deploying",
            )),
        }
    }
    let hw = spec.hardware.clone().unwrap_or_default();
    if !opts.gpu_discovery {
        if hw.gpu_sku.is_none() {
            d.push(Diagnostic::error(
                "spec.hardware.gpuSku",
                Code::HardwareRequired,
                "GPU discovery is not available, so `hardware.gpuSku` is required",
                "name the GPU system, e.g. `h200_sxm` (run `dgdr discover` on a GPU node to find it)",
            ));
        }
        if hw.num_gpus_per_node.is_none() {
            d.push(Diagnostic::error(
                "spec.hardware.numGpusPerNode",
                Code::HardwareRequired,
                "GPU discovery is not available, so `hardware.numGpusPerNode` is required",
                "give the number of GPUs in one node, e.g. 8",
            ));
        }
    }
    if let Some(sku) = &hw.gpu_sku {
        crate::gates::check_gpu_sku(sku, hw.vram_mb, d);
    }
    if let (Some(total), Some(per_node)) = (hw.total_gpus, hw.num_gpus_per_node)
        && total > per_node
        && total % per_node != 0
    {
        d.push(Diagnostic::warning(
            "spec.hardware.totalGpus",
            Code::Suspicious,
            format!("totalGpus ({total}) is not a whole number of {per_node}-GPU nodes"),
            "dgdr plans with totalGpus as the budget; check numGpusPerNode",
        ));
    }
    if let (Some(min), Some(total)) = (hw.min_num_gpus_per_engine, hw.total_gpus)
        && min > total
    {
        d.push(Diagnostic::error(
            "spec.hardware.minNumGpusPerEngine",
            Code::EngineBoundsInverted,
            format!("an engine needs at least {min} GPUs, but totalGpus is {total}"),
            "lower minNumGpusPerEngine or raise totalGpus",
        ));
    }
    if let Some(dgd) = spec.overrides.as_ref().and_then(|o| o.dgd.as_ref()) {
        for (field, want) in [
            ("apiVersion", "nvidia.com/v1alpha1"),
            ("kind", "DynamoGraphDeployment"),
        ] {
            if let Some(v) = dgd.get(field)
                && v.as_str() != Some(want)
            {
                d.push(Diagnostic::warning(
                    format!("spec.overrides.dgd.{field}"),
                    Code::FieldIgnored,
                    format!(
                        "{field} {} is ignored: the output is always a nvidia.com/v1alpha1 DynamoGraphDeployment",
                        spec::decode::show(v)
                    ),
                    format!("write `{field}: {want}` or leave it out"),
                ));
            }
        }
    }
}

/// Errors first, then warnings; within each, document order is kept. A field
/// whose value was unreadable (wrong type, unknown word) is reported once:
/// not also as "missing" by the rules that could not see its value.
fn sorted(d: Diagnostics) -> Diagnostics {
    let v = d.into_vec();
    let unreadable: Vec<&str> = v
        .iter()
        .filter(|x| matches!(x.code, Code::TypeMismatch | Code::InvalidEnum))
        .map(|x| x.path.as_str())
        .collect();
    // Rules that read another field's value say nothing when that value was
    // unreadable: `thorough` with an unreadable backend is not "backend auto".
    let depends_on = |c: Code| match c {
        Code::ThoroughNeedsBackend => Some("spec.backend"),
        _ => None,
    };
    let mut errors_at: Vec<&str> = Vec::new();
    let mut keep = Vec::with_capacity(v.len());
    for x in &v {
        if x.is_error() {
            // One error per field: the first, which is the most basic one
            // (a range error, not also "required" for the same field).
            if errors_at.contains(&x.path.as_str())
                || depends_on(x.code).is_some_and(|p| unreadable.contains(&p))
            {
                continue;
            }
            errors_at.push(x.path.as_str());
        }
        keep.push(x.clone());
    }
    let mut v = keep;
    v.sort_by_key(|x| x.severity);
    let mut out = Diagnostics::new();
    out.extend(v);
    out
}

/// The admission rule for updates: once profiling has started, the spec is
/// frozen (SPEC §2, §7.2). `old` and `new` are whole resources.
pub fn validate_update(old: &Value, new: &Value) -> Report {
    let mut d = Diagnostics::new();
    let phase = read_document(old)
        .dgdr
        .and_then(|r| r.status)
        .and_then(|s| s.phase);
    if let Some(phase @ (Phase::Profiling | Phase::Deploying | Phase::Deployed)) = phase
        && old.get("spec") != new.get("spec")
    {
        d.push(Diagnostic::error(
            "spec",
            Code::SpecImmutable,
            format!("the spec cannot change while the request is {phase}"),
            "delete the DynamoGraphDeploymentRequest and create a new one with the changed spec",
        ));
    }
    Report::from_diagnostics(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(text: &str, opts: Options) -> Vec<(String, Code)> {
        let v = validate_text(text, &opts, &DocumentOnly).unwrap();
        v[0].report
            .errors
            .iter()
            .chain(v[0].report.warnings.iter())
            .map(|d| (d.path.clone(), d.code))
            .collect()
    }

    #[test]
    fn all_problems_at_once() {
        let text = "model: ''\nbackend: tensorrt\nworkload:\n  isl: two\n  requestRate: 1\n  concurrency: 2\nsla:\n  ttf: 10\n";
        let c = codes(text, Options::default());
        for want in [
            ("spec.backend", Code::InvalidEnum),
            ("spec.workload.isl", Code::TypeMismatch),
            ("spec.image", Code::ImageRequired),
            ("spec.model", Code::EmptyString),
            ("spec.workload", Code::BothRateAndConcurrency),
            ("spec.sla.ttf", Code::UnknownField),
        ] {
            assert!(
                c.contains(&(want.0.to_string(), want.1)),
                "{want:?} not in {c:?}"
            );
        }
    }

    #[test]
    fn image_is_a_warning_for_what_if() {
        let opts = Options {
            purpose: Purpose::WhatIf,
            gpu_discovery: true,
        };
        let v = validate_text("model: Qwen/Qwen3-32B\n", &opts, &DocumentOnly).unwrap();
        assert!(v[0].report.valid);
        assert_eq!(v[0].report.warnings[0].code, Code::ImageMissing);
    }

    #[test]
    fn hardware_required_without_discovery() {
        let opts = Options {
            purpose: Purpose::Profile,
            gpu_discovery: false,
        };
        let c = codes("model: m\nimage: i\n", opts);
        assert_eq!(
            c,
            vec![
                ("spec.hardware.gpuSku".into(), Code::HardwareRequired),
                (
                    "spec.hardware.numGpusPerNode".into(),
                    Code::HardwareRequired
                )
            ]
        );
    }

    #[test]
    fn spec_is_frozen_while_profiling() {
        let old = json!({"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeploymentRequest",
            "spec": {"model": "a"}, "status": {"phase": "Profiling"}});
        let mut new = old.clone();
        new["spec"]["model"] = json!("b");
        assert_eq!(
            validate_update(&old, &new).errors[0].code,
            Code::SpecImmutable
        );
        let mut pending = old.clone();
        pending["status"]["phase"] = json!("Pending");
        assert!(validate_update(&pending, &new).valid);
    }
}
