//! What a profiling run produces: the manifests, the data behind
//! `webui_data.json`, the charts' data, and `profiler_status.yaml`.

use serde::Serialize;
use serde_json::{Value, json};

use super::phases::chosen_mappings;
use super::{Driver, Failure};
use crate::assemble::Assembled;
use crate::diag::Diagnostic;
use crate::interpolate::PlannerBounds;
use crate::pick::{self, Pick};
use crate::plan::{ConcreteBackend, ProfileData};
use crate::search::{Mapping, SearchResult};
use crate::spec::{ProfilingPhase, ResolvedSpec, SlaTarget};

/// `profiler_status.yaml`'s `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfilerState {
    Running,
    Success,
    Failed,
}

/// A status condition (Kubernetes style).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

/// `profiler_status.yaml` (SPEC §5.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfilerStatus {
    pub status: ProfilerState,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<ProfilingPhase>,
    pub outputs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Diagnostic>,
}

impl ProfilerStatus {
    pub fn running(
        phase: ProfilingPhase,
        message: impl Into<String>,
        outputs: Vec<String>,
    ) -> Self {
        ProfilerStatus {
            status: ProfilerState::Running,
            message: message.into(),
            error: None,
            phase: Some(phase),
            outputs,
            conditions: Vec::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
        }
    }

    pub fn failed(f: &Failure, outputs: Vec<String>) -> Self {
        ProfilerStatus {
            status: ProfilerState::Failed,
            message: format!("profiling failed in phase {}", f.phase.as_str()),
            error: Some(f.message.clone()),
            phase: Some(f.phase),
            outputs,
            conditions: vec![Condition {
                type_: "Profiling".into(),
                status: "False".into(),
                reason: "Failed".into(),
                message: f.message.clone(),
            }],
            warnings: Vec::new(),
            errors: f.errors.clone(),
        }
    }

    pub fn to_yaml(&self) -> String {
        let v = serde_json::to_value(self).unwrap_or(Value::Null);
        crate::render::yaml::to_yaml(&v)
    }
}

/// One bar of `prefill_performance.png`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrefillChart {
    pub label: String,
    pub gpus: u32,
    pub ttft_ms: f64,
    pub chosen: bool,
}

/// One curve of `decode_performance.png`: ITL over in-flight requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecodeChart {
    pub label: String,
    pub gpus: u32,
    pub points: Vec<(f64, f64)>,
    pub chosen: bool,
}

/// The data of the two performance plots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Charts {
    pub prefill: Vec<PrefillChart>,
    pub decode: Vec<DecodeChart>,
    pub sla_ttft_ms: Option<f64>,
    pub sla_itl_ms: Option<f64>,
}

/// Everything a successful run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub name: String,
    pub namespace: Option<String>,
    pub spec: ResolvedSpec,
    pub search: SearchResult,
    pub pick: Pick,
    pub profile_data: Option<ProfileData>,
    pub planner_bounds: Option<PlannerBounds>,
    pub assembled: Assembled,
    /// `final_config.yaml`: ConfigMaps first, then the DGD.
    pub final_config: String,
    /// Validation and rendering warnings.
    pub diagnostics: Vec<Diagnostic>,
    pub conditions: Vec<Condition>,
    pub charts: Charts,
}

fn label(multi: bool, backend: ConcreteBackend, m: &Mapping) -> String {
    if multi {
        format!("{backend} {}", m.label())
    } else {
        m.label()
    }
}

impl Outcome {
    pub(super) fn new(
        d: &Driver,
        search: SearchResult,
        pick: Pick,
        profile_data: Option<ProfileData>,
        planner_bounds: Option<PlannerBounds>,
        assembled: Assembled,
        diagnostics: Vec<Diagnostic>,
    ) -> Outcome {
        let mut conditions = vec![Condition {
            type_: "SpecGenerated".into(),
            status: "True".into(),
            reason: "SpecGenerated".into(),
            message: format!("DynamoGraphDeployment {} generated", assembled.meta.name),
        }];
        if !pick.sla_met {
            conditions.push(Condition {
                type_: "SLAAchievable".into(),
                status: "False".into(),
                reason: "SLAUnachievable".into(),
                message: pick.warnings.join("; "),
            });
        }
        let charts = charts(&d.spec, &search, &pick);
        Outcome {
            name: d.name.clone(),
            namespace: d.namespace.clone(),
            spec: d.spec.clone(),
            final_config: assembled.to_yaml(),
            search,
            pick,
            profile_data,
            planner_bounds,
            assembled,
            diagnostics,
            conditions,
            charts,
        }
    }

