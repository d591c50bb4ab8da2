//! The DynamoGraphDeployment for a [`DeploymentPlan`] (SPEC §5.2, §5.3).
//!
//! [`render_dgd`] turns the picked plan into an `nvidia.com/v1alpha1`
//! `DynamoGraphDeployment`, shaped after Dynamo's examples
//! (`dynamo/examples/<backend>/{agg,disagg}.yaml`): a `Frontend`, and one
//! worker service per engine kind with its command line, GPUs, multinode
//! layout, model cache and HF token secret. [`merge_overrides`] applies the
//! user's `overrides.dgd` (SPEC §5.5); [`crate::assemble`] adds the mocker,
//! the planner and the profile data on top (SPEC §5.4) and applies the
//! overrides last.
//!
//! The manifest is a `serde_json::Value` built in a fixed key order (the
//! workspace enables serde_json's `preserve_order`), so the same input gives
//! the same bytes on every host.
//!
//! Decisions where the SPEC is silent (also in the README):
//! - Service names follow the examples: vLLM `VllmPrefillWorker` /
//!   `VllmDecodeWorker` (agg: `VllmDecodeWorker`), SGLang `prefill` /
//!   `decode` (agg: `decode`), TRT-LLM `TRTLLMPrefillWorker` /
//!   `TRTLLMDecodeWorker` (agg: `TRTLLMWorker`).
//! - The `Frontend` runs `spec.image` as given; workers run the derived
//!   backend runtime image.
//! - The DGD name is the given name made a DNS label and fitted to 45
//!   characters ([`names::fit_name`]).
//! - TRT-LLM engine overrides go in a ConfigMap `trtllm-engine-config-<4hex>`
//!   mounted at [`TRTLLM_ENGINE_CONFIG_DIR`] and passed with
//!   `--extra-engine-args`, the way the examples pass their engine YAML.

pub mod args;
pub mod image;
pub mod merge;
pub mod names;
pub mod yaml;

pub use merge::merge_overrides;

use crate::diag::{Code, Diagnostic};
use crate::plan::{ConcreteBackend, DeploymentPlan, Engine, EngineConfig, Topology};
use crate::spec::ResolvedSpec;
use crate::spec::resolve::ResolvedModelCache;
use args::{ModelNames, Role};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub const API_VERSION: &str = "nvidia.com/v1alpha1";
pub const KIND: &str = "DynamoGraphDeployment";
/// The Secret holding `HF_TOKEN`, as in the examples.
pub const HF_TOKEN_SECRET: &str = "hf-token-secret";
pub const LABEL_NAME: &str = "dgdr.nvidia.com/name";
pub const LABEL_NAMESPACE: &str = "dgdr.nvidia.com/namespace";
pub const LABEL_MANAGED_BY: &str = "nvidia.com/managed-by";
pub const MANAGED_BY: &str = "dgdr";
pub const FRONTEND: &str = "Frontend";
/// Where TRT-LLM workers find their engine-override YAML files.
pub const TRTLLM_ENGINE_CONFIG_DIR: &str = "/workspace/engine_configs";
const TRTLLM_ENGINE_VOLUME: &str = "trtllm-engine-config";

/// A ConfigMap that goes with the DGD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigMap {
    pub name: String,
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// File name → content.
    pub data: BTreeMap<String, String>,
}

impl ConfigMap {
    /// Builds one named `{base}-{4hex}`, the suffix hashed from the DGD name
    /// and the data, so the same content always gets the same name and two
    /// deployments do not share one by accident.
    pub fn new(base: &str, meta: &DgdMeta, data: BTreeMap<String, String>) -> ConfigMap {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(meta.name.as_bytes());
        for (k, v) in &data {
            bytes.push(0);
            bytes.extend_from_slice(k.as_bytes());
            bytes.push(0);
            bytes.extend_from_slice(v.as_bytes());
        }
        ConfigMap {
            name: format!("{base}-{}", names::hex4(&bytes)),
            namespace: meta.namespace.clone(),
            labels: meta.labels.clone(),
            data,
        }
    }

