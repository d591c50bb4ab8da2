//! The legacy `nvidia.com/v1alpha1` DGDR and its conversion (SPEC §1.4).
//!
//! Conversion works on value trees, not typed structs, so that numbers keep
//! their spelling (`200` stays `200`, not `200.0`) and nothing is lost: every
//! field with a home on the other side moves there ([`MAPPING`]); everything
//! else is kept in one annotation (`nvidia.com/dgdr-v1alpha1` going forward,
//! `nvidia.com/dgdr-v1beta1` going back) and restored on the return trip.

use super::types::{API_VERSION_V1ALPHA1, API_VERSION_V1BETA1};
use serde_json::{Map, Value, json};

/// Annotation holding what a v1alpha1 resource had that v1beta1 has no field for.
pub const STASH_V1ALPHA1: &str = "nvidia.com/dgdr-v1alpha1";
/// Annotation holding what a v1beta1 resource had that v1alpha1 has no field for.
pub const STASH_V1BETA1: &str = "nvidia.com/dgdr-v1beta1";

const DGD_API_VERSION: &str = "nvidia.com/v1alpha1";
const DGD_KIND: &str = "DynamoGraphDeployment";

/// (v1alpha1 spec path, v1beta1 spec path) of every field with a home on both sides.
const MAPPING: &[(&[&str], &[&str])] = &[
    (&["model"], &["model"]),
    (&["backend"], &["backend"]),
    (&["useMocker"], &["features", "mocker", "enabled"]),
    (&["profilingConfig", "profilerImage"], &["image"]),
    (
        &["profilingConfig", "tolerations"],
        &[
            "overrides",
            "profilingJob",
            "template",
            "spec",
            "tolerations",
        ],
    ),
    (
        &["profilingConfig", "nodeSelector"],
        &[
            "overrides",
            "profilingJob",
            "template",
            "spec",
            "nodeSelector",
        ],
    ),
    (
        &["profilingConfig", "config", "sla", "ttft"],
        &["sla", "ttft"],
    ),
    (
        &["profilingConfig", "config", "sla", "itl"],
        &["sla", "itl"],
    ),
    (
        &["profilingConfig", "config", "sla", "isl"],
        &["workload", "isl"],
    ),
    (
        &["profilingConfig", "config", "sla", "osl"],
        &["workload", "osl"],
    ),
    (
        &[
            "profilingConfig",
            "config",
            "deployment",
            "modelCache",
            "pvcName",
        ],
        &["modelCache", "pvcName"],
    ),
    (
        &[
            "profilingConfig",
            "config",
            "deployment",
            "modelCache",
            "modelPathInPvc",
        ],
        &["modelCache", "pvcModelPath"],
    ),
    (
        &[
            "profilingConfig",
            "config",
            "deployment",
            "modelCache",
            "pvcMountPath",
        ],
        &["modelCache", "pvcMountPath"],
    ),
    (
        &["profilingConfig", "config", "planner"],
        &["features", "planner"],
    ),
    (
        &[
            "profilingConfig",
            "config",
            "hardware",
            "min_num_gpus_per_engine",
        ],
        &["hardware", "minNumGpusPerEngine"],
    ),
    (
        &[
            "profilingConfig",
            "config",
            "hardware",
            "max_num_gpus_per_engine",
        ],
        &["hardware", "maxNumGpusPerEngine"],
    ),
    (
        &["profilingConfig", "config", "hardware", "num_gpus_per_node"],
        &["hardware", "numGpusPerNode"],
    ),
    (
        &["profilingConfig", "config", "hardware", "gpu_type"],
        &["hardware", "gpuSku"],
    ),
    (
        &["deploymentOverrides", "name"],
        &["overrides", "dgd", "metadata", "name"],
    ),
    (
        &["deploymentOverrides", "namespace"],
        &["overrides", "dgd", "metadata", "namespace"],
    ),
    (
        &["deploymentOverrides", "labels"],
        &["overrides", "dgd", "metadata", "labels"],
    ),
    (
        &["deploymentOverrides", "annotations"],
        &["overrides", "dgd", "metadata", "annotations"],
    ),
];

