//! `dgdr calibrate import-aic`: distils an AI-Configurator-format perf
//! database (`<system>/<family>/<backend>/<version>/*.parquet`) into the
//! compact per-system files the core reads (`dgdr_core::perf::table`).
//!
//! What is kept, per system and backend:
//! - the **current** version of each backend from `query_versions.yaml`
//!   (`defaults`, then the system's `overrides`); a table the current version
//!   lacks is taken from its `reuse.yaml` redirect, else **back-filled** from
//!   the newest older version that has it (never from a newer one, as AI
//!   Configurator does), except the DeepSeek-V4 attention modules, which
//!   only land in the `next` version on some backends (TensorRT-LLM
//!   1.3.0rc23): where no current or older version has one, the oldest newer
//!   version that does serves it; NCCL tables (their own `comm/nccl/<nccl version>`
//!   directories) come from the system's `nccl_version` in
//!   `<systems_dir>/<system>.yaml`, else the newest, and are stored with
//!   every backend;
//! - the ops of [`Op::ALL`]: GEMM, context/generation attention, MLA
//!   (core and whole-module), the MLA batched GEMMs, MoE, NCCL collectives,
//!   the backend's custom all-reduce, the gated- and Kimi-delta-attention
//!   kernels (each kernel its own table), DeepSeek-V4's hyper-connection
//!   (mHC) kernels, the sparse-attention blocks (whole modules) of
//!   DeepSeek-V3.2/GLM-5 (DSA), MiniMax-M3 (MSA) and DeepSeek-V4 (CSA,
//!   HCA), and SGLang's wide-EP (DeepEP) MoE experts in prefill and decode.
//!   Other model-specific tables (Mamba2, encoder attention, quantize
//!   kernels), the wide-EP attention and MLP tables and TensorRT-LLM's
//!   wide-EP MoE (whose rows count tokens per rank and EPLB slots) are not
//!   distilled;
//! - MoE rows of one token distribution (`power_law_1.01` by default: AI
//!   Configurator's serving default, skewed routing as real traffic has);
//! - where a file holds several kernels for the same point: the
//!   framework-default attention kernel (`attention_lane_defaults.yaml`, by
//!   the system's SM version), CUDA-graph over eager all-reduce, the regular
//!   MoE kernel over the min-latency one, else the kernel with the most rows;
//!   where one kernel has the same point twice: the fastest (the collection
//!   notes describe one-sided scheduler spikes).
//!
//! The output is deterministic: sorted everywhere, no time stamps, latencies
//! rounded by the core's own (platform-independent) encoder.

mod frame;
mod ops;
mod versions;

use dgdr_core::perf::table::{BackendData, Op, PerfDbError, SystemData, TableData, encode_system};
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The notice carried inside every distilled file.
pub const NOTICE: &str = "Derived from the AI Configurator perf database, \
Copyright (c) 2025-2026 NVIDIA CORPORATION & AFFILIATES, licensed under the Apache License, \
Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). Modified: distilled by dgdr \
(current versions only, except DeepSeek-V4 attention modules that only a newer version \
has; rows filtered and de-duplicated, latencies re-encoded on a logarithmic grid of 2^bits \
steps per octave).";

/// How to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Where [`import_aic`] writes `<system>.bin`.
    pub out_dir: PathBuf,
    /// AI Configurator system YAMLs (`<system>.yaml`: `gpu.sm_version`,
    /// `misc.nccl_version`); `None`: `<DIR>/../systems` when it exists.
    pub systems_dir: Option<PathBuf>,
    /// Only these systems (empty: every system directory).
    pub only_systems: Vec<String>,
    /// Latency resolution: `2^bits` steps per octave. The default, 6 (64
    /// steps, ≤ 0.54 % rounding, 0.31 % RMS), keeps the eight built-in files
    /// at ~5.4 MB; each extra bit costs ~1 MB (7: ≤ 0.27 %, 8: ≤ 0.14 %). Repeated
    /// measurements of one point in the database differ by ~1 % (median).
    pub bits: u8,
    /// The MoE token distribution kept.
    pub moe_distribution: String,
}

