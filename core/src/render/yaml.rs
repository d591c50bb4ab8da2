//! A small, deterministic YAML writer for manifests.
//!
//! Why not a general YAML serialiser: `kubectl` and the Kubernetes client
//! libraries read YAML 1.1, where plain `on`, `off`, `yes`, `no`, `y`, `n`,
//! `1_000` or `12:30` are booleans and numbers, not strings. A YAML 1.2
//! writer leaves those unquoted, so an env value `on` or an argument `no`
//! (from `overrides.dgd`, say) would reach the cluster as `true`/`false` and
//! the DGD would be refused. This writer quotes every string that is not
//! plainly a string under both YAML 1.1 and 1.2, and otherwise writes the
//! usual block style:
//!
//! - maps and lists in block style, list items at their key's indentation
//!   (`args:` then `- --model`), in the map's own key order;
//! - a string with line breaks as a literal block (`|`, `|-` or `|+`), so
//!   the JSON and YAML files inside ConfigMaps stay readable;
//! - other strings plain when safe, else single-quoted, else (control
//!   characters) double-quoted with escapes.
//!
//! The output reads back (YAML 1.1 or 1.2) to the same value; a property
//! test checks that against `serde_yaml_ng`.

use serde_json::{Map, Value};

/// The YAML text of `v`, ending in a newline.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0, false),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        Value::String(s) if is_block(s) => block_literal(&mut out, s, 2),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Writes a map at `indent`; with `first_inline` the first key continues
/// the current line (after `- `).
fn write_map(out: &mut String, m: &Map<String, Value>, indent: usize, first_inline: bool) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 || !first_inline {
            pad(out, indent);
        }
        out.push_str(&string(k));
        out.push(':');
        match v {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                write_map(out, inner, indent + 2, false);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                write_seq(out, items, indent);
            }
            Value::String(s) if is_block(s) => {
                out.push(' ');
                block_literal(out, s, indent + 2);
            }
            other => {
                out.push(' ');
                out.push_str(&inline(other));
                out.push('\n');
            }
        }
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match item {
            Value::Object(m) if !m.is_empty() => {
                out.push(' ');
                write_map(out, m, indent + 2, true);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, indent + 2);
            }
            Value::String(s) if is_block(s) => {
                out.push(' ');
                block_literal(out, s, indent + 2);
            }
            other => {
                out.push(' ');
                out.push_str(&inline(other));
                out.push('\n');
            }
        }
    }
}

/// A scalar, or an empty collection, on one line.
fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".to_string(),
        Value::Object(_) => "{}".to_string(),
    }
}

/// YAML 1.1 words that are not strings (booleans and nulls), lowercased.
const YAML11_WORDS: &[&str] = &[
    "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~",
];

/// Whether `s` can be written plain and still reads back as this string
/// in YAML 1.1 and 1.2. Deliberately narrow: anything that starts like a
/// number, an indicator or a special word is quoted.
fn plain_ok(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let second = chars.next();
    let starts_ok = first.is_ascii_alphabetic()
        || first == '_'
        || first == '/'
        || (first == '-' && second.is_some_and(|c| c.is_ascii_alphabetic() || c == '-'));
    starts_ok
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | '+' | '=' | '@' | ':')
        })
        && !s.ends_with(':')
        && !YAML11_WORDS.contains(&s.to_ascii_lowercase().as_str())
}

/// A printable character YAML may hold outside double quotes.
fn printable(c: char) -> bool {
    !c.is_control() && c != '\u{feff}' && c != '\u{fffe}' && c != '\u{ffff}'
}

