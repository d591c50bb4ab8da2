//! Candidate search (SPEC §3): every parallel mapping of every backend the
//! request allows, characterised by the performance model as a prefill
//! engine, a decode engine and an aggregated engine, then combined into
//! deployable rows — aggregated engines at each concurrency, and
//! disaggregated prefill/decode pairs at each decode batch and worker ratio.
//!
//! The rows are what the picker ([`crate::pick`]) chooses from; the engine
//! characterisations are what the plots and `webui_data.json` show. Mappings
//! that cannot run are kept in [`SearchResult::rejected`] with the reason.

pub mod layouts;
pub mod pareto;

use serde::Serialize;

use crate::catalog::model::ModelArch;
use crate::catalog::system::SystemSpec;
use crate::perf::{self, Mode, PerfError, Prepared, QuantOverrides};
use crate::plan::{ConcreteBackend, Parallel};
use crate::spec::{Backend, ResolvedSpec};
use layouts::{EngineBounds, MAX_NODES_DENSE, MAX_NODES_MOE};

/// The prefill:decode worker ratios tried are `x:y` with `x, y ≤ MAX_WORKERS`
/// (coprime; larger multiples are replicas of the same unit).
pub const MAX_WORKERS: u32 = 8;
/// SPEC §3.3: prefill and decode capacity are derated when combined, for the
/// queueing that a perfectly balanced pair would suffer.
pub const PREFILL_DERATE: f64 = 0.9;
pub const DECODE_DERATE: f64 = 0.92;
/// SPEC §3.2: a DEP prefill engine is measured with a burst of this many
/// prompts per attention-DP rank, its TTFT the burst's time divided by it.
pub const DEP_PREFILL_BURST: u32 = 4;

/// How an engine's GPUs are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MappingKind {
    /// Tensor parallelism (experts split the same way).
    Tp,
    /// Attention TP, experts by expert parallelism.
    Tep,
    /// Attention data parallelism, experts by expert parallelism.
    Dep,
}

impl MappingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MappingKind::Tp => "TP",
            MappingKind::Tep => "TEP",
            MappingKind::Dep => "DEP",
        }
    }
}

/// A parallel mapping of one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Mapping {
    pub kind: MappingKind,
    pub parallel: Parallel,
    pub gpus: u32,
}

impl Mapping {
    pub fn new(kind: MappingKind, parallel: Parallel) -> Mapping {
        Mapping {
            kind,
            parallel,
            gpus: parallel.gpus().unwrap_or(u32::MAX),
        }
    }

    /// `TP4`, `DEP16`, `TP8·PP2`.
    pub fn label(&self) -> String {
        let n = match self.kind {
            MappingKind::Tp => self.parallel.tp,
            MappingKind::Tep => self.parallel.tp,
            MappingKind::Dep => self.parallel.dp,
        };
        if self.parallel.pp > 1 {
            format!("{}{n}·PP{}", self.kind.as_str(), self.parallel.pp)
        } else {
            format!("{}{n}", self.kind.as_str())
        }
    }
}

/// A mapping that is no candidate, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub backend: ConcreteBackend,
    pub mapping: String,
    pub reason: String,
}

impl Rejected {
    pub fn mapping(
        backend: ConcreteBackend,
        kind: MappingKind,
        par: &Parallel,
        reason: String,
    ) -> Rejected {
        Rejected {
            backend,
            mapping: Mapping::new(kind, *par).label(),
            reason,
        }
    }
}

/// One engine as a prefill worker (SPEC §3.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrefillEngine {
    pub backend: ConcreteBackend,
    pub mapping: Mapping,
    /// TTFT of a prompt of the workload's ISL on an idle engine (for DEP the
    /// burst rule of SPEC §3.2), ms; without the KV hand-off.
    pub ttft_ms: f64,
    /// KV hand-off to a decode worker, ms (added to disaggregated TTFTs).
    pub kv_handoff_ms: f64,
    /// Prompts per second one worker prefills back to back.
    pub seq_per_s: f64,
    /// Prompt tokens per second per GPU.
    pub thpt_per_gpu: f64,
    pub settings: EngineSettings,
}

