//! The engine model: what a serving engine does with the steps the op model
//! times, under a closed-loop benchmark of `concurrency` clients that each
//! send a request (ISL prompt tokens, OSL output tokens), wait for its last
//! token and send the next.
//!
//! # Steps
//! A step's kernels split into the token-linear part (projections, MLP or
//! experts, collectives, norms: a function of the tokens in the step,
//! [`LinearCurve`]) and the per-sequence part (attention over each
//! sequence's cache, the LM head). The engine scales the decode kernels and
//! the prefill kernels by per-backend factors and adds its host time
//! (`step_ms` + `seq_us` per sequence), which dominates small decode batches.
//!
//! # Aggregated serving: a desynchronised steady state
//! Client arrivals spread over time (the measured TTFTs and TPOTs show no
//! lock-step cohorts), so the engine sees requests at a rate `λ` that the
//! closed loop fixes: `concurrency = λ·(TTFT + (OSL − 1)·TPOT)` (plus a queue
//! when the engine is full). Per attention-DP rank:
//! - [`Policy::Mixed`] (vLLM V1, TensorRT-LLM): every step carries the
//!   decoding sequences `B = λ·(OSL−1)·t` and the prefill tokens that arrived
//!   meanwhile, `p = λ·ISL·t`, up to the token budget; `t` is the step time at
//!   `(B, p)` (a fixed point). TPOT is `t`; TTFT waits half a step, runs the
//!   prompt's chunks, and queues for the budget as it fills (M/D/1).
//! - [`Policy::PrefillFirst`] (SGLang): waiting prompts run as a prefill batch
//!   between decode steps and decoding pauses meanwhile: a decode cycle is
//!   the decode step plus the prefill of the `x = λ·cycle` prompts that
//!   arrived during it. TPOT is the cycle; TTFT waits for the running step
//!   and its own prefill batch.
//!
//! The running limit (the engine's `max_seqs`, or what the KV cache holds)
//! caps the requests in the engine; clients beyond wait in a queue. The
//! benchmark starts with every client at once: that first wave waits for the
//! whole burst to be prefilled and weighs `burst` in the mean TTFT.
//!
//! # Disaggregated serving
//! Prefill ranks batch the prompts waiting for them (M/D/1 queue at their
//! utilisation); decode ranks run `B = λ·(OSL−1)·TPOT / ranks` sequences (at
//! most the batch they were given); TTFT adds the KV transfer and the decode
//! worker's first step; the closed loop fixes `λ`, and when prefill or decode
//! cannot keep up the clients they cannot hold wait in the queue. The
//! benchmark's first wave reaches the prefill ranks at once, as in
//! aggregated serving, and weighs the same `burst` in the mean TTFT.

use std::sync::OnceLock;

use super::constants::{BackendConstants, EngineKnobs, Policy};
use super::ops::{StepModel, StepShape, SumSink};

/// The engine-level numbers of one configuration.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Served {
    pub ttft_ms: f64,
    pub tpot_ms: f64,
    /// Mean sequences per decode step (per attention-DP rank).
    pub decode_batch: f64,
    /// Requests per second (per attention-DP rank for agg, per deployment
    /// for disagg).
    pub request_rate: f64,
}

/// Token counts of the [`LinearCurve`] grid: 1, 2, 3, 4, 6, 8, 12, ... (two
/// points per octave).
const GRID: [f64; 36] = [
    1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0, 96.0, 128.0, 192.0, 256.0,
    384.0, 512.0, 768.0, 1024.0, 1536.0, 2048.0, 3072.0, 4096.0, 6144.0, 8192.0, 12288.0, 16384.0,
    24576.0, 32768.0, 49152.0, 65536.0, 98304.0, 131072.0, 196608.0, 262144.0,
];

/// Kernel time of the token-linear ops of a step over token counts, each
/// grid point computed on first use; between points, linear interpolation
/// (GEMM tables are piecewise linear in the token count themselves).
#[derive(Debug)]
pub(crate) struct LinearCurve {
    /// (all but the routed experts, the routed experts) per grid point.
    points: [OnceLock<(f64, f64)>; 36],
}

impl Default for LinearCurve {
    fn default() -> Self {
        LinearCurve {
            points: std::array::from_fn(|_| OnceLock::new()),
        }
    }
}

