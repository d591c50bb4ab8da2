//! Defaults and the rules between fields: a [`Spec`] as written becomes the
//! [`ResolvedSpec`] the rest of the core uses, or the list of everything that
//! stops it from being one.

use super::planner::{PlannerBackend, PlannerConfig};
use super::types::{Backend, Hardware, Overrides, SearchStrategy, Spec};
use crate::diag::{Code, Diagnostic, Diagnostics};
use serde::Serialize;

pub const DEFAULT_ISL: u32 = 4000;
pub const DEFAULT_OSL: u32 = 1000;
pub const DEFAULT_TTFT_MS: f64 = 2000.0;
pub const DEFAULT_ITL_MS: f64 = 30.0;
pub const DEFAULT_PVC_MOUNT_PATH: &str = "/opt/model-cache";

/// The target load, when the user states one. One or the other, never both.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Load {
    /// Requests per second.
    RequestRate(f64),
    /// Requests in flight.
    Concurrency(f64),
}

/// The latency target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SlaTarget {
    /// Time to first token and inter-token latency, in ms.
    TtftItl { ttft_ms: f64, itl_ms: f64 },
    /// End-to-end request latency in ms; the target for TTFT, for TPOT and for
    /// `ttft + tpot × (osl − 1)`.
    E2e { e2e_ms: f64 },
}

/// How the profiler picks (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PickingMode {
    /// Planner present: prefill and decode engines picked independently.
    Autoscale,
    /// A target load: fewest GPUs that serve it under the SLA.
    LoadMatch,
    /// Maximise throughput per GPU within the budget.
    Default,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedWorkload {
    pub isl: u32,
    pub osl: u32,
    pub load: Option<Load>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedModelCache {
    pub pvc_name: String,
    /// Relative to the mount path.
    pub pvc_model_path: String,
    pub pvc_mount_path: String,
}

impl ResolvedModelCache {
    /// Where the container sees the model: `{mountPath}/{pvcModelPath}`, joined once.
    pub fn model_dir(&self) -> String {
        let mount = self.pvc_mount_path.trim_end_matches('/');
        let rel = self
            .pvc_model_path
            .trim_start_matches("./")
            .trim_matches('/');
        if rel.is_empty() {
            mount.to_string()
        } else {
            format!("{mount}/{rel}")
        }
    }
}

/// A request with every default applied. Hardware stays partly optional: GPU
/// discovery (a host capability) fills what the user left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedSpec {
    pub model: String,
    pub backend: Backend,
    pub image: Option<String>,
    pub model_cache: Option<ResolvedModelCache>,
    pub hardware: Hardware,
    pub workload: ResolvedWorkload,
    pub sla: SlaTarget,
    pub planner: Option<PlannerConfig>,
    pub mocker: bool,
    pub search_strategy: SearchStrategy,
    pub auto_apply: bool,
    pub overrides: Overrides,
}

impl ResolvedSpec {
    pub fn picking_mode(&self) -> PickingMode {
        if self.planner.is_some() {
            PickingMode::Autoscale
        } else if self.workload.load.is_some() {
            PickingMode::LoadMatch
        } else {
            PickingMode::Default
        }
    }

    /// Profile data (interpolation curves) must ship with the deployment when
    /// the mocker replays it or the planner scales on throughput.
    pub fn needs_profile_data(&self) -> bool {
        self.mocker
            || self
                .planner
                .as_ref()
                .is_some_and(PlannerConfig::throughput_scaling_needs_profile)
    }
}

