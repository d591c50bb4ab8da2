//! `dgdr … | head -1`: when the reader of stdout has gone, dgdr stops quietly
//! (status 0, nothing on stderr about it) instead of panicking on the failed
//! write. The reader here is closed before dgdr starts, so every write to
//! stdout fails with EPIPE, deterministically.

use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `dgdr ARGS` with stdout a pipe whose reading end is already closed;
/// returns the exit status and stderr.
fn dgdr_into_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_dgdr"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run the dgdr binary");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_quiet(args: &[&str]) {
    let (code, stderr) = dgdr_into_closed_pipe(args);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "dgdr {args:?} into a closed pipe: stderr {stderr:?}"
    );
    assert_eq!(code, Some(0), "dgdr {args:?}: stderr {stderr:?}");
}

#[test]
fn estimate_with_breakdown_into_a_closed_pipe() {
    // Plain `println!`: many lines of per-op times.
    assert_quiet(&[
        "estimate",
        "--model",
        "meta-llama/Llama-3.1-8B-Instruct",
        "--system",
        "h100_sxm",
        "--backend",
        "vllm",
        "--isl",
        "1024",
        "--osl",
        "128",
        "--concurrency",
        "8",
        "--breakdown",
    ]);
}

#[test]
fn estimate_json_into_a_closed_pipe() {
    assert_quiet(&[
        "estimate",
        "--model",
        "Qwen/Qwen3-32B",
        "--system",
        "h200_sxm",
        "--backend",
        "sglang",
        "--tp",
        "2",
        "--isl",
        "4000",
        "--osl",
        "500",
        "--concurrency",
        "16",
        "--json",
    ]);
}

#[test]
fn validate_and_help_into_a_closed_pipe() {
    // `anstream` output, and clap's.
    assert_quiet(&["validate", "examples/qwen3-32b-h200-vllm.yaml"]);
    assert_quiet(&["validate", "--json", "examples/qwen3-32b-h200-vllm.yaml"]);
    assert_quiet(&["--help"]);
}

#[test]
fn compare_gpu_into_a_closed_pipe() {
    assert_quiet(&[
        "calibrate",
        "compare-gpu",
        "bench/gpu/results/h200_sxm-x2",
        "--system",
        "h200_sxm",
    ]);
}