/// One point of a decode engine's sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DecodePoint {
    /// Sequences in flight on the whole engine (all attention-DP ranks).
    pub inflight: u32,
    /// Sequences per attention-DP rank.
    pub batch_per_rank: u32,
    pub itl_ms: f64,
    /// Requests per second one worker completes at this batch.
    pub seq_per_s: f64,
    /// Output tokens per second per GPU.
    pub thpt_per_gpu: f64,
}

/// One engine as a decode worker: ITL and throughput over in-flight
/// requests, from 1 to what its KV cache holds (SPEC §3.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecodeEngine {
    pub backend: ConcreteBackend,
    pub mapping: Mapping,
    /// Mean context of a decoding sequence, `isl + osl/2`.
    pub context_tokens: u32,
    /// KV-cache tokens of one attention-DP rank.
    pub kv_tokens_per_rank: u64,
    /// Most sequences of this workload one rank runs.
    pub max_batch_per_rank: u32,
    pub points: Vec<DecodePoint>,
    pub settings: EngineSettings,
}

/// Aggregated or disaggregated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServingMode {
    Agg,
    Disagg,
}

/// One deployable unit at one operating point: an aggregated engine at a
/// concurrency, or `x` prefill and `y` decode workers at a decode batch.
/// Replicas of the unit are decided by the picker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub mode: ServingMode,
    pub backend: ConcreteBackend,
    /// The aggregated engine, or the decode engine.
    pub mapping: Mapping,
    /// Disagg only: the prefill engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefill_mapping: Option<Mapping>,
    /// Prefill workers per unit (0 for agg).
    pub prefill_workers: u32,
    /// Decode (or aggregated) workers per unit.
    pub decode_workers: u32,
    /// Sequences per attention-DP rank of the decode (or aggregated) engine.
    pub batch_per_rank: u32,
    /// Requests in flight on the whole unit.
    pub concurrency: u32,
    pub ttft_ms: f64,
    pub tpot_ms: f64,
    pub request_latency_ms: f64,
    /// Requests per second the unit serves.
    pub seq_per_s: f64,
    pub tokens_per_s_per_gpu: f64,
    pub tokens_per_s_per_user: f64,
    /// GPUs of one unit (attention-DP GPUs counted once).
    pub gpus: u32,
    /// Index into [`SearchResult::prefill`] (disagg).
    #[serde(skip)]
    pub prefill_index: Option<usize>,
    /// Index into [`SearchResult::decode`] (disagg) or [`SearchResult::agg`].
    #[serde(skip)]
    pub engine_index: usize,
}

impl Row {
    /// The mapping key "best per parallel mapping" groups by.
    pub fn mapping_key(&self) -> (ServingMode, ConcreteBackend, Option<Mapping>, Mapping) {
        (self.mode, self.backend, self.prefill_mapping, self.mapping)
    }

    /// `TP4` (agg) or `2×TEP8 + 1×DEP16` (disagg).
    pub fn label(&self) -> String {
        match self.prefill_mapping {
            None => self.mapping.label(),
            Some(p) => format!(
                "{}×{} + {}×{}",
                self.prefill_workers,
                p.label(),
                self.decode_workers,
                self.mapping.label()
            ),
        }
    }
}

/// An aggregated engine: the mapping and its operating limits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AggEngine {
    pub backend: ConcreteBackend,
    pub mapping: Mapping,
    pub kv_tokens_per_rank: u64,
    pub max_batch_per_rank: u32,
    pub settings: EngineSettings,
}

/// Engine settings that follow from the model and the backend, not from the
/// operating point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EngineSettings {
    /// Tokens per engine step (the backend's default budget).
    pub token_budget: u32,
    /// An FP8 KV cache (the checkpoint's calibrated type or an override).
    pub kv_fp8: bool,
}

impl EngineSettings {
    fn of(p: &Prepared<'_>) -> EngineSettings {
        EngineSettings {
            token_budget: p.token_budget(),
            kv_fp8: p.quant().kv == perf::KvQuant::Fp8,
        }
    }
}

/// What to search.
#[derive(Debug, Clone, Copy)]
pub struct SearchInput<'a> {
    pub model: &'a ModelArch,
    pub system: &'a SystemSpec,
    /// `auto` searches every backend with measured tables for the system.
    pub backend: Backend,
    pub isl: u32,
    pub osl: u32,
    pub total_gpus: u32,
    pub gpus_per_node: u32,
    /// The user's bounds on GPUs per engine.
    pub min_gpus_per_engine: Option<u32>,
    pub max_gpus_per_engine: Option<u32>,
    pub quant: QuantOverrides,
}

