//! Picking (SPEC §4): from the search's rows to one deployment.
//!
//! - **default**: the most throughput per GPU the whole budget delivers;
//! - **load_match**: the fewest GPUs that serve the stated load;
//! - **autoscale**: a prefill and a decode engine picked on their own, one
//!   worker each, for the planner to scale.
//!
//! A tight SLA never fails a run: when no row meets it, the closest row is
//! taken and the targets it achieves are reported (and written into the
//! planner config by the assembly).

mod sla;

use serde::Serialize;

use crate::catalog::model::KvCacheDtype;
use crate::plan::{
    AchievedTargets, ConcreteBackend, DeploymentPlan, Engine, EngineConfig, Topology,
};
use crate::search::{
    DecodeEngine, DecodePoint, EngineSettings, Mapping, PrefillEngine, Row, SearchResult,
    ServingMode, pareto,
};
use crate::spec::planner::PlannerMode;
use crate::spec::{Load, PickingMode, ResolvedSpec, SlaTarget};
pub use sla::{SlaCheck, meets, violation};

/// How many ranked rows a pick reports.
pub const TOP: usize = 5;
/// SPEC §4: a prefill engine for the planner needs this much TTFT headroom.
pub const AUTOSCALE_TTFT_HEADROOM: f64 = 1.8;

/// A row with the numbers its mode ranked it by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub row: Row,
    /// Replicas of the row's unit.
    pub replicas: u32,
    /// GPUs all replicas use.
    pub total_gpus: u32,
    /// Default mode: output tokens/s per GPU of the whole budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_tokens_per_s_per_gpu: Option<f64>,
    /// Whether it meets the SLA.
    pub meets_sla: bool,
}

/// The autoscale pick: engines chosen independently.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnginePick {
    pub prefill: PrefillEngine,
    pub decode_mapping: Mapping,
    pub decode_point: DecodePoint,
    pub decode_settings: EngineSettings,
    pub decode_max_batch_per_rank: u32,
}

/// The outcome of picking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pick {
    pub mode: PickingMode,
    pub plan: DeploymentPlan,
    /// The picked row (default and load_match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen: Option<Ranked>,
    /// Autoscale: the prefill and decode engines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engines: Option<EnginePick>,
    /// The best rows in ranking order, one per parallel mapping (the pick first).
    pub top: Vec<Ranked>,
    /// Best aggregated and disaggregated rows, each its mode's best, for the summary.
    pub best_agg: Vec<Ranked>,
    pub best_disagg: Vec<Ranked>,
    pub sla_met: bool,
    /// Load-match capped by the budget: the share of the load served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_served_pct: Option<f64>,
    pub total_gpus_used: u32,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

/// Why nothing can be picked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PickError {
    #[error("the search produced no deployable row{0}")]
    NoRows(String),
    /// The request needs separate prefill and decode engines, and two of
    /// the smallest do not fit the budget.
    #[error(
        "{needed_by} needs a disaggregated deployment: a prefill and a decode engine of at least {smallest_pair} GPUs together, but the budget is {total} GPUs"
    )]
    DisaggDoesNotFit {
        needed_by: &'static str,
        smallest_pair: u32,
        total: u32,
    },
}

impl PickError {
    /// The field to change, for errors that come from the request.
    pub fn path(&self) -> Option<&'static str> {
        match self {
            PickError::DisaggDoesNotFit { .. } => Some("spec.hardware.totalGpus"),
            PickError::NoRows(_) => None,
        }
    }
}

/// GPUs of the smallest disaggregated pair the search found (2 when it
/// found no engine at all).
fn smallest_pair(s: &SearchResult) -> u32 {
    s.smallest_disagg_pair().unwrap_or(2)
}

/// The Pareto frontiers (tokens/s/GPU against tokens/s/user) of the agg and
/// the disagg rows, as indices into `rows`.
pub fn frontiers(rows: &[Row]) -> (Vec<usize>, Vec<usize>) {
    let of = |mode: ServingMode| {
        let idx: Vec<usize> = (0..rows.len())
            .filter(|&i| rows.get(i).is_some_and(|r| r.mode == mode))
            .collect();
        let pts: Vec<(f64, f64)> = idx
            .iter()
            .filter_map(|&i| rows.get(i))
            .map(|r| (r.tokens_per_s_per_gpu, r.tokens_per_s_per_user))
            .collect();
        pareto::frontier(&pts)
            .into_iter()
            .filter_map(|k| idx.get(k).copied())
            .collect::<Vec<_>>()
    };
    (of(ServingMode::Agg), of(ServingMode::Disagg))
}

