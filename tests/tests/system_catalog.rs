//! Generator and check of `core/data/systems/measured.yaml`.
//!
//! The measured systems of the GPU catalog are derived from AI Configurator's
//! system specs (`../shared/data/systems/*.yaml`, Apache-2.0) and cross-checked
//! against the datasheet figures in `../shared/data/systems/hardware_specs.csv`.
//! This test re-derives them and asserts that the committed file is exactly what
//! the sources give. To regenerate after the sources change:
//!
//! ```sh
//! DGDR_BLESS=1 cargo test -p dgdr-tests --test system_catalog
//! ```
//!
//! Where `../shared/data/systems` is absent (a user's checkout), the generator
//! tests print a note and pass; the checks of the built-in catalog still run.

use dgdr_core::catalog::system::{
    GpuSpec, IntraNodeLink, MiscSpec, NodeSpec, RackSpec, SystemCatalog, SystemFile, SystemSpec,
    TensorFlops, Vendor, parse_systems,
};
use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MEASURED: &str = "core/data/systems/measured.yaml";

/// Display name and memory kind of each AI Configurator system (its specs carry
/// neither). A new system there fails the generator until it is named here.
const NAMES: &[(&str, &str, &str)] = &[
    ("a100_sxm", "NVIDIA A100 SXM4 80GB", "HBM2e"),
    ("b200_sxm", "NVIDIA B200 SXM 180GB (HGX B200)", "HBM3e"),
    ("b300_sxm", "NVIDIA B300 SXM 288GB (HGX B300)", "HBM3e"),
    ("gb200", "NVIDIA GB200 NVL72 (per Blackwell GPU)", "HBM3e"),
    (
        "gb300",
        "NVIDIA GB300 NVL72 (per Blackwell Ultra GPU)",
        "HBM3e",
    ),
    ("h100_sxm", "NVIDIA H100 SXM5 80GB", "HBM3"),
    ("h200_sxm", "NVIDIA H200 SXM 141GB", "HBM3e"),
    ("l40s", "NVIDIA L40S 48GB", "GDDR6"),
];

/// Keys of the AI Configurator system specs the generator understands; any other
/// key fails it, so that new facts are not silently dropped.
const GPU_KEYS: &[&str] = &[
    "mem_bw",
    "mem_bw_empirical_scaling_factor",
    "mem_empirical_constant_latency",
    "mem_capacity",
    "bfloat16_tc_flops",
    "int8_tc_flops",
    "fp8_tc_flops",
    "fp4_tc_flops",
    "power",
    "sm_version",
];
const NODE_KEYS: &[&str] = &[
    "num_gpus_per_node",
    "num_gpus_per_rack",
    "inter_rack_bw",
    "inter_node_bw",
    "intra_node_bw",
    "pcie_bw",
    "p2p_latency",
    "inter_rack_latency",
];
const MISC_KEYS: &[&str] = &["nccl_mem", "other_mem", "nccl_version"];
const TOP_KEYS: &[&str] = &["data_dir", "gpu", "node", "misc"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

/// `<workspace root>/../shared/data`, where present.
fn shared_data() -> Option<PathBuf> {
    let p = workspace_root().join("../shared/data");
    p.join("systems").is_dir().then_some(p)
}

fn get<'a>(map: &'a Mapping, section: &str, key: &str) -> Option<&'a Value> {
    map.get(section)?.as_mapping()?.get(key)
}

fn u64_of(map: &Mapping, section: &str, key: &str) -> Option<u64> {
    let v = get(map, section, key)?;
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as u64))
}

fn req_u64(map: &Mapping, file: &str, section: &str, key: &str) -> u64 {
    u64_of(map, section, key)
        .unwrap_or_else(|| panic!("{file}: {section}.{key} missing or not an integer"))
}

fn req_f64(map: &Mapping, file: &str, section: &str, key: &str) -> f64 {
    get(map, section, key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{file}: {section}.{key} missing or not a number"))
}

/// Seconds to whole nanoseconds.
fn ns(seconds: f64) -> u64 {
    (seconds * 1e9).round() as u64
}

fn check_keys(map: &Mapping, file: &str, section: Option<&str>, known: &[&str]) {
    let m = match section {
        Some(s) => map
            .get(s)
            .and_then(Value::as_mapping)
            .unwrap_or_else(|| panic!("{file}: no '{s}' section")),
        None => map,
    };
    for k in m.keys() {
        let k = k.as_str().unwrap_or_default();
        assert!(
            known.contains(&k),
            "{file}: key '{}{k}' is new to the generator: map it into SystemSpec (or list it as ignored)",
            section.map(|s| format!("{s}.")).unwrap_or_default()
        );
    }
}

fn arch_of(sm: u32) -> &'static str {
    match sm {
        70 => "volta",
        75 => "turing",
        80 => "ampere",
        89 => "ada",
        90 => "hopper",
        100 => "blackwell",
        103 => "blackwell_ultra",
        other => panic!("sm_version {other} has no architecture name in the generator"),
    }
}

