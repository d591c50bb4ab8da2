//! Rows → estimates: reading a row as a configuration, and predicting many
//! rows with each deployment prepared once.

use std::collections::BTreeMap;

use dgdr_core::catalog::model::{Catalog, ModelArch};
use dgdr_core::catalog::system::{SystemCatalog, SystemSpec};
use dgdr_core::perf::quant::checkpoint_formats;
use dgdr_core::perf::{
    BackendConstants, Calibration, Estimate, EstimateRequest, GemmQuant, KvQuant, Mode, Parallel,
    Prepared, QuantOverrides, Worker,
};
use dgdr_core::spec::Backend;

use super::rows::{Row, Side};

/// The models the rows name, resolved once (an unknown model's error kept).
#[derive(Debug, Default)]
pub struct Models(BTreeMap<String, Result<Resolved, String>>);

/// A resolved model and its checkpoint's (dense, expert) formats.
type Resolved = (ModelArch, (GemmQuant, GemmQuant));

impl Models {
    /// Resolves every model the rows name against the built-in catalog.
    pub fn for_rows(rows: &[Row]) -> Models {
        let mut m = BTreeMap::new();
        for r in rows {
            m.entry(r.model.clone()).or_insert_with(|| {
                Catalog::builtin()
                    .resolve(&r.model)
                    .map(|a| {
                        let ck = checkpoint_formats(&a);
                        (a, ck)
                    })
                    .map_err(|e| e.to_string())
            });
        }
        Models(m)
    }

    /// Adds a model under a name (a user's own config).
    pub fn insert(&mut self, name: &str, model: ModelArch) {
        let ck = checkpoint_formats(&model);
        self.0.insert(name.to_string(), Ok((model, ck)));
    }

    /// Whether a resolved model has experts (`None`: not resolved).
    pub fn is_moe(&self, name: &str) -> Option<bool> {
        self.0.get(name)?.as_ref().ok().map(|(m, _)| m.is_moe())
    }

    /// The architecture a model name resolves to, as a key: checkpoints of
    /// one model (DeepSeek-V3 and -R1, a model and its FP8 or NVFP4
    /// quantization) share it; `None` when the name did not resolve.
    pub fn architecture_key(&self, name: &str) -> Option<String> {
        let (m, _) = self.0.get(name)?.as_ref().ok()?;
        Some(format!(
            "{}/{}/{}x{}/{}",
            m.architecture,
            m.model_type,
            m.num_layers,
            m.hidden_size,
            m.moe.as_ref().map_or(0, |e| e.num_experts)
        ))
    }

    fn get(&self, name: &str) -> Result<(&ModelArch, (GemmQuant, GemmQuant)), String> {
        match self.0.get(name) {
            Some(Ok((m, ck))) => Ok((m, *ck)),
            Some(Err(e)) => Err(e.clone()),
            None => Err(format!("model `{name}` was not resolved")),
        }
    }
}

/// A row read as a configuration.
#[derive(Debug, Clone)]
pub struct Config<'a> {
    pub model: &'a ModelArch,
    pub system: &'static SystemSpec,
    pub backend: Backend,
    pub isl: u32,
    pub osl: u32,
    pub quant: QuantOverrides,
    pub mode: Mode,
    /// Assumptions made reading the row.
    pub notes: Vec<String>,
}

fn backend(name: &str) -> Result<Backend, String> {
    match name.trim().to_ascii_lowercase().as_str() {
        "vllm" => Ok(Backend::Vllm),
        "sglang" => Ok(Backend::Sglang),
        "trtllm" | "tensorrt-llm" | "tensorrt_llm" => Ok(Backend::Trtllm),
        other => Err(format!(
            "unknown backend `{other}` (expected vllm, sglang or trtllm)"
        )),
    }
}

fn quant(name: Option<&str>, what: &'static str) -> Result<Option<GemmQuant>, String> {
    match name {
        None => Ok(None),
        Some(s) => GemmQuant::parse_or_err(s, what)
            .map(Some)
            .map_err(|e| e.to_string()),
    }
}

