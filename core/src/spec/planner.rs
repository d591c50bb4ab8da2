//! `spec.features.planner`: the SLA planner's configuration (SPEC §6).
//!
//! The CRD treats it as opaque; dgdr reads the fields it knows (snake_case, as
//! the planner itself spells them; the legacy `planner_` prefix of the
//! v1alpha1 era is accepted too), applies the defaults and the rules between
//! fields, and passes every other field through to the planner unchanged.

use super::decode::{Keyword, Obj, keyword_enum, keyword_value, positive, positive_int32};
use crate::diag::{Code, Diagnostic, Diagnostics};
use serde::Serialize;
use serde_json::{Map, Value};

keyword_enum! {
    /// How the planner's engine interpolation data is produced before deployment.
    pub enum SweepMode {
        None = "none",
        Rapid = "rapid",
        Thorough = "thorough",
    }
}

keyword_enum! {
    pub enum PlannerEnvironment {
        Kubernetes = "kubernetes",
        Virtual = "virtual",
    }
}

keyword_enum! {
    pub enum PlannerBackend {
        Vllm = "vllm",
        Sglang = "sglang",
        Trtllm = "trtllm",
        Mocker = "mocker",
    }
}

keyword_enum! {
    pub enum PlannerMode {
        Disagg = "disagg",
        Agg = "agg",
        Prefill = "prefill",
        Decode = "decode",
    }
}

keyword_enum! {
    pub enum OptimizationTarget {
        Throughput = "throughput",
        Latency = "latency",
        Sla = "sla",
    }
}

keyword_enum! {
    pub enum LoadPredictor {
        Arima = "arima",
        Prophet = "prophet",
        Constant = "constant",
        Kalman = "kalman",
    }
}

/// The planner configuration as written; `None` means "not written".
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlannerInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_deployment_sweeping_mode: Option<SweepMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<PlannerEnvironment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<PlannerBackend>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<PlannerMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimization_target: Option<OptimizationTarget>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub itl: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_endpoint: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_gpu_budget: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throughput_adjustment_interval: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_adjustment_interval: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_throughput_scaling: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_load_scaling: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_predictor: Option<LoadPredictor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fpm_sample_bucket_size: Option<u32>,
    /// Fields dgdr does not know, passed to the planner unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The planner configuration with every default applied and the rules between
/// fields resolved (what the planner will actually do).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannerConfig {
    pub pre_deployment_sweeping_mode: SweepMode,
    pub environment: PlannerEnvironment,
    pub backend: PlannerBackend,
    pub mode: PlannerMode,
    pub optimization_target: OptimizationTarget,
    pub ttft: f64,
    pub itl: f64,
    pub min_endpoint: u32,
    pub max_gpu_budget: u32,
    pub throughput_adjustment_interval: u32,
    pub load_adjustment_interval: u32,
    pub enable_throughput_scaling: bool,
    pub enable_load_scaling: bool,
    pub load_predictor: LoadPredictor,
    pub fpm_sample_bucket_size: u32,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

pub const DEFAULT_TTFT_MS: f64 = 500.0;
pub const DEFAULT_ITL_MS: f64 = 50.0;
pub const DEFAULT_MIN_ENDPOINT: u32 = 1;
pub const DEFAULT_MAX_GPU_BUDGET: u32 = 8;
pub const DEFAULT_THROUGHPUT_INTERVAL_S: u32 = 180;
pub const DEFAULT_LOAD_INTERVAL_S: u32 = 5;
pub const DEFAULT_FPM_BUCKET: u32 = 16;

/// The known fields with their legacy (`planner_`-prefixed) spelling.
const FIELDS: &[(&str, &str)] = &[
    (
        "pre_deployment_sweeping_mode",
        "planner_pre_deployment_sweeping_mode",
    ),
    ("environment", "planner_environment"),
    ("backend", "planner_backend"),
    ("mode", "planner_mode"),
    ("optimization_target", "planner_optimization_target"),
    ("ttft", "planner_ttft"),
    ("itl", "planner_itl"),
    ("min_endpoint", "planner_min_endpoint"),
    ("max_gpu_budget", "planner_max_gpu_budget"),
    (
        "throughput_adjustment_interval",
        "planner_throughput_adjustment_interval",
    ),
    (
        "load_adjustment_interval",
        "planner_load_adjustment_interval",
    ),
    (
        "enable_throughput_scaling",
        "planner_enable_throughput_scaling",
    ),
    ("enable_load_scaling", "planner_enable_load_scaling"),
    ("load_predictor", "planner_load_predictor"),
    ("fpm_sample_bucket_size", "planner_fpm_sample_bucket_size"),
];

