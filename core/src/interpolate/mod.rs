//! Interpolation data for the planner and the mocker (SPEC §6): the picked
//! prefill engine's TTFT over ISL, the picked decode engine's ITL over KV
//! usage and context length; the fitted surfaces the planner looks up; and
//! the planner's scaling bounds.

mod surface;

pub use surface::{DecodeSurface, PrefillSurface};

use serde::Serialize;

use crate::catalog::model::ModelArch;
use crate::catalog::system::SystemSpec;
use crate::perf::{PerfError, Prepared, QuantOverrides};
use crate::plan::{ConcreteBackend, DecodeProfile, PrefillProfile, ProfileData};
use crate::search::{DEP_PREFILL_BURST, Mapping, MappingKind, batch_grid};
use crate::spec::SlaTarget;

/// SPEC §6 default granularities.
pub const PREFILL_GRANULARITY: u32 = 16;
pub const DECODE_GRANULARITY: u32 = 6;
/// The smallest ISL of the sweeps.
pub const MIN_ISL: u32 = 100;
/// Room kept below the model's context for the output.
pub const CONTEXT_MARGIN: u32 = 512;
/// Context used when neither the model nor the workload says one.
pub const FALLBACK_CONTEXT: u32 = 8192;

/// `maxctx`: the model's `max_position_embeddings`, else `2 × isl`, else 8192.
pub fn max_context(model: &ModelArch, isl: u32) -> u32 {
    if model.max_position_embeddings > 0 {
        u32::try_from(model.max_position_embeddings).unwrap_or(u32::MAX)
    } else if isl > 0 {
        isl.saturating_mul(2)
    } else {
        FALLBACK_CONTEXT
    }
}

/// `n` evenly spaced whole numbers from `lo` to `hi` (both included),
/// without repeats.
pub fn linspace(lo: u32, hi: u32, n: u32) -> Vec<u32> {
    let hi = hi.max(lo);
    if n <= 1 || hi == lo {
        return vec![lo];
    }
    let step = f64::from(hi - lo) / f64::from(n - 1);
    let mut v: Vec<u32> = (0..n)
        .map(|i| lo + (step * f64::from(i)).round() as u32)
        .collect();
    v.dedup();
    v
}

/// The engines the curves are for.
#[derive(Debug, Clone, Copy)]
pub struct CurveInput<'a> {
    pub model: &'a ModelArch,
    pub system: &'a SystemSpec,
    pub backend: ConcreteBackend,
    pub quant: QuantOverrides,
    pub isl: u32,
    pub osl: u32,
    pub prefill: Mapping,
    pub decode: Mapping,
    pub prefill_granularity: u32,
    pub decode_granularity: u32,
}

fn prepared<'a>(input: &CurveInput<'a>, m: &Mapping) -> Result<Prepared<'a>, PerfError> {
    Prepared::engine_alone(
        input.model,
        input.system,
        input.backend.into(),
        m.parallel,
        input.quant,
        input.isl,
        input.osl,
    )
}

/// The prefill sweep: TTFT and prompt throughput per GPU over ISL.
pub fn prefill_profile(input: &CurveInput<'_>) -> Result<PrefillProfile, PerfError> {
    let p = prepared(input, &input.prefill)?;
    let maxctx = max_context(input.model, input.isl);
    // A prompt must fit one rank's KV cache.
    let kv_cap = u32::try_from(p.kv_tokens_per_rank(input.isl.saturating_add(input.osl)))
        .unwrap_or(u32::MAX);
    let hi = maxctx
        .saturating_sub(CONTEXT_MARGIN)
        .min(kv_cap)
        .max(MIN_ISL);
    let gpus = f64::from(input.prefill.gpus.max(1));
    let dep = input.prefill.kind == MappingKind::Dep;
    let mut out = PrefillProfile::default();
    for isl in linspace(MIN_ISL, hi, input.prefill_granularity.max(2)) {
        let (ttft, prompts) = if dep {
            let n = DEP_PREFILL_BURST;
            (p.lone_prefill_ms(isl, n) / f64::from(n), 1.0)
        } else {
            (p.lone_prefill_ms(isl, 1), 1.0)
        };
        let thpt = prompts * f64::from(isl) / ttft.max(1e-9) * 1000.0 / gpus;
        out.prefill_isl.push(f64::from(isl));
        out.prefill_ttft.push(ttft);
        out.prefill_thpt_per_gpu.push(thpt);
    }
    Ok(out)
}