impl ImportOptions {
    /// The defaults, writing to `out_dir`.
    pub fn new(out_dir: impl Into<PathBuf>) -> ImportOptions {
        ImportOptions {
            out_dir: out_dir.into(),
            systems_dir: None,
            only_systems: Vec::new(),
            bits: 6,
            moe_distribution: "power_law_1.01".to_string(),
        }
    }
}

/// Import failures.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The directory is not an AI Configurator perf database.
    #[error("{0}: not an AI Configurator perf database (no query_versions.yaml)")]
    NotAicDir(PathBuf),
    /// A file could not be read or parsed.
    #[error("{0}")]
    Read(String),
    /// The core refused the data.
    #[error(transparent)]
    Encode(#[from] PerfDbError),
    /// The output could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What happened to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    /// GPU system.
    pub system: String,
    /// Backend.
    pub backend: String,
    /// The op.
    pub op: Op,
    /// The Parquet file read, relative to the database directory.
    pub file: String,
    /// The version the rows come from, and how it was chosen.
    pub source: String,
    /// Rows in the file.
    pub rows_read: usize,
    /// Points kept.
    pub points: usize,
    /// Categorical combinations (dtypes, ...) kept.
    pub slices: usize,
    /// Rows left out, by reason.
    pub dropped: BTreeMap<String, usize>,
}

/// A file written (or produced) by the import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// GPU system.
    pub system: String,
    /// Where it was written (`<out_dir>/<system>.bin`).
    pub path: PathBuf,
    /// Its size.
    pub bytes: usize,
}

/// The outcome of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// One entry per table distilled.
    pub tables: Vec<TableReport>,
    /// (system, backend, op) with no table in any eligible version.
    pub missing: Vec<(String, String, Op)>,
    /// The files.
    pub files: Vec<FileReport>,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<9} {:<7} {:<22} {:>8} {:>8} {:>5}  source / dropped",
            "system", "backend", "table", "rows", "kept", "keys"
        )?;
        for t in &self.tables {
            writeln!(
                f,
                "{:<9} {:<7} {:<22} {:>8} {:>8} {:>5}  {}",
                t.system,
                t.backend,
                t.op.name(),
                t.rows_read,
                t.points,
                t.slices,
                t.source
            )?;
            for (why, n) in &t.dropped {
                writeln!(f, "{:>62}  - {n} {why}", "")?;
            }
        }
        if !self.missing.is_empty() {
            let list: Vec<String> = self
                .missing
                .iter()
                .map(|(s, b, op)| format!("{s}/{b}/{op}"))
                .collect();
            writeln!(f, "no data: {}", list.join(", "))?;
        }
        let total: usize = self.files.iter().map(|x| x.bytes).sum();
        for x in &self.files {
            writeln!(f, "wrote {} ({} bytes)", x.path.display(), x.bytes)?;
        }
        write!(f, "{} files, {total} bytes", self.files.len())
    }
}

/// Imports `dir` and writes one `<system>.bin` per system into
/// `opts.out_dir`.
pub fn import_aic(dir: &Path, opts: &ImportOptions) -> Result<ImportSummary, ImportError> {
    let (files, mut summary) = distil_aic(dir, opts, &mut |_| {})?;
    std::fs::create_dir_all(&opts.out_dir).map_err(|source| ImportError::Write {
        path: opts.out_dir.clone(),
        source,
    })?;
    for (system, bytes) in files {
        let path = opts.out_dir.join(format!("{system}.bin"));
        std::fs::write(&path, &bytes).map_err(|source| ImportError::Write {
            path: path.clone(),
            source,
        })?;
        summary.files.push(FileReport {
            system,
            path,
            bytes: bytes.len(),
        });
    }
    Ok(summary)
}

