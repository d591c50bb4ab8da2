//! What can go wrong when naming a GPU system, and the diagnostics for it.

use crate::diag::{Code, Diagnostic};

/// A GPU system could not be named or the catalog data is bad.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SystemError {
    /// A SKU that neither the catalog nor its aliases know.
    #[error("unknown GPU SKU '{sku}'{}; known GPU SKUs: {}", closest_suffix(closest.as_deref()), known.join(", "))]
    UnknownSku {
        sku: String,
        /// Every canonical SKU, sorted.
        known: Vec<String>,
        /// The most similar accepted name, where one is reasonably close.
        closest: Option<String>,
    },
    /// A GPU product string (GPU operator label, NVML name) that names no GPU
    /// family dgdr knows.
    #[error("GPU product '{product}' is not a GPU dgdr knows")]
    UnknownProduct { product: String },
    /// The product's family is known but not this variant (e.g. `H200 NVL`, a
    /// PCIe H200, when the catalog only has the SXM H200).
    #[error("GPU product '{product}' is a {family} {variant}, which the catalog does not have")]
    UnsupportedVariant {
        product: String,
        family: String,
        variant: String,
    },
    /// Catalog data (embedded or brought by the host) is malformed.
    #[error("GPU system data '{source_name}' is invalid: {message}")]
    Data {
        source_name: String,
        message: String,
    },
}

fn closest_suffix(closest: Option<&str>) -> String {
    closest.map_or_else(String::new, |c| format!(" (did you mean '{c}'?)"))
}

impl SystemError {
    /// The diagnostic for this error at a JSON path (normally `spec.hardware.gpuSku`).
    pub fn to_diagnostic(&self, path: &str) -> Diagnostic {
        match self {
            SystemError::UnknownSku { closest, .. } => {
                let hint = match closest {
                    Some(c) => format!(
                        "use '{c}' or another known SKU, or leave it empty to have it discovered"
                    ),
                    None => "use one of the known SKUs, or leave it empty to have it discovered"
                        .to_string(),
                };
                Diagnostic::error(path, Code::UnknownGpuSku, self.to_string(), hint)
            }
            SystemError::UnknownProduct { .. } | SystemError::UnsupportedVariant { .. } => {
                Diagnostic::error(
                    path,
                    Code::UnknownGpuSku,
                    self.to_string(),
                    "set spec.hardware.gpuSku (and vramMb) by hand to the closest known GPU SKU",
                )
            }
            SystemError::Data { .. } => Diagnostic::error(
                path,
                Code::MalformedValue,
                self.to_string(),
                "fix the GPU system data (see core/data/systems/README.md for the format)",
            ),
        }
    }
}