/// A string as one scalar: plain, single-quoted or double-quoted.
fn string(s: &str) -> String {
    if plain_ok(s) {
        return s.to_string();
    }
    if s.chars().all(printable) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            '\r' => q.push_str("\\r"),
            c if !printable(c) => q.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// Multi-line text that a literal block holds exactly.
fn is_block(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with(' ')
        && !s.starts_with('\n')
        && s.chars().all(|c| c == '\n' || c == '\t' || printable(c))
        && !s.split('\n').any(|line| line.starts_with('\t'))
}

/// `|`, `|-` or `|+` and the lines at `indent`.
fn block_literal(out: &mut String, s: &str, indent: usize) {
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    out.push('|');
    out.push_str(match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    });
    out.push('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn round_trip(v: &Value) {
        let text = to_yaml(v);
        let back: Value = serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|e| panic!("{e}\n---\n{text}---\nfrom {v}"));
        assert_eq!(&back, v, "\n{text}");
    }

    #[test]
    fn manifests_look_like_kubectl_writes_them() {
        let v = json!({
            "apiVersion": "v1",
            "metadata": {"name": "x", "labels": {"dgdr.nvidia.com/name": "x"}},
            "args": ["--model", "Qwen/Qwen3-0.6B", "--tp", "1", "0.0.0.0"],
            "env": [{"name": "A", "value": "on"}],
            "data": {"f.json": "{\n  \"a\": 1\n}", "g.yaml": "a: 1\n"},
            "empty": {}, "none": [], "num": 3, "f": 0.5, "b": true, "z": null
        });
        let want = "\
apiVersion: v1
metadata:
  name: x
  labels:
    dgdr.nvidia.com/name: x
args:
- --model
- Qwen/Qwen3-0.6B
- --tp
- '1'
- '0.0.0.0'
env:
- name: A
  value: 'on'
data:
  f.json: |-
    {
      \"a\": 1
    }
  g.yaml: |
    a: 1
empty: {}
none: []
num: 3
f: 0.5
b: true
z: null
";
        assert_eq!(to_yaml(&v), want);
        round_trip(&v);
    }

    #[test]
    fn yaml11_lookalikes_are_quoted() {
        for s in [
            "on",
            "Off",
            "YES",
            "no",
            "y",
            "N",
            "true",
            "False",
            "null",
            "~",
            "1_000",
            "12:30",
            "2024-01-01",
            ".inf",
            "-.5",
            "+1",
            "0755",
            "0x1F",
            "1e3",
            "-",
            "=",
            "<<",
            "@x",
            "a:",
            "",
            " a",
            "a b",
            "#c",
            "*ref",
            "&a",
            "!tag",
            "%x",
            "`x",
        ] {
            let y = string(s);
            assert!(y.starts_with('\'') || y.starts_with('"'), "{s:?} → {y}");
            round_trip(&json!([s]));
        }
        for s in [
            "--model",
            "-m",
            "vllm",
            "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.0.0",
            "/opt/model-cache/x",
            "Qwen/Qwen3-32B",
            "DEFAULT",
        ] {
            assert_eq!(string(s), s);
        }
    }

    #[test]
    fn odd_text_round_trips() {
        for s in [
            "a\n",
            "a",
            "a\n\n",
            "a\n\nb",
            "a\n  b\n",
            " lead\nx",
            "\nlead",
            "tab\tin\nline",
            "\ttab\nstart",
            "it's\n",
            "ctl\u{1}x",
            "del\u{7f}",
            "crlf\r\nx",
            "ünï\ncødé",
            "x\n \ny",
        ] {
            round_trip(&json!({"k": s, "l": [s], "m": [{"k": s}]}));
            round_trip(&json!(s));
        }
        round_trip(&json!([[1, [2]], {"a": [[]]}, [{}]]));
    }

    fn value() -> impl Strategy<Value = Value> {
        let text = "[a-zA-Z0-9 _:/.'\"#&*!|>%@`{}\\[\\],?\\-+=~\n\t\u{1}é]{0,12}";
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1.0e6f64..1.0e6).prop_map(Value::from),
            text.prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((text, inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn everything_round_trips(v in value()) {
            round_trip(&v);
        }
    }
}
