//! Measured per-operation latency tables, distilled from AI Configurator's
//! perf database, and lookups on them.
//!
//! The native host's importer (`dgdr calibrate import-aic`) reads the Parquet
//! tables and writes one compact file per GPU system (layout in
//! [`format`](self::format)); the core embeds the files under
//! `core/data/perfdb/` and a host may add its own with [`PerfDb::add_file`].
//! Each (system, backend) is decoded on first use only.
//!
//! Every lookup answers milliseconds and how the value came about
//! ([`Source`]): measured at a grid point, interpolated between measured
//! points, or extrapolated past them (rules in [`trie`](self::trie)'s
//! documentation: linear in each size within the grid, the last segment
//! continued with a bounded slope above it, the first point below it). A
//! `None` means the table, the dtype or an exact coordinate (parallel size,
//! head dim, window, GPU count) was not measured: the caller's roofline takes
//! over. Lookups use only `+ − × ÷` on f64, so native and wasm builds give
//! bit-identical answers.
//!
//! Coordinates are those of the measurements: per-GPU head counts for
//! attention, full (pre-parallelism) expert shapes with `moe_tp`/`moe_ep` for
//! MoE, elements (not bytes) for collectives, and for decode attention the
//! KV length `isl + step` the collector recorded.

mod format;
mod quant;
mod schema;
mod trie;

pub use format::{BackendData, FORMAT, MAGIC, SystemData, TableData, TableMeta, encode_system};
pub use quant::{MAX_BITS, MIN_BITS};
pub use schema::{Axis, Dim, Op};

use format::DecodedTable;
use quant::Scale;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use trie::Prov;

/// Problems reading or writing a distilled file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PerfDbError {
    /// The bytes do not start with [`MAGIC`].
    #[error("not a dgdr perf table file (missing DGDRPERF header)")]
    NotAPerfDb,
    /// Written by a newer dgdr.
    #[error("perf table format {0} is not supported (this dgdr reads format {FORMAT})")]
    UnsupportedFormat(u32),
    /// Steps-per-octave exponent out of range.
    #[error("latency resolution 2^{0} steps per octave is outside 2^{MIN_BITS}..=2^{MAX_BITS}")]
    BadResolution(u8),
    /// A latency that cannot be stored.
    #[error("latency {0} ms cannot be stored (must be a finite, positive, normal number)")]
    BadValue(f64),
    /// Points that do not fit the op's keys.
    #[error("{op}: points do not fit the table's keys ({detail})")]
    Shape {
        /// The op.
        op: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A table of an op this dgdr does not know.
    #[error("perf table of unknown op `{0}`")]
    UnknownOp(String),
    /// Undecodable bytes.
    #[error("cannot decode perf table: {0}")]
    Decode(String),
    /// Unencodable data.
    #[error("cannot encode perf table: {0}")]
    Encode(String),
    /// Decodable bytes with an inconsistent structure.
    #[error("corrupt perf table: {0}")]
    Corrupt(&'static str),
}

/// How a looked-up latency came about, and from which table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A measured grid point.
    Measured {
        /// The table.
        table: Op,
    },
    /// Interpolated between measured points.
    Interpolated {
        /// The table.
        table: Op,
    },
    /// Extrapolated past the measured range in at least one coordinate.
    Extrapolated {
        /// The table.
        table: Op,
    },
}

impl Source {
    /// The table the value comes from.
    pub fn table(self) -> Op {
        match self {
            Source::Measured { table }
            | Source::Interpolated { table }
            | Source::Extrapolated { table } => table,
        }
    }
}

/// A looked-up latency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lookup {
    /// Milliseconds.
    pub ms: f64,
    /// How it came about.
    pub source: Source,
}

/// One (system, backend, version) held by a [`PerfDb`], and its tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage<'a> {
    /// GPU system (`h100_sxm`, ...).
    pub system: &'a str,
    /// `trtllm`, `sglang` or `vllm`.
    pub backend: &'a str,
    /// The backend version the tables stand for.
    pub version: &'a str,
    /// The tables, with the version each was measured with.
    pub tables: &'a [TableMeta],
}

#[derive(Clone)]
struct BackendEntry {
    system: String,
    backend: String,
    version: String,
    tables: Vec<TableMeta>,
    scale: Scale,
    block: Vec<u8>,
    decoded: OnceLock<Result<SystemTables, PerfDbError>>,
}

