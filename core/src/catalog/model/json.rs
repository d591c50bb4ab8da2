//! Reading HuggingFace config JSON: lenient about the non-standard numbers
//! Python writes (`Infinity`, `NaN`), strict about the fields we use.

use serde_json::{Map, Value};

use super::error::ModelError;

/// Parses config text. Python's `json.dump` writes `Infinity`, `-Infinity` and
/// `NaN` (e.g. Nemotron-H's `time_step_limit`), which strict JSON rejects; they
/// are read as `null` (no field we use holds them).
pub(crate) fn parse_lenient(text: &str, what: &str) -> Result<Value, ModelError> {
    let cleaned = replace_non_finite(text);
    serde_json::from_str(&cleaned)
        .map_err(|e| ModelError::invalid(what, format!("is not valid JSON: {e}")))
}

fn replace_non_finite(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = rest.get(c.len_utf8()..).unwrap_or("");
            continue;
        }
        if c == '"' {
            in_string = true;
            out.push(c);
            rest = rest.get(1..).unwrap_or("");
            continue;
        }
        let mut replaced = false;
        for token in ["-Infinity", "Infinity", "NaN"] {
            if let Some(after) = rest.strip_prefix(token) {
                out.push_str("null");
                rest = after;
                replaced = true;
                break;
            }
        }
        if !replaced {
            out.push(c);
            rest = rest.get(c.len_utf8()..).unwrap_or("");
        }
    }
    out
}

/// Largest number read from a config (2^24: 16.7 M), far above any width or
/// count of a real model, and small enough that products of a few of them
/// cannot overflow.
pub(crate) const MAX_FIELD: u64 = 1 << 24;

/// A JSON object of a config, with the path prefix used in error messages
/// (`text_config.` for the language model of a multimodal config).
#[derive(Clone, Copy)]
pub(crate) struct Cfg<'a> {
    pub obj: &'a Map<String, Value>,
    pub prefix: &'a str,
}

impl<'a> Cfg<'a> {
    pub fn new(obj: &'a Map<String, Value>, prefix: &'a str) -> Self {
        Cfg { obj, prefix }
    }

