//! The work of each phase of the rapid profile.

use super::{Driver, Failure, Outcome, fail};
use crate::assemble::assemble;
use crate::catalog::system::SystemSpec;
use crate::diag::Diagnostic;
use crate::interpolate::{
    self, CurveInput, DECODE_GRANULARITY, DecodeSurface, PREFILL_GRANULARITY, PrefillSurface,
};
use crate::perf::QuantOverrides;
use crate::pick::{self, Pick};
use crate::plan::{ProfileData, Topology};
use crate::render::render_dgd;
use crate::search::{self, Mapping, SearchInput, SearchResult, ServingMode};
use crate::spec::planner::SweepMode;
use crate::spec::{ProfilingPhase as P, ResolvedSpec};

fn system(d: &Driver) -> Result<&SystemSpec, Box<Failure>> {
    d.system
        .as_ref()
        .ok_or_else(|| Box::new(fail(P::Initializing, "no GPU system resolved", Vec::new())))
}

fn input<'a>(d: &'a Driver, system: &'a SystemSpec) -> Result<SearchInput<'a>, Box<Failure>> {
    SearchInput::from_spec(&d.spec, &d.model, system).ok_or_else(|| {
        Box::new(fail(
            P::Initializing,
            "the GPU budget (hardware.totalGpus) is unknown",
            Vec::new(),
        ))
    })
}

fn search_failure(phase: P, e: &search::SearchError) -> Box<Failure> {
    Box::new(fail(
        phase,
        e.to_string(),
        vec![Diagnostic::error(
            "spec.hardware",
            crate::diag::Code::ModelDoesNotFit,
            e.to_string(),
            "allow more GPUs per engine (hardware.totalGpus, maxNumGpusPerEngine), a GPU with more memory, or a quantized checkpoint",
        )],
    ))
}

pub(super) fn sweep_prefill(d: &Driver) -> Result<SearchResult, Box<Failure>> {
    let sys = system(d)?;
    search::sweep_prefill(&input(d, sys)?).map_err(|e| search_failure(P::SweepingPrefill, &e))
}

pub(super) fn sweep_decode(d: &mut Driver) -> Result<SearchResult, Box<Failure>> {
    let partial = d.partial.search.take().ok_or_else(|| {
        Box::new(fail(
            P::SweepingDecode,
            "the prefill sweep is missing",
            Vec::new(),
        ))
    })?;
    let sys = system(d)?;
    search::sweep_decode(&input(d, sys)?, partial)
        .map_err(|e| search_failure(P::SweepingDecode, &e))
}

pub(super) fn select(d: &Driver) -> Result<Pick, Box<Failure>> {
    let s = d.partial.search.as_ref().ok_or_else(|| {
        Box::new(fail(
            P::SelectingConfig,
            "the search is missing",
            Vec::new(),
        ))
    })?;
    pick::pick(&d.spec, s).map_err(|e| {
        let errors = e
            .path()
            .map(|path| {
                Diagnostic::error(
                    path,
                    crate::diag::Code::OutOfRange,
                    e.to_string(),
                    "give more GPUs, allow smaller engines (minNumGpusPerEngine), or turn off what needs separate prefill and decode engines",
                )
            })
            .into_iter()
            .collect();
        Box::new(fail(P::SelectingConfig, e.to_string(), errors))
    })
}

/// `2 × TP2 prefill + 1 × TP4 decode (vllm)` or `4 × TP2 (vllm, aggregated)`.
pub(super) fn describe_plan(p: &Pick) -> String {
    let b = p.plan.backend;
    match &p.plan.topology {
        Topology::Agg { worker } => format!(
            "{} × {} ({b}, aggregated)",
            worker.replicas,
            chosen_mappings(p).1.map_or_else(String::new, |m| m.label())
        ),
        Topology::Disagg { prefill, decode } => {
            let (pm, dm) = chosen_mappings(p);
            format!(
                "{} × {} prefill + {} × {} decode ({b}, disaggregated)",
                prefill.replicas,
                pm.map_or_else(String::new, |m| m.label()),
                decode.replicas,
                dm.map_or_else(String::new, |m| m.label())
            )
        }
    }
}

