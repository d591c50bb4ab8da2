use super::*;
use crate::diag::{Code, Severity};

fn cat() -> &'static SystemCatalog {
    SystemCatalog::builtin()
}

#[test]
fn builtin_loads_every_system() {
    let c = cat();
    let skus: Vec<&str> = c.known_skus().collect();
    assert_eq!(
        skus,
        [
            "a100_pcie",
            "a100_sxm",
            "b200_sxm",
            "b300_sxm",
            "gb200",
            "gb300",
            "h100_pcie",
            "h100_sxm",
            "h200_sxm",
            "l4",
            "l40",
            "l40s",
            "mi200",
            "mi300",
            "t4",
            "v100_pcie",
            "v100_sxm",
        ]
    );
    for spec in c.iter() {
        assert!(is_canonical_sku(&spec.sku), "{}", spec.sku);
        assert!(!spec.sources.is_empty(), "{} cites no source", spec.sku);
    }
}

#[test]
fn lookup_accepts_case_dashes_and_aliases() {
    let cases = [
        ("h200_sxm", "h200_sxm"),
        ("H200_SXM", "h200_sxm"),
        (" h200-sxm ", "h200_sxm"),
        ("H100 SXM", "h100_sxm"),
        ("h100_pcie", "h100_pcie"),
        ("gb200", "gb200"),
        ("gb200_sxm", "gb200"),
        ("GB200-SXM", "gb200"),
        ("gb300_sxm", "gb300"),
        ("h200", "h200_sxm"),
        ("b200", "b200_sxm"),
        ("B300", "b300_sxm"),
        ("b300_sxm", "b300_sxm"),
        ("mi300x", "mi300"),
        ("MI250X", "mi200"),
        ("mi210", "mi200"),
        ("l40s", "l40s"),
        ("L4", "l4"),
        ("t4", "t4"),
    ];
    for (name, want) in cases {
        let got = cat().lookup(name).map(|s| s.sku.as_str());
        assert_eq!(got, Ok(want), "{name}");
        assert_eq!(cat().canonical(name), Some(want), "{name}");
        assert_eq!(lookup(name).map(|s| s.sku.as_str()), Ok(want), "{name}");
    }
}

#[test]
fn unknown_skus_name_the_closest_match() {
    let cases: [(&str, Option<&str>); 11] = [
        // Ambiguous bare family names are refused; the SXM form is suggested.
        ("h100", Some("h100_sxm")),
        ("a100", Some("a100_sxm")),
        ("v100", Some("v100_sxm")),
        ("h200sxm", Some("h200_sxm")),
        ("h20", Some("h200_sxm")),
        ("l40x", Some("l40")),
        ("gb20", Some("gb200")),
        // A raw product string suggests the SKU it maps to.
        ("NVIDIA-H100-80GB-HBM3", Some("h100_sxm")),
        ("NVIDIA A100 80GB PCIe", Some("a100_pcie")),
        ("rtx4090", None),
        ("", None),
    ];
    for (name, want) in cases {
        match cat().lookup(name) {
            Err(SystemError::UnknownSku {
                sku,
                known,
                closest,
            }) => {
                assert_eq!(sku, name);
                assert_eq!(closest.as_deref(), want, "{name}");
                assert_eq!(known.len(), cat().len());
            }
            other => panic!("{name}: {other:?}"),
        }
        assert!(!cat().contains(name));
    }
}

#[test]
fn unknown_sku_diagnostic_lists_known_skus_and_the_closest() {
    let err = cat().lookup("h100").unwrap_err();
    let d = err.to_diagnostic("spec.hardware.gpuSku");
    assert_eq!(d.path, "spec.hardware.gpuSku");
    assert_eq!(d.code, Code::UnknownGpuSku);
    assert_eq!(d.severity, Severity::Error);
    assert!(d.message.contains("'h100'"), "{}", d.message);
    assert!(
        d.message.contains("did you mean 'h100_sxm'"),
        "{}",
        d.message
    );
    for sku in cat().known_skus() {
        assert!(d.message.contains(sku), "{sku} missing from {}", d.message);
    }
    assert!(d.hint.contains("h100_sxm"), "{}", d.hint);
}

