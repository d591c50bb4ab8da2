//! Reading the flat Parquet tables of AI Configurator into columns.

use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::DataType;
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

/// A column, nulls as `None`.
#[derive(Debug, Clone)]
pub(crate) enum Col {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    /// Strings interned: `dict[id]`.
    Str {
        dict: Vec<String>,
        ids: Vec<Option<u32>>,
    },
    Bool(Vec<Option<bool>>),
}

/// The wanted columns of one file (those it has).
#[derive(Debug, Clone, Default)]
pub(crate) struct Frame {
    pub rows: usize,
    pub cols: BTreeMap<String, Col>,
}

impl Col {
    /// Integer cell (floats with no fraction count).
    pub fn int(&self, row: usize) -> Option<i64> {
        match self {
            Col::Int(v) => *v.get(row)?,
            Col::Float(v) => v
                .get(row)
                .copied()
                .flatten()
                .filter(|x| x.fract() == 0.0)
                .map(|x| x as i64),
            Col::Str { .. } | Col::Bool(_) => None,
        }
    }

    /// Float cell.
    pub fn float(&self, row: usize) -> Option<f64> {
        match self {
            Col::Float(v) => *v.get(row)?,
            Col::Int(v) => v.get(row).copied().flatten().map(|x| x as f64),
            Col::Str { .. } | Col::Bool(_) => None,
        }
    }

    /// Interned string id of a cell.
    pub fn str_id(&self, row: usize) -> Option<u32> {
        match self {
            Col::Str { ids, .. } => *ids.get(row)?,
            Col::Int(_) | Col::Float(_) | Col::Bool(_) => None,
        }
    }

    /// The string of an interned id.
    pub fn str_of(&self, id: u32) -> Option<&str> {
        match self {
            Col::Str { dict, .. } => dict.get(id as usize).map(String::as_str),
            Col::Int(_) | Col::Float(_) | Col::Bool(_) => None,
        }
    }

    /// The id of a string, if the column has it.
    pub fn id_of(&self, s: &str) -> Option<u32> {
        match self {
            Col::Str { dict, .. } => dict
                .iter()
                .position(|d| d == s)
                .and_then(|i| u32::try_from(i).ok()),
            Col::Int(_) | Col::Float(_) | Col::Bool(_) => None,
        }
    }
}

