//! The GPU system catalog: per-GPU peaks (tensor FLOP/s per dtype, memory size
//! and bandwidth), node and rack interconnect, and runtime memory overheads, for
//! every GPU that `hardware.gpuSku` may name.
//!
//! Two embedded files feed it (see `core/data/systems/README.md`):
//! - `measured.yaml`: the systems AI Configurator models and has measured
//!   per-operation tables for (h100_sxm, h200_sxm, b200_sxm, b300_sxm, gb200,
//!   gb300, a100_sxm, l40s), generated from its system specs by
//!   `tests/tests/system_catalog.rs`;
//! - `datasheet.yaml`: the other SKUs of the DGDR enum, from vendor datasheets.
//!   Some borrow a measured sibling's tables (h100_pcie, a100_pcie, l40, l4); V100,
//!   T4, MI200 and MI300 have none: the performance model can only give roofline
//!   answers for them, and [`SystemSpec::modeled`] says so.
//!
//! Names: [`SystemCatalog::lookup`] ignores case, reads `-` and spaces as `_`,
//! and accepts the [`ALIASES`] (`gb200_sxm` → `gb200`, `h200` → `h200_sxm`, ...;
//! an ambiguous bare `h100` is refused with `h100_sxm` suggested). GPU discovery
//! turns product strings into SKUs with [`product_to_sku`].

mod error;
mod load;
mod lookup;
mod memory;
mod product;
mod spec;

pub use error::SystemError;
pub use load::{DATASHEET_YAML, MEASURED_YAML, SystemFile, is_canonical_sku, parse_systems};
pub use lookup::{ALIASES, SystemCatalog, normalize_sku};
pub use memory::MEMORY_MISMATCH_TOLERANCE;
pub use product::product_to_sku;
pub use spec::{
    Coverage, GpuSpec, IntraNodeLink, MiscSpec, NodeSpec, RackSpec, SystemSpec, TensorDtype,
    TensorFlops, Vendor,
};

/// [`SystemCatalog::lookup`] in the built-in catalog.
pub fn lookup(sku: &str) -> Result<&'static SystemSpec, SystemError> {
    SystemCatalog::builtin().lookup(sku)
}

/// [`SystemCatalog::memory_mismatch`] in the built-in catalog: the signed relative
/// difference between `vram_mib` and the SKU's memory when it exceeds
/// [`MEMORY_MISMATCH_TOLERANCE`].
pub fn memory_mismatch(sku: &str, vram_mib: f64) -> Option<f64> {
    SystemCatalog::builtin().memory_mismatch(sku, vram_mib)
}

#[cfg(test)]
mod tests;
