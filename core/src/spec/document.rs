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
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // The JSON parser skips the leading whitespace itself, so the line
        // numbers it reports are the file's.
        return serde_json::from_str::<Value>(text)
            .map(|v| vec![v])
            .map_err(|e| SyntaxError {
                message: strip_position(&e.to_string()),
                line: Some(e.line()),
                column: Some(e.column()),
            });
    }
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let Loose(v) = Loose::deserialize(doc).map_err(yaml_error)?;
        if v.is_null() {
            continue;
        }
        out.push(v);
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

/// A JSON value read from YAML, which allows more than JSON does. Integers
/// beyond 64 bits become floats (so range checks report them at their path);
/// non-finite floats become strings (so a number field holding `.nan` is a
/// type error, not silently null); scalar keys become their text; custom
/// tags are dropped.
struct Loose(Value);

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor).map(Loose)
    }
}

struct LooseVisitor;

fn float(f: f64) -> Value {
    Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(format!("{f}")))
}

impl<'de> serde::de::Visitor<'de> for LooseVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(float(v as f64))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(float(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Loose::deserialize(d).map(|l| l.0)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Loose(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some((Loose(k), Loose(v))) = map.next_entry()? {
            let key = match k {
                Value::String(s) => s,
                Value::Null => "null".to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                Value::Array(_) | Value::Object(_) => {
                    return Err(serde::de::Error::custom(
                        "a mapping key must be a plain value, not a list or a mapping",
                    ));
                }
            };
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
            }
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // A value with a custom tag (`!tag value`): keep the value, drop the tag.
        use serde::de::VariantAccess;
        let (_tag, variant): (Loose, _) = data.variant()?;
        variant.newtype_variant::<Loose>().map(|l| l.0)
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
        assert_eq!(v[0]["a"], Value::String("NaN".into()));
        assert_eq!(v[0]["1"], Value::String("x".into()));
    }

    #[test]
    fn huge_integers_and_json_line_numbers() {
        let v = parse_documents("a: 100000000000000000000000000000\n").unwrap();
        assert!(v[0]["a"].is_f64());
        let e = parse_documents("\n\n\n{\n\"a\": }").unwrap_err();
        assert_eq!(e.line, Some(5));
        let v = parse_documents("a: !custom 3\n").unwrap();
        assert_eq!(v[0]["a"], serde_json::json!(3));
    }

    #[test]
    fn multiple_documents_and_empty_ones() {
        let v = parse_documents("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(v.len(), 2);
    }
}