impl<'a> SearchInput<'a> {
    /// The search a resolved request asks for, on `system` (its node size
    /// unless the request gives one); `None` without a GPU budget.
    pub fn from_spec(
        spec: &ResolvedSpec,
        model: &'a ModelArch,
        system: &'a SystemSpec,
    ) -> Option<SearchInput<'a>> {
        let hw = &spec.hardware;
        Some(SearchInput {
            model,
            system,
            backend: spec.backend,
            isl: spec.workload.isl,
            osl: spec.workload.osl,
            total_gpus: hw.total_gpus?,
            gpus_per_node: hw
                .num_gpus_per_node
                .unwrap_or(system.node.gpus_per_node)
                .max(1),
            min_gpus_per_engine: hw.min_num_gpus_per_engine,
            max_gpus_per_engine: hw.max_num_gpus_per_engine,
            quant: QuantOverrides::default(),
        })
    }
}

/// Everything the search found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResult {
    pub backends: Vec<ConcreteBackend>,
    /// The model's experts per token (MoE models).
    pub moe_top_k: Option<u32>,
    pub isl: u32,
    pub osl: u32,
    pub total_gpus: u32,
    pub bounds: (u32, u32),
    pub prefill: Vec<PrefillEngine>,
    pub decode: Vec<DecodeEngine>,
    pub agg: Vec<AggEngine>,
    pub rows: Vec<Row>,
    pub rejected: Vec<Rejected>,
    pub notes: Vec<String>,
}

/// GPUs of the smallest engine of backend `b` among `(backend, GPUs)` pairs.
fn fewest_gpus(
    engines: impl Iterator<Item = (ConcreteBackend, u32)>,
    b: ConcreteBackend,
) -> Option<u32> {
    engines.filter(|(e, _)| *e == b).map(|(_, g)| g).min()
}

impl SearchResult {
    /// GPUs of the smallest prefill engine plus the smallest decode engine of
    /// one backend: what a disaggregated deployment needs at least.
    pub fn smallest_disagg_pair(&self) -> Option<u32> {
        self.backends
            .iter()
            .filter_map(|&b| {
                let p = fewest_gpus(self.prefill.iter().map(|e| (e.backend, e.mapping.gpus)), b)?;
                let d = fewest_gpus(self.decode.iter().map(|e| (e.backend, e.mapping.gpus)), b)?;
                Some(p.saturating_add(d))
            })
            .min()
    }
}

/// Why nothing can be searched.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchError {
    #[error("{0}")]
    NoCandidate(String),
    #[error("the workload needs positive ISL, OSL and GPU count")]
    EmptyWorkload,
}

/// The backends to search: the one asked for, or for `auto` those with
/// measured tables for this system (all of them if none has), less those
/// that cannot run weights quantized as `quant` there ([`crate::compat`]).
pub fn backends_for(
    backend: Backend,
    system: &SystemSpec,
    quant: &perf::QuantConfig,
) -> (Vec<ConcreteBackend>, Option<String>) {
    if let Some(b) = ConcreteBackend::from_backend(backend) {
        return match crate::compat::unsupported(quant, system, backend) {
            Some(why) => (Vec::new(), Some(why)),
            None => (vec![b], None),
        };
    }
    let (backends, note) = backends_with_tables(system);
    let (runnable, refused): (Vec<ConcreteBackend>, Vec<ConcreteBackend>) = backends
        .into_iter()
        .partition(|b| crate::compat::unsupported(quant, system, Backend::from(*b)).is_none());
    let refused = (!refused.is_empty()).then(|| {
        let names: Vec<&str> = refused.iter().map(|b| b.as_str()).collect();
        crate::compat::auto_skips(&names, system)
    });
    let notes: Vec<String> = note.into_iter().chain(refused).collect();
    (runnable, (!notes.is_empty()).then(|| notes.join("; ")))
}

