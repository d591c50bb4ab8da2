//! The performance model's API: one configuration in, TTFT, TPOT,
//! throughput, memory and KV capacity out ([`estimate`]); the per-op times of
//! one prefill and one decode step ([`step_breakdown`]).
//!
//! [`Prepared`] holds everything that does not depend on the workload (op
//! tables resolved, layer shapes, memory plan), so that a host estimating
//! many workloads of one deployment (a sweep, a batch file) prepares once.

use serde::Serialize;

mod role;

use super::constants::{BackendConstants, Calibration, Policy, engine_knobs};
use super::engine::{DisaggEngines, Engine, LinearCurve, Served};
use super::error::PerfError;
use super::memory::{
    KvCoeffs, Memory, budget_for, memory_arithmetic, plan_memory, plan_memory_raised,
};
use super::ops::{OpSource, OpTime, StepModel, StepShape};
use super::parallel::Parallel;
use super::quant::{KvQuant, QuantConfig, QuantOverrides, checkpoint_formats};
use super::roofline::{self, Comm};
use crate::catalog::model::ModelArch;
use crate::catalog::system::SystemSpec;
use crate::spec::Backend;

/// One worker of a disaggregated deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Worker {
    pub parallel: Parallel,
    /// Most sequences one attention-DP rank runs at once (decode), or
    /// prompts per prefill batch (prefill); `None`: the engine's limit.
    pub batch: Option<u32>,
    /// Number of such workers; `None`: not given (see [`Mode::Disagg`]).
    pub workers: Option<u32>,
}

/// How the model is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum Mode {
    /// One engine doing prefill and decode (in-flight batching), under a
    /// closed loop of `concurrency` clients.
    Agg {
        parallel: Parallel,
        concurrency: u32,
    },
    /// Separate prefill and decode workers under a closed loop of
    /// `concurrency` clients. A missing concurrency is taken as the decode
    /// workers' full batch (`batch × workers × dp`). Missing worker counts
    /// are assumed (and said so in the warnings): decode workers enough to
    /// run the given batch per rank, or, with none given, the per-rank batch
    /// recorded deployments run at this many clients (`0.59 · clients^0.69`);
    /// and the fewest prefill workers whose capacity meets 90% of what the
    /// decode side serves at this concurrency (recorded deployments run
    /// prefill close to saturation).
    Disagg {
        prefill: Worker,
        decode: Worker,
        concurrency: Option<u32>,
    },
}

/// Everything an estimate needs.
#[derive(Debug, Clone, Copy)]
pub struct EstimateRequest<'a> {
    pub model: &'a ModelArch,
    pub system: &'a SystemSpec,
    pub backend: Backend,
    /// The engine version (informative: the constants are per backend).
    pub backend_version: Option<&'a str>,
    pub isl: u32,
    pub osl: u32,
    pub quant: QuantOverrides,
    pub mode: Mode,
    /// The constants to use; `None`: the committed ones.
    pub calibration: Option<&'a Calibration>,
}

/// Share of the modelled kernel time by where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Sources {
    pub measured: f64,
    pub interpolated: f64,
    pub extrapolated: f64,
    pub rescaled: f64,
    pub roofline: f64,
}

impl Sources {
    fn from_array(by: [f64; 5]) -> Sources {
        let total: f64 = by.iter().sum();
        let f = |x: f64| if total > 0.0 { x / total } else { 0.0 };
        let [m, i, e, r, o] = by;
        Sources {
            measured: f(m),
            interpolated: f(i),
            extrapolated: f(e),
            rescaled: f(r),
            roofline: f(o),
        }
    }

    /// Share from measured tables (measured, interpolated, extrapolated).
    pub fn tables(&self) -> f64 {
        self.measured + self.interpolated + self.extrapolated
    }
}

