//! Resolving the model a DGDR names: exact HuggingFace ids, any letter case,
//! known aliases, `-Instruct` variants of the same architecture, and quantized
//! checkpoints (`nvidia/<model>-NVFP4`, `<org>/<model>-FP8`) as their base
//! architecture plus that quantization. Anything else is an error listing the
//! closest known ids: the catalog never guesses.

use super::arch::ModelArch;
use super::embedded::Catalog;
use super::error::ModelError;
use super::quant::{Quantization, WeightFormat};

/// Ids that name the architecture of another entry. Each pair was checked to
/// have the same config (architecture fields) on HuggingFace.
pub const ALIASES: &[(&str, &str)] = &[
    ("meta-llama/Llama-3.1-8B", "meta-llama/Meta-Llama-3.1-8B"),
    ("meta-llama/Llama-3.1-70B", "meta-llama/Meta-Llama-3.1-70B"),
    (
        "meta-llama/Llama-3.1-405B",
        "meta-llama/Meta-Llama-3.1-405B",
    ),
    // Llama 3.3 70B has exactly the architecture of Llama 3.1 70B.
    ("meta-llama/Llama-3.3-70B", "meta-llama/Meta-Llama-3.1-70B"),
];

/// Organisations that publish under two names.
pub const ORG_ALIASES: &[(&str, &str)] = &[("zhipuai", "zai-org"), ("thudm", "zai-org")];

/// Suffixes of chat/instruct variants whose config is the base's architecture
/// (and the other way round: a base id resolves to its `-Instruct` entry).
const VARIANT_SUFFIXES: &[&str] = &["-instruct", "-it"];

/// Quantized-checkpoint suffixes (lower case) and the format they mean.
const QUANT_SUFFIXES: &[(&str, WeightFormat)] = &[
    ("-nvfp4", WeightFormat::Nvfp4),
    ("-fp4", WeightFormat::Nvfp4),
    ("-mxfp4", WeightFormat::Mxfp4),
    ("-fp8-dynamic", WeightFormat::Fp8),
    ("-fp8-static", WeightFormat::Fp8),
    ("-fp8", WeightFormat::Fp8Block),
];

/// Does `id` look like a filesystem path rather than a HuggingFace id?
pub fn is_path(id: &str) -> bool {
    id.starts_with('/')
        || id.starts_with("./")
        || id.starts_with("../")
        || id.starts_with('~')
        || id.starts_with("file:")
        || id == "."
        || id.contains('\\')
        || id.ends_with(".json")
        || id.chars().nth(1) == Some(':')
        || id.matches('/').count() > 1
}

fn split_org(id: &str) -> (&str, &str) {
    match id.split_once('/') {
        Some((org, name)) => (org, name),
        None => ("", id),
    }
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let (head, tail) = (s.get(..cut)?, s.get(cut..)?);
    (tail.eq_ignore_ascii_case(suffix) && !head.is_empty()).then_some(head)
}

