//! Gate checks that need the catalogs (SPEC §2): the GPU system named in the
//! request must exist; the model must be known (dgdr never guesses one), of
//! an architecture the performance model handles, and fit on the GPUs; a
//! throughput-scaling planner with a rapid sweep needs the performance model
//! to cover the GPU. [`default_gates`] is what every host uses.

use crate::catalog::model::{Catalog, ModelArch, ModelError};
use crate::catalog::system::SystemCatalog;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::spec::ResolvedSpec;
use crate::spec::planner::SweepMode;
use crate::validate::Gates;
use std::collections::BTreeMap;

/// Share of GPU memory the weights may take at most; the rest is the KV cache
/// and the runtime (activations, CUDA graphs, NCCL buffers). A model whose
/// weights need more than this of every GPU it may use cannot serve.
pub const MAX_WEIGHT_SHARE: f64 = 0.9;

/// Nodes one engine may span (SPEC §3.1): dense models stay in a node, MoE
/// models may spread their experts over up to four.
pub const MAX_NODES_DENSE: u32 = 1;
pub const MAX_NODES_MOE: u32 = 4;

/// `hardware.gpuSku` must name a GPU system the catalog knows; `vramMb`, when
/// given, should agree with it.
pub fn check_gpu_sku(sku: &str, vram_mb: Option<f64>, d: &mut Diagnostics) {
    let catalog = SystemCatalog::builtin();
    match catalog.lookup(sku) {
        Ok(system) => {
            if let Some(w) =
                vram_mb.and_then(|v| system.memory_mismatch_warning("spec.hardware.vramMb", v))
            {
                d.push(w);
            }
        }
        Err(e) => d.push(e.to_diagnostic("spec.hardware.gpuSku")),
    }
}

/// Where a host finds models that are not in the built-in catalog: a path in
/// `spec.model` names a directory only the host can read.
pub trait LocalModels: Send + Sync {
    /// The model at `path` (read from its `config.json`), or `None` when the
    /// host has no such directory.
    fn read(&self, path: &str) -> Option<Result<ModelArch, ModelError>>;
}

/// The catalog-backed gates. A host that can read a model's `config.json`
/// registers it with [`CatalogGates::with_model`], or gives a
/// [`LocalModels`] source for paths in `spec.model`.
#[derive(Default)]
pub struct CatalogGates {
    local: BTreeMap<String, ModelArch>,
    source: Option<Box<dyn LocalModels>>,
}

impl std::fmt::Debug for CatalogGates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogGates")
            .field("local", &self.local.keys().collect::<Vec<_>>())
            .field("source", &self.source.is_some())
            .finish()
    }
}

impl CatalogGates {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a model the host read itself, under the id written in the spec.
    pub fn with_model(mut self, id: impl Into<String>, arch: ModelArch) -> Self {
        self.local.insert(id.into(), arch);
        self
    }

    /// Reads paths in `spec.model` through the host.
    pub fn with_source(mut self, source: Box<dyn LocalModels>) -> Self {
        self.source = Some(source);
        self
    }

    /// The architecture of `spec.model`: registered by the host, read from a
    /// local path through the host, or from the embedded catalog.
    pub fn resolve_model(&self, id: &str) -> Result<ModelArch, ModelError> {
        if let Some(m) = self.local.get(id) {
            return Ok(m.clone());
        }
        if crate::catalog::model::is_path(id)
            && let Some(found) = self.source.as_ref().and_then(|s| s.read(id))
        {
            return found;
        }
        Catalog::builtin().resolve(id)
    }
}

impl Gates for CatalogGates {
    fn check(&self, spec: &ResolvedSpec, d: &mut Diagnostics) {
        let model = match self.resolve_model(&spec.model) {
            Ok(m) => m,
            Err(e) => {
                d.push(e.to_diagnostic("spec.model"));
                return;
            }
        };
        let hw = &spec.hardware;
        let Some(system) = hw
            .gpu_sku
            .as_deref()
            .and_then(|s| SystemCatalog::builtin().lookup(s).ok())
        else {
            // No GPU named (discovery fills it later): nothing more to check here.
            return;
        };
        check_fit(spec, &model, system, d);
        check_format(spec, &model, system, d);
        check_disagg_budget(spec, d);
        let planner_needs_model = spec.planner.as_ref().is_some_and(|p| {
            p.enable_throughput_scaling && p.pre_deployment_sweeping_mode == SweepMode::Rapid
        });
        if planner_needs_model && !system.modeled() {
            d.push(Diagnostic::error(
                "spec.features.planner.pre_deployment_sweeping_mode",
                Code::PlannerNotCovered,
                format!(
                    "a rapid sweep predicts the engines' performance, but dgdr's performance model has no measured data for {} GPUs ({})",
                    system.sku, system.display_name
                ),
                "use `pre_deployment_sweeping_mode: thorough` (measure on the GPUs), or turn off throughput scaling",
            ));
        }
    }
}

