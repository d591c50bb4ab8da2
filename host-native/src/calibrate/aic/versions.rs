//! Which version directory serves each table: AI Configurator's
//! `query_versions.yaml` (current version per system × backend), `reuse.yaml`
//! redirects, and backward fill from older versions (never forward).

use serde_yaml_ng::Value;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A version string ordered the PEP 440 way, enough for the versions seen in
/// the database: `1.3.0rc20 < 1.3.0rc23 < 1.3.0 < 1.3.0.post1`, `0.1.dev5 <
/// 0.1`, `2.27 == 2.27.0` (ties broken by the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    text: String,
    release: Vec<u64>,
    /// dev 0, a 1, b 2, rc 3, final 4, post 5.
    phase: u8,
    n: u64,
}

impl Version {
    pub fn parse(text: &str) -> Version {
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (rel, suffix) = text.split_at(split);
        let release = rel
            .split('.')
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().unwrap_or(0))
            .collect();
        let suffix = suffix.trim_start_matches(['.', '-', '_']);
        let letters: String = suffix
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        let n = suffix
            .get(letters.len()..)
            .unwrap_or("")
            .parse()
            .unwrap_or(0);
        let phase = match letters.as_str() {
            "" => 4,
            "dev" => 0,
            "a" | "alpha" => 1,
            "b" | "beta" => 2,
            "rc" | "c" | "pre" => 3,
            "post" => 5,
            _ => 4,
        };
        Version {
            text: text.to_string(),
            release,
            phase,
            n,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.release.len().max(other.release.len());
        for i in 0..len {
            let a = self.release.get(i).copied().unwrap_or(0);
            let b = other.release.get(i).copied().unwrap_or(0);
            match a.cmp(&b) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        (self.phase, self.n, &self.text).cmp(&(other.phase, other.n, &other.text))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// `query_versions.yaml`: the current version per (system, backend).
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryVersions {
    defaults: BTreeMap<String, String>,
    overrides: BTreeMap<String, BTreeMap<String, String>>,
}

impl QueryVersions {
    pub fn load(path: &Path) -> Result<QueryVersions, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc: Value =
            serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let current_of = |v: &Value| -> BTreeMap<String, String> {
            let mut out = BTreeMap::new();
            if let Some(m) = v.as_mapping() {
                for (k, slot) in m {
                    if let (Some(be), Some(cur)) =
                        (k.as_str(), slot.get("current").and_then(yaml_str))
                    {
                        out.insert(be.to_string(), cur);
                    }
                }
            }
            out
        };
        let defaults = doc.get("defaults").map(current_of).unwrap_or_default();
        let mut overrides = BTreeMap::new();
        if let Some(m) = doc.get("overrides").and_then(Value::as_mapping) {
            for (k, v) in m {
                if let Some(sys) = k.as_str() {
                    overrides.insert(sys.to_string(), current_of(v));
                }
            }
        }
        if defaults.is_empty() {
            return Err(format!(
                "{}: no `defaults` with current versions",
                path.display()
            ));
        }
        Ok(QueryVersions {
            defaults,
            overrides,
        })
    }

    /// (backend, current version) for a system, sorted by backend.
    pub fn current(&self, system: &str) -> BTreeMap<String, String> {
        let mut out = self.defaults.clone();
        if let Some(o) = self.overrides.get(system) {
            for (be, v) in o {
                out.insert(be.clone(), v.clone());
            }
        }
        out
    }
}

/// Version strings in YAML may be numbers (`2.23`): keep their text.
pub(crate) fn yaml_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Where a table was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub path: PathBuf,
    /// The version whose measurements these are.
    pub source_version: String,
    /// How it was found, for the summary.
    pub how: String,
}

/// The version directories under `dir`, sorted newest first.
fn versions_in(dir: &Path) -> Vec<Version> {
    let mut out: Vec<Version> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(Version::parse))
        .collect();
    out.sort_by(|a, b| b.cmp(a));
    out
}

/// Finds `file` for a backend: in the current version's directory, through
/// its `reuse.yaml`, or else in the newest older version that has it. A
/// development build (`.devN`) never back-fills a release: vLLM's only KDA
/// table, from `0.1.dev19262`, times a 1-token convolution at 0.42 ms (a
/// harness floor; SGLang's takes 0.007 ms).
pub(crate) fn resolve(backend_dir: &Path, current: &str, file: &str) -> Option<Resolved> {
    let cur = Version::parse(current);
    let stem = file.strip_suffix(".parquet").unwrap_or(file);
    let usable = |v: &Version| *v <= cur && (v.phase != 0 || v.as_str() == current);
    for v in versions_in(backend_dir).into_iter().filter(usable) {
        let vdir = backend_dir.join(v.as_str());
        let direct = vdir.join(file);
        let fill = if v.as_str() == current {
            String::new()
        } else {
            format!(", back-filled for {current}")
        };
        if direct.is_file() {
            return Some(Resolved {
                path: direct,
                source_version: v.as_str().to_string(),
                how: format!("{}{fill}", v.as_str()),
            });
        }
        if let Some(from) = reuse_source(&vdir.join("reuse.yaml"), stem) {
            let p = backend_dir.join(&from).join(file);
            if p.is_file() {
                return Some(Resolved {
                    path: p,
                    source_version: from.clone(),
                    how: format!("{from} via {}/reuse.yaml{fill}", v.as_str()),
                });
            }
        }
    }
    None
}

