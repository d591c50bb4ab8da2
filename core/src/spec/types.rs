//! The v1beta1 DynamoGraphDeploymentRequest as written by a user.
//!
//! Every field is optional here, exactly as in the CRD: these types say what
//! the document holds, not what dgdr will use. Defaults are applied in one
//! place, [`super::resolve`], which gives the rest of the core a
//! [`super::ResolvedSpec`] without any `Option` it would have to guess about.

use super::decode::{Field, Obj, keyword_enum};
use super::planner::PlannerInput;
use crate::diag::{Code, Diagnostic, Diagnostics};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const API_GROUP: &str = "nvidia.com";
pub const API_VERSION_V1BETA1: &str = "nvidia.com/v1beta1";
pub const API_VERSION_V1ALPHA1: &str = "nvidia.com/v1alpha1";
pub const KIND: &str = "DynamoGraphDeploymentRequest";

keyword_enum! {
    /// The inference engine. `auto` searches every backend the model supports.
    pub enum Backend {
        Auto = "auto",
        Vllm = "vllm",
        Sglang = "sglang",
        Trtllm = "trtllm",
    }
    misspellings = Backend::SLIPS
}

impl Backend {
    /// How people often name the backends.
    const SLIPS: &'static [(&'static str, &'static str)] = &[
        ("tensorrt", "trtllm"),
        ("tensorrt-llm", "trtllm"),
        ("tensorrt_llm", "trtllm"),
        ("trt", "trtllm"),
        ("trt-llm", "trtllm"),
        ("trt_llm", "trtllm"),
        ("sgl", "sglang"),
        ("sg-lang", "sglang"),
        ("v-llm", "vllm"),
    ];
}

keyword_enum! {
    /// How deep profiling goes: `rapid` uses the performance model only;
    /// `thorough` deploys and benchmarks real engines.
    pub enum SearchStrategy {
        Rapid = "rapid",
        Thorough = "thorough",
    }
}

keyword_enum! {
    /// `status.phase`.
    pub enum Phase {
        Pending = "Pending",
        Profiling = "Profiling",
        Ready = "Ready",
        Deploying = "Deploying",
        Deployed = "Deployed",
        Failed = "Failed",
    }
}

keyword_enum! {
    /// `status.profilingPhase`.
    pub enum ProfilingPhase {
        Initializing = "Initializing",
        SweepingPrefill = "SweepingPrefill",
        SweepingDecode = "SweepingDecode",
        SelectingConfig = "SelectingConfig",
        BuildingCurves = "BuildingCurves",
        GeneratingDgd = "GeneratingDGD",
        Done = "Done",
    }
}

/// A whole DGDR resource (a bare `spec` is wrapped into one).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dgdr {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    pub spec: Spec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

