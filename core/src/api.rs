//! The core's byte-level entry points: JSON request in, JSON response out.
//!
//! Every host that cannot call Rust directly goes through here: the wasm
//! module run under wasmtime (webhook, parity tests) and the browser bindings.
//! Because native and wasm run this same function, comparing their output
//! bytes is the parity test. Responses are tagged, never thrown:
//! `{"ok": true, "result": ...}` or `{"ok": false, "errors": [...]}`.

use crate::diag::{Code, Diagnostic};
use crate::validate::{self, Options};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The operations, by number (the wasm ABI passes a number, not a name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Op {
    /// `{"text": "...", "options": {...}}` → a list of verdicts.
    Validate = 1,
    /// `{"old": {...}, "new": {...}}` → a report (the update rule).
    ValidateUpdate = 2,
    /// `{"text": "...", "modelConfig": "<config.json text>"?}` → the rapid
    /// profile: `{finalConfig, webuiData, status, profileData}`; a failed
    /// run answers `{ok: false, phase, message, errors}`.
    Profile = 3,
}

impl Op {
    pub const ALL: &'static [Op] = &[Op::Validate, Op::ValidateUpdate, Op::Profile];

    pub fn from_u32(n: u32) -> Option<Op> {
        Op::ALL.iter().copied().find(|op| *op as u32 == n)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateRequest {
    text: String,
    #[serde(default)]
    options: Option<RequestOptions>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RequestOptions {
    #[serde(default)]
    purpose: Option<validate::Purpose>,
    #[serde(default)]
    gpu_discovery: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateRequest {
    old: Value,
    new: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProfileRequest {
    text: String,
    /// The model's HuggingFace `config.json`, for a model the catalog lacks
    /// (the host read it); used for the id in `spec.model`.
    #[serde(default)]
    model_config: Option<String>,
}

/// A failure: the request could not be carried out at all.
#[derive(Serialize)]
struct Failure<'a> {
    ok: bool,
    errors: &'a [Diagnostic],
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
}

fn success<T: Serialize>(result: &T) -> Vec<u8> {
    let body = serde_json::json!({ "ok": true, "result": result });
    serde_json::to_vec(&body).unwrap_or_else(|e| failure_bytes(&internal(&e.to_string()), None))
}

fn failure_bytes(d: &Diagnostic, pos: Option<(Option<usize>, Option<usize>)>) -> Vec<u8> {
    let (line, column) = pos.unwrap_or((None, None));
    let f = Failure {
        ok: false,
        errors: std::slice::from_ref(d),
        line,
        column,
    };
    // Serializing plain strings and numbers cannot fail; fall back to a constant.
    serde_json::to_vec(&f).unwrap_or_else(|_| br#"{"ok":false,"errors":[]}"#.to_vec())
}

fn internal(msg: &str) -> Diagnostic {
    Diagnostic::error(
        "",
        Code::Syntax,
        format!("internal error: {msg}"),
        "please report this",
    )
}

fn bad_request(msg: String) -> Vec<u8> {
    failure_bytes(
        &Diagnostic::error(
            "",
            Code::Syntax,
            format!("bad request: {msg}"),
            "see the API documentation of dgdr-core::api",
        ),
        None,
    )
}

/// Runs one operation on a JSON request and returns the JSON response.
pub fn call(op: u32, request: &[u8]) -> Vec<u8> {
    let Some(op) = Op::from_u32(op) else {
        return bad_request(format!("unknown operation {op}"));
    };
    match op {
        Op::Validate => {
            let req: ValidateRequest = match serde_json::from_slice(request) {
                Ok(r) => r,
                Err(e) => return bad_request(e.to_string()),
            };
            let o = req.options.unwrap_or_default();
            let defaults = Options::default();
            let opts = Options {
                purpose: o.purpose.unwrap_or(defaults.purpose),
                gpu_discovery: o.gpu_discovery.unwrap_or(defaults.gpu_discovery),
            };
            match validate::validate_text(&req.text, &opts, crate::gates::default_gates()) {
                Ok(verdicts) => success(&verdicts),
                Err(e) => syntax_failure(&e),
            }
        }
        Op::ValidateUpdate => {
            let req: UpdateRequest = match serde_json::from_slice(request) {
                Ok(r) => r,
                Err(e) => return bad_request(e.to_string()),
            };
            success(&validate::validate_update(&req.old, &req.new))
        }
        Op::Profile => {
            let req: ProfileRequest = match serde_json::from_slice(request) {
                Ok(r) => r,
                Err(e) => return bad_request(e.to_string()),
            };
            profile(&req)
        }
    }
}

fn syntax_failure(e: &crate::spec::SyntaxError) -> Vec<u8> {
    failure_bytes(
        &Diagnostic::error(
            "",
            Code::Syntax,
            format!("not YAML or JSON: {}", e.message),
            "fix the syntax at the position shown",
        ),
        Some((e.line, e.column)),
    )
}

fn profile(req: &ProfileRequest) -> Vec<u8> {
    use crate::driver::{self, Inputs};
    let mut docs = match crate::spec::parse_documents(&req.text) {
        Ok(d) => d,
        Err(e) => return syntax_failure(&e),
    };
    if docs.len() != 1 {
        return bad_request(format!(
            "the text holds {} documents; profile one DGDR at a time",
            docs.len()
        ));
    }
    let doc = docs.remove(0);
    let model = match &req.model_config {
        None => None,
        Some(text) => match crate::catalog::model::parse_hf_config(text, None) {
            Ok(m) => Some(m),
            Err(e) => {
                return failure_bytes(&e.to_diagnostic("modelConfig"), None);
            }
        },
    };
    let inputs = Inputs {
        model,
        gpu_discovery: false,
    };
    match driver::profile(&doc, inputs) {
        Ok(o) => {
            let status = o.status(Vec::new());
            success(&serde_json::json!({
                "finalConfig": o.final_config,
                "webuiData": o.webui_data(),
                "status": status,
                "profileData": o.profile_data,
            }))
        }
        Err(f) => {
            let body = serde_json::json!({
                "ok": false,
                "phase": f.phase,
                "message": f.message,
                "errors": f.errors,
            });
            serde_json::to_vec(&body).unwrap_or_else(|_| br#"{"ok":false,"errors":[]}"#.to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_round_trip() {
        let out = call(1, br#"{"text": "model: Qwen/Qwen3-32B\nimage: x\n"}"#);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["ok"], Value::Bool(true));
        assert_eq!(v["result"][0]["valid"], Value::Bool(true));
    }

    #[test]
    fn profile_answers_with_the_manifest_or_the_reasons() {
        let text = include_str!("../../examples/qwen3-32b-h200-vllm.yaml");
        let req = serde_json::json!({"text": text}).to_string();
        let v: Value = serde_json::from_slice(&call(Op::Profile as u32, req.as_bytes())).unwrap();
        assert_eq!(v["ok"], Value::Bool(true), "{v}");
        assert!(
            v["result"]["finalConfig"]
                .as_str()
                .unwrap()
                .contains("DynamoGraphDeployment")
        );
        assert_eq!(v["result"]["status"]["status"], "success");
        let bad = serde_json::json!({"text": "model: nope/none\nimage: x\nhardware: {gpuSku: h200_sxm, totalGpus: 8, numGpusPerNode: 8}\n"}).to_string();
        let v: Value = serde_json::from_slice(&call(Op::Profile as u32, bad.as_bytes())).unwrap();
        assert_eq!(v["ok"], Value::Bool(false));
        assert_eq!(v["errors"][0]["path"], "spec.model");
    }

    #[test]
    fn failures_are_data() {
        let v: Value = serde_json::from_slice(&call(99, b"{}")).unwrap();
        assert_eq!(v["ok"], Value::Bool(false));
        let v: Value = serde_json::from_slice(&call(1, b"not json")).unwrap();
        assert_eq!(v["ok"], Value::Bool(false));
        let v: Value = serde_json::from_slice(&call(1, br#"{"text": "a: [1,"}"#)).unwrap();
        assert_eq!(v["ok"], Value::Bool(false));
        assert!(v["line"].is_number());
    }
}
