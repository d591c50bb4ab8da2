//! Text → JSON value tree, for YAML and JSON alike.
//!
//! Everything after this step works on [`serde_json::Value`], so that a field
//! of the wrong type becomes a diagnostic at its path (see [`super::decode`])
//! instead of a parse failure that stops at the first problem.

use serde::Deserialize;
use serde_json::{Map, Number, Value};
use std::fmt;

/// The text is not YAML/JSON at all. Carries the position so a person can find it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyntaxError {
    pub message: String,
    /// 1-based line, when the parser knows it.
    pub line: Option<usize>,
    /// 1-based column, when the parser knows it.
    pub column: Option<usize>,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SyntaxError {}

/// Parses every document of a YAML stream (JSON is accepted as YAML, but is
/// parsed by the JSON parser when it looks like JSON, for its better messages).
/// Empty documents (a bare `---`) are skipped.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, SyntaxError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return serde_json::from_str::<Value>(trimmed)
            .map(|v| vec![v])
            .map_err(|e| SyntaxError {
                message: strip_position(&e.to_string()),
                line: Some(e.line()),
                column: Some(e.column()),
            });
    }
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let v = serde_yaml_ng::Value::deserialize(doc).map_err(yaml_error)?;
        if v.is_null() {
            continue;
        }
        out.push(yaml_to_json(v));
    }
    Ok(out)
}

fn yaml_error(e: serde_yaml_ng::Error) -> SyntaxError {
    let loc = e.location();
    SyntaxError {
        message: strip_position(&e.to_string()),
        line: loc.as_ref().map(|l| l.line()),
        column: loc.as_ref().map(|l| l.column()),
    }
}

/// Parsers append " at line X column Y"; we report the position separately.
fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg.get(..i).unwrap_or(msg).to_string(),
        None => msg.to_string(),
    }
}

/// YAML allows things JSON does not (non-string keys, tags, NaN). Keys become
/// their text; tags are dropped; non-finite floats become strings so that a
/// number field holding `.nan` is reported as a type error, not silently null.
fn yaml_to_json(v: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Number(i.into())
            } else if let Some(u) = n.as_u64() {
                Value::Number(u.into())
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                Number::from_f64(f)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(n.to_string()))
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(key_text(k), yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

fn key_text(k: serde_yaml_ng::Value) -> String {
    use serde_yaml_ng::Value as Y;
    match k {
        Y::String(s) => s,
        Y::Null => "null".to_string(),
        Y::Bool(b) => b.to_string(),
        Y::Number(n) => n.to_string(),
        other => serde_yaml_ng::to_string(&other)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_give_the_same_tree() {
        let y = parse_documents("model: x\nworkload:\n  isl: 10\n").unwrap();
        let j = parse_documents(r#"{"model":"x","workload":{"isl":10}}"#).unwrap();
        assert_eq!(y, j);
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let e = parse_documents("model: x\nsla:\n  ttft: [1,\n").unwrap_err();
        assert!(e.line.is_some(), "{e:?}");
        let e = parse_documents("{\"model\": }").unwrap_err();
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn duplicate_keys_are_a_syntax_error() {
        assert!(parse_documents("model: a\nmodel: b\n").is_err());
    }

    #[test]
    fn nan_becomes_a_string_and_keys_become_text() {
        let v = parse_documents("a: .nan\n1: x\n").unwrap();
        assert_eq!(v[0]["a"], Value::String(".nan".into()));
        assert_eq!(v[0]["1"], Value::String("x".into()));
    }

    #[test]
    fn multiple_documents_and_empty_ones() {
        let v = parse_documents("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(v.len(), 2);
    }
}
