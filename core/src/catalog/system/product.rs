//! GPU product string → catalog SKU (SPEC §7.4).
//!
//! Product strings come from the GPU operator's `nvidia.com/gpu.product` label,
//! DCGM, NVML or `nvidia-smi` (`NVIDIA-H100-80GB-HBM3`, `NVIDIA H200`,
//! `Tesla-V100-SXM2-16GB`), and for AMD from `amd.com/gpu.product-name`
//! (`AMD_Instinct_MI300X_OAM`). The rules:
//!
//! 1. Uppercase. The form factor is read from the string with spaces, dashes and
//!    underscores stripped: `SXM`, `HGX` or `DGX` (also `DGXS`) ⇒ SXM; else `PCIE`
//!    ⇒ PCIe; else `NVL` (H100 NVL, H200 NVL: PCIe cards) ⇒ PCIe; else unmarked.
//! 2. The family is matched in the order GB300, GB200, B300, B200, H200, H100,
//!    A100, L40S, L40, L4, V100, T4, MI300, MI250, MI210, MI200 (SPEC's list plus the
//!    other systems the catalog models). A family matches a *word* of the string
//!    (split at spaces, dashes, underscores, slashes) that starts with the family
//!    name, after a vendor prefix (`NVIDIA`, `TESLA`, `AMD`, `INSTINCT`) glued to it
//!    is dropped, and that is not followed by a digit. So `GH200` is not an H200,
//!    `A10` not an A100, `T400` not a T4, and `L40S` neither an L40 nor an L4.
//! 3. An unmarked string takes the form whose NVIDIA product string carries no
//!    marker: the SXM H100 is `NVIDIA H100 80GB HBM3` and the SXM H200 is
//!    `NVIDIA H200` (their PCIe cards say `PCIe` or `NVL`), so unmarked H100/H200
//!    are SXM; the SXM A100 and V100 always say `SXM4`/`SXM2`, so unmarked
//!    A100/V100 are PCIe. Single-form families (GB*, B*, L*, T4, MI*) ignore the form.
//! 4. H100 NVL (94 GB) maps to `h100_pcie`, the catalog's PCIe H100; the memory
//!    check then flags the difference. A PCIe/NVL H200 has no catalog entry: error.
//! 5. Anything else is an error naming the product. The raw string is never a SKU.

use super::error::SystemError;

/// The form factor read off a product string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Sxm,
    Pcie,
    Unmarked,
}

/// Families in matching order, with the SKU per form (`None`: not in the catalog).
struct Family {
    name: &'static str,
    sxm: Option<&'static str>,
    pcie: Option<&'static str>,
    unmarked: Option<&'static str>,
}

const fn one(name: &'static str, sku: &'static str) -> Family {
    Family {
        name,
        sxm: Some(sku),
        pcie: Some(sku),
        unmarked: Some(sku),
    }
}

const FAMILIES: &[Family] = &[
    one("GB300", "gb300"),
    one("GB200", "gb200"),
    one("B300", "b300_sxm"),
    one("B200", "b200_sxm"),
    Family {
        name: "H200",
        sxm: Some("h200_sxm"),
        pcie: None,
        unmarked: Some("h200_sxm"),
    },
    Family {
        name: "H100",
        sxm: Some("h100_sxm"),
        pcie: Some("h100_pcie"),
        unmarked: Some("h100_sxm"),
    },
    Family {
        name: "A100",
        sxm: Some("a100_sxm"),
        pcie: Some("a100_pcie"),
        unmarked: Some("a100_pcie"),
    },
    one("L40S", "l40s"),
    one("L40", "l40"),
    one("L4", "l4"),
    Family {
        name: "V100",
        sxm: Some("v100_sxm"),
        pcie: Some("v100_pcie"),
        unmarked: Some("v100_pcie"),
    },
    one("T4", "t4"),
    one("MI300", "mi300"),
    one("MI250", "mi200"),
    one("MI210", "mi200"),
    one("MI200", "mi200"),
];

const VENDOR_PREFIXES: &[&str] = &["NVIDIA", "TESLA", "AMD", "INSTINCT"];

/// Maps a GPU product string to a catalog SKU (rules in the module docs).
pub fn product_to_sku(product: &str) -> Result<&'static str, SystemError> {
    let upper = product.trim().to_ascii_uppercase();
    let squashed: String = upper
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .collect();
    let form = if ["SXM", "HGX", "DGX"].iter().any(|m| squashed.contains(m)) {
        Form::Sxm
    } else if squashed.contains("PCIE") || squashed.contains("NVL") {
        Form::Pcie
    } else {
        Form::Unmarked
    };
    let words: Vec<&str> = upper
        .split([' ', '-', '_', '/', ','])
        .map(strip_vendor)
        .filter(|w| !w.is_empty())
        .collect();
    let unknown = || SystemError::UnknownProduct {
        product: product.to_string(),
    };
    let family = FAMILIES
        .iter()
        .find(|f| words.iter().any(|w| names_family(w, f.name)))
        .ok_or_else(unknown)?;
    let sku = match form {
        Form::Sxm => family.sxm,
        Form::Pcie => family.pcie,
        Form::Unmarked => family.unmarked,
    };
    sku.ok_or_else(|| SystemError::UnsupportedVariant {
        product: product.to_string(),
        family: family.name.to_string(),
        variant: match form {
            Form::Sxm => "SXM",
            Form::Pcie => "PCIe/NVL card",
            Form::Unmarked => "product",
        }
        .to_string(),
    })
}

/// Whether a name is just a family name (`a100`, `H100`), which as a SKU is
/// ambiguous between forms rather than a product string.
pub(super) fn is_bare_family(name: &str) -> bool {
    FAMILIES
        .iter()
        .any(|f| f.name.eq_ignore_ascii_case(name.trim()))
}

/// Drops vendor prefixes glued to a word (`NVIDIAH100` → `H100`).
fn strip_vendor(word: &str) -> &str {
    let mut w = word;
    loop {
        let next = VENDOR_PREFIXES
            .iter()
            .find_map(|p| w.strip_prefix(p))
            .unwrap_or(w);
        if next.len() == w.len() {
            return w;
        }
        w = next;
    }
}

/// Whether a word names a family: starts with it, and no digit follows.
fn names_family(word: &str, family: &str) -> bool {
    word.strip_prefix(family)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
}