impl std::fmt::Debug for BackendEntry {
    /// Leaves out the compressed block and the decoded tables (megabytes).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendEntry")
            .field("system", &self.system)
            .field("backend", &self.backend)
            .field("version", &self.version)
            .field("tables", &self.tables)
            .field("block_bytes", &self.block.len())
            .field("decoded", &self.decoded.get().is_some())
            .finish()
    }
}

#[derive(Debug, Clone)]
struct SystemEntry {
    notice: String,
    backends: BTreeMap<String, BackendEntry>,
}

/// A set of distilled files, one per GPU system.
#[derive(Debug, Clone, Default)]
pub struct PerfDb {
    systems: BTreeMap<String, SystemEntry>,
    errors: Vec<(String, PerfDbError)>,
}

macro_rules! builtin_files {
    ($($name:literal),* $(,)?) => {
        /// The files embedded in the core: (system, bytes).
        pub const BUILTIN_FILES: &[(&str, &[u8])] = &[
            $(($name, include_bytes!(concat!("../../../data/perfdb/", $name, ".bin")))),*
        ];
    };
}
builtin_files!(
    "a100_sxm", "b200_sxm", "b300_sxm", "gb200", "gb300", "h100_sxm", "h200_sxm", "l40s",
);

impl PerfDb {
    /// An empty set.
    pub fn new() -> PerfDb {
        PerfDb::default()
    }

    /// The tables embedded in the core (parsed once; each backend decoded on
    /// first use). A file that fails to parse (a build defect the tests
    /// catch) is left out and listed by [`PerfDb::errors`].
    pub fn builtin() -> &'static PerfDb {
        static BUILTIN: OnceLock<PerfDb> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let mut db = PerfDb::new();
            for &(name, bytes) in BUILTIN_FILES {
                if let Err(e) = db.add_file(bytes) {
                    db.errors.push((name.to_string(), e));
                }
            }
            db
        })
    }

    /// Parses a set of files.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<PerfDb, PerfDbError> {
        let mut db = PerfDb::new();
        for f in files {
            db.add_file(f)?;
        }
        Ok(db)
    }

    /// Adds one system's file; it replaces any file of the same system (so a
    /// user's own measurements override the built-in ones).
    pub fn add_file(&mut self, bytes: &[u8]) -> Result<(), PerfDbError> {
        let (header, scale) = format::decode_header(bytes)?;
        let mut backends = BTreeMap::new();
        for b in header.backends {
            let entry = BackendEntry {
                system: header.system.clone(),
                backend: b.backend.clone(),
                version: b.version,
                tables: b.tables,
                scale: scale.clone(),
                block: b.block,
                decoded: OnceLock::new(),
            };
            backends.insert(b.backend, entry);
        }
        self.systems.insert(
            header.system,
            SystemEntry {
                notice: header.notice,
                backends,
            },
        );
        Ok(())
    }

    /// Built-in files that could not be read (empty unless the build is broken).
    pub fn errors(&self) -> &[(String, PerfDbError)] {
        &self.errors
    }

    /// The systems held, sorted.
    pub fn systems(&self) -> impl Iterator<Item = &str> {
        self.systems.keys().map(String::as_str)
    }

    /// The licence/provenance notice carried by a system's file.
    pub fn notice(&self, system: &str) -> Option<&str> {
        self.systems.get(system).map(|s| s.notice.as_str())
    }

    /// Every (system, backend, version) held and its tables, sorted.
    pub fn coverage(&self) -> Vec<Coverage<'_>> {
        self.systems
            .values()
            .flat_map(|s| s.backends.values())
            .map(|b| Coverage {
                system: &b.system,
                backend: &b.backend,
                version: &b.version,
                tables: &b.tables,
            })
            .collect()
    }

    /// The tables of one system and backend, decoded on first use; `Ok(None)`
    /// when the set has no such pair.
    pub fn system(
        &self,
        system: &str,
        backend: &str,
    ) -> Result<Option<&SystemTables>, PerfDbError> {
        let Some(entry) = self
            .systems
            .get(system)
            .and_then(|s| s.backends.get(backend))
        else {
            return Ok(None);
        };
        let decoded = entry.decoded.get_or_init(|| {
            let tables = format::decode_block(&entry.block, &entry.scale)?;
            let meta: BTreeMap<&str, &TableMeta> =
                entry.tables.iter().map(|m| (m.op.as_str(), m)).collect();
            let mut by_op = BTreeMap::new();
            for t in tables {
                let source_version = meta
                    .get(t.op.name())
                    .map(|m| m.source_version.clone())
                    .unwrap_or_else(|| entry.version.clone());
                by_op.insert(t.op, (source_version, t));
            }
            Ok(SystemTables {
                system: entry.system.clone(),
                backend: entry.backend.clone(),
                version: entry.version.clone(),
                tables: by_op,
            })
        });
        match decoded {
            Ok(t) => Ok(Some(t)),
            Err(e) => Err(e.clone()),
        }
    }
}

