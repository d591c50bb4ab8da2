//! Agreement between op latencies measured on real GPUs (`bench/gpu/`'s CSVs)
//! and what dgdr predicts for the same ops: the distilled tables
//! ([`table_predictor`]), the roofline fallback that answers where no table
//! reaches ([`roofline_predictor`]), and any other predictor passed in.
//!
//! Which measured rows are compared, and why: GEMMs with a cold L2 (weights
//! from HBM, as in serving and in the perf database), bf16 through
//! `F.linear` and fp8 through `fp8_linear` with static and with dynamic
//! activation quantization (the perf database's fp8 rows include it); context attention
//! from cuDNN and decode attention from FlashAttention (the kernels the
//! backends run); all-reduce timed inside CUDA graphs.

use dgdr_core::catalog::system::SystemSpec;
use dgdr_core::perf::constants::RooflineEff;
use dgdr_core::perf::table::{AttentionQuery, Collective, SystemTables};
use dgdr_core::perf::{
    Comm, GemmQuant, comm_ms, context_attention_ms, gemm_ms, generation_attention_ms,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// A predictor of one op family: `None` when it has no answer.
pub type Predict<'a> = &'a dyn Fn(&MeasuredOp) -> Option<f64>;

/// One measured op, in the perf database's coordinates.
#[derive(Debug, Clone, PartialEq)]
pub enum MeasuredOp {
    /// `quant`: how the measured fp8 GEMM quantized its activations
    /// (`static`, `dynamic`); empty for bf16.
    Gemm {
        dtype: String,
        quant: &'static str,
        m: u64,
        n: u64,
        k: u64,
    },
    ContextAttention {
        batch: u64,
        isl: u64,
        heads: u64,
        kv_heads: u64,
        head_dim: u64,
    },
    GenerationAttention {
        batch: u64,
        kv_len: u64,
        heads: u64,
        kv_heads: u64,
        head_dim: u64,
    },
    AllReduce {
        gpus: u64,
        elements: u64,
    },
}

impl MeasuredOp {
    pub fn family(&self) -> &'static str {
        match self {
            MeasuredOp::Gemm {
                quant: "static", ..
            } => "gemm fp8 (static act. quant)",
            MeasuredOp::Gemm {
                quant: "dynamic", ..
            } => "gemm fp8 (dynamic act. quant)",
            MeasuredOp::Gemm { .. } => "gemm bf16",
            MeasuredOp::ContextAttention { .. } => "context attention",
            MeasuredOp::GenerationAttention { .. } => "generation attention",
            MeasuredOp::AllReduce { .. } => "all-reduce",
        }
    }
}

/// Agreement of one predictor with one op family.
#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    pub family: String,
    pub predictor: String,
    /// Measured rows of the family, and how many the predictor answered.
    pub rows: usize,
    pub predicted: usize,
    /// Median of predicted ÷ measured.
    pub median_ratio: f64,
    /// Median absolute percentage error.
    pub mdape: f64,
    /// Share within ±20 %.
    pub within_20: f64,
}

