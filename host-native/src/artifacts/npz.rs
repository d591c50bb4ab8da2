//! The interpolation data as numpy `.npz` archives (SPEC §6), loadable with
//! `numpy.load(path)`.
//!
//! Arrays are deflate-compressed like `numpy.savez_compressed`, stored as
//! `<key>.npy` members with fixed timestamps, so the same data gives the same
//! bytes.

use super::{ArtifactError, create_file};
use dgdr_core::plan::{DecodeProfile, PrefillProfile};
use ndarray::{Array1, ArrayView1};
use ndarray_npy::{NpzWriter, WriteNpzError};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

/// Writes the prefill interpolation data: 1-D `float64` arrays `prefill_isl`,
/// `prefill_ttft` (ms) and `prefill_thpt_per_gpu` (tokens/s/GPU), all of one
/// length (else [`ArtifactError::InvalidData`]).
pub fn write_prefill_npz(
    path: impl AsRef<Path>,
    profile: &PrefillProfile,
) -> Result<(), ArtifactError> {
    let path = path.as_ref();
    let arrays: [(&str, &[f64]); 3] = [
        ("prefill_isl", &profile.prefill_isl),
        ("prefill_ttft", &profile.prefill_ttft),
        ("prefill_thpt_per_gpu", &profile.prefill_thpt_per_gpu),
    ];
    check_lengths(path, &arrays)?;
    let mut npz = open(path)?;
    for (key, values) in arrays {
        add_f64(path, &mut npz, key, values)?;
    }
    finish(path, npz)
}

/// Writes the decode interpolation data: 1-D `float64` arrays `x_kv_usage`
/// (in [0, 1]), `y_context_length` (tokens), `z_itl` (ms) and
/// `z_thpt_per_gpu` (tokens/s/GPU), all of one length (else
/// [`ArtifactError::InvalidData`]), and `max_kv_tokens` as a one-element
/// `int64` array.
pub fn write_decode_npz(
    path: impl AsRef<Path>,
    profile: &DecodeProfile,
) -> Result<(), ArtifactError> {
    let path = path.as_ref();
    let arrays: [(&str, &[f64]); 4] = [
        ("x_kv_usage", &profile.x_kv_usage),
        ("y_context_length", &profile.y_context_length),
        ("z_itl", &profile.z_itl),
        ("z_thpt_per_gpu", &profile.z_thpt_per_gpu),
    ];
    check_lengths(path, &arrays)?;
    let max_kv_tokens =
        i64::try_from(profile.max_kv_tokens).map_err(|_| ArtifactError::InvalidData {
            path: path.to_path_buf(),
            message: format!(
                "max_kv_tokens {} does not fit in int64",
                profile.max_kv_tokens
            ),
        })?;
    let mut npz = open(path)?;
    for (key, values) in arrays {
        add_f64(path, &mut npz, key, values)?;
    }
    let max_kv = Array1::from_elem(1, max_kv_tokens);
    npz.add_array("max_kv_tokens", &max_kv)
        .map_err(|source| npz_error(path, source))?;
    finish(path, npz)
}

type Npz = NpzWriter<BufWriter<File>>;

fn check_lengths(path: &Path, arrays: &[(&str, &[f64])]) -> Result<(), ArtifactError> {
    let Some((first_key, first)) = arrays.first() else {
        return Ok(());
    };
    for (key, values) in arrays {
        if values.len() != first.len() {
            return Err(ArtifactError::InvalidData {
                path: path.to_path_buf(),
                message: format!(
                    "`{key}` has {} values but `{first_key}` has {}",
                    values.len(),
                    first.len()
                ),
            });
        }
    }
    Ok(())
}

fn open(path: &Path) -> Result<Npz, ArtifactError> {
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    Ok(NpzWriter::new_with_options(create_file(path)?, options))
}

fn add_f64(path: &Path, npz: &mut Npz, key: &str, values: &[f64]) -> Result<(), ArtifactError> {
    npz.add_array(key, &ArrayView1::from(values))
        .map_err(|source| npz_error(path, source))
}

fn finish(path: &Path, npz: Npz) -> Result<(), ArtifactError> {
    npz.finish().map_err(|source| npz_error(path, source))?;
    Ok(())
}