    /// The Kubernetes manifest.
    pub fn to_manifest(&self) -> Value {
        let mut metadata = Map::new();
        metadata.insert("name".into(), Value::from(self.name.clone()));
        if let Some(ns) = &self.namespace {
            metadata.insert("namespace".into(), Value::from(ns.clone()));
        }
        metadata.insert("labels".into(), string_map(&self.labels));
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata,
            "data": string_map(&self.data),
        })
    }

    /// Bytes of data (keys and values), to compare with Kubernetes' 1 MiB limit.
    pub fn data_bytes(&self) -> usize {
        self.data.iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}

fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect(),
    )
}

/// Name, namespace and dgdr labels of a rendered deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DgdMeta {
    /// `metadata.name` of the DGD: a DNS label of at most 45 characters.
    pub name: String,
    pub namespace: Option<String>,
    /// The labels dgdr puts on the DGD and its ConfigMaps.
    pub labels: BTreeMap<String, String>,
}

impl DgdMeta {
    /// From the DGDR's name and namespace.
    pub fn new(name: &str, namespace: Option<&str>) -> Result<DgdMeta, RenderError> {
        let dgd_name = names::dns_label(name, names::MAX_SERVICE_NAME).ok_or_else(|| {
            RenderError::InvalidName {
                name: name.to_string(),
                reason: "it has no letter or digit",
            }
        })?;
        let mut labels = BTreeMap::new();
        labels.insert(
            LABEL_NAME.to_string(),
            names::label_value(name).unwrap_or_else(|| dgd_name.clone()),
        );
        let namespace = namespace.filter(|ns| !ns.trim().is_empty());
        if let Some(ns) = namespace
            && let Some(v) = names::label_value(ns)
        {
            labels.insert(LABEL_NAMESPACE.to_string(), v);
        }
        labels.insert(LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string());
        Ok(DgdMeta {
            name: dgd_name,
            namespace: namespace.map(str::to_string),
            labels,
        })
    }
}

/// A rendered DynamoGraphDeployment and what goes with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Dgd {
    pub meta: DgdMeta,
    /// The `DynamoGraphDeployment` manifest.
    pub manifest: Value,
    /// ConfigMaps the manifest mounts (TRT-LLM engine overrides).
    pub config_maps: Vec<ConfigMap>,
    /// Things worth telling the user (e.g. a digest kept on a derived image).
    pub warnings: Vec<Diagnostic>,
}

impl Dgd {
    /// `spec.services`.
    pub fn services(&self) -> Option<&Map<String, Value>> {
        self.manifest
            .get("spec")
            .and_then(|s| s.get("services"))
            .and_then(Value::as_object)
    }

    /// `spec.services.<name>`.
    pub fn service(&self, name: &str) -> Option<&Value> {
        self.services().and_then(|s| s.get(name))
    }
}

/// Why a plan could not be rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    #[error("no container image: `spec.image` is needed to render a deployment")]
    ImageMissing,
    #[error("image `{image}` cannot be used: {reason}")]
    InvalidImage { image: String, reason: &'static str },
    #[error(
        "one {gpus}-GPU engine instance may span nodes, but the number of GPUs per node is unknown"
    )]
    GpusPerNodeUnknown { gpus: u32 },
    #[error("`{name}` cannot name a deployment: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("the deployment plan cannot be rendered: {0}")]
    InvalidPlan(String),
}

impl RenderError {
    /// The diagnostic for errors that concern the user's input; `None` for
    /// errors of the plan itself (a bug upstream of rendering).
    pub fn to_diagnostic(&self) -> Option<Diagnostic> {
        match self {
            RenderError::ImageMissing => Some(Diagnostic::error(
                "spec.image",
                Code::ImageRequired,
                self.to_string(),
                "give the Dynamo image to deploy, e.g. `nvcr.io/nvidia/ai-dynamo/dynamo-frontend:1.0.0`; the backend and planner images are derived from it",
            )),
            RenderError::InvalidImage { .. } => Some(Diagnostic::error(
                "spec.image",
                Code::MalformedValue,
                self.to_string(),
                "write an image reference such as `registry/path/name:tag` or `name@sha256:…`",
            )),
            RenderError::GpusPerNodeUnknown { .. } => Some(Diagnostic::error(
                "spec.hardware.numGpusPerNode",
                Code::HardwareRequired,
                self.to_string(),
                "set `hardware.numGpusPerNode`, or let GPU discovery fill it",
            )),
            RenderError::InvalidName { .. } => Some(Diagnostic::error(
                "metadata.name",
                Code::MalformedValue,
                self.to_string(),
                "name the request with lowercase letters, digits and '-'",
            )),
            RenderError::InvalidPlan(_) => None,
        }
    }
}

