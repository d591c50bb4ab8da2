//! `dgdr estimate`: the performance model for one configuration, or for
//! every row of a CSV (`--batch`).

use std::fs::File;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::exit;
use super::style::{self, paint};
use crate::accuracy::predict::{Models, Predictor};
use crate::accuracy::rows::read_rows;
use dgdr_core::catalog::model::{Catalog, ModelArch, parse_hf_config};
use dgdr_core::catalog::system::SystemCatalog;
use dgdr_core::perf::{
    Breakdown, Calibration, Estimate, EstimateRequest, GemmQuant, KvQuant, Memory, Mode, OpTime,
    Parallel, QuantOverrides, Worker, estimate, step_breakdown,
};
use dgdr_core::spec::Backend;

/// Predict TTFT, TPOT, throughput, memory and KV capacity of a deployment.
///
/// One configuration from flags (aggregated: `--tp --pp --dp --moe-tp
/// --moe-ep --concurrency`; disaggregated: `--prefill-*` and `--decode-*`),
/// or, with `--batch IN.csv --out OUT.csv`, every row of a CSV with the
/// header of silicon_calibration.csv (extra columns ignored, blank cells
/// allowed). The batch output has exactly the columns
/// `id,pred_ttft_ms,pred_tpot_ms,ok,error`, one row per input row in order;
/// a row that cannot be predicted gets `ok=false` and the reason, and never
/// stops the batch.
///
/// Disaggregated rows: the concurrency is the decode batch × decode workers ×
/// decode attention-DP; where those columns are blank it is read from the
/// row's provenance (`silicon_concurrency=N` in `silicon_data_source`), and
/// missing worker counts are assumed as recorded deployments run (decode
/// workers for about 0.59 × concurrency^0.69 sequences per rank, prefill one
/// prompt per rank, and the fewest prefill workers that serve 90% of what
/// the decode side does), as the row's warnings say. Without a concurrency
/// the row is not predicted.
///
/// Exit codes: 0 done, 1 the configuration is invalid or cannot be
/// estimated, 2 a file could not be read or written.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  dgdr estimate --model meta-llama/Llama-3.1-8B-Instruct --system h100_sxm --backend vllm --isl 1024 --osl 256 --concurrency 16\n  dgdr estimate --model deepseek-ai/DeepSeek-R1 --system b200_sxm --backend trtllm --dp 8 --moe-ep 8 --isl 1024 --osl 1024 --concurrency 256 --breakdown\n  dgdr estimate --mode disagg --model Qwen/Qwen3-32B --system h200_sxm --backend sglang --prefill-tp 2 --prefill-workers 2 --decode-tp 4 --decode-workers 1 --concurrency 64 --isl 4000 --osl 500\n  dgdr estimate --batch rows.csv --out predictions.csv"
)]
pub struct Args {
    /// HuggingFace id of a catalogued model.
    #[arg(long, required_unless_present_any = ["batch", "model_config"])]
    model: Option<String>,
    /// A model's own config.json (its hf_quant_config.json beside it is read too).
    #[arg(long, value_name = "PATH")]
    model_config: Option<PathBuf>,
    /// GPU system (h100_sxm, h200_sxm, b200_sxm, gb200, ...).
    #[arg(long, required_unless_present = "batch")]
    system: Option<String>,
    /// vllm, sglang or trtllm.
    #[arg(long, required_unless_present = "batch")]
    backend: Option<String>,
    /// Engine version (informative).
    #[arg(long)]
    backend_version: Option<String>,
    /// agg or disagg.
    #[arg(long, default_value = "agg")]
    mode: String,
    /// Input tokens per request.
    #[arg(long, default_value_t = 4000)]
    isl: u32,
    /// Output tokens per request.
    #[arg(long, default_value_t = 1000)]
    osl: u32,
    /// Clients of the closed-loop benchmark (total).
    #[arg(long, alias = "batch-size")]
    concurrency: Option<u32>,
    #[arg(long, default_value_t = 1)]
    tp: u32,
    #[arg(long, default_value_t = 1)]
    pp: u32,
    /// Attention data-parallel ranks.
    #[arg(long, default_value_t = 1)]
    dp: u32,
    #[arg(long)]
    moe_tp: Option<u32>,
    #[arg(long)]
    moe_ep: Option<u32>,
    #[arg(long, default_value_t = 1)]
    prefill_tp: u32,
    #[arg(long, default_value_t = 1)]
    prefill_pp: u32,
    #[arg(long, default_value_t = 1)]
    prefill_dp: u32,
    #[arg(long)]
    prefill_moe_tp: Option<u32>,
    #[arg(long)]
    prefill_moe_ep: Option<u32>,
    #[arg(long)]
    prefill_workers: Option<u32>,
    /// Prompts one prefill rank batches.
    #[arg(long)]
    prefill_batch_size: Option<u32>,
    #[arg(long, default_value_t = 1)]
    decode_tp: u32,
    #[arg(long, default_value_t = 1)]
    decode_pp: u32,
    #[arg(long, default_value_t = 1)]
    decode_dp: u32,
    #[arg(long)]
    decode_moe_tp: Option<u32>,
    #[arg(long)]
    decode_moe_ep: Option<u32>,
    #[arg(long)]
    decode_workers: Option<u32>,
    /// Sequences one decode rank runs at most.
    #[arg(long)]
    decode_batch_size: Option<u32>,
    /// Weights of dense layers: bf16, fp8, fp8_block, nvfp4, mxfp4, int4_wo.
    #[arg(long)]
    gemm_quant: Option<String>,
    /// Weights of routed experts.
    #[arg(long)]
    moe_quant: Option<String>,
    /// KV cache: bf16 or fp8.
    #[arg(long)]
    kv_quant: Option<String>,
    /// Print the per-op times of a prefill and a decode step.
    #[arg(long)]
    breakdown: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Time the model: µs per step composition and per estimate (averaged
    /// over many runs), printed to stderr.
    #[arg(long, hide = true)]
    timing: bool,
    /// Batch mode: predict every row of this CSV.
    #[arg(long, value_name = "IN.csv", requires = "out")]
    batch: Option<PathBuf>,
    /// Batch mode: where to write the predictions.
    #[arg(long, value_name = "OUT.csv")]
    out: Option<PathBuf>,
}

fn fail(msg: impl std::fmt::Display, code: i32) -> i32 {
    eprintln!("{} {msg}", paint("error:", style::error()));
    code
}

pub fn run(args: &Args) -> i32 {
    if let (Some(input), Some(out)) = (&args.batch, &args.out) {
        return batch(input, out);
    }
    single(args)
}

fn batch(input: &PathBuf, out: &PathBuf) -> i32 {
    let rows = match File::open(input)
        .map_err(|e| e.to_string())
        .and_then(|f| read_rows(f).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => {
            return fail(
                format!("cannot read {}: {e}", input.display()),
                exit::UNREADABLE,
            );
        }
    };
    let start = Instant::now();
    let models = Models::for_rows(&rows);
    let mut p = Predictor::new(&models, Calibration::builtin());
    let mut w = match csv::Writer::from_path(out) {
        Ok(w) => w,
        Err(e) => {
            return fail(
                format!("cannot write {}: {e}", out.display()),
                exit::UNREADABLE,
            );
        }
    };
    let mut ok = 0usize;
    let mut result = w.write_record(["id", "pred_ttft_ms", "pred_tpot_ms", "ok", "error"]);
    for r in &rows {
        if result.is_err() {
            break;
        }
        result = match p.predict(r) {
            Ok(x) => {
                ok += 1;
                w.write_record([
                    r.id.clone(),
                    format!("{:.4}", x.estimate.ttft_ms),
                    format!("{:.4}", x.estimate.tpot_ms),
                    "true".to_string(),
                    // Predicted on assumptions: say which.
                    if x.assumed {
                        format!("assumed: {}", x.notes.join("; "))
                    } else {
                        String::new()
                    },
                ])
            }
            Err(e) => w.write_record([
                r.id.clone(),
                String::new(),
                String::new(),
                "false".into(),
                e,
            ]),
        };
    }
    if let Err(e) = result
        .map_err(|e| e.to_string())
        .and_then(|()| w.flush().map_err(|e| e.to_string()))
    {
        return fail(
            format!("cannot write {}: {e}", out.display()),
            exit::UNREADABLE,
        );
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{} of {} rows predicted in {:.3} s ({:.0} rows/s); wrote {}",
        ok,
        rows.len(),
        secs,
        rows.len() as f64 / secs.max(1e-9),
        out.display()
    );
    exit::OK
}

fn layout(tp: u32, pp: u32, dp: u32, moe_tp: Option<u32>, moe_ep: Option<u32>) -> Parallel {
    Parallel {
        tp,
        pp,
        dp,
        moe_tp: moe_tp.unwrap_or(0),
        moe_ep: moe_ep.unwrap_or(0),
    }
}

fn quant_arg(s: Option<&String>, what: &'static str) -> Result<Option<GemmQuant>, String> {
    s.map(|s| GemmQuant::parse_or_err(s, what).map_err(|e| e.to_string()))
        .transpose()
}

fn read_model(args: &Args) -> Result<ModelArch, (String, i32)> {
    if let Some(path) = &args.model_config {
        let dir = if path.is_dir() {
            path.clone()
        } else {
            path.parent().map(PathBuf::from).unwrap_or_default()
        };
        let file = if path.is_dir() {
            path.join("config.json")
        } else {
            path.clone()
        };
        let text = std::fs::read_to_string(&file).map_err(|e| {
            (
                format!("cannot read {}: {e}", file.display()),
                exit::UNREADABLE,
            )
        })?;
        let quant = std::fs::read_to_string(dir.join("hf_quant_config.json")).ok();
        let mut m = parse_hf_config(&text, quant.as_deref())
            .map_err(|e| (format!("{}: {e}", file.display()), exit::INVALID))?;
        if m.id.is_empty() {
            m.id = args
                .model
                .clone()
                .unwrap_or_else(|| file.display().to_string());
        }
        return Ok(m);
    }
    let id = args.model.as_deref().unwrap_or_default();
    Catalog::builtin()
        .resolve(id)
        .map_err(|e| (e.to_string(), exit::INVALID))
}

#[derive(Debug, Serialize)]
struct JsonOut<'a> {
    model: &'a str,
    system: &'a str,
    backend: &'a str,
    isl: u32,
    osl: u32,
    mode: &'a Mode,
    #[serde(flatten)]
    estimate: &'a Estimate,
    #[serde(skip_serializing_if = "Option::is_none")]
    breakdown: Option<&'a Breakdown>,
}

