//! Final assembly (SPEC §5.4): the rendered DGD plus three layers, then the
//! user's overrides, into `final_config.yaml`.
//!
//! 1. **Mocker** (`features.mocker.enabled`): the workers become
//!    `python3 -m dynamo.mocker` workers shaped after
//!    `dynamo/examples/mocker/disagg.yaml`, on `spec.image`, replaying the
//!    profile data.
//! 2. **Planner** (`features.planner`): a `Planner` service and the
//!    ConfigMap `planner-config-<4hex>` holding `planner_config.json`.
//! 3. **Profile data** (mocker, or a planner that scales on throughput): the
//!    ConfigMap `planner-profile-data-<4hex>` with `prefill_raw_data.json`
//!    and `decode_raw_data.json`, mounted at `/workspace/profiling_results`
//!    in the Planner and in the mocker workers.
//!
//! Then `overrides.profilingJob` tolerations and `overrides.dgd` are merged
//! ([`crate::render::merge_overrides`]): last, so they reach the Planner and
//! the mocker workers too. Do not merge them again.
//!
//! Decisions where the SPEC is silent:
//! - The planner's `backend` is the deployed one (`mocker` under the
//!   mocker) and its `mode` follows the plan (`agg` for an aggregated plan;
//!   a disaggregated plan keeps `prefill`/`decode`/`disagg` but not `agg`).
//! - The planner's `ttft`/`itl` are the request's SLA (`spec.sla`), each
//!   replaced by what the plan achieves when that is worse (the SLA was
//!   unachievable). With an `e2eLatency` SLA they are the achieved values
//!   (what meets it), or the planner's own when the plan has none.
//! - `profile_results_dir` is always written; the directory exists only when
//!   the profile data is mounted.
//! - With a model cache, mocker workers mount the PVC and load the tokenizer
//!   from it (`--model-path` is the PVC directory, `--model-name` `spec.model`).

use crate::diag::{Code, Diagnostic};
use crate::plan::{DeploymentPlan, ProfileData, Topology};
use crate::render::args::{ModelNames, Role};
use crate::render::{
    self, ConfigMap, ConfigVolume, Dgd, RenderError, WorkerService, mount_config_map,
};
use crate::spec::planner::{PlannerBackend, PlannerMode};
use crate::spec::{ResolvedSpec, SlaTarget};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub const PLANNER: &str = "Planner";
pub const PLANNER_IMAGE: &str = "dynamo-planner";
pub const PLANNER_CONFIG_DIR: &str = "/workspace/planner_config";
pub const PLANNER_CONFIG_FILE: &str = "planner_config.json";
pub const PROFILE_DATA_DIR: &str = "/workspace/profiling_results";
pub const PREFILL_DATA_FILE: &str = "prefill_raw_data.json";
pub const DECODE_DATA_FILE: &str = "decode_raw_data.json";
/// The mocker replays the profile at real speed.
pub const MOCKER_SPEEDUP_RATIO: &str = "1.0";
/// Kubernetes refuses objects over 1 MiB; keep ConfigMap data well below.
pub const MAX_CONFIG_MAP_BYTES: usize = 1_000_000;

const PLANNER_CONFIG_VOLUME: &str = "planner-config";
const PROFILE_DATA_VOLUME: &str = "planner-profile-data";

/// The assembled output: ConfigMaps, then the DGD.
#[derive(Debug, Clone, PartialEq)]
pub struct Assembled {
    /// The DGD's name, namespace and dgdr labels (for `status.dgdName`).
    pub meta: render::DgdMeta,
    /// In output order: planner config, profile data, engine configs.
    pub config_maps: Vec<ConfigMap>,
    /// The final DynamoGraphDeployment.
    pub dgd: Value,
    /// Warnings from rendering, assembly and the overrides merge.
    pub diagnostics: Vec<Diagnostic>,
}

impl Assembled {
    /// The manifests in output order: ConfigMaps first, then the DGD.
    pub fn documents(&self) -> Vec<Value> {
        self.config_maps
            .iter()
            .map(ConfigMap::to_manifest)
            .chain(std::iter::once(self.dgd.clone()))
            .collect()
    }

    /// `final_config.yaml`: one YAML document per manifest, each starting
    /// with `---` ([`crate::render::yaml`]). The same input gives the same bytes.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for doc in self.documents() {
            out.push_str("---\n");
            out.push_str(&render::yaml::to_yaml(&doc));
        }
        out
    }
}