/// Picks a deployment for `spec` from `search`.
pub fn pick(spec: &ResolvedSpec, search: &SearchResult) -> Result<Pick, PickError> {
    let mode = spec.picking_mode();
    let total = search.total_gpus;
    let needs_data = spec.needs_profile_data();
    let mut notes = Vec::new();
    let mut warnings = Vec::new();
    let ctx = Ctx {
        spec,
        search,
        total,
    };
    let mut out = match mode {
        PickingMode::Autoscale => {
            let planner_agg = spec
                .planner
                .as_ref()
                .is_some_and(|p| p.mode == PlannerMode::Agg);
            if planner_agg && !needs_data {
                // One aggregated worker; the planner adds replicas.
                let mut p = ctx.ranked_pick(mode, ServingMode::Agg, &mut notes, &mut warnings)?;
                if let Topology::Agg { worker } = &mut p.plan.topology {
                    worker.replicas = 1;
                }
                if let Some(c) = &mut p.chosen {
                    c.replicas = 1;
                    c.total_gpus = c.row.gpus;
                    p.total_gpus_used = c.row.gpus;
                }
                p.notes.push(
                    "autoscale: one aggregated worker; the planner adds replicas at run time within the budget".into(),
                );
                p
            } else {
                ctx.autoscale(&mut warnings)?
            }
        }
        PickingMode::Default | PickingMode::LoadMatch => {
            let first = ctx.ranked_pick(mode, ServingModeFilter::Any, &mut notes, &mut warnings)?;
            let is_agg = first
                .chosen
                .as_ref()
                .is_some_and(|c| c.row.mode == ServingMode::Agg);
            if is_agg && needs_data {
                let why = if spec.mocker {
                    "the mocker"
                } else {
                    "the planner's throughput scaling"
                };
                let mut n2 = Vec::new();
                let mut w2 = Vec::new();
                match ctx.ranked_pick(mode, ServingMode::Disagg, &mut n2, &mut w2) {
                    Ok(p) => {
                        notes.push(format!(
                            "the best configuration is aggregated ({}), but {why} needs separate prefill and decode curves: using the best disaggregated configuration",
                            first.chosen.as_ref().map(|c| c.row.label()).unwrap_or_default()
                        ));
                        notes.extend(n2);
                        warnings = w2;
                        p
                    }
                    Err(_) => {
                        return Err(PickError::DisaggDoesNotFit {
                            needed_by: why,
                            smallest_pair: smallest_pair(search),
                            total,
                        });
                    }
                }
            } else {
                first
            }
        }
    };
    out.warnings.splice(0..0, warnings);
    out.notes.splice(0..0, notes);
    out.best_agg = ctx.best_of(mode, ServingMode::Agg);
    out.best_disagg = ctx.best_of(mode, ServingMode::Disagg);
    Ok(out)
}

/// Which rows a ranked pick considers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServingModeFilter {
    Any,
    Only(ServingMode),
}

impl From<ServingMode> for ServingModeFilter {
    fn from(m: ServingMode) -> Self {
        ServingModeFilter::Only(m)
    }
}

impl ServingModeFilter {
    fn admits(self, r: &Row) -> bool {
        match self {
            ServingModeFilter::Any => true,
            ServingModeFilter::Only(m) => r.mode == m,
        }
    }
}

struct Ctx<'a> {
    spec: &'a ResolvedSpec,
    search: &'a SearchResult,
    total: u32,
}