/// The estimate of one configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Mean time to first token, ms.
    pub ttft_ms: f64,
    /// Mean time per output token after the first, ms.
    pub tpot_ms: f64,
    /// `ttft + tpot × (osl − 1)`, ms.
    pub request_latency_ms: f64,
    /// Output tokens per second per GPU of the deployment.
    pub tokens_per_s_per_gpu: f64,
    /// `1000 / tpot`.
    pub tokens_per_s_per_user: f64,
    /// Requests per second the deployment serves at this concurrency.
    pub requests_per_s: f64,
    pub total_gpus: u32,
    /// Mean sequences per decode step, per attention-DP rank.
    pub decode_batch: f64,
    /// Memory of one (decode, for disagg) GPU.
    pub memory: Memory,
    /// Memory of one prefill GPU (disagg only).
    pub prefill_memory: Option<Memory>,
    /// KV-cache tokens one attention-DP rank (decode, for disagg) holds.
    pub kv_capacity_tokens: u64,
    /// Most sequences of `isl + osl` tokens one rank runs (KV and engine limit).
    pub max_batch: u32,
    /// Whether the weights and runtime leave room for at least one sequence.
    pub fits: bool,
    /// Set when the layout does not fit at the engine's default memory
    /// fraction but does at a raised one: the fraction the estimate assumes.
    pub raised_memory_fraction: Option<f64>,
    pub quant: QuantConfig,
    pub sources: Sources,
    pub warnings: Vec<String>,
}

/// Per-op times of one prefill step (batch 1 at the ISL) and one decode step
/// (at the estimated decode batch).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    pub prefill_shape: StepShape,
    pub prefill: Vec<OpTime>,
    /// Kernel time of the prefill step, ms (before the engine's scale and host time).
    pub prefill_ms: f64,
    pub decode_shape: StepShape,
    pub decode: Vec<OpTime>,
    pub decode_ms: f64,
}

/// KV-cache arithmetic of one rank.
#[derive(Debug, Clone, Copy, PartialEq)]
struct KvPlan {
    /// At the engine's default memory fraction.
    memory: Memory,
    /// Whether that leaves any KV cache.
    fits: bool,
    /// When it does not: the plan at a raised fraction, and that fraction.
    /// A configuration someone gives (to estimate it, or measured) ran, so
    /// its operator raised the fraction; its estimate uses this plan, while
    /// the search only proposes layouts that fit at the default.
    raised: Option<(Memory, f64)>,
}

impl KvPlan {
    /// The plan the estimate runs with.
    fn effective(&self) -> &Memory {
        self.raised.as_ref().map_or(&self.memory, |(m, _)| m)
    }
}

/// One engine (agg, or one side of disagg), prepared.
#[derive(Debug, Clone)]
struct Side<'a> {
    step: StepModel<'a>,
    /// Token-linear kernel times, filled on first use.
    lin: LinearCurve,
    kv: KvPlan,
    /// KV bytes per sequence on one GPU of this layout, and of the whole
    /// model (for KV transfers).
    kvc: KvCoeffs,
    kv_whole: KvCoeffs,
    par: Parallel,
}

impl<'a> Side<'a> {
    fn new(
        req: &EstimateRequest<'a>,
        quant: QuantConfig,
        par: Parallel,
        calib: &Calibration,
    ) -> Result<Side<'a>, PerfError> {
        let par = par.normalized(req.model.is_moe())?;
        let step = StepModel::new(
            req.model,
            req.system,
            req.backend,
            par,
            quant,
            calib.roofline,
        )?;
        let checkpoint = Some(checkpoint_formats(req.model));
        let memory = plan_memory(req.model, req.system, req.backend, &quant, par, checkpoint);
        let fits = memory.kv > 0;
        let raised = (!fits)
            .then(|| plan_memory_raised(req.model, req.system, req.backend, par, &memory))
            .filter(|(m, _)| m.kv > 0);
        Ok(Side {
            step,
            lin: LinearCurve::default(),
            kvc: KvCoeffs::new(req.model, &quant, par),
            kv_whole: KvCoeffs::new(req.model, &quant, Parallel::tp(1)),
            kv: KvPlan {
                memory,
                fits,
                raised,
            },
            par,
        })
    }

    /// Sequences of `len` tokens the KV cache of one rank holds.
    fn kv_seqs(&self, len: u64) -> f64 {
        self.kv_seqs_as(&self.kvc, len)
    }

    /// [`Side::kv_seqs`] with the cache laid out as `kvc` says (another
    /// element type) in the same pool.
    fn kv_seqs_as(&self, kvc: &KvCoeffs, len: u64) -> f64 {
        let per = kvc.bytes(len.max(1));
        if per <= 0.0 {
            return f64::INFINITY;
        }
        self.kv.effective().kv as f64 / per
    }

    fn kv_tokens(&self, len: u64) -> u64 {
        let seqs = self.kv_seqs(len);
        if seqs.is_finite() {
            (seqs * len.max(1) as f64) as u64
        } else {
            u64::MAX
        }
    }
}