/// Applies defaults and checks the rules between fields (SPEC §1.2, §2, §6).
/// Every problem found goes into `out` (warnings too, also on success); the
/// resolved spec comes back when none of them is an error.
pub fn resolve(spec: &Spec, out: &mut Diagnostics) -> Option<ResolvedSpec> {
    let mut d = Diagnostics::new();
    let model = match spec.model.as_deref() {
        None => {
            d.push(Diagnostic::error(
                "spec.model",
                Code::MissingRequired,
                "`model` is required",
                "name the model: a HuggingFace id such as `Qwen/Qwen3-32B`",
            ));
            None
        }
        Some(m) if m.trim().is_empty() => {
            d.push(Diagnostic::error(
                "spec.model",
                Code::EmptyString,
                "`model` is empty",
                "name the model: a HuggingFace id such as `Qwen/Qwen3-32B`",
            ));
            None
        }
        Some(m) => Some(m.to_string()),
    };
    let backend = spec.backend.unwrap_or(Backend::Auto);
    let search_strategy = spec.search_strategy.unwrap_or(SearchStrategy::Rapid);
    if search_strategy == SearchStrategy::Thorough && backend == Backend::Auto {
        let path = if spec.backend.is_some() {
            "spec.backend"
        } else {
            "spec.searchStrategy"
        };
        d.push(Diagnostic::error(
            path,
            Code::ThoroughNeedsBackend,
            "`searchStrategy: thorough` deploys real engines and needs a concrete backend, but backend is `auto`",
            "set `backend` to vllm, sglang or trtllm, or use `searchStrategy: rapid`",
        ));
    }
    if let Some(image) = &spec.image
        && image.trim().is_empty()
    {
        d.push(Diagnostic::error(
            "spec.image",
            Code::EmptyString,
            "`image` is empty",
            "give a container image, e.g. `nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.0.0`, or remove the field",
        ));
    }

    let workload = resolve_workload(spec, &mut d);
    let sla = resolve_sla(spec, &mut d);
    let model_cache = resolve_model_cache(spec, &mut d);
    let hardware = spec.hardware.clone().unwrap_or_default();
    if let (Some(lo), Some(hi)) = (
        hardware.min_num_gpus_per_engine,
        hardware.max_num_gpus_per_engine,
    ) && lo > hi
    {
        d.push(Diagnostic::error(
            "spec.hardware.minNumGpusPerEngine",
            Code::EngineBoundsInverted,
            format!("minNumGpusPerEngine ({lo}) is larger than maxNumGpusPerEngine ({hi})"),
            "swap the two values",
        ));
    }
    if let Some(interconnect) = &hardware.interconnect
        && !matches!(
            interconnect.to_ascii_lowercase().as_str(),
            "nvlink" | "pcie" | ""
        )
    {
        d.push(Diagnostic::warning(
            "spec.hardware.interconnect",
            Code::Suspicious,
            format!("interconnect `{interconnect}` is neither `nvlink` nor `pcie`"),
            "dgdr assumes the GPU system's own interconnect",
        ));
    }

    let mocker = spec
        .features
        .as_ref()
        .and_then(|f| f.mocker.as_ref())
        .and_then(|m| m.enabled)
        .unwrap_or(false);
    let planner = spec
        .features
        .as_ref()
        .and_then(|f| f.planner.as_ref())
        .map(|p| {
            let path = "spec.features.planner";
            let concrete = match backend {
                Backend::Auto => None,
                Backend::Vllm => Some(PlannerBackend::Vllm),
                Backend::Sglang => Some(PlannerBackend::Sglang),
                Backend::Trtllm => Some(PlannerBackend::Trtllm),
            };
            let cfg = p.resolve(path, concrete, &mut d);
            cfg.check(path, &mut d);
            if mocker && cfg.pre_deployment_sweeping_mode == super::planner::SweepMode::None {
                d.push(Diagnostic::error(
                    "spec.features.mocker.enabled",
                    Code::MockerNeedsSweep,
                    "the mocker replays engine performance data, but the planner's pre_deployment_sweeping_mode is `none`",
                    "set `pre_deployment_sweeping_mode: rapid` in the planner, or disable the mocker",
                ));
            }
            cfg
        });

    let failed = d.has_errors();
    out.extend(d);
    match (failed, model) {
        (false, Some(model)) => Some(ResolvedSpec {
            model,
            backend,
            image: spec.image.clone(),
            model_cache,
            hardware,
            workload,
            sla,
            planner,
            mocker,
            search_strategy,
            auto_apply: spec.auto_apply.unwrap_or(true),
            overrides: spec.overrides.clone().unwrap_or_default(),
        }),
        _ => None,
    }
}

fn resolve_workload(spec: &Spec, d: &mut Diagnostics) -> ResolvedWorkload {
    let w = spec.workload.clone().unwrap_or_default();
    let load = match (w.request_rate, w.concurrency) {
        (Some(r), None) => Some(Load::RequestRate(r)),
        (None, Some(c)) => Some(Load::Concurrency(c)),
        (None, None) => None,
        (Some(r), Some(c)) => {
            d.push(Diagnostic::error(
                "spec.workload",
                Code::BothRateAndConcurrency,
                format!("both requestRate ({r} req/s) and concurrency ({c}) are set"),
                "keep one: requestRate for an arrival rate, concurrency for requests in flight",
            ));
            None
        }
    };
    ResolvedWorkload {
        isl: w.isl.unwrap_or(DEFAULT_ISL),
        osl: w.osl.unwrap_or(DEFAULT_OSL),
        load,
    }
}

