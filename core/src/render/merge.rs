//! `overrides.dgd` and the profiling Job's tolerations (SPEC §5.5).
//!
//! Rules:
//! - `apiVersion` and `kind` are ignored (a warning when they differ from
//!   what dgdr writes).
//! - From `metadata` only `labels` and `annotations` are taken; the labels
//!   dgdr manages (`dgdr.nvidia.com/*`, `nvidia.com/managed-by`) are kept.
//! - Maps are deep-merged; a `null` removes the key (as in a JSON merge
//!   patch). Lists replace, except a worker's
//!   `extraPodSpec.mainContainer.args`, which are appended (so a flag can be
//!   added without restating the command line).
//! - A service that does not exist is reported, not created; a service
//!   cannot be removed.
//! - Tolerations of `overrides.profilingJob` (`template.spec.tolerations`)
//!   are copied to every service's `extraPodSpec.tolerations`, before the
//!   DGD overrides (which may replace them per service).
//!
//! Everything ignored is reported as a warning with its path under
//! `spec.overrides.dgd`.

use super::Dgd;
use crate::diag::{Code, Diagnostic};
use crate::spec::Overrides;
use crate::spec::decode::suggest;
use serde_json::{Map, Value};

const BASE: &str = "spec.overrides.dgd";
const JOB_TOLERATIONS: &str = "spec.overrides.profilingJob.template.spec.tolerations";
/// Relative to a service: the list that is appended for workers.
const ARGS_PATH: [&str; 3] = ["extraPodSpec", "mainContainer", "args"];

/// Applies `overrides` to a rendered deployment. Returns the merged
/// deployment and a warning for everything that was ignored.
pub fn merge_overrides(mut dgd: Dgd, overrides: &Overrides) -> (Dgd, Vec<Diagnostic>) {
    let mut d = Vec::new();
    if let Some(job) = &overrides.profiling_job {
        copy_tolerations(&mut dgd.manifest, job, &mut d);
    }
    if let Some(patch) = &overrides.dgd {
        merge_dgd(&mut dgd.manifest, patch, &mut d);
    }
    (dgd, d)
}

fn ignored(path: String, message: String, hint: &str) -> Diagnostic {
    Diagnostic::warning(path, Code::FieldIgnored, message, hint)
}

