//! The artifact writers of `dgdr profile` (SPEC §5.1, §6): the interpolation
//! data as numpy `.npz` files and the PNG plots of an output directory.
//!
//! Every writer takes the output path and plain data and returns
//! [`ArtifactError`] (which names the path) on failure. Writers create missing
//! parent directories, so a caller can pass
//! `out/selected_prefill_interpolation/raw_data.npz` directly.
//!
//! | file (SPEC §5.1) | writer |
//! | --- | --- |
//! | `prefill_performance.png` | [`plots::prefill_performance`] |
//! | `decode_performance.png` | [`plots::decode_performance`] |
//! | `selected_prefill_interpolation/raw_data.npz` | [`npz::write_prefill_npz`] |
//! | `selected_prefill_interpolation/prefill_ttft_interpolation.png` | [`plots::prefill_ttft_interpolation`] |
//! | `selected_prefill_interpolation/prefill_throughput_interpolation.png` | [`plots::prefill_throughput_interpolation`] |
//! | `selected_decode_interpolation/raw_data.npz` | [`npz::write_decode_npz`] |
//! | `selected_decode_interpolation/decode_itl_interplation.png` | [`plots::decode_itl_interpolation`] |
//! | `selected_decode_interpolation/decode_throughput_interpolation.png` | [`plots::decode_throughput_interpolation`] |
//!
//! [`write_performance`] writes the two performance plots from the driver's
//! [`Charts`], [`write_interpolation`] both `selected_*_interpolation/`
//! folders; [`names`] has the file names. A `profile` run would do:
//!
//! ```no_run
//! # use dgdr_native::artifacts;
//! # fn run(out: &std::path::Path, outcome: &dgdr_core::driver::Outcome)
//! #        -> Result<(), artifacts::ArtifactError> {
//! let mut written = artifacts::write_performance(out, &outcome.charts)?;
//! if let Some(data) = &outcome.profile_data {
//!     written.extend(artifacts::write_interpolation(out, &data.prefill, &data.decode)?);
//! }
//! # Ok(()) }
//! ```
//!
//! Plots render with a bundled font (DejaVu Sans, `host-native/assets/fonts/`),
//! so they look the same on a laptop and in a minimal container.

mod canvas;
pub mod npz;
mod plot_kit;
pub mod plots;

pub use npz::{write_decode_npz, write_prefill_npz};
pub use plots::{
    DecodeCurve, PrefillPoint, decode_itl_interpolation, decode_performance,
    decode_throughput_interpolation, prefill_performance, prefill_throughput_interpolation,
    prefill_ttft_interpolation,
};

use dgdr_core::driver::Charts;
use dgdr_core::plan::{DecodeProfile, PrefillProfile};
use std::path::{Path, PathBuf};

/// The artifact file names of SPEC §5.1, relative to the output directory.
pub mod names {
    pub const PREFILL_PERFORMANCE: &str = "prefill_performance.png";
    pub const DECODE_PERFORMANCE: &str = "decode_performance.png";
    pub const PREFILL_DIR: &str = "selected_prefill_interpolation";
    pub const DECODE_DIR: &str = "selected_decode_interpolation";
    /// In both interpolation folders.
    pub const RAW_DATA: &str = "raw_data.npz";
    pub const PREFILL_TTFT: &str = "prefill_ttft_interpolation.png";
    pub const PREFILL_THROUGHPUT: &str = "prefill_throughput_interpolation.png";
    /// Upstream's spelling, kept for compatibility.
    pub const DECODE_ITL: &str = "decode_itl_interplation.png";
    pub const DECODE_THROUGHPUT: &str = "decode_throughput_interpolation.png";
}

/// Writes `prefill_performance.png` and `decode_performance.png` under
/// `out_dir` from the driver's chart data. Returns the two paths written.
pub fn write_performance(
    out_dir: impl AsRef<Path>,
    charts: &Charts,
) -> Result<Vec<PathBuf>, ArtifactError> {
    let paths = vec![
        out_dir.as_ref().join(names::PREFILL_PERFORMANCE),
        out_dir.as_ref().join(names::DECODE_PERFORMANCE),
    ];
    let prefill: Vec<PrefillPoint> = charts.prefill.iter().map(Into::into).collect();
    let decode: Vec<DecodeCurve> = charts.decode.iter().map(Into::into).collect();
    prefill_performance(&paths[0], &prefill, charts.sla_ttft_ms)?;
    decode_performance(&paths[1], &decode, charts.sla_itl_ms)?;
    Ok(paths)
}

/// Writes the interpolation artifacts under `out_dir`:
/// `selected_prefill_interpolation/{raw_data.npz, prefill_ttft_interpolation.png,
/// prefill_throughput_interpolation.png}` and
/// `selected_decode_interpolation/{raw_data.npz, decode_itl_interplation.png,
/// decode_throughput_interpolation.png}`. Returns the six paths written, in
/// that order; stops at the first failure.
pub fn write_interpolation(
    out_dir: impl AsRef<Path>,
    prefill: &PrefillProfile,
    decode: &DecodeProfile,
) -> Result<Vec<PathBuf>, ArtifactError> {
    let (p, d) = (
        out_dir.as_ref().join(names::PREFILL_DIR),
        out_dir.as_ref().join(names::DECODE_DIR),
    );
    let paths = vec![
        p.join(names::RAW_DATA),
        p.join(names::PREFILL_TTFT),
        p.join(names::PREFILL_THROUGHPUT),
        d.join(names::RAW_DATA),
        d.join(names::DECODE_ITL),
        d.join(names::DECODE_THROUGHPUT),
    ];
    write_prefill_npz(&paths[0], prefill)?;
    prefill_ttft_interpolation(&paths[1], prefill)?;
    prefill_throughput_interpolation(&paths[2], prefill)?;
    write_decode_npz(&paths[3], decode)?;
    decode_itl_interpolation(&paths[4], decode)?;
    decode_throughput_interpolation(&paths[5], decode)?;
    Ok(paths)
}

/// A failure to write one artifact; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// Creating the file or its parent directory, or writing it, failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The data cannot be stored as asked (e.g. arrays of different lengths).
    #[error("invalid data for {}: {message}", path.display())]
    InvalidData { path: PathBuf, message: String },
    /// Writing the `.npz` archive failed.
    #[error("cannot write {}: {source}", path.display())]
    Npz {
        path: PathBuf,
        #[source]
        source: ndarray_npy::WriteNpzError,
    },
    /// Drawing a plot failed.
    #[error("cannot draw {}: {message}", path.display())]
    Plot { path: PathBuf, message: String },
    /// Encoding a plot as PNG failed.
    #[error("cannot encode {}: {source}", path.display())]
    Png {
        path: PathBuf,
        #[source]
        source: png::EncodingError,
    },
}

impl ArtifactError {
    /// The file this error is about.
    pub fn path(&self) -> &Path {
        match self {
            ArtifactError::Io { path, .. }
            | ArtifactError::InvalidData { path, .. }
            | ArtifactError::Npz { path, .. }
            | ArtifactError::Plot { path, .. }
            | ArtifactError::Png { path, .. } => path,
        }
    }
}

/// Creates `path`'s parent directory if it is missing.
fn ensure_parent(path: &Path) -> Result<(), ArtifactError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| ArtifactError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Creates `path` (and its parent directory) for writing, buffered.
fn create_file(path: &Path) -> Result<std::io::BufWriter<std::fs::File>, ArtifactError> {
    ensure_parent(path)?;
    let file = std::fs::File::create(path).map_err(|source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(std::io::BufWriter::new(file))
}