/// `auto`'s backends: those with measured tables for this system (all of
/// them if none has).
fn backends_with_tables(system: &SystemSpec) -> (Vec<ConcreteBackend>, Option<String>) {
    let tables = system.tables.as_deref().unwrap_or(system.sku.as_str());
    let measured: Vec<ConcreteBackend> = ConcreteBackend::ALL
        .into_iter()
        .filter(|b| {
            matches!(
                perf::table::PerfDb::builtin().system(tables, b.as_str()),
                Ok(Some(_))
            )
        })
        .collect();
    if measured.is_empty() {
        (
            ConcreteBackend::ALL.to_vec(),
            Some(format!(
                "no backend has measured tables for {}: every backend is searched on the roofline model",
                system.sku
            )),
        )
    } else {
        let skipped: Vec<&str> = ConcreteBackend::ALL
            .into_iter()
            .filter(|b| !measured.contains(b))
            .map(ConcreteBackend::as_str)
            .collect();
        let note = (!skipped.is_empty()).then(|| {
            format!(
                "backend auto: {} not searched (no measured tables for {})",
                skipped.join(", "),
                system.sku
            )
        });
        (measured, note)
    }
}

/// The sweep grid of sequences per rank: two points per octave (1, 2, 3,
/// 4, 6, 8, 12, 16, ...) and the limit itself. Powers of two alone miss
/// operating points by up to 2× (a batch of 16 that misses the TTFT target
/// by 5 ms left only 8).
pub fn batch_grid(max: u32) -> Vec<u32> {
    let mut v: Vec<u32> = Vec::new();
    for p in layouts::powers_of_two(1, max) {
        v.push(p);
        let mid = p.saturating_add(p / 2);
        if p >= 2 && mid < max {
            v.push(mid);
        }
    }
    v.sort_unstable();
    v.dedup();
    v.retain(|&b| b <= max);
    if max >= 1 && v.last() != Some(&max) {
        v.push(max);
    }
    v
}

/// The engine bounds for this model and request.
pub fn engine_bounds(input: &SearchInput<'_>, min_fit: u32) -> EngineBounds {
    let nodes = if input.model.is_moe() {
        MAX_NODES_MOE
    } else {
        MAX_NODES_DENSE
    };
    let arch_max = input.gpus_per_node.max(1).saturating_mul(nodes);
    let max = match input.max_gpus_per_engine {
        // The user may allow more than the default (PP across nodes for a
        // dense model) or fewer.
        Some(m) => m,
        None => arch_max,
    }
    .min(input.total_gpus);
    let min = input.min_gpus_per_engine.unwrap_or(1).max(min_fit);
    EngineBounds { min, max }
}

struct Built<'a> {
    backend: ConcreteBackend,
    mapping: Mapping,
    prepared: Prepared<'a>,
}

/// Runs the search: [`sweep_prefill`] then [`sweep_decode`].
pub fn search(input: &SearchInput<'_>) -> Result<SearchResult, SearchError> {
    let partial = sweep_prefill(input)?;
    sweep_decode(input, partial)
}

/// The mappings that can run, built for the performance model, with the
/// rejected ones. Deterministic: the same input gives the same list.
struct Engines<'a> {
    backends: Vec<ConcreteBackend>,
    built: Vec<Built<'a>>,
    rejected: Vec<Rejected>,
    notes: Vec<String>,
    bounds: (u32, u32),
}