/// The mocker and a disaggregated planner need separate prefill and decode
/// workers, so at least two GPUs.
fn check_disagg_budget(spec: &ResolvedSpec, d: &mut Diagnostics) {
    let Some(total) = spec.hardware.total_gpus else {
        return;
    };
    if total >= 2 {
        return;
    }
    let planner_disagg = spec.planner.as_ref().is_some_and(|p| {
        p.mode != crate::spec::planner::PlannerMode::Agg || p.throughput_scaling_needs_profile()
    });
    let who = if spec.mocker {
        "the mocker replays separate prefill and decode workers"
    } else if planner_disagg {
        "the planner scales separate prefill and decode workers"
    } else {
        return;
    };
    d.push(Diagnostic::error(
        "spec.hardware.totalGpus",
        Code::OutOfRange,
        format!("{who}, which need at least 2 GPUs, but totalGpus is {total}"),
        if spec.mocker {
            "give at least 2 GPUs, or turn the mocker off"
        } else {
            "give at least 2 GPUs, or set the planner's `mode: agg` with load-based scaling only"
        },
    ));
}

/// The model's weights must fit on the GPUs one engine may use.
fn check_fit(
    spec: &ResolvedSpec,
    model: &ModelArch,
    system: &crate::catalog::system::SystemSpec,
    d: &mut Diagnostics,
) {
    let hw = &spec.hardware;
    let per_node = hw
        .num_gpus_per_node
        .unwrap_or(system.node.gpus_per_node)
        .max(1);
    let total = hw.total_gpus.unwrap_or(per_node);
    let nodes = if model.is_moe() {
        MAX_NODES_MOE
    } else {
        MAX_NODES_DENSE
    };
    let engine_limit = per_node.saturating_mul(nodes);
    // The user's bound replaces the default engine limit (a dense model may
    // then span nodes with pipeline stages); the budget caps both.
    let max_gpus = hw
        .max_num_gpus_per_engine
        .unwrap_or(engine_limit)
        .min(total)
        .max(1);
    let vram_bytes = hw
        .vram_mb
        .map_or(system.gpu.memory_bytes as f64, |mib| mib * 1024.0 * 1024.0);
    let weights = model.weight_bytes() as f64;
    let usable = vram_bytes * f64::from(max_gpus) * MAX_WEIGHT_SHARE;
    if weights > usable {
        let gb = |b: f64| b / 1e9;
        let why = if max_gpus < total {
            format!(
                " (an engine of a {} model may use at most {max_gpus} GPUs: {})",
                if model.is_moe() { "MoE" } else { "dense" },
                if hw.max_num_gpus_per_engine == Some(max_gpus) {
                    "maxNumGpusPerEngine".to_string()
                } else {
                    format!("{nodes} node(s) of {per_node}")
                }
            )
        } else {
            String::new()
        };
        let needed = (weights / (vram_bytes * MAX_WEIGHT_SHARE)).ceil();
        d.push(Diagnostic::error(
            "spec.model",
            Code::ModelDoesNotFit,
            format!(
                "{} does not fit: its weights take {:.1} GB, but {max_gpus} × {} ({:.1} GB each) hold at most {:.1} GB of weights ({:.0}% of memory, the rest is KV cache and runtime){why}",
                model.id,
                gb(weights),
                system.sku,
                gb(vram_bytes),
                gb(usable),
                MAX_WEIGHT_SHARE * 100.0
            ),
            format!(
                "use at least {needed} GPUs of this kind, a GPU with more memory, or a quantized checkpoint (FP8 halves BF16 weights)"
            ),
        ));
    }
}

/// The backend must be able to run the checkpoint's weights on the GPU.
fn check_format(
    spec: &ResolvedSpec,
    model: &ModelArch,
    system: &crate::catalog::system::SystemSpec,
    d: &mut Diagnostics,
) {
    let quant = crate::perf::QuantConfig::resolve(model, &crate::perf::QuantOverrides::default());
    if let Some(why) = crate::compat::unsupported(&quant, system, spec.backend) {
        d.push(Diagnostic::error(
            "spec.backend",
            Code::FormatUnsupported,
            format!("{}: {why}", model.id),
            crate::compat::HINT,
        ));
    }
}