/// Why a deployment could not be assembled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AssembleError {
    #[error(
        "the mocker replays separate prefill and decode profiles and needs a disaggregated plan, but the plan is aggregated"
    )]
    MockerNeedsDisagg,
    #[error(
        "{needed_by} needs the engines' profile data (interpolation curves), but none was given"
    )]
    ProfileDataMissing { needed_by: &'static str },
    #[error("the profile data is unusable: {0}")]
    InvalidProfileData(String),
    #[error("ConfigMap `{name}` would hold {bytes} bytes, above Kubernetes' limit of about 1 MiB")]
    ConfigMapTooLarge { name: String, bytes: usize },
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("could not write the manifests: {0}")]
    Serialize(String),
}

impl AssembleError {
    /// The diagnostic for errors that concern the user's input; `None` for
    /// errors of the plan or the data handed in (bugs upstream of assembly).
    pub fn to_diagnostic(&self) -> Option<Diagnostic> {
        match self {
            AssembleError::Render(e) => e.to_diagnostic(),
            AssembleError::ConfigMapTooLarge { .. } => Some(Diagnostic::error(
                "spec.features.planner",
                Code::OutOfRange,
                self.to_string(),
                "profile with a coarser granularity so the interpolation data is smaller",
            )),
            AssembleError::MockerNeedsDisagg
            | AssembleError::ProfileDataMissing { .. }
            | AssembleError::InvalidProfileData(_)
            | AssembleError::Serialize(_) => None,
        }
    }
}