#[test]
fn product_strings_map_to_skus() {
    let cases = [
        ("NVIDIA-H100-80GB-HBM3", "h100_sxm"),
        ("NVIDIA H100 80GB HBM3", "h100_sxm"),
        ("NVIDIA-H100-SXM5-80GB", "h100_sxm"),
        ("NVIDIA-H100-PCIe", "h100_pcie"),
        ("NVIDIA H100 PCIe", "h100_pcie"),
        ("NVIDIA H100 NVL", "h100_pcie"),
        ("NVIDIA H200", "h200_sxm"),
        ("NVIDIA-H200", "h200_sxm"),
        ("NVIDIA-H200-141GB-HBM3e", "h200_sxm"),
        ("NVIDIA-A100-SXM4-80GB", "a100_sxm"),
        ("NVIDIA-A100-SXM4-40GB", "a100_sxm"),
        ("NVIDIA A100-PCIE-40GB", "a100_pcie"),
        ("NVIDIA A100 80GB PCIe", "a100_pcie"),
        ("NVIDIA A100", "a100_pcie"),
        ("NVIDIA DGX A100", "a100_sxm"),
        ("NVIDIA-L40S", "l40s"),
        ("NVIDIA L40", "l40"),
        ("NVIDIA-L4", "l4"),
        ("NVIDIA-GB200", "gb200"),
        ("NVIDIA GB200 NVL72", "gb200"),
        ("NVIDIA-B200", "b200_sxm"),
        ("NVIDIA B300 SXM6 AC", "b300_sxm"),
        ("NVIDIA-GB300", "gb300"),
        ("Tesla-T4", "t4"),
        ("Tesla T4", "t4"),
        ("Tesla-V100-SXM2-16GB", "v100_sxm"),
        ("Tesla V100-SXM2-32GB", "v100_sxm"),
        ("Tesla-V100-PCIE-32GB", "v100_pcie"),
        ("Tesla V100S-PCIE-32GB", "v100_pcie"),
        ("Tesla V100-DGXS-32GB", "v100_sxm"),
        ("nvidia-h100-80gb-hbm3", "h100_sxm"),
        ("NVIDIAH100", "h100_sxm"),
        ("AMD_Instinct_MI300X_OAM", "mi300"),
        ("AMD Instinct MI250X", "mi200"),
        ("AMD Instinct MI210", "mi200"),
    ];
    for (product, want) in cases {
        assert_eq!(product_to_sku(product), Ok(want), "{product}");
        assert!(cat().contains(want), "{want} is not in the catalog");
    }
}

#[test]
fn unknown_products_are_errors_never_raw_strings() {
    let unknown = [
        "NVIDIA GH200 480GB", // Grace Hopper: not an H200
        "NVIDIA A10",         // not an A100
        "NVIDIA A10G",
        "Quadro T400", // not a T4
        "NVIDIA H800",
        "NVIDIA H20",
        "NVIDIA GeForce RTX 4090",
        "NVIDIA RTX A6000",
        "AMD Instinct MI325X",
        "",
    ];
    for product in unknown {
        assert_eq!(
            product_to_sku(product),
            Err(SystemError::UnknownProduct {
                product: product.to_string()
            }),
            "{product}"
        );
    }
    let err = product_to_sku("NVIDIA H200 NVL").unwrap_err();
    assert!(
        matches!(&err, SystemError::UnsupportedVariant { family, .. } if family == "H200"),
        "{err:?}"
    );
    let d = err.to_diagnostic("spec.hardware.gpuSku");
    assert_eq!(d.code, Code::UnknownGpuSku);
    assert!(d.message.contains("NVIDIA H200 NVL"), "{}", d.message);
}

#[test]
fn coverage_says_what_the_perf_model_knows() {
    let cases = [
        ("h200_sxm", Coverage::Measured),
        ("h100_sxm", Coverage::Measured),
        ("b200_sxm", Coverage::Measured),
        ("b300_sxm", Coverage::Measured),
        ("gb200", Coverage::Measured),
        ("gb300", Coverage::Measured),
        ("a100_sxm", Coverage::Measured),
        ("l40s", Coverage::Measured),
        ("h100_pcie", Coverage::Proxy),
        ("a100_pcie", Coverage::Proxy),
        ("l40", Coverage::Proxy),
        ("l4", Coverage::Proxy),
        ("v100_sxm", Coverage::RooflineOnly),
        ("v100_pcie", Coverage::RooflineOnly),
        ("t4", Coverage::RooflineOnly),
        ("mi200", Coverage::RooflineOnly),
        ("mi300", Coverage::RooflineOnly),
    ];
    for (sku, want) in cases {
        let spec = cat().lookup(sku).unwrap();
        assert_eq!(spec.coverage(), want, "{sku}");
        assert_eq!(spec.modeled(), want != Coverage::RooflineOnly, "{sku}");
        assert_eq!(
            spec.has_measured_tables(),
            want == Coverage::Measured,
            "{sku}"
        );
    }
    assert_eq!(cases.len(), cat().len());
}

