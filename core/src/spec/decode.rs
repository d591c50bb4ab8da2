//! A lenient, schema-directed reader over a JSON value tree.
//!
//! Serde's derive stops at the first type error; a person fixing a DGDR wants
//! every problem at once, each at its path. So typed structs are read field by
//! field through [`Obj`]: a field of the wrong type becomes a diagnostic and
//! reads as absent, reading goes on, and when an object is finished every key
//! nobody asked for becomes an "unknown field" warning with a did-you-mean.

use crate::diag::{Code, Diagnostic, Diagnostics, join};
use serde::Serialize;
use serde_json::{Map, Value};

/// A field that distinguishes "not written" from an explicit `null`, which the
/// SLA rules need (`ttft: null` means something, a missing `ttft` does not).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Field<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<T> Field<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }
    pub fn value(&self) -> Option<&T> {
        match self {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }
    pub fn is_value(&self) -> bool {
        matches!(self, Field::Value(_))
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Value(v) => v.serialize(s),
            Field::Absent | Field::Null => s.serialize_none(),
        }
    }
}

/// An enum spelled as one of a fixed set of words.
pub trait Keyword: Sized + Copy + 'static {
    /// Every accepted spelling with its value; the first spelling of a value is canonical.
    const WORDS: &'static [(&'static str, Self)];
    /// Common ways people name a value that are not accepted, with the word
    /// they mean (lowercase), for the did-you-mean of an error.
    const MISSPELLINGS: &'static [(&'static str, &'static str)] = &[];

    fn from_word(s: &str) -> Option<Self> {
        Self::WORDS.iter().find(|(w, _)| *w == s).map(|(_, v)| *v)
    }

    fn allowed() -> String {
        Self::WORDS
            .iter()
            .map(|(w, _)| *w)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Implements [`Keyword`], `as_str` and serde for a plain enum.
macro_rules! keyword_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $word:literal ),* $(,)? } $(misspellings = $slips:expr)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name { $( $(#[$vmeta])* $variant ),* }

        impl $crate::spec::decode::Keyword for $name {
            const WORDS: &'static [(&'static str, Self)] = &[$(($word, $name::$variant)),*];
            $(const MISSPELLINGS: &'static [(&'static str, &'static str)] = $slips;)?
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $word ),* }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$name as $crate::spec::decode::Keyword>::from_word(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown value {s:?}, expected one of {}",
                        <$name as $crate::spec::decode::Keyword>::allowed()
                    ))
                })
            }
        }
    };
}
pub(crate) use keyword_enum;

/// Describes a value for a message: `a string ("two")`, `a list`, ...
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(s) => {
            let shown: String = s.chars().take(40).collect();
            if shown.len() < s.len() {
                format!("a string (\"{shown}…\")")
            } else {
                format!("a string (\"{shown}\")")
            }
        }
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
    }
}

/// Shows a value as written: strings in backticks, anything else described.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        other => describe(other),
    }
}

/// Reports a type mismatch at `path`.
pub fn type_error(d: &mut Diagnostics, path: &str, expected: &str, got: &Value) {
    d.push(Diagnostic::error(
        path,
        Code::TypeMismatch,
        format!("expected {expected}, got {}", describe(got)),
        format!("write {expected} here"),
    ));
}

/// One JSON object being read. Keys that are read are remembered, so that
/// [`Obj::finish`] can report the rest as unknown.
pub struct Obj<'v> {
    path: String,
    map: &'v Map<String, Value>,
    seen: Vec<&'static str>,
}

impl<'v> Obj<'v> {
    pub fn new(map: &'v Map<String, Value>, path: impl Into<String>) -> Self {
        Obj {
            path: path.into(),
            map,
            seen: Vec::new(),
        }
    }