/// Finds a field under its name or its legacy name; reports both being set.
fn pick<'v>(
    o: &mut Obj<'v>,
    name: &'static str,
    d: &mut Diagnostics,
) -> Option<(&'v Value, String)> {
    let legacy = FIELDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, l)| *l)
        .unwrap_or(name);
    let a = o.get(name);
    let b = if legacy == name { None } else { o.get(legacy) };
    match (a, b) {
        (Some(v), None) => Some((v, o.field_path(name))),
        (None, Some(v)) => Some((v, o.field_path(legacy))),
        (Some(v), Some(_)) => {
            d.push(Diagnostic::warning(
                o.field_path(legacy),
                Code::Suspicious,
                format!("both `{name}` and its legacy spelling `{legacy}` are set"),
                format!("remove `{legacy}`; `{name}` wins"),
            ));
            Some((v, o.field_path(name)))
        }
        (None, None) => None,
    }
}

fn kw<E: Keyword>(o: &mut Obj<'_>, name: &'static str, d: &mut Diagnostics) -> Option<E> {
    let (v, path) = pick(o, name, d)?;
    match v {
        Value::String(s) => keyword_value(s, &path, d),
        other => {
            super::decode::type_error(d, &path, "a string", other);
            None
        }
    }
}

fn num(o: &mut Obj<'_>, name: &'static str, d: &mut Diagnostics) -> Option<f64> {
    let (v, path) = pick(o, name, d)?;
    let n = super::decode::as_number(v, &path, d)?;
    positive(n, &path, d)
}

fn int(o: &mut Obj<'_>, name: &'static str, d: &mut Diagnostics) -> Option<u32> {
    let (v, path) = pick(o, name, d)?;
    let n = super::decode::as_integer(v, &path, d)?;
    positive_int32(n, &path, d)
}

fn flag(o: &mut Obj<'_>, name: &'static str, d: &mut Diagnostics) -> Option<bool> {
    let (v, path) = pick(o, name, d)?;
    match v {
        Value::Bool(b) => Some(*b),
        other => {
            super::decode::type_error(d, &path, "true or false", other);
            None
        }
    }
}

pub(crate) fn read_planner(o: &mut Obj<'_>, d: &mut Diagnostics) -> PlannerInput {
    let mut p = PlannerInput {
        pre_deployment_sweeping_mode: kw(o, "pre_deployment_sweeping_mode", d),
        environment: kw(o, "environment", d),
        backend: kw(o, "backend", d),
        mode: kw(o, "mode", d),
        optimization_target: kw(o, "optimization_target", d),
        ttft: num(o, "ttft", d),
        itl: num(o, "itl", d),
        min_endpoint: int(o, "min_endpoint", d),
        max_gpu_budget: int(o, "max_gpu_budget", d),
        throughput_adjustment_interval: int(o, "throughput_adjustment_interval", d),
        load_adjustment_interval: int(o, "load_adjustment_interval", d),
        enable_throughput_scaling: flag(o, "enable_throughput_scaling", d),
        enable_load_scaling: flag(o, "enable_load_scaling", d),
        load_predictor: kw(o, "load_predictor", d),
        fpm_sample_bucket_size: int(o, "fpm_sample_bucket_size", d),
        extra: Map::new(),
    };
    // Unknown planner fields may be planner options dgdr does not model, or
    // typos: pass them through, but say so (with a did-you-mean).
    p.extra = o.unread();
    let known: Vec<&str> = FIELDS.iter().map(|(n, _)| *n).collect();
    for key in p.extra.keys() {
        let hint = match super::decode::suggest(key.trim_start_matches("planner_"), &known) {
            Some(s) => format!(
                "did you mean `{s}`? dgdr passes unknown planner fields to the planner unchanged"
            ),
            None => "dgdr passes it to the planner unchanged; check the spelling".to_string(),
        };
        d.push(Diagnostic::warning(
            o.field_path(key),
            Code::UnknownField,
            format!("unknown planner field `{key}`"),
            hint,
        ));
    }
    p
}

