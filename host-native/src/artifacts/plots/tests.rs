#![allow(clippy::unwrap_used)]

use super::*;
use std::path::PathBuf;
use std::time::Instant;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(PNG_SIGNATURE),
        "{} is no PNG",
        path.display()
    );
    // A 1200×800 plot with text and lines compresses to tens of kB; a blank
    // canvas would be a few kB, a raw one 2.9 MB.
    assert!(
        (8_000..1_500_000).contains(&bytes.len()),
        "{}: {} bytes",
        path.display(),
        bytes.len()
    );
    // IHDR: width and height.
    assert_eq!(&bytes[16..24], &[0, 0, 4, 176, 0, 0, 3, 32]);
}

fn prefill_points() -> Vec<PrefillPoint> {
    [
        ("TP1", 1, 412.0),
        ("TP2", 2, 221.5),
        ("TP4", 4, 128.3),
        ("TP8", 8, 86.9),
    ]
    .into_iter()
    .map(|(label, gpus, ttft_ms)| PrefillPoint {
        label: label.into(),
        gpus,
        ttft_ms,
        chosen: label == "TP2",
    })
    .collect()
}

fn decode_curves() -> Vec<DecodeCurve> {
    [
        ("TP1", 1, 14.0),
        ("TP2", 2, 9.5),
        ("TP4", 4, 7.0),
        ("TP8", 8, 6.1),
    ]
    .into_iter()
    .map(|(label, gpus, base)| DecodeCurve {
        label: label.into(),
        gpus,
        points: [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]
            .into_iter()
            .filter(|n| *n <= 64.0 * f64::from(gpus))
            .map(|n| (n, base * (1.0 + n / (40.0 * f64::from(gpus).sqrt()))))
            .collect(),
        chosen: label == "TP4",
    })
    .collect()
}

fn prefill_profile() -> PrefillProfile {
    let isl: Vec<f64> = (0..16).map(|i| 100.0 + f64::from(i) * 8_500.0).collect();
    let ttft: Vec<f64> = isl
        .iter()
        .map(|s| 18.0 + 0.045 * s + 1.2e-7 * s * s)
        .collect();
    let thpt = isl
        .iter()
        .zip(&ttft)
        .map(|(s, t)| s / t * 1000.0 / 2.0)
        .collect();
    PrefillProfile {
        prefill_isl: isl,
        prefill_ttft: ttft,
        prefill_thpt_per_gpu: thpt,
    }
}

fn decode_profile() -> DecodeProfile {
    let mut d = DecodeProfile {
        max_kv_tokens: 1_245_184,
        ..DecodeProfile::default()
    };
    for ctx in [1_500.0, 6_000.0, 12_000.0, 24_000.0, 48_000.0, 96_000.0] {
        for k in 1..=12 {
            let kv = f64::from(k) / 12.0 * 0.95;
            let inflight = kv * 1_245_184.0 / ctx;
            let itl = 6.0 + 9.0 * kv + 0.004 * inflight.sqrt() * ctx.ln();
            d.x_kv_usage.push(kv);
            d.y_context_length.push(ctx);
            d.z_itl.push(itl);
            d.z_thpt_per_gpu.push(inflight / itl * 1000.0 / 4.0);
        }
    }
    d
}

/// Writes the six plots into `dir` and returns their paths.
fn render_all(dir: &Path) -> Vec<PathBuf> {
    let names = [
        "prefill_performance.png",
        "decode_performance.png",
        "selected_prefill_interpolation/prefill_ttft_interpolation.png",
        "selected_prefill_interpolation/prefill_throughput_interpolation.png",
        "selected_decode_interpolation/decode_itl_interplation.png",
        "selected_decode_interpolation/decode_throughput_interpolation.png",
    ];
    let p: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    let (prefill, decode) = (prefill_profile(), decode_profile());
    prefill_performance(&p[0], &prefill_points(), Some(250.0)).unwrap();
    decode_performance(&p[1], &decode_curves(), Some(12.0)).unwrap();
    prefill_ttft_interpolation(&p[2], &prefill).unwrap();
    prefill_throughput_interpolation(&p[3], &prefill).unwrap();
    decode_itl_interpolation(&p[4], &decode).unwrap();
    decode_throughput_interpolation(&p[5], &decode).unwrap();
    p
}