impl Ctx<'_> {
    fn sla(&self) -> SlaTarget {
        self.spec.sla
    }

    /// Replicas and ranking numbers of a row under the picking mode.
    fn rank(&self, mode: PickingMode, r: &Row) -> Ranked {
        let gpus = r.gpus.max(1);
        let fit = self.total / gpus;
        let meets_sla = meets(&self.sla(), r);
        match (mode, self.spec.workload.load) {
            (PickingMode::LoadMatch, Some(load)) => {
                let needed = replicas_for(load, r);
                Ranked {
                    row: r.clone(),
                    replicas: needed,
                    total_gpus: needed.saturating_mul(gpus),
                    cluster_tokens_per_s_per_gpu: None,
                    meets_sla,
                }
            }
            _ => {
                let cluster = r.tokens_per_s_per_gpu * f64::from(fit) * f64::from(gpus)
                    / f64::from(self.total.max(1));
                Ranked {
                    row: r.clone(),
                    replicas: fit,
                    total_gpus: fit.saturating_mul(gpus),
                    cluster_tokens_per_s_per_gpu: Some(cluster),
                    meets_sla,
                }
            }
        }
    }

    fn ranked_rows(&self, mode: PickingMode, filter: ServingModeFilter) -> Vec<Ranked> {
        self.search
            .rows
            .iter()
            .filter(|r| filter.admits(r) && r.gpus <= self.total && r.seq_per_s > 0.0)
            .map(|r| self.rank(mode, r))
            .collect()
    }

    /// Best per mapping, sorted by the mode's order.
    fn order(&self, mode: PickingMode, mut v: Vec<Ranked>) -> Vec<Ranked> {
        let better = |a: &Ranked, b: &Ranked| cmp_rank(mode, a, b) == std::cmp::Ordering::Less;
        let mut best: std::collections::BTreeMap<_, Ranked> = std::collections::BTreeMap::new();
        for r in v.drain(..) {
            let key = r.row.mapping_key();
            match best.get(&key) {
                Some(cur) if !better(&r, cur) => {}
                _ => {
                    best.insert(key, r);
                }
            }
        }
        let mut out: Vec<Ranked> = best.into_values().collect();
        out.sort_by(|a, b| cmp_rank(mode, a, b));
        out
    }

    /// The best rows of one serving mode, ranked as the pick ranks them
    /// (SLA first, the budget respected, capped when the load needs more).
    fn best_of(&self, mode: PickingMode, serving: ServingMode) -> Vec<Ranked> {
        let (mut notes, mut warnings) = (Vec::new(), Vec::new());
        self.ranked_pick(mode, serving, &mut notes, &mut warnings)
            .map(|p| p.top)
            .unwrap_or_default()
    }

    fn ranked_pick(
        &self,
        mode: PickingMode,
        filter: impl Into<ServingModeFilter>,
        notes: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) -> Result<Pick, PickError> {
        let filter = filter.into();
        let rows = self.ranked_rows(mode, filter);
        if rows.is_empty() {
            return Err(PickError::NoRows(match filter {
                ServingModeFilter::Any => String::new(),
                ServingModeFilter::Only(m) => format!(
                    " in {} mode",
                    match m {
                        ServingMode::Agg => "aggregated",
                        ServingMode::Disagg => "disaggregated",
                    }
                ),
            }));
        }
        let meeting: Vec<Ranked> = rows.iter().filter(|r| r.meets_sla).cloned().collect();
        let sla_met = !meeting.is_empty();
        let pool = if sla_met {
            meeting
        } else {
            warnings.extend(sla::unachievable(
                &self.sla(),
                &rows,
                self.spec.workload.osl,
            ));
            let closest = sla::closest(&self.sla(), rows);
            notes.push(
                "no configuration meets the SLA: picked the closest (smallest relative excess over the targets)".into(),
            );
            closest
        };
        let mut load_served_pct = None;
        let mut ordered = self.order(mode, pool.clone());
        if mode == PickingMode::LoadMatch {
            let fitting: Vec<Ranked> = ordered
                .iter()
                .filter(|r| r.total_gpus <= self.total)
                .cloned()
                .collect();
            if fitting.is_empty() {
                // Cap at the budget and serve what it can.
                let load = self.spec.workload.load;
                let mut capped: Vec<(f64, Ranked)> = pool
                    .into_iter()
                    .map(|mut r| {
                        let gpus = r.row.gpus.max(1);
                        r.replicas = (self.total / gpus).max(1);
                        r.total_gpus = r.replicas.saturating_mul(gpus);
                        let served = load.map_or(100.0, |l| served_pct(l, &r));
                        (served, r)
                    })
                    .collect();
                capped.sort_by(|a, b| {
                    b.0.total_cmp(&a.0)
                        .then(a.1.total_gpus.cmp(&b.1.total_gpus))
                        .then(
                            b.1.row
                                .tokens_per_s_per_gpu
                                .total_cmp(&a.1.row.tokens_per_s_per_gpu),
                        )
                });
                let needed = ordered.first().map_or(0, |r| r.total_gpus);
                let pct = capped.first().map_or(0.0, |c| c.0);
                warnings.push(format!(
                    "the load needs {needed} GPUs, more than the {} available: capped at the budget, serving {pct:.1}% of it",
                    self.total
                ));
                load_served_pct = Some(pct);
                ordered = capped.into_iter().map(|(_, r)| r).collect();
                ordered = dedupe(ordered);
            } else {
                ordered = fitting;
            }
        }
        ordered.truncate(TOP);
        let chosen = ordered
            .first()
            .cloned()
            .ok_or_else(|| PickError::NoRows(String::new()))?;
        let plan = self.plan_for(&chosen)?;
        Ok(Pick {
            mode,
            total_gpus_used: chosen.total_gpus,
            plan,
            chosen: Some(chosen),
            engines: None,
            top: ordered,
            best_agg: Vec::new(),
            best_disagg: Vec::new(),
            sla_met,
            load_served_pct,
            warnings: Vec::new(),
            notes: Vec::new(),
        })
    }

    fn plan_for(&self, r: &Ranked) -> Result<DeploymentPlan, PickError> {
        let row = &r.row;
        let s = self.search;
        let max_seq_len = s.isl.saturating_add(s.osl);
        let moe = row.mapping.parallel.moe_ep > 1 || is_moe_search(s);
        let topology = match row.mode {
            ServingMode::Agg => {
                let e = s
                    .agg
                    .get(row.engine_index)
                    .ok_or_else(|| PickError::NoRows(" (internal: engine index)".into()))?;
                Topology::Agg {
                    worker: Engine {
                        config: engine_config(
                            row.backend,
                            &row.mapping,
                            row.batch_per_rank,
                            e.settings.token_budget,
                            max_seq_len,
                            &e.settings,
                        ),
                        replicas: r.replicas,
                    },
                }
            }
            ServingMode::Disagg => {
                let p = row
                    .prefill_index
                    .and_then(|i| s.prefill.get(i))
                    .ok_or_else(|| PickError::NoRows(" (internal: prefill index)".into()))?;
                let d = s
                    .decode
                    .get(row.engine_index)
                    .ok_or_else(|| PickError::NoRows(" (internal: decode index)".into()))?;
                Topology::Disagg {
                    prefill: prefill_engine(
                        p,
                        s.isl,
                        max_seq_len,
                        r.replicas.saturating_mul(row.prefill_workers),
                    ),
                    decode: Engine {
                        config: engine_config(
                            row.backend,
                            &row.mapping,
                            row.batch_per_rank,
                            d.settings.token_budget,
                            max_seq_len,
                            &d.settings,
                        ),
                        replicas: r.replicas.saturating_mul(row.decode_workers),
                    },
                }
            }
        };
        Ok(DeploymentPlan {
            backend: row.backend,
            moe,
            moe_top_k: s.moe_top_k,
            topology,
            achieved: Some(AchievedTargets {
                ttft_ms: row.ttft_ms,
                itl_ms: row.tpot_ms,
                request_latency_ms: Some(row.request_latency_ms),
            }),
        })
    }

    /// SPEC §4 autoscale: the best prefill engine with TTFT headroom and the
    /// best decode operating point under the ITL target, of one backend.
    fn autoscale(&self, warnings: &mut Vec<String>) -> Result<Pick, PickError> {
        let s = self.search;
        let osl = f64::from(s.osl.max(1));
        let sla = self.sla();
        let mut best: Option<((u8, f64, f64), EnginePick)> = None;
        for &backend in &s.backends {
            let pre: Vec<&PrefillEngine> = s
                .prefill
                .iter()
                .filter(|p| p.backend == backend && p.mapping.gpus <= self.total)
                .collect();
            let dec: Vec<(&DecodeEngine, &DecodePoint)> = s
                .decode
                .iter()
                .filter(|d| d.backend == backend)
                .flat_map(|d| d.points.iter().map(move |pt| (d, pt)))
                .collect();
            for (d, pt) in &dec {
                for p in &pre {
                    if p.mapping.gpus.saturating_add(d.mapping.gpus) > self.total {
                        continue;
                    }
                    let ttft = p.ttft_ms + p.kv_handoff_ms;
                    let ok = match sla {
                        SlaTarget::TtftItl { ttft_ms, itl_ms } => {
                            ttft * AUTOSCALE_TTFT_HEADROOM < ttft_ms && pt.itl_ms < itl_ms
                        }
                        SlaTarget::E2e { e2e_ms } => {
                            ttft * AUTOSCALE_TTFT_HEADROOM + pt.itl_ms * (osl - 1.0) < e2e_ms
                        }
                    };
                    // Meeting the SLA first; then decode throughput per GPU,
                    // then prefill's; without any pair meeting it, the closest.
                    let key = if ok {
                        (1, pt.thpt_per_gpu, p.thpt_per_gpu)
                    } else {
                        let v = match sla {
                            SlaTarget::TtftItl { ttft_ms, itl_ms } => {
                                (ttft * AUTOSCALE_TTFT_HEADROOM / ttft_ms.max(1e-9))
                                    .max(pt.itl_ms / itl_ms.max(1e-9))
                            }
                            SlaTarget::E2e { e2e_ms } => {
                                (ttft * AUTOSCALE_TTFT_HEADROOM + pt.itl_ms * (osl - 1.0))
                                    / e2e_ms.max(1e-9)
                            }
                        };
                        (0, -v, pt.thpt_per_gpu)
                    };
                    let better = best.as_ref().is_none_or(|(bk, _)| {
                        key.0
                            .cmp(&bk.0)
                            .then(key.1.total_cmp(&bk.1))
                            .then(key.2.total_cmp(&bk.2))
                            .is_gt()
                    });
                    if better {
                        best = Some((
                            key,
                            EnginePick {
                                prefill: (*p).clone(),
                                decode_mapping: d.mapping,
                                decode_point: **pt,
                                decode_settings: d.settings,
                                decode_max_batch_per_rank: d.max_batch_per_rank,
                            },
                        ));
                    }
                }
            }
        }
        let (key, e) = best.ok_or_else(|| PickError::DisaggDoesNotFit {
            needed_by: "the planner",
            smallest_pair: smallest_pair(s),
            total: self.total,
        })?;
        let ok = key.0 == 1;
        let ttft = e.prefill.ttft_ms + e.prefill.kv_handoff_ms;
        let itl = e.decode_point.itl_ms;
        if !ok {
            warnings.extend(sla::unachievable_engines(&sla, ttft, itl, osl));
        }
        let max_seq_len = s.isl.saturating_add(s.osl);
        let plan = DeploymentPlan {
            backend: e.prefill.backend,
            moe: is_moe_search(s),
            moe_top_k: s.moe_top_k,
            topology: Topology::Disagg {
                prefill: prefill_engine(&e.prefill, s.isl, max_seq_len, 1),
                decode: Engine {
                    config: engine_config(
                        e.prefill.backend,
                        &e.decode_mapping,
                        e.decode_point.batch_per_rank,
                        e.decode_settings.token_budget,
                        max_seq_len,
                        &e.decode_settings,
                    ),
                    replicas: 1,
                },
            },
            achieved: Some(AchievedTargets {
                ttft_ms: ttft,
                itl_ms: itl,
                request_latency_ms: Some(ttft + itl * (osl - 1.0)),
            }),
        };
        let used = e.prefill.mapping.gpus.saturating_add(e.decode_mapping.gpus);
        Ok(Pick {
            mode: PickingMode::Autoscale,
            plan,
            chosen: None,
            engines: Some(e),
            top: Vec::new(),
            best_agg: Vec::new(),
            best_disagg: Vec::new(),
            sla_met: ok,
            load_served_pct: None,
            total_gpus_used: used,
            warnings: Vec::new(),
            notes: vec![
                "autoscale: one prefill and one decode worker; the planner adds replicas at run time within the budget".into(),
            ],
        })
    }
}