fn resolve_sla(spec: &Spec, d: &mut Diagnostics) -> SlaTarget {
    use super::decode::Field;
    let default = SlaTarget::TtftItl {
        ttft_ms: DEFAULT_TTFT_MS,
        itl_ms: DEFAULT_ITL_MS,
    };
    let Some(sla) = &spec.sla else {
        return default;
    };
    // Values ≤ 0 were reported when the fields were read; use defaults here so
    // the other rules still get checked.
    let pos = |f: &Field<f64>| f.value().copied().filter(|v| *v > 0.0);
    match sla.e2e_latency {
        Field::Value(e2e) => {
            let mut clash = Vec::new();
            if sla.ttft.is_value() {
                clash.push("ttft");
            }
            if sla.itl.is_value() {
                clash.push("itl");
            }
            if !clash.is_empty() {
                d.push(Diagnostic::error(
                    "spec.sla.e2eLatency",
                    Code::E2eWithTtftOrItl,
                    format!(
                        "e2eLatency cannot be combined with {}",
                        clash
                            .iter()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                    "use either e2eLatency alone (set ttft and itl to null or remove them), or ttft and itl",
                ));
            }
            SlaTarget::E2e {
                e2e_ms: if e2e > 0.0 { e2e } else { 1.0 },
            }
        }
        Field::Absent | Field::Null => {
            match (&sla.ttft, &sla.itl) {
                (Field::Null, Field::Null) => {
                    d.push(Diagnostic::error(
                        "spec.sla",
                        Code::OneSlaTargetNull,
                        "ttft and itl are both null and no e2eLatency is given: there is no latency target",
                        "set e2eLatency, or give ttft and itl values (or remove the nulls to get the defaults 2000 ms and 30 ms)",
                    ));
                }
                (Field::Null, _) | (_, Field::Null) => {
                    let (null, other) = if matches!(sla.ttft, Field::Null) {
                        ("ttft", "itl")
                    } else {
                        ("itl", "ttft")
                    };
                    d.push(Diagnostic::error(
                        format!("spec.sla.{null}"),
                        Code::OneSlaTargetNull,
                        format!("`{null}` is null but `{other}` is not"),
                        format!(
                            "null targets are only for e2eLatency: give `{null}` a value, or remove it to get its default"
                        ),
                    ));
                }
                _ => {}
            }
            SlaTarget::TtftItl {
                ttft_ms: pos(&sla.ttft).unwrap_or(DEFAULT_TTFT_MS),
                itl_ms: pos(&sla.itl).unwrap_or(DEFAULT_ITL_MS),
            }
        }
    }
}

fn resolve_model_cache(spec: &Spec, d: &mut Diagnostics) -> Option<ResolvedModelCache> {
    let mc = spec.model_cache.as_ref()?;
    let mount = mc
        .pvc_mount_path
        .clone()
        .unwrap_or_else(|| DEFAULT_PVC_MOUNT_PATH.to_string());
    let mut ok = true;
    let pvc_name = match mc.pvc_name.as_deref() {
        Some(n) if !n.trim().is_empty() => n.to_string(),
        _ => {
            d.push(Diagnostic::error(
                "spec.modelCache.pvcName",
                Code::ModelCacheInvalid,
                "modelCache needs `pvcName`, the PersistentVolumeClaim holding the weights",
                "name the PVC (it must be in the DGDR's namespace), or remove modelCache",
            ));
            ok = false;
            String::new()
        }
    };
    if !mount.starts_with('/') {
        d.push(Diagnostic::error(
            "spec.modelCache.pvcMountPath",
            Code::ModelCacheInvalid,
            format!("pvcMountPath `{mount}` is not an absolute path"),
            format!("use an absolute path such as `{DEFAULT_PVC_MOUNT_PATH}`"),
        ));
        ok = false;
    }
    let rel = mc.pvc_model_path.clone().unwrap_or_default();
    let mount_trim = mount.trim_end_matches('/');
    if !mount_trim.is_empty() && (rel == mount_trim || rel.starts_with(&format!("{mount_trim}/"))) {
        // Upstream joined the mount path twice; we refuse to guess which was meant.
        d.push(Diagnostic::error(
            "spec.modelCache.pvcModelPath",
            Code::ModelCacheInvalid,
            format!(
                "pvcModelPath `{rel}` already includes the mount path `{mount_trim}`; it would be joined twice"
            ),
            format!(
                "give the path inside the PVC: `{}`",
                rel.get(mount_trim.len()..)
                    .unwrap_or("")
                    .trim_start_matches('/')
            ),
        ));
        ok = false;
    } else if rel.starts_with('/') {
        d.push(Diagnostic::error(
            "spec.modelCache.pvcModelPath",
            Code::ModelCacheInvalid,
            format!("pvcModelPath `{rel}` is absolute; it is a path inside the PVC"),
            format!("write it relative, e.g. `{}`", rel.trim_start_matches('/')),
        ));
        ok = false;
    } else if rel.split('/').any(|seg| seg == "..") {
        d.push(Diagnostic::error(
            "spec.modelCache.pvcModelPath",
            Code::ModelCacheInvalid,
            format!("pvcModelPath `{rel}` leaves the PVC with `..`"),
            "give a path inside the PVC",
        ));
        ok = false;
    }
    ok.then_some(ResolvedModelCache {
        pvc_name,
        pvc_model_path: rel,
        pvc_mount_path: mount,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::read_document;
    use serde_json::json;

    fn resolve_json(v: serde_json::Value) -> Result<ResolvedSpec, Vec<(String, Code)>> {
        let doc = read_document(&v);
        let spec = doc.dgdr.unwrap().spec;
        let mut d = Diagnostics::new();
        resolve(&spec, &mut d).ok_or_else(|| d.into_iter().map(|x| (x.path, x.code)).collect())
    }

    #[test]
    fn defaults() {
        let r = resolve_json(json!({"model": "Qwen/Qwen3-32B"})).unwrap();
        assert_eq!(r.backend, Backend::Auto);
        assert_eq!((r.workload.isl, r.workload.osl), (4000, 1000));
        assert_eq!(
            r.sla,
            SlaTarget::TtftItl {
                ttft_ms: 2000.0,
                itl_ms: 30.0
            }
        );
        assert!(r.auto_apply);
        assert_eq!(r.picking_mode(), PickingMode::Default);
    }

    #[test]
    fn sla_rules() {
        let ok = resolve_json(
            json!({"model": "m", "sla": {"ttft": null, "itl": null, "e2eLatency": 35000.0}}),
        )
        .unwrap();
        assert_eq!(ok.sla, SlaTarget::E2e { e2e_ms: 35000.0 });
        let ok = resolve_json(json!({"model": "m", "sla": {"itl": 50.0}})).unwrap();
        assert_eq!(
            ok.sla,
            SlaTarget::TtftItl {
                ttft_ms: 2000.0,
                itl_ms: 50.0
            }
        );
        let e = resolve_json(json!({"model": "m", "sla": {"ttft": 100, "e2eLatency": 5000}}))
            .unwrap_err();
        assert_eq!(
            e,
            vec![("spec.sla.e2eLatency".into(), Code::E2eWithTtftOrItl)]
        );
        let e = resolve_json(json!({"model": "m", "sla": {"ttft": null, "itl": 20}})).unwrap_err();
        assert_eq!(e, vec![("spec.sla.ttft".into(), Code::OneSlaTargetNull)]);
    }

    #[test]
    fn model_cache_path_is_joined_once() {
        let r = resolve_json(
            json!({"model": "m", "modelCache": {"pvcName": "c", "pvcModelPath": "deepseek-r1"}}),
        )
        .unwrap();
        assert_eq!(
            r.model_cache.unwrap().model_dir(),
            "/opt/model-cache/deepseek-r1"
        );
        let e = resolve_json(json!({"model": "m", "modelCache": {"pvcName": "c", "pvcModelPath": "/opt/model-cache/deepseek-r1"}})).unwrap_err();
        assert_eq!(e[0].1, Code::ModelCacheInvalid);
    }

    #[test]
    fn load_and_modes() {
        let r = resolve_json(json!({"model": "m", "workload": {"requestRate": 5}})).unwrap();
        assert_eq!(r.workload.load, Some(Load::RequestRate(5.0)));
        assert_eq!(r.picking_mode(), PickingMode::LoadMatch);
        let e =
            resolve_json(json!({"model": "m", "workload": {"requestRate": 5, "concurrency": 50}}))
                .unwrap_err();
        assert_eq!(
            e,
            vec![("spec.workload".into(), Code::BothRateAndConcurrency)]
        );
        let r = resolve_json(json!({"model": "m", "features": {"planner": {}}})).unwrap();
        assert_eq!(r.picking_mode(), PickingMode::Autoscale);
    }
}