/// The decode sweep: ITL and output throughput per GPU over KV usage and
/// context length.
pub fn decode_profile(input: &CurveInput<'_>) -> Result<DecodeProfile, PerfError> {
    let p = prepared(input, &input.decode)?;
    let dp = input.decode.parallel.dp.max(1);
    let gpus = f64::from(input.decode.gpus.max(1));
    let per_rank = p.kv_tokens_per_rank(input.isl.saturating_add(input.osl));
    let max_kv_tokens = per_rank.saturating_mul(u64::from(dp));
    let maxctx = max_context(input.model, input.isl);
    let half_osl = input.osl / 2;
    let top_isl = maxctx.saturating_sub(CONTEXT_MARGIN).max(MIN_ISL);
    let seq_limit = p.max_batch_per_rank(1, 1).max(1);
    let mut out = DecodeProfile {
        max_kv_tokens,
        ..DecodeProfile::default()
    };
    for isl in linspace(MIN_ISL, top_isl, input.decode_granularity.max(2)) {
        let ctx = isl.saturating_add(half_osl);
        // Sequences of this context one rank holds.
        let fit = u32::try_from(per_rank / u64::from(ctx.max(1))).unwrap_or(u32::MAX);
        let max_b = fit.min(seq_limit);
        if max_b == 0 {
            continue;
        }
        let grid = batch_grid(max_b);
        let batches: Vec<f64> = grid.iter().map(|&b| f64::from(b)).collect();
        let itls = p.lone_decode_ms(f64::from(ctx), &batches);
        for (b, itl) in grid.iter().zip(itls) {
            let inflight = f64::from(b.saturating_mul(dp));
            let usage = if max_kv_tokens > 0 {
                (inflight * f64::from(ctx) / max_kv_tokens as f64).min(1.0)
            } else {
                0.0
            };
            out.x_kv_usage.push(usage);
            out.y_context_length.push(f64::from(ctx));
            out.z_itl.push(itl);
            out.z_thpt_per_gpu
                .push(inflight * 1000.0 / itl.max(1e-9) / gpus);
        }
    }
    Ok(out)
}

/// Both sweeps.
pub fn profile_data(input: &CurveInput<'_>) -> Result<ProfileData, PerfError> {
    Ok(ProfileData {
        prefill: prefill_profile(input)?,
        decode: decode_profile(input)?,
    })
}

/// Scaling bounds for the planner (from the older profiler): when to add or
/// remove prefill and decode workers, from how close the pick runs to the SLA.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlannerBounds {
    /// Prompts waiting per prefill worker above which a worker is added: the
    /// queue that still meets the TTFT target.
    pub prefill_queue_size_upper_bound: f64,
    /// Below this, a prefill worker can go.
    pub prefill_queue_size_lower_bound: f64,
    /// KV-cache utilisation of a decode worker above which one is added:
    /// where the ITL reaches its target (at most 0.95).
    pub decode_kv_cache_utilization_upper_bound: f64,
    pub decode_kv_cache_utilization_lower_bound: f64,
}

/// Hysteresis between adding and removing workers.
const LOWER_SHARE: f64 = 0.5;
/// KV utilisation never planned above this (eviction and fragmentation).
const KV_CEILING: f64 = 0.95;

/// The planner's bounds for the picked engines.
pub fn planner_bounds(
    sla: &SlaTarget,
    osl: u32,
    prefill: &PrefillSurface,
    decode: &DecodeSurface,
    isl: u32,
) -> PlannerBounds {
    let ctx = f64::from(isl) + f64::from(osl) / 2.0;
    let ttft = prefill.ttft_ms(f64::from(isl));
    let (ttft_target, itl_target) = match *sla {
        SlaTarget::TtftItl { ttft_ms, itl_ms } => (ttft_ms, itl_ms),
        // Half the budget for the first token, half for the rest.
        SlaTarget::E2e { e2e_ms } => (e2e_ms / 2.0, e2e_ms / 2.0 / f64::from(osl.max(2) - 1)),
    };
    let queue_upper = (ttft_target / ttft.max(1e-9) - 1.0).max(0.0);
    let kv_upper = decode.kv_usage_at_itl(itl_target, ctx).min(KV_CEILING);
    PlannerBounds {
        prefill_queue_size_upper_bound: queue_upper,
        prefill_queue_size_lower_bound: queue_upper * LOWER_SHARE,
        decode_kv_cache_utilization_upper_bound: kv_upper,
        decode_kv_cache_utilization_lower_bound: kv_upper * LOWER_SHARE,
    }
}

#[cfg(test)]
mod tests;
