//! `dgdr accuracy`: the performance model against measured deployments.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::exit;
use super::style::{self, paint};
use crate::accuracy::metrics::{SliceStats, report};
use crate::accuracy::overview::{self, OverviewOutcome, OverviewSlice};
use crate::accuracy::predict::Models;
use crate::accuracy::ranking::Ranking;
use crate::accuracy::rows::{Row, read_rows};
use crate::accuracy::{fit, outcomes, predict_all, ranking_of};
use dgdr_core::perf::{BackendConstants, Calibration};

/// Predict every row of a measured-deployments CSV and report the error.
///
/// The file has the layout of AI Configurator's silicon_calibration.csv (one
/// deployment and workload per row, with measured `silicon_ttft_ms` and
/// `silicon_tpot_ms`). Prints the share of rows predicted and, for TTFT and
/// TPOT, the median and mean absolute percentage error and the share within
/// ±10 % and ±20 %, overall and per system, backend, mode and dense/MoE.
///
/// `--throughput FILE` checks peak throughput instead, against a table in
/// the layout of `trtllm_perf_overview_v1.csv` (model, GPU, precision,
/// TP/PP, ISL/OSL and the output tokens/s a benchmark sustained at offline,
/// unbounded load): each row is predicted as a closed loop with more
/// clients than the engine runs, and the error is reported overall, per
/// model and per GPU.
///
/// `--cv K` refits the per-backend constants K times, each time holding out
/// whole deployment groups (same model, system, backend, mode, ISL/OSL and
/// layout), and reports the error of the held-out predictions: the figure to
/// expect on deployments the constants never saw. `--cv-models` holds out
/// whole models instead (one fold per model architecture): the figure to
/// expect on a model nobody measured.
///
/// Exit codes: 0 done, 2 the file could not be read.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  dgdr accuracy --ground-truth ../shared/data/ground-truth/silicon_calibration.csv\n  dgdr accuracy --throughput ../shared/data/ground-truth/trtllm_perf_overview_v1.csv\n  dgdr accuracy --ground-truth gt.csv --cv 5 --json\n  dgdr accuracy --ground-truth gt.csv --calibrate   # refit and print the constants"
)]
pub struct Args {
    /// The measured rows (CSV with the silicon_calibration.csv header).
    #[arg(long, value_name = "FILE", required_unless_present = "throughput")]
    ground_truth: Option<PathBuf>,
    /// Check peak throughput against this table instead (CSV with the
    /// trtllm_perf_overview_v1.csv header).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["ground_truth", "cv", "cv_models", "calibrate", "rows_out"]
    )]
    throughput: Option<PathBuf>,
    /// Also cross-validate the fitted constants over K folds of whole
    /// deployment groups.
    #[arg(long, value_name = "K")]
    cv: Option<usize>,
    /// Also cross-validate holding out whole models: each model (its
    /// checkpoints together) predicted with constants fitted without it.
    #[arg(long)]
    cv_models: bool,
    /// Refit the per-backend constants on all rows first, report with them,
    /// and print them as Rust for core/src/perf/constants.rs.
    #[arg(long)]
    calibrate: bool,
    /// Coordinate-descent rounds of each fit.
    #[arg(long, default_value_t = 8)]
    rounds: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Print the tables as Markdown (for docs/accuracy.md).
    #[arg(long)]
    markdown: bool,
    /// Write each row's prediction and error to this CSV (for analysis);
    /// `cv_ttft`/`cv_tpot` hold the `--cv` predictions, or the
    /// `--cv-models` ones when only that is given.
    #[arg(long, value_name = "FILE")]
    rows_out: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct JsonReport {
    rows: usize,
    rows_per_s: f64,
    in_sample: Vec<SliceStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cross_validated: Option<Vec<SliceStats>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    folds: Option<usize>,
    /// Each model held out in turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    cross_validated_by_model: Option<Vec<SliceStats>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_folds: Option<usize>,
    /// How well the predictions order each group's deployments.
    ranking: Ranking,
    #[serde(skip_serializing_if = "Option::is_none")]
    ranking_cross_validated: Option<Ranking>,
}

