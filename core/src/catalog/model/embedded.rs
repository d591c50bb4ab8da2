//! The model catalog compiled into the core: `core/data/models/catalog.json`,
//! the architecture facts of every model dgdr knows by id, generated from the
//! models' own config files by `dgdr calibrate import-models` (see
//! `core/data/models/README.md`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::arch::ModelArch;
use super::error::ModelError;

/// The embedded catalog file.
pub const CATALOG_JSON: &str = include_str!("../../../data/models/catalog.json");

/// Version of the catalog file layout.
pub const CATALOG_FORMAT: u64 = 1;

/// A model the catalog knows by id but cannot model: resolving it says why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsupported {
    pub architecture: String,
    pub reason: String,
}

/// Models by HuggingFace id.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    pub(crate) models: BTreeMap<String, ModelArch>,
    pub(crate) unsupported: BTreeMap<String, Unsupported>,
    load_error: Option<ModelError>,
}

#[derive(Serialize, Deserialize)]
struct CatalogFile {
    format: u64,
    source: String,
    models: BTreeMap<String, ModelArch>,
    unsupported: BTreeMap<String, Unsupported>,
}

static BUILTIN: OnceLock<Catalog> = OnceLock::new();

/// What the file says about where its facts come from.
const SOURCE: &str = "architecture facts read from each model's own config.json (and \
    hf_quant_config.json) in its HuggingFace repository; no weights";

impl Catalog {
    /// The catalog compiled into the core.
    pub fn builtin() -> &'static Catalog {
        BUILTIN.get_or_init(|| {
            Catalog::from_json(CATALOG_JSON).unwrap_or_else(|e| Catalog {
                models: BTreeMap::new(),
                unsupported: BTreeMap::new(),
                load_error: Some(e),
            })
        })
    }

    /// A catalog of these models.
    pub fn new(
        models: BTreeMap<String, ModelArch>,
        unsupported: BTreeMap<String, Unsupported>,
    ) -> Self {
        let models = models
            .into_iter()
            .map(|(id, mut arch)| {
                arch.id.clone_from(&id);
                (id, arch)
            })
            .collect();
        Catalog {
            models,
            unsupported,
            load_error: None,
        }
    }

    /// Reads a catalog file.
    pub fn from_json(text: &str) -> Result<Self, ModelError> {
        let file: CatalogFile =
            serde_json::from_str(text).map_err(|e| ModelError::CatalogCorrupt {
                message: e.to_string(),
            })?;
        if file.format != CATALOG_FORMAT {
            return Err(ModelError::CatalogCorrupt {
                message: format!(
                    "format {} where this build reads format {CATALOG_FORMAT}",
                    file.format
                ),
            });
        }
        for (id, arch) in &file.models {
            arch.check_bounds()
                .map_err(|e| ModelError::CatalogCorrupt {
                    message: format!("{id}: {e}"),
                })?;
        }
        Ok(Catalog::new(file.models, file.unsupported))
    }

    /// The catalog file: one model per line, keys sorted, so that regenerating
    /// it from the same configs reproduces it byte for byte.
    pub fn to_json(&self) -> Result<String, ModelError> {
        let corrupt = |e: serde_json::Error| ModelError::CatalogCorrupt {
            message: e.to_string(),
        };
        let mut out = String::new();
        out.push_str(&format!(
            "{{\"format\":{CATALOG_FORMAT},\n\"source\":{},\n\"models\":{{",
            serde_json::to_string(SOURCE).map_err(corrupt)?
        ));
        for (i, (id, arch)) in self.models.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            out.push_str(&serde_json::to_string(id).map_err(corrupt)?);
            out.push(':');
            out.push_str(&serde_json::to_string(arch).map_err(corrupt)?);
        }
        out.push_str("\n},\n\"unsupported\":{");
        for (i, (id, u)) in self.unsupported.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            out.push_str(&serde_json::to_string(id).map_err(corrupt)?);
            out.push(':');
            out.push_str(&serde_json::to_string(u).map_err(corrupt)?);
        }
        out.push_str("\n}}\n");
        Ok(out)
    }

    /// Why the catalog could not be loaded, if it could not.
    pub fn load_error(&self) -> Option<&ModelError> {
        self.load_error.as_ref()
    }

    /// Ids of the models it can model.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.models.keys().map(String::as_str)
    }

    /// The model of exactly this id.
    pub fn get(&self, id: &str) -> Option<&ModelArch> {
        self.models.get(id)
    }

    /// Models known by id whose architecture is not modelled.
    pub fn unsupported(&self) -> &BTreeMap<String, Unsupported> {
        &self.unsupported
    }

    pub fn len(&self) -> usize {
        self.models.len()
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_loads() {
        let c = Catalog::builtin();
        assert!(c.load_error().is_none(), "{:?}", c.load_error());
        assert!(c.len() > 50, "only {} models", c.len());
        for (id, arch) in &c.models {
            assert_eq!(&arch.id, id);
        }
    }

    #[test]
    fn to_json_round_trips() {
        let c = Catalog::builtin();
        let text = c.to_json().unwrap();
        let again = Catalog::from_json(&text).unwrap();
        assert_eq!(&again, c);
        assert_eq!(again.to_json().unwrap(), text);
    }

    #[test]
    fn corrupt_files_are_errors() {
        let cases = [
            ("", "corrupt"),
            (
                r#"{"format": 99, "source": "", "models": {}, "unsupported": {}}"#,
                "format 99",
            ),
        ];
        for (text, needle) in cases {
            let e = Catalog::from_json(text).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
    }
}
