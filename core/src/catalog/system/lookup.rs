//! The catalog of GPU systems and finding one by name.

use super::error::SystemError;
use super::load::{self, DATASHEET_YAML, MEASURED_YAML};
use super::product::{is_bare_family, product_to_sku};
use super::spec::SystemSpec;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Other names accepted for a SKU, as `(alias, canonical)`.
///
/// - `gb200_sxm` is the DGDR `hardware.gpuSku` name of AI Configurator's `gb200`
///   (and `gb300_sxm` of `gb300`, by symmetry).
/// - A bare family name is accepted only where the catalog has exactly one form of
///   it: `h200` (only the SXM H200), `b200`, `b300`. `h100`, `a100` and `v100` exist
///   as SXM and PCIe and are *not* accepted: the error suggests the SXM one.
/// - AMD marketing names of the catalog's AMD entries: `mi300x` → `mi300`,
///   `mi250x`, `mi250`, `mi210` → `mi200` (whose figures are per GCD, i.e. per GPU
///   as Kubernetes counts them; an MI210 is one such GCD).
pub const ALIASES: &[(&str, &str)] = &[
    ("b200", "b200_sxm"),
    ("b300", "b300_sxm"),
    ("gb200_sxm", "gb200"),
    ("gb300_sxm", "gb300"),
    ("h200", "h200_sxm"),
    ("mi210", "mi200"),
    ("mi250", "mi200"),
    ("mi250x", "mi200"),
    ("mi300x", "mi300"),
];

/// How similar (normalized Damerau-Levenshtein: 1 - edits / longer length) a name
/// must be to be suggested as the closest match. `h100` → `h100_sxm` is 0.5.
const CLOSEST_MIN_SIMILARITY: f64 = 0.5;

/// The GPU systems dgdr knows, keyed by canonical SKU.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemCatalog {
    systems: BTreeMap<String, SystemSpec>,
    /// Set only on the built-in catalog when its embedded data failed to load
    /// (which the unit tests rule out): every lookup then reports it.
    load_error: Option<SystemError>,
}

static BUILTIN: OnceLock<SystemCatalog> = OnceLock::new();

