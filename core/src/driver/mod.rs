//! The profiling run as a sans-I/O state machine (DESIGN.md, "The
//! capability interface").
//!
//! The host creates a [`Driver`] from the DGDR document and calls
//! [`Driver::step`] until it gets [`Command::Finished`] or
//! [`Command::Failed`]; in between it performs what the driver asks
//! ([`Command::DiscoverHardware`]) and reports progress
//! ([`Command::Report`], the DGDR's `profilingPhase`). The rapid strategy
//! needs no other capability; the thorough strategy's deploy/benchmark
//! commands plug into the same loop. Every step is deterministic: the same
//! document and events give the same commands and the same artifacts.

mod outcome;
mod phases;

pub use outcome::{
    Charts, Condition, DecodeChart, Outcome, PrefillChart, ProfilerState, ProfilerStatus,
};

use serde::Serialize;
use serde_json::Value;

use crate::catalog::model::ModelArch;
use crate::catalog::system::{SystemCatalog, SystemSpec};
use crate::diag::{Code, Diagnostic, Diagnostics, Report};
use crate::gates::CatalogGates;
use crate::pick::Pick;
use crate::plan::ProfileData;
use crate::search::SearchResult;
use crate::spec::{ProfilingPhase, ResolvedSpec, SearchStrategy, read_document};
use crate::validate::{Options, validate_read};

/// Hardware the host discovered (SPEC §7.4). It fills only what the
/// request left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredHardware {
    pub gpu_sku: Option<String>,
    pub vram_mb: Option<f64>,
    pub total_gpus: Option<u32>,
    pub num_gpus_per_node: Option<u32>,
}

/// What the host must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Find the GPUs (node labels, NVML); answer [`Event::Discovered`] or
    /// [`Event::DiscoveryFailed`].
    DiscoverHardware,
    /// Progress: the run enters `phase`. Answer [`Event::Continue`].
    Report {
        phase: ProfilingPhase,
        message: String,
    },
    /// The run is over: the artifacts.
    Finished(Box<Outcome>),
    /// The run failed; what it produced before failing is kept.
    Failed(Box<Failure>),
}

/// What the host tells the driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Continue,
    Discovered(DiscoveredHardware),
    DiscoveryFailed(String),
}

/// A failed run: where it failed, why, and what it had produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub phase: ProfilingPhase,
    pub message: String,
    /// The problems, each with a field path where one applies.
    pub errors: Vec<Diagnostic>,
    /// What the run had before it failed (search results, the pick).
    #[serde(skip)]
    pub partial: Option<Box<Partial>>,
}

/// Intermediate results, kept when a later phase fails.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Partial {
    pub search: Option<SearchResult>,
    pub pick: Option<Pick>,
    pub profile_data: Option<ProfileData>,
}

/// Things the host brings.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The model's architecture when the host read it itself (a local
    /// `config.json` for a path in `spec.model`); otherwise the embedded
    /// catalog resolves the id.
    pub model: Option<ModelArch>,
    /// Whether the host can discover GPUs.
    pub gpu_discovery: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    AwaitHardware,
    SweepPrefill,
    SweepDecode,
    Select,
    Curves,
    Generate,
    Over,
}

/// The profiling run.
#[derive(Debug, Clone)]
pub struct Driver {
    state: State,
    spec: ResolvedSpec,
    name: String,
    namespace: Option<String>,
    model: ModelArch,
    /// The GPU system, with the request's `vramMb` where it gives one.
    system: Option<SystemSpec>,
    partial: Partial,
    warnings: Vec<Diagnostic>,
}

fn fail(phase: ProfilingPhase, message: impl Into<String>, errors: Vec<Diagnostic>) -> Failure {
    Failure {
        phase,
        message: message.into(),
        errors,
        partial: None,
    }
}

/// A name for the deployment when the document has none (a bare spec): the
/// model's last path component, lower-cased, as a DNS label.
fn default_name(model: &str) -> String {
    let base = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    let mut s: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s = s.trim_matches('-').to_string();
    if s.is_empty() { "dgdr".into() } else { s }
}

