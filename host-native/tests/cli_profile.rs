//! `dgdr profile` as a user runs it: the real binary on the shipped
//! examples, into temporary output directories — the artifact layout of SPEC
//! §5.1, the summary, `--json`, the status file of a failed run, and (when
//! Python with numpy is installed; CI sets `DGDR_REQUIRE_NUMPY=1` to insist)
//! that numpy loads the `.npz` files with the planner's keys.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn dgdr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dgdr"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("run the dgdr binary")
}

const LAYOUT: &[&str] = &[
    "final_config.yaml",
    "profiler_status.yaml",
    "webui_data.json",
    "prefill_performance.png",
    "decode_performance.png",
    "selected_prefill_interpolation/raw_data.npz",
    "selected_prefill_interpolation/prefill_ttft_interpolation.png",
    "selected_prefill_interpolation/prefill_throughput_interpolation.png",
    "selected_decode_interpolation/raw_data.npz",
    "selected_decode_interpolation/decode_itl_interplation.png",
    "selected_decode_interpolation/decode_throughput_interpolation.png",
];

fn profile_example(name: &str, dir: &Path, extra: &[&str]) -> Output {
    let example = format!("examples/{name}");
    let out = dir.to_str().expect("utf-8 temp path");
    let mut args = vec!["profile", example.as_str(), "-o", out];
    args.extend_from_slice(extra);
    dgdr(&args)
}

fn numpy_check(dirs: &[&Path]) {
    let script = root().join("scripts/check_npz.py");
    let required = std::env::var("DGDR_REQUIRE_NUMPY").is_ok_and(|v| v == "1");
    let has_numpy = Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_numpy {
        assert!(
            !required,
            "DGDR_REQUIRE_NUMPY=1 but python3 with numpy is not available"
        );
        eprintln!("note: python3 with numpy not found; the .npz files were not loaded with numpy");
        return;
    }
    let out = Command::new("python3")
        .arg(&script)
        .args(dirs)
        .output()
        .expect("run check_npz.py");
    assert!(
        out.status.success(),
        "numpy check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stdout).trim());
}

#[test]
fn profile_writes_the_artifact_layout_and_a_summary() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dense = tmp.path().join("qwen");
    let moe = tmp.path().join("deepseek");
    let a = profile_example("qwen3-32b-h200-vllm.yaml", &dense, &[]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let stdout = String::from_utf8_lossy(&a.stdout);
    assert!(stdout.contains("Pick:"), "{stdout}");
    assert!(stdout.contains("Top aggregated") && stdout.contains("Top disaggregated"));
    assert!(stdout.contains("tok/s/GPU") && stdout.contains("TTFT ms"));
    for f in LAYOUT {
        let p = dense.join(f);
        let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{} missing or empty", p.display());
        if f.ends_with(".png") {
            let bytes = std::fs::read(&p).expect("read png");
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{f} is not a PNG");
        }
    }
    let status = std::fs::read_to_string(dense.join("profiler_status.yaml")).expect("status");
    assert!(status.contains("status: success"), "{status}");
    assert!(status.contains("- final_config.yaml"), "{status}");
    let config = std::fs::read_to_string(dense.join("final_config.yaml")).expect("config");
    assert!(config.starts_with("---\n"));
    assert!(config.contains("kind: DynamoGraphDeployment"));
    let webui: Value = serde_json::from_str(
        &std::fs::read_to_string(dense.join("webui_data.json")).expect("webui"),
    )
    .expect("webui_data.json is JSON");
    assert!(webui["candidates"].as_array().is_some_and(|c| c.len() > 10));
    assert!(
        webui["pareto"]["agg"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
    assert_eq!(webui["request"]["picking_mode"], "default");

    // The MoE example: every backend, load-match, in JSON.
    let b = profile_example("deepseek-r1-64xh200-load.yaml", &moe, &["--json"]);
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let j: Value = serde_json::from_slice(&b.stdout).expect("--json prints JSON");
    assert_eq!(j["ok"], true);
    assert_eq!(j["picking_mode"], "load_match");
    assert!(j["total_gpus_used"].as_u64().is_some_and(|g| g <= 64));
    assert!(
        j["outputs"]
            .as_array()
            .is_some_and(|o| o.len() == LAYOUT.len() - 1)
    );
    numpy_check(&[&dense, &moe]);
}

#[test]
fn a_failed_run_leaves_a_failed_status() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("bad");
    let r = profile_example("invalid-typos.yaml", &out, &[]);
    assert_eq!(r.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(stderr.contains("spec.workload.isl"), "{stderr}");
    let status = std::fs::read_to_string(out.join("profiler_status.yaml")).expect("status");
    assert!(status.contains("status: failed"), "{status}");
    assert!(status.contains("phase: Initializing"), "{status}");
    assert!(status.contains("DGDR-E010"), "{status}");

    // Unreadable input: exit 2.
    let r = dgdr(&[
        "profile",
        "no/such/file.yaml",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(r.status.code(), Some(2));
}