impl Clone for LinearCurve {
    fn clone(&self) -> Self {
        LinearCurve::default()
    }
}

impl LinearCurve {
    fn point(&self, step: &StepModel<'_>, i: usize, moe_scale: f64) -> f64 {
        let (Some(cell), Some(&x)) = (self.points.get(i), GRID.get(i)) else {
            return 0.0;
        };
        let (rest, experts) = *cell.get_or_init(|| step.step_split(&StepShape::linear(x as u64)));
        rest + moe_scale * experts
    }

    /// Kernel ms of the token-linear ops for `tokens` tokens (0 for none),
    /// the routed experts scaled by `moe_scale`.
    pub fn at(&self, step: &StepModel<'_>, tokens: f64, moe_scale: f64) -> f64 {
        if tokens <= 0.0 {
            return 0.0;
        }
        if tokens <= 1.0 {
            return self.point(step, 0, moe_scale) * tokens;
        }
        // The bracketing grid points (two per octave): for 2^e ≤ x < 2^(e+1),
        // 2^e is point 2e − 1 and 1.5·2^e point 2e (e ≥ 1). The exponent is
        // read from the bits, exactly.
        let e = (((tokens.to_bits() >> 52) & 0x7ff) as i64 - 1023).max(0);
        let last = GRID.len() - 1;
        let (lo, hi) = if e == 0 {
            (0, 1)
        } else {
            let base = (2 * e - 1) as usize;
            let octave = f64::from_bits(((e + 1023) as u64) << 52);
            if tokens < 1.5 * octave {
                (base, base + 1)
            } else {
                (base + 1, base + 2)
            }
        };
        let (lo, hi) = if hi > last {
            (last - 1, last)
        } else {
            (lo, hi)
        };
        let (xl, xh) = (
            GRID.get(lo).copied().unwrap_or(1.0),
            GRID.get(hi).copied().unwrap_or(2.0),
        );
        let (yl, yh) = (
            self.point(step, lo, moe_scale),
            self.point(step, hi, moe_scale),
        );
        yl + (yh - yl) * (tokens - xl) / (xh - xl)
    }
}

/// Per-sequence kernel time of decode steps over batch sizes (attention at
/// a fixed KV length, LM head), on a geometric grid.
#[derive(Debug, Clone, Copy)]
struct SeqCurve {
    batch: [f64; 24],
    ms: [f64; 24],
    len: usize,
}

impl SeqCurve {
    fn new(step: &StepModel<'_>, max_batch: f64, kv: f64) -> SeqCurve {
        let mut c = SeqCurve {
            batch: [0.0; 24],
            ms: [0.0; 24],
            len: 0,
        };
        let top = max_batch.max(1.0);
        let mut b = 1.0_f64;
        for (bs, ms) in c.batch.iter_mut().zip(c.ms.iter_mut()) {
            let x = b.min(top);
            *bs = x;
            *ms = step.step_ms(
                &StepShape::decode(x.round() as u64, kv.round().max(1.0) as u64).attention_only(),
            );
            c.len += 1;
            if x >= top {
                break;
            }
            b *= 2.0;
        }
        c
    }

    fn at(&self, b: f64) -> f64 {
        if b <= 0.0 {
            return 0.0;
        }
        let pts = self.batch.iter().zip(self.ms.iter()).take(self.len);
        let mut prev: Option<(f64, f64)> = None;
        for (&x, &y) in pts {
            if b <= x {
                return match prev {
                    Some((px, py)) if x > px => py + (y - py) * (b - px) / (x - px),
                    _ => y * (b / x).min(1.0),
                };
            }
            prev = Some((x, y));
        }
        match (prev, self.len) {
            // Past the grid: per-sequence cost of the last octave, continued.
            (Some((x, y)), n) if n >= 2 => {
                let (px, py) = (
                    self.batch.get(n - 2).copied().unwrap_or(x),
                    self.ms.get(n - 2).copied().unwrap_or(y),
                );
                let slope = if x > px { (y - py) / (x - px) } else { y / x };
                y + slope.max(0.0) * (b - x)
            }
            (Some((x, y)), _) => y * b / x,
            _ => 0.0,
        }
    }
}