    /// Reads `value` as an object, or reports a type error and returns `None`.
    pub fn of(value: &'v Value, path: &str, d: &mut Diagnostics) -> Option<Self> {
        match value {
            Value::Object(m) => Some(Obj::new(m, path)),
            other => {
                type_error(d, path, "a mapping of fields", other);
                None
            }
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn field_path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub fn map(&self) -> &'v Map<String, Value> {
        self.map
    }

    /// Marks `key` as known and returns it, distinguishing absent and null.
    pub fn raw(&mut self, key: &'static str) -> Field<&'v Value> {
        self.seen.push(key);
        match self.map.get(key) {
            None => Field::Absent,
            Some(Value::Null) => Field::Null,
            Some(v) => Field::Value(v),
        }
    }

    /// Marks `key` as known; `null` reads as absent, as Kubernetes does.
    pub fn get(&mut self, key: &'static str) -> Option<&'v Value> {
        match self.raw(key) {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }

    pub fn string(&mut self, key: &'static str, d: &mut Diagnostics) -> Option<String> {
        let v = self.get(key)?;
        match v {
            Value::String(s) => Some(s.clone()),
            other => {
                type_error(d, &self.field_path(key), "a string", other);
                None
            }
        }
    }

    pub fn bool(&mut self, key: &'static str, d: &mut Diagnostics) -> Option<bool> {
        let v = self.get(key)?;
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                type_error(d, &self.field_path(key), "true or false", other);
                None
            }
        }
    }

    /// A finite number (integers are numbers too).
    pub fn number(&mut self, key: &'static str, d: &mut Diagnostics) -> Option<f64> {
        let path = self.field_path(key);
        let v = self.get(key)?;
        as_number(v, &path, d)
    }

    /// A number that may be explicitly `null`.
    pub fn nullable_number(&mut self, key: &'static str, d: &mut Diagnostics) -> Field<f64> {
        let path = self.field_path(key);
        match self.raw(key) {
            Field::Absent => Field::Absent,
            Field::Null => Field::Null,
            Field::Value(v) => match as_number(v, &path, d) {
                Some(n) => Field::Value(n),
                None => Field::Absent,
            },
        }
    }

    /// An integer (a float with no fractional part is accepted) within `i64`.
    pub fn integer(&mut self, key: &'static str, d: &mut Diagnostics) -> Option<i64> {
        let path = self.field_path(key);
        let v = self.get(key)?;
        as_integer(v, &path, d)
    }

    /// An integer that must be > 0 and fit the CRD's int32.
    pub fn positive_int32(&mut self, key: &'static str, d: &mut Diagnostics) -> Option<u32> {
        let path = self.field_path(key);
        let n = self.integer(key, d)?;
        positive_int32(n, &path, d)
    }

    /// A number that must be > 0.
    pub fn positive_number(&mut self, key: &'static str, d: &mut Diagnostics) -> Option<f64> {
        let path = self.field_path(key);
        let n = self.number(key, d)?;
        positive(n, &path, d)
    }

    pub fn keyword<E: Keyword>(&mut self, key: &'static str, d: &mut Diagnostics) -> Option<E> {
        let path = self.field_path(key);
        let s = self.string(key, d)?;
        keyword_value(&s, &path, d)
    }

    /// A nested object.
    pub fn object(&mut self, key: &'static str, d: &mut Diagnostics) -> Option<Obj<'v>> {
        let path = self.field_path(key);
        let v = self.get(key)?;
        Obj::of(v, &path, d)
    }

    /// A value kept as it is (opaque to dgdr), checked only to be a mapping.
    pub fn opaque_object(
        &mut self,
        key: &'static str,
        d: &mut Diagnostics,
    ) -> Option<Map<String, Value>> {
        let path = self.field_path(key);
        match self.get(key)? {
            Value::Object(m) => Some(m.clone()),
            other => {
                type_error(d, &path, "a mapping of fields", other);
                None
            }
        }
    }

    /// A mapping of strings to strings (labels, annotations, nodeSelector).
    pub fn string_map(
        &mut self,
        key: &'static str,
        d: &mut Diagnostics,
    ) -> Option<std::collections::BTreeMap<String, String>> {
        let path = self.field_path(key);
        let m = match self.get(key)? {
            Value::Object(m) => m,
            other => {
                type_error(d, &path, "a mapping of strings", other);
                return None;
            }
        };
        let mut out = std::collections::BTreeMap::new();
        for (k, v) in m {
            match v {
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                other => type_error(d, &join(&path, k), "a string", other),
            }
        }
        Some(out)
    }

    /// The entries nobody has read so far.
    pub fn unread(&self) -> Map<String, Value> {
        self.map
            .iter()
            .filter(|(k, _)| !self.seen.iter().any(|s| s == k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Reports every key that was not read as an unknown field (a warning: it
    /// has no effect, and is most likely a typo).
    pub fn finish(self, d: &mut Diagnostics) {
        for key in self.map.keys() {
            if self.seen.iter().any(|s| s == key) {
                continue;
            }
            let hint = match suggest(key, &self.seen) {
                Some(s) => format!("did you mean `{s}`? Unknown fields are ignored"),
                None => format!(
                    "known fields here: {}; unknown fields are ignored",
                    known_list(&self.seen)
                ),
            };
            d.push(Diagnostic::warning(
                join(&self.path, key),
                Code::UnknownField,
                format!("unknown field `{key}`"),
                hint,
            ));
        }
    }
}

fn known_list(seen: &[&'static str]) -> String {
    let mut v: Vec<&str> = seen.to_vec();
    v.sort_unstable();
    v.dedup();
    v.join(", ")
}

/// The closest known key, comparing case- and separator-insensitively so that
/// `requestrate`, `request_rate` and `reqeustRate` all find `requestRate`.
pub fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let k = norm(key);
    let mut best: Option<(&'a str, f64)> = None;
    for cand in known {
        let c = norm(cand);
        let score = if c == k {
            2.0
        } else {
            strsim::jaro_winkler(&k, &c)
        };
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((cand, score));
        }
    }
    best.filter(|(_, s)| *s >= 0.85).map(|(c, _)| c)
}

pub fn as_number(v: &Value, path: &str, d: &mut Diagnostics) -> Option<f64> {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() => Some(f),
            _ => {
                type_error(d, path, "a finite number", v);
                None
            }
        },
        other => {
            type_error(d, path, "a number", other);
            None
        }
    }
}

pub fn as_integer(v: &Value, path: &str, d: &mut Diagnostics) -> Option<i64> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Some(i);
            }
            match n.as_f64() {
                Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    // Exact: |f| < 2^53 and integral.
                    Some(f as i64)
                }
                Some(f) if f.is_finite() && f.fract() == 0.0 => {
                    d.push(Diagnostic::error(
                        path,
                        Code::OutOfRange,
                        format!("{n} is far too large for this field"),
                        "use a smaller whole number",
                    ));
                    None
                }
                _ => {
                    type_error(d, path, "a whole number", v);
                    None
                }
            }
        }
        other => {
            type_error(d, path, "a whole number", other);
            None
        }
    }
}