/// One row of hardware_specs.csv, by column name.
type CsvRow = BTreeMap<String, String>;

/// A small CSV reader: commas, double-quoted fields, `""` escapes.
fn parse_csv(text: &str) -> Vec<CsvRow> {
    let mut rows = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut cur)),
                (c, _) => cur.push(c),
            }
        }
        fields.push(cur);
        match &header {
            None => header = Some(fields),
            Some(h) => {
                assert_eq!(
                    h.len(),
                    fields.len(),
                    "hardware_specs.csv: ragged row {line}"
                );
                rows.push(h.iter().cloned().zip(fields).collect());
            }
        }
    }
    rows
}

/// The leading number of a CSV cell (`80 (HBM3)` → 80, `32 (PCIe)` → 32).
fn lead_num(cell: &str) -> Option<f64> {
    let n: String = cell
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    n.parse().ok()
}

/// The CSV row of a system: its `primary_source` cites `systems/<sku>.yaml`.
fn csv_row<'a>(rows: &'a [CsvRow], sku: &str) -> Option<&'a CsvRow> {
    let needle = format!("systems/{sku}.yaml");
    rows.iter()
        .find(|r| r.get("primary_source").is_some_and(|s| s.contains(&needle)))
}

/// Asserts a spec agrees with its datasheet row of hardware_specs.csv.
fn cross_check(spec: &SystemSpec, row: &CsvRow) {
    let sku = &spec.sku;
    let close = |what: &str, ours: f64, theirs: f64, tol: f64| {
        let rel = (ours - theirs).abs() / theirs;
        assert!(
            rel <= tol,
            "{sku}: {what} {ours} disagrees with hardware_specs.csv {theirs} by {:.1}%",
            rel * 100.0
        );
    };
    let cell = |k: &str| row.get(k).and_then(|c| lead_num(c));
    let bf16 = spec.gpu.flops.bf16.expect("measured systems have bf16") as f64;
    close(
        "bf16 TFLOPS",
        bf16 / 1e12,
        cell("bf16_dense_tflops").expect("bf16"),
        0.01,
    );
    if let (Some(ours), Some(theirs)) = (spec.gpu.flops.fp8, cell("fp8_dense_tflops")) {
        close("fp8 TFLOPS", ours as f64 / 1e12, theirs, 0.01);
    }
    if let (Some(ours), Some(theirs)) = (spec.gpu.flops.fp4, cell("fp4_dense_tflops")) {
        close("fp4 TFLOPS", ours as f64 / 1e12, theirs, 0.01);
    }
    close(
        "memory TB/s",
        spec.gpu.mem_bw_bytes_per_s as f64 / 1e12,
        cell("hbm_tb_s").expect("hbm_tb_s"),
        0.01,
    );
    // The CSV gives marketing GB; the specs give GiB or what nvidia-smi shows.
    close(
        "memory GB",
        spec.gpu.memory_bytes as f64 / 1e9,
        cell("hbm_gb").expect("hbm_gb"),
        0.10,
    );
    close(
        "intra-node GB/s per direction",
        spec.node.intra_node_bw_bytes_per_s as f64 / 1e9,
        cell("nvlink_per_dir_gb_s").expect("nvlink_per_dir_gb_s"),
        0.01,
    );
    close(
        "power W",
        f64::from(spec.gpu.power_w),
        cell("tdp_w").expect("tdp_w"),
        0.0,
    );
    let kind = spec.gpu.memory_kind.as_deref().unwrap_or_default();
    assert!(
        row.get("hbm_gb")
            .is_some_and(|c| c.contains(&format!("({kind}"))),
        "{sku}: memory kind {kind} disagrees with hardware_specs.csv"
    );
}