fn build_engines<'a>(input: &SearchInput<'a>) -> Result<Engines<'a>, SearchError> {
    if input.isl == 0 || input.osl == 0 || input.total_gpus == 0 {
        return Err(SearchError::EmptyWorkload);
    }
    let quant = perf::QuantConfig::resolve(input.model, &input.quant);
    let (backends, note) = backends_for(input.backend, input.system, &quant);
    let notes: Vec<String> = note.into_iter().collect();
    if backends.is_empty() {
        return Err(SearchError::NoCandidate(notes.join("; ")));
    }
    let mut rejected = Vec::new();
    let isl = input.isl;
    let osl = input.osl;
    let seq_len = u64::from(isl) + u64::from(osl);

    let mut engines: Vec<Built<'a>> = Vec::new();
    let mut bounds_seen = (u32::MAX, 0);
    for &backend in &backends {
        let min_fit = perf::min_gpus_to_fit(
            input.model,
            input.system,
            &input.quant,
            Backend::from(backend),
            seq_len,
            input.total_gpus,
        )
        .unwrap_or(u32::MAX);
        let bounds = engine_bounds(input, min_fit.min(input.total_gpus.max(1)));
        bounds_seen = (bounds_seen.0.min(bounds.min), bounds_seen.1.max(bounds.max));
        if min_fit == u32::MAX {
            rejected.push(Rejected {
                backend,
                mapping: "all".into(),
                reason: format!(
                    "{} does not fit on {} × {} with room for one sequence of {seq_len} tokens",
                    input.model.id, input.total_gpus, input.system.sku
                ),
            });
            continue;
        }
        for (kind, par) in layouts::enumerate(
            input.model,
            backend,
            bounds,
            input.gpus_per_node,
            &mut rejected,
        ) {
            let prepared = Prepared::engine_alone(
                input.model,
                input.system,
                Backend::from(backend),
                par,
                input.quant,
                isl,
                osl,
            );
            match prepared {
                Ok(prepared) => {
                    if prepared.max_batch_per_rank(isl, osl) == 0 {
                        rejected.push(Rejected::mapping(
                            backend,
                            kind,
                            &par,
                            format!(
                                "no room for a sequence of {seq_len} tokens: {}",
                                perf::memory::memory_arithmetic(
                                    &prepared.memory(),
                                    Backend::from(backend)
                                )
                            ),
                        ));
                        continue;
                    }
                    engines.push(Built {
                        backend,
                        mapping: Mapping::new(kind, par),
                        prepared,
                    });
                }
                Err(e) => rejected.push(Rejected::mapping(backend, kind, &par, e.to_string())),
            }
        }
    }
    if engines.is_empty() {
        let why = rejected
            .iter()
            .map(|r| format!("{} {}: {}", r.backend, r.mapping, r.reason))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(SearchError::NoCandidate(format!(
            "no parallel mapping of {} can run on {} × {}: {why}",
            input.model.id, input.total_gpus, input.system.sku
        )));
    }
    Ok(Engines {
        backends,
        built: engines,
        rejected,
        notes,
        bounds: (bounds_seen.0.min(bounds_seen.1), bounds_seen.1),
    })
}

/// First half of the search: the candidate mappings, each as a prefill
/// engine. The result has no decode engines and no rows yet.
pub fn sweep_prefill(input: &SearchInput<'_>) -> Result<SearchResult, SearchError> {
    let e = build_engines(input)?;
    let prefill = e
        .built
        .iter()
        .map(|b| characterise_prefill(b, input.isl))
        .collect();
    Ok(SearchResult {
        backends: e.backends,
        moe_top_k: input
            .model
            .moe
            .as_ref()
            .and_then(|m| u32::try_from(m.top_k).ok()),
        isl: input.isl,
        osl: input.osl,
        total_gpus: input.total_gpus,
        bounds: e.bounds,
        prefill,
        decode: Vec::new(),
        agg: Vec::new(),
        rows: Vec::new(),
        rejected: e.rejected,
        notes: e.notes,
    })
}

/// Second half: each mapping as a decode engine and as an aggregated
/// engine, and the deployable rows (aggregated at each concurrency,
/// disaggregated pairs at each decode batch and worker ratio).
pub fn sweep_decode(
    input: &SearchInput<'_>,
    mut partial: SearchResult,
) -> Result<SearchResult, SearchError> {
    let e = build_engines(input)?;
    if e.built.len() != partial.prefill.len() {
        return Err(SearchError::NoCandidate(
            "the prefill sweep was made for another request".into(),
        ));
    }
    let (isl, osl) = (input.isl, input.osl);
    let ctx = isl.saturating_add(osl / 2);
    let mut decode = Vec::with_capacity(e.built.len());
    let mut agg = Vec::with_capacity(e.built.len());
    let mut rows = Vec::new();
    for b in &e.built {
        let d = characterise_decode(b, isl, osl, ctx);
        agg.push(AggEngine {
            backend: b.backend,
            mapping: b.mapping,
            kv_tokens_per_rank: d.kv_tokens_per_rank,
            max_batch_per_rank: d.max_batch_per_rank,
            settings: d.settings,
        });
        decode.push(d);
    }
    for (i, b) in e.built.iter().enumerate() {
        agg_rows(b, i, input, &mut rows)?;
    }
    if input.total_gpus >= 2 {
        disagg_rows(
            &partial.prefill,
            &decode,
            input,
            &mut rows,
            &mut partial.rejected,
        );
    } else {
        partial
            .notes
            .push("disaggregated serving needs at least 2 GPUs: not searched".into());
    }
    partial.decode = decode;
    partial.agg = agg;
    partial.rows = rows;
    Ok(partial)
}