fn is_moe_search(s: &SearchResult) -> bool {
    s.agg
        .iter()
        .any(|a| a.mapping.parallel.moe_ep > 1 || a.mapping.parallel.dp > 1)
        || s.decode.iter().any(|d| d.mapping.parallel.moe_ep > 1)
}

fn dedupe(v: Vec<Ranked>) -> Vec<Ranked> {
    let mut seen = std::collections::BTreeSet::new();
    v.into_iter()
        .filter(|r| seen.insert(r.row.mapping_key()))
        .collect()
}

/// Replicas of a row's unit the load needs.
fn replicas_for(load: Load, r: &Row) -> u32 {
    let n = match load {
        Load::RequestRate(rate) => rate / r.seq_per_s.max(1e-9),
        Load::Concurrency(c) => c / f64::from(r.concurrency.max(1)),
    };
    n.ceil().clamp(1.0, f64::from(u32::MAX)) as u32
}

fn served_pct(load: Load, r: &Ranked) -> f64 {
    let cap = match load {
        Load::RequestRate(rate) => f64::from(r.replicas) * r.row.seq_per_s / rate.max(1e-9),
        Load::Concurrency(c) => f64::from(r.replicas) * f64::from(r.row.concurrency) / c.max(1e-9),
    };
    (cap * 100.0).min(100.0)
}

