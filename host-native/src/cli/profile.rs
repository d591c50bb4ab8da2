//! `dgdr profile`: a DGDR in, the best deployment out, with the artifacts of
//! Dynamo's profiler (SPEC §5.1) in an output directory.

use super::exit;
use super::style::{self, paint};
use crate::output_dir::{self, OutputDir};
use dgdr_core::driver::{Command, Driver, Event, Failure, Inputs, Outcome, ProfilerStatus};
use dgdr_core::pick::Ranked;
use dgdr_core::search::ServingMode;
use dgdr_core::spec::{Load, ProfilingPhase, SlaTarget};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Find the cheapest deployment that meets a DGDR's targets, and write it.
///
/// Searches every parallel mapping (TP, TEP, DEP, PP) of the allowed
/// backends, aggregated and disaggregated with prefill:decode worker ratios,
/// predicts each with dgdr's performance model, picks as the request asks
/// (throughput per GPU, the fewest GPUs for a load, or engines for the
/// planner), and writes the DynamoGraphDeployment with its ConfigMaps,
/// `webui_data.json`, the planner's interpolation data (`.npz`) and plots.
///
/// Exit codes: 0 success (also when the SLA is unachievable: see the
/// warnings), 1 the request cannot be profiled (invalid, does not fit, ...),
/// 2 a file could not be read or written.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  dgdr profile examples/qwen3-32b-h200-vllm.yaml -o out/\n  dgdr profile my-dgdr.yaml -o out/ --json\n  dgdr profile my-dgdr.yaml -o out/ --verbose   # also the rejected mappings"
)]
pub struct Args {
    /// The DGDR file (YAML or JSON, v1beta1 or v1alpha1; `-` reads standard input).
    file: PathBuf,
    /// Where to write the artifacts.
    #[arg(short = 'o', long = "output-dir", default_value = "profiling_results")]
    output_dir: PathBuf,
    /// How to profile: `rapid` (the performance model, no GPUs) or
    /// `thorough` (deploy and benchmark; needs the operator). Overrides
    /// `spec.searchStrategy`.
    #[arg(long, value_parser = ["rapid", "thorough"])]
    strategy: Option<String>,
    /// Print a JSON summary instead of the table.
    #[arg(long)]
    json: bool,
    /// Also list rejected mappings and search notes.
    #[arg(short, long)]
    verbose: bool,
    /// No GPU discovery: the request must name its hardware.
    #[arg(long)]
    no_discovery: bool,
}

struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(enabled: bool) -> Progress {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(6);
            b.set_style(
                ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(80));
            b
        });
        Progress { bar }
    }

    fn phase(&self, phase: ProfilingPhase, message: &str) {
        if let Some(b) = &self.bar {
            let pos = match phase {
                ProfilingPhase::Initializing => 0,
                ProfilingPhase::SweepingPrefill => 1,
                ProfilingPhase::SweepingDecode => 2,
                ProfilingPhase::SelectingConfig => 3,
                ProfilingPhase::BuildingCurves => 4,
                ProfilingPhase::GeneratingDgd => 5,
                ProfilingPhase::Done => 6,
            };
            b.set_position(pos);
            b.set_message(format!("{}: {message}", phase.as_str()));
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

fn read_input(args: &Args) -> Result<String, String> {
    super::validate::read_input(&args.file).map_err(|e| {
        if args.file.as_os_str() == "-" {
            format!("cannot read standard input: {e}")
        } else {
            format!("cannot read {}: {e}", args.file.display())
        }
    })
}

fn eprint_failure(f: &Failure) {
    anstream::eprintln!(
        "{} profiling failed ({}): {}",
        paint("✗", style::error()),
        f.phase.as_str(),
        f.message
    );
    for e in &f.errors {
        anstream::eprintln!(
            "  {}[{}] {}: {} {}",
            paint("error", style::error()),
            e.code.as_str(),
            paint(&e.path, style::path()),
            e.message,
            paint(format!("hint: {}", e.hint), style::dim())
        );
    }
}

pub fn run(args: &Args) -> i32 {
    let started = Instant::now();
    let text = match read_input(args) {
        Ok(t) => t,
        Err(e) => {
            anstream::eprintln!("{} {e}", paint("✗", style::error()));
            return exit::UNREADABLE;
        }
    };
    let mut docs = match dgdr_core::spec::parse_documents(&text) {
        Ok(d) => d,
        Err(e) => {
            anstream::eprintln!(
                "{} {}: {e}",
                paint("✗", style::error()),
                args.file.display()
            );
            return exit::UNREADABLE;
        }
    };
    if docs.len() != 1 {
        anstream::eprintln!(
            "{} {} holds {} documents; profile one DGDR at a time",
            paint("✗", style::error()),
            args.file.display(),
            docs.len()
        );
        return exit::INVALID;
    }
    let mut doc = docs.remove(0);
    if let Some(s) = &args.strategy
        && let Some(spec) = doc.get_mut("spec").and_then(|v| v.as_object_mut())
    {
        spec.insert(
            "searchStrategy".into(),
            serde_json::Value::String(s.clone()),
        );
    }
    let mut out = match OutputDir::create(&args.output_dir) {
        Ok(o) => o,
        Err(e) => {
            anstream::eprintln!("{} {e}", paint("✗", style::error()));
            return exit::UNREADABLE;
        }
    };
    let status_ok = |out: &mut OutputDir, s: &ProfilerStatus| -> bool {
        match out.write_status(s) {
            Ok(()) => true,
            Err(e) => {
                anstream::eprintln!("{} {e}", paint("✗", style::error()));
                false
            }
        }
    };
    if !status_ok(
        &mut out,
        &ProfilerStatus::running(
            ProfilingPhase::Initializing,
            "validating the request",
            vec![],
        ),
    ) {
        return exit::UNREADABLE;
    }
    // A path in `spec.model` names a model directory on this machine.
    let model = doc
        .get("spec")
        .and_then(|s| s.get("model"))
        .and_then(|m| m.as_str())
        .filter(|m| dgdr_core::catalog::model::is_path(m))
        .and_then(|m| {
            use dgdr_core::gates::LocalModels;
            crate::local_models::FsModels.read(m)
        });
    let model = match model {
        Some(Err(e)) => {
            let f = Failure {
                phase: ProfilingPhase::Initializing,
                message: e.to_string(),
                errors: vec![e.to_diagnostic("spec.model")],
                partial: None,
            };
            eprint_failure(&f);
            status_ok(&mut out, &ProfilerStatus::failed(&f, vec![]));
            return exit::INVALID;
        }
        Some(Ok(m)) => Some(m),
        None => None,
    };
    let inputs = Inputs {
        model,
        gpu_discovery: !args.no_discovery,
    };
    let mut driver = match Driver::new(&doc, inputs) {
        Ok(d) => d,
        Err(f) => {
            eprint_failure(&f);
            status_ok(&mut out, &ProfilerStatus::failed(&f, vec![]));
            return exit::INVALID;
        }
    };
    let progress = Progress::new(!args.json);
    let mut ev = Event::Continue;
    let outcome = loop {
        match driver.step(ev) {
            Command::Report { phase, message } => {
                progress.phase(phase, &message);
                if args.verbose && !args.json {
                    anstream::eprintln!("{} {message}", paint(phase.as_str(), style::dim()));
                }
                let status = ProfilerStatus::running(phase, &message, out.outputs());
                if !status_ok(&mut out, &status) {
                    progress.finish();
                    return exit::UNREADABLE;
                }
                ev = Event::Continue;
            }
            Command::DiscoverHardware => {
                ev = match crate::discovery::discover_local() {
                    Ok(hw) => Event::Discovered(hw),
                    Err(e) => Event::DiscoveryFailed(e.to_string()),
                };
            }
            Command::Failed(f) => {
                progress.finish();
                eprint_failure(&f);
                if let Some(p) = &f.partial
                    && let Err(e) = out.write_partial(p)
                {
                    anstream::eprintln!("{} {e}", paint("✗", style::error()));
                }
                let outputs = out.outputs();
                status_ok(&mut out, &ProfilerStatus::failed(&f, outputs));
                return exit::INVALID;
            }
            Command::Finished(o) => break o,
        }
    };
    progress.phase(ProfilingPhase::Done, "writing artifacts");
    let written = out.write_outcome(&outcome);
    progress.finish();
    if let Err(e) = written {
        let f = Failure {
            phase: ProfilingPhase::GeneratingDgd,
            message: e.to_string(),
            errors: Vec::new(),
            partial: None,
        };
        eprint_failure(&f);
        let outputs = out.outputs();
        status_ok(&mut out, &ProfilerStatus::failed(&f, outputs));
        return exit::UNREADABLE;
    }
    let outputs = out.outputs();
    if !status_ok(&mut out, &outcome.status(outputs.clone())) {
        return exit::UNREADABLE;
    }
    let elapsed = started.elapsed();
    let printed = if args.json {
        print_json(&outcome, &out, &outputs, elapsed)
    } else {
        print_summary(&outcome, &out, &outputs, elapsed, args.verbose)
    };
    match printed {
        Ok(()) => exit::OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            anstream::eprintln!(
                "{} cannot write the summary: {e}",
                paint("✗", style::error())
            );
            exit::UNREADABLE
        }
    }
}

fn sla_text(sla: &SlaTarget) -> String {
    match *sla {
        SlaTarget::TtftItl { ttft_ms, itl_ms } => format!("TTFT ≤ {ttft_ms} ms, ITL ≤ {itl_ms} ms"),
        SlaTarget::E2e { e2e_ms } => format!("end-to-end ≤ {e2e_ms} ms"),
    }
}

fn mode_text(o: &Outcome) -> String {
    let total = o.search.total_gpus;
    match (o.pick.mode, o.spec.workload.load) {
        (dgdr_core::spec::PickingMode::Autoscale, _) => {
            "autoscale (prefill and decode engines for the planner)".into()
        }
        (dgdr_core::spec::PickingMode::LoadMatch, Some(Load::RequestRate(r))) => {
            format!("load_match (fewest GPUs serving {r} req/s, at most {total})")
        }
        (dgdr_core::spec::PickingMode::LoadMatch, Some(Load::Concurrency(c))) => {
            format!("load_match (fewest GPUs serving {c} concurrent requests, at most {total})")
        }
        _ => format!("default (most throughput per GPU within {total} GPUs)"),
    }
}

fn table(
    w: &mut impl Write,
    title: &str,
    rows: &[Ranked],
    cluster: bool,
    budget: u32,
) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(w, "\n{}", paint(title, style::bold()))?;
    let rank_head = if cluster {
        "cluster tok/s/GPU"
    } else {
        "GPUs needed"
    };
    writeln!(
        w,
        "  {:>2}  {:<7} {:<26} {:>4} {:>5} {:>6} {:>10} {:>11} {:>8} {:>8} {:>17}  SLA",
        "#",
        "backend",
        "configuration",
        "reps",
        "GPUs",
        "conc",
        "tok/s/GPU",
        "tok/s/user",
        "TTFT ms",
        "TPOT ms",
        rank_head,
    )?;
    for (i, r) in rows.iter().enumerate() {
        let row = &r.row;
        let rank = if cluster {
            format!("{:.1}", r.cluster_tokens_per_s_per_gpu.unwrap_or(0.0))
        } else {
            r.total_gpus.to_string()
        };
        writeln!(
            w,
            "  {:>2}  {:<7} {:<26} {:>4} {:>5} {:>6} {:>10.1} {:>11.1} {:>8.1} {:>8.2} {:>17}  {}",
            i + 1,
            row.backend.as_str(),
            row.label(),
            r.replicas,
            r.total_gpus,
            row.concurrency,
            row.tokens_per_s_per_gpu,
            row.tokens_per_s_per_user,
            row.ttft_ms,
            row.tpot_ms,
            rank,
            match (r.meets_sla, r.total_gpus > budget) {
                (true, false) => paint("✓", style::ok()),
                (true, true) => paint("✓ over budget", style::warning()),
                (false, _) => paint("✗", style::warning()),
            }
        )?;
    }
    Ok(())
}

