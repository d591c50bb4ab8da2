//! The output directory of a profiling run (SPEC §5.1), written from the
//! core's [`Outcome`]: manifests, status, the web UI's data, the `.npz`
//! interpolation data and the plots.
//!
//! `profiler_status.yaml` is replaced atomically (write, then rename) so that
//! a watcher never reads half a file; it is kept current while the run goes.

use crate::artifacts::{self, ArtifactError};
use dgdr_core::driver::{Outcome, Partial, ProfilerStatus};
use std::path::{Path, PathBuf};

pub const FINAL_CONFIG: &str = "final_config.yaml";
pub const STATUS: &str = "profiler_status.yaml";
pub const WEBUI_DATA: &str = "webui_data.json";
/// An output directory being written.
#[derive(Debug)]
pub struct OutputDir {
    root: PathBuf,
    /// Files written so far, relative to the root, in order.
    written: Vec<String>,
}

fn io_err(path: &Path, source: std::io::Error) -> ArtifactError {
    ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl OutputDir {
    /// Creates the directory (and its parents) if needed.
    pub fn create(root: impl Into<PathBuf>) -> Result<OutputDir, ArtifactError> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| io_err(&root, e))?;
        Ok(OutputDir {
            root,
            written: Vec::new(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The files written so far (relative paths), the status file excluded.
    pub fn outputs(&self) -> Vec<String> {
        self.written.clone()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn note(&mut self, rel: &str) {
        if !self.written.iter().any(|w| w == rel) {
            self.written.push(rel.to_string());
        }
    }

    fn write_text(&mut self, rel: &str, text: &str) -> Result<(), ArtifactError> {
        let p = self.path(rel);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        }
        let tmp = p.with_extension("tmp");
        std::fs::write(&tmp, text).map_err(|e| io_err(&tmp, e))?;
        std::fs::rename(&tmp, &p).map_err(|e| io_err(&p, e))?;
        Ok(())
    }

    /// Replaces `profiler_status.yaml`.
    pub fn write_status(&mut self, status: &ProfilerStatus) -> Result<(), ArtifactError> {
        self.write_text(STATUS, &status.to_yaml())
    }

    /// Writes what a failed run had produced: the candidates found so far.
    pub fn write_partial(&mut self, partial: &Partial) -> Result<(), ArtifactError> {
        if let Some(s) = &partial.search {
            let v = serde_json::json!({
                "schema": "dgdr.webui/v1",
                "partial": true,
                "backends": s.backends,
                "prefill": s.prefill,
                "decode": s.decode,
                "candidates": s.rows,
                "rejected": s.rejected,
                "notes": s.notes,
                "pick": partial.pick,
            });
            let text = serde_json::to_string_pretty(&v).unwrap_or_default();
            self.write_text(WEBUI_DATA, &text)?;
            self.note(WEBUI_DATA);
        }
        Ok(())
    }

    /// Writes every artifact of a finished run (not the status). The two
    /// performance plots and the interpolation data are independent: they
    /// are drawn at once.
    pub fn write_outcome(&mut self, o: &Outcome) -> Result<(), ArtifactError> {
        self.write_text(FINAL_CONFIG, &o.final_config)?;
        self.note(FINAL_CONFIG);
        let webui = serde_json::to_string_pretty(&o.webui_data()).unwrap_or_default();
        self.write_text(WEBUI_DATA, &webui)?;
        self.note(WEBUI_DATA);
        let root = self.root.clone();
        let (performance, interpolation) = std::thread::scope(|s| {
            let curves = o
                .profile_data
                .as_ref()
                .map(|d| s.spawn(|| artifacts::write_interpolation(&root, &d.prefill, &d.decode)));
            let performance = artifacts::write_performance(&root, &o.charts);
            let interpolation = curves.map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ArtifactError::Plot {
                        path: root.clone(),
                        message: "the drawing thread panicked".into(),
                    })
                })
            });
            (performance, interpolation)
        });
        for written in [Some(performance), interpolation].into_iter().flatten() {
            for path in written? {
                let rel = path.strip_prefix(&self.root).unwrap_or(&path);
                self.note(&rel.to_string_lossy().replace('\\', "/"));
            }
        }
        Ok(())
    }
}