/// The `precision` column as a format, when the quant columns are blank: the
/// checkpoint's own format when it already is of that precision.
fn precision(p: Option<&str>, checkpoint: GemmQuant) -> Option<GemmQuant> {
    let p = p?.trim().to_ascii_lowercase();
    let want = match p.as_str() {
        "fp8" => {
            if matches!(checkpoint, GemmQuant::Fp8 | GemmQuant::Fp8Block) {
                checkpoint
            } else {
                GemmQuant::Fp8
            }
        }
        "fp4" | "nvfp4" => {
            if matches!(checkpoint, GemmQuant::Nvfp4 | GemmQuant::Mxfp4) {
                checkpoint
            } else {
                GemmQuant::Nvfp4
            }
        }
        "int4" => GemmQuant::Int4Wo,
        "bf16" | "fp16" => GemmQuant::Bf16,
        _ => return None,
    };
    Some(want)
}

fn layout(
    tp: Option<u32>,
    pp: Option<u32>,
    dp: Option<u32>,
    mt: Option<u32>,
    me: Option<u32>,
) -> Parallel {
    Parallel {
        tp: tp.unwrap_or(0),
        pp: pp.unwrap_or(0),
        dp: dp.unwrap_or(0),
        moe_tp: mt.unwrap_or(0),
        moe_ep: me.unwrap_or(0),
    }
}

/// Reads the calibration CSV's layouts, some of which are written in other
/// conventions than `tp × dp = moe_tp × moe_ep` GPUs:
/// - `tp = moe_tp × moe_ep` with `moe_tp = moe_ep = k` (rows named
///   `tp8_ep8`, `tp4_ep4`): `k` GPUs, attention TP `k`, experts EP `k`;
/// - `dp = moe_tp × moe_ep` with `tp = 1` and `moe_tp = moe_ep = k` (DEP
///   rows): `k` GPUs, attention DP `k`, experts EP `k`;
/// - `tp × dp` smaller than the expert group (`tp 1, moe_tp 2`): the rest
///   of the group is attention DP;
/// - an attention TP that does not divide the heads (`tp 24` for 128 heads),
///   which no engine runs: attention DP over those GPUs, experts EP;
/// - `moe_tp 1, moe_ep 1` on several GPUs (how the rows of dense models
///   write "no expert parallelism"): the engines' default, experts
///   tensor-parallel over every GPU.
fn repair_layout(p: Parallel, moe: bool, heads: u64, notes: &mut Vec<String>) -> Parallel {
    if !moe {
        return p;
    }
    let one = |x: u32| x.max(1);
    let (tp, dp, mt, me) = (one(p.tp), one(p.dp), p.moe_tp, p.moe_ep);
    let group = mt * me;
    let mut out = p;
    if mt > 1 && mt == me && tp == group && dp == 1 {
        out = Parallel {
            tp: mt,
            dp: 1,
            moe_tp: 1,
            moe_ep: me,
            ..p
        };
    } else if mt > 1 && mt == me && dp == group && tp == 1 {
        out = Parallel {
            tp: 1,
            dp: me,
            moe_tp: 1,
            moe_ep: me,
            ..p
        };
    } else if group > 0 && tp * dp < group && group.is_multiple_of(tp) {
        out = Parallel {
            dp: group / tp,
            ..p
        };
    } else if tp > 1 && dp == 1 && heads > 0 && !heads.is_multiple_of(u64::from(tp)) {
        out = Parallel {
            tp: 1,
            dp: tp,
            moe_tp: 1,
            moe_ep: tp,
            ..p
        };
    } else if group == 1 && tp * dp > 1 {
        out = Parallel {
            moe_tp: tp * dp,
            moe_ep: 1,
            ..p
        };
    }
    if out != p {
        notes.push(format!(
            "layout tp {} dp {} moe {}x{} read as tp {} dp {} moe {}x{}",
            p.tp, p.dp, p.moe_tp, p.moe_ep, out.tp, out.dp, out.moe_tp, out.moe_ep
        ));
    }
    out
}

fn worker(s: &Side, moe: bool, heads: u64, notes: &mut Vec<String>) -> Result<Worker, String> {
    if s.tp.is_none() && s.dp.is_none() {
        return Err(
            "a disaggregated row needs the prefill_/decode_ tp and attention_dp sizes".into(),
        );
    }
    Ok(Worker {
        parallel: repair_layout(
            layout(s.tp, s.pp, s.dp, s.moe_tp, s.moe_ep),
            moe,
            heads,
            notes,
        ),
        batch: s.batch_size.filter(|b| *b > 0),
        workers: s.workers.filter(|w| *w > 0),
    })
}