impl Driver {
    /// Validates the document (every problem at once) and prepares the run.
    pub fn new(doc: &Value, inputs: Inputs) -> Result<Driver, Box<Failure>> {
        let read = read_document(doc);
        let (name, namespace) = read
            .dgdr
            .as_ref()
            .map(|d| (d.metadata.name.clone(), d.metadata.namespace.clone()))
            .unwrap_or((None, None));
        let mut gates = CatalogGates::new();
        let model_id = read
            .dgdr
            .as_ref()
            .and_then(|d| d.spec.model.clone())
            .unwrap_or_default();
        if let Some(m) = &inputs.model {
            gates = gates.with_model(model_id.clone(), m.clone());
        }
        let opts = Options {
            gpu_discovery: inputs.gpu_discovery,
            ..Options::default()
        };
        let verdict = validate_read(read, &opts, &gates);
        let Some(spec) = verdict.resolved else {
            let n = verdict.report.errors.len();
            return Err(Box::new(fail(
                ProfilingPhase::Initializing,
                format!(
                    "the request is invalid ({n} error{})",
                    if n == 1 { "" } else { "s" }
                ),
                verdict.report.errors,
            )));
        };
        let model = match inputs.model {
            Some(m) => m,
            None => gates.resolve_model(&spec.model).map_err(|e| {
                Box::new(fail(
                    ProfilingPhase::Initializing,
                    e.to_string(),
                    vec![e.to_diagnostic("spec.model")],
                ))
            })?,
        };
        let name = name.unwrap_or_else(|| default_name(&spec.model));
        Ok(Driver {
            state: State::Start,
            spec,
            name,
            namespace,
            model,
            system: None,
            partial: Partial::default(),
            warnings: verdict.report.warnings,
        })
    }

    /// The request with every default applied (and discovery's answers).
    pub fn spec(&self) -> &ResolvedSpec {
        &self.spec
    }

    pub fn model(&self) -> &ModelArch {
        &self.model
    }

    /// Advances the run by one phase.
    pub fn step(&mut self, event: Event) -> Command {
        match self.advance(event) {
            Ok(c) => c,
            Err(mut f) => {
                self.state = State::Over;
                f.partial = Some(Box::new(std::mem::take(&mut self.partial)));
                Command::Failed(f)
            }
        }
    }

    fn report(&mut self, next: State, phase: ProfilingPhase, message: String) -> Command {
        self.state = next;
        Command::Report { phase, message }
    }

    fn advance(&mut self, event: Event) -> Result<Command, Box<Failure>> {
        use ProfilingPhase as P;
        match (self.state, event) {
            (State::Over, _) => Err(Box::new(fail(P::Done, "the run is over", Vec::new()))),
            (State::Start, _) => {
                if self.spec.search_strategy == SearchStrategy::Thorough {
                    return Err(Box::new(fail(
                        P::Initializing,
                        "the thorough strategy deploys and benchmarks each candidate on the cluster; this host runs the rapid strategy only",
                        vec![Diagnostic::error(
                            "spec.searchStrategy",
                            Code::InvalidEnum,
                            "`thorough` needs a cluster to deploy candidates on",
                            "use `searchStrategy: rapid` (or `dgdr profile --strategy rapid`), or let the operator run the thorough profile on the cluster",
                        )],
                    )));
                }
                if self.hardware_missing() {
                    self.state = State::AwaitHardware;
                    return Ok(Command::DiscoverHardware);
                }
                self.enter_search()
            }
            (State::AwaitHardware, Event::Discovered(hw)) => {
                self.apply_discovery(&hw);
                if self.hardware_missing() {
                    return Err(Box::new(fail(
                        P::Initializing,
                        "GPU discovery did not find the GPU type and count",
                        vec![Diagnostic::error(
                            "spec.hardware",
                            Code::MissingRequired,
                            "the GPU SKU and total GPU count are unknown",
                            "set `hardware.gpuSku` and `hardware.totalGpus`",
                        )],
                    )));
                }
                self.enter_search()
            }
            (State::AwaitHardware, Event::DiscoveryFailed(why)) => Err(Box::new(fail(
                P::Initializing,
                format!("GPU discovery failed: {why}"),
                vec![Diagnostic::error(
                    "spec.hardware",
                    Code::MissingRequired,
                    format!("the hardware is not given and could not be discovered: {why}"),
                    "set `hardware.gpuSku`, `hardware.totalGpus` and `hardware.numGpusPerNode`",
                )],
            ))),
            (State::AwaitHardware, Event::Continue) => Ok(Command::DiscoverHardware),
            (State::SweepPrefill, _) => {
                let s = phases::sweep_prefill(self)?;
                let n = s.prefill.len();
                self.partial.search = Some(s);
                Ok(self.report(
                    State::SweepDecode,
                    P::SweepingDecode,
                    format!("{n} prefill engines characterised; sweeping decode"),
                ))
            }
            (State::SweepDecode, _) => {
                let s = phases::sweep_decode(self)?;
                let n = s.rows.len();
                self.partial.search = Some(s);
                Ok(self.report(
                    State::Select,
                    P::SelectingConfig,
                    format!("{n} deployable configurations; picking"),
                ))
            }
            (State::Select, _) => {
                let p = phases::select(self)?;
                let label = phases::describe_plan(&p);
                self.partial.pick = Some(p);
                if phases::needs_curves(&self.spec) {
                    Ok(self.report(
                        State::Curves,
                        P::BuildingCurves,
                        format!("picked {label}; building interpolation curves"),
                    ))
                } else {
                    Ok(self.report(
                        State::Generate,
                        P::GeneratingDgd,
                        format!("picked {label}; rendering the deployment"),
                    ))
                }
            }
            (State::Curves, _) => {
                let d = phases::curves(self)?;
                self.partial.profile_data = Some(d);
                Ok(self.report(
                    State::Generate,
                    P::GeneratingDgd,
                    "curves built; rendering the deployment".into(),
                ))
            }
            (State::Generate, _) => {
                let out = phases::generate(self)?;
                self.state = State::Over;
                Ok(Command::Finished(Box::new(out)))
            }
        }
    }