/// Imports `dir` without writing anything: the bytes of each system's file
/// (by system) and the summary (with no `files`). `progress` is called after
/// each table, for a CLI to print as it goes.
pub fn distil_aic(
    dir: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(&TableReport),
) -> Result<(BTreeMap<String, Vec<u8>>, ImportSummary), ImportError> {
    let (systems, summary) = distil_tables(dir, opts, progress)?;
    let mut out = BTreeMap::new();
    for (system, data) in systems {
        out.insert(system, encode_system(&data, opts.bits)?);
    }
    Ok((out, summary))
}

/// The tables [`distil_aic`] encodes, by system, before encoding (latencies
/// as read): for checks and for hosts that build their own files.
pub fn distil_tables(
    dir: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(&TableReport),
) -> Result<(BTreeMap<String, SystemData>, ImportSummary), ImportError> {
    let qv_path = dir.join("query_versions.yaml");
    if !qv_path.is_file() {
        return Err(ImportError::NotAicDir(dir.to_path_buf()));
    }
    let qv = versions::QueryVersions::load(&qv_path).map_err(ImportError::Read)?;
    let systems_dir = opts
        .systems_dir
        .clone()
        .or_else(|| Some(dir.join("../systems")).filter(|p| p.is_dir()));
    let lanes = load_yaml(&dir.join("attention_lane_defaults.yaml"));
    let mut systems: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| ImportError::Read(format!("{}: {e}", dir.display())))?
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|s| opts.only_systems.is_empty() || opts.only_systems.contains(s))
        .collect();
    systems.sort();

    let mut summary = ImportSummary::default();
    let mut out = BTreeMap::new();
    for system in systems {
        let sys_yaml = systems_dir
            .as_ref()
            .and_then(|d| load_yaml(&d.join(format!("{system}.yaml"))));
        let sm = sys_yaml
            .as_ref()
            .and_then(|y| y.get("gpu")?.get("sm_version")?.as_i64());
        let nccl_version = sys_yaml
            .as_ref()
            .and_then(|y| y.get("misc")?.get("nccl_version"))
            .and_then(versions::yaml_str);
        let mut backends = Vec::new();
        for (backend, current) in qv.current(&system) {
            let mut tables = Vec::new();
            for &op in Op::ALL {
                let src = ops::source(op);
                let resolved = match src.fixed_backend {
                    Some(fixed) => versions::resolve_free(
                        &dir.join(&system).join(src.family).join(fixed),
                        nccl_version.as_deref(),
                        src.file,
                    ),
                    None => {
                        let backend_dir = dir.join(&system).join(src.family).join(&backend);
                        versions::resolve(&backend_dir, &current, src.file).or_else(|| {
                            src.allow_next
                                .then(|| versions::resolve_next(&backend_dir, &current, src.file))
                                .flatten()
                        })
                    }
                };
                let Some(resolved) = resolved else {
                    summary.missing.push((system.clone(), backend.clone(), op));
                    continue;
                };
                let lane = lane_default(lanes.as_ref(), op, &backend, &resolved.source_version, sm);
                let (table, report) =
                    distil_table(dir, &system, &backend, op, &resolved, lane.as_deref(), opts)?;
                progress(&report);
                summary.tables.push(report);
                if !table.points.is_empty() {
                    tables.push(table);
                }
            }
            if !tables.is_empty() {
                backends.push(BackendData {
                    backend: backend.clone(),
                    version: current.clone(),
                    tables,
                });
            }
        }
        if backends.is_empty() {
            continue;
        }
        let data = SystemData {
            system: system.clone(),
            notice: NOTICE.to_string(),
            backends,
        };
        out.insert(system, data);
    }
    Ok((out, summary))
}

fn load_yaml(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_yaml_ng::from_str(&text).ok()
}

/// The framework-default attention kernel for (backend, version, SM).
fn lane_default(
    lanes: Option<&Value>,
    op: Op,
    backend: &str,
    version: &str,
    sm: Option<i64>,
) -> Option<String> {
    if !matches!(op, Op::ContextAttention | Op::GenerationAttention) {
        return None;
    }
    let by_sm = lanes?.get(backend)?.get(version)?.as_mapping()?;
    let sm = sm?;
    by_sm
        .iter()
        .find(|(k, _)| k.as_i64() == Some(sm))
        .and_then(|(_, v)| v.as_str())
        .map(String::from)
}