/// Reads the `wanted` columns of a flat Parquet file.
pub(crate) fn read(path: &Path, wanted: &[&str]) -> Result<Frame, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let reader = SerializedFileReader::new(file).map_err(|e| format!("{}: {e}", path.display()))?;
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr();
    let mut indices = Vec::new();
    for (i, c) in schema.columns().iter().enumerate() {
        if c.path().parts().len() == 1 && wanted.contains(&c.name()) {
            indices.push((i, c.name().to_string(), c.max_def_level()));
        }
    }
    let mut frame = Frame::default();
    let mut interners: BTreeMap<String, BTreeMap<Vec<u8>, u32>> = BTreeMap::new();
    for rg in 0..reader.num_row_groups() {
        let group = reader
            .get_row_group(rg)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let rows = usize::try_from(group.metadata().num_rows()).map_err(|e| e.to_string())?;
        for (ci, name, max_def) in &indices {
            let reader = group
                .get_column_reader(*ci)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let err =
                |e: parquet::errors::ParquetError| format!("{} column {name}: {e}", path.display());
            match reader {
                ColumnReader::Int64ColumnReader(mut r) => {
                    let vals = read_all(&mut r, rows, *max_def).map_err(err)?;
                    push_int(&mut frame, name, vals.into_iter());
                }
                ColumnReader::Int32ColumnReader(mut r) => {
                    let vals = read_all(&mut r, rows, *max_def).map_err(err)?;
                    push_int(&mut frame, name, vals.into_iter().map(|v| v.map(i64::from)));
                }
                ColumnReader::DoubleColumnReader(mut r) => {
                    let vals = read_all(&mut r, rows, *max_def).map_err(err)?;
                    push_float(&mut frame, name, vals);
                }
                ColumnReader::FloatColumnReader(mut r) => {
                    let vals = read_all(&mut r, rows, *max_def).map_err(err)?;
                    push_float(
                        &mut frame,
                        name,
                        vals.into_iter().map(|v| v.map(f64::from)).collect(),
                    );
                }
                ColumnReader::BoolColumnReader(mut r) => {
                    let vals = read_all(&mut r, rows, *max_def).map_err(err)?;
                    let col = frame
                        .cols
                        .entry(name.clone())
                        .or_insert_with(|| Col::Bool(Vec::new()));
                    if let Col::Bool(v) = col {
                        v.extend(vals);
                    }
                }
                ColumnReader::ByteArrayColumnReader(mut r) => {
                    let vals = read_all(&mut r, rows, *max_def).map_err(err)?;
                    let interner = interners.entry(name.clone()).or_default();
                    let col = frame.cols.entry(name.clone()).or_insert_with(|| Col::Str {
                        dict: Vec::new(),
                        ids: Vec::new(),
                    });
                    if let Col::Str { dict, ids } = col {
                        for v in vals {
                            ids.push(v.map(|b| {
                                let bytes = b.data();
                                if let Some(&id) = interner.get(bytes) {
                                    return id;
                                }
                                let id = u32::try_from(dict.len()).unwrap_or(u32::MAX);
                                dict.push(String::from_utf8_lossy(bytes).into_owned());
                                interner.insert(bytes.to_vec(), id);
                                id
                            }));
                        }
                    }
                }
                _ => {
                    return Err(format!(
                        "{}: column {name} has an unsupported type",
                        path.display()
                    ));
                }
            }
        }
        frame.rows += rows;
    }
    for (name, col) in &frame.cols {
        let n = match col {
            Col::Int(v) => v.len(),
            Col::Float(v) => v.len(),
            Col::Str { ids, .. } => ids.len(),
            Col::Bool(v) => v.len(),
        };
        if n != frame.rows {
            return Err(format!(
                "{}: column {name} has {n} values for {} rows",
                path.display(),
                frame.rows
            ));
        }
    }
    Ok(frame)
}

fn push_int(frame: &mut Frame, name: &str, vals: impl Iterator<Item = Option<i64>>) {
    let col = frame
        .cols
        .entry(name.to_string())
        .or_insert_with(|| Col::Int(Vec::new()));
    if let Col::Int(v) = col {
        v.extend(vals);
    }
}

fn push_float(frame: &mut Frame, name: &str, vals: Vec<Option<f64>>) {
    let col = frame
        .cols
        .entry(name.to_string())
        .or_insert_with(|| Col::Float(Vec::new()));
    if let Col::Float(v) = col {
        v.extend(vals);
    }
}

/// Reads `rows` records of a flat column, nulls as `None`.
fn read_all<T: DataType>(
    r: &mut ColumnReaderImpl<T>,
    rows: usize,
    max_def: i16,
) -> Result<Vec<Option<T::T>>, parquet::errors::ParquetError> {
    let mut out = Vec::with_capacity(rows);
    let mut values: Vec<T::T> = Vec::new();
    let mut defs: Vec<i16> = Vec::new();
    while out.len() < rows {
        values.clear();
        defs.clear();
        let want = (rows - out.len()).min(1 << 16);
        let (records, _, _) = if max_def > 0 {
            r.read_records(want, Some(&mut defs), None, &mut values)?
        } else {
            r.read_records(want, None, None, &mut values)?
        };
        if records == 0 {
            break;
        }
        if max_def > 0 {
            let mut it = values.drain(..);
            for &d in &defs {
                out.push(if d == max_def { it.next() } else { None });
            }
        } else {
            out.extend(values.drain(..).map(Some));
        }
    }
    Ok(out)
}