fn print_summary(
    o: &Outcome,
    out: &OutputDir,
    outputs: &[String],
    elapsed: Duration,
    verbose: bool,
) -> std::io::Result<()> {
    let mut w = anstream::stdout().lock();
    let s = &o.spec;
    let sku = s.hardware.gpu_sku.as_deref().unwrap_or("?");
    let backends: Vec<&str> = o.search.backends.iter().map(|b| b.as_str()).collect();
    writeln!(
        w,
        "{} {} on {} × {} ({}), ISL {} / OSL {}, {}",
        paint("dgdr profile:", style::bold()),
        s.model,
        o.search.total_gpus,
        sku,
        backends.join(", "),
        s.workload.isl,
        s.workload.osl,
        sla_text(&s.sla)
    )?;
    writeln!(w, "picking mode: {}", mode_text(o))?;
    let a = o.pick.plan.achieved.as_ref();
    writeln!(
        w,
        "\n{} {}  —  {} GPUs",
        paint("Pick:", style::bold()),
        paint(describe(o), style::ok()),
        o.pick.total_gpus_used
    )?;
    if let Some(a) = a {
        let mut line = format!("  TTFT {:.1} ms · ITL {:.2} ms", a.ttft_ms, a.itl_ms);
        if let Some(c) = &o.pick.chosen {
            line.push_str(&format!(
                " · {:.1} tokens/s/GPU · {:.1} tokens/s/user · {:.1} req/s in total",
                c.row.tokens_per_s_per_gpu,
                c.row.tokens_per_s_per_user,
                c.row.seq_per_s * f64::from(c.replicas)
            ));
        }
        if let Some(e) = &o.pick.engines {
            line.push_str(&format!(
                " · prefill {:.0} tokens/s/GPU · decode {:.1} tokens/s/GPU at {} in flight",
                e.prefill.thpt_per_gpu, e.decode_point.thpt_per_gpu, e.decode_point.inflight
            ));
        }
        writeln!(w, "{line}")?;
    }
    if let Some(p) = o.pick.load_served_pct {
        writeln!(
            w,
            "  serves {p:.1}% of the requested load (GPU budget reached)"
        )?;
    }
    let cluster = o.pick.mode != dgdr_core::spec::PickingMode::LoadMatch;
    let budget = o.search.total_gpus;
    table(&mut w, "Top aggregated", &o.pick.best_agg, cluster, budget)?;
    table(
        &mut w,
        "Top disaggregated",
        &o.pick.best_disagg,
        cluster,
        budget,
    )?;
    if let Some(b) = &o.planner_bounds
        && s.planner.is_some()
    {
        writeln!(
            w,
            "\nplanner bounds: prefill queue {:.2}–{:.2} prompts/worker, decode KV utilisation {:.0}–{:.0}%",
            b.prefill_queue_size_lower_bound,
            b.prefill_queue_size_upper_bound,
            b.decode_kv_cache_utilization_lower_bound * 100.0,
            b.decode_kv_cache_utilization_upper_bound * 100.0
        )?;
    }
    let warnings = o.warnings();
    if !warnings.is_empty() {
        writeln!(w)?;
        for x in &warnings {
            writeln!(w, "{} {x}", paint("warning:", style::warning()))?;
        }
    }
    for n in o.pick.notes.iter().chain(o.search.notes.iter()) {
        writeln!(w, "{} {n}", paint("note:", style::dim()))?;
    }
    if verbose && !o.search.rejected.is_empty() {
        writeln!(w, "\n{}", paint("Rejected mappings", style::bold()))?;
        for r in &o.search.rejected {
            writeln!(
                w,
                "  {:<7} {:<20} {}",
                r.backend.as_str(),
                r.mapping,
                r.reason
            )?;
        }
    }
    let n_candidates = o.search.rows.len();
    writeln!(
        w,
        "\n{} {} candidates in {:.0} ms; {} files in {}:",
        paint("✓", style::ok()),
        n_candidates,
        elapsed.as_secs_f64() * 1000.0,
        outputs.len() + 1,
        out.root().display()
    )?;
    writeln!(w, "  {}", output_dir::STATUS)?;
    for f in outputs {
        writeln!(w, "  {f}")?;
    }
    Ok(())
}

