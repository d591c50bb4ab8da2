//! The DynamoGraphDeploymentRequest: reading it, converting the legacy form,
//! and resolving defaults.
//!
//! Flow: text → [`document::parse_documents`] (YAML or JSON, syntax errors
//! with line and column) → [`read_document`] (whole resource or bare `spec`,
//! v1beta1 or v1alpha1, every type error and unknown field at its path) →
//! [`resolve::resolve`] (defaults and the rules between fields) →
//! [`ResolvedSpec`], which is all the rest of the core looks at.

pub mod decode;
pub mod document;
pub mod planner;
pub mod resolve;
pub mod types;
pub mod v1alpha1;

pub use document::{SyntaxError, parse_documents};
pub use planner::{PlannerConfig, PlannerInput};
pub use resolve::{Load, PickingMode, ResolvedSpec, SlaTarget, resolve};
pub use types::*;

use crate::diag::{Code, Diagnostic, Diagnostics};
use decode::Obj;
use serde_json::{Map, Value};

/// The API version a document was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SourceVersion {
    #[serde(rename = "nvidia.com/v1beta1")]
    V1beta1,
    #[serde(rename = "nvidia.com/v1alpha1")]
    V1alpha1,
}

/// One document, read.
#[derive(Debug, Clone)]
pub struct ReadDocument {
    /// The request in v1beta1 form (converted if it was v1alpha1). `None` when
    /// the document is not a DGDR at all (see the diagnostics).
    pub dgdr: Option<Dgdr>,
    pub source: SourceVersion,
    /// True when the document held only a `spec`.
    pub bare_spec: bool,
    /// Diagnostics found while reading. Their paths are v1beta1 paths; for a
    /// v1alpha1 document, [`ReadDocument::paths`] maps them to what was written.
    pub diagnostics: Diagnostics,
    /// For a converted v1alpha1 document: v1beta1 path → v1alpha1 path.
    pub paths: Option<v1alpha1::PathMap>,
}

/// Reads one parsed document: a whole resource or a bare `spec`, v1beta1 or v1alpha1.
pub fn read_document(doc: &Value) -> ReadDocument {
    let mut d = Diagnostics::new();
    let Value::Object(top) = doc else {
        d.push(Diagnostic::error(
            "",
            Code::NotAMapping,
            format!(
                "expected a DynamoGraphDeploymentRequest (a mapping of fields), got {}",
                decode::describe(doc)
            ),
            "write the resource (apiVersion, kind, metadata, spec) or just its spec fields",
        ));
        return ReadDocument {
            dgdr: None,
            source: SourceVersion::V1beta1,
            bare_spec: false,
            diagnostics: d,
            paths: None,
        };
    };
    let is_resource = top.contains_key("apiVersion")
        || top.contains_key("kind")
        || (top.contains_key("spec") && !top.contains_key("model"));
    let (resource, bare_spec) = if is_resource {
        (top.clone(), false)
    } else {
        let mut r = Map::new();
        r.insert("spec".into(), Value::Object(top.clone()));
        (r, true)
    };

    if let Some(kind) = resource.get("kind")
        && kind.as_str() != Some(KIND)
    {
        d.push(Diagnostic::error(
            "kind",
            Code::WrongKind,
            format!("expected kind `{KIND}`, got {}", decode::show(kind)),
            "dgdr reads DynamoGraphDeploymentRequests; a DGD is its output, not its input",
        ));
        return ReadDocument {
            dgdr: None,
            source: SourceVersion::V1beta1,
            bare_spec,
            diagnostics: d,
            paths: None,
        };
    }
    let spec_map = resource.get("spec").and_then(Value::as_object);
    let source = match resource.get("apiVersion") {
        Some(Value::String(v)) if v == API_VERSION_V1BETA1 => SourceVersion::V1beta1,
        Some(Value::String(v)) if v == API_VERSION_V1ALPHA1 => SourceVersion::V1alpha1,
        None if spec_map.is_some_and(v1alpha1::looks_like_v1alpha1_spec) => SourceVersion::V1alpha1,
        None => SourceVersion::V1beta1,
        Some(other) => {
            d.push(Diagnostic::error(
                "apiVersion",
                Code::UnsupportedApiVersion,
                format!("apiVersion {} is not supported", decode::describe(other)),
                format!("use `{API_VERSION_V1BETA1}` (or the legacy `{API_VERSION_V1ALPHA1}`)"),
            ));
            return ReadDocument {
                dgdr: None,
                source: SourceVersion::V1beta1,
                bare_spec,
                diagnostics: d,
                paths: None,
            };
        }
    };

    let (resource, paths) = match source {
        SourceVersion::V1beta1 => (resource, None),
        SourceVersion::V1alpha1 => {
            check_v1alpha1(&resource, bare_spec, &mut d);
            let (converted, paths) = v1alpha1::to_v1beta1(&resource);
            (converted, Some(paths))
        }
    };

    let dgdr = read_resource(&resource, &mut d);
    ReadDocument {
        dgdr: Some(dgdr),
        source,
        bare_spec,
        diagnostics: d,
        paths,
    }
}