/// The parts of `metadata` dgdr uses; the rest is kept verbatim.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Metadata {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.namespace.is_none()
            && self.generation.is_none()
            && self.labels.is_empty()
            && self.annotations.is_empty()
            && self.other.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_cache: Option<ModelCache>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hardware: Option<Hardware>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla: Option<Sla>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overrides: Option<Overrides>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<Features>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_strategy: Option<SearchStrategy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_apply: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCache {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pvc_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pvc_model_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pvc_mount_path: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hardware {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vram_mb: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_gpus: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_gpus_per_node: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interconnect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdma: Option<bool>,
    /// dgdr extension (the v1alpha1 `min_num_gpus_per_engine`): lower bound of GPUs per engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_num_gpus_per_engine: Option<u32>,
    /// dgdr extension (the v1alpha1 `max_num_gpus_per_engine`): upper bound of GPUs per engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_num_gpus_per_engine: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isl: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub osl: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sla {
    #[serde(skip_serializing_if = "Field::is_absent")]
    pub ttft: Field<f64>,
    #[serde(skip_serializing_if = "Field::is_absent")]
    pub itl: Field<f64>,
    #[serde(skip_serializing_if = "Field::is_absent")]
    pub e2e_latency: Field<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overrides {
    /// A Kubernetes JobSpec, merged into the profiling Job (SPEC §7.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profiling_job: Option<Map<String, Value>>,
    /// A partial DynamoGraphDeployment merged into the output (SPEC §5.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dgd: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planner: Option<PlannerInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mocker: Option<Mocker>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mocker {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profiling_phase: Option<ProfilingPhase>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dgd_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profiling_job_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profiling_results: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_info: Option<Map<String, Value>>,
}

// ---------------------------------------------------------------------------
// Reading from a value tree.

pub(crate) fn read_metadata(o: &mut Obj<'_>, d: &mut Diagnostics) -> Metadata {
    let mut m = Metadata {
        name: o.string("name", d),
        namespace: o.string("namespace", d),
        generation: o.integer("generation", d),
        labels: o.string_map("labels", d).unwrap_or_default(),
        annotations: o.string_map("annotations", d).unwrap_or_default(),
        other: Map::new(),
    };
    // The rest of ObjectMeta (uid, resourceVersion, managedFields, ...) is the
    // API server's business: keep it verbatim, never warn about it.
    for (k, v) in o.map() {
        if !matches!(
            k.as_str(),
            "name" | "namespace" | "generation" | "labels" | "annotations"
        ) {
            m.other.insert(k.clone(), v.clone());
        }
    }
    if let Some(name) = &m.name {
        check_dns_name(name, &o.field_path("name"), d);
    }
    m
}

/// Kubernetes object names: a DNS-1123 subdomain, at most 253 characters.
fn check_dns_name(name: &str, path: &str, d: &mut Diagnostics) {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    let edges_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > 253 || !name.chars().all(ok_char) || !edges_ok {
        d.push(Diagnostic::error(
            path,
            Code::MalformedValue,
            format!("`{name}` is not a valid Kubernetes object name"),
            "use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
        ));
    }
}

pub(crate) fn read_spec(o: &mut Obj<'_>, d: &mut Diagnostics) -> Spec {
    let spec = Spec {
        model: o.string("model", d),
        backend: o.keyword("backend", d),
        image: o.string("image", d),
        model_cache: o.object("modelCache", d).map(|mut c| {
            let v = ModelCache {
                pvc_name: c.string("pvcName", d),
                pvc_model_path: c.string("pvcModelPath", d),
                pvc_mount_path: c.string("pvcMountPath", d),
            };
            c.finish(d);
            v
        }),
        hardware: o.object("hardware", d).map(|mut h| {
            let v = Hardware {
                gpu_sku: h.string("gpuSku", d),
                vram_mb: h.positive_number("vramMb", d),
                total_gpus: h.positive_int32("totalGpus", d),
                num_gpus_per_node: h.positive_int32("numGpusPerNode", d),
                interconnect: h.string("interconnect", d),
                rdma: h.bool("rdma", d),
                min_num_gpus_per_engine: h.positive_int32("minNumGpusPerEngine", d),
                max_num_gpus_per_engine: h.positive_int32("maxNumGpusPerEngine", d),
            };
            h.finish(d);
            v
        }),
        workload: o.object("workload", d).map(|mut w| {
            let v = Workload {
                isl: w.positive_int32("isl", d),
                osl: w.positive_int32("osl", d),
                request_rate: w.positive_number("requestRate", d),
                concurrency: w.positive_number("concurrency", d),
            };
            w.finish(d);
            v
        }),
        sla: o.object("sla", d).map(|mut s| {
            let v = Sla {
                ttft: s.nullable_number("ttft", d),
                itl: s.nullable_number("itl", d),
                e2e_latency: s.nullable_number("e2eLatency", d),
            };
            s.finish(d);
            v
        }),
        overrides: o.object("overrides", d).map(|mut ov| {
            let v = Overrides {
                profiling_job: ov.opaque_object("profilingJob", d),
                dgd: ov.opaque_object("dgd", d),
            };
            ov.finish(d);
            v
        }),
        features: o.object("features", d).map(|mut f| {
            let planner_path = f.field_path("planner");
            let planner = f
                .get("planner")
                .and_then(|v| Obj::of(v, &planner_path, d))
                // read_planner reports its own unknown fields (it keeps them).
                .map(|mut p| super::planner::read_planner(&mut p, d));
            let v = Features {
                planner,
                mocker: f.object("mocker", d).map(|mut m| {
                    let v = Mocker {
                        enabled: m.bool("enabled", d),
                    };
                    m.finish(d);
                    v
                }),
            };
            f.finish(d);
            v
        }),
        search_strategy: o.keyword("searchStrategy", d),
        auto_apply: o.bool("autoApply", d),
    };
    check_sla_values(&spec, d);
    spec
}

/// Every SLA value, when given, must be a number > 0.
fn check_sla_values(spec: &Spec, d: &mut Diagnostics) {
    let Some(sla) = &spec.sla else { return };
    for (name, f) in [
        ("ttft", &sla.ttft),
        ("itl", &sla.itl),
        ("e2eLatency", &sla.e2e_latency),
    ] {
        if let Field::Value(v) = f
            && *v <= 0.0
        {
            d.push(Diagnostic::error(
                format!("spec.sla.{name}"),
                Code::OutOfRange,
                format!("SLA target must be greater than 0 ms, got {v}"),
                "give the target latency in milliseconds, e.g. `ttft: 500`",
            ));
        }
    }
}

pub(crate) fn read_status(o: &mut Obj<'_>, d: &mut Diagnostics) -> Status {
    let conditions = match o.get("conditions") {
        Some(Value::Array(items)) => items.clone(),
        Some(other) => {
            super::decode::type_error(d, &o.field_path("conditions"), "a list", other);
            Vec::new()
        }
        None => Vec::new(),
    };
    Status {
        phase: o.keyword("phase", d),
        profiling_phase: o.keyword("profilingPhase", d),
        dgd_name: o.string("dgdName", d),
        profiling_job_name: o.string("profilingJobName", d),
        observed_generation: o.integer("observedGeneration", d),
        conditions,
        profiling_results: o.opaque_object("profilingResults", d),
        deployment_info: o.opaque_object("deploymentInfo", d),
    }
}