fn describe(o: &Outcome) -> String {
    use dgdr_core::plan::Topology;
    let b = o.pick.plan.backend;
    match (&o.pick.plan.topology, &o.pick.chosen, &o.pick.engines) {
        (Topology::Agg { worker }, Some(c), _) => {
            format!(
                "{} × {} aggregated ({b}), {} in flight each",
                worker.replicas,
                c.row.mapping.label(),
                c.row.concurrency
            )
        }
        (Topology::Disagg { prefill, decode }, Some(c), _) if c.row.mode == ServingMode::Disagg => {
            format!(
                "{} × {} prefill + {} × {} decode ({b})",
                prefill.replicas,
                c.row.prefill_mapping.map(|m| m.label()).unwrap_or_default(),
                decode.replicas,
                c.row.mapping.label()
            )
        }
        (Topology::Disagg { .. }, _, Some(e)) => format!(
            "1 × {} prefill + 1 × {} decode ({b}); the planner scales them",
            e.prefill.mapping.label(),
            e.decode_mapping.label()
        ),
        _ => format!("{b}"),
    }
}

fn print_json(
    o: &Outcome,
    out: &OutputDir,
    outputs: &[String],
    elapsed: Duration,
) -> std::io::Result<()> {
    let v = serde_json::json!({
        "ok": true,
        "output_dir": out.root().display().to_string(),
        "outputs": outputs,
        "picking_mode": o.pick.mode,
        "plan": o.pick.plan,
        "pick": o.pick.chosen,
        "engines": o.pick.engines,
        "top_agg": o.pick.best_agg,
        "top_disagg": o.pick.best_disagg,
        "sla_met": o.pick.sla_met,
        "load_served_pct": o.pick.load_served_pct,
        "total_gpus_used": o.pick.total_gpus_used,
        "candidates": o.search.rows.len(),
        "planner_bounds": o.planner_bounds,
        "warnings": o.warnings(),
        "notes": o.pick.notes.iter().chain(o.search.notes.iter()).collect::<Vec<_>>(),
        "elapsed_ms": elapsed.as_secs_f64() * 1000.0,
    });
    let mut w = std::io::stdout().lock();
    writeln!(
        w,
        "{}",
        serde_json::to_string_pretty(&v).unwrap_or_default()
    )
}