fn single(args: &Args) -> i32 {
    let model = match read_model(args) {
        Ok(m) => m,
        Err((e, code)) => return fail(e, code),
    };
    let sys_name = args.system.as_deref().unwrap_or_default();
    let system = match SystemCatalog::builtin().lookup(sys_name) {
        Ok(s) => s,
        Err(e) => return fail(e, exit::INVALID),
    };
    let backend = match args
        .backend
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "vllm" => Backend::Vllm,
        "sglang" => Backend::Sglang,
        "trtllm" => Backend::Trtllm,
        other => {
            return fail(
                format!("unknown backend `{other}`: use vllm, sglang or trtllm"),
                exit::INVALID,
            );
        }
    };
    let quant = match (|| -> Result<QuantOverrides, String> {
        Ok(QuantOverrides {
            gemm: quant_arg(args.gemm_quant.as_ref(), "gemm")?,
            moe: quant_arg(args.moe_quant.as_ref(), "moe")?,
            kv: args
                .kv_quant
                .as_deref()
                .map(|s| KvQuant::parse_or_err(s).map_err(|e| e.to_string()))
                .transpose()?,
        })
    })() {
        Ok(q) => q,
        Err(e) => return fail(e, exit::INVALID),
    };
    let mode = match args.mode.to_ascii_lowercase().as_str() {
        "agg" => Mode::Agg {
            parallel: layout(args.tp, args.pp, args.dp, args.moe_tp, args.moe_ep),
            concurrency: args.concurrency.unwrap_or(1),
        },
        "disagg" => Mode::Disagg {
            prefill: Worker {
                parallel: layout(
                    args.prefill_tp,
                    args.prefill_pp,
                    args.prefill_dp,
                    args.prefill_moe_tp,
                    args.prefill_moe_ep,
                ),
                batch: args.prefill_batch_size,
                workers: args.prefill_workers,
            },
            decode: Worker {
                parallel: layout(
                    args.decode_tp,
                    args.decode_pp,
                    args.decode_dp,
                    args.decode_moe_tp,
                    args.decode_moe_ep,
                ),
                batch: args.decode_batch_size,
                workers: args.decode_workers,
            },
            concurrency: args.concurrency,
        },
        other => {
            return fail(
                format!("unknown mode `{other}`: use agg or disagg"),
                exit::INVALID,
            );
        }
    };
    let req = EstimateRequest {
        model: &model,
        system,
        backend,
        backend_version: args.backend_version.as_deref(),
        isl: args.isl,
        osl: args.osl,
        quant,
        mode,
        calibration: None,
    };
    let est = match estimate(&req) {
        Ok(e) => e,
        Err(e) => return fail(e, exit::INVALID),
    };
    if args.timing {
        print_timing(&req, &est);
    }
    let breakdown = if args.breakdown {
        match step_breakdown(&req) {
            Ok(b) => Some(b),
            Err(e) => return fail(e, exit::INVALID),
        }
    } else {
        None
    };
    let model_name = if model.id.is_empty() {
        "model"
    } else {
        &model.id
    };
    if args.json {
        let out = JsonOut {
            model: model_name,
            system: &system.sku,
            backend: backend.as_str(),
            isl: args.isl,
            osl: args.osl,
            mode: &mode,
            estimate: &est,
            breakdown: breakdown.as_ref(),
        };
        return match serde_json::to_string_pretty(&out) {
            Ok(s) => {
                println!("{s}");
                if est.fits { exit::OK } else { exit::INVALID }
            }
            Err(e) => fail(e, exit::INTERNAL),
        };
    }
    if !est.fits {
        let why = est
            .warnings
            .iter()
            .find(|w| w.starts_with("does not fit"))
            .cloned()
            .unwrap_or_else(|| "does not fit".to_string());
        let raised = est.raised_memory_fraction.map_or(String::new(), |f| {
            format!(
                "; it fits with the engine's {} raised to {f:.2} (`--json` prints the estimate at that setting)",
                dgdr_core::perf::engine_knobs(backend).memory.flag()
            )
        });
        return fail(
            format!(
                "{model_name} {why} on each of the {} × {} GPUs of this layout; use more GPUs per worker (--tp, --dp, --moe-ep) or a narrower --gemm-quant/--moe-quant{raised}",
                est.total_gpus, system.sku
            ),
            exit::INVALID,
        );
    }
    print_human(model_name, &system.sku, backend, args, &mode, &est);
    if let Some(b) = &breakdown {
        print_breakdown(b);
    }
    exit::OK
}