fn copy_tolerations(manifest: &mut Value, job: &Map<String, Value>, d: &mut Vec<Diagnostic>) {
    let tolerations = job
        .get("template")
        .and_then(|t| t.get("spec"))
        .and_then(|s| s.get("tolerations"));
    let items = match tolerations {
        None | Some(Value::Null) => return,
        Some(Value::Array(items)) => items,
        Some(_) => {
            d.push(ignored(
                JOB_TOLERATIONS.into(),
                "tolerations must be a list; they were not copied to the deployment".into(),
                "write a list of tolerations, e.g. `- {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}`",
            ));
            return;
        }
    };
    let Some(services) = manifest
        .get_mut("spec")
        .and_then(|s| s.get_mut("services"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for svc in services.values_mut() {
        if let Some(svc) = svc.as_object_mut()
            && let Some(eps) = super::object_entry(svc, "extraPodSpec")
        {
            eps.insert("tolerations".into(), Value::Array(items.clone()));
        }
    }
}

fn merge_dgd(manifest: &mut Value, patch: &Map<String, Value>, d: &mut Vec<Diagnostic>) {
    for (key, value) in patch {
        let path = format!("{BASE}.{key}");
        match key.as_str() {
            "apiVersion" | "kind" => {
                let ours = manifest.get(key).cloned().unwrap_or(Value::Null);
                if *value != ours {
                    d.push(ignored(
                        path,
                        format!("`{key}` in overrides.dgd is ignored; dgdr writes {ours}"),
                        "remove it: overrides change the generated deployment, not its type",
                    ));
                }
            }
            "metadata" => merge_metadata(manifest, value, &path, d),
            "spec" => merge_spec(manifest, value, &path, d),
            _ => d.push(ignored(
                path,
                format!("`{key}` in overrides.dgd is ignored"),
                "only `metadata.labels`, `metadata.annotations` and `spec` are merged",
            )),
        }
    }
}

fn protected_label(key: &str) -> bool {
    key.starts_with("dgdr.nvidia.com/") || key == super::LABEL_MANAGED_BY
}

fn merge_metadata(manifest: &mut Value, patch: &Value, path: &str, d: &mut Vec<Diagnostic>) {
    let Value::Object(patch) = patch else {
        d.push(not_a_mapping(path));
        return;
    };
    let Some(meta) = manifest
        .as_object_mut()
        .and_then(|m| super::object_entry(m, "metadata"))
    else {
        return;
    };
    for (key, value) in patch {
        let kpath = format!("{path}.{key}");
        if !matches!(key.as_str(), "labels" | "annotations") {
            d.push(ignored(
                kpath,
                format!("metadata `{key}` in overrides.dgd is ignored"),
                "only labels and annotations are taken from metadata; the name and namespace come from the request",
            ));
            continue;
        }
        let Value::Object(entries) = value else {
            d.push(not_a_mapping(&kpath));
            continue;
        };
        let Some(target) = super::object_entry(meta, key) else {
            continue;
        };
        for (k, v) in entries {
            let epath = format!("{kpath}.{k}");
            if key == "labels" && protected_label(k) {
                d.push(ignored(
                    epath,
                    format!("label `{k}` is managed by dgdr and cannot be overridden"),
                    "use another label key",
                ));
                continue;
            }
            match v {
                Value::String(_) => {
                    target.insert(k.clone(), v.clone());
                }
                Value::Null => {
                    target.shift_remove(k);
                }
                _ => d.push(ignored(
                    epath,
                    format!("{key} values must be strings; `{k}` was ignored"),
                    "quote the value",
                )),
            }
        }
    }
}

fn not_a_mapping(path: &str) -> Diagnostic {
    ignored(
        path.to_string(),
        "expected a mapping; ignored".into(),
        "write the fields to merge as a mapping",
    )
}

fn merge_spec(manifest: &mut Value, patch: &Value, path: &str, d: &mut Vec<Diagnostic>) {
    let Value::Object(patch) = patch else {
        d.push(not_a_mapping(path));
        return;
    };
    let Some(spec) = manifest
        .as_object_mut()
        .and_then(|m| super::object_entry(m, "spec"))
    else {
        return;
    };
    for (key, value) in patch {
        let kpath = format!("{path}.{key}");
        if key == "services" {
            merge_services(spec, value, &kpath, d);
        } else if value.is_null() {
            spec.shift_remove(key);
        } else {
            let slot = spec.entry(key.clone()).or_insert(Value::Null);
            deep_merge(slot, value, &mut Vec::new(), false);
        }
    }
}

fn merge_services(
    spec: &mut Map<String, Value>,
    patch: &Value,
    path: &str,
    d: &mut Vec<Diagnostic>,
) {
    let Value::Object(patch) = patch else {
        d.push(not_a_mapping(path));
        return;
    };
    let Some(services) = super::object_entry(spec, "services") else {
        return;
    };
    let existing: Vec<String> = services.keys().cloned().collect();
    for (name, svc_patch) in patch {
        let spath = format!("{path}.{name}");
        let Some(service) = services.get_mut(name) else {
            let known: Vec<&str> = existing.iter().map(String::as_str).collect();
            let hint = match suggest(name, &known) {
                Some(s) => format!(
                    "did you mean `{s}`? The deployment has: {}",
                    known.join(", ")
                ),
                None => format!(
                    "overrides change existing services only; the deployment has: {}",
                    known.join(", ")
                ),
            };
            d.push(Diagnostic::warning(
                spath,
                Code::FieldIgnored,
                format!("service `{name}` does not exist in the generated deployment; it was not created"),
                hint,
            ));
            continue;
        };
        match svc_patch {
            Value::Object(_) => {
                let is_worker =
                    service.get("componentType").and_then(Value::as_str) == Some("worker");
                deep_merge(service, svc_patch, &mut Vec::new(), is_worker);
            }
            Value::Null => d.push(ignored(
                spath,
                format!("service `{name}` cannot be removed through overrides"),
                "remove the null; to stop a service, set its `replicas: 0`",
            )),
            _ => d.push(not_a_mapping(&spath)),
        }
    }
}

/// Merges `patch` into `target`: maps deep, `null` removes, lists replace,
/// except the worker args list (at [`ARGS_PATH`] when `append_args`), which
/// is appended.
fn deep_merge<'p>(
    target: &mut Value,
    patch: &'p Value,
    path: &mut Vec<&'p str>,
    append_args: bool,
) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let Value::Object(t) = target else {
                return;
            };
            for (k, v) in p {
                if v.is_null() {
                    t.shift_remove(k);
                    continue;
                }
                path.push(k.as_str());
                let slot = t.entry(k.clone()).or_insert(Value::Null);
                deep_merge(slot, v, path, append_args);
                path.pop();
            }
        }
        Value::Array(items) if append_args && path.as_slice() == ARGS_PATH => match target {
            Value::Array(existing) => existing.extend(items.iter().cloned()),
            other => *other = patch.clone(),
        },
        _ => *target = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::DgdMeta;
    use serde_json::json;

    fn dgd() -> Dgd {
        Dgd {
            meta: DgdMeta::new("x", None).unwrap(),
            manifest: json!({
                "apiVersion": "nvidia.com/v1alpha1",
                "kind": "DynamoGraphDeployment",
                "metadata": {"name": "x", "labels": {"dgdr.nvidia.com/name": "x"}},
                "spec": {"services": {
                    "Frontend": {"componentType": "frontend", "replicas": 1,
                        "extraPodSpec": {"mainContainer": {"image": "f", "args": ["--a"]}}},
                    "decode": {"componentType": "worker", "replicas": 1, "envFromSecret": "hf-token-secret",
                        "extraPodSpec": {"mainContainer": {"image": "w", "args": ["--tp", "1"],
                            "env": [{"name": "A", "value": "1"}]}}}
                }}
            }),
            config_maps: vec![],
            warnings: vec![],
        }
    }

    fn overrides(dgd: Value) -> Overrides {
        Overrides {
            profiling_job: None,
            dgd: dgd.as_object().cloned(),
        }
    }

    #[test]
    fn maps_merge_lists_replace_worker_args_append() {
        let o = overrides(json!({"spec": {"services": {
            "decode": {"replicas": 3, "extraPodSpec": {
                "nodeSelector": {"pool": "gpu"},
                "mainContainer": {"args": ["--trust-remote-code"], "env": [{"name": "B", "value": "2"}]}}},
            "Frontend": {"extraPodSpec": {"mainContainer": {"args": ["--b"]}}}
        }}}));
        let (m, d) = merge_overrides(dgd(), &o);
        assert!(d.is_empty(), "{d:?}");
        let dec = m.service("decode").unwrap();
        assert_eq!(dec["replicas"], 3);
        assert_eq!(
            dec["extraPodSpec"]["mainContainer"]["args"],
            json!(["--tp", "1", "--trust-remote-code"])
        );
        assert_eq!(
            dec["extraPodSpec"]["mainContainer"]["env"],
            json!([{"name": "B", "value": "2"}]),
            "lists other than worker args replace"
        );
        assert_eq!(dec["extraPodSpec"]["mainContainer"]["image"], "w");
        assert_eq!(dec["extraPodSpec"]["nodeSelector"]["pool"], "gpu");
        // The frontend is not a worker: its args are replaced.
        assert_eq!(
            m.service("Frontend").unwrap()["extraPodSpec"]["mainContainer"]["args"],
            json!(["--b"])
        );
    }

    #[test]
    fn missing_services_are_reported_not_created() {
        let o = overrides(json!({"spec": {"services": {"Decode": {"replicas": 2}, "Other": {}}}}));
        let (m, d) = merge_overrides(dgd(), &o);
        assert_eq!(m.services().unwrap().len(), 2);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].path, "spec.overrides.dgd.spec.services.Decode");
        assert_eq!(d[0].code, Code::FieldIgnored);
        assert!(d[0].hint.contains("did you mean `decode`"), "{}", d[0].hint);
        assert_eq!(d[1].path, "spec.overrides.dgd.spec.services.Other");
        assert!(d[1].hint.contains("Frontend, decode"));
    }

    #[test]
    fn metadata_only_labels_and_annotations() {
        let o = overrides(json!({
            "apiVersion": "nvidia.com/v1alpha1",
            "kind": "Deployment",
            "metadata": {"name": "renamed", "labels": {"team": "a", "dgdr.nvidia.com/name": "y"},
                         "annotations": {"note": "n", "bad": 3}},
            "status": {}
        }));
        let (m, d) = merge_overrides(dgd(), &o);
        let paths: Vec<&str> = d.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.overrides.dgd.kind",
                "spec.overrides.dgd.metadata.name",
                "spec.overrides.dgd.metadata.labels.dgdr.nvidia.com/name",
                "spec.overrides.dgd.metadata.annotations.bad",
                "spec.overrides.dgd.status",
            ]
        );
        let meta = &m.manifest["metadata"];
        assert_eq!(meta["name"], "x");
        assert_eq!(meta["labels"]["team"], "a");
        assert_eq!(meta["labels"]["dgdr.nvidia.com/name"], "x");
        assert_eq!(meta["annotations"]["note"], "n");
        assert_eq!(m.manifest["kind"], "DynamoGraphDeployment");
    }

    #[test]
    fn null_removes_and_services_cannot_be_removed() {
        let o = overrides(json!({"spec": {"services": {
            "decode": {"envFromSecret": null},
            "Frontend": null
        }}}));
        let (m, d) = merge_overrides(dgd(), &o);
        assert!(m.service("decode").unwrap().get("envFromSecret").is_none());
        assert!(m.service("Frontend").is_some());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "spec.overrides.dgd.spec.services.Frontend");
    }

    #[test]
    fn spec_level_fields_merge() {
        let o = overrides(
            json!({"spec": {"envs": [{"name": "X", "value": "1"}], "labels": {"a": "b"}}}),
        );
        let (m, d) = merge_overrides(dgd(), &o);
        assert!(d.is_empty());
        assert_eq!(m.manifest["spec"]["envs"][0]["name"], "X");
        assert_eq!(m.manifest["spec"]["labels"]["a"], "b");
    }

    #[test]
    fn job_tolerations_go_to_every_service_and_dgd_overrides_win() {
        let tol = json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]);
        let o = Overrides {
            profiling_job: json!({"template": {"spec": {"tolerations": tol}}})
                .as_object()
                .cloned(),
            dgd: json!({"spec": {"services": {"decode": {"extraPodSpec": {"tolerations": []}}}}})
                .as_object()
                .cloned(),
        };
        let (m, d) = merge_overrides(dgd(), &o);
        assert!(d.is_empty());
        assert_eq!(
            m.service("Frontend").unwrap()["extraPodSpec"]["tolerations"],
            tol
        );
        assert_eq!(
            m.service("decode").unwrap()["extraPodSpec"]["tolerations"],
            json!([])
        );
        let bad = Overrides {
            profiling_job: json!({"template": {"spec": {"tolerations": "all"}}})
                .as_object()
                .cloned(),
            dgd: None,
        };
        let (_, d) = merge_overrides(dgd(), &bad);
        assert_eq!(d[0].path, JOB_TOLERATIONS);
    }

    #[test]
    fn merging_is_deterministic_and_keeps_key_order() {
        let o = overrides(json!({"spec": {"services": {"decode": {"replicas": 4}}}}));
        let a = serde_json::to_string(&merge_overrides(dgd(), &o).0.manifest).unwrap();
        let b = serde_json::to_string(&merge_overrides(dgd(), &o).0.manifest).unwrap();
        assert_eq!(a, b);
        let (merged, _) = merge_overrides(dgd(), &o);
        let keys: Vec<&String> = merged
            .service("decode")
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(
            keys,
            ["componentType", "replicas", "envFromSecret", "extraPodSpec"]
        );
    }
}
