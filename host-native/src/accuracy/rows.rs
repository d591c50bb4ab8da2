//! Reading configuration rows in the layout of the calibration CSV
//! (`silicon_calibration.csv`): one deployment and workload per row, columns
//! by name, extra columns ignored, blank cells allowed.

use std::io::Read;

/// One row, with every column the model reads (blank → `None`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub id: String,
    pub model: String,
    pub system: String,
    pub backend: String,
    pub backend_version: Option<String>,
    pub precision: Option<String>,
    pub mode: String,
    pub isl: Option<u32>,
    pub osl: Option<u32>,
    pub gemm_quant: Option<String>,
    pub moe_quant: Option<String>,
    pub kv_quant: Option<String>,
    pub batch_size: Option<u32>,
    pub tp: Option<u32>,
    pub pp: Option<u32>,
    pub dp: Option<u32>,
    pub moe_tp: Option<u32>,
    pub moe_ep: Option<u32>,
    pub prefill: Side,
    pub decode: Side,
    /// The benchmark's concurrency, where only the row's provenance records
    /// it (`silicon_concurrency=N` in `silicon_data_source`, or `_c<N>_` in
    /// the id): used for disaggregated rows that leave the batch columns blank.
    pub recorded_concurrency: Option<u32>,
    /// Measured TTFT and TPOT, when the file has them.
    pub ttft_ms: Option<f64>,
    pub tpot_ms: Option<f64>,
}

/// The `prefill_*` or `decode_*` columns of a disaggregated row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Side {
    pub batch_size: Option<u32>,
    pub workers: Option<u32>,
    pub tp: Option<u32>,
    pub pp: Option<u32>,
    pub dp: Option<u32>,
    pub moe_tp: Option<u32>,
    pub moe_ep: Option<u32>,
}

/// A file that cannot be read as rows.
#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    #[error("{0}")]
    Csv(#[from] csv::Error),
    #[error("the file has no `{0}` column (it must have the header of silicon_calibration.csv)")]
    MissingColumn(&'static str),
}

/// Reads a size written as an integer or a float (`8`, `8.0`); blank,
/// non-numeric or negative cells are `None`.
fn int(cell: Option<&str>) -> Option<u32> {
    let s = cell?.trim();
    if s.is_empty() {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    (v.is_finite() && v >= 0.0 && v <= f64::from(u32::MAX)).then(|| v.round() as u32)
}

fn float(cell: Option<&str>) -> Option<f64> {
    let s = cell?.trim();
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn text(cell: Option<&str>) -> Option<String> {
    let s = cell?.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// `silicon_concurrency=N` in the provenance, else `_c<N>_` in the id.
fn recorded_concurrency(source: Option<&str>, id: &str) -> Option<u32> {
    if let Some(src) = source
        && let Some(pos) = src.find("silicon_concurrency=")
    {
        let digits: String = src
            .get(pos + "silicon_concurrency=".len()..)
            .unwrap_or("")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(n) = digits.parse() {
            return Some(n);
        }
    }
    id.split('_').find_map(|part| {
        let digits = part.strip_prefix('c')?;
        (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
            .then(|| digits.parse().ok())
            .flatten()
    })
}

/// Reads every row of a CSV in the calibration layout.
pub fn read_rows(input: impl Read) -> Result<Vec<Row>, RowsError> {
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = r.headers()?.clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    for required in ["model_path", "system", "backend", "mode", "isl", "osl"] {
        if col(required).is_none() {
            return Err(RowsError::MissingColumn(required));
        }
    }
    let cols: Vec<Option<usize>> = COLUMNS.iter().map(|c| col(c)).collect();
    let mut rows = Vec::new();
    for (n, rec) in r.records().enumerate() {
        let rec = rec?;
        let get =
            |i: usize| -> Option<&str> { cols.get(i).copied().flatten().and_then(|c| rec.get(c)) };
        let side = |base: usize| Side {
            batch_size: int(get(base)),
            workers: int(get(base + 1)),
            tp: int(get(base + 2)),
            pp: int(get(base + 3)),
            dp: int(get(base + 4)),
            moe_tp: int(get(base + 5)),
            moe_ep: int(get(base + 6)),
        };
        let id = text(get(0)).unwrap_or_else(|| format!("row{}", n + 1));
        rows.push(Row {
            recorded_concurrency: recorded_concurrency(get(1), &id),
            id,
            backend: text(get(2)).unwrap_or_default(),
            backend_version: text(get(3)),
            model: text(get(4)).unwrap_or_default(),
            system: text(get(5)).unwrap_or_default(),
            precision: text(get(6)),
            mode: text(get(7)).unwrap_or_default(),
            isl: int(get(8)),
            osl: int(get(9)),
            gemm_quant: text(get(10)),
            moe_quant: text(get(11)),
            batch_size: int(get(12)),
            tp: int(get(13)),
            pp: int(get(14)),
            dp: int(get(15)),
            moe_tp: int(get(16)),
            moe_ep: int(get(17)),
            prefill: side(18),
            decode: side(25),
            ttft_ms: float(get(32)),
            tpot_ms: float(get(33)),
            kv_quant: text(get(34)),
        });
    }
    Ok(rows)
}

/// Column names in the order [`read_rows`] indexes them.
const COLUMNS: [&str; 35] = [
    "id",
    "silicon_data_source",
    "backend",
    "backend_version",
    "model_path",
    "system",
    "precision",
    "mode",
    "isl",
    "osl",
    "gemm_quant_mode",
    "moe_quant_mode",
    "batch_size",
    "tp_size",
    "pp_size",
    "attention_dp_size",
    "moe_tp_size",
    "moe_ep_size",
    "prefill_batch_size",
    "prefill_num_workers",
    "prefill_tp_size",
    "prefill_pp_size",
    "prefill_attention_dp_size",
    "prefill_moe_tp_size",
    "prefill_moe_ep_size",
    "decode_batch_size",
    "decode_num_workers",
    "decode_tp_size",
    "decode_pp_size",
    "decode_attention_dp_size",
    "decode_moe_tp_size",
    "decode_moe_ep_size",
    "silicon_ttft_ms",
    "silicon_tpot_ms",
    "kv_cache_dtype",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sizes_and_blanks() {
        let csv = "id,model_path,system,backend,mode,isl,osl,batch_size,tp_size,attention_dp_size,silicon_data_source,silicon_tpot_ms\n\
                   a_c16_x,m,h200_sxm,vllm,agg,1024,128,8.0,2,,src; silicon_concurrency=32,5.5\n\
                   b,m,h200_sxm,vllm,disagg,1024,128,,,,,\n";
        let rows = read_rows(csv.as_bytes()).expect("test rows parse");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].batch_size, Some(8));
        assert_eq!(rows[0].tp, Some(2));
        assert_eq!(rows[0].dp, None);
        assert_eq!(rows[0].recorded_concurrency, Some(32));
        assert_eq!(rows[0].tpot_ms, Some(5.5));
        assert_eq!(rows[1].recorded_concurrency, None);
        assert_eq!(recorded_concurrency(None, "x_disagg_c48_tp8"), Some(48));
        assert!(read_rows("id,system\n".as_bytes()).is_err());
    }
}