/// One engine: its steps and its scheduler.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Engine<'m, 'a> {
    pub step: &'m StepModel<'a>,
    pub lin: &'m LinearCurve,
    pub knobs: EngineKnobs,
    pub c: BackendConstants,
    /// Token budget per step.
    pub budget: f64,
}

/// The per-sequence pieces of one workload (ISL, KV length).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pieces {
    /// Per-sequence kernels of one whole prompt's prefill (attention over
    /// all its chunks, its LM head row).
    prompt_ms: f64,
    seq: SeqCurve,
    isl: f64,
}

impl<'a> Engine<'_, 'a> {
    pub fn pieces(&self, isl: f64, kv: f64, max_batch: f64) -> Pieces {
        let prompt = StepShape::prefill(1, isl.round().max(1.0) as u64).attention_only();
        Pieces {
            prompt_ms: self.step.step_ms(&prompt),
            seq: SeqCurve::new(self.step, max_batch, kv),
            isl: isl.max(1.0),
        }
    }

    fn lin(&self, tokens: f64) -> f64 {
        self.lin.at(self.step, tokens, self.c.moe_scale)
    }

    fn host(&self, seqs: f64) -> f64 {
        self.c.step_ms + self.c.seq_us * seqs / 1000.0
    }

    /// A step of `b` decoding sequences and `p` prefill tokens.
    pub fn step_ms(&self, pc: &Pieces, b: f64, p: f64) -> f64 {
        let b = b.max(0.0);
        let p = p.max(0.0);
        let seq = pc.seq.at(b);
        let dec = self.lin(b) + seq;
        let pre = self.lin(b + p) - self.lin(b) + pc.prompt_ms * p / pc.isl;
        self.c.decode_scale * dec + self.c.prefill_scale * pre.max(0.0) + self.host(b + p / pc.isl)
    }

    /// A pure prefill of `tokens` tokens, in steps of at most the budget.
    pub fn prefill_ms(&self, pc: &Pieces, tokens: f64) -> f64 {
        if tokens <= 0.0 {
            return 0.0;
        }
        let full = (tokens / self.budget).floor();
        let rest = tokens - full * self.budget;
        let mut t = full * self.step_ms(pc, 0.0, self.budget);
        if rest > 0.5 || full == 0.0 {
            t += self.step_ms(pc, 0.0, rest.max(1.0));
        }
        t
    }

    /// Kernel time split by source of one decode and one prefill step (for
    /// the estimate's source summary).
    pub fn sources(&self, batch: f64, isl: f64, kv: f64) -> [f64; 5] {
        let mut out = [0.0; 5];
        let shapes = [
            StepShape::decode(batch.round().max(1.0) as u64, kv.round().max(1.0) as u64),
            StepShape::prefill(1, isl.round().max(1.0) as u64),
        ];
        for s in shapes {
            let k: SumSink = self.step.step_sum(&s);
            for (a, b) in out.iter_mut().zip(k.by_source.iter()) {
                *a += b;
            }
        }
        out
    }

    /// The steady state at request rate `lam` (per ms, one rank): (TPOT,
    /// decode batch, TTFT inside the engine, budget utilisation).
    fn steady(&self, pc: &Pieces, lam: f64, d: f64, running: f64) -> (f64, f64, f64, f64) {
        let isl = pc.isl;
        let n_p = (isl / self.budget).ceil().max(1.0);
        match self.knobs.policy {
            Policy::Mixed => {
                let mut t = self.step_ms(pc, 1.0, 0.0);
                let mut b = 1.0;
                let mut p = 0.0;
                for _ in 0..6 {
                    b = (lam * d * t).min(running);
                    p = (lam * isl * t).min(self.budget);
                    t = self.step_ms(pc, b, p);
                }
                let rho = (lam * isl * t / self.budget).min(0.995);
                let queue = t * rho / (2.0 * (1.0 - rho));
                let _ = p;
                let ttft = 0.5 * t + n_p * t + queue;
                (t, b, ttft, rho)
            }
            Policy::PrefillFirst => {
                let mut cycle = self.step_ms(pc, 1.0, 0.0);
                let mut b = 1.0;
                let mut batch = 1.0;
                for _ in 0..6 {
                    b = (lam * d * cycle).min(running);
                    let x = lam * cycle;
                    batch = x.max(1.0);
                    let prefill = x.min(1.0) * self.prefill_ms(pc, batch * isl);
                    cycle = self.step_ms(pc, b, 0.0) + prefill;
                }
                let own = self.prefill_ms(pc, batch * isl);
                let ttft = 0.5 * cycle + own;
                (cycle, b, ttft, (lam * cycle).min(1.0))
            }
        }
    }

    /// The lock-step steady state: (TTFT without the constant, TPOT, decode
    /// batch, request rate per ms). Cohorts of clients arrive together; a
    /// cycle prefills all running prompts in `G` budget-sized pieces.
    /// - Mixed: each piece rides in a decode step, so cohorts of
    ///   `budget / ISL` prompts stay staggered over the cycle; a prompt's TTFT
    ///   is its own step(s), TPOT the cycle's mean step.
    /// - Prefill-first: the pieces run back to back before decoding resumes,
    ///   so every client is in one cohort: TTFT is the mean position in the
    ///   burst, and TPOT carries the prefill batches after one's own.
    fn cohorts(&self, pc: &Pieces, conc: f64, running: f64, d: f64) -> (f64, f64, f64, f64) {
        let isl = pc.isl;
        let p = self.budget.min(running * isl);
        let g = running * isl / p;
        let n_p = (isl / self.budget).ceil().max(1.0);
        let (ttft, tpot, b, cycle_ms) = match self.knobs.policy {
            Policy::Mixed => {
                let n = (d + n_p + 0.5).max(g);
                let b = if d > 0.0 {
                    (running * d / n).max(1.0)
                } else {
                    0.0
                };
                let t_m = self.step_ms(pc, b, p);
                let t_d = self.step_ms(pc, b, 0.0);
                let frac = (g / n).min(1.0);
                let t_avg = frac * t_m + (1.0 - frac) * t_d;
                let ttft = 0.5 * t_avg + (n - d - 0.5).max(n_p) * t_m;
                (ttft, t_avg, b, n * t_avg)
            }
            Policy::PrefillFirst => {
                let t_p = self.step_ms(pc, 0.0, p);
                let b = if d > 0.0 { running } else { 0.0 };
                let t_d = self.step_ms(pc, b, 0.0);
                let ttft = 0.5 * t_d + 0.5 * (g + 1.0) * t_p;
                let tpot = if d > 0.0 {
                    t_d + 0.5 * (g - 1.0).max(0.0) * t_p / d
                } else {
                    0.0
                };
                (ttft, tpot, b, g * t_p + d * t_d)
            }
        };
        // Clients beyond the running limit wait a whole cycle per turn.
        let queue = if conc > running {
            (conc - running) / running * cycle_ms
        } else {
            0.0
        };
        let rate = if cycle_ms > 0.0 {
            running / cycle_ms
        } else {
            0.0
        };
        (ttft + queue, tpot, b, rate)
    }

    /// The mean TTFT of a benchmark run: the steady state, and the first
    /// wave (every client at once, its prompts prefilled as one burst)
    /// weighing `burst`. Aggregated and disaggregated serving alike.
    fn with_first_wave(&self, steady: f64, wave: f64) -> f64 {
        (1.0 - self.c.burst) * steady + self.c.burst * wave.max(steady)
    }

    /// Aggregated serving of `conc` clients per attention-DP rank, with at
    /// most `max_running` sequences in the engine.
    pub fn agg(&self, conc: f64, isl: f64, osl: f64, max_running: f64) -> Served {
        let conc = conc.max(1.0);
        let running = conc.min(max_running.max(1.0));
        let d = (osl - 1.0).max(0.0);
        let kv = isl + osl / 2.0;
        let pc = self.pieces(isl, kv, running);
        let inflight = |lam: f64| {
            let (tpot, b, ttft, rho) = self.steady(&pc, lam, d, running);
            (tpot, b, ttft, rho, lam * (ttft + d * tpot))
        };
        // The largest feasible rate: prefill within the budget, requests
        // within the running limit.
        let t1 = self.step_ms(&pc, 1.0, 0.0);
        let mut hi = running / (d * t1 + t1).max(1e-6) * 2.0;
        let mut lo = 0.0;
        let feasible = |lam: f64| {
            let (_, _, _, rho, n) = inflight(lam);
            rho < 0.99 && n <= running
        };
        for _ in 0..40 {
            if feasible(hi) {
                lo = hi;
                hi *= 2.0;
            } else {
                break;
            }
        }
        for _ in 0..30 {
            let mid = 0.5 * (lo + hi);
            if feasible(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let lam_max = lo.max(1e-9);
        // The closed loop: `conc` clients in flight, or the queue at capacity.
        let (lam, queue) = if inflight(lam_max).4 < conc {
            let (tpot, _, ttft, _, _) = inflight(lam_max);
            (lam_max, (conc / lam_max - ttft - d * tpot).max(0.0))
        } else {
            let (mut a, mut z) = (0.0, lam_max);
            for _ in 0..30 {
                let mid = 0.5 * (a + z);
                if inflight(mid).4 < conc {
                    a = mid;
                } else {
                    z = mid;
                }
            }
            (0.5 * (a + z), 0.0)
        };
        let (tpot, b, ttft_eng, _, _) = inflight(lam);
        let steady = ttft_eng + queue;
        // The first wave: every client at once, prefilled in a burst.
        let first = conc.min(running) * isl;
        let burst = 0.5 * (self.prefill_ms(&pc, first) + self.prefill_ms(&pc, isl));
        let desync_ttft = self.with_first_wave(steady, burst);
        let (sync_ttft, sync_tpot, sync_b, sync_rate) = self.cohorts(&pc, conc, running, d);
        let w = self.c.sync.clamp(0.0, 1.0);
        let tpot = w * sync_tpot + (1.0 - w) * tpot;
        let ttft =
            w * sync_ttft + (1.0 - w) * desync_ttft + self.c.ttft_ms + self.c.ttft_steps * tpot;
        let b = w * sync_b + (1.0 - w) * b;
        let lam = w * sync_rate + (1.0 - w) * lam;
        Served {
            ttft_ms: ttft,
            tpot_ms: if d > 0.0 { tpot } else { 0.0 },
            decode_batch: b,
            request_rate: lam * 1000.0,
        }
    }
}

/// A disaggregated deployment: prefill and decode engines and their counts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DisaggEngines<'m, 'a> {
    pub prefill: Engine<'m, 'a>,
    pub decode: Engine<'m, 'a>,
    /// Prefill workers × their attention-DP ranks.
    pub prefill_ranks: f64,
    /// Decode workers × their attention-DP ranks.
    pub decode_ranks: f64,
    /// Most sequences one decode rank runs.
    pub decode_max_batch: f64,
    /// Most prompts one prefill rank takes into a batch (the prefill
    /// worker's batch size; infinite when not given: the token budget
    /// decides).
    pub prefill_max_batch: f64,
    /// KV transfer of one request, ms (bytes over the link, without the
    /// fixed handoff).
    pub kv_transfer_ms: f64,
}

