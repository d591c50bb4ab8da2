//! Reading and checking GPU system data: the embedded files and any the host brings.

use super::error::SystemError;
use super::spec::SystemSpec;
use serde::{Deserialize, Serialize};

/// Systems with measured tables, generated from AI Configurator's system specs by
/// `tests/tests/system_catalog.rs`. Do not edit by hand.
pub const MEASURED_YAML: &str = include_str!("../../../data/systems/measured.yaml");
/// Datasheet-only systems, written by hand with a datasheet citation per entry.
pub const DATASHEET_YAML: &str = include_str!("../../../data/systems/datasheet.yaml");

/// The shape of a systems file: `systems: [SystemSpec, ...]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemFile {
    pub systems: Vec<SystemSpec>,
}

/// Parses one systems file (JSON when it starts with `{`, else YAML) and checks
/// every entry.
pub fn parse_systems(source_name: &str, text: &str) -> Result<Vec<SystemSpec>, SystemError> {
    let data_error = |message: String| SystemError::Data {
        source_name: source_name.to_string(),
        message,
    };
    // JSON goes to serde_json: its object keys are strings, which only serde_json
    // reads back into the integer keys of `nccl_mem_bytes`.
    let file: SystemFile = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| data_error(e.to_string()))?
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| data_error(e.to_string()))?
    };
    for spec in &file.systems {
        check(spec).map_err(|message| data_error(format!("system '{}': {message}", spec.sku)))?;
    }
    Ok(file.systems)
}

/// Whether a string is a well-formed canonical SKU: `[a-z0-9_]+`, starting with a letter.
pub fn is_canonical_sku(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The checks a system must pass to be usable by the performance model.
fn check(spec: &SystemSpec) -> Result<(), String> {
    if !is_canonical_sku(&spec.sku) {
        return Err("sku must be lowercase letters, digits and '_'".to_string());
    }
    if let Some(t) = &spec.tables
        && !is_canonical_sku(t)
    {
        return Err(format!("tables '{t}' is not a SKU"));
    }
    let g = &spec.gpu;
    let positive = [
        ("gpu.memory_bytes", g.memory_bytes),
        ("gpu.mem_bw_bytes_per_s", g.mem_bw_bytes_per_s),
        ("gpu.flops.fp16", g.flops.fp16),
        ("gpu.power_w", u64::from(g.power_w)),
        ("node.gpus_per_node", u64::from(spec.node.gpus_per_node)),
        (
            "node.intra_node_bw_bytes_per_s",
            spec.node.intra_node_bw_bytes_per_s,
        ),
        (
            "node.inter_node_bw_bytes_per_s",
            spec.node.inter_node_bw_bytes_per_s,
        ),
        ("node.pcie_bw_bytes_per_s", spec.node.pcie_bw_bytes_per_s),
    ];
    for (field, value) in positive {
        if value == 0 {
            return Err(format!("{field} must be > 0"));
        }
    }
    let optional = [
        ("bf16", g.flops.bf16),
        ("tf32", g.flops.tf32),
        ("fp8", g.flops.fp8),
        ("int8", g.flops.int8),
        ("fp4", g.flops.fp4),
    ];
    for (dtype, value) in optional {
        if value == Some(0) {
            return Err(format!(
                "gpu.flops.{dtype} is 0: leave it out where the GPU has no such path"
            ));
        }
    }
    if !(g.mem_bw_scaling.is_finite() && g.mem_bw_scaling > 0.0 && g.mem_bw_scaling <= 1.0) {
        return Err("gpu.mem_bw_scaling must be in (0, 1]".to_string());
    }
    if let Some(rack) = &spec.node.rack
        && (rack.gpus_per_rack < spec.node.gpus_per_node || rack.inter_rack_bw_bytes_per_s == 0)
    {
        return Err(
            "node.rack must hold at least one node and have inter-rack bandwidth".to_string(),
        );
    }
    Ok(())
}