pub fn run(args: &Args) -> i32 {
    let ground_truth = match (&args.throughput, &args.ground_truth) {
        (Some(path), _) => return run_throughput(path, args),
        (None, Some(path)) => path,
        (None, None) => {
            eprintln!(
                "{} give --ground-truth FILE or --throughput FILE",
                paint("error:", style::error())
            );
            return exit::INVALID;
        }
    };
    let rows = match read_file(ground_truth, read_rows) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let models = Models::for_rows(&rows);
    let mut calibration = Calibration::builtin();
    if args.calibrate {
        let all: Vec<&Row> = rows.iter().collect();
        calibration = fit::calibrate(&models, &all, Calibration::prior(), args.rounds);
    }
    let start = Instant::now();
    let preds = predict_all(&rows, &models, calibration);
    let secs = start.elapsed().as_secs_f64();
    let rows_per_s = rows.len() as f64 / secs.max(1e-9);
    let in_sample = report(&outcomes(&rows, &models, &preds));
    let cv = args.cv.map(|k| {
        let (held, _) = fit::cross_validate(&models, &rows, k, Calibration::prior(), args.rounds);
        (k, report(&outcomes(&rows, &models, &held)), held)
    });
    let by_model = args.cv_models.then(|| {
        let (fold, k) = fit::model_folds(&rows, &models);
        let (held, _) =
            fit::cross_validate_folds(&models, &rows, &fold, k, Calibration::prior(), args.rounds);
        (k, report(&outcomes(&rows, &models, &held)), held)
    });
    if let Some(path) = &args.rows_out
        && let Err(e) = write_rows(
            path,
            &rows,
            calibration,
            cv.as_ref().or(by_model.as_ref()).map(|c| &c.2),
        )
    {
        eprintln!(
            "{} cannot write {}: {e}",
            paint("error:", style::error()),
            path.display()
        );
        return exit::UNREADABLE;
    }
    if args.json {
        let r = JsonReport {
            rows: rows.len(),
            rows_per_s,
            in_sample,
            cross_validated: cv.as_ref().map(|c| c.1.clone()),
            folds: cv.as_ref().map(|c| c.0),
            cross_validated_by_model: by_model.as_ref().map(|c| c.1.clone()),
            model_folds: by_model.as_ref().map(|c| c.0),
            ranking: ranking_of(&rows, &preds),
            ranking_cross_validated: cv.as_ref().map(|c| ranking_of(&rows, &c.2)),
        };
        if let Err(code) = print_json(&r) {
            return code;
        }
    } else {
        let md = args.markdown;
        anstream::println!(
            "{} rows from {} ({:.0} rows/s)",
            rows.len(),
            ground_truth.display(),
            rows_per_s
        );
        anstream::println!();
        let which = if args.calibrate {
            "In-sample (constants refitted on all rows):"
        } else {
            "In-sample (committed constants):"
        };
        anstream::println!("{}", paint(which, style::bold()));
        print_table(&in_sample, md);
        if let Some((k, t, _)) = &cv {
            print_section(
                &format!(
                    "Cross-validated ({k} folds of whole deployment groups, constants refitted without them):"
                ),
                t,
                md,
            );
        }
        if let Some((k, t, _)) = &by_model {
            print_section(
                &format!(
                    "Cross-validated by model ({k} models, each held out in turn, constants refitted without it):"
                ),
                t,
                md,
            );
        }
        anstream::println!();
        anstream::println!(
            "{}",
            paint(
                "Ranking (aggregated rows, grouped by model, system, backend, version, quant and ISL/OSL; what a planner chooses among):",
                style::bold()
            )
        );
        print_ranking(&ranking_of(&rows, &preds), "in-sample", md, true);
        if let Some((_, _, held)) = &cv {
            print_ranking(&ranking_of(&rows, held), "cross-validated", md, false);
        }
    }
    if args.calibrate {
        eprintln!("{}", constants_rust(&calibration));
    }
    exit::OK
}

/// Prints `v` as JSON, or says why not (the exit code to return).
fn print_json(v: &impl Serialize) -> Result<(), i32> {
    let s = serde_json::to_string_pretty(v).map_err(|e| {
        eprintln!("{} {e}", paint("error:", style::error()));
        exit::INTERNAL
    })?;
    println!("{s}");
    Ok(())
}

/// Reads a table with `read`, or says why not (the exit code to return).
fn read_file<T, E: std::fmt::Display>(
    path: &Path,
    read: impl FnOnce(File) -> Result<T, E>,
) -> Result<T, i32> {
    File::open(path)
        .map_err(|e| e.to_string())
        .and_then(|f| read(f).map_err(|e| e.to_string()))
        .map_err(|e| {
            eprintln!(
                "{} cannot read {}: {e}",
                paint("error:", style::error()),
                path.display()
            );
            exit::UNREADABLE
        })
}

#[derive(Debug, Serialize)]
struct ThroughputJson<'a> {
    rows: usize,
    slices: &'a [OverviewSlice],
    outcomes: &'a [OverviewOutcome],
}

