//! One engine on its own, for the search and the planner's curves: a prompt
//! prefilled on an idle engine, a decode step at a given batch, and what the
//! KV cache holds. [`Prepared::estimate`] answers for a whole deployment
//! under load; these answer for one worker in isolation, which is how the
//! profiler characterises prefill and decode engines before combining them
//! (SPEC §3.2).

use super::{EstimateRequest, Mode, Prepared, Side};
use crate::catalog::model::ModelArch;
use crate::catalog::system::SystemSpec;
use crate::perf::constants::{BackendConstants, engine_knobs};
use crate::perf::memory::{Memory, budget_for};
use crate::perf::parallel::Parallel;
use crate::perf::{PerfError, QuantOverrides};
use crate::spec::Backend;

impl<'a> Prepared<'a> {
    /// One engine of `parallel` on its own, for the role queries below (the
    /// committed constants; the workload only sizes the memory plan).
    pub fn engine_alone(
        model: &'a ModelArch,
        system: &'a SystemSpec,
        backend: Backend,
        parallel: Parallel,
        quant: QuantOverrides,
        isl: u32,
        osl: u32,
    ) -> Result<Prepared<'a>, PerfError> {
        Prepared::new(&EstimateRequest {
            model,
            system,
            backend,
            backend_version: None,
            isl: isl.max(1),
            osl: osl.max(1),
            quant,
            mode: Mode::Agg {
                parallel,
                concurrency: 1,
            },
            calibration: None,
        })
    }

    fn side_for_role(&self, prefill: bool) -> &Side<'a> {
        if prefill {
            self.prefill.as_ref().unwrap_or(&self.main)
        } else {
            &self.main
        }
    }

    /// The committed constants of this backend and version.
    pub fn constants(&self) -> BackendConstants {
        *self
            .calib
            .engine(self.req.backend, self.req.backend_version)
    }

    /// The layout of the (decode, for disagg) engine, normalised.
    pub fn layout(&self) -> Parallel {
        self.main.par
    }

    /// The resolved quantization.
    pub fn quant(&self) -> crate::perf::QuantConfig {
        self.quant
    }

    /// Tokens one engine step may carry (the engine's default budget).
    pub fn token_budget(&self) -> u32 {
        budget_for(&engine_knobs(self.req.backend), self.req.system)
    }

    /// Memory of one GPU of the (decode, for disagg) engine.
    pub fn memory(&self) -> Memory {
        self.main.kv.memory
    }

    /// KV-cache tokens one attention-DP rank holds, for sequences of `len` tokens.
    pub fn kv_tokens_per_rank(&self, len: u32) -> u64 {
        self.main.kv_tokens(u64::from(len.max(1)))
    }

    /// Most sequences of this workload one attention-DP rank runs at once:
    /// the engine's running limit or what the KV cache holds, whichever is
    /// lower (0 when not even one fits).
    pub fn max_batch_per_rank(&self, isl: u32, osl: u32) -> u32 {
        let knobs = engine_knobs(self.req.backend);
        let occupied = if knobs.kv_reserve_full {
            u64::from(isl) + u64::from(osl)
        } else {
            u64::from(isl) + u64::from(osl) / 2
        };
        if !self.main.kv.fits {
            return 0;
        }
        let seqs = self.main.kv_seqs(occupied.max(1));
        seqs.min(f64::from(knobs.max_seqs)).floor().max(0.0) as u32
    }

    /// Time for one attention-DP rank of an idle engine to prefill
    /// `prompts` prompts of `isl` tokens (chunked by the token budget), plus
    /// the engine's fixed first-token cost: the TTFT of the last of them.
    pub fn lone_prefill_ms(&self, isl: u32, prompts: u32) -> f64 {
        let c = self.constants();
        let side = self.side_for_role(true);
        let e = self.engine(side, &c);
        let isl = f64::from(isl.max(1));
        let pc = e.pieces(isl, isl, 1.0);
        e.prefill_ms(&pc, isl * f64::from(prompts.max(1))) + c.ttft_ms
    }

    /// Hand-off of one prompt's KV cache from a prefill worker to a decode
    /// worker (fixed cost plus the bytes over the link), ms.
    pub fn kv_handoff_ms(&self, isl: u32) -> f64 {
        let c = self.constants();
        let side = self.side_for_role(true);
        c.kv_handoff_ms + self.kv_transfer_ms(side, u64::from(isl), &c)
    }

    /// Decode step time (the ITL) of one attention-DP rank running each of
    /// `batches` sequences at a mean context of `ctx` tokens, ms.
    pub fn lone_decode_ms(&self, ctx: f64, batches: &[f64]) -> Vec<f64> {
        let c = self.constants();
        let e = self.engine(&self.main, &c);
        let top = batches.iter().copied().fold(1.0_f64, f64::max);
        let pc = e.pieces(ctx.max(1.0), ctx.max(1.0), top);
        batches
            .iter()
            .map(|&b| e.step_ms(&pc, b.max(1.0), 0.0))
            .collect()
    }
}