    fn hardware_missing(&self) -> bool {
        let hw = &self.spec.hardware;
        hw.gpu_sku.is_none() || hw.total_gpus.is_none()
    }

    fn apply_discovery(&mut self, d: &DiscoveredHardware) {
        let hw = &mut self.spec.hardware;
        if hw.gpu_sku.is_none() {
            hw.gpu_sku.clone_from(&d.gpu_sku);
        }
        if hw.vram_mb.is_none() {
            hw.vram_mb = d.vram_mb;
        }
        if hw.total_gpus.is_none() {
            hw.total_gpus = d.total_gpus;
        }
        if hw.num_gpus_per_node.is_none() {
            hw.num_gpus_per_node = d.num_gpus_per_node;
        }
    }

    fn enter_search(&mut self) -> Result<Command, Box<Failure>> {
        let sku = self.spec.hardware.gpu_sku.clone().unwrap_or_default();
        let system = SystemCatalog::builtin().lookup(&sku).map_err(|e| {
            let mut d = Diagnostics::new();
            crate::gates::check_gpu_sku(&sku, self.spec.hardware.vram_mb, &mut d);
            let errors = Report::from_diagnostics(d).errors;
            Box::new(fail(ProfilingPhase::Initializing, e.to_string(), errors))
        })?;
        let mut system = system.clone();
        if let Some(mib) = self.spec.hardware.vram_mb {
            // A GPU partitioned or reported smaller than the catalog's: plan
            // with the memory the request states.
            system.gpu.memory_bytes = (mib * 1024.0 * 1024.0) as u64;
        }
        let sku = system.sku.clone();
        self.system = Some(system);
        Ok(self.report(
            State::SweepPrefill,
            ProfilingPhase::SweepingPrefill,
            format!(
                "{} on {} × {}: sweeping prefill",
                self.spec.model,
                self.spec.hardware.total_gpus.unwrap_or(0),
                sku
            ),
        ))
    }
}

/// Runs the rapid profile to the end without a host loop (no discovery:
/// the request must name its hardware). For benchmarks, tests and the
/// browser.
pub fn profile(doc: &Value, inputs: Inputs) -> Result<Outcome, Box<Failure>> {
    let mut d = Driver::new(doc, inputs)?;
    let mut ev = Event::Continue;
    for _ in 0..32 {
        match d.step(ev) {
            Command::Finished(o) => return Ok(*o),
            Command::Failed(f) => return Err(f),
            Command::DiscoverHardware => {
                ev = Event::DiscoveryFailed("this host cannot discover GPUs".into());
            }
            Command::Report { .. } => ev = Event::Continue,
        }
    }
    Err(Box::new(fail(
        ProfilingPhase::Done,
        "the run did not finish",
        Vec::new(),
    )))
}

#[cfg(test)]
mod tests;
