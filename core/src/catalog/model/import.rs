//! Building a catalog from a folder of HuggingFace config files (the host
//! lists and reads the folder; this is the pure part). Files are named
//! `<org>--<name>_config.json`, with `<org>--<name>_hf_quant_config.json` beside
//! the ones that have a ModelOpt quantization file.

use std::collections::BTreeMap;

use super::config::parse_hf_config;
use super::embedded::{Catalog, Unsupported};
use super::error::ModelError;

/// The HuggingFace id of a config file name: `Qwen--Qwen3-32B_config.json` →
/// `Qwen/Qwen3-32B`. `None` for other files (including `*_hf_quant_config.json`).
pub fn id_from_file_name(file: &str) -> Option<String> {
    if file.ends_with("_hf_quant_config.json") {
        return None;
    }
    let stem = file.strip_suffix("_config.json")?;
    let (org, name) = stem.split_once("--")?;
    if org.is_empty() || name.is_empty() || name.contains("--") {
        return None;
    }
    Some(format!("{org}/{name}"))
}

/// The quantization file name that goes with a config file name.
pub fn hf_quant_file_name(config_file: &str) -> Option<String> {
    config_file
        .strip_suffix("_config.json")
        .map(|stem| format!("{stem}_hf_quant_config.json"))
}

/// One model's files, read by the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFiles {
    pub id: String,
    pub config_json: String,
    pub hf_quant_config_json: Option<String>,
}

/// Builds a catalog: every model either parses or is recorded as unsupported
/// (with the reason). Any other error (unreadable JSON, missing fields) fails
/// the build, naming the model.
pub fn build_catalog(files: &[ConfigFiles]) -> Result<Catalog, ModelError> {
    let mut models = BTreeMap::new();
    let mut unsupported = BTreeMap::new();
    for f in files {
        match parse_hf_config(&f.config_json, f.hf_quant_config_json.as_deref()) {
            Ok(arch) => {
                models.insert(f.id.clone(), arch);
            }
            Err(ModelError::UnsupportedArchitecture {
                architecture,
                reason,
            }) => {
                unsupported.insert(
                    f.id.clone(),
                    Unsupported {
                        architecture,
                        reason,
                    },
                );
            }
            Err(ModelError::UnsupportedQuantization { method, reason }) => {
                unsupported.insert(
                    f.id.clone(),
                    Unsupported {
                        architecture: format!("quantization {method}"),
                        reason,
                    },
                );
            }
            Err(ModelError::InvalidConfig { field, message }) => {
                return Err(ModelError::InvalidConfig {
                    field: format!("{}: {field}", f.id),
                    message,
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Catalog::new(models, unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_map_to_ids() {
        let cases = [
            ("Qwen--Qwen3-32B_config.json", Some("Qwen/Qwen3-32B")),
            (
                "nvidia--Llama-3_3-Nemotron-Super-49B-v1_config.json",
                Some("nvidia/Llama-3_3-Nemotron-Super-49B-v1"),
            ),
            ("nvidia--GLM-5-NVFP4_hf_quant_config.json", None),
            ("README.md", None),
            ("noorg_config.json", None),
        ];
        for (file, want) in cases {
            assert_eq!(id_from_file_name(file).as_deref(), want, "{file}");
        }
        assert_eq!(
            hf_quant_file_name("nvidia--GLM-5-NVFP4_config.json").as_deref(),
            Some("nvidia--GLM-5-NVFP4_hf_quant_config.json")
        );
    }

    #[test]
    fn unsupported_models_are_recorded_and_bad_ones_fail() {
        let ok = ConfigFiles {
            id: "a/ok".into(),
            config_json: r#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 64,
                "intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 2,
                "vocab_size": 100, "max_position_embeddings": 64, "torch_dtype": "bfloat16"}"#
                .into(),
            hf_quant_config_json: None,
        };
        let unsupported = ConfigFiles {
            id: "a/next".into(),
            config_json: r#"{"architectures": ["AcmeNextForCausalLM"]}"#.into(),
            hf_quant_config_json: None,
        };
        let c = build_catalog(&[ok.clone(), unsupported.clone()]).unwrap();
        assert_eq!(c.ids().collect::<Vec<_>>(), ["a/ok"]);
        assert_eq!(
            c.unsupported()["a/next"].architecture,
            "AcmeNextForCausalLM"
        );
        let bad = ConfigFiles {
            id: "a/bad".into(),
            config_json: r#"{"architectures": ["LlamaForCausalLM"]}"#.into(),
            hf_quant_config_json: None,
        };
        let err = build_catalog(&[ok, bad]).unwrap_err();
        assert!(err.to_string().contains("a/bad"), "{err}");
    }
}