/// A deployment prepared for estimates at any workload.
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    req: EstimateRequest<'a>,
    calib: Calibration,
    quant: QuantConfig,
    /// Agg: the engine; disagg: the decode side.
    main: Side<'a>,
    /// Disagg: the prefill side.
    prefill: Option<Side<'a>>,
}

/// Sequences per decode rank assumed when a disaggregated configuration
/// gives neither decode worker counts nor batch sizes, at `conc` clients in
/// all: `0.59 · conc^0.69`, the least-squares fit (in logs) of the per-rank
/// decode batch against the client count over the 134 disaggregated
/// deployments of `silicon_calibration.csv` that record both (their inputs
/// only, not their latencies). Deployments add decode ranks more slowly than
/// clients: 2 sequences per rank at 4 clients, 17 at 128, 184 at 4096.
fn assumed_decode_batch(conc: f64) -> f64 {
    ASSUMED_BATCH_SCALE * conc.max(1.0).powf(ASSUMED_BATCH_EXP)
}

const ASSUMED_BATCH_SCALE: f64 = 0.59;
const ASSUMED_BATCH_EXP: f64 = 0.69;

/// Share of the decode side's request rate that assumed prefill workers are
/// sized to serve (the fewest workers whose capacity reaches it). Recorded
/// deployments run their prefill workers close to saturation: over the 134
/// disaggregated deployments of `silicon_calibration.csv` that record their
/// workers, with the decode side as recorded, 0.9 reproduces the recorded
/// prefill worker count in 95 (mean |ln(assumed/recorded)| 0.16, mean
/// ln +0.01), against 84 (0.21, +0.12) at 1.1 and 93 (0.18, −0.02) at 0.8.
/// Their inputs only, not their latencies, as for [`assumed_decode_batch`].
const PREFILL_SHARE: f64 = 0.9;

fn positive(x: u32, what: &'static str) -> Result<u32, PerfError> {
    if x == 0 {
        Err(PerfError::Zero { what })
    } else {
        Ok(x)
    }
}

impl<'a> Prepared<'a> {
    /// Resolves quantization, layouts, tables and memory.
    pub fn new(req: &EstimateRequest<'a>) -> Result<Prepared<'a>, PerfError> {
        if req.backend == Backend::Auto {
            return Err(PerfError::AutoBackend);
        }
        let calib = req.calibration.copied().unwrap_or_default();
        let quant = QuantConfig::resolve(req.model, &req.quant);
        let (main, prefill) = match req.mode {
            Mode::Agg { parallel, .. } => (Side::new(req, quant, parallel, &calib)?, None),
            Mode::Disagg {
                prefill, decode, ..
            } => (
                Side::new(req, quant, decode.parallel, &calib)?,
                Some(Side::new(req, quant, prefill.parallel, &calib)?),
            ),
        };
        Ok(Prepared {
            req: *req,
            calib,
            quant,
            main,
            prefill,
        })
    }

    fn engine<'m>(&self, side: &'m Side<'a>, c: &BackendConstants) -> Engine<'m, 'a> {
        let knobs = engine_knobs(self.req.backend);
        Engine {
            step: &side.step,
            lin: &side.lin,
            knobs,
            c: *c,
            budget: (f64::from(budget_for(&knobs, self.req.system)) * c.budget_scale).max(64.0),
        }
    }

    /// Sequences of `occupied` tokens the engine would run at once with an
    /// FP8 KV cache in the same pool, where the cache is 16-bit now (`None`
    /// otherwise). Where the cache binds, it is the usual remedy
    /// (`--kv-cache-dtype fp8`); recorded deployments of MiniMax-M2.5 on
    /// vLLM hold what only an FP8 cache can (docs/accuracy.md).
    fn fp8_kv_seqs(&self, occupied: u64, max_seqs: u32) -> Option<f64> {
        if self.quant.kv != KvQuant::Bf16 {
            return None;
        }
        let fp8 = QuantConfig {
            kv: KvQuant::Fp8,
            ..self.quant
        };
        let kvc = KvCoeffs::new(self.req.model, &fp8, self.main.par);
        Some(
            self.main
                .kv_seqs_as(&kvc, occupied)
                .min(f64::from(max_seqs))
                .floor(),
        )
    }

    /// The estimate at this workload (`mode` gives the concurrency and, for
    /// disagg, the worker counts; its layouts must be the prepared ones).
    pub fn estimate(&self, isl: u32, osl: u32, mode: &Mode) -> Result<Estimate, PerfError> {
        let c = *self
            .calib
            .engine(self.req.backend, self.req.backend_version);
        self.estimate_with(isl, osl, mode, &c)
    }