fn npz_error(path: &Path, source: WriteNpzError) -> ArtifactError {
    ArtifactError::Npz {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use ndarray_npy::NpzReader;

    fn prefill() -> PrefillProfile {
        PrefillProfile {
            prefill_isl: vec![100.0, 1124.0, 2148.0],
            prefill_ttft: vec![12.5, 40.25, 81.0],
            prefill_thpt_per_gpu: vec![8000.0, 27_950.3, 26_518.5],
        }
    }

    fn decode() -> DecodeProfile {
        DecodeProfile {
            x_kv_usage: vec![0.1, 0.5, 0.9, 0.2],
            y_context_length: vec![1500.0, 1500.0, 1500.0, 3000.0],
            z_itl: vec![8.0, 11.5, 17.25, 9.0],
            z_thpt_per_gpu: vec![900.0, 2100.0, 2600.0, 1000.5],
            max_kv_tokens: 123_456,
        }
    }

    fn read_f64(reader: &mut NpzReader<File>, key: &str) -> Vec<f64> {
        let a: Array1<f64> = reader.by_name(key).unwrap();
        a.to_vec()
    }

    #[test]
    fn prefill_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("selected_prefill_interpolation/raw_data.npz");
        let p = prefill();
        write_prefill_npz(&path, &p).unwrap();

        let mut r = NpzReader::new(File::open(&path).unwrap()).unwrap();
        let mut names = r.names().unwrap();
        names.sort();
        assert_eq!(
            names,
            ["prefill_isl", "prefill_thpt_per_gpu", "prefill_ttft"]
        );
        assert_eq!(read_f64(&mut r, "prefill_isl"), p.prefill_isl);
        assert_eq!(read_f64(&mut r, "prefill_ttft"), p.prefill_ttft);
        assert_eq!(
            read_f64(&mut r, "prefill_thpt_per_gpu"),
            p.prefill_thpt_per_gpu
        );
    }

    #[test]
    fn decode_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw_data.npz");
        let d = decode();
        write_decode_npz(&path, &d).unwrap();

        let mut r = NpzReader::new(File::open(&path).unwrap()).unwrap();
        let mut names = r.names().unwrap();
        names.sort();
        assert_eq!(
            names,
            [
                "max_kv_tokens",
                "x_kv_usage",
                "y_context_length",
                "z_itl",
                "z_thpt_per_gpu"
            ]
        );
        assert_eq!(read_f64(&mut r, "x_kv_usage"), d.x_kv_usage);
        assert_eq!(read_f64(&mut r, "y_context_length"), d.y_context_length);
        assert_eq!(read_f64(&mut r, "z_itl"), d.z_itl);
        assert_eq!(read_f64(&mut r, "z_thpt_per_gpu"), d.z_thpt_per_gpu);
        let max_kv: Array1<i64> = r.by_name("max_kv_tokens").unwrap();
        assert_eq!(max_kv.to_vec(), [123_456]);
    }

    #[test]
    fn empty_profiles_write_empty_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.npz");
        write_decode_npz(&path, &DecodeProfile::default()).unwrap();
        let mut r = NpzReader::new(File::open(&path).unwrap()).unwrap();
        assert!(read_f64(&mut r, "z_itl").is_empty());
        let max_kv: Array1<i64> = r.by_name("max_kv_tokens").unwrap();
        assert_eq!(max_kv.to_vec(), [0]);
    }

    #[test]
    fn output_is_compressed_and_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let n = 2000;
        let p = PrefillProfile {
            prefill_isl: (0..n).map(|i| f64::from(100 + 16 * i)).collect(),
            prefill_ttft: vec![10.0; n as usize],
            prefill_thpt_per_gpu: vec![1000.0; n as usize],
        };
        let (a, b) = (dir.path().join("a.npz"), dir.path().join("b.npz"));
        write_prefill_npz(&a, &p).unwrap();
        write_prefill_npz(&b, &p).unwrap();
        let bytes = std::fs::read(&a).unwrap();
        assert_eq!(bytes, std::fs::read(&b).unwrap());
        assert!(bytes.starts_with(b"PK\x03\x04"));
        // 3 × 2000 float64 = 48 kB raw; the constant columns compress away.
        assert!(bytes.len() < 24_000, "{} bytes", bytes.len());
    }

    #[test]
    fn mismatched_lengths_are_rejected_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.npz");
        let mut d = decode();
        d.z_itl.pop();
        let err = write_decode_npz(&path, &d).unwrap_err();
        assert!(matches!(err, ArtifactError::InvalidData { .. }));
        let msg = err.to_string();
        assert!(msg.contains("bad.npz") && msg.contains("z_itl"), "{msg}");
        assert!(!path.exists());
    }

    #[test]
    fn oversized_max_kv_tokens_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = decode();
        d.max_kv_tokens = u64::MAX;
        let err = write_decode_npz(dir.path().join("x.npz"), &d).unwrap_err();
        assert!(err.to_string().contains("int64"), "{err}");
    }

    #[test]
    fn io_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let path = blocker.join("raw_data.npz");
        let err = write_prefill_npz(&path, &prefill()).unwrap_err();
        assert!(matches!(err, ArtifactError::Io { .. }));
        assert_eq!(err.path(), path);
        assert!(err.to_string().contains("raw_data.npz"), "{err}");
    }
}
