//! GPU discovery on this machine (SPEC §7.4): `nvidia-smi` lists the GPUs;
//! the product name maps to a SKU of the catalog, never passed through raw.

use dgdr_core::catalog::system::product_to_sku;
use dgdr_core::driver::DiscoveredHardware;
use std::process::Command;

/// Why discovery found nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("nvidia-smi is not available on this machine ({0}): no local GPUs to discover")]
    NoNvidiaSmi(String),
    #[error("nvidia-smi failed: {0}")]
    Failed(String),
    #[error("nvidia-smi lists no GPUs")]
    NoGpus,
    #[error("{0}")]
    UnknownProduct(String),
}

/// Reads the output of
/// `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits`.
pub fn parse_nvidia_smi(text: &str) -> Result<DiscoveredHardware, DiscoveryError> {
    let mut products = Vec::new();
    let mut mem = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.rsplitn(2, ',');
        let mib = parts.next().and_then(|m| m.trim().parse::<f64>().ok());
        let name = parts.next().unwrap_or(line).trim().to_string();
        mem = mem.or(mib);
        products.push(name);
    }
    let first = products.first().ok_or(DiscoveryError::NoGpus)?;
    if products.iter().any(|p| p != first) {
        return Err(DiscoveryError::UnknownProduct(format!(
            "this machine mixes GPU types ({}): name one in hardware.gpuSku",
            products.join(", ")
        )));
    }
    let sku = product_to_sku(first).map_err(|e| DiscoveryError::UnknownProduct(e.to_string()))?;
    let n = u32::try_from(products.len()).unwrap_or(u32::MAX);
    Ok(DiscoveredHardware {
        gpu_sku: Some(sku.to_string()),
        vram_mb: mem,
        total_gpus: Some(n),
        num_gpus_per_node: Some(n),
    })
}

/// Discovers this machine's GPUs with `nvidia-smi`.
pub fn discover_local() -> Result<DiscoveredHardware, DiscoveryError> {
    let out = Command::new("nvidia-smi")
        .args([
            "--query-gpu=name,memory.total",
            "--format=csv,noheader,nounits",
        ])
        .output()
        .map_err(|e| DiscoveryError::NoNvidiaSmi(e.to_string()))?;
    if !out.status.success() {
        return Err(DiscoveryError::Failed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    parse_nvidia_smi(&String::from_utf8_lossy(&out.stdout))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_an_hgx_node() {
        let hw = parse_nvidia_smi(
            "NVIDIA H200, 143771\nNVIDIA H200, 143771\nNVIDIA H200, 143771\nNVIDIA H200, 143771\n",
        )
        .unwrap();
        assert_eq!(hw.gpu_sku.as_deref(), Some("h200_sxm"));
        assert_eq!(hw.total_gpus, Some(4));
        assert_eq!(hw.vram_mb, Some(143771.0));
    }

    #[test]
    fn unknown_or_mixed_products_are_errors() {
        assert!(parse_nvidia_smi("Voodoo 5 6000, 64\n").is_err());
        assert!(parse_nvidia_smi("NVIDIA H100 80GB HBM3, 81559\nNVIDIA L4, 23034\n").is_err());
        assert!(matches!(parse_nvidia_smi(""), Err(DiscoveryError::NoGpus)));
    }
}