/// An attention lookup (context: `seq_len` is the input length; generation:
/// the KV length attended over). Head counts are per GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionQuery<'a> {
    /// Activation dtype (`bfloat16`, `fp8`).
    pub attn_dtype: &'a str,
    /// KV-cache dtype (`bfloat16`, `fp8`).
    pub kv_dtype: &'a str,
    /// Sequences in the batch.
    pub batch: u64,
    /// Input length (context) or KV length (generation).
    pub seq_len: u64,
    /// Query heads per GPU.
    pub num_heads: u64,
    /// KV heads per GPU.
    pub num_kv_heads: u64,
    /// Head dimension.
    pub head_dim: u64,
    /// Sliding window (0: full attention).
    pub window: u64,
}

/// An MLA lookup. `num_heads` is per GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MlaQuery<'a> {
    /// MLA compute dtype.
    pub mla_dtype: &'a str,
    /// KV-cache dtype.
    pub kv_dtype: &'a str,
    /// Heads per GPU.
    pub num_heads: u64,
    /// Input length (context) or KV length (generation).
    pub seq_len: u64,
    /// Sequences in the batch.
    pub batch: u64,
}

/// The expert shape of a MoE layer, as the MoE tables key it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoeShape {
    /// Routed experts (before expert parallelism).
    pub num_experts: u64,
    /// Experts per token.
    pub topk: u64,
    /// Hidden size (the latent size where experts work in one).
    pub hidden: u64,
    /// Expert intermediate size (before tensor parallelism).
    pub inter: u64,
}

/// A MoE lookup: the model's full expert shape and the MoE parallel layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoeQuery<'a> {
    /// Expert weight dtype (`bfloat16`, `fp8`, `fp8_block`, `nvfp4`, ...).
    pub dtype: &'a str,
    /// Tokens entering the layer on this GPU.
    pub num_tokens: u64,
    /// Hidden size.
    pub hidden: u64,
    /// Expert intermediate size (before tensor parallelism).
    pub inter: u64,
    /// Experts per token.
    pub topk: u64,
    /// Routed experts (before expert parallelism).
    pub num_experts: u64,
    /// MoE tensor-parallel size.
    pub moe_tp: u64,
    /// MoE expert-parallel size.
    pub moe_ep: u64,
}

/// Which pass a wide expert-parallel MoE layer serves: DeepEP runs prefill
/// batches in its normal mode and decode batches in its low-latency mode,
/// with different kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoePhase {
    /// Prefill (normal mode).
    Context,
    /// Decode (low-latency mode).
    Generation,
}

impl MoePhase {
    fn op(self) -> Op {
        match self {
            MoePhase::Context => Op::MoeWideContext,
            MoePhase::Generation => Op::MoeWideGeneration,
        }
    }
}

/// The two batched GEMMs of decode MLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlaBmmStage {
    /// Before attention (`mla_gen_pre`).
    Pre,
    /// After attention (`mla_gen_post`).
    Post,
}

/// NCCL collectives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collective {
    /// `all_reduce`.
    AllReduce,
    /// `all_gather`.
    AllGather,
    /// `reduce_scatter`.
    ReduceScatter,
    /// `alltoall`.
    AllToAll,
}

impl Collective {
    /// The name in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Collective::AllReduce => "all_reduce",
            Collective::AllGather => "all_gather",
            Collective::ReduceScatter => "reduce_scatter",
            Collective::AllToAll => "alltoall",
        }
    }
}