/// Reads a row as a configuration.
pub fn config<'a>(row: &Row, models: &'a Models) -> Result<Config<'a>, String> {
    let (model, (ck_gemm, ck_moe)) = models.get(&row.model)?;
    let system = SystemCatalog::builtin()
        .lookup(&row.system)
        .map_err(|e| e.to_string())?;
    let backend = backend(&row.backend)?;
    let isl = row.isl.filter(|x| *x > 0).ok_or("isl is blank or 0")?;
    let osl = row.osl.filter(|x| *x > 0).ok_or("osl is blank or 0")?;
    let gemm = quant(row.gemm_quant.as_deref(), "gemm")?
        .or_else(|| precision(row.precision.as_deref(), ck_gemm));
    let moe = quant(row.moe_quant.as_deref(), "moe")?
        .or_else(|| precision(row.precision.as_deref(), ck_moe).filter(|_| model.is_moe()));
    let kv = match row.kv_quant.as_deref() {
        None => None,
        Some(s) => Some(KvQuant::parse_or_err(s).map_err(|e| e.to_string())?),
    };
    // The CSV names precision classes: an 8-bit (4-bit) request on an 8-bit
    // (4-bit) checkpoint serves the checkpoint's own format.
    let same_class = |want: GemmQuant, ck: GemmQuant| -> bool {
        use GemmQuant::{Fp8, Fp8Block, Mxfp4, Nvfp4};
        want == ck
            || matches!(
                (want, ck),
                (Fp8, Fp8Block) | (Fp8Block, Fp8) | (Nvfp4, Mxfp4) | (Mxfp4, Nvfp4)
            )
    };
    let q = QuantOverrides {
        gemm: gemm.filter(|g| !same_class(*g, ck_gemm)),
        moe: moe.filter(|m| !same_class(*m, ck_moe)),
        kv,
    };
    let mut notes = Vec::new();
    let heads = model.attention.num_heads;
    let mode = match row.mode.trim().to_ascii_lowercase().as_str() {
        "agg" | "aggregated" => {
            let par = repair_layout(
                layout(row.tp, row.pp, row.dp, row.moe_tp, row.moe_ep),
                model.is_moe(),
                heads,
                &mut notes,
            );
            let per_rank = row.batch_size.filter(|b| *b > 0).ok_or(
                "agg row without batch_size (the benchmark concurrency per attention-DP rank)",
            )?;
            let dp = row.dp.filter(|d| *d > 0).unwrap_or(1);
            Mode::Agg {
                parallel: par,
                concurrency: per_rank.saturating_mul(dp),
            }
        }
        "disagg" | "disaggregated" => {
            let prefill = worker(&row.prefill, model.is_moe(), heads, &mut notes)?;
            let decode = worker(&row.decode, model.is_moe(), heads, &mut notes)?;
            let derivable = decode.batch.is_some() && decode.workers.is_some();
            let concurrency = if derivable {
                None
            } else {
                match row.recorded_concurrency {
                    Some(c) if c > 0 => {
                        notes.push(format!(
                            "decode batch/worker columns blank: concurrency {c} read from the row's provenance"
                        ));
                        Some(c)
                    }
                    _ => {
                        return Err("disagg row without decode batch size and worker count, and no recorded concurrency: the decode batch cannot be known".into());
                    }
                }
            };
            Mode::Disagg {
                prefill,
                decode,
                concurrency,
            }
        }
        other => return Err(format!("unknown mode `{other}` (expected agg or disagg)")),
    };
    Ok(Config {
        model,
        system,
        backend,
        isl,
        osl,
        quant: q,
        mode,
        notes,
    })
}

/// The part of a configuration that a prepared deployment depends on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    model: String,
    system: String,
    backend: Backend,
    quant: (Option<GemmQuant>, Option<GemmQuant>, Option<KvQuant>),
    layouts: Vec<Parallel>,
}

fn layouts(mode: &Mode) -> Vec<Parallel> {
    match mode {
        Mode::Agg { parallel, .. } => vec![*parallel],
        Mode::Disagg {
            prefill, decode, ..
        } => vec![decode.parallel, prefill.parallel],
    }
}

/// Predicts rows, preparing each deployment once.
pub struct Predictor<'a> {
    models: &'a Models,
    calibration: Calibration,
    cache: BTreeMap<Key, Result<Prepared<'a>, String>>,
}

/// A row's prediction.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub estimate: Estimate,
    pub notes: Vec<String>,
    pub backend: Backend,
    /// The row left out what the estimate needs and it was assumed
    /// (concurrency from provenance, worker counts): calibration skips such
    /// rows.
    pub assumed: bool,
}