    pub fn field(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The value of `key`, `None` when absent or null.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        match self.obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn object(&self, key: &str) -> Result<Option<&'a Map<String, Value>>, ModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(ModelError::invalid(self.field(key), "must be an object")),
        }
    }

    /// A whole number of at most [`MAX_FIELD`].
    pub fn u64(&self, key: &str) -> Result<Option<u64>, ModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match as_u64(v) {
                None => Err(ModelError::invalid(
                    self.field(key),
                    "must be a whole number ≥ 0",
                )),
                Some(n) if n > MAX_FIELD => Err(ModelError::invalid(
                    self.field(key),
                    format!("is {n}, implausibly large (at most {MAX_FIELD})"),
                )),
                Some(n) => Ok(Some(n)),
            },
        }
    }

    /// A whole number that may exceed [`MAX_FIELD`] (context lengths, windows):
    /// it is only compared, never multiplied.
    pub fn wide_u64(&self, key: &str) -> Result<Option<u64>, ModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => as_u64(v)
                .map(Some)
                .ok_or_else(|| ModelError::invalid(self.field(key), "must be a whole number ≥ 0")),
        }
    }

    pub fn req_u64(&self, key: &str) -> Result<u64, ModelError> {
        self.u64(key)?
            .ok_or_else(|| ModelError::invalid(self.field(key), "is missing"))
    }

    /// A required number that must be positive.
    pub fn pos_u64(&self, key: &str) -> Result<u64, ModelError> {
        let v = self.req_u64(key)?;
        if v == 0 {
            return Err(ModelError::invalid(self.field(key), "must be > 0"));
        }
        Ok(v)
    }

    pub fn u64_or(&self, key: &str, default: u64) -> Result<u64, ModelError> {
        Ok(self.u64(key)?.unwrap_or(default))
    }

    /// The first of `keys` that is present.
    pub fn first_u64(&self, keys: &[&str]) -> Result<Option<u64>, ModelError> {
        for k in keys {
            if let Some(v) = self.u64(k)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    pub fn f64(&self, key: &str) -> Result<Option<f64>, ModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| ModelError::invalid(self.field(key), "must be a number")),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ModelError::invalid(
                self.field(key),
                "must be true or false",
            )),
        }
    }

    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool, ModelError> {
        Ok(self.bool(key)?.unwrap_or(default))
    }

    pub fn str(&self, key: &str) -> Result<Option<&'a str>, ModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ModelError::invalid(self.field(key), "must be a string")),
        }
    }

    pub fn array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, ModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(ModelError::invalid(self.field(key), "must be a list")),
        }
    }

    /// A list of strings.
    pub fn strings(&self, key: &str) -> Result<Option<Vec<&'a str>>, ModelError> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|v| {
                v.as_str().ok_or_else(|| {
                    ModelError::invalid(self.field(key), "must be a list of strings")
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A list of whole numbers.
    pub fn u64s(&self, key: &str) -> Result<Option<Vec<u64>>, ModelError> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|v| {
                as_u64(v).ok_or_else(|| {
                    ModelError::invalid(self.field(key), "must be a list of whole numbers")
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// A whole number, also when written as a float (`128.0`) or a boolean flag
/// list entry (`true` = 1).
pub(crate) fn as_u64(v: &Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    if let Some(f) = v.as_f64()
        && f >= 0.0
        && f.fract() == 0.0
        && f < 9.0e15
    {
        return Some(f as u64);
    }
    if let Some(b) = v.as_bool() {
        return Some(u64::from(b));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_numbers_become_null_outside_strings() {
        let cases = [
            (r#"{"a": [0.0, Infinity]}"#, r#"{"a": [0.0, null]}"#),
            (r#"{"a": -Infinity, "b": NaN}"#, r#"{"a": null, "b": null}"#),
            (
                r#"{"s": "Infinity \"NaN\""}"#,
                r#"{"s": "Infinity \"NaN\""}"#,
            ),
            (r#"{"é": "ü"}"#, r#"{"é": "ü"}"#),
        ];
        for (input, want) in cases {
            assert_eq!(replace_non_finite(input), want);
        }
        let v = parse_lenient(r#"{"time_step_limit": [0.0, Infinity]}"#, "config.json").unwrap();
        assert!(v["time_step_limit"][1].is_null());
    }

    #[test]
    fn invalid_json_names_the_file() {
        let e = parse_lenient("{", "config.json").unwrap_err();
        assert!(e.to_string().contains("config.json"));
    }

    #[test]
    fn field_readers() {
        let v: Value = serde_json::from_str(
            r#"{"a": 4, "b": 4.0, "c": 4.5, "d": null, "e": "x", "f": [1, 2], "g": true}"#,
        )
        .unwrap();
        let obj = v.as_object().unwrap();
        let c = Cfg::new(obj, "text_config.");
        assert_eq!(c.u64("a").unwrap(), Some(4));
        assert_eq!(c.u64("b").unwrap(), Some(4));
        assert!(c.u64("c").is_err());
        assert_eq!(c.u64("d").unwrap(), None);
        assert_eq!(c.u64_or("missing", 7).unwrap(), 7);
        let err = c.req_u64("missing").unwrap_err();
        assert!(err.to_string().contains("text_config.missing"));
        assert_eq!(c.str("e").unwrap(), Some("x"));
        assert_eq!(c.u64s("f").unwrap(), Some(vec![1, 2]));
        assert_eq!(c.bool("g").unwrap(), Some(true));
        assert!(c.bool("a").is_err());
        assert_eq!(c.first_u64(&["d", "b"]).unwrap(), Some(4));
    }
}
