//! `dgdr calibrate`: bring measured data and model configs into dgdr's compact,
//! embeddable form.

use super::exit;
use crate::calibrate::{aic, gpu_compare, models};
use std::path::PathBuf;

/// Import measured data into the compact files the core embeds (or that you
/// pass to dgdr to use your own measurements).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Distil an AI-Configurator-format perf database
    /// (`<system>/<op>/<backend>/<version>/*.parquet`) into one compact table
    /// file per GPU system (`<OUT>/<system>.bin`). Re-running on the same
    /// input reproduces the files byte for byte.
    #[command(
        name = "import-aic",
        after_help = "Example:\n  dgdr calibrate import-aic ../shared/data/perfdb -o core/data/perfdb"
    )]
    ImportAic {
        /// The perf database directory (it holds query_versions.yaml).
        dir: PathBuf,
        /// Output directory for `<system>.bin`.
        #[arg(short, long)]
        out: PathBuf,
        /// Import only these systems (repeatable), e.g. `--system h200_sxm`.
        #[arg(long = "system")]
        systems: Vec<String>,
        /// Latency resolution: 2^BITS steps per octave (6: ≤ 0.54 % rounding).
        #[arg(long, default_value_t = 6)]
        bits: u8,
    },
    /// Compare op latencies measured on real GPUs (the CSVs of
    /// `bench/gpu/measure_ops.py`) with dgdr's distilled tables for that GPU
    /// and with its roofline fallback.
    #[command(
        name = "compare-gpu",
        after_help = "Example:\n  dgdr calibrate compare-gpu bench/gpu/results/h100_sxm-x1 --system h100_sxm --backend vllm"
    )]
    CompareGpu {
        /// A results directory (gemm.csv, context_attention.csv, ...).
        dir: PathBuf,
        /// The GPU system the measurements ran on.
        #[arg(long)]
        system: String,
        /// Whose tables to compare with (vllm, sglang, trtllm).
        #[arg(long, default_value = "vllm")]
        backend: String,
        /// Print JSON instead of a markdown table.
        #[arg(long)]
        json: bool,
    },
    /// Build the model catalog (architecture facts of every
    /// `<org>--<name>_config.json` in DIR) into one compact JSON file.
    #[command(
        name = "import-models",
        after_help = "Example:\n  dgdr calibrate import-models ../shared/data/models -o core/data/models/catalog.json"
    )]
    ImportModels {
        /// Directory of HuggingFace config files.
        dir: PathBuf,
        /// Output file.
        #[arg(short, long)]
        out: PathBuf,
    },
}

pub fn run(args: &Args) -> i32 {
    match &args.command {
        Command::ImportAic {
            dir,
            out,
            systems,
            bits,
        } => {
            let mut opts = aic::ImportOptions::new(out);
            opts.only_systems = systems.clone();
            opts.bits = *bits;
            match aic::import_aic(dir, &opts) {
                Ok(summary) => {
                    anstream::println!("{summary}");
                    exit::OK
                }
                Err(e) => {
                    anstream::eprintln!("dgdr: import failed: {e}");
                    exit::UNREADABLE
                }
            }
        }
        Command::CompareGpu {
            dir,
            system,
            backend,
            json,
        } => compare_gpu(dir, system, backend, *json),
        Command::ImportModels { dir, out } => match models::import_models(dir) {
            Ok(text) => match std::fs::write(out, text) {
                Ok(()) => {
                    anstream::println!("wrote {}", out.display());
                    exit::OK
                }
                Err(e) => {
                    anstream::eprintln!("dgdr: cannot write {}: {e}", out.display());
                    exit::UNREADABLE
                }
            },
            Err(e) => {
                anstream::eprintln!("dgdr: import failed: {e:#}");
                exit::UNREADABLE
            }
        },
    }
}

fn compare_gpu(dir: &std::path::Path, system: &str, backend: &str, json: bool) -> i32 {
    let measured = match gpu_compare::read_measurements(dir) {
        Ok(m) if !m.is_empty() => m,
        Ok(_) => {
            anstream::eprintln!("dgdr: no measurements in {}", dir.display());
            return exit::UNREADABLE;
        }
        Err(e) => {
            anstream::eprintln!("dgdr: {e}");
            return exit::UNREADABLE;
        }
    };
    let tables = match dgdr_core::perf::table::PerfDb::builtin().system(system, backend) {
        Ok(Some(t)) => t,
        Ok(None) => {
            anstream::eprintln!("dgdr: no distilled tables for {system}/{backend}");
            return exit::INVALID;
        }
        Err(e) => {
            anstream::eprintln!("dgdr: {e}");
            return exit::INTERNAL;
        }
    };
    let Ok(sys) = dgdr_core::catalog::system::lookup(system) else {
        anstream::eprintln!("dgdr: unknown system {system}");
        return exit::INVALID;
    };
    let by_tables = gpu_compare::table_predictor(tables);
    let by_roofline =
        gpu_compare::roofline_predictor(sys, dgdr_core::perf::Calibration::builtin().roofline);
    let rows = gpu_compare::compare(
        &measured,
        &[("tables", &by_tables), ("roofline", &by_roofline)],
    );
    if json {
        match serde_json::to_string_pretty(&rows) {
            Ok(t) => anstream::println!("{t}"),
            Err(_) => return exit::INTERNAL,
        }
    } else {
        anstream::print!("{}", gpu_compare::markdown(&rows));
    }
    exit::OK
}