pub fn positive_int32(n: i64, path: &str, d: &mut Diagnostics) -> Option<u32> {
    if n <= 0 {
        d.push(Diagnostic::error(
            path,
            Code::OutOfRange,
            format!("must be greater than 0, got {n}"),
            "use a positive whole number",
        ));
        return None;
    }
    match u32::try_from(n) {
        Ok(v) if n <= i64::from(i32::MAX) => Some(v),
        _ => {
            d.push(Diagnostic::error(
                path,
                Code::OutOfRange,
                format!("{n} does not fit a 32-bit integer (max {})", i32::MAX),
                "use a smaller value",
            ));
            None
        }
    }
}

pub fn positive(n: f64, path: &str, d: &mut Diagnostics) -> Option<f64> {
    if n > 0.0 {
        Some(n)
    } else {
        d.push(Diagnostic::error(
            path,
            Code::OutOfRange,
            format!("must be greater than 0, got {n}"),
            "use a positive number",
        ));
        None
    }
}

pub fn keyword_value<E: Keyword>(s: &str, path: &str, d: &mut Diagnostics) -> Option<E> {
    if let Some(v) = E::from_word(s) {
        return Some(v);
    }
    let words: Vec<&str> = E::WORDS.iter().map(|(w, _)| *w).collect();
    let lower = s.to_ascii_lowercase();
    let known_slip = E::MISSPELLINGS
        .iter()
        .find(|(slip, _)| *slip == lower)
        .map(|(_, word)| *word);
    let hint = match known_slip.or_else(|| suggest(s, &words)) {
        Some(w) => format!("did you mean `{w}`? Allowed: {}", E::allowed()),
        None => format!("allowed values: {}", E::allowed()),
    };
    d.push(Diagnostic::error(
        path,
        Code::InvalidEnum,
        format!("`{s}` is not an allowed value"),
        hint,
    ));
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_problem_is_reported_at_its_path() {
        let v = json!({"isl": "two", "osl": -3, "requestRate": 1.5, "extra": 1, "reqestRate": 2});
        let mut d = Diagnostics::new();
        let mut o = Obj::of(&v, "spec.workload", &mut d).unwrap();
        assert_eq!(o.positive_int32("isl", &mut d), None);
        assert_eq!(o.positive_int32("osl", &mut d), None);
        assert_eq!(o.positive_number("requestRate", &mut d), Some(1.5));
        o.finish(&mut d);
        let v: Vec<_> = d.iter().map(|x| (x.path.as_str(), x.code)).collect();
        assert_eq!(
            v,
            vec![
                ("spec.workload.isl", Code::TypeMismatch),
                ("spec.workload.osl", Code::OutOfRange),
                ("spec.workload.extra", Code::UnknownField),
                ("spec.workload.reqestRate", Code::UnknownField),
            ]
        );
        let typo = d.iter().find(|x| x.path.ends_with("reqestRate")).unwrap();
        assert!(typo.hint.contains("requestRate"), "{}", typo.hint);
    }

    #[test]
    fn integral_floats_are_integers_and_fractions_are_not() {
        let v = json!({"a": 3000.0, "b": 3000.5, "c": 3_000_000_000_i64});
        let mut d = Diagnostics::new();
        let mut o = Obj::of(&v, "s", &mut d).unwrap();
        assert_eq!(o.positive_int32("a", &mut d), Some(3000));
        assert_eq!(o.positive_int32("b", &mut d), None);
        assert_eq!(o.positive_int32("c", &mut d), None);
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn null_is_distinguished_where_asked() {
        let v = json!({"ttft": null});
        let mut d = Diagnostics::new();
        let mut o = Obj::of(&v, "s", &mut d).unwrap();
        assert_eq!(o.nullable_number("ttft", &mut d), Field::Null);
        assert_eq!(o.nullable_number("itl", &mut d), Field::Absent);
    }

    #[test]
    fn suggestions_ignore_case_and_separators() {
        assert_eq!(
            suggest("request_rate", &["requestRate", "concurrency"]),
            Some("requestRate")
        );
        assert_eq!(suggest("ttf", &["ttft", "itl", "e2eLatency"]), Some("ttft"));
        assert_eq!(suggest("zzzz", &["ttft", "itl"]), None);
    }
}