/// v1alpha1 `status.state` → v1beta1 `status.phase`.
const STATES: &[(&str, &str)] = &[
    ("Initializing", "Pending"),
    ("Pending", "Pending"),
    ("Profiling", "Profiling"),
    ("Deploying", "Deploying"),
    ("Ready", "Ready"),
    ("DeploymentDeleted", "Failed"),
    ("Failed", "Failed"),
];

/// Where a v1beta1 field came from in the v1alpha1 input, so that diagnostics
/// point at what the user wrote.
#[derive(Debug, Clone, Default)]
pub struct PathMap(Vec<(String, String)>);

impl PathMap {
    /// The paths of every mapped field, whether or not the document has it
    /// (a missing `spec.image` is a missing `profilingConfig.profilerImage`).
    pub fn for_v1alpha1() -> Self {
        let mut pairs: Vec<(String, String)> = MAPPING
            .iter()
            .map(|(alpha, beta)| (spec_path(beta), spec_path(alpha)))
            .collect();
        pairs.push(("spec.autoApply".into(), "spec.autoApply".into()));
        PathMap(pairs)
    }

    /// Rewrites a v1beta1 path to the v1alpha1 path it came from (longest prefix wins).
    pub fn to_source(&self, path: &str) -> String {
        let mut best: Option<&(String, String)> = None;
        for pair in &self.0 {
            let (beta, _) = pair;
            let matches = path == beta
                || (path.starts_with(beta.as_str())
                    && matches!(path.as_bytes().get(beta.len()), Some(b'.') | Some(b'[')));
            if matches && best.is_none_or(|(b, _)| beta.len() > b.len()) {
                best = Some(pair);
            }
        }
        match best {
            Some((beta, alpha)) => format!("{alpha}{}", path.get(beta.len()..).unwrap_or("")),
            None => path.to_string(),
        }
    }
}

fn spec_path(segs: &[&str]) -> String {
    let mut s = String::from("spec");
    for seg in segs {
        s.push('.');
        s.push_str(seg);
    }
    s
}

/// The fields of the v1alpha1 spec (for unknown-field reporting).
pub const V1ALPHA1_SPEC_FIELDS: &[&str] = &[
    "model",
    "backend",
    "useMocker",
    "profilingConfig",
    "enableGpuDiscovery",
    "autoApply",
    "deploymentOverrides",
];

/// The parts of `profilingConfig.config` dgdr knows, section by section
/// (`None`: the section's own fields are passed through unchecked).
pub const V1ALPHA1_CONFIG_SECTIONS: &[(&str, Option<&[&str]>)] = &[
    ("sla", Some(&["isl", "osl", "ttft", "itl"])),
    (
        "hardware",
        Some(&[
            "min_num_gpus_per_engine",
            "max_num_gpus_per_engine",
            "num_gpus_per_node",
            "gpu_type",
        ]),
    ),
    ("sweep", None),
    ("aic", None),
    ("planner", None),
    ("deployment", None),
    ("engine", None),
];

/// Looks like a bare v1alpha1 spec (no apiVersion to tell).
pub fn looks_like_v1alpha1_spec(spec: &Map<String, Value>) -> bool {
    [
        "profilingConfig",
        "useMocker",
        "deploymentOverrides",
        "enableGpuDiscovery",
    ]
    .iter()
    .any(|k| spec.contains_key(*k))
}