/// v1alpha1-only checks, made before conversion so they point at what was written.
fn check_v1alpha1(resource: &Map<String, Value>, bare_spec: bool, d: &mut Diagnostics) {
    d.push(Diagnostic::warning(
        if bare_spec { "" } else { "apiVersion" },
        Code::ConvertedFromV1alpha1,
        "this is the legacy nvidia.com/v1alpha1 form; dgdr converted it to nvidia.com/v1beta1",
        "run `dgdr convert` to get the v1beta1 form and use that from now on",
    ));
    let Some(Value::Object(spec)) = resource.get("spec") else {
        return;
    };
    for key in spec.keys() {
        if !v1alpha1::V1ALPHA1_SPEC_FIELDS.contains(&key.as_str()) {
            unknown_field(
                &format!("spec.{key}"),
                key,
                v1alpha1::V1ALPHA1_SPEC_FIELDS,
                d,
            );
        }
    }
    if let Some(Value::Object(config)) = spec.get("profilingConfig").and_then(|pc| pc.get("config"))
    {
        check_v1alpha1_config(config, d);
    }
    if let Some(Value::Object(pc)) = spec.get("profilingConfig")
        && pc.contains_key("configMapRef")
    {
        d.push(Diagnostic::warning(
            "spec.profilingConfig.configMapRef",
            Code::FieldIgnored,
            "dgdr does not read a base DGD from a ConfigMap",
            "put the base DGD in spec.overrides.dgd of the v1beta1 form",
        ));
    }
}

/// Typos inside the legacy config blob would otherwise vanish into the
/// conversion annotation: warn about fields dgdr does not know.
fn check_v1alpha1_config(config: &Map<String, Value>, d: &mut Diagnostics) {
    let base = "spec.profilingConfig.config";
    let sections: Vec<&str> = v1alpha1::V1ALPHA1_CONFIG_SECTIONS
        .iter()
        .map(|(n, _)| *n)
        .collect();
    for (key, value) in config {
        let Some((_, fields)) = v1alpha1::V1ALPHA1_CONFIG_SECTIONS
            .iter()
            .find(|(n, _)| n == key)
        else {
            unknown_field(&format!("{base}.{key}"), key, &sections, d);
            continue;
        };
        if let (Some(fields), Value::Object(inner)) = (fields, value) {
            for k in inner.keys() {
                if !fields.contains(&k.as_str()) {
                    unknown_field(&format!("{base}.{key}.{k}"), k, fields, d);
                }
            }
        }
    }
}

fn unknown_field(path: &str, key: &str, known: &[&str], d: &mut Diagnostics) {
    let hint = match decode::suggest(key, known) {
        Some(s) => format!("did you mean `{s}`? Unknown fields are ignored"),
        None => format!(
            "known fields here: {}; unknown fields are ignored",
            known.join(", ")
        ),
    };
    d.push(Diagnostic::warning(
        path,
        Code::UnknownField,
        format!("unknown field `{key}`"),
        hint,
    ));
}

fn read_resource(resource: &Map<String, Value>, d: &mut Diagnostics) -> Dgdr {
    let mut top = Obj::new(resource, "");
    let api_version = top
        .string("apiVersion", d)
        .unwrap_or_else(|| API_VERSION_V1BETA1.to_string());
    let kind = top.string("kind", d).unwrap_or_else(|| KIND.to_string());
    let metadata = top
        .object("metadata", d)
        .map(|mut m| types::read_metadata(&mut m, d))
        .unwrap_or_default();
    let spec = match top.raw("spec") {
        decode::Field::Value(v) => match Obj::of(v, "spec", d) {
            Some(mut s) => {
                let spec = types::read_spec(&mut s, d);
                s.finish(d);
                spec
            }
            None => Spec::default(),
        },
        _ => {
            d.push(Diagnostic::error(
                "spec",
                Code::MissingRequired,
                "the resource has no `spec`",
                "add a spec with at least `model`",
            ));
            Spec::default()
        }
    };
    let status = top.object("status", d).map(|mut s| {
        let st = types::read_status(&mut s, d);
        s.finish(d);
        st
    });
    top.finish(d);
    Dgdr {
        api_version,
        kind,
        metadata,
        spec,
        status,
    }
}