impl PlannerInput {
    /// Applies the defaults and the rules between fields of SPEC §6. `path` is
    /// where the planner sits (`spec.features.planner`), for diagnostics.
    /// `spec_backend` is the request's concrete backend, if any: the planner
    /// drives the engines that are deployed, so it defaults to that backend.
    pub fn resolve(
        &self,
        path: &str,
        spec_backend: Option<PlannerBackend>,
        d: &mut Diagnostics,
    ) -> PlannerConfig {
        let target = self
            .optimization_target
            .unwrap_or(OptimizationTarget::Throughput);
        let (throughput, load) = if target == OptimizationTarget::Sla {
            (
                self.enable_throughput_scaling.unwrap_or(true),
                self.enable_load_scaling.unwrap_or(false),
            )
        } else {
            // Only the SLA target scales on the throughput model; the others
            // react to load. Tell the user if that overrides what they wrote.
            if self.enable_throughput_scaling == Some(true) {
                d.push(Diagnostic::warning(
                    format!("{path}.enable_throughput_scaling"),
                    Code::PlannerSettingOverridden,
                    format!(
                        "throughput scaling is turned off because optimization_target is `{target}`"
                    ),
                    "set `optimization_target: sla` to scale on throughput",
                ));
            }
            if self.enable_load_scaling == Some(false) {
                d.push(Diagnostic::warning(
                    format!("{path}.enable_load_scaling"),
                    Code::PlannerSettingOverridden,
                    format!("load scaling is turned on because optimization_target is `{target}`"),
                    "set `optimization_target: sla` to control scaling modes yourself",
                ));
            }
            (false, true)
        };
        let backend = match (self.backend, spec_backend) {
            (Some(b), Some(s)) if b != s && b != PlannerBackend::Mocker => {
                d.push(Diagnostic::warning(
                    format!("{path}.backend"),
                    Code::Suspicious,
                    format!("planner backend `{b}` differs from the request's backend `{s}`"),
                    "remove `backend` from the planner; it follows spec.backend",
                ));
                b
            }
            (Some(b), _) => b,
            (None, Some(s)) => s,
            (None, None) => PlannerBackend::Vllm,
        };
        PlannerConfig {
            pre_deployment_sweeping_mode: self
                .pre_deployment_sweeping_mode
                .unwrap_or(SweepMode::Rapid),
            environment: self.environment.unwrap_or(PlannerEnvironment::Kubernetes),
            backend,
            mode: self.mode.unwrap_or(PlannerMode::Disagg),
            optimization_target: target,
            ttft: self.ttft.unwrap_or(DEFAULT_TTFT_MS),
            itl: self.itl.unwrap_or(DEFAULT_ITL_MS),
            min_endpoint: self.min_endpoint.unwrap_or(DEFAULT_MIN_ENDPOINT),
            max_gpu_budget: self.max_gpu_budget.unwrap_or(DEFAULT_MAX_GPU_BUDGET),
            throughput_adjustment_interval: self
                .throughput_adjustment_interval
                .unwrap_or(DEFAULT_THROUGHPUT_INTERVAL_S),
            load_adjustment_interval: self
                .load_adjustment_interval
                .unwrap_or(DEFAULT_LOAD_INTERVAL_S),
            enable_throughput_scaling: throughput,
            enable_load_scaling: load,
            load_predictor: self.load_predictor.unwrap_or(LoadPredictor::Arima),
            fpm_sample_bucket_size: self.fpm_sample_bucket_size.unwrap_or(DEFAULT_FPM_BUCKET),
            extra: self.extra.clone(),
        }
    }
}