/// GPUs per pod and pods per instance for an engine (SPEC §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// `resources.limits.gpu`: GPUs of one pod, `min(per_instance, per_node)`.
    pub gpus_per_pod: u32,
    /// `multinode.nodeCount`: `ceil(per_instance / per_node)` when above 1.
    pub node_count: Option<u32>,
}

/// Places one instance of `per_instance` GPUs (`tp × pp × dp`, attention-DP
/// counted once) on nodes of `per_node` GPUs. An instance that spans nodes
/// must fill them evenly: Dynamo gives every node of a multinode instance
/// the same GPU limit.
pub fn placement(per_instance: u32, per_node: Option<u32>) -> Result<Placement, RenderError> {
    if per_instance == 0 {
        return Err(RenderError::InvalidPlan(
            "an engine instance has 0 GPUs".into(),
        ));
    }
    let single = Placement {
        gpus_per_pod: per_instance,
        node_count: None,
    };
    if per_instance == 1 {
        return Ok(single);
    }
    let per_node = match per_node {
        Some(n) if n > 0 => n,
        _ => {
            return Err(RenderError::GpusPerNodeUnknown { gpus: per_instance });
        }
    };
    if per_instance <= per_node {
        return Ok(single);
    }
    if !per_instance.is_multiple_of(per_node) {
        return Err(RenderError::InvalidPlan(format!(
            "an instance of {per_instance} GPUs cannot be split evenly over nodes of {per_node} GPUs"
        )));
    }
    Ok(Placement {
        gpus_per_pod: per_node,
        node_count: Some(per_instance / per_node),
    })
}

/// Checks an engine's settings and returns its GPUs per instance.
fn check_engine(
    what: &str,
    engine: &Engine,
    moe: bool,
    backend: ConcreteBackend,
) -> Result<u32, RenderError> {
    let bad = |m: String| Err(RenderError::InvalidPlan(format!("{what}: {m}")));
    let c: &EngineConfig = &engine.config;
    let p = c.parallel;
    if p.tp == 0 || p.pp == 0 || p.dp == 0 {
        return bad(format!(
            "tp {}, pp {}, dp {}: every size must be at least 1",
            p.tp, p.pp, p.dp
        ));
    }
    if moe {
        let group = u64::from(p.tp) * u64::from(p.dp);
        let experts = u64::from(p.moe_tp) * u64::from(p.moe_ep);
        if p.moe_tp == 0 || p.moe_ep == 0 || group != experts {
            return bad(format!(
                "moe_tp {} × moe_ep {} must equal tp {} × dp {} (experts split over the attention GPUs)",
                p.moe_tp, p.moe_ep, p.tp, p.dp
            ));
        }
    }
    if engine.replicas == 0 {
        return bad("0 replicas".into());
    }
    if c.max_batch_size == 0 || c.max_num_tokens == 0 || c.max_seq_len == 0 {
        return bad("max_batch_size, max_num_tokens and max_seq_len must be at least 1".into());
    }
    if c.block_size == Some(0) {
        return bad("block_size 0".into());
    }
    if backend == ConcreteBackend::Trtllm
        && let Some(b) = c.block_size
        && b != args::TRTLLM_BLOCK
    {
        return bad(format!(
            "TRT-LLM workers use KV block size {}, the plan asks for {b}",
            args::TRTLLM_BLOCK
        ));
    }
    if backend == ConcreteBackend::Trtllm && p.dp > 1 && p.tp > 1 {
        return bad(format!(
            "TRT-LLM's attention data parallelism runs attention on one GPU per rank, so tp must be 1 when dp > 1 (tp {}, dp {})",
            p.tp, p.dp
        ));
    }
    if let Some(f) = c.gpu_memory_fraction
        && !(f.is_finite() && f > 0.0 && f <= 1.0)
    {
        return bad(format!("gpu_memory_fraction {f} is not in (0, 1]"));
    }
    p.gpus()
        .ok_or_else(|| RenderError::InvalidPlan(format!("{what}: GPU count overflows")))
}

