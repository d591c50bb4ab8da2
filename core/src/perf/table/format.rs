//! The distilled file: one per GPU system.
//!
//! ```text
//! file    = "DGDRPERF" postcard(Header)
//! Header  = { format: u32 (= 1), system: str, bits: u8, notice: str,
//!             backends: [Backend] }                      -- sorted by backend
//! Backend = { backend: str, version: str, tables: [TableMeta],
//!             block: bytes }                  -- block = deflate(postcard([Table]))
//! TableMeta = { op: str, source_version: str, points: u32 }
//! Table   = { op: str, slices: [Slice] }                 -- slices sorted by cats
//! Slice   = { cats: [str], levels: [Level], values: [i32] }
//! Level   = { counts: [u32], coords: [u32] }
//! ```
//! postcard writes integers as LEB128 varints (signed ones zig-zagged).
//! `Level.counts` is the number of coordinates under each node of that level
//! (level 0 has one node; level `l + 1` has one node per coordinate of level
//! `l`); `Level.coords` holds them node by node, each node's first coordinate
//! as is and the others as differences to the previous one. `values` are
//! latencies in steps of `2^(1/2^bits)` ms (see [`super::quant`]), the first
//! as is and the others as differences to the previous value, in trie order.
//! Each backend is compressed on its own so that a lookup decodes only the
//! (system, backend) it asks about. Everything is sorted and carries no
//! time stamp: the same measurements always give the same bytes.

use super::PerfDbError;
use super::quant::Scale;
use super::schema::Op;
use super::trie::{Level, Trie};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The first bytes of every file.
pub const MAGIC: &[u8; 8] = b"DGDRPERF";
/// The layout version written and read.
pub const FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Header {
    pub format: u32,
    pub system: String,
    pub bits: u8,
    pub notice: String,
    pub backends: Vec<BackendRepr>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct BackendRepr {
    pub backend: String,
    pub version: String,
    pub tables: Vec<TableMeta>,
    pub block: Vec<u8>,
}

/// What a file says about one of its tables without decompressing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableMeta {
    /// [`Op::name`] of the table.
    pub op: String,
    /// The backend version the measurements come from (the current version,
    /// or the older one it was back-filled from).
    pub source_version: String,
    /// Number of measured points kept.
    pub points: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct TableRepr {
    op: String,
    slices: Vec<SliceRepr>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SliceRepr {
    cats: Vec<String>,
    levels: Vec<LevelRepr>,
    values: Vec<i32>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LevelRepr {
    counts: Vec<u32>,
    coords: Vec<u32>,
}

/// Measured points of one table, ready to be written: categorical keys and
/// coordinates (in [`Op::categories`] / [`Op::dims`] order) to milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct TableData {
    /// Which op.
    pub op: Op,
    /// The version the measurements come from.
    pub source_version: String,
    /// The points (sorted by the map, hence deterministic).
    pub points: BTreeMap<(Vec<String>, Vec<u32>), f64>,
}

/// All tables of one backend of one system.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendData {
    /// `trtllm`, `sglang`, `vllm`.
    pub backend: String,
    /// Its current version.
    pub version: String,
    /// One entry per op (at most one per op).
    pub tables: Vec<TableData>,
}

/// Everything written into one system's file.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemData {
    /// The system name (`h100_sxm`, ...).
    pub system: String,
    /// Licence and provenance text carried in the file.
    pub notice: String,
    /// The backends.
    pub backends: Vec<BackendData>,
}

/// Writes one system's file: `bits` is the steps-per-octave exponent of the
/// stored latencies (6 = 64 steps, 0.54 % worst-case rounding; 8 = 256 steps,
/// 0.14 %).
pub fn encode_system(data: &SystemData, bits: u8) -> Result<Vec<u8>, PerfDbError> {
    let scale = Scale::new(bits)?;
    let mut backends: Vec<&BackendData> = data.backends.iter().collect();
    backends.sort_by(|a, b| a.backend.cmp(&b.backend));
    let mut reprs = Vec::with_capacity(backends.len());
    for be in backends {
        let mut tables: Vec<&TableData> = be.tables.iter().collect();
        tables.sort_by_key(|t| t.op);
        let mut metas = Vec::with_capacity(tables.len());
        let mut table_reprs = Vec::with_capacity(tables.len());
        for t in tables {
            let (repr, points) = encode_table(t, &scale)?;
            metas.push(TableMeta {
                op: t.op.name().to_string(),
                source_version: t.source_version.clone(),
                points,
            });
            table_reprs.push(repr);
        }
        let raw =
            postcard::to_allocvec(&table_reprs).map_err(|e| PerfDbError::Encode(e.to_string()))?;
        let block = miniz_oxide::deflate::compress_to_vec(&raw, 10);
        reprs.push(BackendRepr {
            backend: be.backend.clone(),
            version: be.version.clone(),
            tables: metas,
            block,
        });
    }
    let header = Header {
        format: FORMAT,
        system: data.system.clone(),
        bits,
        notice: data.notice.clone(),
        backends: reprs,
    };
    let mut out = MAGIC.to_vec();
    let body = postcard::to_allocvec(&header).map_err(|e| PerfDbError::Encode(e.to_string()))?;
    out.extend_from_slice(&body);
    Ok(out)
}