/// The gates every host uses.
pub fn default_gates() -> &'static dyn Gates {
    static GATES: std::sync::OnceLock<CatalogGates> = std::sync::OnceLock::new();
    GATES.get_or_init(CatalogGates::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{Options, validate_text};

    fn codes(text: &str) -> Vec<(String, Code)> {
        let v = validate_text(text, &Options::default(), default_gates()).unwrap();
        v[0].report
            .errors
            .iter()
            .map(|d| (d.path.clone(), d.code))
            .collect()
    }

    #[test]
    fn unknown_models_are_never_guessed() {
        let c = codes("model: Qwen/Qwen2.5-0.5B\nimage: i\n");
        assert_eq!(c, vec![("spec.model".to_string(), Code::ModelUnknown)]);
    }

    #[test]
    fn a_larger_engine_bound_lifts_the_one_node_limit() {
        let base = "model: meta-llama/Meta-Llama-3.1-405B\nimage: i\nhardware: {gpuSku: h100_sxm, totalGpus: 32, numGpusPerNode: 8";
        let one_node = codes(&format!("{base}}}\n"));
        assert_eq!(
            one_node,
            vec![("spec.model".to_string(), Code::ModelDoesNotFit)]
        );
        assert!(codes(&format!("{base}, maxNumGpusPerEngine: 16}}\n")).is_empty());
    }

    #[test]
    fn mocker_and_disaggregated_planner_need_two_gpus() {
        let hw = "hardware: {gpuSku: h200_sxm, totalGpus: 1, numGpusPerNode: 8}";
        let mocker = codes(&format!(
            "model: Qwen/Qwen3-8B\nimage: i\n{hw}\nfeatures: {{mocker: {{enabled: true}}}}\n"
        ));
        assert_eq!(
            mocker,
            vec![("spec.hardware.totalGpus".to_string(), Code::OutOfRange)]
        );
        let planner = codes(&format!(
            "model: Qwen/Qwen3-8B\nimage: i\n{hw}\nfeatures: {{planner: {{enable_throughput_scaling: false, enable_load_scaling: true}}}}\n"
        ));
        assert_eq!(
            planner,
            vec![("spec.hardware.totalGpus".to_string(), Code::OutOfRange)]
        );
        let agg_planner = codes(&format!(
            "model: Qwen/Qwen3-8B\nimage: i\n{hw}\nfeatures: {{planner: {{mode: agg, enable_throughput_scaling: false, enable_load_scaling: true}}}}\n"
        ));
        assert!(agg_planner.is_empty(), "{agg_planner:?}");
    }

    #[test]
    fn a_model_that_cannot_fit_is_rejected_with_arithmetic() {
        let text = "model: meta-llama/Meta-Llama-3.1-405B\nimage: i\nhardware: {gpuSku: l40s, totalGpus: 4, numGpusPerNode: 4}\n";
        let v = validate_text(text, &Options::default(), default_gates()).unwrap();
        let e = &v[0].report.errors[0];
        assert_eq!(e.code, Code::ModelDoesNotFit);
        assert!(e.message.contains("GB"), "{}", e.message);
        assert!(codes("model: Qwen/Qwen3-32B\nimage: i\nhardware: {gpuSku: h200_sxm, totalGpus: 8, numGpusPerNode: 8}\n").is_empty());
    }

    #[test]
    fn nvfp4_checkpoints_need_blackwell_on_trtllm_and_sglang() {
        let spec = |backend: &str, sku: &str| {
            format!(
                "model: nvidia/DeepSeek-R1-NVFP4\nbackend: {backend}\nimage: i\nhardware: {{gpuSku: {sku}, totalGpus: 8, numGpusPerNode: 8}}\n"
            )
        };
        for backend in ["trtllm", "sglang"] {
            assert_eq!(
                codes(&spec(backend, "h200_sxm")),
                vec![("spec.backend".to_string(), Code::FormatUnsupported)]
            );
            assert!(codes(&spec(backend, "b200_sxm")).is_empty());
        }
        assert!(codes(&spec("vllm", "h200_sxm")).is_empty());
        assert!(codes(&spec("auto", "h200_sxm")).is_empty());
    }

    #[test]
    fn throughput_planner_needs_a_modeled_gpu() {
        let text = "model: Qwen/Qwen3-0.6B\nimage: i\nhardware: {gpuSku: t4, totalGpus: 4, numGpusPerNode: 4}\nfeatures:\n  planner: {optimization_target: sla}\n";
        assert_eq!(
            codes(text),
            vec![(
                "spec.features.planner.pre_deployment_sweeping_mode".to_string(),
                Code::PlannerNotCovered
            )]
        );
    }
}