/// A ConfigMap mounted into a service's main container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigVolume {
    pub volume: String,
    pub config_map: String,
    pub mount_path: String,
}

/// Mounts a ConfigMap into a service (`extraPodSpec.volumes` and
/// `extraPodSpec.mainContainer.volumeMounts`).
pub fn mount_config_map(service: &mut Value, v: &ConfigVolume) {
    let Some(svc) = service.as_object_mut() else {
        return;
    };
    let Some(eps) = object_entry(svc, "extraPodSpec") else {
        return;
    };
    push_item(
        eps,
        "volumes",
        json!({ "name": v.volume, "configMap": { "name": v.config_map } }),
    );
    let Some(mc) = object_entry(eps, "mainContainer") else {
        return;
    };
    push_item(
        mc,
        "volumeMounts",
        json!({ "name": v.volume, "mountPath": v.mount_path, "readOnly": true }),
    );
}

/// `map[key]` as an object, created (or replaced, if not an object) when
/// needed. Always `Some`; an `Option` only to stay free of panics.
pub(crate) fn object_entry<'m>(
    map: &'m mut Map<String, Value>,
    key: &str,
) -> Option<&'m mut Map<String, Value>> {
    let slot = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

fn push_item(map: &mut Map<String, Value>, key: &str, item: Value) {
    let slot = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    match slot {
        Value::Array(items) => items.push(item),
        other => *other = Value::Array(vec![item]),
    }
}

/// What a worker service is made of.
pub(crate) struct WorkerService<'a> {
    pub role: Role,
    pub replicas: u32,
    pub image: String,
    pub working_dir: &'static str,
    pub module: &'static str,
    pub args: Vec<String>,
    pub env: Vec<(&'static str, String)>,
    /// `None` for workers that use no GPU (the mocker).
    pub placement: Option<Placement>,
    pub model_cache: Option<&'a ResolvedModelCache>,
}

impl WorkerService<'_> {
    pub fn to_value(&self) -> Value {
        let mut s = Map::new();
        s.insert("envFromSecret".into(), Value::from(HF_TOKEN_SECRET));
        s.insert("componentType".into(), Value::from("worker"));
        if let Some(mode) = self.role.disagg_mode() {
            s.insert("subComponentType".into(), Value::from(mode));
        }
        s.insert("replicas".into(), Value::from(self.replicas));
        if let Some(p) = self.placement {
            s.insert(
                "resources".into(),
                json!({ "limits": { "gpu": p.gpus_per_pod.to_string() } }),
            );
            if let Some(n) = p.node_count {
                s.insert("multinode".into(), json!({ "nodeCount": n }));
            }
        }
        if let Some(mc) = self.model_cache {
            let mount = match mc.pvc_mount_path.trim_end_matches('/') {
                "" => "/",
                m => m,
            };
            s.insert(
                "volumeMounts".into(),
                json!([{ "name": mc.pvc_name, "mountPoint": mount }]),
            );
        }
        let mut main = Map::new();
        main.insert("image".into(), Value::from(self.image.clone()));
        main.insert("workingDir".into(), Value::from(self.working_dir));
        main.insert("command".into(), json!(["python3", "-m", self.module]));
        main.insert("args".into(), json!(self.args));
        if !self.env.is_empty() {
            main.insert(
                "env".into(),
                Value::Array(
                    self.env
                        .iter()
                        .map(|(k, v)| json!({ "name": k, "value": v }))
                        .collect(),
                ),
            );
        }
        s.insert("extraPodSpec".into(), json!({ "mainContainer": main }));
        Value::Object(s)
    }
}