fn characterise_prefill(b: &Built<'_>, isl: u32) -> PrefillEngine {
    let par = b.mapping.parallel;
    let gpus = f64::from(b.mapping.gpus.max(1));
    let dp = f64::from(par.dp.max(1));
    let (ttft, seq_per_s) = if b.mapping.kind == MappingKind::Dep {
        let burst = b.prepared.lone_prefill_ms(isl, DEP_PREFILL_BURST);
        let n = f64::from(DEP_PREFILL_BURST);
        (burst / n, dp * n * 1000.0 / burst.max(1e-9))
    } else {
        let t = b.prepared.lone_prefill_ms(isl, 1);
        (t, 1000.0 / t.max(1e-9))
    };
    PrefillEngine {
        backend: b.backend,
        mapping: b.mapping,
        ttft_ms: ttft,
        kv_handoff_ms: b.prepared.kv_handoff_ms(isl),
        seq_per_s,
        thpt_per_gpu: seq_per_s * f64::from(isl) / gpus,
        settings: EngineSettings::of(&b.prepared),
    }
}

fn characterise_decode(b: &Built<'_>, isl: u32, osl: u32, ctx: u32) -> DecodeEngine {
    let par = b.mapping.parallel;
    let dp = par.dp.max(1);
    let gpus = f64::from(b.mapping.gpus.max(1));
    let max_b = b.prepared.max_batch_per_rank(isl, osl);
    let grid = batch_grid(max_b);
    let batches: Vec<f64> = grid.iter().map(|&x| f64::from(x)).collect();
    let itls = b.prepared.lone_decode_ms(f64::from(ctx), &batches);
    let points = grid
        .iter()
        .zip(itls)
        .map(|(&bpr, itl)| {
            let inflight = bpr.saturating_mul(dp);
            let itl = itl.max(1e-9);
            let seq_per_s = f64::from(inflight) * 1000.0 / (itl * f64::from(osl.max(1)));
            DecodePoint {
                inflight,
                batch_per_rank: bpr,
                itl_ms: itl,
                seq_per_s,
                thpt_per_gpu: f64::from(inflight) * 1000.0 / itl / gpus,
            }
        })
        .collect();
    DecodeEngine {
        backend: b.backend,
        mapping: b.mapping,
        context_tokens: ctx,
        kv_tokens_per_rank: b.prepared.kv_tokens_per_rank(isl.saturating_add(osl)),
        max_batch_per_rank: max_b,
        points,
        settings: EngineSettings::of(&b.prepared),
    }
}

fn agg_rows(
    b: &Built<'_>,
    index: usize,
    input: &SearchInput<'_>,
    rows: &mut Vec<Row>,
) -> Result<(), SearchError> {
    let par = b.mapping.parallel;
    let dp = par.dp.max(1);
    let max_b = b.prepared.max_batch_per_rank(input.isl, input.osl);
    let c = b.prepared.constants();
    for bpr in batch_grid(max_b) {
        let conc = bpr.saturating_mul(dp);
        let mode = Mode::Agg {
            parallel: par,
            concurrency: conc,
        };
        let e = match b.prepared.estimate_fast(input.isl, input.osl, &mode, &c) {
            Ok(e) => e,
            // A failed point is no row; the mapping stays in the engine lists.
            Err(PerfError::Zero { .. }) => return Err(SearchError::EmptyWorkload),
            Err(_) => continue,
        };
        rows.push(Row {
            mode: ServingMode::Agg,
            backend: b.backend,
            mapping: b.mapping,
            prefill_mapping: None,
            prefill_workers: 0,
            decode_workers: 1,
            batch_per_rank: bpr,
            concurrency: conc,
            ttft_ms: e.ttft_ms,
            tpot_ms: e.tpot_ms,
            request_latency_ms: e.request_latency_ms,
            seq_per_s: e.requests_per_s,
            tokens_per_s_per_gpu: e.tokens_per_s_per_gpu,
            tokens_per_s_per_user: e.tokens_per_s_per_user,
            gpus: b.mapping.gpus,
            prefill_index: None,
            engine_index: index,
        });
    }
    Ok(())
}