impl<'a> Predictor<'a> {
    pub fn new(models: &'a Models, calibration: Calibration) -> Predictor<'a> {
        Predictor {
            models,
            calibration,
            cache: BTreeMap::new(),
        }
    }

    /// Kernel-only times of a prefill of one prompt and of a decode step of
    /// one sequence (the main engine; for diagnostics).
    pub fn kernels(&mut self, row: &Row) -> Option<(f64, f64)> {
        let _ = self.predict(row).ok()?;
        let cfg = config(row, self.models).ok()?;
        let key = Key {
            model: row.model.clone(),
            system: cfg.system.sku.clone(),
            backend: cfg.backend,
            quant: (cfg.quant.gemm, cfg.quant.moe, cfg.quant.kv),
            layouts: layouts(&cfg.mode),
        };
        let p = self.cache.get(&key)?.as_ref().ok()?;
        let b = p.breakdown(cfg.isl, cfg.osl, 1);
        Some((b.prefill_ms, b.decode_ms))
    }

    /// Predicts one row with the predictor's constants.
    pub fn predict(&mut self, row: &Row) -> Result<Prediction, String> {
        self.predict_with(row, None)
    }

    /// Predicts one row; `constants` replaces the backend's constants.
    pub fn predict_with(
        &mut self,
        row: &Row,
        constants: Option<&BackendConstants>,
    ) -> Result<Prediction, String> {
        let cfg = config(row, self.models)?;
        let key = Key {
            model: row.model.clone(),
            system: cfg.system.sku.clone(),
            backend: cfg.backend,
            quant: (cfg.quant.gemm, cfg.quant.moe, cfg.quant.kv),
            layouts: layouts(&cfg.mode),
        };
        let prepared = self.cache.entry(key).or_insert_with(|| {
            let req = EstimateRequest {
                model: cfg.model,
                system: cfg.system,
                backend: cfg.backend,
                backend_version: None,
                isl: cfg.isl,
                osl: cfg.osl,
                quant: cfg.quant,
                mode: cfg.mode,
                // Roofline efficiencies are the committed ones; the backend
                // constants are passed per estimate below.
                calibration: None,
            };
            Prepared::new(&req).map_err(|e| e.to_string())
        });
        let prepared = prepared.as_ref().map_err(Clone::clone)?;
        let c = *constants.unwrap_or(
            self.calibration
                .engine(cfg.backend, row.backend_version.as_deref()),
        );
        let estimate = prepared
            .estimate_fast(cfg.isl, cfg.osl, &cfg.mode, &c)
            .map_err(|e| e.to_string())?;
        let mut notes = cfg.notes;
        notes.extend(estimate.warnings.iter().cloned());
        let assumed = notes
            .iter()
            .any(|n| n.contains("not given") || n.contains("provenance"));
        Ok(Prediction {
            estimate,
            notes,
            backend: cfg.backend,
            assumed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn par(tp: u32, dp: u32, moe_tp: u32, moe_ep: u32) -> Parallel {
        Parallel {
            tp,
            pp: 1,
            dp,
            moe_tp,
            moe_ep,
        }
    }

    #[test]
    fn layouts_written_other_ways_are_read_as_the_gpus_they_run_on() {
        // (as written, MoE, heads, as read); a repaired layout says so in one note.
        let cases = [
            // tp8_ep8 rows: 8 GPUs, attention TP 8, experts EP 8.
            (par(64, 1, 8, 8), true, 128, par(8, 1, 1, 8)),
            // DEP rows: 8 GPUs, attention DP 8, experts EP 8.
            (par(1, 64, 8, 8), true, 128, par(1, 8, 1, 8)),
            // An attention TP that does not divide the heads: DEP.
            (par(24, 1, 1, 1), true, 128, par(1, 24, 1, 24)),
            // "No expert parallelism" as dense rows write it: experts TP over
            // every GPU, the engines' default.
            (par(8, 1, 1, 1), true, 64, par(8, 1, 8, 1)),
            (par(2, 2, 1, 1), true, 64, par(2, 2, 4, 1)),
            // Consistent layouts and dense models are left alone.
            (par(8, 1, 1, 8), true, 128, par(8, 1, 1, 8)),
            (par(8, 1, 1, 1), false, 64, par(8, 1, 1, 1)),
        ];
        for (written, moe, heads, read) in cases {
            let mut notes = Vec::new();
            assert_eq!(repair_layout(written, moe, heads, &mut notes), read);
            assert_eq!(
                notes.len(),
                usize::from(written != read),
                "{written:?}: {notes:?}"
            );
        }
    }
}
