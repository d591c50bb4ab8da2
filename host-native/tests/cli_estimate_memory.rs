//! `dgdr estimate` on a layout whose weights fill the engine's default
//! memory: an error that says so and how it would fit, and, with `--json`,
//! the estimate at the raised memory fraction (deployments of such layouts
//! run with it).

use serde_json::Value;
use std::process::Output;

mod common;
use common::dgdr;

fn estimate(tp: &str, json: bool) -> Output {
    let mut args = vec![
        "estimate",
        "--model",
        "deepseek-ai/DeepSeek-V3",
        "--system",
        "gb200",
        "--backend",
        "sglang",
        "--isl",
        "1024",
        "--osl",
        "1024",
        "--concurrency",
        "4",
        "--tp",
        tp,
    ];
    if json {
        args.push("--json");
    }
    dgdr(&args)
}

#[test]
fn a_layout_that_fits_only_with_a_raised_fraction_says_so() {
    // 671 B FP8 parameters over 4 GB200s fill SGLang's default static pool.
    let out = estimate("4", false);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not fit"), "{err}");
    assert!(err.contains("static pool"), "{err}");
    assert!(err.contains("mem-fraction-static raised to 0.95"), "{err}");

    let out = estimate("4", true);
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let e = &v;
    assert_eq!(e["fits"], Value::Bool(false));
    assert_eq!(e["raised_memory_fraction"].as_f64(), Some(0.95));
    // At the raised fraction the four clients run together: no queue of
    // whole requests in front of the first token (measured: 257 ms).
    let ttft = e["ttft_ms"].as_f64().expect("ttft_ms");
    assert!(ttft > 100.0 && ttft < 1000.0, "{ttft}");
    assert!(e["max_batch"].as_u64().expect("max_batch") >= 4, "{e}");
}

#[test]
fn a_layout_that_fits_has_no_raised_fraction() {
    let out = estimate("8", true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["fits"], Value::Bool(true));
    assert_eq!(v["raised_memory_fraction"], Value::Null);
}
