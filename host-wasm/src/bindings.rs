//! JavaScript bindings. Each function takes and returns JSON text; the
//! TypeScript declarations below give them their shape.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
export type Severity = "error" | "warning";
export interface Diagnostic {
  path: string;
  code: string;
  severity: Severity;
  message: string;
  hint: string;
}
export interface Verdict {
  valid: boolean;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  source: "nvidia.com/v1beta1" | "nvidia.com/v1alpha1";
  resolved?: unknown;
}
export type Result<T> =
  | { ok: true; result: T }
  | { ok: false; errors: Diagnostic[]; line?: number; column?: number };
export interface ValidateOptions {
  purpose?: "profile" | "what-if";
  gpuDiscovery?: boolean;
}
"#;

fn call(op: dgdr_core::api::Op, request: &serde_json::Value) -> String {
    let bytes = dgdr_core::api::call(op as u32, request.to_string().as_bytes());
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Validates a DGDR (YAML or JSON text). Returns `Result<Verdict[]>` as JSON.
#[wasm_bindgen(js_name = validate, unchecked_return_type = "string")]
pub fn validate(text: &str, options_json: Option<String>) -> String {
    let options = options_json
        .and_then(|o| serde_json::from_str::<serde_json::Value>(&o).ok())
        .unwrap_or(serde_json::Value::Null);
    call(
        dgdr_core::api::Op::Validate,
        &serde_json::json!({ "text": text, "options": options }),
    )
}

/// The core's version.
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
