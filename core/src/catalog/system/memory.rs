//! Checking a user's `hardware.vramMb` against the catalog.

use super::lookup::SystemCatalog;
use super::spec::SystemSpec;
use crate::diag::{Code, Diagnostic};

/// Relative difference between a given VRAM size and the catalog's above which
/// validation warns. Real devices report a little less than the nominal size
/// (an H100 80GB shows 81559 MiB against the catalog's 81920), far within this.
pub const MEMORY_MISMATCH_TOLERANCE: f64 = 0.10;

impl SystemSpec {
    /// The signed relative difference `(vram_mib - catalog) / catalog` when its
    /// size exceeds [`MEMORY_MISMATCH_TOLERANCE`]; `None` when the sizes agree or
    /// `vram_mib` is not a finite number (range checks are validation's job).
    pub fn memory_mismatch(&self, vram_mib: f64) -> Option<f64> {
        let catalog = self.vram_mib() as f64;
        if !vram_mib.is_finite() || catalog <= 0.0 {
            return None;
        }
        let rel = (vram_mib - catalog) / catalog;
        (rel.abs() > MEMORY_MISMATCH_TOLERANCE).then_some(rel)
    }

    /// A warning for `path` (normally `spec.hardware.vramMb`) when `vram_mib`
    /// disagrees with the catalog; see [`SystemSpec::memory_mismatch`].
    pub fn memory_mismatch_warning(&self, path: &str, vram_mib: f64) -> Option<Diagnostic> {
        let rel = self.memory_mismatch(vram_mib)?;
        let direction = if rel < 0.0 { "less" } else { "more" };
        Some(Diagnostic::warning(
            path,
            Code::Suspicious,
            format!(
                "{vram_mib} MiB of GPU memory is {:.0}% {direction} than the {} MiB of a {} ({})",
                rel.abs() * 100.0,
                self.vram_mib(),
                self.sku,
                self.display_name
            ),
            "vramMb is in MiB (80 GB is about 81920); check it and hardware.gpuSku, or leave vramMb empty to take the catalog's value",
        ))
    }
}

impl SystemCatalog {
    /// [`SystemSpec::memory_mismatch`] for a SKU; `None` also when the SKU is
    /// unknown (that is reported by [`SystemCatalog::lookup`]).
    pub fn memory_mismatch(&self, sku: &str, vram_mib: f64) -> Option<f64> {
        self.lookup(sku).ok()?.memory_mismatch(vram_mib)
    }
}
