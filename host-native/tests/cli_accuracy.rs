//! `dgdr accuracy` as a user runs it, on a small measured-rows file written
//! here (the calibration data itself lives outside the repository): the
//! report's slices, both cross-validations and the per-row output.

use serde_json::Value;
mod common;
use common::dgdr;

/// Runs `dgdr` with `args`, which must succeed, and reads its JSON report.
fn json_report(args: &[&str]) -> Value {
    let out = dgdr(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

/// Rows of two models on one GPU, TTFT and TPOT rising with the load the
/// way real engines do (the values are plausible, not measured).
fn rows_csv() -> String {
    let mut csv = String::from(
        "id,model_path,system,backend,backend_version,mode,isl,osl,batch_size,tp_size,silicon_ttft_ms,silicon_tpot_ms\n",
    );
    for (model, tp, base_tpot) in [
        ("Qwen/Qwen3-32B", 2, 11.0),
        ("meta-llama/Llama-3.1-8B-Instruct", 1, 6.0),
    ] {
        for (i, batch) in [1, 4, 16, 64].into_iter().enumerate() {
            let tpot = base_tpot * (1.0 + 0.15 * i as f64);
            let ttft = 120.0 * (1.0 + 0.5 * i as f64);
            csv.push_str(&format!(
                "{model}-c{batch},{model},h200_sxm,vllm,0.19.0,agg,2048,256,{batch},{tp},{ttft},{tpot}\n"
            ));
        }
    }
    csv
}

#[test]
fn cross_validates_by_group_and_by_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gt = dir.path().join("gt.csv");
    let rows_out = dir.path().join("rows.csv");
    std::fs::write(&gt, rows_csv()).expect("write rows");
    let v = json_report(&[
        "accuracy",
        "--ground-truth",
        gt.to_str().expect("utf-8 path"),
        "--cv",
        "2",
        "--cv-models",
        "--rounds",
        "1",
        "--json",
        "--rows-out",
        rows_out.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(v["rows"], 8);
    assert_eq!(v["folds"], 2);
    assert_eq!(v["model_folds"], 2, "one fold per model");
    for key in ["in_sample", "cross_validated", "cross_validated_by_model"] {
        let all = v[key]
            .as_array()
            .and_then(|slices| slices.iter().find(|s| s["slice"] == "all"))
            .unwrap_or_else(|| panic!("{key} has an `all` slice: {v}"));
        assert_eq!(all["rows"], 8, "{key}");
        assert_eq!(all["predicted_pct"], 100.0, "{key}: {all}");
        let mdape = all["tpot"]["mdape"].as_f64().expect("TPOT MdAPE");
        assert!(mdape.is_finite() && mdape >= 0.0, "{key}: {all}");
    }
    let per_row = std::fs::read_to_string(&rows_out).expect("rows written");
    assert_eq!(per_row.lines().count(), 9, "a header and one line per row");
    assert!(per_row.starts_with("id,"), "{per_row}");
}

#[test]
fn checks_peak_throughput_against_a_perf_overview_table() {
    // Two rows in the layout of TensorRT-LLM's perf overview, one of a model
    // the catalog does not know (reported, not fatal).
    let dir = tempfile::tempdir().expect("temp dir");
    let table = dir.path().join("overview.csv");
    std::fs::write(
        &table,
        "source,engine,model,gpu,precision,tp,pp,isl,osl,concurrency,metric,value\n\
         doc,TensorRT-LLM (PyTorch backend ~v1.0),Llama 3.3 70B,H200,FP8,1,1,1000,1000,offline,total_output_throughput_tok_s,2909\n\
         doc,TensorRT-LLM (PyTorch backend ~v1.0),Mystery 7B,H200,FP8,1,1,1000,1000,offline,total_output_throughput_tok_s,9000\n",
    )
    .expect("write table");
    let path = table.to_str().expect("utf-8 path");
    let v = json_report(&["accuracy", "--throughput", path, "--json"]);
    assert_eq!(v["rows"], 2);
    let all = &v["slices"][0];
    assert_eq!(all["slice"], "all");
    assert_eq!(
        (all["rows"].as_u64(), all["predicted"].as_u64()),
        (Some(2), Some(1))
    );
    let pred = v["outcomes"][0]["predicted_tok_s"]
        .as_f64()
        .expect("predicted");
    assert!((1500.0..6000.0).contains(&pred), "{pred}");
    let why = v["outcomes"][1]["error"].as_str().expect("a reason");
    assert!(why.contains("Mystery 7B"), "{why}");
    // The text report lists the row it could not predict, and why.
    let text = dgdr(&["accuracy", "--throughput", path]);
    let s = String::from_utf8_lossy(&text.stdout);
    assert!(
        s.contains("model=Llama 3.3 70B") && s.contains("Not predicted (1 of the rows)"),
        "{s}"
    );
    // It is a check of its own: the calibration file's options do not mix in.
    let both = dgdr(&["accuracy", "--throughput", path, "--cv", "2"]);
    assert!(!both.status.success());
}
