//! Errors of the model catalog, each convertible to a [`Diagnostic`].

use crate::diag::{Code, Diagnostic};

/// What can go wrong when resolving a model id or reading a model's config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The id is not in the built-in catalog, under any alias.
    #[error("unknown model `{id}`{}", closest_suffix(closest))]
    UnknownModel { id: String, closest: Vec<String> },

    /// The id is a filesystem path: only the host can read it.
    #[error("model `{id}` is a path, not a HuggingFace id")]
    PathNeedsHost { id: String },

    /// The config names an architecture the catalog cannot model exactly.
    #[error("unsupported architecture {architecture}: {reason}")]
    UnsupportedArchitecture {
        architecture: String,
        reason: String,
    },

    /// The config (or hf_quant_config) quantizes weights in a way the catalog
    /// cannot turn into bytes exactly.
    #[error("unsupported quantization `{method}`: {reason}")]
    UnsupportedQuantization { method: String, reason: String },

    /// A field of the config is missing, of the wrong type, or out of range.
    #[error("invalid model config: `{field}` {message}")]
    InvalidConfig { field: String, message: String },

    /// The catalog compiled into the core could not be read (a build defect).
    #[error("the built-in model catalog is corrupt: {message}")]
    CatalogCorrupt { message: String },
}

fn closest_suffix(closest: &[String]) -> String {
    if closest.is_empty() {
        String::new()
    } else {
        format!("; closest known: {}", closest.join(", "))
    }
}

impl ModelError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ModelError::InvalidConfig {
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn unsupported(architecture: impl Into<String>, reason: impl Into<String>) -> Self {
        ModelError::UnsupportedArchitecture {
            architecture: architecture.into(),
            reason: reason.into(),
        }
    }

    /// The stable diagnostic code of this error.
    pub fn code(&self) -> Code {
        match self {
            ModelError::UnknownModel { .. }
            | ModelError::PathNeedsHost { .. }
            | ModelError::InvalidConfig { .. }
            | ModelError::CatalogCorrupt { .. } => Code::ModelUnknown,
            ModelError::UnsupportedArchitecture { .. }
            | ModelError::UnsupportedQuantization { .. } => Code::UnsupportedArchitecture,
        }
    }

    /// What a person can do about it.
    pub fn hint(&self) -> String {
        match self {
            ModelError::UnknownModel { closest, .. } => {
                let did_you_mean = match closest.first() {
                    Some(c) => format!("did you mean `{c}`? "),
                    None => String::new(),
                };
                format!(
                    "{did_you_mean}dgdr never guesses a model: use a HuggingFace id from the \
                     built-in catalog, or point `model` at a local \
                     directory holding the model's config.json"
                )
            }
            ModelError::PathNeedsHost { .. } => "the host (CLI, operator) must read \
                config.json (and hf_quant_config.json, if any) from that directory and pass \
                their text to `parse_hf_config`; in the browser, upload the config file"
                .to_string(),
            ModelError::UnsupportedArchitecture { .. } => "pick a model of a supported \
                architecture, or profile with `searchStrategy: thorough` on real GPUs, which \
                needs no performance model of the architecture"
                .to_string(),
            ModelError::UnsupportedQuantization { .. } => "use the checkpoint's unquantized \
                (BF16) or FP8/NVFP4 variant, or profile with `searchStrategy: thorough`"
                .to_string(),
            ModelError::InvalidConfig { .. } => "check that the file is the model's own \
                config.json from its HuggingFace repository, unedited"
                .to_string(),
            ModelError::CatalogCorrupt { .. } => "this is a bug in dgdr: please report it; \
                meanwhile pass the model's config.json from a local directory"
                .to_string(),
        }
    }

    /// This error as a diagnostic at `path` (e.g. `spec.model`).
    pub fn to_diagnostic(&self, path: &str) -> Diagnostic {
        Diagnostic::error(path, self.code(), self.to_string(), self.hint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_carry_code_message_and_hint() {
        let cases: Vec<(ModelError, Code, &str)> = vec![
            (
                ModelError::UnknownModel {
                    id: "Qwen/Qwen3-33B".into(),
                    closest: vec!["Qwen/Qwen3-32B".into()],
                },
                Code::ModelUnknown,
                "closest known: Qwen/Qwen3-32B",
            ),
            (
                ModelError::PathNeedsHost {
                    id: "/models/x".into(),
                },
                Code::ModelUnknown,
                "is a path",
            ),
            (
                ModelError::unsupported("DeepseekV4ForCausalLM", "compressed attention"),
                Code::UnsupportedArchitecture,
                "unsupported architecture DeepseekV4ForCausalLM",
            ),
            (
                ModelError::invalid("hidden_size", "is missing"),
                Code::ModelUnknown,
                "`hidden_size` is missing",
            ),
        ];
        for (err, code, needle) in cases {
            let d = err.to_diagnostic("spec.model");
            assert_eq!(d.code, code);
            assert_eq!(d.path, "spec.model");
            assert!(d.message.contains(needle), "{} lacks {needle}", d.message);
            assert!(!d.hint.is_empty());
        }
    }

    #[test]
    fn unknown_model_hint_suggests_the_closest() {
        let e = ModelError::UnknownModel {
            id: "x".into(),
            closest: vec!["a/b".into(), "c/d".into()],
        };
        assert!(e.hint().starts_with("did you mean `a/b`?"));
    }
}
