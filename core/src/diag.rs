//! Diagnostics: the one shape every problem the core finds takes.
//!
//! A diagnostic names *where* (a JSON path such as `spec.workload.requestRate`),
//! *what* (a stable [`Code`]), says it in words a person can act on, and hints at
//! the fix. The CLI prints them, the webhook turns them into an AdmissionReview
//! denial, the browser shows them beside the field: none of them builds its own
//! message strings.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($( $(#[doc = $doc:expr])* $variant:ident = $code:literal ),* $(,)?) => {
        /// Stable diagnostic codes. A code never changes meaning once released;
        /// `docs/validation-codes.md` lists them (generated from these doc comments
        /// by `dgdr validate --list-codes`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable string form, e.g. `DGDR-E010`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => concat!($($doc),*).trim_ascii(), )* }
            }

            /// Parses the string form back.
            pub fn parse(s: &str) -> Option<Code> {
                match s { $( $code => Some(Code::$variant), )* _ => None }
            }
        }
    };
}

codes! {
    /// The document is not valid YAML or JSON.
    Syntax = "DGDR-E001",
    /// The document (or `spec`) is not a mapping of fields.
    NotAMapping = "DGDR-E002",
    /// `kind` is not `DynamoGraphDeploymentRequest`.
    WrongKind = "DGDR-E003",
    /// `apiVersion` is neither `nvidia.com/v1beta1` nor `nvidia.com/v1alpha1`.
    UnsupportedApiVersion = "DGDR-E004",
    /// A field has the wrong type (a string where a number belongs, ...).
    TypeMismatch = "DGDR-E010",
    /// A field's value is not one of the allowed values.
    InvalidEnum = "DGDR-E011",
    /// A number is out of its allowed range (must be > 0, fit in 32 bits, ...).
    OutOfRange = "DGDR-E012",
    /// A required field is missing.
    MissingRequired = "DGDR-E013",
    /// A string that must not be empty is empty.
    EmptyString = "DGDR-E014",
    /// `hardware.gpuSku` names a GPU system dgdr does not know.
    UnknownGpuSku = "DGDR-E015",
    /// A field holds a value that is malformed for its purpose (a path, a name).
    MalformedValue = "DGDR-E016",
    /// `searchStrategy: thorough` needs a concrete backend, not `auto`.
    ThoroughNeedsBackend = "DGDR-E020",
    /// `workload.requestRate` and `workload.concurrency` are both set.
    BothRateAndConcurrency = "DGDR-E021",
    /// `sla.e2eLatency` is set together with `sla.ttft` or `sla.itl`.
    E2eWithTtftOrItl = "DGDR-E022",
    /// Exactly one of `sla.ttft` and `sla.itl` is null.
    OneSlaTargetNull = "DGDR-E023",
    /// `image` is missing, and profiling or deploying needs it.
    ImageRequired = "DGDR-E024",
    /// No hardware given and GPU discovery is not available.
    HardwareRequired = "DGDR-E025",
    /// `hardware.minNumGpusPerEngine` is larger than `hardware.maxNumGpusPerEngine`.
    EngineBoundsInverted = "DGDR-E026",
    /// `modelCache` is incomplete or would join the model path twice.
    ModelCacheInvalid = "DGDR-E027",
    /// Throughput-based planner scaling with `pre_deployment_sweeping_mode: none`.
    PlannerThroughputNeedsSweep = "DGDR-E030",
    /// Throughput-based planner scaling with a rapid sweep on a model, GPU or backend the performance model does not cover.
    PlannerNotCovered = "DGDR-E031",
    /// Mocker enabled with a planner whose `pre_deployment_sweeping_mode` is `none`.
    MockerNeedsSweep = "DGDR-E032",
    /// The planner has neither throughput nor load scaling enabled.
    PlannerNoScaling = "DGDR-E033",
    /// `load_adjustment_interval` is not shorter than `throughput_adjustment_interval`.
    PlannerIntervalOrder = "DGDR-E034",
    /// `fpm_sample_bucket_size` is not a perfect square.
    PlannerBucketNotSquare = "DGDR-E035",
    /// The model is unknown to the catalog, or its config cannot be read.
    ModelUnknown = "DGDR-E040",
    /// The model's weights do not fit on the GPUs available.
    ModelDoesNotFit = "DGDR-E041",
    /// The model's architecture is not supported by the performance model.
    UnsupportedArchitecture = "DGDR-E042",
    /// The backend cannot run the checkpoint's weight format on the GPU
    /// (NVFP4 outside Blackwell with TensorRT-LLM or SGLang).
    FormatUnsupported = "DGDR-E043",
    /// `spec` changed while the request is Profiling, Deploying or Deployed.
    SpecImmutable = "DGDR-E050",
    /// A field dgdr does not know; probably a typo, and it has no effect.
    UnknownField = "DGDR-W001",
    /// The input used the legacy `nvidia.com/v1alpha1` form and was converted.
    ConvertedFromV1alpha1 = "DGDR-W002",
    /// `image` is missing; fine for what-if planning, needed to deploy.
    ImageMissing = "DGDR-W003",
    /// A planner setting is overridden by another (e.g. `optimization_target`).
    PlannerSettingOverridden = "DGDR-W004",
    /// A value is accepted but probably not what was meant.
    Suspicious = "DGDR-W005",
    /// A field is ignored where it stands (e.g. `apiVersion` inside `overrides.dgd`).
    FieldIgnored = "DGDR-W006",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Code::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown code {s}")))
    }
}