    /// [`Prepared::estimate`] with other backend constants (calibration).
    pub fn estimate_with(
        &self,
        isl: u32,
        osl: u32,
        mode: &Mode,
        constants: &BackendConstants,
    ) -> Result<Estimate, PerfError> {
        self.run(isl, osl, mode, constants, true)
    }

    /// [`Prepared::estimate_with`] without the source summary (which costs
    /// two full step evaluations): for batches and calibration.
    pub fn estimate_fast(
        &self,
        isl: u32,
        osl: u32,
        mode: &Mode,
        constants: &BackendConstants,
    ) -> Result<Estimate, PerfError> {
        self.run(isl, osl, mode, constants, false)
    }

    fn run(
        &self,
        isl: u32,
        osl: u32,
        mode: &Mode,
        constants: &BackendConstants,
        with_sources: bool,
    ) -> Result<Estimate, PerfError> {
        let isl = positive(isl, "isl")?;
        let osl = positive(osl, "osl")?;
        let len = u64::from(isl) + u64::from(osl);
        let knobs = engine_knobs(self.req.backend);
        let mut warnings = Vec::new();
        let main = &self.main;
        // TRT-LLM reserves a sequence's whole length when it admits it
        // (guaranteed no eviction); vLLM and SGLang allocate as it grows.
        let occupied = if knobs.kv_reserve_full {
            len
        } else {
            u64::from(isl) + u64::from(osl) / 2
        };
        let kv_seqs = main.kv_seqs(occupied);
        let max_batch = kv_seqs.min(f64::from(knobs.max_seqs)).floor().max(0.0);
        let fits = main.kv.fits && kv_seqs >= 1.0;
        if !fits {
            warnings.push(format!(
                "does not fit: {}",
                memory_arithmetic(&main.kv.memory, self.req.backend)
            ));
            if let Some((m, f)) = &main.kv.raised {
                warnings.push(format!(
                    "estimated as run with {} raised to {f:.2}, which leaves {:.1} GB of KV cache per GPU (as deployments of such layouts do)",
                    knobs.memory.flag(),
                    m.kv as f64 / 1e9
                ));
            }
        }
        let (served, gpus, prefill_memory, src) = match *mode {
            Mode::Agg { concurrency, .. } => {
                let c = positive(concurrency, "concurrency")?;
                let dp = f64::from(main.par.dp.max(1));
                let per_rank = f64::from(c) / dp;
                let mut e = self.engine(main, constants);
                if attention_dp_waves(self.req.backend, main.par.dp) {
                    // Prefills run in waves across the ranks and the clients
                    // stay in lock-step cohorts: a prompt waits for its place
                    // in the wave, and decoding pauses for the wave.
                    e.c.sync = 1.0;
                    e.knobs.policy = Policy::PrefillFirst;
                }
                let s = e.agg(per_rank, f64::from(isl), f64::from(osl), max_batch.max(1.0));
                if per_rank > max_batch && fits {
                    let remedy = self
                        .fp8_kv_seqs(occupied, knobs.max_seqs)
                        .filter(|n| *n > max_batch)
                        .map(|n| format!(" (an FP8 KV cache would hold {n:.0})"))
                        .unwrap_or_default();
                    warnings.push(format!(
                        "{per_rank:.0} clients per rank exceed the {max_batch:.0} sequences the engine runs at once: the rest queue{remedy}"
                    ));
                }
                let served = Served {
                    request_rate: s.request_rate * dp,
                    ..s
                };
                let src = if with_sources {
                    e.sources(
                        s.decode_batch,
                        f64::from(isl),
                        f64::from(isl) + f64::from(osl) / 2.0,
                    )
                } else {
                    [0.0; 5]
                };
                (served, main.par.worker_gpus(), None, src)
            }
            Mode::Disagg {
                prefill,
                decode,
                concurrency,
            } => {
                let pside = self
                    .prefill
                    .as_ref()
                    .ok_or_else(|| PerfError::Incomplete("prefill worker not prepared".into()))?;
                let d_dp = f64::from(main.par.dp.max(1));
                let p_dp = f64::from(pside.par.dp.max(1));
                let given_batch = decode.batch.map(f64::from);
                let conc = match (concurrency, given_batch, decode.workers) {
                    (Some(c), _, _) => f64::from(positive(c, "concurrency")?),
                    (None, Some(b), Some(w)) => b * f64::from(w) * d_dp,
                    _ => {
                        return Err(PerfError::Incomplete(
                            "disaggregated configuration without a concurrency, and without the decode batch size and worker count to derive it from".into(),
                        ));
                    }
                };
                let d_max = given_batch.map_or(max_batch, |b| b.min(max_batch.max(1.0)));
                let pe = self.engine(pside, constants);
                let de = self.engine(main, constants);
                let kv_ms = self.kv_transfer_ms(pside, u64::from(isl), constants);
                let d_workers = match decode.workers {
                    Some(w) => f64::from(positive(w, "decode workers")?),
                    None => {
                        let w = match given_batch {
                            // A given batch is each rank's limit: enough
                            // workers to hold every client.
                            Some(b) => (conc / (b.max(1.0) * d_dp)).ceil().max(1.0),
                            None => {
                                let target =
                                    assumed_decode_batch(conc).clamp(1.0, max_batch.max(1.0));
                                (conc / (target * d_dp)).round().max(1.0)
                            }
                        };
                        let per_rank = conc / (w * d_dp);
                        warnings.push(format!(
                            "decode worker count not given: assumed {w:.0} ({per_rank:.0} of the {conc:.0} clients per rank, as recorded deployments of that many clients run)"
                        ));
                        w
                    }
                };
                let d_max = if decode.batch.is_none() {
                    (conc / (d_workers * d_dp)).min(max_batch.max(1.0)).max(1.0)
                } else {
                    d_max
                };
                // Every recorded deployment runs its prefill ranks one prompt
                // at a time; one whose workers are assumed is assumed to as
                // well. Given workers without a batch size take the engine's
                // token budget.
                let p_batch = match (prefill.batch, prefill.workers) {
                    (Some(b), _) => f64::from(b),
                    (None, Some(_)) => f64::INFINITY,
                    (None, None) => {
                        warnings.push(
                            "prefill batch size not given: assumed 1 prompt per rank (as recorded deployments run)"
                                .to_string(),
                        );
                        1.0
                    }
                };
                let make = |p_workers: f64| DisaggEngines {
                    prefill: pe,
                    decode: de,
                    prefill_ranks: p_workers * p_dp,
                    decode_ranks: d_workers * d_dp,
                    decode_max_batch: d_max,
                    prefill_max_batch: p_batch,
                    kv_transfer_ms: kv_ms,
                };
                let p_workers = match prefill.workers {
                    Some(w) => f64::from(positive(w, "prefill workers")?),
                    None => {
                        // The fewest workers whose prefill capacity meets
                        // PREFILL_SHARE of what the decode side serves.
                        let probe = make(1.0);
                        let need = probe.decode_rate(conc, f64::from(isl), f64::from(osl));
                        let each = probe.prefill_rate_per_worker(f64::from(isl), p_dp);
                        let w = (PREFILL_SHARE * need / each.max(1e-9))
                            .ceil()
                            .clamp(1.0, 64.0);
                        warnings.push(format!(
                            "prefill worker count not given: assumed {w:.0} (the fewest that serve {:.0}% of what the decode side does at this concurrency, as recorded deployments are sized)",
                            PREFILL_SHARE * 100.0
                        ));
                        w
                    }
                };
                let s = make(p_workers).serve(conc, f64::from(isl), f64::from(osl));
                let gpus = (p_workers as u32) * pside.par.worker_gpus()
                    + (d_workers as u32) * main.par.worker_gpus();
                let src = if with_sources {
                    de.sources(
                        s.decode_batch,
                        f64::from(isl),
                        f64::from(isl) + f64::from(osl) / 2.0,
                    )
                } else {
                    [0.0; 5]
                };
                (s, gpus, Some(pside.kv.memory), src)
            }
        };
        let tpot = served.tpot_ms;
        let ttft = served.ttft_ms;
        let request_latency = ttft + tpot * f64::from(osl.saturating_sub(1));
        let tokens_per_s = served.request_rate * f64::from(osl);
        let sources = Sources::from_array(src);
        if let Some(why) =
            crate::compat::unsupported(&self.quant, self.req.system, self.req.backend)
        {
            warnings.push(format!(
                "cannot run as estimated: {why}. Instead: {}",
                crate::compat::HINT
            ));
        }
        if sources.roofline > 0.5 {
            warnings.push(format!(
                "{:.0}% of the step time is roofline (no measured table for {} on {}): expect a larger error",
                sources.roofline * 100.0,
                self.req.backend,
                self.req.system.sku
            ));
        }
        Ok(Estimate {
            ttft_ms: ttft,
            tpot_ms: tpot,
            request_latency_ms: request_latency,
            tokens_per_s_per_gpu: if gpus > 0 {
                tokens_per_s / f64::from(gpus)
            } else {
                0.0
            },
            tokens_per_s_per_user: if tpot > 0.0 { 1000.0 / tpot } else { 0.0 },
            requests_per_s: served.request_rate,
            total_gpus: gpus,
            decode_batch: served.decode_batch,
            memory: main.kv.memory,
            prefill_memory,
            kv_capacity_tokens: main.kv_tokens(len),
            max_batch: max_batch.min(f64::from(u32::MAX)) as u32,
            fits,
            raised_memory_fraction: main.kv.raised.as_ref().map(|(_, f)| *f),
            quant: self.quant,
            sources,
            warnings,
        })
    }