/// Converts a v1alpha1 resource (an object with `spec`) to v1beta1.
pub fn to_v1beta1(resource: &Map<String, Value>) -> (Map<String, Value>, PathMap) {
    let paths = PathMap::for_v1alpha1();
    let mut alpha_spec = match resource.get("spec") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let mut metadata = match resource.get("metadata") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let (mut annotations, annotations_absent) = take_annotations(&mut metadata);
    // A v1beta1 resource converted earlier left what v1alpha1 had no home for.
    let beta_stash = annotations.remove(STASH_V1BETA1).and_then(|v| {
        v.as_str()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
    });
    let beta_stash = beta_stash.as_ref().and_then(Value::as_object);

    let mut beta_spec = match beta_stash.and_then(|s| s.get("spec")) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let mut stash = Map::new();

    for (alpha, beta) in MAPPING {
        if let Some(v) = take(&mut alpha_spec, alpha) {
            put(&mut beta_spec, beta, v);
        }
    }
    // The DGD override needs its apiVersion/kind; they carry no information.
    if let Some(Value::Object(dgd)) = get_mut(&mut beta_spec, &["overrides", "dgd"]) {
        dgd.entry("apiVersion")
            .or_insert_with(|| Value::String(DGD_API_VERSION.into()));
        dgd.entry("kind")
            .or_insert_with(|| Value::String(DGD_KIND.into()));
    }
    // v1alpha1 does not apply automatically; v1beta1 does unless told not to.
    let beta_defaulted = beta_stash
        .and_then(|s| s.get("autoApplyDefaulted"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match take(&mut alpha_spec, &["autoApply"]) {
        // Written only because v1alpha1's default differs: v1beta1 leaves it out.
        Some(Value::Bool(true)) if beta_defaulted => {}
        Some(v) => {
            beta_spec.insert("autoApply".into(), v);
        }
        None => {
            beta_spec.insert("autoApply".into(), Value::Bool(false));
            stash.insert("autoApplyDefaulted".into(), Value::Bool(true));
        }
    }
    if !alpha_spec.is_empty() {
        stash.insert("spec".into(), Value::Object(alpha_spec));
    }

    // Status: map the state; keep the original to restore it on the way back.
    let restored = beta_stash.and_then(|s| s.get("status")).cloned();
    let status = convert_status(resource, restored, &mut stash, |st| {
        let phase = st
            .get("state")
            .and_then(Value::as_str)
            .and_then(|s| STATES.iter().find(|(a, _)| *a == s))
            .map(|(_, b)| *b);
        match phase {
            Some(p) => json!({ "phase": p }),
            None => json!({}),
        }
    });
    if annotations_absent && !stash.is_empty() {
        stash.insert("annotationsAbsent".into(), Value::Bool(true));
    }
    let keep_empty = resource.contains_key("metadata");
    let out = rebuild(
        resource,
        API_VERSION_V1BETA1,
        Stashed {
            metadata,
            annotations,
            keep_empty,
            metadata_was_absent: flag(beta_stash, "metadataAbsent"),
            key: STASH_V1ALPHA1,
            stash,
        },
        beta_spec,
        status,
    );
    (out, paths)
}

/// Converts a v1beta1 resource back to v1alpha1.
pub fn to_v1alpha1(resource: &Map<String, Value>) -> Map<String, Value> {
    let mut beta_spec = match resource.get("spec") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let mut metadata = match resource.get("metadata") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let (mut annotations, _) = take_annotations(&mut metadata);
    let alpha_stash = annotations.remove(STASH_V1ALPHA1).and_then(|v| {
        v.as_str()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
    });
    let alpha_stash = alpha_stash.as_ref().and_then(Value::as_object);
    let annotations_absent = alpha_stash
        .and_then(|s| s.get("annotationsAbsent"))
        .and_then(Value::as_bool)
        .unwrap_or(false);

    let mut alpha_spec = match alpha_stash.and_then(|s| s.get("spec")) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let mut stash = Map::new();

    // Standard apiVersion/kind of the DGD override are re-created going forward.
    for (field, standard) in [("apiVersion", DGD_API_VERSION), ("kind", DGD_KIND)] {
        let path = ["overrides", "dgd", field];
        if get_mut(&mut beta_spec, &path).and_then(|v| v.as_str()) == Some(standard) {
            take(&mut beta_spec, &path);
        }
    }
    for (alpha, beta) in MAPPING {
        if let Some(v) = take(&mut beta_spec, beta) {
            put(&mut alpha_spec, alpha, v);
        }
    }
    match take(&mut beta_spec, &["autoApply"]) {
        Some(v) => {
            let defaulted = alpha_stash
                .and_then(|s| s.get("autoApplyDefaulted"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !(defaulted && v == Value::Bool(false)) {
                alpha_spec.insert("autoApply".into(), v);
            }
        }
        None => {
            // v1beta1's default is to apply; v1alpha1's is not: say so explicitly.
            alpha_spec.insert("autoApply".into(), Value::Bool(true));
            stash.insert("autoApplyDefaulted".into(), Value::Bool(true));
        }
    }
    if !beta_spec.is_empty() {
        stash.insert("spec".into(), Value::Object(beta_spec));
    }

    let restored = alpha_stash.and_then(|s| s.get("status")).cloned();
    let status = convert_status(resource, restored, &mut stash, |st| {
        let state = st
            .get("phase")
            .and_then(Value::as_str)
            .map(|p| match p {
                "Deployed" => "Ready",
                other => other,
            })
            .unwrap_or("Initializing");
        json!({ "state": state })
    });
    let keep_empty = !annotations_absent && resource.contains_key("metadata");
    rebuild(
        resource,
        API_VERSION_V1ALPHA1,
        Stashed {
            metadata,
            annotations,
            keep_empty,
            metadata_was_absent: flag(alpha_stash, "metadataAbsent"),
            key: STASH_V1BETA1,
            stash,
        },
        alpha_spec,
        status,
    )
}

/// The status on the other side: the original when a stash restores it, else
/// the mapped one (and the source kept in the stash for the way back).
fn convert_status(
    resource: &Map<String, Value>,
    restored: Option<Value>,
    stash: &mut Map<String, Value>,
    map: impl FnOnce(&Map<String, Value>) -> Value,
) -> Option<Value> {
    match (resource.get("status"), restored) {
        (_, Some(original)) => Some(original),
        (Some(Value::Object(st)), None) => {
            stash.insert("status".into(), Value::Object(st.clone()));
            Some(map(st))
        }
        (Some(other), None) => Some(other.clone()),
        (None, None) => None,
    }
}

/// Metadata on its way out, with what the conversion keeps in an annotation.
struct Stashed {
    metadata: Map<String, Value>,
    annotations: Map<String, Value>,
    /// Whether an emptied `annotations` map stays (it was written).
    keep_empty: bool,
    /// The stash read from the source said the resource had no `metadata`.
    metadata_was_absent: bool,
    key: &'static str,
    stash: Map<String, Value>,
}

/// The converted resource: `apiVersion`, `kind`, other top-level fields
/// unchanged, `metadata` (with the stash annotation), `spec`, `status`.
fn rebuild(
    resource: &Map<String, Value>,
    api_version: &str,
    meta: Stashed,
    spec: Map<String, Value>,
    status: Option<Value>,
) -> Map<String, Value> {
    let Stashed {
        mut metadata,
        mut annotations,
        keep_empty,
        metadata_was_absent,
        key,
        mut stash,
    } = meta;
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    out.insert(
        "kind".into(),
        resource
            .get("kind")
            .cloned()
            .unwrap_or_else(|| Value::String(super::types::KIND.into())),
    );
    for (k, v) in resource {
        if !matches!(
            k.as_str(),
            "apiVersion" | "kind" | "metadata" | "spec" | "status"
        ) {
            out.insert(k.clone(), v.clone());
        }
    }
    // The stash annotation may be what creates `metadata`; remember that it
    // was absent so the way back drops it again.
    if !stash.is_empty() && !resource.contains_key("metadata") {
        stash.insert("metadataAbsent".into(), Value::Bool(true));
    }
    if !stash.is_empty() {
        annotations.insert(key.into(), Value::String(Value::Object(stash).to_string()));
    }
    put_annotations(&mut metadata, annotations, keep_empty);
    if (resource.contains_key("metadata") && !metadata_was_absent) || !metadata.is_empty() {
        out.insert("metadata".into(), Value::Object(metadata));
    }
    out.insert("spec".into(), Value::Object(spec));
    if let Some(s) = status {
        out.insert("status".into(), s);
    }
    out
}

/// A boolean flag of a stash.
fn flag(stash: Option<&Map<String, Value>>, key: &str) -> bool {
    stash
        .and_then(|s| s.get(key))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Removes `metadata.annotations`, returning it and whether it was absent.
fn take_annotations(metadata: &mut Map<String, Value>) -> (Map<String, Value>, bool) {
    match metadata.remove("annotations") {
        Some(Value::Object(m)) => (m, false),
        Some(_) | None => (Map::new(), true),
    }
}

/// Puts annotations back; an empty map only where one was written before.
fn put_annotations(
    metadata: &mut Map<String, Value>,
    annotations: Map<String, Value>,
    keep_empty: bool,
) {
    if !annotations.is_empty() || (keep_empty && metadata.contains_key("annotations")) {
        metadata.insert("annotations".into(), Value::Object(annotations));
    }
}

/// Removes the value at `path`, and the mappings on the way that it leaves
/// empty (only those: an empty mapping the user wrote elsewhere is kept).
fn take(map: &mut Map<String, Value>, path: &[&str]) -> Option<Value> {
    match path {
        [] => None,
        [last] => map.remove(*last),
        [first, rest @ ..] => {
            let (taken, now_empty) = match map.get_mut(*first) {
                Some(Value::Object(inner)) => {
                    let t = take(inner, rest);
                    let empty = inner.is_empty();
                    (t, empty)
                }
                _ => (None, false),
            };
            if taken.is_some() && now_empty {
                map.remove(*first);
            }
            taken
        }
    }
}

fn get_mut<'a>(map: &'a mut Map<String, Value>, path: &[&str]) -> Option<&'a mut Value> {
    match path {
        [] => None,
        [last] => map.get_mut(*last),
        [first, rest @ ..] => match map.get_mut(*first) {
            Some(Value::Object(inner)) => get_mut(inner, rest),
            _ => None,
        },
    }
}

fn put(map: &mut Map<String, Value>, path: &[&str], v: Value) {
    match path {
        [] => {}
        [last] => {
            map.insert((*last).to_string(), v);
        }
        [first, rest @ ..] => {
            let entry = map
                .entry((*first).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                put(inner, rest, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn alpha_sample() -> Value {
        json!({
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "DynamoGraphDeploymentRequest",
            "metadata": {"name": "deepseek-r1", "labels": {"team": "a"}},
            "spec": {
                "model": "deepseek-ai/DeepSeek-R1",
                "backend": "sglang",
                "useMocker": false,
                "enableGpuDiscovery": true,
                "profilingConfig": {
                    "profilerImage": "nvcr.io/nvidia/ai-dynamo/sglang-runtime:0.6.1",
                    "configMapRef": {"name": "deepseek-r1-config", "key": "disagg.yaml"},
                    "outputPVC": "out",
                    "tolerations": [{"key": "gpu", "operator": "Exists"}],
                    "config": {
                        "sla": {"isl": 4000, "osl": 500, "ttft": 300, "itl": 10},
                        "sweep": {"use_ai_configurator": true},
                        "aic": {"system": "h200_sxm", "model_name": "DEEPSEEK_V3", "backend_version": "0.20.0"},
                        "hardware": {"min_num_gpus_per_engine": 2, "max_num_gpus_per_engine": 8, "gpu_type": "h200_sxm"},
                        "planner": {"planner_min_endpoint": 2},
                        "deployment": {"modelCache": {"pvcName": "cache", "modelPathInPvc": "deepseek-r1"}}
                    }
                },
                "deploymentOverrides": {"workersImage": "img:1", "labels": {"x": "y"}}
            },
            "status": {"state": "Profiling", "backend": "sglang"}
        })
    }

    #[test]
    fn v1alpha1_round_trips_exactly() {
        let a = obj(alpha_sample());
        let (b, _) = to_v1beta1(&a);
        assert_eq!(b["spec"]["sla"], json!({"ttft": 300, "itl": 10}));
        assert_eq!(b["spec"]["workload"], json!({"isl": 4000, "osl": 500}));
        assert_eq!(
            b["spec"]["image"],
            json!("nvcr.io/nvidia/ai-dynamo/sglang-runtime:0.6.1")
        );
        assert_eq!(b["spec"]["autoApply"], json!(false));
        assert_eq!(b["spec"]["hardware"]["minNumGpusPerEngine"], json!(2));
        assert_eq!(
            b["spec"]["modelCache"]["pvcModelPath"],
            json!("deepseek-r1")
        );
        assert_eq!(b["status"]["phase"], json!("Profiling"));
        let back = to_v1alpha1(&b);
        assert_eq!(Value::Object(back), Value::Object(a));
    }

    #[test]
    fn v1beta1_round_trips_exactly() {
        let b = obj(json!({
            "apiVersion": "nvidia.com/v1beta1",
            "kind": "DynamoGraphDeploymentRequest",
            "metadata": {"name": "x"},
            "spec": {
                "model": "Qwen/Qwen3-32B",
                "backend": "trtllm",
                "image": "img",
                "hardware": {"gpuSku": "h200_sxm", "totalGpus": 64, "numGpusPerNode": 8},
                "workload": {"requestRate": 5.0, "isl": 3000},
                "sla": {"ttft": null, "itl": null, "e2eLatency": 35000.0},
                "searchStrategy": "rapid",
                "overrides": {"dgd": {"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment", "spec": {"services": {}}}}
            },
            "status": {"phase": "Deployed", "dgdName": "x"}
        }));
        let a = to_v1alpha1(&b);
        assert_eq!(a["spec"]["autoApply"], json!(true));
        assert_eq!(a["status"]["state"], json!("Ready"));
        let (back, _) = to_v1beta1(&a);
        assert_eq!(Value::Object(back), Value::Object(b));
    }

    #[test]
    fn paths_map_back_to_what_the_user_wrote() {
        let (_, paths) = to_v1beta1(&obj(alpha_sample()));
        assert_eq!(
            paths.to_source("spec.sla.ttft"),
            "spec.profilingConfig.config.sla.ttft"
        );
        assert_eq!(
            paths.to_source("spec.features.planner.min_endpoint"),
            "spec.profilingConfig.config.planner.min_endpoint"
        );
        assert_eq!(paths.to_source("spec.slab"), "spec.slab");
    }
}

#[cfg(test)]
mod round_trip {
    use super::*;
    use proptest::prelude::*;

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            (0i64..100_000).prop_map(|n| json!(n)),
            (0.5f64..1e5).prop_map(|f| json!(f)),
            "[a-z]{1,8}".prop_map(Value::String),
        ]
    }

    /// A v1alpha1 resource with a random subset of the mapped fields, random
    /// extra fields in the config blob and the spec, and maybe a status.
    fn alpha() -> impl Strategy<Value = Map<String, Value>> {
        let fields = prop::collection::vec((0..MAPPING.len(), leaf()), 0..10);
        let extras = prop::collection::vec(("[a-z]{1,6}", leaf()), 0..4);
        (
            fields,
            extras,
            any::<bool>(),
            any::<bool>(),
            prop::option::of(any::<bool>()),
        )
            .prop_map(|(fields, extras, with_status, with_meta, auto_apply)| {
                let mut spec = Map::new();
                for (i, v) in fields {
                    if let Some((alpha, _)) = MAPPING.get(i) {
                        put(&mut spec, alpha, v);
                    }
                }
                for (k, v) in extras {
                    put(&mut spec, &["profilingConfig", "config", "extra", &k], v);
                }
                if let Some(a) = auto_apply {
                    spec.insert("autoApply".into(), Value::Bool(a));
                }
                let mut r = Map::new();
                r.insert("apiVersion".into(), json!(API_VERSION_V1ALPHA1));
                r.insert("kind".into(), json!(super::super::types::KIND));
                if with_meta {
                    r.insert(
                        "metadata".into(),
                        json!({"name": "x", "labels": {"a": "b"}}),
                    );
                }
                r.insert("spec".into(), Value::Object(spec));
                if with_status {
                    r.insert(
                        "status".into(),
                        json!({"state": "Profiling", "backend": "vllm"}),
                    );
                }
                r
            })
    }

    proptest! {
        #[test]
        fn v1alpha1_to_v1beta1_and_back_loses_nothing(a in alpha()) {
            let (b, _) = to_v1beta1(&a);
            let back = to_v1alpha1(&b);
            prop_assert_eq!(Value::Object(back), Value::Object(a));
        }

        #[test]
        fn v1beta1_to_v1alpha1_and_back_loses_nothing(a in alpha()) {
            // A v1beta1 resource as it would be written: convert once, drop the stash.
            let (mut b, _) = to_v1beta1(&a);
            let mut drop_metadata = false;
            if let Some(Value::Object(m)) = b.get_mut("metadata") {
                if let Some(Value::Object(ann)) = m.get_mut("annotations") {
                    ann.remove(STASH_V1ALPHA1);
                    if ann.is_empty() {
                        m.remove("annotations");
                    }
                }
                drop_metadata = m.is_empty();
            }
            if drop_metadata {
                b.remove("metadata");
            }
            let there = to_v1alpha1(&b);
            let (back, _) = to_v1beta1(&there);
            prop_assert_eq!(Value::Object(back), Value::Object(b));
        }
    }
}
