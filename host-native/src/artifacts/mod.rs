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

use std::path::{Path, PathBuf};

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