/// `--throughput`: peak throughput against a perf-overview table.
fn run_throughput(path: &Path, args: &Args) -> i32 {
    let rows = match read_file(path, overview::read_overview) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let outcomes = overview::outcomes(&rows, &Calibration::builtin());
    let slices = overview::report(&outcomes);
    if args.json {
        let r = ThroughputJson {
            rows: rows.len(),
            slices: &slices,
            outcomes: &outcomes,
        };
        return print_json(&r).map_or_else(|code| code, |()| exit::OK);
    }
    let md = args.markdown;
    anstream::println!(
        "{} rows from {} (output tokens/s at offline load, committed constants)",
        rows.len(),
        path.display()
    );
    anstream::println!();
    print_head(
        &[
            "slice",
            "rows",
            "predicted",
            "MdAPE",
            "MAPE",
            "±10%",
            "±20%",
            "median bias",
        ],
        &THROUGHPUT_COLUMNS,
        md,
    );
    for s in &slices {
        let t = &s.throughput;
        // No row predicted: no error to state.
        let figure = |v: f64, fmt: fn(f64) -> String| {
            if t.n == 0 { "–".to_string() } else { fmt(v) }
        };
        let cells = [
            s.slice.clone(),
            s.rows.to_string(),
            s.predicted.to_string(),
            figure(t.mdape, |v| format!("{v:.1}%")),
            figure(t.mape, |v| format!("{v:.1}%")),
            figure(t.within_10, |v| format!("{v:.0}")),
            figure(t.within_20, |v| format!("{v:.0}")),
            figure(t.median_bias, |v| format!("{v:+.1}%")),
        ];
        print_row(&cells, &THROUGHPUT_COLUMNS, md);
    }
    let failed: Vec<&OverviewOutcome> = outcomes.iter().filter(|o| o.error.is_some()).collect();
    if !failed.is_empty() {
        anstream::println!();
        anstream::println!(
            "{}",
            paint(
                format!("Not predicted ({} of the rows):", failed.len()),
                style::bold()
            )
        );
        for o in failed {
            anstream::println!(
                "  {} on {} ({}, TP {}, {}/{}): {}",
                o.model,
                o.gpu,
                o.precision,
                o.tp,
                o.isl,
                o.osl,
                o.error.as_deref().unwrap_or_default()
            );
        }
    }
    exit::OK
}

/// Terminal layout of the throughput table (see [`SLICE_COLUMNS`]).
const THROUGHPUT_COLUMNS: [(usize, usize); 8] = [
    (0, 28),
    (1, 5),
    (1, 9),
    (2, 7),
    (1, 7),
    (1, 5),
    (1, 5),
    (2, 11),
];

/// Terminal layout of the slice tables: (spaces before, width) per column;
/// the first column is left-aligned, the others right-aligned.
const SLICE_COLUMNS: [(usize, usize); 11] = [
    (0, 24),
    (1, 5),
    (1, 6),
    (2, 10),
    (1, 6),
    (1, 5),
    (1, 5),
    (2, 10),
    (1, 6),
    (1, 5),
    (1, 5),
];

/// Terminal layout of the ranking table (see [`SLICE_COLUMNS`]).
const RANKING_COLUMNS: [(usize, usize); 8] = [
    (0, 16),
    (1, 6),
    (1, 5),
    (1, 15),
    (1, 10),
    (1, 11),
    (1, 26),
    (1, 10),
];

/// One table row: Markdown, or aligned to `columns` on a terminal.
fn print_row<S: AsRef<str>>(cells: &[S], columns: &[(usize, usize)], md: bool) {
    let cells: Vec<&str> = cells.iter().map(AsRef::as_ref).collect();
    if md {
        anstream::println!("| {} |", cells.join(" | "));
        return;
    }
    let mut line = String::new();
    for (i, (cell, &(gap, width))) in cells.iter().zip(columns).enumerate() {
        line.push_str(&" ".repeat(gap));
        if i == 0 {
            line.push_str(&format!("{cell:<width$}"));
        } else {
            line.push_str(&format!("{cell:>width$}"));
        }
    }
    anstream::println!("{line}");
}

/// A table's header: the names, and in Markdown the rule under them.
fn print_head(names: &[&str], columns: &[(usize, usize)], md: bool) {
    print_row(names, columns, md);
    if md {
        anstream::println!("|{}", "---|".repeat(names.len()));
    }
}

fn print_ranking(r: &Ranking, which: &str, md: bool, head: bool) {
    if head {
        print_head(
            &[
                "predictions",
                "groups",
                "rows",
                "median Spearman",
                "best found",
                "mean regret",
                "SLA regret (median / mean)",
                "SLA missed",
            ],
            &RANKING_COLUMNS,
            md,
        );
    }
    let cells = [
        which.to_string(),
        r.groups.to_string(),
        r.rows.to_string(),
        format!("{:.2}", r.median_spearman),
        format!("{:.0}%", r.top1_pct),
        format!("{:.1}%", r.mean_regret_pct),
        format!(
            "{:.1}% / {:.1}%",
            r.sla_median_regret_pct, r.sla_mean_regret_pct
        ),
        format!("{:.0}%", r.sla_violation_pct),
    ];
    print_row(&cells, &RANKING_COLUMNS, md);
}