fn encode_table(t: &TableData, scale: &Scale) -> Result<(TableRepr, u32), PerfDbError> {
    let ncats = t.op.categories().len();
    let ndims = t.op.dims().len();
    let mut slices: BTreeMap<&[String], Vec<(&[u32], f64)>> = BTreeMap::new();
    for ((cats, coords), &ms) in &t.points {
        if cats.len() != ncats || coords.len() != ndims {
            return Err(PerfDbError::Shape {
                op: t.op.name(),
                detail: format!("{} categories and {} coordinates", cats.len(), coords.len()),
            });
        }
        slices
            .entry(cats.as_slice())
            .or_default()
            .push((coords.as_slice(), ms));
    }
    let mut out = Vec::with_capacity(slices.len());
    let mut total = 0_u32;
    for (cats, pts) in slices {
        let refs: Vec<(&[u32], f32)> = pts.iter().map(|&(c, ms)| (c, ms as f32)).collect();
        let trie = Trie::from_sorted(&refs, ndims);
        let mut values = Vec::with_capacity(pts.len());
        let mut prev = 0_i32;
        for &(_, ms) in &pts {
            let step = scale.encode(ms)?;
            values.push(step.wrapping_sub(prev));
            prev = step;
        }
        total = total.saturating_add(u32::try_from(values.len()).unwrap_or(u32::MAX));
        let levels = trie
            .levels
            .iter()
            .map(|lv| {
                let counts = lv.offsets.windows(2).map(|w| match w {
                    [a, b] => b.saturating_sub(*a),
                    _ => 0,
                });
                let counts: Vec<u32> = counts.collect();
                let mut coords = Vec::with_capacity(lv.coords.len());
                let mut start = 0_usize;
                for &n in &counts {
                    let end = start.saturating_add(n as usize);
                    let mut prev = 0_u32;
                    for (j, &c) in lv.coords.get(start..end).unwrap_or(&[]).iter().enumerate() {
                        coords.push(if j == 0 { c } else { c.saturating_sub(prev) });
                        prev = c;
                    }
                    start = end;
                }
                LevelRepr { counts, coords }
            })
            .collect();
        out.push(SliceRepr {
            cats: cats.to_vec(),
            levels,
            values,
        });
    }
    Ok((
        TableRepr {
            op: t.op.name().to_string(),
            slices: out,
        },
        total,
    ))
}

/// Reads the header of a file (cheap: the blocks stay compressed).
pub(crate) fn decode_header(bytes: &[u8]) -> Result<(Header, Scale), PerfDbError> {
    let body = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or(PerfDbError::NotAPerfDb)?;
    let header: Header =
        postcard::from_bytes(body).map_err(|e| PerfDbError::Decode(e.to_string()))?;
    if header.format != FORMAT {
        return Err(PerfDbError::UnsupportedFormat(header.format));
    }
    let scale = Scale::new(header.bits)?;
    Ok((header, scale))
}

/// One decoded table: its slices by categorical key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DecodedTable {
    pub op: Op,
    pub slices: BTreeMap<Vec<String>, Trie>,
}

/// Decompresses and decodes one backend block.
pub(crate) fn decode_block(block: &[u8], scale: &Scale) -> Result<Vec<DecodedTable>, PerfDbError> {
    let raw = miniz_oxide::inflate::decompress_to_vec_with_limit(block, 1 << 30)
        .map_err(|e| PerfDbError::Decode(format!("inflate: {e:?}")))?;
    let tables: Vec<TableRepr> =
        postcard::from_bytes(&raw).map_err(|e| PerfDbError::Decode(e.to_string()))?;
    tables.into_iter().map(|t| decode_table(t, scale)).collect()
}

fn decode_table(t: TableRepr, scale: &Scale) -> Result<DecodedTable, PerfDbError> {
    let op = Op::from_name(&t.op).ok_or_else(|| PerfDbError::UnknownOp(t.op.clone()))?;
    let ndims = op.dims().len();
    let ncats = op.categories().len();
    let mut slices = BTreeMap::new();
    for s in t.slices {
        if s.cats.len() != ncats || s.levels.len() != ndims {
            return Err(PerfDbError::Shape {
                op: op.name(),
                detail: format!(
                    "slice with {} categories and {} levels",
                    s.cats.len(),
                    s.levels.len()
                ),
            });
        }
        let mut levels = Vec::with_capacity(ndims);
        for lv in s.levels {
            let mut offsets = Vec::with_capacity(lv.counts.len() + 1);
            offsets.push(0_u32);
            let mut coords = Vec::with_capacity(lv.coords.len());
            let mut it = lv.coords.into_iter();
            let mut at = 0_u32;
            for n in lv.counts {
                let mut prev = 0_u32;
                for j in 0..n {
                    let d = it
                        .next()
                        .ok_or(PerfDbError::Corrupt("coordinates run short"))?;
                    let c = if j == 0 {
                        d
                    } else {
                        prev.checked_add(d)
                            .ok_or(PerfDbError::Corrupt("coordinate overflow"))?
                    };
                    coords.push(c);
                    prev = c;
                }
                at = at
                    .checked_add(n)
                    .ok_or(PerfDbError::Corrupt("count overflow"))?;
                offsets.push(at);
            }
            if it.next().is_some() {
                return Err(PerfDbError::Corrupt("coordinates left over"));
            }
            levels.push(Level { offsets, coords });
        }
        let mut values = Vec::with_capacity(s.values.len());
        let mut step = 0_i32;
        for d in s.values {
            step = step.wrapping_add(d);
            let ms = scale
                .decode(step)
                .ok_or(PerfDbError::Corrupt("latency out of range"))?;
            values.push(ms as f32);
        }
        let trie = Trie { levels, values };
        if !trie.validate(ndims) {
            return Err(PerfDbError::Corrupt("malformed trie"));
        }
        if slices.insert(s.cats, trie).is_some() {
            return Err(PerfDbError::Corrupt("duplicate slice"));
        }
    }
    Ok(DecodedTable { op, slices })
}
