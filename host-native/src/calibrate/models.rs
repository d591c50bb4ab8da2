//! `dgdr calibrate import-models DIR -o FILE`: builds the core's embedded model
//! catalog (`core/data/models/catalog.json`) from a folder of HuggingFace
//! config files named `<org>--<name>_config.json` (with
//! `<org>--<name>_hf_quant_config.json` beside ModelOpt checkpoints).
//!
//! The output is deterministic (ids sorted, one model per line, integers only),
//! so re-running on the same folder reproduces the committed file byte for byte.

use std::path::Path;

use anyhow::{Context, Result};
use dgdr_core::catalog::model::{
    ConfigFiles, build_catalog, hf_quant_file_name, id_from_file_name,
};

/// Reads every config of `dir` (sorted by file name) into [`ConfigFiles`].
pub fn read_config_files(dir: &Path) -> Result<Vec<ConfigFiles>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    names.sort();
    let mut files = Vec::new();
    for name in names {
        let Some(id) = id_from_file_name(&name) else {
            continue;
        };
        let path = dir.join(&name);
        let config_json = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let hf_quant_config_json = match hf_quant_file_name(&name) {
            Some(q) if dir.join(&q).is_file() => Some(
                std::fs::read_to_string(dir.join(&q))
                    .with_context(|| format!("cannot read {}", dir.join(&q).display()))?,
            ),
            _ => None,
        };
        files.push(ConfigFiles {
            id,
            config_json,
            hf_quant_config_json,
        });
    }
    if files.is_empty() {
        anyhow::bail!(
            "{} holds no `<org>--<name>_config.json` files",
            dir.display()
        );
    }
    Ok(files)
}

/// The catalog file text for the configs in `dir`.
pub fn import_models(dir: &Path) -> Result<String> {
    let files = read_config_files(dir)?;
    let catalog = build_catalog(&files)
        .with_context(|| format!("cannot build the model catalog from {}", dir.display()))?;
    Ok(catalog.to_json()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_folder_is_an_error() {
        let dir = std::env::temp_dir().join(format!("dgdr-import-models-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("test setup");
        let err = import_models(&dir).expect_err("must fail");
        assert!(err.to_string().contains("holds no"), "{err}");
        std::fs::remove_dir_all(&dir).expect("test setup");
    }

    #[test]
    fn a_folder_of_configs_becomes_a_catalog() {
        let dir =
            std::env::temp_dir().join(format!("dgdr-import-models-ok-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("test setup");
        std::fs::write(
            dir.join("a--tiny_config.json"),
            r#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 64,
                "intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 2,
                "vocab_size": 100, "max_position_embeddings": 64, "torch_dtype": "bfloat16"}"#,
        )
        .expect("test setup");
        std::fs::write(dir.join("notes.txt"), "ignored").expect("test setup");
        let text = import_models(&dir).expect("test setup");
        let catalog = dgdr_core::catalog::model::Catalog::from_json(&text).expect("test setup");
        assert_eq!(catalog.ids().collect::<Vec<_>>(), ["a/tiny"]);
        std::fs::remove_dir_all(&dir).expect("test setup");
    }
}