    /// KV transfer of one prompt from a prefill worker to a decode worker:
    /// the whole model's KV of `isl` tokens over the GPUs of the prefill
    /// worker, each on its own link.
    fn kv_transfer_ms(&self, pside: &Side<'_>, isl: u64, c: &BackendConstants) -> f64 {
        let bytes = pside.kv_whole.bytes(isl);
        let gpus = f64::from(pside.par.worker_gpus().max(1));
        let mut eff = self.calib.roofline;
        eff.comm = c.kv_bw_eff;
        // Across nodes unless the system's NVLink domain spans them.
        let span = f64::from(self.req.system.node.gpus_per_node) + 1.0;
        roofline::comm_ms(self.req.system, &eff, Comm::P2p, span, bytes / gpus)
    }

    /// Kernel time of one step on the (decode, for disagg) engine, ms: the
    /// raw op composition, without the engine's scale and host time.
    pub fn step_ms(&self, shape: &StepShape) -> f64 {
        self.main.step.step_ms(shape)
    }

    /// Per-op times of one prefill step (batch 1 at the ISL) and one decode
    /// step at `decode_batch`, on the prefill (disagg) or only engine.
    pub fn breakdown(&self, isl: u32, osl: u32, decode_batch: u64) -> Breakdown {
        let pstep = self.prefill.as_ref().map_or(&self.main.step, |p| &p.step);
        let prefill_shape = StepShape::prefill(1, u64::from(isl.max(1)));
        let decode_shape =
            StepShape::decode(decode_batch.max(1), u64::from(isl) + u64::from(osl) / 2);
        let prefill = pstep.breakdown(&prefill_shape);
        let decode = self.main.step.breakdown(&decode_shape);
        let sum = |v: &[OpTime]| v.iter().map(|o| o.count * o.ms).sum();
        Breakdown {
            prefill_ms: sum(&prefill),
            decode_ms: sum(&decode),
            prefill_shape,
            prefill,
            decode_shape,
            decode,
        }
    }
}

