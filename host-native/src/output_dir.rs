//! The output directory of a profiling run (SPEC §5.1), written from the
//! core's [`Outcome`]: manifests, status, the web UI's data, the `.npz`
//! interpolation data and the plots.
//!
//! `profiler_status.yaml` is replaced atomically (write, then rename) so that
//! a watcher never reads half a file; it is kept current while the run goes.

use crate::artifacts::names::{
    DECODE_DIR, DECODE_ITL, DECODE_PERFORMANCE, DECODE_THROUGHPUT, PREFILL_DIR,
    PREFILL_PERFORMANCE, PREFILL_THROUGHPUT, PREFILL_TTFT, RAW_DATA,
};
use crate::artifacts::{self, ArtifactError, DecodeCurve, PrefillPoint};
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

    /// Writes every artifact of a finished run (not the status).
    pub fn write_outcome(&mut self, o: &Outcome) -> Result<(), ArtifactError> {
        self.write_text(FINAL_CONFIG, &o.final_config)?;
        self.note(FINAL_CONFIG);
        let webui = serde_json::to_string_pretty(&o.webui_data()).unwrap_or_default();
        self.write_text(WEBUI_DATA, &webui)?;
        self.note(WEBUI_DATA);

        let prefill: Vec<PrefillPoint> = o.charts.prefill.iter().map(Into::into).collect();
        let decode: Vec<DecodeCurve> = o.charts.decode.iter().map(Into::into).collect();
        let data = o.profile_data.as_ref();
        if data.is_some() {
            for dir in [PREFILL_DIR, DECODE_DIR] {
                let p = self.path(dir);
                std::fs::create_dir_all(&p).map_err(|e| io_err(&p, e))?;
            }
        }
        let root = self.root.clone();
        let at = |rel: String| root.join(rel);
        let prefill_dir = |f: &str| format!("{PREFILL_DIR}/{f}");
        let decode_dir = |f: &str| format!("{DECODE_DIR}/{f}");
        // The plots are independent: draw them at once.
        let results: Vec<(String, Result<(), ArtifactError>)> = std::thread::scope(|s| {
            let mut jobs: Vec<(
                String,
                std::thread::ScopedJoinHandle<'_, Result<(), ArtifactError>>,
            )> = Vec::new();
            let sla_ttft = o.charts.sla_ttft_ms;
            let sla_itl = o.charts.sla_itl_ms;
            let (p1, p2) = (
                at(PREFILL_PERFORMANCE.into()),
                at(DECODE_PERFORMANCE.into()),
            );
            let prefill = &prefill;
            let decode = &decode;
            jobs.push((
                PREFILL_PERFORMANCE.into(),
                s.spawn(move || artifacts::prefill_performance(&p1, prefill, sla_ttft)),
            ));
            jobs.push((
                DECODE_PERFORMANCE.into(),
                s.spawn(move || artifacts::decode_performance(&p2, decode, sla_itl)),
            ));
            if let Some(d) = data {
                let files = [
                    prefill_dir(RAW_DATA),
                    prefill_dir(PREFILL_TTFT),
                    prefill_dir(PREFILL_THROUGHPUT),
                    decode_dir(RAW_DATA),
                    decode_dir(DECODE_ITL),
                    decode_dir(DECODE_THROUGHPUT),
                ];
                let [a, b, c, e, f, g] = files.clone().map(&at);
                let [na, nb, nc, ne, nf, ng] = files;
                jobs.push((
                    na,
                    s.spawn(move || artifacts::write_prefill_npz(&a, &d.prefill)),
                ));
                jobs.push((
                    nb,
                    s.spawn(move || artifacts::prefill_ttft_interpolation(&b, &d.prefill)),
                ));
                jobs.push((
                    nc,
                    s.spawn(move || artifacts::prefill_throughput_interpolation(&c, &d.prefill)),
                ));
                jobs.push((
                    ne,
                    s.spawn(move || artifacts::write_decode_npz(&e, &d.decode)),
                ));
                jobs.push((
                    nf,
                    s.spawn(move || artifacts::decode_itl_interpolation(&f, &d.decode)),
                ));
                jobs.push((
                    ng,
                    s.spawn(move || artifacts::decode_throughput_interpolation(&g, &d.decode)),
                ));
            }
            jobs.into_iter()
                .map(|(name, h)| {
                    let r = h.join().unwrap_or_else(|_| {
                        Err(ArtifactError::Plot {
                            path: PathBuf::from(&name),
                            message: "the drawing thread panicked".into(),
                        })
                    });
                    (name, r)
                })
                .collect()
        });
        let mut first_err = None;
        for (name, r) in results {
            match r {
                Ok(()) => self.note(&name),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}