impl Catalog {
    /// Resolves a model id (see the module docs).
    pub fn resolve(&self, id: &str) -> Result<ModelArch, ModelError> {
        if let Some(e) = self.load_error() {
            return Err(e.clone());
        }
        let id = id
            .trim()
            .trim_start_matches("https://huggingface.co/")
            .trim_start_matches("hf://");
        if is_path(id) {
            return Err(ModelError::PathNeedsHost { id: id.to_string() });
        }
        let id = id.trim_end_matches('/');
        if let Some(found) = self.lookup(id) {
            return Ok(found);
        }
        // A quantized checkpoint of a known architecture.
        let (org, name) = split_org(id);
        for (suffix, format) in QUANT_SUFFIXES {
            let Some(base) = strip_suffix_ci(name, suffix) else {
                continue;
            };
            let base_id = if org.is_empty() {
                base.to_string()
            } else {
                format!("{org}/{base}")
            };
            let found = self.lookup(&base_id).or_else(|| self.lookup_by_name(base));
            if let Some(mut arch) = found {
                let format =
                    if org.eq_ignore_ascii_case("nvidia") && *format == WeightFormat::Fp8Block {
                        WeightFormat::Fp8
                    } else {
                        *format
                    };
                arch.notes.push(format!(
                    "`{id}` is not in the catalog: architecture of `{}` with every linear layer \
                     assumed {} (the checkpoint's excluded layers are unknown)",
                    arch.id,
                    format.as_str()
                ));
                arch.quantization = Quantization::uniform(format);
                arch.id = id.to_string();
                return Ok(arch);
            }
        }
        if let Some((known, u)) = self
            .unsupported
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(id))
        {
            return Err(ModelError::UnsupportedArchitecture {
                architecture: u.architecture.clone(),
                reason: format!("{} ({known})", u.reason),
            });
        }
        Err(ModelError::UnknownModel {
            id: id.to_string(),
            closest: self.closest(id, 3),
        })
    }

    /// Exact, case-insensitive, alias and variant lookups (no quantization change).
    fn lookup(&self, id: &str) -> Option<ModelArch> {
        let mut candidates = vec![id.to_string()];
        let (org, name) = split_org(id);
        for (from, to) in ORG_ALIASES {
            if org.eq_ignore_ascii_case(from) {
                candidates.push(format!("{to}/{name}"));
            }
        }
        for suffix in VARIANT_SUFFIXES {
            let more: Vec<String> = candidates
                .iter()
                .filter_map(|c| strip_suffix_ci(c, suffix).map(str::to_string))
                .collect();
            candidates.extend(more);
        }
        // A base model whose catalog entry is its instruct variant.
        let instruct: Vec<String> = candidates.iter().map(|c| format!("{c}-Instruct")).collect();
        candidates.extend(instruct);
        for (i, cand) in candidates.iter().enumerate() {
            let target = ALIASES
                .iter()
                .find(|(from, _)| from.eq_ignore_ascii_case(cand))
                .map_or(cand.as_str(), |(_, to)| to);
            let hit = self.models.get(target).or_else(|| {
                self.models
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(target))
                    .map(|(_, v)| v)
            });
            if let Some(arch) = hit {
                let mut arch = arch.clone();
                if i > 0 || !target.eq_ignore_ascii_case(id) {
                    arch.notes
                        .push(format!("`{id}` has the architecture of `{}`", arch.id));
                    arch.id = id.to_string();
                }
                return Some(arch);
            }
        }
        None
    }

    /// The unquantized model called `name` under any organisation (for a
    /// quantized checkpoint republished by another organisation, e.g.
    /// `nvidia/Qwen3-32B-NVFP4`). When several organisations have it, an
    /// unquantized config is preferred, then the first id.
    fn lookup_by_name(&self, name: &str) -> Option<ModelArch> {
        let mut names = vec![name.to_string()];
        for suffix in VARIANT_SUFFIXES {
            if let Some(base) = strip_suffix_ci(name, suffix) {
                names.push(base.to_string());
            }
        }
        for n in &names {
            for (from, to) in ALIASES {
                let (_, alias_name) = split_org(from);
                if alias_name.eq_ignore_ascii_case(n) {
                    return self.models.get(*to).cloned();
                }
            }
            let mut hits: Vec<&ModelArch> = self
                .models
                .iter()
                .filter(|(k, _)| split_org(k).1.eq_ignore_ascii_case(n))
                .map(|(_, v)| v)
                .collect();
            hits.sort_by_key(|a| (a.quantization.is_quantized(), a.id.clone()));
            if let Some(a) = hits.first() {
                return Some((*a).clone());
            }
        }
        None
    }

    /// The `n` known ids closest to `id` (by edit distance, of the whole id or
    /// of the name without its organisation).
    pub fn closest(&self, id: &str, n: usize) -> Vec<String> {
        let want = id.to_ascii_lowercase();
        let (_, want_name) = split_org(&want);
        let mut want_names = vec![want_name];
        for (suffix, _) in QUANT_SUFFIXES {
            if let Some(base) = strip_suffix_ci(want_name, suffix) {
                want_names.push(base);
            }
        }
        let mut scored: Vec<(f64, &str)> = self
            .models
            .keys()
            .map(String::as_str)
            .chain(ALIASES.iter().map(|(from, _)| *from))
            .map(|k| {
                let lk = k.to_ascii_lowercase();
                let (_, name) = split_org(&lk);
                let whole = strsim::normalized_damerau_levenshtein(&want, &lk);
                let part = want_names
                    .iter()
                    .map(|w| strsim::normalized_damerau_levenshtein(w, name))
                    .fold(0.0, f64::max);
                (whole.max(part), k)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        scored.dedup_by(|a, b| a.1 == b.1);
        scored
            .into_iter()
            .take(n)
            .map(|(_, k)| k.to_string())
            .collect()
    }
}

/// [`Catalog::resolve`] in the built-in catalog.
pub fn resolve(id: &str) -> Result<ModelArch, ModelError> {
    Catalog::builtin().resolve(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::quant::QuantSource;

    #[test]
    fn paths_need_the_host() {
        for id in [
            "/models/foo",
            "./x",
            "../m",
            "~/m",
            "C:\\m",
            "/a/b/config.json",
            "a/b/c",
        ] {
            let err = resolve(id).unwrap_err();
            assert!(
                matches!(err, ModelError::PathNeedsHost { .. }),
                "{id}: {err}"
            );
            assert!(err.hint().contains("parse_hf_config"));
        }
        for id in ["Qwen/Qwen3-32B", "gpt2"] {
            assert!(!is_path(id), "{id}");
        }
    }

    #[test]
    fn ids_resolve_to_their_architecture() {
        // (asked, catalog entry whose architecture it must have, quantization method)
        let cases = [
            ("Qwen/Qwen3-32B", "Qwen/Qwen3-32B", "none"),
            ("qwen/qwen3-32b", "Qwen/Qwen3-32B", "none"),
            (" Qwen/Qwen3-32B ", "Qwen/Qwen3-32B", "none"),
            (
                "https://huggingface.co/Qwen/Qwen3-32B",
                "Qwen/Qwen3-32B",
                "none",
            ),
            ("Qwen/Qwen3-32B-FP8", "Qwen/Qwen3-32B-FP8", "fp8_block"),
            (
                "meta-llama/Llama-3.1-70B",
                "meta-llama/Meta-Llama-3.1-70B",
                "none",
            ),
            (
                "meta-llama/Llama-3.1-8B-Instruct",
                "meta-llama/Meta-Llama-3.1-8B",
                "none",
            ),
            (
                "meta-llama/Llama-3.3-70B-Instruct",
                "meta-llama/Meta-Llama-3.1-70B",
                "none",
            ),
            ("zhipuai/GLM-5", "zai-org/GLM-5", "none"),
            (
                "nvidia/Llama-3.1-8B-Instruct-FP8",
                "meta-llama/Meta-Llama-3.1-8B",
                "fp8",
            ),
            ("nvidia/Qwen3-32B-NVFP4", "Qwen/Qwen3-32B", "nvfp4"),
            (
                "nvidia/DeepSeek-R1-NVFP4",
                "deepseek-ai/DeepSeek-R1",
                "nvfp4",
            ),
            ("Qwen/Qwen3-8B-FP8", "Qwen/Qwen3-8B", "fp8_block"),
            (
                "meta-llama/Llama-4-Scout-17B-16E",
                "meta-llama/Llama-4-Scout-17B-16E-Instruct",
                "none",
            ),
        ];
        let c = Catalog::builtin();
        for (asked, like, method) in cases {
            let got = c.resolve(asked).unwrap_or_else(|e| panic!("{asked}: {e}"));
            let want = c.get(like).unwrap();
            assert_eq!(got.params(), want.params(), "{asked}");
            assert_eq!(got.quantization.method, method, "{asked}");
        }
    }

    #[test]
    fn exact_ids_keep_their_own_facts() {
        let got = resolve("nvidia/DeepSeek-V3.1-NVFP4").unwrap();
        assert_eq!(got.id, "nvidia/DeepSeek-V3.1-NVFP4");
        assert_eq!(got.quantization.source, QuantSource::HfQuantConfig);
        assert!(got.notes.is_empty(), "{:?}", got.notes);
    }

    #[test]
    fn inferred_quantization_says_so() {
        let got = resolve("nvidia/Qwen3-32B-NVFP4").unwrap();
        assert_eq!(got.id, "nvidia/Qwen3-32B-NVFP4");
        assert_eq!(got.quantization.source, QuantSource::IdSuffix);
        assert!(
            got.notes.iter().any(|n| n.contains("Qwen/Qwen3-32B")),
            "{:?}",
            got.notes
        );
    }

    #[test]
    fn unknown_ids_list_the_closest_and_never_guess() {
        let cases = [
            ("Qwen/Qwen3-33B", "Qwen/Qwen3-32B"),
            ("deepseek-ai/DeepSeek-R2", "deepseek-ai/DeepSeek-R1"),
            ("nvidia/Qwen3-33B-NVFP4", "Qwen/Qwen3-32B"),
            ("", ""),
        ];
        for (id, near) in cases {
            match resolve(id) {
                Err(ModelError::UnknownModel { closest, .. }) => {
                    assert_eq!(closest.len(), 3, "{id}");
                    if !near.is_empty() {
                        assert!(closest.iter().any(|c| c == near), "{id}: {closest:?}");
                    }
                }
                other => panic!("{id}: {other:?}"),
            }
        }
    }

    #[test]
    fn known_unsupported_models_say_why() {
        // Every architecture of the built-in catalog is modelled; a catalog
        // built from other configs records the ones it cannot model.
        let catalog = Catalog::new(
            Default::default(),
            [(
                "acme/Next-1".to_string(),
                super::super::embedded::Unsupported {
                    architecture: "AcmeNextForCausalLM".into(),
                    reason: "not one of the architectures dgdr models".into(),
                },
            )]
            .into(),
        );
        let err = catalog.resolve("ACME/next-1").unwrap_err();
        assert!(
            matches!(err, ModelError::UnsupportedArchitecture { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("AcmeNextForCausalLM"));
        assert!(err.to_string().contains("(acme/Next-1)"));
    }
}