impl DisaggEngines<'_, '_> {
    /// Serves `conc` clients in total.
    pub fn serve(&self, conc: f64, isl: f64, osl: f64) -> Served {
        let conc = conc.max(1.0);
        let d = (osl - 1.0).max(0.0);
        let kv = isl + osl / 2.0;
        let pe = &self.prefill;
        let de = &self.decode;
        let max_b = self.decode_max_batch.max(1.0);
        let ppc = pe.pieces(isl, kv, 1.0);
        let dpc = de.pieces(isl, kv, max_b);
        let handoff = pe.c.kv_handoff_ms + self.kv_transfer_ms;
        let per_full = self.prompts_per_batch(isl);
        let t_full = pe.prefill_ms(&ppc, per_full * isl);
        // What one prefill rank serves at most: full batches back to back.
        let mu_rank = per_full / t_full.max(1e-6);
        // At `lam` requests per ms: (TTFT, TPOT, decode batch, feasible).
        let at = |lam: f64| {
            let lam_p = lam / self.prefill_ranks.max(1.0);
            // Prompts per prefill batch: those that arrive while one runs.
            let mut k = 1.0_f64;
            for _ in 0..6 {
                k = (lam_p * pe.prefill_ms(&ppc, k * isl)).clamp(1.0, per_full);
            }
            let serve = pe.prefill_ms(&ppc, k * isl);
            // Load against the batched capacity: a batch takes every prompt
            // that arrived while the last one ran, so below capacity the
            // batch grows with the load instead of the queue.
            let rho = lam_p / mu_rank;
            let wait = serve * rho.min(0.995) / (2.0 * (1.0 - rho.min(0.995)));
            let mut t = de.step_ms(&dpc, 1.0, 0.0);
            let mut b = 1.0;
            for _ in 0..6 {
                b = (lam * d * t / self.decode_ranks.max(1.0)).clamp(1.0, max_b);
                t = de.step_ms(&dpc, b, 0.0);
            }
            let ttft = wait + serve + handoff + (1.0 + de.c.ttft_steps) * t;
            let cap_d =
                max_b * self.decode_ranks.max(1.0) / (d * de.step_ms(&dpc, max_b, 0.0)).max(1e-6);
            let ok = rho < 0.99 && lam <= cap_d;
            (ttft, t, b, ok)
        };
        let mu = self.prefill_ranks.max(1.0) * mu_rank;
        let mut lo = 0.0;
        let mut hi = mu;
        for _ in 0..30 {
            let mid = 0.5 * (lo + hi);
            if at(mid).3 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let lam_max = lo.max(1e-9);
        let inflight = |lam: f64| {
            let (ttft, t, _, _) = at(lam);
            lam * (ttft + d * t)
        };
        let (lam, queue) = if inflight(lam_max) < conc {
            let (ttft, t, _, _) = at(lam_max);
            (lam_max, (conc / lam_max - ttft - d * t).max(0.0))
        } else {
            let (mut a, mut z) = (0.0, lam_max);
            for _ in 0..30 {
                let mid = 0.5 * (a + z);
                if inflight(mid) < conc {
                    a = mid;
                } else {
                    z = mid;
                }
            }
            (0.5 * (a + z), 0.0)
        };
        let (ttft, tpot, b, _) = at(lam);
        let steady = ttft + queue;
        // The first wave: every client's prompt at once, prefilled back to
        // back on every prefill rank. Without it a deployment measured at
        // 1,600 clients was predicted at a tenth of its TTFT: the steady
        // state has no queue when prefill keeps up, the first wave does.
        let one = pe.prefill_ms(&ppc, isl);
        let burst = 0.5 * (conc / mu + one) + handoff + (1.0 + de.c.ttft_steps) * tpot;
        let ttft = pe.with_first_wave(steady, burst);
        Served {
            ttft_ms: ttft + pe.c.ttft_ms,
            tpot_ms: if d > 0.0 { tpot } else { 0.0 },
            decode_batch: b,
            request_rate: lam * 1000.0,
        }
    }

    /// Decode-side request rate at this concurrency (req/ms) with unlimited
    /// prefill: for sizing prefill workers.
    pub fn decode_rate(&self, conc: f64, isl: f64, osl: f64) -> f64 {
        let d = (osl - 1.0).max(1.0);
        let kv = isl + osl / 2.0;
        let de = &self.decode;
        let max_b = self.decode_max_batch.max(1.0);
        let dpc = de.pieces(isl, kv, max_b);
        let b = (conc / self.decode_ranks.max(1.0)).clamp(1.0, max_b);
        b * self.decode_ranks.max(1.0) / (d * de.step_ms(&dpc, b, 0.0)).max(1e-6)
    }

    /// Prompts of `isl` tokens in a full prefill batch of one rank: as many
    /// as the token budget holds, at most the worker's batch size.
    fn prompts_per_batch(&self, isl: f64) -> f64 {
        (self.prefill.budget / isl)
            .floor()
            .min(self.prefill_max_batch)
            .max(1.0)
    }

    /// Prefill capacity of one prefill worker (req/ms).
    pub fn prefill_rate_per_worker(&self, isl: f64, ranks_per_worker: f64) -> f64 {
        let pe = &self.prefill;
        let ppc = pe.pieces(isl, isl, 1.0);
        let per_full = self.prompts_per_batch(isl);
        ranks_per_worker * per_full / pe.prefill_ms(&ppc, per_full * isl).max(1e-6)
    }
}