/// The Frontend service.
pub(crate) fn frontend_service(image: &str) -> Value {
    json!({
        "envFromSecret": HF_TOKEN_SECRET,
        "componentType": "frontend",
        "replicas": 1,
        "extraPodSpec": { "mainContainer": { "image": image } },
    })
}

/// The service name of a worker.
pub fn worker_service_name(backend: ConcreteBackend, role: Role) -> String {
    let n = match (backend, role) {
        (ConcreteBackend::Vllm, Role::Prefill) => "VllmPrefillWorker",
        (ConcreteBackend::Vllm, Role::Agg | Role::Decode) => "VllmDecodeWorker",
        (ConcreteBackend::Sglang, Role::Prefill) => "prefill",
        (ConcreteBackend::Sglang, Role::Agg | Role::Decode) => "decode",
        (ConcreteBackend::Trtllm, Role::Agg) => "TRTLLMWorker",
        (ConcreteBackend::Trtllm, Role::Prefill) => "TRTLLMPrefillWorker",
        (ConcreteBackend::Trtllm, Role::Decode) => "TRTLLMDecodeWorker",
    };
    names::fit_name(n, names::MAX_SERVICE_NAME)
}

/// The engines of a topology with their roles, prefill first.
pub fn engines(t: &Topology) -> Vec<(Role, &Engine)> {
    match t {
        Topology::Agg { worker } => vec![(Role::Agg, worker)],
        Topology::Disagg { prefill, decode } => {
            vec![(Role::Prefill, prefill), (Role::Decode, decode)]
        }
    }
}

/// How workers name the model: the PVC directory when there is a model
/// cache (joined once, [`ResolvedModelCache::model_dir`]), else `spec.model`.
pub(crate) fn model_path(spec: &ResolvedSpec) -> String {
    spec.model_cache
        .as_ref()
        .map(ResolvedModelCache::model_dir)
        .unwrap_or_else(|| spec.model.clone())
}

/// The image for `name` derived from `spec.image`, with a warning when a
/// digest is carried over to another image.
pub(crate) fn derived_image(
    spec_image: &str,
    name: &str,
    warnings: &mut Vec<Diagnostic>,
) -> Result<String, RenderError> {
    let img = image::derive_image(spec_image, name)?;
    if image::derived_digest_mismatch(spec_image, name)
        && !warnings.iter().any(|w| w.message.contains(&img))
    {
        warnings.push(Diagnostic::warning(
            "spec.image",
            Code::Suspicious,
            format!(
                "`{spec_image}` is pinned by digest; the derived image `{img}` keeps that digest, which names the original image's content"
            ),
            "pin the derived images by tag, or set each service's image in overrides.dgd",
        ));
    }
    Ok(img)
}