/// A titled table after a blank line.
fn print_section(title: &str, t: &[SliceStats], md: bool) {
    anstream::println!();
    anstream::println!("{}", paint(title, style::bold()));
    print_table(t, md);
}

fn print_table(t: &[SliceStats], md: bool) {
    print_head(
        &[
            "slice",
            "rows",
            "pred%",
            "TTFT MdAPE",
            "MAPE",
            "±10%",
            "±20%",
            "TPOT MdAPE",
            "MAPE",
            "±10%",
            "±20%",
        ],
        &SLICE_COLUMNS,
        md,
    );
    for s in t {
        let cells = [
            s.slice.clone(),
            s.rows.to_string(),
            format!("{:.1}", s.predicted_pct),
            format!("{:.1}%", s.ttft.mdape),
            format!("{:.1}%", s.ttft.mape),
            format!("{:.0}", s.ttft.within_10),
            format!("{:.0}", s.ttft.within_20),
            format!("{:.1}%", s.tpot.mdape),
            format!("{:.1}%", s.tpot.mape),
            format!("{:.0}", s.tpot.within_10),
            format!("{:.0}", s.tpot.within_20),
        ];
        print_row(&cells, &SLICE_COLUMNS, md);
    }
}

/// Writes each row's prediction (with `calibration`, the constants of the
/// report) and, when given, its held-out prediction.
fn write_rows(
    path: &PathBuf,
    rows: &[Row],
    calibration: Calibration,
    held: Option<&Vec<Result<(f64, f64), String>>>,
) -> std::io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "id",
        "model",
        "system",
        "backend",
        "version",
        "mode",
        "isl",
        "osl",
        "batch",
        "tp",
        "dp",
        "meas_ttft",
        "meas_tpot",
        "pred_ttft",
        "pred_tpot",
        "cv_ttft",
        "cv_tpot",
        "k_prefill",
        "k_decode1",
        "fits",
        "max_batch",
        "kv_tokens",
        "error",
    ])?;
    let models = Models::for_rows(rows);
    let mut pred = crate::accuracy::predict::Predictor::new(&models, calibration);
    for (i, r) in rows.iter().enumerate() {
        let f = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:.3}"));
        let cvp = held.and_then(|h| h.get(i)).and_then(|x| x.as_ref().ok());
        let kernels = pred.kernels(r);
        let p = pred.predict(r).map(|x| x.estimate);
        let (fits, max_batch, kv_tokens) = p.as_ref().map_or_else(
            |_| Default::default(),
            |e| {
                (
                    e.fits.to_string(),
                    e.max_batch.to_string(),
                    e.kv_capacity_tokens.to_string(),
                )
            },
        );
        w.write_record([
            r.id.clone(),
            r.model.clone(),
            r.system.clone(),
            r.backend.clone(),
            r.backend_version.clone().unwrap_or_default(),
            r.mode.clone(),
            r.isl.map_or(String::new(), |x| x.to_string()),
            r.osl.map_or(String::new(), |x| x.to_string()),
            r.batch_size.map_or(String::new(), |x| x.to_string()),
            r.tp.map_or(String::new(), |x| x.to_string()),
            r.dp.map_or(String::new(), |x| x.to_string()),
            f(r.ttft_ms),
            f(r.tpot_ms),
            f(p.as_ref().ok().map(|e| e.ttft_ms)),
            f(p.as_ref().ok().map(|e| e.tpot_ms)),
            f(cvp.map(|x| x.0)),
            f(cvp.map(|x| x.1)),
            f(kernels.map(|k| k.0)),
            f(kernels.map(|k| k.1)),
            fits,
            max_batch,
            kv_tokens,
            p.as_ref().err().cloned().unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The fitted constants as the Rust of `constants.rs`'s `BUILTIN`.
fn constants_rust(c: &Calibration) -> String {
    let mut s = String::from("// fitted constants (paste into core/src/perf/constants.rs):\n");
    for (be, fam, name) in Calibration::FAMILIES {
        let b = c.get(be, fam);
        s.push_str(&format!("    {name}: BackendConstants {{\n"));
        for (n, v) in BackendConstants::NAMES.iter().zip(b.to_array()) {
            s.push_str(&format!("        {n}: {v:.4},\n"));
        }
        s.push_str("    },\n");
    }
    let _ = std::io::stderr().flush();
    s
}
