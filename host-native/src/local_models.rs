//! Reads models named by a local path in `spec.model` (a directory holding
//! `config.json`, and `hf_quant_config.json` when the checkpoint has one).

use dgdr_core::catalog::model::{ModelArch, ModelError, parse_hf_config};
use dgdr_core::gates::LocalModels;
use std::path::Path;

/// Reads model directories from the local file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsModels;

impl LocalModels for FsModels {
    fn read(&self, path: &str) -> Option<Result<ModelArch, ModelError>> {
        let p = Path::new(path);
        let dir = if p.is_file() { p.parent()? } else { p };
        let config = dir.join("config.json");
        let text = std::fs::read_to_string(&config).ok()?;
        let quant = std::fs::read_to_string(dir.join("hf_quant_config.json")).ok();
        Some(parse_hf_config(&text, quant.as_deref()).map(|mut m| {
            if m.id.is_empty() {
                m.id = path.to_string();
            }
            m
        }))
    }
}