#[test]
fn every_plot_writes_a_png() {
    let dir = tempfile::tempdir().unwrap();
    for path in render_all(dir.path()) {
        assert_png(&path);
    }
}

#[test]
fn interpolation_folders_are_written_with_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let paths =
        crate::artifacts::write_interpolation(dir.path(), &prefill_profile(), &decode_profile())
            .unwrap();
    let rel: Vec<String> = paths
        .iter()
        .map(|p| {
            let r = p.strip_prefix(dir.path()).unwrap();
            r.to_string_lossy().into_owned()
        })
        .collect();
    assert_eq!(
        rel,
        [
            "selected_prefill_interpolation/raw_data.npz",
            "selected_prefill_interpolation/prefill_ttft_interpolation.png",
            "selected_prefill_interpolation/prefill_throughput_interpolation.png",
            "selected_decode_interpolation/raw_data.npz",
            "selected_decode_interpolation/decode_itl_interplation.png",
            "selected_decode_interpolation/decode_throughput_interpolation.png",
        ]
    );
    for p in &paths {
        if p.extension().is_some_and(|e| e == "png") {
            assert_png(p);
        } else {
            assert!(std::fs::read(p).unwrap().starts_with(b"PK"));
        }
    }
}

#[test]
fn performance_plots_come_from_the_driver_charts() {
    let dir = tempfile::tempdir().unwrap();
    let charts = dgdr_core::driver::Charts {
        prefill: vec![dgdr_core::driver::PrefillChart {
            label: "vllm TP2".into(),
            gpus: 2,
            ttft_ms: 120.0,
            chosen: true,
        }],
        decode: vec![dgdr_core::driver::DecodeChart {
            label: "vllm TP2".into(),
            gpus: 2,
            points: vec![(1.0, 8.0), (8.0, 9.5), (64.0, 20.0)],
            chosen: true,
        }],
        sla_ttft_ms: Some(200.0),
        sla_itl_ms: None,
    };
    let paths = crate::artifacts::write_performance(dir.path(), &charts).unwrap();
    assert_eq!(paths[0], dir.path().join("prefill_performance.png"));
    assert_eq!(paths[1], dir.path().join("decode_performance.png"));
    for p in &paths {
        assert_png(p);
    }
}

#[test]
fn empty_and_bad_inputs_say_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    prefill_performance(d.join("a.png"), &[], Some(100.0)).unwrap();
    decode_performance(d.join("b.png"), &[], None).unwrap();
    prefill_ttft_interpolation(d.join("c.png"), &PrefillProfile::default()).unwrap();
    prefill_throughput_interpolation(d.join("d.png"), &PrefillProfile::default()).unwrap();
    decode_itl_interpolation(d.join("e.png"), &DecodeProfile::default()).unwrap();
    decode_throughput_interpolation(d.join("f.png"), &DecodeProfile::default()).unwrap();

    let nan = PrefillProfile {
        prefill_isl: vec![f64::NAN, 100.0, f64::INFINITY],
        prefill_ttft: vec![1.0, f64::NAN, 3.0],
        prefill_thpt_per_gpu: vec![1.0],
    };
    prefill_ttft_interpolation(d.join("g.png"), &nan).unwrap();
    let bad_curve = DecodeCurve {
        label: "TP1".into(),
        gpus: 1,
        points: vec![(f64::NAN, 1.0), (1.0, f64::INFINITY)],
        chosen: true,
    };
    decode_performance(d.join("h.png"), &[bad_curve], Some(f64::NAN)).unwrap();
    let bad_point = PrefillPoint {
        label: "TP1".into(),
        gpus: 1,
        ttft_ms: f64::NAN,
        chosen: false,
    };
    prefill_performance(d.join("i.png"), &[bad_point], None).unwrap();
    for name in ["a", "b", "c", "d", "e", "f", "g", "h", "i"] {
        assert_png(&d.join(format!("{name}.png")));
    }
}