impl SystemCatalog {
    /// The catalog embedded in the core: the measured systems
    /// (`core/data/systems/measured.yaml`) and the datasheet-only ones
    /// (`core/data/systems/datasheet.yaml`). Parsed once.
    pub fn builtin() -> &'static SystemCatalog {
        BUILTIN.get_or_init(|| {
            SystemCatalog::from_sources(&[
                ("core/data/systems/measured.yaml", MEASURED_YAML),
                ("core/data/systems/datasheet.yaml", DATASHEET_YAML),
            ])
            .unwrap_or_else(|e| SystemCatalog {
                systems: BTreeMap::new(),
                load_error: Some(e),
            })
        })
    }

    /// A catalog from systems files (`(name for errors, YAML or JSON text)`), e.g.
    /// the built-in ones plus a host's own. A SKU defined twice is an error.
    pub fn from_sources(sources: &[(&str, &str)]) -> Result<Self, SystemError> {
        let mut specs = Vec::new();
        for (name, text) in sources {
            specs.extend(load::parse_systems(name, text)?);
        }
        Self::from_specs(specs)
    }

    /// A catalog from systems already in hand. Checks that no SKU is defined twice,
    /// that no SKU shadows an alias of another, and that every `tables` names a
    /// system of the catalog measured on itself.
    pub fn from_specs(specs: impl IntoIterator<Item = SystemSpec>) -> Result<Self, SystemError> {
        let mut systems = BTreeMap::new();
        for spec in specs {
            let sku = spec.sku.clone();
            if systems.insert(sku.clone(), spec).is_some() {
                return Err(data_error(format!("SKU '{sku}' is defined twice")));
            }
        }
        for spec in systems.values() {
            if let Some(t) = &spec.tables {
                let measured = systems.get(t).is_some_and(|s| s.tables.as_ref() == Some(t));
                if !measured {
                    return Err(data_error(format!(
                        "'{}' borrows the tables of '{t}', which is not a measured system of the catalog",
                        spec.sku
                    )));
                }
            }
        }
        Ok(SystemCatalog {
            systems,
            load_error: None,
        })
    }

    /// Finds a system by SKU. Case and surrounding space are ignored, `-` and spaces
    /// count as `_` (`H200-SXM` is `h200_sxm`), and the [`ALIASES`] are accepted.
    /// An unknown name yields [`SystemError::UnknownSku`] with every known SKU and
    /// the closest match: the SKU a GPU product string maps to (so that a raw
    /// `NVIDIA-H100-80GB-HBM3` suggests `h100_sxm`), else the most similar name.
    pub fn lookup(&self, sku: &str) -> Result<&SystemSpec, SystemError> {
        if let Some(e) = &self.load_error {
            return Err(e.clone());
        }
        let key = normalize_sku(sku);
        if let Some(spec) = self.systems.get(&key) {
            return Ok(spec);
        }
        let aliased = ALIASES
            .iter()
            .find(|(alias, _)| *alias == key)
            .and_then(|(_, target)| self.systems.get(*target));
        if let Some(spec) = aliased {
            return Ok(spec);
        }
        Err(SystemError::UnknownSku {
            sku: sku.to_string(),
            known: self.known_skus().map(str::to_string).collect(),
            closest: self.closest(sku, &key),
        })
    }

    /// The canonical SKU a name resolves to, if any.
    pub fn canonical(&self, sku: &str) -> Option<&str> {
        self.lookup(sku).ok().map(|s| s.sku.as_str())
    }

    /// Whether a name resolves to a system.
    pub fn contains(&self, sku: &str) -> bool {
        self.lookup(sku).is_ok()
    }

    /// Every canonical SKU, sorted.
    pub fn known_skus(&self) -> impl Iterator<Item = &str> {
        self.systems.keys().map(String::as_str)
    }

    /// The aliases that resolve in this catalog, as `(alias, canonical)`, sorted.
    pub fn aliases(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        ALIASES.iter().copied().filter(|(alias, target)| {
            self.systems.contains_key(*target) && !self.systems.contains_key(*alias)
        })
    }

    /// Every system, sorted by SKU.
    pub fn iter(&self) -> impl Iterator<Item = &SystemSpec> {
        self.systems.values()
    }

    pub fn len(&self) -> usize {
        self.systems.len()
    }

    pub fn is_empty(&self) -> bool {
        self.systems.is_empty()
    }

    /// The closest accepted name to an unknown one, as a canonical SKU: the SKU a
    /// product string maps to; else, among names at least
    /// [`CLOSEST_MIN_SIMILARITY`] alike, one the input is the start of, then the
    /// most alike. So a bare, ambiguous `a100` suggests `a100_sxm` (fewer edits
    /// than `a100_pcie`), and `h100` does not suggest the alias `h200`.
    fn closest(&self, raw: &str, key: &str) -> Option<String> {
        if !is_bare_family(raw)
            && let Ok(sku) = product_to_sku(raw)
            && self.systems.contains_key(sku)
        {
            return Some(sku.to_string());
        }
        let mut names: Vec<(&str, &str)> = self.known_skus().map(|s| (s, s)).collect();
        for (alias, target) in self.aliases() {
            names.push((alias, target));
        }
        let mut best: Option<(f64, &str)> = None;
        for (name, target) in names {
            let similarity = strsim::normalized_damerau_levenshtein(key, name);
            // A name the input is the start of (`h100` of `h100_sxm`) beats one
            // that merely differs little (`h200`).
            let prefix_bonus = if name.starts_with(key) { 1.0 } else { 0.0 };
            let score = similarity + prefix_bonus;
            if similarity >= CLOSEST_MIN_SIMILARITY && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, target));
            }
        }
        best.map(|(_, target)| target.to_string())
    }
}

/// The form a SKU is compared in: trimmed, lowercase, `-` and spaces as `_`.
pub fn normalize_sku(sku: &str) -> String {
    sku.trim()
        .chars()
        .map(|c| match c {
            '-' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn data_error(message: String) -> SystemError {
    SystemError::Data {
        source_name: "system catalog".to_string(),
        message,
    }
}