/// Renders the DGD for `plan`. `name` and `namespace` are the DGDR's; the
/// DGD gets the labels `dgdr.nvidia.com/name`, `dgdr.nvidia.com/namespace`
/// (when a namespace is given) and `nvidia.com/managed-by: dgdr`.
pub fn render_dgd(
    spec: &ResolvedSpec,
    name: &str,
    namespace: Option<&str>,
    plan: &DeploymentPlan,
) -> Result<Dgd, RenderError> {
    let meta = DgdMeta::new(name, namespace)?;
    let spec_image = spec.image.as_deref().ok_or(RenderError::ImageMissing)?;
    image::ImageRef::parse(spec_image)?;
    let backend = plan.backend;
    if let Some(requested) = ConcreteBackend::from_backend(spec.backend)
        && requested != backend
    {
        return Err(RenderError::InvalidPlan(format!(
            "the request asks for backend {requested}, the plan is for {backend}"
        )));
    }
    let mut warnings = Vec::new();
    let worker_image = derived_image(spec_image, backend.runtime_image_name(), &mut warnings)?;
    let model_path = model_path(spec);
    let model = ModelNames {
        path: &model_path,
        served: &spec.model,
    };
    // Under the mocker these workers are replaced by GPU-less mocker workers
    // (crate::assemble), so a node size nobody discovered is no error there.
    let per_node = spec
        .hardware
        .num_gpus_per_node
        .or(spec.mocker.then_some(u32::MAX));

    let roles = engines(&plan.topology);
    let mut gpus = Vec::new();
    for (role, engine) in &roles {
        gpus.push(check_engine(
            &format!("{} engine", role.as_str()),
            engine,
            plan.moe,
            backend,
        )?);
    }

    // TRT-LLM engine overrides: one ConfigMap, one file per role.
    let mut engine_files = BTreeMap::new();
    if backend == ConcreteBackend::Trtllm {
        for (role, engine) in &roles {
            if let Some(cfg) = args::trtllm_engine_config(&engine.config, *role) {
                let text = yaml::to_yaml(&cfg);
                engine_files.insert(format!("{}.yaml", role.as_str()), text);
            }
        }
    }
    let engine_cm = (!engine_files.is_empty())
        .then(|| ConfigMap::new("trtllm-engine-config", &meta, engine_files));

    let mut services = Map::new();
    services.insert(FRONTEND.into(), frontend_service(spec_image));
    for ((role, engine), per_instance) in roles.iter().zip(gpus) {
        let role = *role;
        let cfg = &engine.config;
        let file = format!("{}.yaml", role.as_str());
        let engine_config_path = engine_cm
            .as_ref()
            .filter(|cm| cm.data.contains_key(&file))
            .map(|_| format!("{TRTLLM_ENGINE_CONFIG_DIR}/{file}"));
        let (working_dir, module, args, env) = match backend {
            ConcreteBackend::Vllm => (
                "/workspace/examples/backends/vllm",
                "dynamo.vllm",
                args::vllm(model, cfg, plan.moe, role),
                vec![("DYN_BENCHMARK_MODE", role.as_str().to_string())],
            ),
            ConcreteBackend::Sglang => (
                "/workspace/examples/backends/sglang",
                "dynamo.sglang",
                args::sglang(model, cfg, plan.moe, plan.moe_top_k, role),
                vec![],
            ),
            ConcreteBackend::Trtllm => (
                "/workspace",
                "dynamo.trtllm",
                args::trtllm(model, cfg, plan.moe, role, engine_config_path.as_deref())?,
                vec![],
            ),
        };
        let mut svc = WorkerService {
            role,
            replicas: engine.replicas,
            image: worker_image.clone(),
            working_dir,
            module,
            args,
            env,
            placement: Some(placement(per_instance, per_node)?),
            model_cache: spec.model_cache.as_ref(),
        }
        .to_value();
        if let (Some(cm), Some(_)) = (&engine_cm, &engine_config_path) {
            mount_config_map(
                &mut svc,
                &ConfigVolume {
                    volume: TRTLLM_ENGINE_VOLUME.into(),
                    config_map: cm.name.clone(),
                    mount_path: TRTLLM_ENGINE_CONFIG_DIR.into(),
                },
            );
        }
        services.insert(worker_service_name(backend, role), svc);
    }

    let mut dgd_spec = Map::new();
    dgd_spec.insert("backendFramework".into(), Value::from(backend.as_str()));
    if let Some(mc) = &spec.model_cache {
        dgd_spec.insert(
            "pvcs".into(),
            json!([{ "name": mc.pvc_name, "create": false }]),
        );
    }
    dgd_spec.insert("services".into(), Value::Object(services));

    let manifest = json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": dgd_metadata(&meta),
        "spec": dgd_spec,
    });
    Ok(Dgd {
        meta,
        manifest,
        config_maps: engine_cm.into_iter().collect(),
        warnings,
    })
}

fn dgd_metadata(meta: &DgdMeta) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::from(meta.name.clone()));
    if let Some(ns) = &meta.namespace {
        m.insert("namespace".into(), Value::from(ns.clone()));
    }
    m.insert("labels".into(), string_map(&meta.labels));
    Value::Object(m)
}

#[cfg(test)]
pub(crate) mod tests;