#[test]
fn peaks_per_dtype() {
    let tf = 1e12;
    let cases: [(&str, TensorDtype, Option<f64>); 14] = [
        ("h200_sxm", TensorDtype::Bf16, Some(989.0 * tf)),
        ("h200_sxm", TensorDtype::Fp16, Some(989.0 * tf)),
        ("h200_sxm", TensorDtype::Fp8, Some(1978.0 * tf)),
        ("h200_sxm", TensorDtype::Fp4, None),
        ("b200_sxm", TensorDtype::Fp4, Some(9000.0 * tf)),
        ("gb300", TensorDtype::Fp4, Some(15000.0 * tf)),
        ("a100_sxm", TensorDtype::Fp8, None),
        ("h100_pcie", TensorDtype::Bf16, Some(756.5 * tf)),
        ("h100_pcie", TensorDtype::Fp8, Some(1513.0 * tf)),
        ("l4", TensorDtype::Fp8, Some(242.5 * tf)),
        ("v100_sxm", TensorDtype::Bf16, None),
        ("v100_sxm", TensorDtype::Fp16, Some(125.0 * tf)),
        ("t4", TensorDtype::Int8, Some(130.0 * tf)),
        ("mi300", TensorDtype::Fp8, Some(2614.9 * tf)),
    ];
    for (sku, dtype, want) in cases {
        assert_eq!(
            cat().lookup(sku).unwrap().flops(dtype),
            want,
            "{sku} {dtype:?}"
        );
    }
}

#[test]
fn datasheet_facts_are_sane() {
    for s in cat().iter() {
        let f = &s.gpu.flops;
        if let Some(bf16) = f.bf16 {
            assert_eq!(
                f.fp16, bf16,
                "{}: fp16 and bf16 run at the same rate",
                s.sku
            );
        }
        for (name, v) in [("fp8", f.fp8), ("fp4", f.fp4)] {
            if let Some(v) = v {
                assert!(v >= f.fp16, "{}: {name} slower than fp16", s.sku);
            }
        }
        assert!(s.effective_mem_bw() < s.mem_bw(), "{}", s.sku);
        assert!(s.node.pcie_bw_bytes_per_s <= s.node.intra_node_bw_bytes_per_s * 2);
        let pcie = s.node.intra_node_link == IntraNodeLink::Pcie;
        assert_eq!(
            pcie,
            s.node.intra_node_bw_bytes_per_s <= s.node.pcie_bw_bytes_per_s,
            "{}: link kind and bandwidth disagree",
            s.sku
        );
        assert_eq!(
            s.vendor == Vendor::Amd,
            s.gpu.sm_version.is_none(),
            "{}",
            s.sku
        );
    }
}

#[test]
fn vram_mib_is_memory_in_mib() {
    let cases = [
        ("h100_sxm", 81920),
        ("h200_sxm", 144384),
        ("gb200", 189471),
        ("b300_sxm", 275040),
        ("l40s", 46068),
        ("l4", 23034),
        ("t4", 15360),
    ];
    for (sku, want) in cases {
        assert_eq!(cat().lookup(sku).unwrap().vram_mib(), want, "{sku}");
    }
}

#[test]
fn memory_mismatch_beyond_ten_percent() {
    let cases: [(&str, f64, Option<f64>); 9] = [
        ("h100_sxm", 81559.0, None), // what an H100 SXM reports
        ("h100_sxm", 81920.0, None),
        ("h200_sxm", 143771.0, None),
        ("b200_sxm", 183359.0, None),
        ("h100_sxm", 40960.0, Some(-0.5)),
        ("h100_sxm", 0.0, Some(-1.0)),
        ("a100_sxm", 94208.0, Some(0.15)), // 92 GiB against 80
        ("l40s", 46068.0 * 1.25, Some(0.25)),
        ("no_such_gpu", 1.0, None), // unknown SKU: reported by lookup
    ];
    for (sku, vram, want) in cases {
        let got = memory_mismatch(sku, vram);
        match (got, want) {
            (None, None) => {}
            (Some(g), Some(w)) => assert!((g - w).abs() < 1e-9, "{sku} {vram}: {g} vs {w}"),
            _ => panic!("{sku} {vram}: {got:?} vs {want:?}"),
        }
    }
    let h100 = cat().lookup("h100_sxm").unwrap();
    assert_eq!(h100.memory_mismatch(f64::NAN), None);
    assert_eq!(h100.memory_mismatch(f64::INFINITY), None);
    assert_eq!(h100.memory_mismatch(81920.0 * 1.1), None); // exactly at the tolerance
}

#[test]
fn memory_mismatch_warning_explains() {
    let h100 = cat().lookup("h100_sxm").unwrap();
    assert_eq!(
        h100.memory_mismatch_warning("spec.hardware.vramMb", 81559.0),
        None
    );
    let d = h100
        .memory_mismatch_warning("spec.hardware.vramMb", 80.0)
        .unwrap();
    assert_eq!(d.code, Code::Suspicious);
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.path, "spec.hardware.vramMb");
    assert!(d.message.contains("81920 MiB"), "{}", d.message);
    assert!(d.message.contains("100% less"), "{}", d.message);
}