fn cmp_rank(mode: PickingMode, a: &Ranked, b: &Ranked) -> std::cmp::Ordering {
    let (ra, rb) = (&a.row, &b.row);
    match mode {
        PickingMode::LoadMatch => a
            .total_gpus
            .cmp(&b.total_gpus)
            .then(rb.tokens_per_s_per_gpu.total_cmp(&ra.tokens_per_s_per_gpu))
            .then(
                rb.tokens_per_s_per_user
                    .total_cmp(&ra.tokens_per_s_per_user),
            ),
        _ => {
            let ca = a.cluster_tokens_per_s_per_gpu.unwrap_or(0.0);
            let cb = b.cluster_tokens_per_s_per_gpu.unwrap_or(0.0);
            cb.total_cmp(&ca).then(
                rb.tokens_per_s_per_user
                    .total_cmp(&ra.tokens_per_s_per_user),
            )
        }
    }
    // Deterministic last resort: the mapping, then the operating point.
    .then_with(|| ra.mapping_key().cmp(&rb.mapping_key()))
    .then(ra.batch_per_rank.cmp(&rb.batch_per_rank))
}

fn kv_dtype(s: &EngineSettings) -> Option<KvCacheDtype> {
    s.kv_fp8.then_some(KvCacheDtype::Fp8)
}