    /// Every warning of the run, as sentences.
    pub fn warnings(&self) -> Vec<String> {
        self.diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .chain(self.pick.warnings.iter().cloned())
            .collect()
    }

    /// `profiler_status.yaml` of the finished run.
    pub fn status(&self, outputs: Vec<String>) -> ProfilerStatus {
        ProfilerStatus {
            status: ProfilerState::Success,
            message: format!(
                "profiling finished: {}",
                super::phases::describe_plan(&self.pick)
            ),
            error: None,
            phase: Some(ProfilingPhase::Done),
            outputs,
            conditions: self.conditions.clone(),
            warnings: self.warnings(),
            errors: Vec::new(),
        }
    }

    /// `webui_data.json`: the request, every candidate (engines and rows),
    /// the Pareto frontiers, the pick and its reasons.
    pub fn webui_data(&self) -> Value {
        let rows = &self.search.rows;
        let (fa, fd) = pick::frontiers(rows);
        let pick_rows = |idx: &[usize]| -> Vec<Value> {
            idx.iter()
                .filter_map(|&i| rows.get(i))
                .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
                .collect()
        };
        let s = &self.spec;
        let sla = match s.sla {
            SlaTarget::TtftItl { ttft_ms, itl_ms } => json!({"ttft_ms": ttft_ms, "itl_ms": itl_ms}),
            SlaTarget::E2e { e2e_ms } => json!({"e2e_ms": e2e_ms}),
        };
        json!({
            "schema": "dgdr.webui/v1",
            "request": {
                "name": self.name,
                "namespace": self.namespace,
                "model": s.model,
                "backend": s.backend,
                "gpu_sku": s.hardware.gpu_sku,
                "total_gpus": s.hardware.total_gpus,
                "gpus_per_node": s.hardware.num_gpus_per_node,
                "isl": s.workload.isl,
                "osl": s.workload.osl,
                "load": s.workload.load,
                "sla": sla,
                "picking_mode": self.pick.mode,
            },
            "backends": self.search.backends,
            "engine_bounds": {"min": self.search.bounds.0, "max": self.search.bounds.1},
            "prefill": self.search.prefill,
            "decode": self.search.decode,
            "candidates": rows,
            "pareto": {"agg": pick_rows(&fa), "disagg": pick_rows(&fd)},
            "pick": self.pick,
            "planner_bounds": self.planner_bounds,
            "rejected": self.search.rejected,
            "notes": self.search.notes.iter().chain(self.pick.notes.iter()).collect::<Vec<_>>(),
            "warnings": self.warnings(),
            "conditions": self.conditions,
        })
    }
}

fn charts(spec: &ResolvedSpec, s: &SearchResult, p: &Pick) -> Charts {
    let multi = s.backends.len() > 1;
    let (pm, dm) = chosen_mappings(p);
    let b = p.plan.backend;
    let prefill = s
        .prefill
        .iter()
        .map(|e| PrefillChart {
            label: label(multi, e.backend, &e.mapping),
            gpus: e.mapping.gpus,
            ttft_ms: e.ttft_ms,
            chosen: e.backend == b && Some(e.mapping) == pm,
        })
        .collect();
    let decode = s
        .decode
        .iter()
        .map(|e| DecodeChart {
            label: label(multi, e.backend, &e.mapping),
            gpus: e.mapping.gpus,
            points: e
                .points
                .iter()
                .map(|pt| (f64::from(pt.inflight), pt.itl_ms))
                .collect(),
            chosen: e.backend == b && Some(e.mapping) == dm,
        })
        .collect();
    let (sla_ttft_ms, sla_itl_ms) = match spec.sla {
        SlaTarget::TtftItl { ttft_ms, itl_ms } => (Some(ttft_ms), Some(itl_ms)),
        SlaTarget::E2e { .. } => (None, None),
    };
    Charts {
        prefill,
        decode,
        sla_ttft_ms,
        sla_itl_ms,
    }
}
