//! How fast `dgdr estimate --batch` is over the whole calibration file
//! (`../shared/data/ground-truth/silicon_calibration.csv`, skipped with a note
//! when `../shared` is absent), in rows per second on one core.
//! `cargo bench -p dgdr-native --bench batch`.

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use dgdr_core::perf::Calibration;
use dgdr_native::accuracy::predict::{Models, Predictor};
use dgdr_native::accuracy::rows::{Row, read_rows};
use std::hint::black_box;
use std::path::PathBuf;

fn calibration_csv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/ground-truth/silicon_calibration.csv")
}

/// Predicts every row with a fresh predictor (each deployment prepared once,
/// as the batch command does); returns a checksum.
fn predict_all(rows: &[Row]) -> f64 {
    let models = Models::for_rows(rows);
    let mut p = Predictor::new(&models, Calibration::builtin());
    let mut sum = 0.0;
    for r in rows {
        if let Ok(x) = p.predict(r) {
            sum += x.estimate.ttft_ms + x.estimate.tpot_ms;
        }
    }
    sum
}

/// What `dgdr estimate --batch IN --out OUT` does, with the files in memory:
/// parse the CSV, predict every row, write the predictions' CSV.
fn batch_in_memory(input: &[u8]) -> Vec<u8> {
    let rows = read_rows(input).expect("rows");
    let models = Models::for_rows(&rows);
    let mut p = Predictor::new(&models, Calibration::builtin());
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 48));
    w.write_record(["id", "pred_ttft_ms", "pred_tpot_ms", "ok", "error"])
        .expect("header");
    for r in &rows {
        match p.predict(r) {
            Ok(x) => w.write_record([
                r.id.as_str(),
                &format!("{:.4}", x.estimate.ttft_ms),
                &format!("{:.4}", x.estimate.tpot_ms),
                "true",
                &if x.assumed {
                    format!("assumed: {}", x.notes.join("; "))
                } else {
                    String::new()
                },
            ]),
            Err(e) => w.write_record([r.id.as_str(), "", "", "false", &e]),
        }
        .expect("record");
    }
    w.into_inner().expect("flush")
}

fn bench(c: &mut Criterion) {
    let path = calibration_csv();
    let Ok(input) = std::fs::read(&path) else {
        println!(
            "batch bench skipped: {} is absent (it lives in ../shared)",
            path.display()
        );
        return;
    };
    let rows = read_rows(input.as_slice()).expect("the calibration file reads");
    let n = rows.len() as u64;
    let models = Models::for_rows(&rows);
    let ok = {
        let mut p = Predictor::new(&models, Calibration::builtin());
        rows.iter().filter(|r| p.predict(r).is_ok()).count()
    };
    println!(
        "batch bench: {} rows ({ok} predicted) from {}",
        n,
        path.display()
    );

    let mut g = c.benchmark_group("batch (silicon_calibration.csv)");
    g.throughput(Throughput::Elements(n));
    // Each iteration is the whole file (~0.1 s): few samples, flat sampling.
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("parse only", |b| {
        b.iter(|| read_rows(black_box(input.as_slice())).map(|r| r.len()))
    });
    g.bench_function("predict every row, fresh predictor", |b| {
        b.iter(|| predict_all(black_box(&rows)))
    });
    g.bench_function("parse + predict + write CSV", |b| {
        b.iter(|| batch_in_memory(black_box(&input)))
    });
    // Steady state: every deployment already prepared (the calibration fit's
    // inner loop).
    let mut warm = Predictor::new(&models, Calibration::builtin());
    for r in &rows {
        let _ = warm.predict(r);
    }
    g.bench_function("predict every row, deployments prepared", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            for r in black_box(&rows) {
                if let Ok(x) = warm.predict(r) {
                    sum += x.estimate.tpot_ms;
                }
            }
            sum
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