/// Derives one catalog entry from one AI Configurator system spec.
fn derive_one(file: &str, text: &str, perfdb: &Path, csv: &[CsvRow]) -> SystemSpec {
    let sku = file.trim_end_matches(".yaml");
    let doc: Value = serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let m = doc
        .as_mapping()
        .unwrap_or_else(|| panic!("{file}: not a mapping"));
    check_keys(m, file, None, TOP_KEYS);
    check_keys(m, file, Some("gpu"), GPU_KEYS);
    check_keys(m, file, Some("node"), NODE_KEYS);
    check_keys(m, file, Some("misc"), MISC_KEYS);
    let &(_, display_name, memory_kind) = NAMES
        .iter()
        .find(|(s, _, _)| *s == sku)
        .unwrap_or_else(|| panic!("{file}: add a display name and memory kind to NAMES"));

    let bf16 = req_u64(m, file, "gpu", "bfloat16_tc_flops");
    let sm = req_u64(m, file, "gpu", "sm_version") as u32;
    let gpu = GpuSpec {
        memory_bytes: req_u64(m, file, "gpu", "mem_capacity"),
        memory_kind: Some(memory_kind.to_string()),
        mem_bw_bytes_per_s: req_u64(m, file, "gpu", "mem_bw"),
        mem_bw_scaling: req_f64(m, file, "gpu", "mem_bw_empirical_scaling_factor"),
        mem_latency_ns: ns(req_f64(m, file, "gpu", "mem_empirical_constant_latency")),
        flops: TensorFlops {
            // AI Configurator's bfloat16 figure; fp16 runs at the same rate on
            // every NVIDIA tensor core that has bf16.
            fp16: bf16,
            bf16: Some(bf16),
            tf32: None,
            fp8: u64_of(m, "gpu", "fp8_tc_flops"),
            int8: u64_of(m, "gpu", "int8_tc_flops"),
            fp4: u64_of(m, "gpu", "fp4_tc_flops"),
        },
        sm_version: Some(sm),
        arch: arch_of(sm).to_string(),
        power_w: req_u64(m, file, "gpu", "power") as u32,
    };

    let intra = req_u64(m, file, "node", "intra_node_bw");
    let pcie = req_u64(m, file, "node", "pcie_bw");
    let rack = u64_of(m, "node", "num_gpus_per_rack").map(|gpus| RackSpec {
        gpus_per_rack: gpus as u32,
        inter_rack_bw_bytes_per_s: req_u64(m, file, "node", "inter_rack_bw"),
        inter_rack_latency_ns: ns(req_f64(m, file, "node", "inter_rack_latency")),
    });
    let node = NodeSpec {
        gpus_per_node: req_u64(m, file, "node", "num_gpus_per_node") as u32,
        // The specs do not say; a system whose GPUs talk no faster than over PCIe
        // has no NVLink (l40s).
        intra_node_link: if intra <= pcie {
            IntraNodeLink::Pcie
        } else {
            IntraNodeLink::Nvlink
        },
        intra_node_bw_bytes_per_s: intra,
        inter_node_bw_bytes_per_s: req_u64(m, file, "node", "inter_node_bw"),
        pcie_bw_bytes_per_s: pcie,
        p2p_latency_ns: ns(req_f64(m, file, "node", "p2p_latency")),
        rack,
    };

    let nccl = get(m, "misc", "nccl_mem")
        .and_then(Value::as_mapping)
        .unwrap_or_else(|| panic!("{file}: misc.nccl_mem missing"));
    let nccl_mem_bytes = nccl
        .iter()
        .map(|(k, v)| {
            let k = k
                .as_u64()
                .unwrap_or_else(|| panic!("{file}: nccl_mem key {k:?}"));
            let v = v
                .as_u64()
                .unwrap_or_else(|| panic!("{file}: nccl_mem value {v:?}"));
            (k as u32, v)
        })
        .collect();
    let nccl_version = get(m, "misc", "nccl_version").map(|v| match v {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other).unwrap().trim().to_string(),
    });
    let misc = MiscSpec {
        nccl_mem_bytes,
        other_mem_bytes: req_u64(m, file, "misc", "other_mem"),
        nccl_version,
    };

    let mut sources = vec![format!(
        "AI Configurator system spec systems/{file} (Apache-2.0, Copyright NVIDIA CORPORATION & AFFILIATES); modified: distilled into dgdr's format"
    )];
    sources.extend(
        text.lines()
            .filter_map(|l| l.trim().strip_prefix('#'))
            .map(str::trim)
            .filter(|l| l.starts_with("http"))
            .map(str::to_string),
    );
    let row = csv_row(csv, sku);
    if let Some(row) = row {
        for k in ["primary_source", "cross_check"] {
            if let Some(s) = row.get(k).filter(|s| !s.is_empty()) {
                sources.push(format!("hardware_specs.csv {k}: {s}"));
            }
        }
    }
    let spec = SystemSpec {
        sku: sku.to_string(),
        display_name: display_name.to_string(),
        vendor: Vendor::Nvidia,
        tables: perfdb.join(sku).is_dir().then(|| sku.to_string()),
        gpu,
        node,
        misc,
        sources,
        notes: Vec::new(),
    };
    if let Some(row) = row {
        cross_check(&spec, row);
    }
    spec
}

