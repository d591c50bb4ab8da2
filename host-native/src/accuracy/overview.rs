//! Throughput checks against published peak-throughput tables: the layout
//! of `trtllm_perf_overview_v1.csv` (TensorRT-LLM's perf overview:
//! `trtllm-bench` output tokens/s at offline, unbounded load, per model, GPU,
//! precision, TP/PP and ISL/OSL).
//!
//! These rows measure no latency, only what an engine sustains when every
//! request is queued at once, which is what a planner's tokens/s/GPU rests on.
//! Most of their models (Llama-3.1-405B, Llama-3.3-70B, Llama-4 Scout and
//! Maverick, Qwen3-30B-A3B) have no row in the calibration file, so they
//! check the model where users will use it: on models nobody fitted.

use std::io::Read;

use dgdr_core::catalog::model::Catalog;
use dgdr_core::catalog::system;
use dgdr_core::perf::{
    Calibration, EstimateRequest, GemmQuant, KvQuant, Mode, Parallel, QuantOverrides, estimate,
};
use dgdr_core::spec::Backend;
use serde::{Deserialize, Serialize};

use super::metrics::ErrStats;

/// The metric these tables report and the check predicts.
pub const METRIC: &str = "total_output_throughput_tok_s";

/// Clients of the closed loop that stands for "offline": more than any
/// engine runs at once, so the rest wait in the queue and the engine stays
/// full.
const OFFLINE_CLIENTS: u32 = 16_384;

/// One row of the table, as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OverviewRow {
    #[serde(default)]
    pub source: String,
    pub engine: String,
    pub model: String,
    pub gpu: String,
    pub precision: String,
    pub tp: u32,
    pub pp: u32,
    pub isl: u32,
    pub osl: u32,
    #[serde(default)]
    pub concurrency: String,
    pub metric: String,
    pub value: f64,
}

/// A file that cannot be read as a perf-overview table.
#[derive(Debug, thiserror::Error)]
pub enum OverviewError {
    #[error("{0}")]
    Csv(#[from] csv::Error),
    #[error(
        "the file has no `{0}` column (it must have the header of trtllm_perf_overview_v1.csv)"
    )]
    MissingColumn(&'static str),
}

/// The columns a row needs.
const COLUMNS: [&str; 10] = [
    "engine",
    "model",
    "gpu",
    "precision",
    "tp",
    "pp",
    "isl",
    "osl",
    "metric",
    "value",
];

/// Reads the table (columns by name; extra columns ignored).
pub fn read_overview(r: impl Read) -> Result<Vec<OverviewRow>, OverviewError> {
    let mut reader = csv::Reader::from_reader(r);
    let headers = reader.headers()?.clone();
    if let Some(missing) = COLUMNS.iter().find(|c| !headers.iter().any(|h| h == **c)) {
        return Err(OverviewError::MissingColumn(missing));
    }
    Ok(reader.deserialize().collect::<Result<_, _>>()?)
}

/// The display names the perf overview uses, with their catalog ids.
const NAMES: &[(&str, &str)] = &[
    ("llama 3.1 405b", "meta-llama/Llama-3.1-405B"),
    ("llama 3.1 70b", "meta-llama/Llama-3.1-70B"),
    ("llama 3.1 8b", "meta-llama/Llama-3.1-8B-Instruct"),
    ("llama 3.3 70b", "meta-llama/Llama-3.3-70B-Instruct"),
    (
        "llama 4 maverick",
        "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
    ),
    ("llama 4 scout", "meta-llama/Llama-4-Scout-17B-16E-Instruct"),
    ("deepseek r1", "deepseek-ai/DeepSeek-R1"),
    ("deepseek v3", "deepseek-ai/DeepSeek-V3"),
];

/// The catalog id of a model as the table names it: a known display name,
/// a catalog id or alias, or the name part of exactly one catalog id
/// (`Qwen3-30B-A3B`).
pub fn model_id(name: &str) -> Result<String, String> {
    let lower = name.trim().to_ascii_lowercase();
    if let Some((_, id)) = NAMES.iter().find(|(n, _)| *n == lower) {
        return Ok((*id).to_string());
    }
    let catalog = Catalog::builtin();
    if catalog.resolve(name.trim()).is_ok() {
        return Ok(name.trim().to_string());
    }
    let dashed = lower.replace(' ', "-");
    let mut hits = catalog.ids().filter(|id| {
        id.rsplit('/')
            .next()
            .is_some_and(|tail| tail.eq_ignore_ascii_case(&dashed))
    });
    match (hits.next(), hits.next()) {
        (Some(id), None) => Ok(id.to_string()),
        (Some(a), Some(b)) => Err(format!(
            "model name `{name}` matches several catalog ids ({a}, {b}, ...): write the id"
        )),
        (None, _) => Err(format!(
            "unknown model name `{name}`: write a catalog id (dgdr estimate --model accepts the same)"
        )),
    }
}