fn gb(b: u64) -> String {
    format!("{:.1} GB", b as f64 / 1e9)
}

fn print_memory(label: &str, m: &Memory) {
    println!(
        "  {label:<22} weights {}, activations {}, runtime {}, KV cache {} (of {}, engine uses {})",
        gb(m.weights),
        gb(m.activations),
        gb(m.reserve),
        gb(m.kv),
        gb(m.gpu),
        gb(m.usable)
    );
}

fn print_human(model: &str, sku: &str, backend: Backend, args: &Args, mode: &Mode, e: &Estimate) {
    let layout = match mode {
        Mode::Agg {
            parallel,
            concurrency,
        } => format!("agg {parallel}, concurrency {concurrency}"),
        Mode::Disagg {
            prefill,
            decode,
            concurrency,
        } => format!(
            "disagg prefill {} × {}, decode {} × {}, concurrency {}",
            prefill.workers.map_or("?".into(), |w| w.to_string()),
            prefill.parallel,
            decode.workers.map_or("?".into(), |w| w.to_string()),
            decode.parallel,
            concurrency.map_or("from decode batch".into(), |c| c.to_string())
        ),
    };
    println!(
        "{} on {} × {} ({}), ISL {} / OSL {}, {}",
        paint(model, style::bold()),
        e.total_gpus,
        sku,
        backend,
        args.isl,
        args.osl,
        layout
    );
    println!(
        "  quantization           gemm {}, moe {}, kv {}",
        e.quant.gemm.as_str(),
        e.quant.moe.as_str(),
        e.quant.kv.as_str()
    );
    println!("  TTFT                   {:.1} ms", e.ttft_ms);
    println!(
        "  TPOT                   {:.2} ms ({:.1} tokens/s per user)",
        e.tpot_ms, e.tokens_per_s_per_user
    );
    println!("  request latency        {:.0} ms", e.request_latency_ms);
    println!(
        "  throughput             {:.1} tokens/s per GPU, {:.2} requests/s",
        e.tokens_per_s_per_gpu, e.requests_per_s
    );
    println!(
        "  decode batch           {:.1} per rank (at most {})",
        e.decode_batch, e.max_batch
    );
    print_memory("memory per GPU", &e.memory);
    if let Some(p) = &e.prefill_memory {
        print_memory("prefill GPU", p);
    }
    println!(
        "  KV capacity            {} tokens per rank",
        e.kv_capacity_tokens
    );
    println!(
        "  step time from         tables {:.0}%, rescaled {:.0}%, roofline {:.0}%",
        e.sources.tables() * 100.0,
        e.sources.rescaled * 100.0,
        e.sources.roofline * 100.0
    );
    for w in &e.warnings {
        println!("  {} {w}", paint("warning:", style::warning()));
    }
}