/// Finds `file` in the oldest version newer than `current` that has it (the
/// `next` slot of `query_versions.yaml`, where new models' ops land first).
pub(crate) fn resolve_next(backend_dir: &Path, current: &str, file: &str) -> Option<Resolved> {
    let cur = Version::parse(current);
    let mut newer: Vec<Version> = versions_in(backend_dir)
        .into_iter()
        .filter(|v| *v > cur)
        .collect();
    newer.sort();
    newer.into_iter().find_map(|v| {
        let path = backend_dir.join(v.as_str()).join(file);
        path.is_file().then(|| Resolved {
            path,
            source_version: v.as_str().to_string(),
            how: format!("{} (next: not in {current} or older)", v.as_str()),
        })
    })
}

/// The newest version directory (or `preferred` when it exists) that has `file`.
pub(crate) fn resolve_free(dir: &Path, preferred: Option<&str>, file: &str) -> Option<Resolved> {
    if let Some(p) = preferred {
        let path = dir.join(p).join(file);
        if path.is_file() {
            return Some(Resolved {
                path,
                source_version: p.to_string(),
                how: format!("{p} (the system's NCCL version)"),
            });
        }
    }
    versions_in(dir).into_iter().find_map(|v| {
        let path = dir.join(v.as_str()).join(file);
        path.is_file().then(|| Resolved {
            path,
            source_version: v.as_str().to_string(),
            how: format!("{} (newest)", v.as_str()),
        })
    })
}

fn reuse_source(path: &Path, table: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: Value = serde_yaml_ng::from_str(&text).ok()?;
    doc.get("reuse")?
        .as_sequence()?
        .iter()
        .find(|e| e.get("table").and_then(Value::as_str) == Some(table))
        .and_then(|e| e.get("from_version"))
        .and_then(yaml_str)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn next_versions_serve_only_what_current_and_older_lack() {
        let dir = std::env::temp_dir().join(format!("dgdr-versions-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (v, file) in [
            ("1.3.0rc20", "gemm_perf.parquet"),
            ("1.3.0rc23", "gemm_perf.parquet"),
            ("1.3.0rc23", "new_op.parquet"),
            ("1.3.0rc30", "new_op.parquet"),
            ("0.1.dev5", "dev_op.parquet"),
        ] {
            std::fs::create_dir_all(dir.join(v)).unwrap();
            std::fs::write(dir.join(v).join(file), b"").unwrap();
        }
        // The current version's own table wins; newer ones are never used
        // by `resolve`.
        let gemm = resolve(&dir, "1.3.0rc20", "gemm_perf.parquet").unwrap();
        assert_eq!(gemm.source_version, "1.3.0rc20");
        assert!(resolve(&dir, "1.3.0rc20", "new_op.parquet").is_none());
        // `resolve_next` takes the oldest newer version that has it.
        let next = resolve_next(&dir, "1.3.0rc20", "new_op.parquet").unwrap();
        assert_eq!(next.source_version, "1.3.0rc23");
        assert!(next.how.contains("next"), "{}", next.how);
        assert!(resolve_next(&dir, "1.3.0rc30", "new_op.parquet").is_none());
        // A development build never back-fills a release.
        assert!(resolve(&dir, "1.3.0rc20", "dev_op.parquet").is_none());
        assert!(resolve(&dir, "0.1.dev5", "dev_op.parquet").is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn versions_order_like_pep440() {
        let mut v: Vec<Version> = [
            "1.3.0",
            "1.3.0rc20",
            "1.3.0rc23",
            "1.2.0rc5",
            "1.3.0rc10",
            "0.5.6.post2",
            "0.5.6",
            "0.5.10",
            "0.1.dev19262",
            "0.1",
            "2.27",
            "2.27.3",
        ]
        .iter()
        .map(|s| Version::parse(s))
        .collect();
        v.sort();
        let got: Vec<&str> = v.iter().map(Version::as_str).collect();
        assert_eq!(
            got,
            [
                "0.1.dev19262",
                "0.1",
                "0.5.6",
                "0.5.6.post2",
                "0.5.10",
                "1.2.0rc5",
                "1.3.0rc10",
                "1.3.0rc20",
                "1.3.0rc23",
                "1.3.0",
                "2.27",
                "2.27.3"
            ]
        );
    }
}
