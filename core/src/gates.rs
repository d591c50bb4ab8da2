//! Gate checks that need the catalogs (SPEC §2): the GPU system named in the
//! request must exist, and — once the performance model is in — the model
//! must be known and fit. [`default_gates`] is what every host uses.

use crate::catalog::system::SystemCatalog;
use crate::diag::Diagnostics;
use crate::spec::ResolvedSpec;
use crate::validate::Gates;

/// `hardware.gpuSku` must name a GPU system the catalog knows; `vramMb`, when
/// given, should agree with it.
pub fn check_gpu_sku(sku: &str, vram_mb: Option<f64>, d: &mut Diagnostics) {
    let catalog = SystemCatalog::builtin();
    match catalog.lookup(sku) {
        Ok(system) => {
            if let Some(w) =
                vram_mb.and_then(|v| system.memory_mismatch_warning("spec.hardware.vramMb", v))
            {
                d.push(w);
            }
        }
        Err(e) => d.push(e.to_diagnostic("spec.hardware.gpuSku")),
    }
}

/// The catalog-backed gates.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogGates;

impl Gates for CatalogGates {
    fn check(&self, _spec: &ResolvedSpec, _d: &mut Diagnostics) {}
}

/// The gates every host uses.
pub fn default_gates() -> &'static dyn Gates {
    &CatalogGates
}