/// SGLang runs prefill and decode with the same tensor parallelism unless
/// one side is wide-EP (attention DP with expert parallelism).
fn pair_allowed(backend: ConcreteBackend, p: &Mapping, d: &Mapping) -> Result<(), String> {
    if backend == ConcreteBackend::Sglang
        && p.parallel.tp != d.parallel.tp
        && p.kind != MappingKind::Dep
        && d.kind != MappingKind::Dep
    {
        return Err(format!(
            "SGLang needs the same tensor parallelism for prefill ({}) and decode ({}) unless one side is wide-EP",
            p.label(),
            d.label()
        ));
    }
    Ok(())
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Requests a disaggregated unit holds in flight: the decode workers' batch,
/// unless the prefill workers are the bottleneck. By Little's law a unit
/// that completes `seq_per_s` requests of `latency_ms` each has
/// `seq_per_s × latency` of them in flight; when prefill limits `seq_per_s`
/// that is less than the decode batch, and counting the whole batch would
/// let load-match by concurrency send more users to the unit than its
/// prefill workers can start within the TTFT.
fn sustained_concurrency(
    decode_batch: u32,
    prefill_bound: bool,
    seq_per_s: f64,
    latency_ms: f64,
) -> u32 {
    let little = seq_per_s * latency_ms / 1000.0;
    if prefill_bound && little.is_finite() && little < f64::from(decode_batch) {
        (little.floor() as u32).clamp(1, decode_batch.max(1))
    } else {
        decode_batch
    }
}

fn disagg_rows(
    prefill: &[PrefillEngine],
    decode: &[DecodeEngine],
    input: &SearchInput<'_>,
    rows: &mut Vec<Row>,
    rejected: &mut Vec<Rejected>,
) {
    let osl = f64::from(input.osl.max(1));
    for (pi, p) in prefill.iter().enumerate() {
        for (di, d) in decode.iter().enumerate() {
            if p.backend != d.backend {
                continue;
            }
            if let Err(why) = pair_allowed(p.backend, &p.mapping, &d.mapping) {
                rejected.push(Rejected {
                    backend: p.backend,
                    mapping: format!("{} + {}", p.mapping.label(), d.mapping.label()),
                    reason: why,
                });
                continue;
            }
            for x in 1..=MAX_WORKERS {
                for y in 1..=MAX_WORKERS {
                    if gcd(x, y) != 1 {
                        continue;
                    }
                    let unit = u64::from(x) * u64::from(p.mapping.gpus)
                        + u64::from(y) * u64::from(d.mapping.gpus);
                    if unit > u64::from(input.total_gpus) {
                        continue;
                    }
                    let prefill_cap = p.seq_per_s * f64::from(x) * PREFILL_DERATE;
                    for pt in &d.points {
                        let decode_cap = pt.seq_per_s * f64::from(y) * DECODE_DERATE;
                        let seq = prefill_cap.min(decode_cap);
                        let ttft = p.ttft_ms + p.kv_handoff_ms;
                        let tpot = pt.itl_ms;
                        let gpus = unit as u32;
                        let latency = ttft + tpot * (osl - 1.0);
                        let concurrency = sustained_concurrency(
                            pt.inflight.saturating_mul(y),
                            prefill_cap < decode_cap,
                            seq,
                            latency,
                        );
                        rows.push(Row {
                            mode: ServingMode::Disagg,
                            backend: p.backend,
                            mapping: d.mapping,
                            prefill_mapping: Some(p.mapping),
                            prefill_workers: x,
                            decode_workers: y,
                            batch_per_rank: pt.batch_per_rank,
                            concurrency,
                            ttft_ms: ttft,
                            tpot_ms: tpot,
                            request_latency_ms: latency,
                            seq_per_s: seq,
                            tokens_per_s_per_gpu: seq * osl / f64::from(gpus.max(1)),
                            tokens_per_s_per_user: 1000.0 / tpot.max(1e-9),
                            gpus,
                            prefill_index: Some(pi),
                            engine_index: di,
                        });
                    }
                }
            }
        }
    }
}