/// The system of a GPU as the table names it (`H100` is `h100_sxm`).
pub fn system_of(gpu: &str) -> Result<&'static system::SystemSpec, String> {
    system::lookup(gpu)
        .or_else(|_| system::lookup(&format!("{}_sxm", gpu.trim())))
        .map_err(|e| format!("GPU `{gpu}`: {e}"))
}

/// Backend and version from the engine column
/// (`TensorRT-LLM (PyTorch backend, ~v1.0)` is TensorRT-LLM 1.0).
pub fn engine_of(engine: &str) -> Result<(Backend, Option<String>), String> {
    let lower = engine.to_ascii_lowercase();
    let backend = if lower.starts_with("tensorrt-llm") || lower.starts_with("trtllm") {
        Backend::Trtllm
    } else if lower.starts_with("vllm") {
        Backend::Vllm
    } else if lower.starts_with("sglang") {
        Backend::Sglang
    } else {
        return Err(format!(
            "engine `{engine}` is not TensorRT-LLM, vLLM or SGLang"
        ));
    };
    // The first `v` followed by a digit starts the version.
    let bytes = lower.as_bytes();
    let version = (0..bytes.len())
        .find(|&i| bytes.get(i) == Some(&b'v') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        .map(|i| {
            lower[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect::<String>()
                .trim_end_matches('.')
                .to_string()
        });
    Ok((backend, version))
}

/// Weight, expert and KV formats of a precision class: a quantized class is
/// a ModelOpt checkpoint, which carries an FP8 KV cache.
pub fn quant_of(precision: &str) -> Result<QuantOverrides, String> {
    let q = match precision.trim().to_ascii_lowercase().as_str() {
        "fp4" | "nvfp4" => GemmQuant::Nvfp4,
        "fp8" => GemmQuant::Fp8,
        "bf16" | "fp16" => {
            return Ok(QuantOverrides {
                gemm: Some(GemmQuant::Bf16),
                moe: Some(GemmQuant::Bf16),
                kv: None,
            });
        }
        other => return Err(format!("precision `{other}` is not FP4, FP8 or BF16")),
    };
    Ok(QuantOverrides {
        gemm: Some(q),
        moe: Some(q),
        kv: Some(KvQuant::Fp8),
    })
}

/// The predicted output tokens/s of one row (all GPUs of the deployment).
pub fn predict(row: &OverviewRow, calibration: &Calibration) -> Result<f64, String> {
    if row.metric != METRIC {
        return Err(format!(
            "metric `{}` is not predicted (only {METRIC})",
            row.metric
        ));
    }
    let id = model_id(&row.model)?;
    let model = Catalog::builtin().resolve(&id).map_err(|e| e.to_string())?;
    let system = system_of(&row.gpu)?;
    let (backend, version) = engine_of(&row.engine)?;
    // MoE layers spread their experts over the TP group (TensorRT-LLM's
    // default when no EP size is given is to split them by expert).
    let parallel = if model.moe.is_some() {
        Parallel {
            pp: row.pp.max(1),
            ..Parallel::tep(row.tp.max(1))
        }
    } else {
        Parallel {
            pp: row.pp.max(1),
            ..Parallel::tp(row.tp.max(1))
        }
    };
    let req = EstimateRequest {
        model: &model,
        system,
        backend,
        backend_version: version.as_deref(),
        isl: row.isl,
        osl: row.osl,
        quant: quant_of(&row.precision)?,
        mode: Mode::Agg {
            parallel,
            concurrency: OFFLINE_CLIENTS,
        },
        calibration: Some(calibration),
    };
    let e = estimate(&req).map_err(|e| e.to_string())?;
    Ok(e.tokens_per_s_per_gpu * f64::from(e.total_gpus))
}

/// One row's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverviewOutcome {
    pub model: String,
    pub gpu: String,
    pub precision: String,
    pub tp: u32,
    pub isl: u32,
    pub osl: u32,
    pub measured_tok_s: f64,
    pub predicted_tok_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The errors of one slice of rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverviewSlice {
    /// `all`, `model=Llama 4 Scout`, `gpu=H200`.
    pub slice: String,
    pub rows: usize,
    pub predicted: usize,
    pub throughput: ErrStats,
}

/// Predicts every row.
pub fn outcomes(rows: &[OverviewRow], calibration: &Calibration) -> Vec<OverviewOutcome> {
    rows.iter()
        .map(|r| {
            let p = predict(r, calibration);
            OverviewOutcome {
                model: r.model.clone(),
                gpu: r.gpu.clone(),
                precision: r.precision.clone(),
                tp: r.tp,
                isl: r.isl,
                osl: r.osl,
                measured_tok_s: r.value,
                predicted_tok_s: p.as_ref().ok().copied(),
                error: p.err(),
            }
        })
        .collect()
}

/// Overall, per model and per GPU.
pub fn report(outcomes: &[OverviewOutcome]) -> Vec<OverviewSlice> {
    let slice = |name: String, sel: &dyn Fn(&OverviewOutcome) -> bool| {
        let of: Vec<&OverviewOutcome> = outcomes.iter().filter(|o| sel(o)).collect();
        OverviewSlice {
            slice: name,
            rows: of.len(),
            predicted: of.iter().filter(|o| o.predicted_tok_s.is_some()).count(),
            throughput: ErrStats::of(
                of.iter()
                    .filter_map(|o| Some((o.predicted_tok_s?, o.measured_tok_s))),
            ),
        }
    };
    let mut out = vec![slice("all".into(), &|_| true)];
    let mut keys: Vec<(&str, String)> = Vec::new();
    for o in outcomes {
        for key in [("model", o.model.clone()), ("gpu", o.gpu.clone())] {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys.sort();
    for (kind, value) in keys {
        let name = format!("{kind}={value}");
        out.push(match kind {
            "model" => slice(name, &|o| o.model == value),
            _ => slice(name, &|o| o.gpu == value),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_engines_and_precisions_are_read() {
        assert_eq!(
            model_id("Llama 4 Scout").unwrap(),
            "meta-llama/Llama-4-Scout-17B-16E-Instruct"
        );
        assert_eq!(model_id("Qwen3-30B-A3B").unwrap(), "Qwen/Qwen3-30B-A3B");
        assert_eq!(model_id("Qwen/Qwen3-32B").unwrap(), "Qwen/Qwen3-32B");
        assert!(
            model_id("Llama 9 Colossus")
                .unwrap_err()
                .contains("unknown")
        );
        for (name, id) in NAMES {
            assert!(Catalog::builtin().resolve(id).is_ok(), "{name}: {id}");
        }
        assert_eq!(system_of("H100").unwrap().sku, "h100_sxm");
        assert_eq!(system_of("GB200").unwrap().sku, "gb200");
        assert!(system_of("Z9000").is_err());
        let (b, v) = engine_of("TensorRT-LLM (PyTorch backend, ~v1.0)").unwrap();
        assert_eq!((b, v.as_deref()), (Backend::Trtllm, Some("1.0")));
        assert_eq!(engine_of("vLLM").unwrap(), (Backend::Vllm, None));
        assert!(engine_of("llama.cpp").is_err());
        let q = quant_of("FP4").unwrap();
        assert_eq!(
            (q.gemm, q.moe, q.kv),
            (
                Some(GemmQuant::Nvfp4),
                Some(GemmQuant::Nvfp4),
                Some(KvQuant::Fp8)
            )
        );
        assert!(quant_of("int3").is_err());
    }

    #[test]
    fn a_file_without_the_columns_is_refused() {
        let e = read_overview("a,b\n1,2\n".as_bytes()).unwrap_err();
        assert!(e.to_string().contains("`engine`"), "{e}");
        assert!(read_overview("".as_bytes()).is_err());
    }

    #[test]
    fn rows_are_predicted_or_say_why() {
        let csv = "source,engine,model,gpu,precision,tp,pp,isl,osl,concurrency,metric,value\n\
            s,TensorRT-LLM (~v1.0),Llama 3.3 70B,H200,FP8,1,1,1000,1000,offline,total_output_throughput_tok_s,2909\n\
            s,TensorRT-LLM (~v1.0),Llama 3.3 70B,H200,FP8,1,1,1000,1000,offline,requests_per_s,3\n\
            s,TensorRT-LLM (~v1.0),Mystery 7B,H200,FP8,1,1,1000,1000,offline,total_output_throughput_tok_s,100\n";
        let rows = read_overview(csv.as_bytes()).unwrap();
        let out = outcomes(&rows, &Calibration::builtin());
        // One 70B FP8 engine on an H200 sustains a few thousand tokens/s.
        let p = out.first().unwrap().predicted_tok_s.unwrap();
        assert!((1500.0..6000.0).contains(&p), "{p}");
        assert!(
            out.get(1)
                .unwrap()
                .error
                .as_deref()
                .unwrap()
                .contains("metric")
        );
        assert!(
            out.get(2)
                .unwrap()
                .error
                .as_deref()
                .unwrap()
                .contains("unknown model")
        );
        let r = report(&out);
        let all = r.first().unwrap();
        assert_eq!((all.rows, all.predicted, all.throughput.n), (3, 1, 1));
        assert!(
            r.iter()
                .any(|s| s.slice == "model=Mystery 7B" && s.predicted == 0)
        );
    }
}