fn block_size(backend: ConcreteBackend) -> Option<u32> {
    // SPEC §5.3: TRT-LLM's KV blocks are 32 tokens.
    (backend == ConcreteBackend::Trtllm).then_some(32)
}

fn engine_config(
    backend: ConcreteBackend,
    mapping: &Mapping,
    batch_per_rank: u32,
    token_budget: u32,
    max_seq_len: u32,
    settings: &EngineSettings,
) -> EngineConfig {
    let dp = mapping.parallel.dp.max(1);
    let max_batch = batch_per_rank.max(1).saturating_mul(dp);
    EngineConfig {
        parallel: mapping.parallel,
        max_batch_size: max_batch,
        // vLLM refuses a step budget below its sequence limit.
        max_num_tokens: token_budget.max(max_batch),
        max_seq_len,
        kv_cache_dtype: kv_dtype(settings),
        block_size: block_size(backend),
        gpu_memory_fraction: None,
    }
}

fn prefill_engine(p: &PrefillEngine, isl: u32, max_seq_len: u32, replicas: u32) -> Engine {
    let dp = p.mapping.parallel.dp.max(1);
    let per_rank = if p.mapping.parallel.dp > 1 {
        crate::search::DEP_PREFILL_BURST
    } else {
        1
    };
    Engine {
        config: EngineConfig {
            parallel: p.mapping.parallel,
            max_batch_size: per_rank.saturating_mul(dp),
            max_num_tokens: p.settings.token_budget.max(isl),
            max_seq_len,
            kv_cache_dtype: kv_dtype(&p.settings),
            block_size: block_size(p.backend),
            gpu_memory_fraction: None,
        },
        replicas: replicas.max(1),
    }
}

#[cfg(test)]
mod tests;