/// Estimates one configuration.
pub fn estimate(req: &EstimateRequest<'_>) -> Result<Estimate, PerfError> {
    Prepared::new(req)?.estimate(req.isl, req.osl, &req.mode)
}

/// Per-op times of one prefill and one decode step of a configuration (the
/// decode step at the batch the estimate finds).
pub fn step_breakdown(req: &EstimateRequest<'_>) -> Result<Breakdown, PerfError> {
    let p = Prepared::new(req)?;
    let e = p.estimate(req.isl, req.osl, &req.mode)?;
    Ok(p.breakdown(req.isl, req.osl, e.decode_batch.round().max(1.0) as u64))
}

/// Source names in [`OpSource`] order, for hosts.
pub fn source_names() -> [&'static str; 5] {
    OpSource::ALL.map(OpSource::as_str)
}

/// Whether an aggregated engine prefills in waves across its attention-DP
/// ranks. TensorRT-LLM steps every rank together (the experts' all-to-all
/// needs them all) and its attention-DP balancer holds context requests
/// until every rank has one, so the ranks prefill at once and their clients
/// come back together: the measured TTFTs of its DEP deployments are the
/// mean position in such a wave (5–10 prompt prefills at 8–32 clients per
/// rank), not the steady state's one or two (docs/accuracy.md).
fn attention_dp_waves(backend: Backend, dp: u32) -> bool {
    backend == Backend::Trtllm && dp > 1
}