/// One problem found in an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// JSON path of the field, e.g. `spec.workload.requestRate`; empty for the whole document.
    pub path: String,
    pub code: Code,
    pub severity: Severity,
    /// What is wrong, in a sentence.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl Diagnostic {
    pub fn error(
        path: impl Into<String>,
        code: Code,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Diagnostic {
            path: path.into(),
            code,
            severity: Severity::Error,
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn warning(
        path: impl Into<String>,
        code: Code,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Diagnostic {
            path: path.into(),
            code,
            severity: Severity::Warning,
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "<document>"
        } else {
            &self.path
        };
        write!(f, "{} {}: {}", self.code, path, self.message)?;
        if !self.hint.is_empty() {
            write!(f, " (hint: {})", self.hint)?;
        }
        Ok(())
    }
}

/// A list of diagnostics collected while looking at one input. Order is the
/// order found, which follows the document; [`Report`] sorts for output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(other);
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Diagnostics(iter.into_iter().collect())
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// The verdict on one input: `valid` is true when there is no error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub valid: bool,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

impl Report {
    pub fn from_diagnostics(diags: Diagnostics) -> Self {
        let (errors, warnings): (Vec<_>, Vec<_>) = diags.into_iter().partition(|d| d.is_error());
        Report {
            valid: errors.is_empty(),
            errors,
            warnings,
        }
    }
}

/// Builds a JSON path by appending a field name or an index.
pub fn join(base: &str, field: &str) -> String {
    if base.is_empty() {
        field.to_string()
    } else {
        format!("{base}.{field}")
    }
}

/// Appends an array index: `spec.x` + 3 → `spec.x[3]`.
pub fn index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {}", c.as_str());
            assert_eq!(Code::parse(c.as_str()), Some(*c));
            assert!(!c.summary().is_empty());
        }
    }

    #[test]
    fn report_partitions_by_severity() {
        let mut d = Diagnostics::new();
        d.push(Diagnostic::warning("spec.x", Code::UnknownField, "m", "h"));
        d.push(Diagnostic::error("spec.y", Code::TypeMismatch, "m", "h"));
        let r = Report::from_diagnostics(d);
        assert!(!r.valid);
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.warnings.len(), 1);
    }
}