fn distil_table(
    dir: &Path,
    system: &str,
    backend: &str,
    op: Op,
    resolved: &versions::Resolved,
    lane: Option<&str>,
    opts: &ImportOptions,
) -> Result<(TableData, TableReport), ImportError> {
    let frame = frame::read(&resolved.path, &ops::columns(op)).map_err(ImportError::Read)?;
    let ex = ops::Extractor::new(op, &frame, &opts.moe_distribution);
    let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
    let mut kernel_rows: BTreeMap<u32, usize> = BTreeMap::new();
    let mut rows: Vec<(Vec<u32>, u32, f64)> = Vec::with_capacity(frame.rows);
    let mut key = Vec::new();
    for i in 0..frame.rows {
        match ex.row(i, &mut key) {
            Ok((ms, kernel)) => {
                *kernel_rows.entry(kernel).or_default() += 1;
                rows.push((key.clone(), kernel, ms));
            }
            Err(reason) => *dropped.entry(reason.to_string()).or_default() += 1,
        }
    }
    // Group the rows of each point (a sort is much cheaper than a map here).
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.total_cmp(&b.2)));
    // Kernel preference: the framework default lane, then graph over
    // regular over eager/min-latency variants, then the most rows, then name.
    let rank = |kid: u32| {
        let name = ex.kernel_name(kid);
        let lower = name.to_ascii_lowercase();
        let not_lane = lane.is_none_or(|l| l != name);
        let penalty = if lower.contains("graph") {
            0
        } else if lower.contains("eager") || lower.contains("min_latency") {
            2
        } else {
            1
        };
        let rows = kernel_rows.get(&kid).copied().unwrap_or(0);
        (not_lane, penalty, std::cmp::Reverse(rows), name)
    };
    let ncats = ex.ncats();
    let mut points = Vec::new();
    for group in rows.chunk_by(|a, b| a.0 == b.0) {
        let Some((key, _, _)) = group.first() else {
            continue;
        };
        let Some(best) = group.iter().map(|&(_, k, _)| k).min_by_key(|&k| rank(k)) else {
            continue;
        };
        let mut ms = f64::INFINITY;
        let mut same = 0_usize;
        for &(_, k, v) in group {
            if k == best {
                same += 1;
                ms = ms.min(v);
            } else {
                let why = format!(
                    "rows of kernel {} where {} measured the same point",
                    ex.kernel_name(k),
                    ex.kernel_name(best)
                );
                *dropped.entry(why).or_default() += 1;
            }
        }
        if same > 1 {
            *dropped
                .entry("repeated measurements of a point (kept the fastest)".to_string())
                .or_default() += same - 1;
        }
        let (cat_ids, coords) = key.split_at(ncats.min(key.len()));
        let cats = cat_ids
            .iter()
            .enumerate()
            .map(|(k, &id)| ex.cat_str(k, id).to_string())
            .collect();
        points.push(((cats, coords.to_vec()), ms));
    }
    let points: BTreeMap<(Vec<String>, Vec<u32>), f64> = points.into_iter().collect();
    let slices = {
        let mut cats: Vec<&Vec<String>> = points.keys().map(|(c, _)| c).collect();
        cats.dedup();
        cats.len()
    };
    let file = resolved
        .path
        .strip_prefix(dir)
        .unwrap_or(&resolved.path)
        .display()
        .to_string();
    let report = TableReport {
        system: system.to_string(),
        backend: backend.to_string(),
        op,
        file,
        source: resolved.how.clone(),
        rows_read: frame.rows,
        points: points.len(),
        slices,
        dropped,
    };
    let table = TableData {
        op,
        source_version: resolved.source_version.clone(),
        points,
    };
    Ok((table, report))
}