/// Writes plots of awkward data into `d` and returns their names.
fn render_awkward(d: &Path) -> [&'static str; 7] {
    std::fs::create_dir_all(d).unwrap();
    // One point; one value; SLA far above the data; zero TTFT.
    let one = vec![PrefillPoint {
        label: "TP1".into(),
        gpus: 1,
        ttft_ms: 0.0,
        chosen: true,
    }];
    prefill_performance(d.join("one.png"), &one, Some(5_000.0)).unwrap();
    // Many mappings with long labels.
    let many: Vec<PrefillPoint> = (0..24)
        .map(|i| PrefillPoint {
            label: format!("TP{}PP{}DP{}", 1 << (i % 4), 1 + i % 2, 1 + i / 4),
            gpus: 1 + i,
            ttft_ms: 10.0 * f64::from(i + 1),
            chosen: i == 7,
        })
        .collect();
    prefill_performance(d.join("many.png"), &many, Some(100.0)).unwrap();
    // TTFTs over decades: log axis.
    let spread: Vec<PrefillPoint> = [3.0, 40.0, 900.0]
        .iter()
        .enumerate()
        .map(|(i, t)| PrefillPoint {
            label: format!("DEP{}", 1 << i),
            gpus: 1 << i,
            ttft_ms: *t,
            chosen: i == 1,
        })
        .collect();
    prefill_performance(d.join("spread.png"), &spread, Some(100.0)).unwrap();
    // More context lengths than lines, and values outside [0, 1].
    let mut dp = DecodeProfile::default();
    for c in 0..40 {
        for k in 0..3 {
            dp.x_kv_usage.push(f64::from(k) * 0.6);
            dp.y_context_length.push(1000.0 + f64::from(c) * 100.0);
            dp.z_itl.push(5.0 + f64::from(k + c));
            dp.z_thpt_per_gpu.push(-1.0);
        }
    }
    decode_itl_interpolation(d.join("ctx.png"), &dp).unwrap();
    decode_throughput_interpolation(d.join("neg.png"), &dp).unwrap();
    prefill_performance(d.join("empty.png"), &[], Some(100.0)).unwrap();
    decode_performance(d.join("no_chosen.png"), &decode_curves()[..2], None).unwrap();
    ["one", "many", "spread", "ctx", "neg", "empty", "no_chosen"]
}

#[test]
fn awkward_data_still_plots() {
    let dir = tempfile::tempdir().unwrap();
    for name in render_awkward(dir.path()) {
        assert_png(&dir.path().join(format!("{name}.png")));
    }
}

#[test]
fn errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let path = blocker.join("plot.png");
    let err = prefill_ttft_interpolation(&path, &prefill_profile()).unwrap_err();
    assert_eq!(err.path(), path);
    assert!(err.to_string().contains("plot.png"), "{err}");
}

/// Renders the sample set into `/tmp/dgdr-plots` (or `$DGDR_PLOTS_DIR`) for a
/// look, and times it: `cargo test --release -p dgdr-native
/// render_samples_for_review -- --ignored --nocapture`.
#[test]
#[ignore = "writes outside the temp dir; run by hand to review the plots"]
fn render_samples_for_review() {
    let dir = std::env::var_os("DGDR_PLOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/dgdr-plots"));
    render_all(&dir); // warm-up: font parsing, page faults
    let start = Instant::now();
    let paths = render_all(&dir);
    let elapsed = start.elapsed();
    render_awkward(&dir.join("edge_cases"));
    let npz = [
        dir.join("selected_prefill_interpolation/raw_data.npz"),
        dir.join("selected_decode_interpolation/raw_data.npz"),
    ];
    crate::artifacts::write_prefill_npz(&npz[0], &prefill_profile()).unwrap();
    crate::artifacts::write_decode_npz(&npz[1], &decode_profile()).unwrap();
    println!("six plots in {:.1} ms", elapsed.as_secs_f64() * 1e3);
    for p in paths.iter().chain(&npz) {
        println!("{}", p.display());
    }
}