impl PlannerConfig {
    /// The rules between fields that make a configuration invalid (SPEC §6).
    pub fn check(&self, path: &str, d: &mut Diagnostics) {
        if !self.enable_throughput_scaling && !self.enable_load_scaling {
            d.push(Diagnostic::error(
                path,
                Code::PlannerNoScaling,
                "the planner has neither throughput nor load scaling enabled",
                "set `enable_throughput_scaling: true` or `enable_load_scaling: true`, or remove the planner",
            ));
        }
        if self.enable_throughput_scaling
            && self.enable_load_scaling
            && self.load_adjustment_interval >= self.throughput_adjustment_interval
        {
            d.push(Diagnostic::error(
                format!("{path}.load_adjustment_interval"),
                Code::PlannerIntervalOrder,
                format!(
                    "load_adjustment_interval ({} s) must be shorter than throughput_adjustment_interval ({} s) when both scaling modes are on",
                    self.load_adjustment_interval, self.throughput_adjustment_interval
                ),
                "load scaling reacts quickly, throughput scaling slowly: e.g. 5 and 180 seconds",
            ));
        }
        let root = isqrt(self.fpm_sample_bucket_size);
        if root.saturating_mul(root) != self.fpm_sample_bucket_size {
            d.push(Diagnostic::error(
                format!("{path}.fpm_sample_bucket_size"),
                Code::PlannerBucketNotSquare,
                format!(
                    "fpm_sample_bucket_size must be a perfect square, got {}",
                    self.fpm_sample_bucket_size
                ),
                format!(
                    "use {} or {}",
                    root.saturating_mul(root).max(1),
                    (root + 1).saturating_mul(root + 1)
                ),
            ));
        }
        if self.throughput_scaling_needs_profile()
            && self.pre_deployment_sweeping_mode == SweepMode::None
        {
            d.push(Diagnostic::error(
                format!("{path}.pre_deployment_sweeping_mode"),
                Code::PlannerThroughputNeedsSweep,
                "throughput-based scaling needs engine performance data, but pre_deployment_sweeping_mode is `none`",
                "use `pre_deployment_sweeping_mode: rapid` (or `thorough`), or turn off throughput scaling",
            ));
        }
    }

    /// Throughput scaling queries the engines' interpolation data.
    pub fn throughput_scaling_needs_profile(&self) -> bool {
        self.enable_throughput_scaling
    }
}

fn isqrt(n: u32) -> u32 {
    let mut r: u32 = 0;
    while (r + 1).saturating_mul(r + 1) <= n {
        r += 1;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> (PlannerInput, Diagnostics) {
        let mut d = Diagnostics::new();
        let mut o = Obj::of(&v, "spec.features.planner", &mut d).unwrap();
        let p = read_planner(&mut o, &mut d);
        (p, d)
    }

    #[test]
    fn defaults_follow_spec() {
        let (p, d) = read(json!({}));
        assert!(d.is_empty());
        let mut d = Diagnostics::new();
        let c = p.resolve("p", None, &mut d);
        assert_eq!(c.pre_deployment_sweeping_mode, SweepMode::Rapid);
        assert_eq!(c.optimization_target, OptimizationTarget::Throughput);
        // Not `sla`: load scaling forced on, throughput off.
        assert!(c.enable_load_scaling && !c.enable_throughput_scaling);
        assert_eq!((c.ttft, c.itl), (500.0, 50.0));
        assert_eq!(c.fpm_sample_bucket_size, 16);
        assert_eq!(c.backend, PlannerBackend::Vllm);
        c.check("p", &mut d);
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn legacy_prefix_and_unknowns() {
        let (p, d) = read(json!({"planner_min_endpoint": 2, "min_endpont": 3}));
        assert_eq!(p.min_endpoint, Some(2));
        assert_eq!(p.extra.len(), 1);
        let w: Vec<_> = d.iter().collect();
        assert_eq!(w.len(), 1);
        assert!(w[0].hint.contains("min_endpoint"));
    }

    #[test]
    fn sla_target_rules() {
        let (p, _) = read(
            json!({"optimization_target": "sla", "enable_throughput_scaling": false, "enable_load_scaling": false}),
        );
        let mut d = Diagnostics::new();
        let c = p.resolve("p", None, &mut d);
        c.check("p", &mut d);
        assert!(d.iter().any(|x| x.code == Code::PlannerNoScaling));

        let (p, _) = read(
            json!({"optimization_target": "sla", "enable_load_scaling": true, "load_adjustment_interval": 200}),
        );
        let mut d = Diagnostics::new();
        p.resolve("p", None, &mut d).check("p", &mut d);
        assert!(d.iter().any(|x| x.code == Code::PlannerIntervalOrder));

        let (p, _) = read(
            json!({"optimization_target": "sla", "pre_deployment_sweeping_mode": "none", "fpm_sample_bucket_size": 10}),
        );
        let mut d = Diagnostics::new();
        p.resolve("p", None, &mut d).check("p", &mut d);
        let codes: Vec<_> = d.iter().map(|x| x.code).collect();
        assert!(codes.contains(&Code::PlannerThroughputNeedsSweep));
        assert!(codes.contains(&Code::PlannerBucketNotSquare));
    }

    #[test]
    fn isqrt_is_exact() {
        for n in 0..2000u32 {
            let r = isqrt(n);
            assert!(r * r <= n && (r + 1) * (r + 1) > n);
        }
    }
}