/// Reads the measured ops of one results directory (`gemm.csv`,
/// `context_attention.csv`, `generation_attention.csv`, `allreduce.csv`).
pub fn read_measurements(dir: &Path) -> Result<Vec<(MeasuredOp, f64)>, String> {
    let mut out = Vec::new();
    let rows = |file: &str| -> Result<Vec<BTreeMap<String, String>>, String> {
        let path = dir.join(file);
        if !path.exists() {
            return Ok(Vec::new());
        }
        let mut r =
            csv::Reader::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        r.deserialize()
            .collect::<Result<Vec<BTreeMap<String, String>>, _>>()
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    let num = |row: &BTreeMap<String, String>, k: &str| -> Option<u64> {
        row.get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .map(|f| f as u64)
    };
    let ms = |row: &BTreeMap<String, String>| -> Option<f64> {
        if row.get("error").is_some_and(|e| !e.is_empty()) {
            return None;
        }
        row.get("latency_ms")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| *v > 0.0)
    };
    for row in rows("gemm.csv")? {
        let kernel = row.get("kernel").map(String::as_str).unwrap_or("");
        let (dtype, quant) = match (row.get("dtype").map(String::as_str), kernel) {
            (Some("bfloat16"), "torch.nn.functional.linear") => ("bfloat16", ""),
            (Some("fp8"), "fp8_linear(static_quant)") => ("fp8", "static"),
            (Some("fp8"), "fp8_linear(dynamic_quant)") => ("fp8", "dynamic"),
            _ => continue,
        };
        if row.get("cache").map(String::as_str) != Some("cold") {
            continue;
        }
        if let (Some(m), Some(n), Some(k), Some(t)) =
            (num(&row, "m"), num(&row, "n"), num(&row, "k"), ms(&row))
        {
            out.push((
                MeasuredOp::Gemm {
                    dtype: dtype.into(),
                    quant,
                    m,
                    n,
                    k,
                },
                t,
            ));
        }
    }
    for row in rows("context_attention.csv")? {
        if row.get("kernel").map(String::as_str) != Some("sdpa_cudnn")
            || row.get("cache").map(String::as_str) != Some("cold")
        {
            continue;
        }
        if let (Some(b), Some(isl), Some(h), Some(kv), Some(d), Some(t)) = (
            num(&row, "batch_size"),
            num(&row, "isl"),
            num(&row, "num_heads"),
            num(&row, "num_key_value_heads"),
            num(&row, "head_dim"),
            ms(&row),
        ) {
            out.push((
                MeasuredOp::ContextAttention {
                    batch: b,
                    isl,
                    heads: h,
                    kv_heads: kv,
                    head_dim: d,
                },
                t,
            ));
        }
    }
    for row in rows("generation_attention.csv")? {
        if row.get("kernel").map(String::as_str) != Some("sdpa_flash")
            || row.get("cache").map(String::as_str) != Some("cold")
        {
            continue;
        }
        if let (Some(b), Some(kv_len), Some(h), Some(kv), Some(d), Some(t)) = (
            num(&row, "batch_size"),
            num(&row, "kv_len"),
            num(&row, "num_heads"),
            num(&row, "num_key_value_heads"),
            num(&row, "head_dim"),
            ms(&row),
        ) {
            out.push((
                MeasuredOp::GenerationAttention {
                    batch: b,
                    kv_len,
                    heads: h,
                    kv_heads: kv,
                    head_dim: d,
                },
                t,
            ));
        }
    }
    for row in rows("allreduce.csv")? {
        if row.get("method").map(String::as_str) != Some("graph") {
            continue;
        }
        if let (Some(g), Some(e), Some(t)) = (
            num(&row, "num_gpus"),
            num(&row, "message_elements"),
            ms(&row),
        ) {
            out.push((
                MeasuredOp::AllReduce {
                    gpus: g,
                    elements: e,
                },
                t,
            ));
        }
    }
    Ok(out)
}

/// The distilled tables as a predictor.
pub fn table_predictor(t: &SystemTables) -> impl Fn(&MeasuredOp) -> Option<f64> + '_ {
    move |op| match op {
        MeasuredOp::Gemm { dtype, m, n, k, .. } => t.gemm(dtype, *m, *n, *k).map(|l| l.ms),
        MeasuredOp::ContextAttention {
            batch,
            isl,
            heads,
            kv_heads,
            head_dim,
        } => t
            .context_attention(&AttentionQuery {
                attn_dtype: "bfloat16",
                kv_dtype: "bfloat16",
                batch: *batch,
                seq_len: *isl,
                num_heads: *heads,
                num_kv_heads: *kv_heads,
                head_dim: *head_dim,
                window: 0,
            })
            .map(|l| l.ms),
        MeasuredOp::GenerationAttention {
            batch,
            kv_len,
            heads,
            kv_heads,
            head_dim,
        } => t
            .generation_attention(&AttentionQuery {
                attn_dtype: "bfloat16",
                kv_dtype: "bfloat16",
                batch: *batch,
                seq_len: *kv_len,
                num_heads: *heads,
                num_kv_heads: *kv_heads,
                head_dim: *head_dim,
                window: 0,
            })
            .map(|l| l.ms),
        // The measurement is NCCL's all-reduce: compare with NCCL's table, not
        // the backend's custom kernel.
        MeasuredOp::AllReduce { gpus, elements } => t
            .nccl(Collective::AllReduce, "bfloat16", *gpus, *elements)
            .map(|l| l.ms),
    }
}