fn print_ops(title: &str, ops: &[OpTime], total: f64) {
    println!();
    println!("{} ({total:.3} ms of kernels)", paint(title, style::bold()));
    println!(
        "  {:<26} {:>6} {:>10} {:>10} {:>6}  source",
        "op", "count", "ms each", "ms total", "share"
    );
    for o in ops {
        let t = o.count * o.ms;
        println!(
            "  {:<26} {:>6} {:>10.4} {:>10.4} {:>5.1}%  {}{}",
            o.name,
            o.count,
            o.ms,
            t,
            if total > 0.0 { t / total * 100.0 } else { 0.0 },
            o.source.as_str(),
            o.table.map_or(String::new(), |t| format!(" ({t})"))
        );
    }
}

fn print_breakdown(b: &Breakdown) {
    print_ops(
        &format!(
            "Prefill step: {} × {} tokens",
            b.prefill_shape.prefill_seqs, b.prefill_shape.prefill_tokens
        ),
        &b.prefill,
        b.prefill_ms,
    );
    print_ops(
        &format!(
            "Decode step: {} sequences at KV length {}",
            b.decode_shape.decode_seqs, b.decode_shape.decode_kv
        ),
        &b.decode,
        b.decode_ms,
    );
}

/// Times one step composition and one estimate of a prepared deployment.
fn print_timing(req: &EstimateRequest<'_>, est: &Estimate) {
    let Ok(p) = dgdr_core::perf::Prepared::new(req) else {
        return;
    };
    let shape = dgdr_core::perf::StepShape::decode(
        est.decode_batch.round().max(1.0) as u64,
        u64::from(req.isl) + u64::from(req.osl) / 2,
    );
    let n: u32 = 20_000;
    let start = Instant::now();
    let mut sink = 0.0;
    for i in 0..n {
        let mut s = shape;
        s.decode_seqs += u64::from(i % 2);
        sink += p.step_ms(&s);
    }
    let step_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    let m: u32 = 2_000;
    let start = Instant::now();
    for i in 0..m {
        let mode = match req.mode {
            Mode::Agg {
                parallel,
                concurrency,
            } => Mode::Agg {
                parallel,
                concurrency: concurrency + i % 2,
            },
            other => other,
        };
        if let Ok(e) = p.estimate(req.isl, req.osl, &mode) {
            sink += e.tpot_ms;
        }
    }
    let est_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(m);
    eprintln!(
        "timing: {step_us:.2} µs per step composition ({} ops), {est_us:.1} µs per estimate (prepared; checksum {sink:.3})",
        p.breakdown(req.isl, req.osl, 1).decode.len()
    );
}