/// The tables of one (system, backend, version).
#[derive(Debug, Clone, PartialEq)]
pub struct SystemTables {
    system: String,
    backend: String,
    version: String,
    tables: BTreeMap<Op, (String, DecodedTable)>,
}

impl SystemTables {
    /// GPU system.
    pub fn system(&self) -> &str {
        &self.system
    }

    /// Backend.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// Backend version the tables stand for.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The ops with a table.
    pub fn ops(&self) -> impl Iterator<Item = Op> + '_ {
        self.tables.keys().copied()
    }

    /// The version an op's measurements come from (the current version, or
    /// the older one it was back-filled from).
    pub fn source_version(&self, op: Op) -> Option<&str> {
        self.tables.get(&op).map(|(v, _)| v.as_str())
    }

    /// The categorical keys measured for an op (e.g. its dtypes), sorted.
    pub fn keys(&self, op: Op) -> impl Iterator<Item = &[String]> + '_ {
        self.tables
            .get(&op)
            .into_iter()
            .flat_map(|(_, t)| t.slices.keys().map(Vec::as_slice))
    }

    /// Number of measured points of an op.
    pub fn points(&self, op: Op) -> usize {
        self.tables
            .get(&op)
            .map(|(_, t)| t.slices.values().map(trie::Trie::len).sum())
            .unwrap_or(0)
    }

    /// Visits every stored point of one slice of an op: coordinates in
    /// [`Op::dims`] order and milliseconds.
    pub fn for_each_point(&self, op: Op, cats: &[&str], f: impl FnMut(&[u32], f32)) {
        if let Some(t) = self.slice(op, cats) {
            t.for_each_point(f);
        }
    }

    fn slice(&self, op: Op, cats: &[&str]) -> Option<&trie::Trie> {
        let (_, table) = self.tables.get(&op)?;
        table
            .slices
            .iter()
            .find(|(k, _)| k.len() == cats.len() && k.iter().zip(cats).all(|(a, b)| a == b))
            .map(|(_, t)| t)
    }

    /// The generic lookup: categorical keys in [`Op::categories`] order and
    /// coordinates in [`Op::dims`] order.
    pub fn lookup(&self, op: Op, cats: &[&str], coords: &[u64]) -> Option<Lookup> {
        let (ms, prov) = self.slice(op, cats)?.lookup(op.dims(), coords)?;
        let source = match prov {
            Prov::Measured => Source::Measured { table: op },
            Prov::Interpolated => Source::Interpolated { table: op },
            Prov::Extrapolated => Source::Extrapolated { table: op },
        };
        Some(Lookup { ms, source })
    }

    /// GEMM `[m, k] × [k, n]` in `dtype` (`bfloat16`, `fp8`, `fp8_block`,
    /// `nvfp4`, ... as measured).
    pub fn gemm(&self, dtype: &str, m: u64, n: u64, k: u64) -> Option<Lookup> {
        self.lookup(Op::Gemm, &[dtype], &[n, k, m])
    }

    /// Prefill attention of `batch` sequences of `seq_len` tokens.
    pub fn context_attention(&self, q: &AttentionQuery<'_>) -> Option<Lookup> {
        self.lookup(
            Op::ContextAttention,
            &[q.attn_dtype, q.kv_dtype],
            &[
                q.window,
                q.head_dim,
                q.num_heads,
                q.num_kv_heads,
                q.seq_len,
                q.batch,
            ],
        )
    }

    /// One decode step of attention for `batch` sequences over `seq_len`
    /// cached tokens.
    pub fn generation_attention(&self, q: &AttentionQuery<'_>) -> Option<Lookup> {
        self.lookup(
            Op::GenerationAttention,
            &[q.attn_dtype, q.kv_dtype],
            &[
                q.window,
                q.head_dim,
                q.num_heads,
                q.num_kv_heads,
                q.seq_len,
                q.batch,
            ],
        )
    }

    /// Prefill MLA attention core.
    pub fn mla_context(&self, q: &MlaQuery<'_>) -> Option<Lookup> {
        self.lookup(
            Op::ContextMla,
            &[q.mla_dtype, q.kv_dtype],
            &[q.num_heads, q.seq_len, q.batch],
        )
    }

    /// Decode MLA attention core.
    pub fn mla_generation(&self, q: &MlaQuery<'_>) -> Option<Lookup> {
        self.lookup(
            Op::GenerationMla,
            &[q.mla_dtype, q.kv_dtype],
            &[q.num_heads, q.seq_len, q.batch],
        )
    }

    /// Whole prefill MLA module of `model` (e.g. `deepseek-ai/DeepSeek-V3`)
    /// with projections in `gemm_dtype`.
    pub fn mla_context_module(
        &self,
        model: &str,
        gemm_dtype: &str,
        q: &MlaQuery<'_>,
    ) -> Option<Lookup> {
        self.lookup(
            Op::MlaContextModule,
            &[model, q.mla_dtype, q.kv_dtype, gemm_dtype],
            &[q.num_heads, q.seq_len, q.batch],
        )
    }

    /// Whole decode MLA module of `model`.
    pub fn mla_generation_module(
        &self,
        model: &str,
        gemm_dtype: &str,
        q: &MlaQuery<'_>,
    ) -> Option<Lookup> {
        self.lookup(
            Op::MlaGenerationModule,
            &[model, q.mla_dtype, q.kv_dtype, gemm_dtype],
            &[q.num_heads, q.seq_len, q.batch],
        )
    }

    /// One kernel of a linear-attention layer (`op`: [`Op::Gdn`] or
    /// [`Op::Kda`]; `kernel`: its name in the tables) at `k_heads`/`v_heads`
    /// heads per GPU (head width 128), `seq_len` new tokens per sequence (1
    /// for decode) and `batch` sequences.
    pub fn linear_kernel(
        &self,
        op: Op,
        kernel: &str,
        k_heads: u64,
        v_heads: u64,
        seq_len: u64,
        batch: u64,
    ) -> Option<Lookup> {
        self.lookup(op, &[kernel], &[k_heads, v_heads, seq_len, batch])
    }

    /// One hyper-connection kernel (`stage`: `pre` or `post`) of one site
    /// of a model of `hidden` width, on `num_tokens` tokens.
    pub fn mhc(&self, stage: &str, hidden: u64, num_tokens: u64) -> Option<Lookup> {
        self.lookup(Op::Mhc, &[stage], &[hidden, num_tokens])
    }

    /// Whole attention block of a sparse-attention layer (`op`: `Dsa*Module`
    /// or one of the four `Dsv4*Module` ops) of `model`, with its KV cache in
    /// `kv_dtype` and projections in `gemm_dtype`, at `num_heads` heads per
    /// GPU, `len` tokens of context (prefill) or KV (decode) and `batch`
    /// sequences.
    pub fn sparse_module(
        &self,
        op: Op,
        [model, kv_dtype, gemm_dtype]: [&str; 3],
        num_heads: u64,
        len: u64,
        batch: u64,
    ) -> Option<Lookup> {
        self.lookup(
            op,
            &[model, "bfloat16", kv_dtype, gemm_dtype],
            &[num_heads, len, batch],
        )
    }

    /// The batched GEMMs around decode MLA.
    pub fn mla_bmm(
        &self,
        stage: MlaBmmStage,
        dtype: &str,
        num_heads: u64,
        num_tokens: u64,
    ) -> Option<Lookup> {
        let stage = match stage {
            MlaBmmStage::Pre => "mla_gen_pre",
            MlaBmmStage::Post => "mla_gen_post",
        };
        self.lookup(Op::MlaBmm, &[stage, dtype], &[num_heads, num_tokens])
    }

    /// A MoE layer on one GPU.
    pub fn moe(&self, q: &MoeQuery<'_>) -> Option<Lookup> {
        self.moe_in(Op::Moe, q)
    }

    /// The experts of a wide expert-parallel layer on one GPU (SGLang's
    /// DeepEP MoE), in prefill or decode; `num_tokens` over the EP group.
    pub fn moe_wide(&self, phase: MoePhase, q: &MoeQuery<'_>) -> Option<Lookup> {
        self.moe_in(phase.op(), q)
    }

    fn moe_in(&self, op: Op, q: &MoeQuery<'_>) -> Option<Lookup> {
        self.lookup(
            op,
            &[q.dtype],
            &[
                q.moe_tp,
                q.moe_ep,
                q.num_experts,
                q.topk,
                q.hidden,
                q.inter,
                q.num_tokens,
            ],
        )
    }

    /// The expert shapes of the wide expert-parallel table of `dtype` at
    /// an EP size.
    pub fn moe_wide_shapes(&self, phase: MoePhase, dtype: &str, moe_ep: u64) -> Vec<MoeShape> {
        self.shapes_in(phase.op(), dtype, 1, moe_ep)
    }

    /// Whether the MoE table of `dtype` measured this expert shape at this
    /// layout.
    pub fn moe_has_shape(&self, dtype: &str, moe_tp: u64, moe_ep: u64, s: MoeShape) -> bool {
        self.slice(Op::Moe, &[dtype]).is_some_and(|t| {
            t.has_prefix(&[moe_tp, moe_ep, s.num_experts, s.topk, s.hidden, s.inter])
        })
    }

    /// The expert shapes measured in the MoE table of `dtype` at a layout.
    pub fn moe_shapes(&self, dtype: &str, moe_tp: u64, moe_ep: u64) -> Vec<MoeShape> {
        self.shapes_in(Op::Moe, dtype, moe_tp, moe_ep)
    }

    fn shapes_in(&self, op: Op, dtype: &str, moe_tp: u64, moe_ep: u64) -> Vec<MoeShape> {
        let mut out = Vec::new();
        if let Some(t) = self.slice(op, &[dtype]) {
            // The first six MoE dims: moe_tp, moe_ep and the shape.
            t.for_each_prefix(6, |c| {
                if let [tp, ep, num_experts, topk, hidden, inter] = *c
                    && u64::from(tp) == moe_tp
                    && u64::from(ep) == moe_ep
                {
                    out.push(MoeShape {
                        num_experts: u64::from(num_experts),
                        topk: u64::from(topk),
                        hidden: u64::from(hidden),
                        inter: u64::from(inter),
                    });
                }
            });
        }
        out
    }

    /// An NCCL collective over `gpus` GPUs of `elements` elements of `dtype`
    /// (16-bit types read the `half` table, 8-bit ones the `int8` table).
    pub fn nccl(
        &self,
        collective: Collective,
        dtype: &str,
        gpus: u64,
        elements: u64,
    ) -> Option<Lookup> {
        let dtype = match dtype {
            "half" | "float16" | "fp16" | "bfloat16" | "bf16" => "half",
            "int8" | "uint8" | "fp8" | "float8" => "int8",
            other => other,
        };
        self.lookup(Op::Nccl, &[collective.name(), dtype], &[gpus, elements])
    }

    /// The backend's custom all-reduce (16-bit types read the `bfloat16` table).
    pub fn custom_allreduce(&self, dtype: &str, gpus: u64, elements: u64) -> Option<Lookup> {
        let dtype = match dtype {
            "half" | "float16" | "fp16" | "bfloat16" | "bf16" => "bfloat16",
            other => other,
        };
        self.lookup(Op::CustomAllreduce, &[dtype], &[gpus, elements])
    }

    /// The all-reduce a tensor-parallel engine runs: its custom kernel where
    /// measured for this GPU count, else NCCL's.
    pub fn allreduce(&self, dtype: &str, gpus: u64, elements: u64) -> Option<Lookup> {
        self.custom_allreduce(dtype, gpus, elements)
            .or_else(|| self.nccl(Collective::AllReduce, dtype, gpus, elements))
    }

    /// NCCL all-gather.
    pub fn allgather(&self, dtype: &str, gpus: u64, elements: u64) -> Option<Lookup> {
        self.nccl(Collective::AllGather, dtype, gpus, elements)
    }

    /// NCCL reduce-scatter.
    pub fn reduce_scatter(&self, dtype: &str, gpus: u64, elements: u64) -> Option<Lookup> {
        self.nccl(Collective::ReduceScatter, dtype, gpus, elements)
    }

    /// NCCL all-to-all.
    pub fn alltoall(&self, dtype: &str, gpus: u64, elements: u64) -> Option<Lookup> {
        self.nccl(Collective::AllToAll, dtype, gpus, elements)
    }

    /// Point-to-point transfer (pipeline stages, KV transfer): AI
    /// Configurator's database measures none, so this is always `None` and
    /// the caller's bandwidth model answers.
    pub fn p2p(&self, _dtype: &str, _elements: u64) -> Option<Lookup> {
        None
    }
}

#[cfg(test)]
mod tests;