/// The roofline fallback (with efficiencies `eff`, the committed ones being
/// `Calibration::builtin().roofline`) on `sys` as a predictor: what the model
/// would use for these ops on a GPU, shape or dtype that no table measured.
/// Attention is bf16 with no window; the all-reduce moves bf16 elements.
pub fn roofline_predictor(
    sys: &SystemSpec,
    eff: RooflineEff,
) -> impl Fn(&MeasuredOp) -> Option<f64> + '_ {
    move |op| match op {
        MeasuredOp::Gemm { dtype, m, n, k, .. } => {
            let q = match dtype.as_str() {
                "bfloat16" => GemmQuant::Bf16,
                "fp8" => GemmQuant::Fp8,
                _ => return None,
            };
            Some(gemm_ms(sys, &eff, *m as f64, *n as f64, *k as f64, q))
        }
        MeasuredOp::ContextAttention {
            batch,
            isl,
            heads,
            head_dim,
            ..
        } => Some(context_attention_ms(
            sys,
            &eff,
            *batch as f64,
            *isl as f64,
            0.0,
            *heads as f64,
            *head_dim as f64,
            *head_dim as f64,
            0.0,
        )),
        MeasuredOp::GenerationAttention {
            batch,
            kv_len,
            kv_heads,
            head_dim,
            ..
        } => Some(generation_attention_ms(
            sys,
            &eff,
            *batch as f64,
            *kv_len as f64,
            *kv_heads as f64,
            *head_dim as f64,
            *head_dim as f64,
            2.0,
            0.0,
        )),
        MeasuredOp::AllReduce { gpus, elements } => Some(comm_ms(
            sys,
            &eff,
            Comm::AllReduce,
            *gpus as f64,
            *elements as f64 * 2.0,
        )),
    }
}

/// Compares every predictor with every op family.
pub fn compare(
    measured: &[(MeasuredOp, f64)],
    predictors: &[(&str, Predict<'_>)],
) -> Vec<Agreement> {
    let mut families: Vec<&'static str> = measured.iter().map(|(op, _)| op.family()).collect();
    families.sort_unstable();
    families.dedup();
    let mut out = Vec::new();
    for family in families {
        let rows: Vec<&(MeasuredOp, f64)> = measured
            .iter()
            .filter(|(op, _)| op.family() == family)
            .collect();
        for (name, predict) in predictors {
            let mut ratios: Vec<f64> = rows
                .iter()
                .filter_map(|(op, real)| predict(op).map(|p| p / real))
                .collect();
            if ratios.is_empty() {
                continue;
            }
            let mut ape: Vec<f64> = ratios.iter().map(|r| (r - 1.0).abs()).collect();
            let within = ape.iter().filter(|a| **a <= 0.2).count() as f64 / ape.len() as f64;
            out.push(Agreement {
                family: family.to_string(),
                predictor: (*name).to_string(),
                rows: rows.len(),
                predicted: ratios.len(),
                median_ratio: median(&mut ratios),
                mdape: median(&mut ape),
                within_20: within,
            });
        }
    }
    out
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// A markdown table of agreements: one line per op family, and for each
/// predictor (in the order given to [`compare`]) its median of predicted ÷
/// measured, its MdAPE and its share within ±20 %. A predictor that answered
/// only some rows of a family shows how many, e.g. `4.6% (250/261)`; one that
/// answered none shows `—`.
pub fn markdown(rows: &[Agreement]) -> String {
    let mut predictors: Vec<&str> = Vec::new();
    let mut families: Vec<(&str, usize)> = Vec::new();
    for a in rows {
        if !predictors.contains(&a.predictor.as_str()) {
            predictors.push(&a.predictor);
        }
        if !families.iter().any(|(f, _)| *f == a.family) {
            families.push((&a.family, a.rows));
        }
    }
    let mut s = String::from("| op family | rows |");
    let mut rule = String::from("|---|---:|");
    for p in &predictors {
        s.push_str(&format!(" {p}: pred/real | {p}: MdAPE | {p}: ±20% |"));
        rule.push_str("---:|---:|---:|");
    }
    s.push('\n');
    s.push_str(&rule);
    s.push('\n');
    for (family, n) in families {
        s.push_str(&format!("| {family} | {n} |"));
        for p in &predictors {
            match rows
                .iter()
                .find(|a| a.family == family && a.predictor == *p)
            {
                Some(a) => {
                    let partial = if a.predicted < a.rows {
                        format!(" ({}/{})", a.predicted, a.rows)
                    } else {
                        String::new()
                    };
                    s.push_str(&format!(
                        " {:.3} | {:.1}%{partial} | {:.0}% |",
                        a.median_ratio,
                        a.mdape * 100.0,
                        a.within_20 * 100.0
                    ));
                }
                None => s.push_str(" — | — | — |"),
            }
        }
        s.push('\n');
    }
    s
}