/// The picked prefill and decode (or aggregated) mappings.
pub(super) fn chosen_mappings(p: &Pick) -> (Option<Mapping>, Option<Mapping>) {
    if let Some(e) = &p.engines {
        return (Some(e.prefill.mapping), Some(e.decode_mapping));
    }
    match &p.chosen {
        Some(c) if c.row.mode == ServingMode::Agg => (Some(c.row.mapping), Some(c.row.mapping)),
        Some(c) => (c.row.prefill_mapping, Some(c.row.mapping)),
        None => (None, None),
    }
}

/// Curves are built unless the planner was told not to sweep.
pub(super) fn needs_curves(spec: &ResolvedSpec) -> bool {
    spec.planner
        .as_ref()
        .is_none_or(|p| p.pre_deployment_sweeping_mode != SweepMode::None)
}

pub(super) fn curve_input<'a>(
    d: &'a Driver,
    sys: &'a SystemSpec,
    p: &Pick,
) -> Option<CurveInput<'a>> {
    let (Some(pm), Some(dm)) = chosen_mappings(p) else {
        return None;
    };
    Some(CurveInput {
        model: &d.model,
        system: sys,
        backend: p.plan.backend,
        quant: QuantOverrides::default(),
        isl: d.spec.workload.isl,
        osl: d.spec.workload.osl,
        prefill: pm,
        decode: dm,
        prefill_granularity: PREFILL_GRANULARITY,
        decode_granularity: DECODE_GRANULARITY,
    })
}

pub(super) fn curves(d: &Driver) -> Result<ProfileData, Box<Failure>> {
    let sys = system(d)?;
    let p = d
        .partial
        .pick
        .as_ref()
        .ok_or_else(|| Box::new(fail(P::BuildingCurves, "the pick is missing", Vec::new())))?;
    let ci = curve_input(d, sys, p).ok_or_else(|| {
        Box::new(fail(
            P::BuildingCurves,
            "the pick names no engines",
            Vec::new(),
        ))
    })?;
    interpolate::profile_data(&ci)
        .map_err(|e| Box::new(fail(P::BuildingCurves, e.to_string(), Vec::new())))
}

pub(super) fn generate(d: &mut Driver) -> Result<Outcome, Box<Failure>> {
    let search = d
        .partial
        .search
        .clone()
        .ok_or_else(|| Box::new(fail(P::GeneratingDgd, "the search is missing", Vec::new())))?;
    let pick = d
        .partial
        .pick
        .clone()
        .ok_or_else(|| Box::new(fail(P::GeneratingDgd, "the pick is missing", Vec::new())))?;
    let data = d.partial.profile_data.clone();
    let render_failure = |msg: String, diag: Option<Diagnostic>| {
        Box::new(fail(P::GeneratingDgd, msg, diag.into_iter().collect()))
    };
    let dgd = render_dgd(&d.spec, &d.name, d.namespace.as_deref(), &pick.plan)
        .map_err(|e| render_failure(e.to_string(), e.to_diagnostic()))?;
    let assembled = assemble(&d.spec, dgd, &pick.plan, data.as_ref())
        .map_err(|e| render_failure(e.to_string(), e.to_diagnostic()))?;
    let bounds = data.as_ref().map(|data| {
        interpolate::planner_bounds(
            &d.spec.sla,
            d.spec.workload.osl,
            &PrefillSurface::new(&data.prefill),
            &DecodeSurface::new(&data.decode),
            d.spec.workload.isl,
        )
    });
    let mut diagnostics = d.warnings.clone();
    diagnostics.extend(assembled.diagnostics.iter().cloned());
    Ok(Outcome::new(
        d,
        search,
        pick,
        data,
        bounds,
        assembled,
        diagnostics,
    ))
}