/// The committed file's text as the sources give it.
fn derive(data: &Path) -> String {
    let systems_dir = data.join("systems");
    let mut files: Vec<String> = std::fs::read_dir(&systems_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no system specs in {}",
        systems_dir.display()
    );
    let csv = parse_csv(&std::fs::read_to_string(systems_dir.join("hardware_specs.csv")).unwrap());
    for row in &csv {
        let cited = files.iter().any(|f| {
            row.get("primary_source")
                .is_some_and(|s| s.contains(&format!("systems/{f}")))
        });
        assert!(
            cited,
            "hardware_specs.csv row {:?} matches no system spec",
            row.get("gpu")
        );
    }
    let mut spdx: Vec<String> = Vec::new();
    let mut systems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(systems_dir.join(file)).unwrap();
        for line in text.lines().filter(|l| l.starts_with("# SPDX-")) {
            if !spdx.iter().any(|s| s == line) {
                spdx.push(line.to_string());
            }
        }
        systems.push(derive_one(file, &text, &data.join("perfdb"), &csv));
    }
    let mut out = String::new();
    for line in &spdx {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(concat!(
        "#\n",
        "# Derived from AI Configurator's GPU system specs (systems/*.yaml, Apache-2.0)\n",
        "# and cross-checked against the datasheet figures of hardware_specs.csv.\n",
        "# Modified: distilled into dgdr's format (units in field names, latencies in ns).\n",
        "#\n",
        "# GENERATED by tests/tests/system_catalog.rs: do not edit. Regenerate with\n",
        "#   DGDR_BLESS=1 cargo test -p dgdr-tests --test system_catalog\n",
        "# Format: core/data/systems/README.md.\n",
    ));
    out.push_str(&serde_yaml_ng::to_string(&SystemFile { systems }).unwrap());
    out
}

#[test]
fn measured_systems_match_their_sources() {
    let Some(data) = shared_data() else {
        println!(
            "note: ../shared/data/systems not found; skipping the measured-systems generator check"
        );
        return;
    };
    let derived = derive(&data);
    let path = workspace_root().join(MEASURED);
    if std::env::var_os("DGDR_BLESS").is_some() {
        std::fs::write(&path, &derived).unwrap();
        println!("wrote {}", path.display());
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let ours = parse_systems(MEASURED, &derived).unwrap();
    let theirs = parse_systems(MEASURED, &committed)
        .unwrap_or_else(|e| panic!("{e}; regenerate with DGDR_BLESS=1"));
    assert_eq!(
        ours, theirs,
        "{MEASURED} differs from what the sources give: regenerate with DGDR_BLESS=1 cargo test -p dgdr-tests --test system_catalog"
    );
    assert_eq!(
        derived, committed,
        "{MEASURED} is formatted differently from the generator's output: regenerate with DGDR_BLESS=1"
    );
}

#[test]
fn every_measured_system_is_in_the_builtin_catalog_with_its_tables() {
    let catalog = SystemCatalog::builtin();
    let Some(data) = shared_data() else {
        println!("note: ../shared/data not found; skipping the perfdb coverage check");
        return;
    };
    for entry in std::fs::read_dir(data.join("perfdb")).unwrap() {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_dir() {
            continue;
        }
        let sku = entry.file_name().to_string_lossy().into_owned();
        let spec = catalog
            .lookup(&sku)
            .unwrap_or_else(|e| panic!("perfdb/{sku} has no catalog entry: {e}"));
        assert!(
            spec.has_measured_tables(),
            "{sku} has perfdb tables but is not marked measured"
        );
    }
}

/// Every SKU of the DGDR `hardware.gpuSku` enum (SPEC §1.1) resolves.
#[test]
fn every_dgdr_enum_sku_resolves() {
    let catalog = SystemCatalog::builtin();
    for sku in [
        "gb200_sxm",
        "b200_sxm",
        "h200_sxm",
        "h100_sxm",
        "h100_pcie",
        "a100_sxm",
        "a100_pcie",
        "l40s",
        "l40",
        "l4",
        "v100_sxm",
        "v100_pcie",
        "t4",
        "mi200",
        "mi300",
    ] {
        let spec = catalog.lookup(sku).unwrap_or_else(|e| panic!("{e}"));
        assert!(spec.vram_mib() > 0);
    }
}