/// Assembles the final output from a rendered DGD (SPEC §5.4, §5.5).
pub fn assemble(
    spec: &ResolvedSpec,
    dgd: Dgd,
    plan: &DeploymentPlan,
    profile_data: Option<&ProfileData>,
) -> Result<Assembled, AssembleError> {
    let Dgd {
        meta,
        mut manifest,
        config_maps: engine_config_maps,
        warnings,
    } = dgd;
    let mut diagnostics = warnings;
    let mut config_maps = Vec::new();
    let spec_image = spec.image.as_deref().ok_or(RenderError::ImageMissing)?;

    // Layer 3's data is needed by layers 1 and 2: check it first.
    let profile_cm = if spec.needs_profile_data() {
        let needed_by = if spec.mocker {
            "the mocker"
        } else {
            "the planner's throughput-based scaling"
        };
        let data = profile_data.ok_or(AssembleError::ProfileDataMissing { needed_by })?;
        check_profile_data(data)?;
        let mut files = BTreeMap::new();
        files.insert(PREFILL_DATA_FILE.to_string(), to_json(&data.prefill)?);
        files.insert(DECODE_DATA_FILE.to_string(), to_json(&data.decode)?);
        Some(ConfigMap::new("planner-profile-data", &meta, files))
    } else {
        None
    };
    let profile_volume = profile_cm.as_ref().map(|cm| ConfigVolume {
        volume: PROFILE_DATA_VOLUME.into(),
        config_map: cm.name.clone(),
        mount_path: PROFILE_DATA_DIR.into(),
    });

    // Layer 1: the mocker.
    let mocker = spec.mocker;
    if mocker {
        let Topology::Disagg { prefill, decode } = &plan.topology else {
            return Err(AssembleError::MockerNeedsDisagg);
        };
        let model_path = render::model_path(spec);
        let model = ModelNames {
            path: &model_path,
            served: &spec.model,
        };
        let mut services = Map::new();
        services.insert(
            render::FRONTEND.into(),
            render::frontend_service(spec_image),
        );
        for (role, engine) in [(Role::Prefill, prefill), (Role::Decode, decode)] {
            let mut svc = mocker_worker(spec, spec_image, model, role, engine.replicas).to_value();
            if let Some(v) = &profile_volume {
                mount_config_map(&mut svc, v);
            }
            services.insert(role.as_str().to_string(), svc);
        }
        if let Some(s) = manifest.get_mut("spec").and_then(Value::as_object_mut) {
            // The mocker is no backend framework of the CRD's enum.
            s.shift_remove("backendFramework");
            s.insert("services".into(), Value::Object(services));
        }
    } else {
        config_maps.extend(engine_config_maps);
    }

    // Layer 2: the planner.
    if let Some(cfg) = &spec.planner {
        let config = planner_config(spec, cfg, plan, &mut diagnostics)?;
        let mut files = BTreeMap::new();
        files.insert(PLANNER_CONFIG_FILE.to_string(), config);
        let cm = ConfigMap::new("planner-config", &meta, files);
        let image = render::derived_image(spec_image, PLANNER_IMAGE, &mut diagnostics)?;
        let mut svc = json!({
            "componentType": "planner",
            "replicas": 1,
            "extraPodSpec": { "mainContainer": {
                "image": image,
                "workingDir": "/workspace",
                "command": ["python3", "-m", "dynamo.planner"],
                "args": ["--config", format!("{PLANNER_CONFIG_DIR}/{PLANNER_CONFIG_FILE}")],
            }},
        });
        mount_config_map(
            &mut svc,
            &ConfigVolume {
                volume: PLANNER_CONFIG_VOLUME.into(),
                config_map: cm.name.clone(),
                mount_path: PLANNER_CONFIG_DIR.into(),
            },
        );
        if let Some(v) = &profile_volume {
            mount_config_map(&mut svc, v);
        }
        if let Some(services) = manifest
            .get_mut("spec")
            .and_then(|s| s.get_mut("services"))
            .and_then(Value::as_object_mut)
        {
            services.insert(PLANNER.into(), svc);
        }
        config_maps.insert(0, cm);
    }

    // Layer 3: the profile data, after the planner config.
    if let Some(cm) = profile_cm {
        let at = usize::from(spec.planner.is_some());
        config_maps.insert(at.min(config_maps.len()), cm);
    }

    for cm in &config_maps {
        let bytes = cm.data_bytes();
        if bytes > MAX_CONFIG_MAP_BYTES {
            return Err(AssembleError::ConfigMapTooLarge {
                name: cm.name.clone(),
                bytes,
            });
        }
    }

    // Last: the user's overrides.
    let (merged, merge_diags) = render::merge_overrides(
        Dgd {
            meta,
            manifest,
            config_maps: Vec::new(),
            warnings: Vec::new(),
        },
        &spec.overrides,
    );
    diagnostics.extend(merge_diags);
    Ok(Assembled {
        meta: merged.meta,
        config_maps,
        dgd: merged.manifest,
        diagnostics,
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, AssembleError> {
    serde_json::to_string(v).map_err(|e| AssembleError::Serialize(e.to_string()))
}

fn mocker_worker<'a>(
    spec: &'a ResolvedSpec,
    image: &str,
    model: ModelNames<'_>,
    role: Role,
    replicas: u32,
) -> WorkerService<'a> {
    let mut args = Vec::new();
    for (flag, value) in [
        ("--model-path", model.path),
        ("--model-name", model.served),
        ("--speedup-ratio", MOCKER_SPEEDUP_RATIO),
        ("--planner-profile-data", PROFILE_DATA_DIR),
        ("--disaggregation-mode", role.as_str()),
    ] {
        args.push(flag.to_string());
        args.push(value.to_string());
    }
    WorkerService {
        role,
        replicas,
        image: image.to_string(),
        working_dir: "/workspace",
        module: "dynamo.mocker",
        args,
        env: Vec::new(),
        placement: None,
        model_cache: spec.model_cache.as_ref(),
    }
}

/// `planner_config.json`: the resolved PlannerConfig with the deployment's
/// facts filled in (see the module docs for the rules).
fn planner_config(
    spec: &ResolvedSpec,
    cfg: &crate::spec::PlannerConfig,
    plan: &DeploymentPlan,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<String, AssembleError> {
    let mut cfg = cfg.clone();
    cfg.backend = if spec.mocker {
        PlannerBackend::Mocker
    } else {
        match plan.backend {
            crate::plan::ConcreteBackend::Vllm => PlannerBackend::Vllm,
            crate::plan::ConcreteBackend::Sglang => PlannerBackend::Sglang,
            crate::plan::ConcreteBackend::Trtllm => PlannerBackend::Trtllm,
        }
    };
    let gpus = |e: &crate::plan::Engine| {
        e.config
            .parallel
            .gpus()
            .ok_or_else(|| RenderError::InvalidPlan("GPU count overflows".into()))
    };
    let (prefill_gpus, decode_gpus) = match &plan.topology {
        Topology::Agg { worker } => {
            cfg.mode = PlannerMode::Agg;
            let g = gpus(worker)?;
            (g, g)
        }
        Topology::Disagg { prefill, decode } => {
            if cfg.mode == PlannerMode::Agg {
                diagnostics.push(Diagnostic::warning(
                    "spec.features.planner.mode",
                    Code::PlannerSettingOverridden,
                    "the planner's mode is `agg`, but the deployment is disaggregated; the planner runs in `disagg` mode",
                    "remove `mode` from the planner, or set it to `disagg`, `prefill` or `decode`",
                ));
                cfg.mode = PlannerMode::Disagg;
            }
            (gpus(prefill)?, gpus(decode)?)
        }
    };
    let achieved = plan.achieved.as_ref();
    let (ttft, itl) = match (spec.sla, achieved) {
        (SlaTarget::TtftItl { ttft_ms, itl_ms }, Some(a)) => {
            (ttft_ms.max(a.ttft_ms), itl_ms.max(a.itl_ms))
        }
        (SlaTarget::TtftItl { ttft_ms, itl_ms }, None) => (ttft_ms, itl_ms),
        // A one-token output has no inter-token latency: the planner keeps
        // its own ITL target then.
        (SlaTarget::E2e { .. }, Some(a)) => (
            if a.ttft_ms > 0.0 { a.ttft_ms } else { cfg.ttft },
            if a.itl_ms > 0.0 { a.itl_ms } else { cfg.itl },
        ),
        (SlaTarget::E2e { .. }, None) => (cfg.ttft, cfg.itl),
    };
    if !(ttft.is_finite() && ttft > 0.0 && itl.is_finite() && itl > 0.0) {
        return Err(RenderError::InvalidPlan(format!(
            "the planner's targets TTFT {ttft} ms and ITL {itl} ms are not positive numbers"
        ))
        .into());
    }
    cfg.ttft = ttft;
    cfg.itl = itl;
    let mut v = serde_json::to_value(&cfg).map_err(|e| AssembleError::Serialize(e.to_string()))?;
    if let Some(o) = v.as_object_mut() {
        o.insert("prefill_engine_num_gpu".into(), Value::from(prefill_gpus));
        o.insert("decode_engine_num_gpu".into(), Value::from(decode_gpus));
        o.insert("profile_results_dir".into(), Value::from(PROFILE_DATA_DIR));
    }
    serde_json::to_string_pretty(&v).map_err(|e| AssembleError::Serialize(e.to_string()))
}

/// Profile data must be complete, finite and consistent to be replayed.
fn check_profile_data(p: &ProfileData) -> Result<(), AssembleError> {
    let bad = |m: String| Err(AssembleError::InvalidProfileData(m));
    let pre = &p.prefill;
    let n = pre.prefill_isl.len();
    if n == 0 {
        return bad("the prefill data has no points".into());
    }
    if pre.prefill_ttft.len() != n || pre.prefill_thpt_per_gpu.len() != n {
        return bad(format!(
            "the prefill arrays differ in length ({n} ISLs, {} TTFTs, {} throughputs)",
            pre.prefill_ttft.len(),
            pre.prefill_thpt_per_gpu.len()
        ));
    }
    let dec = &p.decode;
    let m = dec.x_kv_usage.len();
    if m == 0 {
        return bad("the decode data has no points".into());
    }
    if dec.y_context_length.len() != m || dec.z_itl.len() != m || dec.z_thpt_per_gpu.len() != m {
        return bad(format!(
            "the decode arrays differ in length ({m} KV usages, {} context lengths, {} ITLs, {} throughputs)",
            dec.y_context_length.len(),
            dec.z_itl.len(),
            dec.z_thpt_per_gpu.len()
        ));
    }
    let all = pre
        .prefill_isl
        .iter()
        .chain(&pre.prefill_ttft)
        .chain(&pre.prefill_thpt_per_gpu)
        .chain(&dec.x_kv_usage)
        .chain(&dec.y_context_length)
        .chain(&dec.z_itl)
        .chain(&dec.z_thpt_per_gpu);
    if let Some(x) = all.into_iter().find(|x| !x.is_finite()) {
        return bad(format!("it holds a non-finite number ({x})"));
    }
    if let Some(x) = dec.x_kv_usage.iter().find(|x| !(0.0..=1.0).contains(*x)) {
        return bad(format!("x_kv_usage {x} is outside [0, 1]"));
    }
    if dec.max_kv_tokens == 0 {
        return bad("max_kv_tokens is 0".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