#[test]
fn nccl_memory_by_communicator_size() {
    let h200 = cat().lookup("h200_sxm").unwrap();
    let cases = [
        (0, 0),
        (1, 0),
        (2, 358_612_992),
        (3, 411_041_792),
        (8, 411_041_792),
        (72, 411_041_792),
    ];
    for (gpus, want) in cases {
        assert_eq!(h200.nccl_mem_bytes(gpus), want, "{gpus}");
    }
}

#[test]
fn nvl72_systems_have_a_rack() {
    for sku in ["gb200", "gb300"] {
        let s = cat().lookup(sku).unwrap();
        let rack = s.node.rack.as_ref().unwrap();
        assert_eq!((s.node.gpus_per_node, rack.gpus_per_rack), (4, 72), "{sku}");
    }
    assert!(cat().lookup("h200_sxm").unwrap().node.rack.is_none());
}

#[test]
fn aliases_resolve_to_existing_skus_and_shadow_none() {
    let aliases: Vec<_> = cat().aliases().collect();
    assert_eq!(aliases.len(), ALIASES.len());
    for (alias, target) in aliases {
        assert!(
            cat().known_skus().any(|s| s == target),
            "{alias} -> {target}"
        );
        assert!(!cat().known_skus().any(|s| s == alias), "{alias} is a SKU");
        assert_eq!(normalize_sku(alias), alias);
    }
}

#[test]
fn specs_round_trip_through_yaml_and_json() {
    let specs: Vec<SystemSpec> = cat().iter().cloned().collect();
    let file = SystemFile { systems: specs };
    let yaml = serde_yaml_ng::to_string(&file).unwrap();
    assert_eq!(parse_systems("yaml", &yaml).unwrap(), file.systems);
    let json = serde_json::to_string(&file).unwrap();
    assert_eq!(parse_systems("json", &json).unwrap(), file.systems);
}

#[test]
fn bad_catalog_data_is_a_data_error() {
    let h200 = cat().lookup("h200_sxm").unwrap().clone();
    let mut borrower = cat().lookup("h100_pcie").unwrap().clone();
    borrower.tables = Some("h200_sxm".into());
    let mut bad_sku = h200.clone();
    bad_sku.sku = "H200 SXM".into();
    let mut zero_bw = h200.clone();
    zero_bw.gpu.mem_bw_bytes_per_s = 0;
    let dump = |s: &SystemSpec| {
        serde_yaml_ng::to_string(&SystemFile {
            systems: vec![s.clone()],
        })
        .unwrap()
    };
    let cases: [(&str, Result<(), &str>); 6] = [
        ("systems: [", Err("invalid")),
        ("systems: []\nextra: 1", Err("unknown field")),
        (&dump(&bad_sku), Err("sku must be")),
        (&dump(&zero_bw), Err("mem_bw_bytes_per_s must be > 0")),
        (&dump(&h200), Ok(())),
        (&dump(&borrower), Err("not a measured system")),
    ];
    for (text, want) in cases {
        let got = SystemCatalog::from_sources(&[("test.yaml", text)]).map(|_| ());
        match (got, want) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(needle)) => {
                assert!(matches!(e, SystemError::Data { .. }), "{e:?}");
                assert!(e.to_string().contains(needle), "{e} lacks {needle}");
                let d = e.to_diagnostic("");
                assert_eq!(d.code, Code::MalformedValue);
            }
            (got, want) => panic!("{text}: {got:?} vs {want:?}"),
        }
    }
    let twice = SystemCatalog::from_specs([h200.clone(), h200]);
    assert!(matches!(twice, Err(SystemError::Data { message, .. }) if message.contains("twice")));
}

#[test]
fn a_host_catalog_extends_the_builtin_one() {
    let mut mine = cat().lookup("h200_sxm").unwrap().clone();
    mine.sku = "h200_custom".into();
    mine.display_name = "My H200 cluster".into();
    let extra = serde_yaml_ng::to_string(&SystemFile {
        systems: vec![mine],
    })
    .unwrap();
    let c = SystemCatalog::from_sources(&[
        ("measured", MEASURED_YAML),
        ("datasheet", DATASHEET_YAML),
        ("mine", &extra),
    ])
    .unwrap();
    assert_eq!(c.len(), cat().len() + 1);
    assert_eq!(
        c.lookup("H200-CUSTOM").unwrap().display_name,
        "My H200 cluster"
    );
}
