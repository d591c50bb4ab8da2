//! Op composition: one engine step (prefill tokens, decode tokens, or both)
//! as the sum of the operations a forward pass runs on one GPU, each timed
//! from the measured tables where they cover it and from the roofline where
//! they do not.
//!
//! A [`StepModel`] is built once per (model, system, backend, layout,
//! quantization): it resolves the layer kinds and their per-GPU shapes, and
//! which table (and dtype) answers each op, so that timing a step is a
//! handful of table lookups and no allocation.
//!
//! Conventions: every token count is per attention-DP rank; the MoE layer
//! sees the tokens of all `dp` ranks (they are gathered into the expert
//! group); a token crosses every layer (pipeline stages in sequence).

use serde::Serialize;

use super::constants::RooflineEff;
use super::error::PerfError;
use super::parallel::Parallel;
use super::quant::{GemmQuant, KvQuant, QuantConfig};
use super::roofline::{self, Comm};
use super::table::{
    AttentionQuery, Collective, Lookup, MlaBmmStage, MlaQuery, MoePhase, MoeQuery, MoeShape, Op,
    PerfDb, Source, SystemTables,
};
use crate::catalog::model::{IndexerKind, ModelArch, Moe};
use crate::catalog::system::{SystemCatalog, SystemSpec};
use crate::spec::Backend;

/// Where an op's time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpSource {
    /// A measured grid point of the table.
    Measured,
    /// Interpolated between measured points.
    Interpolated,
    /// Extrapolated past the measured range.
    Extrapolated,
    /// A measured kin (another dtype, GPU count, parallel size or a sibling
    /// GPU) rescaled by the roofline ratio.
    Rescaled,
    /// Roofline only.
    Roofline,
}

impl OpSource {
    pub fn as_str(self) -> &'static str {
        match self {
            OpSource::Measured => "measured",
            OpSource::Interpolated => "interpolated",
            OpSource::Extrapolated => "extrapolated",
            OpSource::Rescaled => "rescaled",
            OpSource::Roofline => "roofline",
        }
    }

    /// Every source, in order.
    pub const ALL: [OpSource; 5] = [
        OpSource::Measured,
        OpSource::Interpolated,
        OpSource::Extrapolated,
        OpSource::Rescaled,
        OpSource::Roofline,
    ];

    fn from_table(s: Source) -> OpSource {
        match s {
            Source::Measured { .. } => OpSource::Measured,
            Source::Interpolated { .. } => OpSource::Interpolated,
            Source::Extrapolated { .. } => OpSource::Extrapolated,
        }
    }
}

/// A timed op.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timed {
    pub ms: f64,
    pub source: OpSource,
    /// The table consulted, if any.
    pub table: Option<Op>,
}

impl Timed {
    fn roof(ms: f64) -> Timed {
        Timed {
            ms,
            source: OpSource::Roofline,
            table: None,
        }
    }

    fn zero() -> Timed {
        Timed::roof(0.0)
    }
}

/// One line of a step breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpTime {
    /// Op name (`attn.qkv_gemm`, `moe.experts`, ...).
    pub name: &'static str,
    /// How many times one step runs it (layers).
    pub count: f64,
    /// Milliseconds of one run.
    pub ms: f64,
    pub source: OpSource,
    /// The table consulted (`gemm`, `moe`, ...), if any.
    pub table: Option<&'static str>,
}

/// Receives the ops of a step.
pub(crate) trait Sink {
    fn add(&mut self, name: &'static str, count: f64, t: Timed);
}

/// Sums a step (and the share of time by source).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SumSink {
    pub ms: f64,
    /// The routed experts' share of `ms` (`moe.experts`).
    pub experts_ms: f64,
    pub by_source: [f64; 5],
}

impl Sink for SumSink {
    fn add(&mut self, name: &'static str, count: f64, t: Timed) {
        let ms = count * t.ms;
        self.ms += ms;
        if name == "moe.experts" {
            self.experts_ms += ms;
        }
        let i = OpSource::ALL
            .iter()
            .position(|s| *s == t.source)
            .unwrap_or(4);
        if let Some(slot) = self.by_source.get_mut(i) {
            *slot += ms;
        }
    }
}

/// Lists a step's ops.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListSink(pub Vec<OpTime>);

impl Sink for ListSink {
    fn add(&mut self, name: &'static str, count: f64, t: Timed) {
        if count > 0.0 && t.ms > 0.0 {
            self.0.push(OpTime {
                name,
                count,
                ms: t.ms,
                source: t.source,
                table: t.table.map(Op::name),
            });
        }
    }
}

/// The work of one step on one attention-DP rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StepShape {
    /// Sequences with prefill tokens in this step.
    pub prefill_seqs: u64,
    /// Prefill tokens of each of them in this step (a whole prompt or a chunk).
    pub prefill_tokens: u64,
    /// Tokens each of them already has in the KV cache (earlier chunks).
    pub prefill_cached: u64,
    /// Sequences decoding one token.
    pub decode_seqs: u64,
    /// Their mean KV length.
    pub decode_kv: u64,
    /// Tokens through the token-linear ops (projections, MLP/experts,
    /// collectives, norms): normally `prefill_seqs × prefill_tokens +
    /// decode_seqs`; 0 times only the per-sequence parts (attention, LM head),
    /// which the engine model uses to time the two separately.
    pub linear_tokens: u64,
}

impl StepShape {
    /// A prefill of `batch` prompts of `isl` tokens.
    pub fn prefill(batch: u64, isl: u64) -> StepShape {
        StepShape {
            prefill_seqs: batch,
            prefill_tokens: isl,
            linear_tokens: batch * isl,
            ..StepShape::default()
        }
    }

    /// A decode step of `batch` sequences at KV length `kv`.
    pub fn decode(batch: u64, kv: u64) -> StepShape {
        StepShape {
            decode_seqs: batch,
            decode_kv: kv,
            linear_tokens: batch,
            ..StepShape::default()
        }
    }

    /// Only the token-linear ops, for `tokens` tokens.
    pub fn linear(tokens: u64) -> StepShape {
        StepShape {
            linear_tokens: tokens,
            ..StepShape::default()
        }
    }

    /// This shape without its token-linear ops (attention and LM head only).
    pub fn attention_only(self) -> StepShape {
        StepShape {
            linear_tokens: 0,
            ..self
        }
    }

    /// No work at all: no prefill, no decode, no token-linear ops.
    pub fn is_empty(&self) -> bool {
        self.prefill_seqs == 0 && self.decode_seqs == 0 && self.linear_tokens == 0
    }

    /// Tokens the step processes.
    pub fn tokens(&self) -> u64 {
        self.prefill_seqs * self.prefill_tokens + self.decode_seqs
    }
}

/// An MLA layer's dimensions on one GPU (heads after tensor parallelism).
#[derive(Debug, Clone, Copy, PartialEq)]
struct MlaDims {
    heads: u64,
    q_lora: Option<u64>,
    kv_lora: u64,
    rope: u64,
    nope: u64,
    v: u64,
}

/// Attention (or mixer) of a layer kind, per GPU.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Attn {
    None,
    Gqa {
        hq: u64,
        hkv: u64,
        d: u64,
        dv: u64,
        window: u64,
        /// Output width of the fused QKV(+gate) projection.
        qkv_n: u64,
        /// A block-sparse indexer picks the keys (MiniMax-M3).
        sparse: bool,
    },
    Mla(MlaDims),
    Linear {
        kh: u64,
        vh: u64,
        kd: u64,
        vd: u64,
        /// Output width of the input projections (q, k, v, gates, beta).
        in_n: u64,
        /// Kimi delta attention (per-channel decay) rather than GDN.
        kda: bool,
    },
    Mamba {
        heads: u64,
        hd: u64,
        state: u64,
        in_n: u64,
        state_bytes: u64,
    },
    /// DeepSeek-V4 compressed attention (one key/value head of width `d`).
    Compressed {
        hq: u64,
        d: u64,
        q_lora: u64,
        /// Grouped output projection: local groups × their rank, and the
        /// input width of one group.
        o_mid: u64,
        o_in: u64,
        /// Tokens per compressed entry (0: window only) and the raw window.
        ratio: u64,
        window: u64,
        /// Indexer heads, head width and keys kept, where the layer has one.
        index: Option<(u64, u64, u64)>,
        /// Width of the residual stream in hidden sizes.
        hc: u64,
    },
    /// Replaced by one `hidden × hidden` linear map.
    Replaced,
}

/// MLP of a layer kind, per GPU.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mlp {
    None,
    Dense {
        inter: u64,
        gated: bool,
    },
    Moe {
        shared_inter: u64,
    },
    Both {
        inter: u64,
        gated: bool,
        shared_inter: u64,
    },
    Replaced,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Group {
    count: u64,
    attn: Attn,
    mlp: Mlp,
}

/// The parts of a step a whole-module table answers, and the rest of the
/// step, which the composed path times.
struct Measured {
    ops: Vec<(&'static str, Timed)>,
    rest: StepShape,
}

impl Measured {
    /// From the module times of the prefill and decode parts of `s` (`None`:
    /// not answered); `None` when neither is.
    fn of(
        s: &StepShape,
        prefill: Option<(&'static str, Timed)>,
        decode: Option<(&'static str, Timed)>,
    ) -> Option<Measured> {
        if prefill.is_none() && decode.is_none() {
            return None;
        }
        let mut rest = *s;
        // A module includes its projections: their tokens leave the rest
        // (when the shape times token-linear ops at all).
        let linear = s.linear_tokens > 0;
        if prefill.is_some() {
            if linear {
                rest.linear_tokens = rest
                    .linear_tokens
                    .saturating_sub(s.prefill_seqs * s.prefill_tokens);
            }
            rest.prefill_seqs = 0;
            rest.prefill_tokens = 0;
            rest.prefill_cached = 0;
        }
        if decode.is_some() {
            if linear {
                rest.linear_tokens = rest.linear_tokens.saturating_sub(s.decode_seqs);
            }
            rest.decode_seqs = 0;
            rest.decode_kv = 0;
        }
        Some(Measured {
            ops: prefill.into_iter().chain(decode).collect(),
            rest,
        })
    }

    /// Adds the measured parts to `sink` (`n` layers); the rest of the step
    /// is left for the composed path.
    fn add_to<S: Sink>(self, sink: &mut S, n: f64) -> StepShape {
        for (name, t) in self.ops {
            sink.add(name, n, t);
        }
        self.rest
    }
}

/// Which table (and dtype) answers an op, decided once.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pick {
    /// The table measures this dtype.
    Exact(&'static str),
    /// A kin dtype, rescaled by the roofline ratio.
    Kin(&'static str, GemmQuant),
    Roofline,
}

/// One MoE table slice and expert shape a lookup reads.
#[derive(Debug, Clone, Copy, PartialEq)]
struct MoeSource {
    dtype: &'static str,
    quant: GemmQuant,
    moe_tp: u64,
    moe_ep: u64,
    /// The model's own expert shape, or a measured stand-in for it.
    shape: MoeShape,
}

/// The MoE table slices used: one source, or up to three stand-ins (kin
/// formats, or the nearest measured shapes), each rescaled by the roofline,
/// whose median answers, so that one stand-in's slow kernel path does not
/// decide alone.
#[derive(Debug, Clone, Copy, PartialEq)]
struct MoePick {
    sources: [Option<MoeSource>; 3],
    /// The single source is the model's own format, shape and layout.
    exact: bool,
    /// Every source measured the model's own expert shape.
    own_shape: bool,
}

impl MoePick {
    fn sources(&self) -> impl Iterator<Item = MoeSource> + '_ {
        self.sources.iter().flatten().copied()
    }
}

/// The DeepSeek-V3 MLA module tables apply to models with its exact MLA dims.
const MLA_MODULE_MODEL: &str = "deepseek-ai/DeepSeek-V3";

/// A step model for one deployment (see the module docs).
#[derive(Debug, Clone)]
pub struct StepModel<'a> {
    model: &'a ModelArch,
    system: &'a SystemSpec,
    /// The system whose tables answer, when borrowed from a sibling.
    sibling: Option<&'a SystemSpec>,
    tables: Option<&'a SystemTables>,
    par: Parallel,
    quant: QuantConfig,
    eff: RooflineEff,
    groups: Vec<Group>,
    gemm_pick: Pick,
    /// The other 8-bit GEMM table, when both exist: engines pick the faster
    /// kernel, and some tables measured a slow path of one of them.
    gemm_alt: Option<(&'static str, GemmQuant)>,
    lm_pick: Pick,
    moe_pick: Option<MoePick>,
    /// The other 8-bit MoE table (see `gemm_alt`).
    moe_alt: Option<MoePick>,
    kv_table: &'static str,
    kv_table_fallback: bool,
    mla_module: bool,
    /// Keys of the measured DeepSeek sparse-attention (DSA) block tables that
    /// answer this model (model, KV dtype, projection dtype), when some do.
    dsa_module: Option<[&'static str; 3]>,
    /// Keys of the measured MiniMax-M3 block-sparse attention-block tables
    /// that answer this model, when some do.
    msa_module: Option<[&'static str; 3]>,
    /// Keys of the measured DeepSeek-V4 attention-block tables that answer
    /// this model (model, KV dtype, projection dtype), when some do.
    dsv4_module: Option<[&'static str; 3]>,
    mla_dtype: &'static str,
    mla_gemm_dtype: &'static str,
    hidden: u64,
    vocab_per_gpu: u64,
    moe: Option<Moe>,
    allreduce_gpus: u64,
}

/// The first (projection dtype, model, KV dtype) under which every one of
/// `ops` has a table: the keys of a model family's whole-module tables.
fn module_keys(
    has: &impl Fn(Op, &[&str]) -> bool,
    ops: &[Op],
    models: &[&'static str],
    gemms: &[&'static str],
    kvs: &[&'static str],
) -> Option<[&'static str; 3]> {
    gemms.iter().find_map(|g| {
        models.iter().find_map(|m| {
            kvs.iter().find_map(|kv| {
                ops.iter()
                    .all(|op| has(*op, &[m, "bfloat16", kv, g]))
                    .then_some([*m, *kv, *g])
            })
        })
    })
}

fn ceil_div(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { a.div_ceil(b) }
}

impl<'a> StepModel<'a> {
    /// Resolves the layer kinds and the tables of a deployment.
    pub fn new(
        model: &'a ModelArch,
        system: &'a SystemSpec,
        backend: Backend,
        par: Parallel,
        quant: QuantConfig,
        eff: RooflineEff,
    ) -> Result<StepModel<'a>, PerfError> {
        let (tables, sibling) = match &system.tables {
            Some(name) => {
                let t = PerfDb::builtin().system(name, backend.as_str())?;
                let sibling = if *name == system.sku {
                    None
                } else {
                    SystemCatalog::builtin().lookup(name).ok()
                };
                (t, sibling)
            }
            None => (None, None),
        };
        let tp = u64::from(par.tp.max(1));
        let h = model.hidden_size;
        let groups = layer_groups(model, tp)?;
        let has = |op: Op, key: &[&str]| -> bool {
            tables.is_some_and(|t| {
                t.keys(op)
                    .any(|k| k.len() == key.len() && k.iter().zip(key).all(|(a, b)| a == b))
            })
        };
        let pick = |q: GemmQuant| -> Pick {
            if let Some(d) = q.gemm_tables().iter().find(|d| has(Op::Gemm, &[d])) {
                return Pick::Exact(d);
            }
            if let Some((d, kq)) = q.gemm_kin().iter().find(|(d, _)| has(Op::Gemm, &[d])) {
                return Pick::Kin(d, *kq);
            }
            Pick::Roofline
        };
        let gemm_pick = pick(quant.gemm);
        let gemm_alt = match quant.gemm {
            GemmQuant::Fp8 => Some(("fp8_block", GemmQuant::Fp8Block)),
            GemmQuant::Fp8Block => Some(("fp8", GemmQuant::Fp8)),
            _ => None,
        }
        .filter(|(d, _)| matches!(gemm_pick, Pick::Exact(_)) && has(Op::Gemm, &[d]));
        let lm_pick = pick(GemmQuant::Bf16);
        let moe_pick = match (&model.moe, tables) {
            (Some(m), Some(t)) => find_moe_pick(t, m, quant.moe, par, h),
            _ => None,
        };
        let moe_alt = match (&model.moe, tables, quant.moe) {
            (Some(m), Some(t), GemmQuant::Fp8) => find_moe_pick(t, m, GemmQuant::Fp8Block, par, h),
            (Some(m), Some(t), GemmQuant::Fp8Block) => find_moe_pick(t, m, GemmQuant::Fp8, par, h),
            _ => None,
        }
        // The other 8-bit format answers only from the model's own measured
        // shape: a stand-in shape's time must not undercut a measurement.
        .filter(|p| {
            p.own_shape
                && p.sources()
                    .all(|s| s.quant == GemmQuant::Fp8 || s.quant == GemmQuant::Fp8Block)
        });
        let kv = quant.kv.table();
        let kv_ok = has(Op::GenerationAttention, &["bfloat16", kv]);
        let (kv_table, kv_table_fallback) = if kv_ok {
            (kv, false)
        } else {
            ("bfloat16", true)
        };
        let mla_module_dims = model.attention.mla.as_ref().is_some_and(|m| {
            m.q_lora_rank == Some(1536)
                && m.kv_lora_rank == 512
                && m.qk_rope_head_dim == 64
                && m.qk_nope_head_dim == 128
                && m.v_head_dim == 128
                && h == 7168
        });
        let mla_gemm_dtype = match quant.gemm {
            GemmQuant::Fp8 | GemmQuant::Fp8Block => "fp8_block",
            GemmQuant::Nvfp4 => "nvfp4",
            _ => "bfloat16",
        };
        let mla_module = mla_module_dims
            && has(
                Op::MlaGenerationModule,
                &[MLA_MODULE_MODEL, "bfloat16", kv_table, mla_gemm_dtype],
            )
            && has(
                Op::MlaContextModule,
                &[MLA_MODULE_MODEL, "bfloat16", kv_table, mla_gemm_dtype],
            );
        // The module tables name the KV cache and projection dtypes their own
        // way; each family's tables measure only its published shapes.
        let keys = |ops: &[Op], models: &[&'static str], gemms: &[&'static str]| {
            module_keys(&has, ops, models, gemms, quant.kv.table_names())
        };
        let fp8 = matches!(quant.gemm, GemmQuant::Fp8 | GemmQuant::Fp8Block);
        let dsv4_module = model
            .compressed
            .as_ref()
            .filter(|_| quant.kv == KvQuant::Fp8)
            .and_then(|_| {
                let models: &[&'static str] = match (h, model.attention.num_heads) {
                    (4096, 64) => &[
                        "sgl-project/DeepSeek-V4-Flash-FP8",
                        "deepseek-ai/DeepSeek-V4-Flash",
                    ],
                    (7168, 128) => &[
                        "deepseek-ai/DeepSeek-V4-Pro",
                        "sgl-project/DeepSeek-V4-Pro-FP8",
                    ],
                    _ => &[],
                };
                let ops = [
                    Op::Dsv4CsaContextModule,
                    Op::Dsv4CsaGenerationModule,
                    Op::Dsv4HcaContextModule,
                    Op::Dsv4HcaGenerationModule,
                ];
                // Measured with 16-bit or block-FP8 projections only.
                let gemms: &[&'static str] = if fp8 {
                    &["fp8_block", "bfloat16"]
                } else {
                    &["bfloat16", "fp8_block"]
                };
                keys(&ops, models, gemms)
            });
        let dsa_module = model
            .indexer
            .as_ref()
            .filter(|ix| ix.kind == IndexerKind::Dsa && model.attention.mla.is_some())
            .and_then(|_| {
                // DeepSeek-V3.2, and the GLM-5 checkpoints (one shape, several
                // names).
                let models: &[&'static str] = match (h, model.attention.num_heads) {
                    (7168, 128) => &["deepseek-ai/DeepSeek-V3.2"],
                    (6144, 64) => &[
                        "zai-org/GLM-5",
                        "zai-org/GLM-5-FP8",
                        "zai-org/GLM-5.2",
                        "zai-org/GLM-5.2-FP8",
                        "nvidia/GLM-5.2-NVFP4",
                    ],
                    _ => &[],
                };
                let gemms: &[&'static str] = match quant.gemm {
                    _ if fp8 => &["fp8_block", "bfloat16"],
                    GemmQuant::Nvfp4 => &["nvfp4", "fp8_block", "bfloat16"],
                    _ => &["bfloat16", "fp8_block"],
                };
                keys(
                    &[Op::DsaContextModule, Op::DsaGenerationModule],
                    models,
                    gemms,
                )
            });
        let msa_module = model
            .indexer
            .as_ref()
            .filter(|ix| ix.kind == IndexerKind::BlockSparse)
            .filter(|_| {
                (h, model.attention.num_heads, model.attention.num_kv_heads) == (6144, 64, 4)
            })
            .and_then(|_| {
                let gemms: &[&'static str] = match quant.gemm {
                    _ if fp8 => &["fp8_block", "bfloat16"],
                    GemmQuant::Nvfp4 => &["nvfp4", "bfloat16"],
                    _ => &["bfloat16"],
                };
                keys(
                    &[Op::MsaContextModule, Op::MsaGenerationModule],
                    &["MiniMaxAI/MiniMax-M3"],
                    gemms,
                )
            });
        Ok(StepModel {
            model,
            system,
            sibling,
            tables,
            par,
            quant,
            eff,
            groups,
            gemm_pick,
            gemm_alt,
            lm_pick,
            moe_pick,
            moe_alt,
            kv_table,
            kv_table_fallback,
            mla_module,
            dsa_module,
            msa_module,
            dsv4_module,
            mla_dtype: "bfloat16",
            mla_gemm_dtype,
            hidden: h,
            vocab_per_gpu: ceil_div(model.vocab_size, tp),
            moe: model.moe.clone(),
            allreduce_gpus: tp,
        })
    }

    /// The layout.
    pub fn parallel(&self) -> Parallel {
        self.par
    }

    /// The quantization.
    pub fn quant(&self) -> QuantConfig {
        self.quant
    }

    /// The model.
    pub fn model(&self) -> &ModelArch {
        self.model
    }

    /// Whether the system has measured tables (its own or a sibling's).
    pub fn has_tables(&self) -> bool {
        self.tables.is_some()
    }

    /// Total kernel time of one step, ms, and its split by source.
    pub(crate) fn step_sum(&self, s: &StepShape) -> SumSink {
        let mut sink = SumSink::default();
        self.run(s, &mut sink);
        sink
    }

    /// Kernel time of one step, ms.
    pub fn step_ms(&self, s: &StepShape) -> f64 {
        self.step_sum(s).ms
    }

    /// Kernel time of one step, ms: (all but the routed experts, the routed
    /// experts).
    pub(crate) fn step_split(&self, s: &StepShape) -> (f64, f64) {
        let k = self.step_sum(s);
        (k.ms - k.experts_ms, k.experts_ms)
    }

    /// The ops of one step.
    pub fn breakdown(&self, s: &StepShape) -> Vec<OpTime> {
        let mut sink = ListSink::default();
        self.run(s, &mut sink);
        sink.0
    }

    /// Rescales a time measured on the sibling GPU to this one.
    fn sibling_scale(&self, t: Timed, roof: impl Fn(&SystemSpec) -> f64) -> Timed {
        match self.sibling {
            None => t,
            Some(sib) => {
                let here = roof(self.system);
                let there = roof(sib);
                if there > 0.0 && here > 0.0 {
                    Timed {
                        ms: t.ms * here / there,
                        source: OpSource::Rescaled,
                        table: t.table,
                    }
                } else {
                    t
                }
            }
        }
    }

    /// A table's time (rescaled where a sibling GPU's tables answered), or
    /// the roofline where no table did.
    fn measured_or_roof(&self, t: Option<Timed>, roof: impl Fn(&SystemSpec) -> f64) -> Timed {
        match t {
            Some(t) => self.sibling_scale(t, roof),
            None => Timed::roof(roof(self.system)),
        }
    }

    fn from_lookup(l: Lookup) -> Timed {
        Timed {
            ms: l.ms,
            source: OpSource::from_table(l.source),
            table: Some(l.source.table()),
        }
    }

    /// A whole-module lookup, unless it is extrapolated: the sparse-attention
    /// module tables are measured on ragged grids (long KV only at small
    /// batches), where extrapolating past them goes wild; the composed path
    /// answers those points instead.
    fn module_lookup(l: Option<Lookup>) -> Option<Timed> {
        l.map(Self::from_lookup)
            .filter(|t| t.source != OpSource::Extrapolated)
    }

    /// A GEMM `[m, k] × [k, n]`.
    fn gemm(&self, pick: Pick, q: GemmQuant, m: u64, n: u64, k: u64) -> Timed {
        if m == 0 || n == 0 || k == 0 {
            return Timed::zero();
        }
        let (mf, nf, kf) = (m as f64, n as f64, k as f64);
        let eff = &self.eff;
        let roof = |sys: &SystemSpec, q: GemmQuant| roofline::gemm_ms(sys, eff, mf, nf, kf, q);
        let t = match (pick, self.tables) {
            (Pick::Exact(d), Some(t)) => t.gemm(d, m, n, k).map(Self::from_lookup),
            (Pick::Kin(d, kq), Some(t)) => t.gemm(d, m, n, k).map(|l| {
                let base = Self::from_lookup(l);
                let sys = self.sibling.unwrap_or(self.system);
                Timed {
                    ms: base.ms * roof(sys, q) / roof(sys, kq).max(1e-9),
                    source: OpSource::Rescaled,
                    table: base.table,
                }
            }),
            _ => None,
        };
        self.measured_or_roof(t, |s| roof(s, q))
    }

    fn dense_gemm(&self, m: u64, n: u64, k: u64) -> Timed {
        let t = self.gemm(self.gemm_pick, self.quant.gemm, m, n, k);
        match self.gemm_alt {
            Some((d, q)) => {
                let alt = self.gemm(Pick::Kin(d, q), self.quant.gemm, m, n, k);
                if alt.ms < t.ms { alt } else { t }
            }
            None => t,
        }
    }

    /// Prefill attention of a GQA/MHA layer.
    #[allow(clippy::too_many_arguments)]
    fn context_attention(
        &self,
        batch: u64,
        new: u64,
        cached: u64,
        hq: u64,
        hkv: u64,
        d: u64,
        dv: u64,
        window: u64,
    ) -> Timed {
        if batch == 0 || new == 0 {
            return Timed::zero();
        }
        let eff = &self.eff;
        let roof = |sys: &SystemSpec| {
            roofline::context_attention_ms(
                sys,
                eff,
                batch as f64,
                new as f64,
                cached as f64,
                hq as f64,
                d as f64,
                dv as f64,
                window as f64,
            )
        };
        let total = cached + new;
        let q = |len: u64, win: u64| AttentionQuery {
            attn_dtype: "bfloat16",
            kv_dtype: self.kv_table,
            batch,
            seq_len: len,
            num_heads: hq,
            num_kv_heads: hkv,
            head_dim: d,
            window: win,
        };
        let lookup = |len: u64| -> Option<Timed> {
            let t = self.tables?;
            if let Some(l) = t.context_attention(&q(len, window)) {
                return Some(Self::from_lookup(l));
            }
            // An unmeasured window: full attention over at most the window.
            if window > 0 {
                let l = t.context_attention(&q(len.min(window), 0))?;
                let scale = if len > window {
                    len as f64 / window as f64
                } else {
                    1.0
                };
                return Some(Timed {
                    ms: l.ms * scale,
                    source: OpSource::Rescaled,
                    table: Some(l.source.table()),
                });
            }
            None
        };
        let t = match lookup(total) {
            Some(full) if cached > 0 => {
                // Chunk on top of a cached prefix: the share of the causal
                // work that the new tokens add.
                let (tf, cf) = (total as f64, cached as f64);
                let share = (tf * tf - cf * cf) / (tf * tf);
                Some(Timed {
                    ms: full.ms * share,
                    source: full.source,
                    table: full.table,
                })
            }
            other => other,
        };
        self.measured_or_roof(t, roof)
    }

    /// One decode step of GQA/MHA attention.
    #[allow(clippy::too_many_arguments)]
    fn generation_attention(
        &self,
        batch: u64,
        kv: u64,
        hq: u64,
        hkv: u64,
        d: u64,
        dv: u64,
        window: u64,
    ) -> Timed {
        if batch == 0 {
            return Timed::zero();
        }
        let eff = &self.eff;
        let kv_bytes = self.quant.kv.bytes() as f64;
        let roof = |sys: &SystemSpec, bytes: f64| {
            roofline::generation_attention_ms(
                sys,
                eff,
                batch as f64,
                kv.max(1) as f64,
                hkv as f64,
                d as f64,
                dv as f64,
                bytes,
                window as f64,
            )
        };
        let q = |win: u64, len: u64| AttentionQuery {
            attn_dtype: "bfloat16",
            kv_dtype: self.kv_table,
            batch,
            seq_len: len.max(1),
            num_heads: hq,
            num_kv_heads: hkv,
            head_dim: d,
            window: win,
        };
        let t = self.tables.and_then(|t| {
            t.generation_attention(&q(window, kv))
                .map(Self::from_lookup)
                .or_else(|| {
                    (window > 0)
                        .then(|| t.generation_attention(&q(0, kv.min(window))))
                        .flatten()
                        .map(|l| Timed {
                            source: OpSource::Rescaled,
                            ..Self::from_lookup(l)
                        })
                })
        });
        let t = t.map(|t| {
            if self.kv_table_fallback && kv_bytes < 2.0 {
                let sys = self.sibling.unwrap_or(self.system);
                Timed {
                    ms: t.ms * roof(sys, kv_bytes) / roof(sys, 2.0),
                    source: OpSource::Rescaled,
                    table: t.table,
                }
            } else {
                t
            }
        });
        self.measured_or_roof(t, |s| roof(s, kv_bytes))
    }

    /// The experts of one MoE layer; `tokens` entering the expert group,
    /// `per_rank` of them from each attention-DP rank.
    fn moe_experts(&self, tokens: u64, per_rank: u64) -> Timed {
        let Some(m) = &self.moe else {
            return Timed::zero();
        };
        if tokens == 0 {
            return Timed::zero();
        }
        if let Some(t) = self.moe_wide(m, tokens, per_rank) {
            let (own, ep) = (expert_shape(m, self.hidden), u64::from(self.par.moe_ep));
            return self.sibling_scale(t, |s| self.moe_roof(s, own, self.quant.moe, tokens, 1, ep));
        }
        let own = expert_shape(m, self.hidden);
        let roof_of = |sys: &SystemSpec, s: MoeShape, q: GemmQuant, tp: u64, ep: u64| {
            self.moe_roof(sys, s, q, tokens, tp, ep)
        };
        let roof = |sys: &SystemSpec, q: GemmQuant, tp: u64, ep: u64| roof_of(sys, own, q, tp, ep);
        let (tp, ep) = (u64::from(self.par.moe_tp), u64::from(self.par.moe_ep));
        let q = self.quant.moe;
        let one = |p: MoeSource, exact: bool, t: &SystemTables| -> Option<Timed> {
            let query = |n: u64, tp: u64, ep: u64| {
                t.moe(&MoeQuery {
                    dtype: p.dtype,
                    num_tokens: n,
                    hidden: p.shape.hidden,
                    inter: p.shape.inter,
                    topk: p.shape.topk,
                    num_experts: p.shape.num_experts,
                    moe_tp: tp,
                    moe_ep: ep,
                })
            };
            // More GPUs sharing the same experts never make one of them
            // slower: a layout's time is at most that of the layouts with
            // half its expert tensor or expert parallelism (a measured
            // point that takes longer is a glitch of the collection:
            // TensorRT-LLM's 16-bit Mixtral-8x22B experts on H200 take
            // 1.09 ms at MoE TP 8 and 16 tokens, 0.30 ms at TP 4).
            let coarser = |l: Lookup| -> Lookup {
                let halves = [
                    (p.moe_tp.is_multiple_of(2) && p.moe_tp > 1)
                        .then_some((p.moe_tp / 2, p.moe_ep)),
                    (p.moe_ep.is_multiple_of(2) && p.moe_ep > 1)
                        .then_some((p.moe_tp, p.moe_ep / 2)),
                ];
                halves
                    .into_iter()
                    .flatten()
                    .filter_map(|(tp, ep)| query(tokens, tp, ep))
                    .fold(l, |best, c| if c.ms < best.ms { c } else { best })
            };
            query(tokens, p.moe_tp, p.moe_ep)
                .map(coarser)
                .map(|l| {
                    // Past the measured token range of a wide EP group, the
                    // last segment's slope (a few tokens per expert, poorly
                    // batched) overstates large prefills: the same work per
                    // GPU (token-expert pairs) measured on a narrower group
                    // with proportionally fewer tokens is the better guide.
                    if !matches!(l.source, super::table::Source::Extrapolated { .. }) {
                        return l;
                    }
                    let mut best = l;
                    let mut f = 2;
                    while f <= p.moe_ep && p.moe_ep.is_multiple_of(f) {
                        if let Some(e) = query(tokens.div_ceil(f), p.moe_tp, p.moe_ep / f)
                            && e.ms < best.ms
                        {
                            best = e;
                        }
                        f *= 2;
                    }
                    best
                })
                .map(|l| {
                    let base = Self::from_lookup(l);
                    if exact {
                        base
                    } else {
                        let sys = self.sibling.unwrap_or(self.system);
                        Timed {
                            ms: base.ms * roof(sys, q, tp, ep)
                                / roof_of(sys, p.shape, p.quant, p.moe_tp, p.moe_ep).max(1e-9),
                            source: OpSource::Rescaled,
                            table: base.table,
                        }
                    }
                })
        };
        let with = |pick: Option<MoePick>| -> Option<Timed> {
            let (p, t) = (pick?, self.tables?);
            let mut times: Vec<Timed> = p.sources().filter_map(|s| one(s, p.exact, t)).collect();
            times.sort_by(|a, b| a.ms.total_cmp(&b.ms));
            // The median; of an even count, the mean of the middle two.
            match *times.as_slice() {
                [a, b] => Some(Timed {
                    ms: 0.5 * (a.ms + b.ms),
                    ..b
                }),
                _ => times.get(times.len() / 2).copied(),
            }
        };
        let t = match (with(self.moe_pick), with(self.moe_alt)) {
            (Some(a), Some(b)) => Some(if b.ms < a.ms { b } else { a }),
            (a, b) => a.or(b),
        };
        self.measured_or_roof(t, |s| roof(s, q, tp, ep))
    }

    /// The roofline of an MoE layer of `shape` in `q` over `tokens` tokens,
    /// experts `tp`-way tensor- and `ep`-way expert-parallel.
    fn moe_roof(
        &self,
        sys: &SystemSpec,
        shape: MoeShape,
        q: GemmQuant,
        tokens: u64,
        tp: u64,
        ep: u64,
    ) -> f64 {
        roofline::moe_ms(
            sys,
            &self.eff,
            tokens as f64,
            shape.hidden as f64,
            shape.inter as f64,
            shape.topk as f64,
            shape.num_experts as f64,
            tp as f64,
            ep as f64,
            self.moe.as_ref().is_some_and(|m| m.gated),
            q,
        )
    }

    /// The experts of a wide expert-parallel layer, from the backend's
    /// DeepEP tables where it has them and the engine runs that path: the
    /// attention-DP ranks exchange tokens all-to-all ([`Self::moe_exchange`])
    /// and the experts are not tensor-parallel. The generic MoE tables time
    /// an EP rank as the fused kernel over every token of the group, which
    /// does not shrink with the group: on GB200 at EP 32 and 2k tokens it
    /// takes 0.44 ms against DeepEP's 0.12 ms (decode), so a wide decode
    /// worker came out ~2× slow. Decode batches (at most DeepEP's
    /// low-latency buffer, 128 tokens per rank) read the low-latency table,
    /// larger ones the normal-mode table. Another shape or format is
    /// rescaled from the measured one by the roofline.
    fn moe_wide(&self, m: &Moe, tokens: u64, per_rank: u64) -> Option<Timed> {
        /// DeepEP's default low-latency dispatch buffer, tokens per rank.
        const LOW_LATENCY_TOKENS: u64 = 128;
        let t = self.tables?;
        if !self.par.wide_expert_parallel(m.top_k) {
            return None;
        }
        let ep = u64::from(self.par.moe_ep);
        let phase = if per_rank <= LOW_LATENCY_TOKENS {
            MoePhase::Generation
        } else {
            MoePhase::Context
        };
        let own = expert_shape(m, self.hidden);
        let q = self.quant.moe;
        let formats = q
            .moe_tables()
            .iter()
            .map(|d| (*d, q))
            .chain(q.moe_kin().iter().copied())
            .chain(std::iter::once(("fp8_block", GemmQuant::Fp8Block)));
        let mut found = None;
        for (dtype, dq) in formats {
            let shapes = t.moe_wide_shapes(phase, dtype, ep);
            let shape = if shapes.contains(&own) {
                Some(own)
            } else {
                shapes.first().copied()
            };
            if let Some(shape) = shape {
                found = Some((dtype, dq, shape));
                break;
            }
        }
        let (dtype, dq, shape) = found?;
        let l = t.moe_wide(
            phase,
            &MoeQuery {
                dtype,
                num_tokens: tokens,
                hidden: shape.hidden,
                inter: shape.inter,
                topk: shape.topk,
                num_experts: shape.num_experts,
                moe_tp: 1,
                moe_ep: ep,
            },
        )?;
        let base = Self::from_lookup(l);
        if shape == own && dq == q {
            return Some(base);
        }
        let sys = self.sibling.unwrap_or(self.system);
        Some(Timed {
            ms: base.ms * self.moe_roof(sys, own, q, tokens, 1, ep)
                / self.moe_roof(sys, shape, dq, tokens, 1, ep).max(1e-9),
            source: OpSource::Rescaled,
            table: base.table,
        })
    }

    /// A collective over `gpus` of `elements` 16-bit elements.
    fn collective(&self, kind: Comm, gpus: u64, elements: u64) -> Timed {
        if gpus <= 1 || elements == 0 {
            return Timed::zero();
        }
        let eff = &self.eff;
        let bytes = elements as f64 * 2.0;
        let roof = |sys: &SystemSpec, g: u64| roofline::comm_ms(sys, eff, kind, g as f64, bytes);
        let lookup = |t: &SystemTables, g: u64| -> Option<Lookup> {
            match kind {
                Comm::AllReduce => t.allreduce("bfloat16", g, elements),
                Comm::AllGather => t.nccl(Collective::AllGather, "half", g, elements),
                Comm::ReduceScatter => t.nccl(Collective::ReduceScatter, "half", g, elements),
                Comm::P2p => None,
            }
        };
        let t = self.tables.and_then(|t| {
            if let Some(l) = lookup(t, gpus) {
                return Some(Self::from_lookup(l));
            }
            // More GPUs than measured: the largest measured count, rescaled.
            let sys = self.sibling.unwrap_or(self.system);
            [64_u64, 32, 16, 8, 4, 2]
                .iter()
                .filter(|g| **g < gpus)
                .find_map(|g| lookup(t, *g).map(|l| (*g, l)))
                .map(|(g, l)| Timed {
                    ms: l.ms * roof(sys, gpus) / roof(sys, g).max(1e-9),
                    source: OpSource::Rescaled,
                    table: Some(l.source.table()),
                })
        });
        self.measured_or_roof(t, |s| roof(s, gpus))
    }

    /// Elements (16-bit equivalents, summed over the attention-DP ranks, the
    /// size of the all-gather / reduce-scatter they are timed as) that the
    /// attention-DP ranks exchange around the experts for `t` tokens per rank:
    /// (dispatch, combine).
    ///
    /// Narrow expert parallelism gathers every rank's tokens on every GPU
    /// (all-gather, then reduce-scatter). When the EP group is wider than the
    /// routing's top-k, the engines switch to all-to-all (TensorRT-LLM's
    /// NVLink/DeepEP all-to-all, DeepEP in SGLang and vLLM): a token travels
    /// only to the GPUs that hold its experts, `(G − 1)·(1 − (1 − 1/G)^k)`
    /// of the `G − 1` others on average, and the dispatch carries the
    /// experts' quantized activations (the combine stays 16-bit).
    fn moe_exchange(&self, m: &Moe, t: u64, dp: u64, h: u64) -> (u64, u64) {
        let gather = t * dp * h;
        if gather == 0 || !self.par.exchanges_all_to_all(m.top_k) {
            return (gather, gather);
        }
        let g = f64::from(self.par.moe_ep);
        let remote = (g - 1.0) * (1.0 - (1.0 - 1.0 / g).powf(m.top_k as f64));
        let share = (remote / (dp as f64 - 1.0).max(1.0)).min(1.0);
        let act = (self.quant.moe.act_bytes() / 2.0).min(1.0);
        let scale = |f: f64| ((gather as f64) * f).round().max(1.0) as u64;
        (scale(share * act), scale(share))
    }

    fn mem(&self, bytes: f64) -> Timed {
        Timed::roof(roofline::mem_ms(self.system, &self.eff, bytes))
    }

    /// Runs the ops of one step into `sink`.
    pub(crate) fn run<S: Sink>(&self, s: &StepShape, sink: &mut S) {
        // Token-linear ops run on `t` tokens (0: skipped); attention on the
        // prefill and decode sequences.
        let t = s.linear_tokens;
        if t == 0 && s.prefill_seqs == 0 && s.decode_seqs == 0 {
            return;
        }
        let h = self.hidden;
        let tp = u64::from(self.par.tp.max(1));
        let dp = u64::from(self.par.dp.max(1));
        let lat = roofline::kernel_latency_ms(self.system);

        if t > 0 {
            sink.add("embedding", 1.0, self.mem(t as f64 * h as f64 * 2.0));
        }
        for g in &self.groups {
            let n = g.count as f64;
            let mut eltwise_bytes = t as f64 * h as f64 * 2.0 * 8.0;
            match g.attn {
                Attn::None => {}
                Attn::Gqa {
                    hq,
                    hkv,
                    d,
                    dv,
                    window,
                    qkv_n,
                    sparse,
                } => {
                    // What the block-sparse tables answer; the rest is composed.
                    let rest = sparse
                        .then(|| self.measured_msa(s, hq, hkv, d))
                        .flatten()
                        .map(|m| m.add_to(sink, n));
                    let s = rest.as_ref().unwrap_or(s);
                    let t = s.linear_tokens;
                    sink.add("attn.qkv_gemm", n, self.dense_gemm(t, qkv_n, h));
                    if s.prefill_seqs > 0 {
                        sink.add(
                            "attn.context",
                            n,
                            self.context_attention(
                                s.prefill_seqs,
                                s.prefill_tokens,
                                s.prefill_cached,
                                hq,
                                hkv,
                                d,
                                dv,
                                window,
                            ),
                        );
                    }
                    if s.decode_seqs > 0 {
                        sink.add(
                            "attn.generation",
                            n,
                            self.generation_attention(
                                s.decode_seqs,
                                s.decode_kv,
                                hq,
                                hkv,
                                d,
                                dv,
                                window,
                            ),
                        );
                    }
                    sink.add("attn.o_gemm", n, self.dense_gemm(t, h, hq * dv));
                    eltwise_bytes += t as f64 * (hq + hkv) as f64 * d as f64 * 4.0;
                }
                Attn::Mla(d) => self.mla(s, sink, n, d),
                Attn::Linear {
                    kh,
                    vh,
                    kd,
                    vd,
                    in_n,
                    kda,
                } => {
                    sink.add("linear_attn.in_gemm", n, self.dense_gemm(t, in_n, h));
                    let (ctx, decode) = self.linear_core(s, (kh, vh, kd, vd), kda);
                    sink.add("linear_attn.context_core", n, ctx);
                    sink.add("linear_attn.generation_core", n, decode);
                    sink.add("linear_attn.out_gemm", n, self.dense_gemm(t, h, vh * vd));
                }
                Attn::Mamba {
                    heads,
                    hd,
                    state,
                    in_n,
                    state_bytes,
                } => {
                    sink.add("mamba.in_gemm", n, self.dense_gemm(t, in_n, h));
                    sink.add(
                        "mamba.core",
                        n,
                        self.mamba_core(s, heads, hd, state, state_bytes),
                    );
                    sink.add("mamba.out_gemm", n, self.dense_gemm(t, h, heads * hd));
                }
                Attn::Compressed { hc, .. } => {
                    self.compressed(s, sink, n, &g.attn);
                    // The residual stream is `hc` hidden sizes wide.
                    eltwise_bytes += t as f64 * h as f64 * 2.0 * 4.0 * hc.saturating_sub(1) as f64;
                }
                Attn::Replaced => sink.add("attn.linear_gemm", n, self.dense_gemm(t, h, h)),
            }
            if !matches!(g.attn, Attn::None) && tp > 1 {
                sink.add(
                    "attn.allreduce",
                    n,
                    self.collective(Comm::AllReduce, self.allreduce_gpus, t * h),
                );
            }
            let (dense, moe_shared) = match g.mlp {
                Mlp::None => (None, None),
                Mlp::Dense { inter, gated } => (Some((inter, gated)), None),
                Mlp::Moe { shared_inter } => (None, Some(shared_inter)),
                Mlp::Both {
                    inter,
                    gated,
                    shared_inter,
                } => (Some((inter, gated)), Some(shared_inter)),
                Mlp::Replaced => {
                    sink.add("mlp.linear_gemm", n, self.dense_gemm(t, h, h));
                    (None, None)
                }
            };
            if let Some((inter, gated)) = dense {
                let up = if gated { 2 * inter } else { inter };
                sink.add("mlp.gate_up_gemm", n, self.dense_gemm(t, up, h));
                sink.add("mlp.down_gemm", n, self.dense_gemm(t, h, inter));
                eltwise_bytes += t as f64 * inter as f64 * 2.0 * 3.0;
            }
            if let Some(shared_inter) = moe_shared
                && let Some(m) = &self.moe
            {
                sink.add(
                    "moe.router_gemm",
                    n,
                    self.gemm(self.lm_pick, GemmQuant::Bf16, t, m.num_experts, h),
                );
                let group = tp * dp;
                let (dispatch_elems, combine_elems) = self.moe_exchange(m, t, dp, h);
                if dp > 1 {
                    sink.add(
                        "moe.dispatch",
                        n,
                        self.collective(Comm::AllGather, group, dispatch_elems),
                    );
                }
                sink.add("moe.experts", n, self.moe_experts(t * dp, t));
                if shared_inter > 0 {
                    let up = if m.gated {
                        2 * shared_inter
                    } else {
                        shared_inter
                    };
                    sink.add("moe.shared_gate_up_gemm", n, self.dense_gemm(t, up, h));
                    sink.add(
                        "moe.shared_down_gemm",
                        n,
                        self.dense_gemm(t, h, shared_inter),
                    );
                }
                if dp > 1 {
                    sink.add(
                        "moe.combine",
                        n,
                        self.collective(Comm::ReduceScatter, group, combine_elems),
                    );
                }
            }
            if !matches!(g.mlp, Mlp::None) && tp > 1 {
                sink.add(
                    "mlp.allreduce",
                    n,
                    self.collective(Comm::AllReduce, self.allreduce_gpus, t * h),
                );
            }
            // Norms, residual adds, rope, activation: memory-bound, plus the
            // fixed cost of their small kernels.
            if t > 0 {
                let mut e = self.mem(eltwise_bytes);
                e.ms += lat;
                sink.add("elementwise", n, e);
            }
        }
        // Final norm and LM head on the sequences that emit a token.
        let logits = s.decode_seqs + s.prefill_seqs;
        if t > 0 {
            sink.add("final_norm", 1.0, self.mem(t as f64 * h as f64 * 4.0));
        }
        sink.add(
            "lm_head",
            1.0,
            self.gemm(self.lm_pick, GemmQuant::Bf16, logits, self.vocab_per_gpu, h),
        );
        if tp > 1 {
            sink.add(
                "logits_gather",
                1.0,
                self.collective(Comm::AllGather, tp, logits * self.vocab_per_gpu * tp * 2),
            );
        }
        let pp = u64::from(self.par.pp.max(1));
        if pp > 1 && t > 0 {
            let bytes = t as f64 * h as f64 * 2.0;
            sink.add(
                "pp.p2p",
                (pp - 1) as f64,
                Timed::roof(roofline::comm_ms(
                    self.system,
                    &self.eff,
                    Comm::P2p,
                    2.0,
                    bytes,
                )),
            );
        }
    }

    /// DeepSeek-V4's attention block: its projections, the compressors of
    /// its KV (and its indexer's keys), the indexer's scoring of the
    /// compressed keys, attention over the window and the kept compressed
    /// entries, and the hyper-connection maps around attention and experts.
    fn compressed<S: Sink>(&self, s: &StepShape, sink: &mut S, n: f64, attn: &Attn) {
        let Attn::Compressed {
            hq,
            d,
            q_lora,
            o_mid,
            o_in,
            ratio,
            window,
            index,
            hc,
        } = *attn
        else {
            return;
        };
        let h = self.hidden;
        let t_all = s.linear_tokens;
        let bf16 = |m: u64, n_: u64, k: u64| self.gemm(self.lm_pick, GemmQuant::Bf16, m, n_, k);
        use crate::catalog::model::CompressedAttention;
        let keys = |ratio: u64, context: u64, topk: Option<u64>| {
            CompressedAttention::keys(window, ratio, context, topk)
        };
        let topk = index.map(|(_, _, k)| k);
        // Hyper-connections at the two sites of the layer (attention and
        // experts): the measured pre and post kernels where the tables have
        // this width (they measure 4 streams), else their mixing GEMM.
        let hc_mix = |sink: &mut S| {
            if hc <= 1 || t_all == 0 {
                return;
            }
            let measured = self.tables.filter(|_| hc == 4).and_then(|tables| {
                let pre = Self::module_lookup(tables.mhc("pre", h, t_all))?;
                let post = Self::module_lookup(tables.mhc("post", h, t_all))?;
                Some(Timed {
                    ms: pre.ms + post.ms,
                    source: pre.source.max(post.source),
                    table: pre.table,
                })
            });
            match measured {
                Some(t) => sink.add("hc.pre_post", 2.0 * n, t),
                None => sink.add("hc.mix_gemm", 2.0 * n, bf16(t_all, (2 + hc) * hc, hc * h)),
            }
        };
        // What the module tables answer; the rest is composed.
        let rest = self
            .measured_dsv4(s, hq, d, ratio, keys(ratio, s.decode_kv, topk))
            .map(|m| m.add_to(sink, n));
        if rest.as_ref().is_some_and(StepShape::is_empty) {
            hc_mix(sink);
            return;
        }
        let s = rest.as_ref().unwrap_or(s);
        let t = s.linear_tokens;
        let overlap = CompressedAttention::overlap(ratio);
        sink.add("attn.q_a_gemm", n, self.dense_gemm(t, q_lora, h));
        sink.add("attn.q_b_gemm", n, self.dense_gemm(t, hq * d, q_lora));
        sink.add("attn.kv_gemm", n, self.dense_gemm(t, d, h));
        if ratio > 0 {
            sink.add("attn.compressor_gemm", n, bf16(t, 2 * overlap * d, h));
        }
        if let Some((ih, id, _)) = index {
            sink.add("indexer.q_gemm", n, self.dense_gemm(t, ih * id, q_lora));
            sink.add("indexer.w_gemm", n, bf16(t, ih, h));
            sink.add("indexer.compressor_gemm", n, bf16(t, 2 * overlap * id, h));
        }
        if s.prefill_seqs > 0 {
            let total = s.prefill_cached + s.prefill_tokens;
            if let Some((ih, id, _)) = index {
                let scored = (total / ratio.max(1)).max(1);
                sink.add(
                    "indexer.context",
                    n,
                    self.context_attention(
                        s.prefill_seqs,
                        s.prefill_tokens,
                        s.prefill_cached,
                        ih,
                        1,
                        id,
                        id,
                        scored,
                    ),
                );
            }
            sink.add(
                "attn.context",
                n,
                self.context_attention(
                    s.prefill_seqs,
                    s.prefill_tokens,
                    s.prefill_cached,
                    hq,
                    1,
                    d,
                    d,
                    keys(ratio, total, topk).max(1),
                ),
            );
        }
        if s.decode_seqs > 0 {
            if let Some((ih, id, _)) = index {
                let scored = (s.decode_kv / ratio.max(1)).max(1);
                sink.add(
                    "indexer.generation",
                    n,
                    self.generation_attention(s.decode_seqs, scored, ih, 1, id, id, 0),
                );
            }
            sink.add(
                "attn.generation",
                n,
                self.generation_attention(
                    s.decode_seqs,
                    keys(ratio, s.decode_kv, topk).max(1),
                    hq,
                    1,
                    d,
                    d,
                    0,
                ),
            );
        }
        sink.add("attn.o_a_gemm", n, self.dense_gemm(t, o_mid, o_in));
        sink.add("attn.o_b_gemm", n, self.dense_gemm(t, h, o_mid));
        hc_mix(sink);
    }

    /// The measured attention block of a layer (`ops`: the context and
    /// generation module tables, `keys`: model, KV and projection dtypes;
    /// `names`: the breakdown's names of the two parts) at `heads` heads per
    /// GPU, for the parts of `s` (prefill, decode) the tables answer without
    /// extrapolating, and the rest of `s` for the composed path.
    /// `ctx_roof`/`gen_roof` rescale a sibling system's tables.
    #[allow(clippy::too_many_arguments)]
    fn measured_module(
        &self,
        s: &StepShape,
        keys: Option<[&'static str; 3]>,
        (ctx_op, gen_op): (Op, Op),
        (ctx_name, gen_name): (&'static str, &'static str),
        heads: u64,
        ctx_roof: impl Fn(&SystemSpec) -> f64,
        gen_roof: impl Fn(&SystemSpec) -> f64,
    ) -> Option<Measured> {
        let keys = keys?;
        let tables = self.tables?;
        let prefill = (s.prefill_seqs > 0)
            .then(|| {
                let total = s.prefill_cached + s.prefill_tokens;
                let lookup = tables.sparse_module(ctx_op, keys, heads, total, s.prefill_seqs);
                Self::module_lookup(lookup).map(|full| {
                    let t = Self::chunk_share(full, s);
                    (ctx_name, self.sibling_scale(t, &ctx_roof))
                })
            })
            .flatten();
        let decode = (s.decode_seqs > 0)
            .then(|| {
                let lookup =
                    tables.sparse_module(gen_op, keys, heads, s.decode_kv.max(1), s.decode_seqs);
                Self::module_lookup(lookup).map(|t| (gen_name, self.sibling_scale(t, &gen_roof)))
            })
            .flatten();
        Measured::of(s, prefill, decode)
    }

    /// A whole-module prefill time at `total` context tokens, scaled to the
    /// new tokens of `s` on top of its cached prefix: the projections scale
    /// with the new tokens, attention with the causal share; split evenly.
    fn chunk_share(full: Timed, s: &StepShape) -> Timed {
        let tf = (s.prefill_cached + s.prefill_tokens) as f64;
        let cf = s.prefill_cached as f64;
        let share = 0.5 * (s.prefill_tokens as f64 / tf) + 0.5 * (tf * tf - cf * cf) / (tf * tf);
        Timed {
            ms: full.ms * share,
            ..full
        }
    }

    /// The measured attention block (GQA with its block indexer) of a
    /// MiniMax-M3 block-sparse layer; see [`StepModel::measured_module`].
    fn measured_msa(&self, s: &StepShape, hq: u64, hkv: u64, d: u64) -> Option<Measured> {
        self.measured_attention_module(
            s,
            self.msa_module,
            (Op::MsaContextModule, Op::MsaGenerationModule),
            (
                "attn.sparse_context_module",
                "attn.sparse_generation_module",
            ),
            (hq, hkv, d),
            s.decode_kv,
        )
    }

    /// [`StepModel::measured_module`] for a block of `hq` query and `hkv`
    /// key/value heads of width `d`, decode attending to `decode_keys` keys
    /// per query: sibling systems' tables are rescaled by the roofline of
    /// that attention core.
    fn measured_attention_module(
        &self,
        s: &StepShape,
        keys: Option<[&'static str; 3]>,
        ops: (Op, Op),
        names: (&'static str, &'static str),
        (hq, hkv, d): (u64, u64, u64),
        decode_keys: u64,
    ) -> Option<Measured> {
        let eff = &self.eff;
        let kv_bytes = self.quant.kv.bytes() as f64;
        self.measured_module(
            s,
            keys,
            ops,
            names,
            hq,
            |sys| {
                roofline::context_attention_ms(
                    sys,
                    eff,
                    s.prefill_seqs as f64,
                    s.prefill_tokens as f64,
                    s.prefill_cached as f64,
                    hq as f64,
                    d as f64,
                    d as f64,
                    0.0,
                )
            },
            |sys| {
                roofline::generation_attention_ms(
                    sys,
                    eff,
                    s.decode_seqs as f64,
                    decode_keys.max(1) as f64,
                    hkv as f64,
                    d as f64,
                    d as f64,
                    kv_bytes,
                    0.0,
                )
            },
        )
    }

    /// The measured attention block of a DeepSeek-V4 layer of compress
    /// `ratio` (4 or 128; the window-only layers have no table), decode
    /// attending to `decode_keys` keys per query; see
    /// [`StepModel::measured_module`].
    fn measured_dsv4(
        &self,
        s: &StepShape,
        hq: u64,
        d: u64,
        ratio: u64,
        decode_keys: u64,
    ) -> Option<Measured> {
        let ops = match ratio {
            4 => (Op::Dsv4CsaContextModule, Op::Dsv4CsaGenerationModule),
            128 => (Op::Dsv4HcaContextModule, Op::Dsv4HcaGenerationModule),
            _ => return None,
        };
        self.measured_attention_module(
            s,
            self.dsv4_module,
            ops,
            (
                "attn.compressed_context_module",
                "attn.compressed_generation_module",
            ),
            (hq, 1, d),
            decode_keys,
        )
    }

    /// Roofline of MLA's context attention core: `b` prompts of `new` tokens
    /// after `cached` ones.
    fn mla_ctx_roof(&self, sys: &SystemSpec, d: MlaDims, b: u64, new: u64, cached: u64) -> f64 {
        roofline::context_attention_ms(
            sys,
            &self.eff,
            b as f64,
            new as f64,
            cached as f64,
            d.heads as f64,
            (d.nope + d.rope) as f64,
            d.v as f64,
            0.0,
        )
    }

    /// Roofline of MLA's absorbed decode: `b` sequences at KV length `kv`.
    fn mla_gen_roof(&self, sys: &SystemSpec, d: MlaDims, b: u64, kv: u64) -> f64 {
        let eff = &self.eff;
        roofline::generation_attention_ms(
            sys,
            eff,
            b as f64,
            kv.max(1) as f64,
            1.0,
            (d.kv_lora + d.rope) as f64,
            0.0,
            self.quant.kv.bytes() as f64,
            0.0,
        ) + roofline::gemm_ms(
            sys,
            eff,
            (b * d.heads) as f64,
            kv.max(1) as f64,
            (d.kv_lora + d.rope) as f64,
            GemmQuant::Bf16,
        ) * 2.0
    }

    /// Multi-head latent attention of one layer.
    fn mla<S: Sink>(&self, s: &StepShape, sink: &mut S, n: f64, d: MlaDims) {
        let heads = d.heads;
        // What the sparse-attention tables answer; the rest is composed.
        let rest = self
            .measured_module(
                s,
                self.dsa_module,
                (Op::DsaContextModule, Op::DsaGenerationModule),
                ("dsa.context_module", "dsa.generation_module"),
                heads,
                |sy| self.mla_ctx_roof(sy, d, s.prefill_seqs, s.prefill_tokens, s.prefill_cached),
                |sy| self.mla_gen_roof(sy, d, s.decode_seqs, s.decode_kv),
            )
            .map(|m| m.add_to(sink, n));
        if rest.as_ref().is_some_and(StepShape::is_empty) {
            return;
        }
        let s = rest.as_ref().unwrap_or(s);
        if self.mla_module
            && let Some(tables) = self.tables
        {
            let q = |len: u64, batch: u64| MlaQuery {
                mla_dtype: self.mla_dtype,
                kv_dtype: self.kv_table,
                num_heads: heads,
                seq_len: len.max(1),
                batch,
            };
            if s.prefill_seqs > 0 {
                let total = s.prefill_cached + s.prefill_tokens;
                let l = tables.mla_context_module(
                    MLA_MODULE_MODEL,
                    self.mla_gemm_dtype,
                    &q(total, s.prefill_seqs),
                );
                let t = self.measured_or_roof(
                    l.map(|l| Self::chunk_share(Self::from_lookup(l), s)),
                    |sy| {
                        self.mla_ctx_roof(sy, d, s.prefill_seqs, s.prefill_tokens, s.prefill_cached)
                    },
                );
                sink.add("mla.context_module", n, t);
            }
            if s.decode_seqs > 0 {
                let l = tables.mla_generation_module(
                    MLA_MODULE_MODEL,
                    self.mla_gemm_dtype,
                    &q(s.decode_kv, s.decode_seqs),
                );
                let t = self.measured_or_roof(l.map(Self::from_lookup), |sy| {
                    self.mla_gen_roof(sy, d, s.decode_seqs, s.decode_kv)
                });
                // The module tables were measured eagerly, and on the slower
                // hosts their small batches time the kernel launches (vLLM's
                // floor is 41 µs per layer on B200 against 79–88 µs on B300,
                // GB200, GB300 and H200, whose kernels are no slower). Decode
                // runs as a CUDA graph, without those gaps: the sum of the
                // module's kernels, each timed alone, bounds it from above.
                let alone = StepShape {
                    decode_seqs: s.decode_seqs,
                    decode_kv: s.decode_kv,
                    linear_tokens: s.decode_seqs,
                    ..StepShape::default()
                };
                let mut kernels = SumSink::default();
                self.mla_composed(&alone, &mut kernels, 1.0, d);
                let t = if kernels.ms > 0.0 && kernels.ms < t.ms {
                    Timed {
                        ms: kernels.ms,
                        ..t
                    }
                } else {
                    t
                };
                sink.add("mla.generation_module", n, t);
            }
            return;
        }
        self.mla_composed(s, sink, n, d);
    }

    /// MLA composed from its kernels: projections, attention core, absorbed
    /// BMMs.
    fn mla_composed<S: Sink>(&self, s: &StepShape, sink: &mut S, n: f64, d: MlaDims) {
        let MlaDims {
            heads,
            q_lora,
            kv_lora,
            rope,
            nope,
            v,
        } = d;
        let h = self.hidden;
        let eff = &self.eff;
        let sys = self.system;
        let t = s.linear_tokens;
        let prefill_tokens = s.prefill_seqs * s.prefill_tokens;
        match q_lora {
            Some(r) => {
                sink.add("mla.q_a_gemm", n, self.dense_gemm(t, r, h));
                sink.add(
                    "mla.q_b_gemm",
                    n,
                    self.dense_gemm(t, heads * (nope + rope), r),
                );
            }
            None => sink.add(
                "mla.q_gemm",
                n,
                self.dense_gemm(t, heads * (nope + rope), h),
            ),
        }
        sink.add("mla.kv_a_gemm", n, self.dense_gemm(t, kv_lora + rope, h));
        if s.prefill_seqs > 0 {
            sink.add(
                "mla.kv_b_gemm",
                n,
                self.dense_gemm(prefill_tokens, heads * (nope + v), kv_lora),
            );
            let total = s.prefill_cached + s.prefill_tokens;
            let l = self.tables.and_then(|tb| {
                tb.mla_context(&MlaQuery {
                    mla_dtype: self.mla_dtype,
                    kv_dtype: self.kv_table,
                    num_heads: heads,
                    seq_len: total,
                    batch: s.prefill_seqs,
                })
            });
            let core = match l {
                Some(l) => {
                    let full = Self::from_lookup(l);
                    let (tf, cf) = (total as f64, s.prefill_cached as f64);
                    self.sibling_scale(
                        Timed {
                            ms: full.ms * (tf * tf - cf * cf) / (tf * tf),
                            ..full
                        },
                        |sy| {
                            self.mla_ctx_roof(
                                sy,
                                d,
                                s.prefill_seqs,
                                s.prefill_tokens,
                                s.prefill_cached,
                            )
                        },
                    )
                }
                None => Timed::roof(self.mla_ctx_roof(
                    sys,
                    d,
                    s.prefill_seqs,
                    s.prefill_tokens,
                    s.prefill_cached,
                )),
            };
            sink.add("mla.context", n, core);
        }
        if s.decode_seqs > 0 {
            let b = s.decode_seqs;
            for (name, stage) in [
                ("mla.bmm_pre", MlaBmmStage::Pre),
                ("mla.bmm_post", MlaBmmStage::Post),
            ] {
                let l = self
                    .tables
                    .and_then(|tb| tb.mla_bmm(stage, "bfloat16", heads, b));
                let bmm_roof = |sy: &SystemSpec| {
                    roofline::gemm_ms(
                        sy,
                        eff,
                        b as f64,
                        kv_lora as f64,
                        nope.max(v) as f64 * heads as f64,
                        GemmQuant::Bf16,
                    )
                };
                let t = self.measured_or_roof(l.map(Self::from_lookup), bmm_roof);
                sink.add(name, n, t);
            }
            let l = self.tables.and_then(|tb| {
                tb.mla_generation(&MlaQuery {
                    mla_dtype: self.mla_dtype,
                    kv_dtype: self.kv_table,
                    num_heads: heads,
                    seq_len: s.decode_kv.max(1),
                    batch: b,
                })
            });
            let t = self.measured_or_roof(l.map(Self::from_lookup), |sy| {
                self.mla_gen_roof(sy, d, b, s.decode_kv)
            });
            sink.add("mla.generation", n, t);
        }
        sink.add("mla.o_gemm", n, self.dense_gemm(t, h, heads * v));
    }

    /// The core of a linear-attention layer (short convolution and the
    /// chunked or recurrent delta rule), prefill and decode parts: the
    /// measured GDN or KDA kernels where the tables hold them (head width
    /// 128; Kimi delta attention without its own tables takes GDN's as a
    /// kin, `rescaled`), else the roofline.
    fn linear_core(
        &self,
        s: &StepShape,
        (kh, vh, kd, vd): (u64, u64, u64, u64),
        kda: bool,
    ) -> (Timed, Timed) {
        let eff = &self.eff;
        let bf16 = [crate::catalog::system::TensorDtype::Bf16];
        let roof_ctx = |sys: &SystemSpec| {
            let tokens = (s.prefill_seqs * s.prefill_tokens) as f64;
            let flops =
                tokens * vh as f64 * (6.0 * kd as f64 * vd as f64 + 128.0 * (kd + vd) as f64);
            flops / (roofline::peak_flops(sys, &bf16) * eff.attention) * 1000.0
                + roofline::kernel_latency_ms(sys) * 4.0
        };
        let roof_gen = |sys: &SystemSpec| {
            let bytes = s.decode_seqs as f64 * vh as f64 * kd as f64 * vd as f64 * 4.0 * 2.0;
            roofline::mem_ms(sys, eff, bytes) + roofline::kernel_latency_ms(sys) * 2.0
        };
        // The kernels of one part (the convolution, then the core), summed,
        // unless a lookup extrapolates.
        let tables = self.tables.filter(|_| kd == 128 && vd == 128);
        let sum = |op: Op, kernels: &[&[&str]; 2], seq_len: u64, batch: u64| -> Option<Timed> {
            let tables = tables?;
            let mut ms = 0.0;
            let mut source = OpSource::Measured;
            for names in kernels.iter().filter(|n| !n.is_empty()) {
                let t = names.iter().find_map(|k| {
                    let l = tables.linear_kernel(op, k, kh.max(1), vh.max(1), seq_len, batch);
                    Self::module_lookup(l)
                })?;
                ms += t.ms;
                source = source.max(t.source);
            }
            Some(Timed {
                ms,
                source,
                table: Some(op),
            })
        };
        // KDA's own kernels, else GDN's (as a kin for KDA).
        // KDA's own kernels (the first set its tables hold), else GDN's.
        let measured = |kda_sets: &[[&[&str]; 2]], gdn_kernels: &[&[&str]; 2], seq_len, batch| {
            kda.then(|| {
                kda_sets
                    .iter()
                    .find_map(|set| sum(Op::Kda, set, seq_len, batch))
            })
            .flatten()
            .or_else(|| {
                sum(Op::Gdn, gdn_kernels, seq_len, batch).map(|t| Timed {
                    source: if kda { OpSource::Rescaled } else { t.source },
                    ..t
                })
            })
        };
        let ctx = if s.prefill_seqs > 0 && s.prefill_tokens > 0 {
            let ctx = measured(
                &[[&["causal_conv1d_fn_qkv3"], &["chunk_kda", "flashkda_fwd"]]],
                &[
                    &["causal_conv1d_fn"],
                    &[
                        "chunk_gated_delta_rule",
                        "chunk_gated_delta_rule_flashinfer",
                    ],
                ],
                s.prefill_tokens,
                s.prefill_seqs,
            );
            self.measured_or_roof(ctx, roof_ctx)
        } else {
            Timed::zero()
        };
        let decode = if s.decode_seqs > 0 {
            let step = measured(
                &[
                    [
                        &["causal_conv1d_update"],
                        &["fused_recurrent_kda_packed_decode", "fused_recurrent_kda"],
                    ],
                    // SGLang's decode kernel fuses the convolution.
                    [&[], &["kda_fused_decode", "fused_kda_decode"]],
                ],
                &[
                    &["causal_conv1d_update"],
                    &[
                        "fused_recurrent_gated_delta_rule_packed_decode",
                        "fused_recurrent_gated_delta_rule",
                    ],
                ],
                1,
                s.decode_seqs,
            );
            self.measured_or_roof(step, roof_gen)
        } else {
            Timed::zero()
        };
        (ctx, decode)
    }

    /// Mamba-2 core (no table: roofline).
    fn mamba_core(
        &self,
        s: &StepShape,
        heads: u64,
        hd: u64,
        state: u64,
        state_bytes: u64,
    ) -> Timed {
        let eff = &self.eff;
        let sys = self.system;
        let mut ms = 0.0;
        let prefill = (s.prefill_seqs * s.prefill_tokens) as f64;
        if prefill > 0.0 {
            let flops = prefill * heads as f64 * hd as f64 * state as f64 * 8.0;
            ms += flops
                / (roofline::peak_flops(sys, &[crate::catalog::system::TensorDtype::Bf16])
                    * eff.attention)
                * 1000.0
                + roofline::kernel_latency_ms(sys) * 4.0;
        }
        if s.decode_seqs > 0 {
            let bytes = s.decode_seqs as f64
                * heads as f64
                * hd as f64
                * state as f64
                * state_bytes as f64
                * 2.0;
            ms += roofline::mem_ms(sys, eff, bytes) + roofline::kernel_latency_ms(sys) * 2.0;
        }
        Timed::roof(ms)
    }
}

/// The expert shape of a model's MoE layers, as the tables key it (experts
/// that work in a latent space have its width as their hidden size).
fn expert_shape(m: &Moe, hidden: u64) -> MoeShape {
    MoeShape {
        num_experts: m.num_experts,
        topk: m.top_k,
        hidden: m.latent_size.unwrap_or(hidden),
        inter: m.expert_intermediate_size,
    }
}

/// Finds the MoE table slices: the model's expert shape in its format at its
/// layout, else at the nearest measured layout, else in kin formats; where no
/// format measured the shape, the nearest measured shapes (see [`MoePick`]).
fn find_moe_pick(
    t: &SystemTables,
    m: &Moe,
    q: GemmQuant,
    par: Parallel,
    hidden: u64,
) -> Option<MoePick> {
    let (tp, ep) = (u64::from(par.moe_tp.max(1)), u64::from(par.moe_ep.max(1)));
    let own = expert_shape(m, hidden);
    let mut layouts = vec![(tp, ep)];
    // Nearest measured layouts: halve the larger factor, then move EP to TP.
    let (mut a, mut b) = (tp, ep);
    for _ in 0..8 {
        if b >= a && b > 1 {
            b /= 2;
        } else if a > 1 {
            a /= 2;
        }
        layouts.push((a, b));
    }
    layouts.push((1, tp * ep));
    layouts.push((tp * ep, 1));
    let source = |dtype, quant, (moe_tp, moe_ep), shape| MoeSource {
        dtype,
        quant,
        moe_tp,
        moe_ep,
        shape,
    };
    let first_layout = |dtype: &str, shape: MoeShape| {
        layouts
            .iter()
            .position(|&(lt, le)| t.moe_has_shape(dtype, lt, le, shape))
    };
    // The model's own format and expert shape, measured: at its layout (exact),
    // else at the nearest measured layout (rescaled).
    for &dtype in q.moe_tables() {
        if let Some(i) = first_layout(dtype, own)
            && let Some(&layout) = layouts.get(i)
        {
            return Some(MoePick {
                sources: [Some(source(dtype, q, layout, own)), None, None],
                exact: i == 0,
                own_shape: true,
            });
        }
    }
    // Its shape measured in kin formats: each rescaled, the median answers.
    let mut sources = [None; 3];
    let kin = q.moe_kin().iter().filter_map(|&(dtype, kq)| {
        let layout = *layouts.get(first_layout(dtype, own)?)?;
        Some(source(dtype, kq, layout, own))
    });
    for (slot, s) in sources.iter_mut().zip(kin) {
        *slot = Some(s);
    }
    if sources.iter().any(Option::is_some) {
        return Some(MoePick {
            sources,
            exact: false,
            own_shape: true,
        });
    }
    // No table measured this shape: the nearest measured shapes of the
    // nearest format and layout, each rescaled. Interpolating between other
    // models' shapes coordinate by coordinate would mix kernels of unrelated
    // sizes (a 384-expert layer between a 128- and an 896-expert one, each
    // extrapolated in width). Near is the summed log ratio of expert count,
    // top-k, hidden and intermediate size: kernel time depends on each (the
    // experts per GPU, not only the bytes they hold).
    let log_ratio = |a: u64, b: u64| (a.max(1) as f64 / b.max(1) as f64).ln().abs();
    let distance = |s: &MoeShape| {
        log_ratio(s.num_experts, own.num_experts)
            + log_ratio(s.topk, own.topk)
            + log_ratio(s.hidden, own.hidden)
            + log_ratio(s.inter, own.inter)
    };
    let dtypes = q
        .moe_tables()
        .iter()
        .map(|d| (*d, q))
        .chain(q.moe_kin().iter().copied());
    for (dtype, kq) in dtypes {
        for &layout in &layouts {
            let mut near = t.moe_shapes(dtype, layout.0, layout.1);
            if near.is_empty() {
                continue;
            }
            // Stable: equally near shapes keep the tables' order.
            near.sort_by(|x, y| distance(x).total_cmp(&distance(y)));
            // The shapes about as near as the nearest (within a ~28% size
            // difference in one dimension) stand in together.
            let band = near.first().map_or(0.0, distance) + 0.25;
            let within = near.into_iter().filter(|s| distance(s) <= band);
            for (slot, shape) in sources.iter_mut().zip(within) {
                *slot = Some(source(dtype, kq, layout, shape));
            }
            return Some(MoePick {
                sources,
                exact: false,
                own_shape: false,
            });
        }
    }
    None
}

/// Groups the layers by (attention kind, MLP kind) with per-GPU shapes.
fn layer_groups(model: &ModelArch, tp: u64) -> Result<Vec<Group>, PerfError> {
    let a = &model.attention;
    let mut groups: Vec<Group> = Vec::new();
    let attn_codes: Vec<char> = model.layers.attention.chars().collect();
    let mlp_codes: Vec<char> = model.layers.mlp.chars().collect();
    let layers = attn_codes.len().max(mlp_codes.len());
    if layers == 0 {
        return Err(PerfError::Unsupported(format!(
            "model {} has no decoder layers to time",
            model.id
        )));
    }
    for i in 0..layers {
        let ac = attn_codes.get(i).copied().unwrap_or('-');
        let mc = mlp_codes.get(i).copied().unwrap_or('-');
        let block_sparse = |i: usize| {
            model.indexer.as_ref().is_some_and(|ix| {
                ix.kind == IndexerKind::BlockSparse && ix.layers.chars().nth(i) == Some('I')
            })
        };
        let gqa = |att: &crate::catalog::model::Attention, kv_heads: u64, window: u64| {
            let hq = ceil_div(att.num_heads, tp);
            let hkv = ceil_div(kv_heads, tp).max(1);
            let qmul = match att.output_gate {
                crate::catalog::model::OutputGate::Elementwise => 2,
                _ => 1,
            };
            let v_n = if att.k_eq_v { 0 } else { hkv * att.v_head_dim };
            Attn::Gqa {
                hq,
                hkv,
                d: att.head_dim,
                dv: att.v_head_dim,
                window,
                qkv_n: hq * att.head_dim * qmul + hkv * att.head_dim + v_n,
                sparse: block_sparse(i),
            }
        };
        let attn = match ac {
            'F' => match &a.mla {
                Some(m) => Attn::Mla(MlaDims {
                    heads: ceil_div(a.num_heads, tp),
                    q_lora: m.q_lora_rank,
                    kv_lora: m.kv_lora_rank,
                    rope: m.qk_rope_head_dim,
                    nope: m.qk_nope_head_dim,
                    v: m.v_head_dim,
                }),
                None => {
                    let kv = model
                        .per_layer
                        .as_ref()
                        .and_then(|p| p.num_kv_heads.get(i).copied())
                        .unwrap_or(a.num_kv_heads);
                    if kv == 0 {
                        Attn::Replaced
                    } else {
                        gqa(a, kv, 0)
                    }
                }
            },
            'S' | 'C' => match &model.sliding_window {
                Some(sw) => gqa(&sw.attention, sw.attention.num_kv_heads, sw.window),
                None => gqa(a, a.num_kv_heads, 0),
            },
            'L' => match &model.linear_attention {
                Some(l) => {
                    let (kh, vh) = (
                        ceil_div(l.num_key_heads, tp),
                        ceil_div(l.num_value_heads, tp),
                    );
                    let (kd, vd) = (l.key_head_dim, l.value_head_dim);
                    // q, k, v and beta, then the gates: GDN's z and per-head
                    // decay, KDA's per-channel g and f (full rank; a rank-r
                    // bottleneck counts as its second, wide half).
                    let gates = match l.kda {
                        None => vh * vd + vh,
                        Some(_) => 2 * vh * vd,
                    };
                    Attn::Linear {
                        kh,
                        vh,
                        kd,
                        vd,
                        in_n: 2 * kh * kd + vh * vd + vh + gates,
                        kda: l.kda.is_some(),
                    }
                }
                None => Attn::None,
            },
            'M' => match &model.mamba {
                Some(m) => {
                    let heads = ceil_div(m.num_heads, tp);
                    let inner = heads * m.head_dim;
                    Attn::Mamba {
                        heads,
                        hd: m.head_dim,
                        state: m.state_size,
                        in_n: 2 * inner + 2 * m.n_groups * m.state_size + heads,
                        state_bytes: m.ssm_state_dtype.bytes(),
                    }
                }
                None => Attn::None,
            },
            'X' => Attn::Replaced,
            'K' => match &model.compressed {
                Some(k) => {
                    let ratio = k.ratio(i);
                    let groups = ceil_div(k.o_groups, tp);
                    let hq = ceil_div(a.num_heads, tp);
                    let index = model
                        .indexer
                        .as_ref()
                        .filter(|ix| ix.layers.chars().nth(i) == Some('I'))
                        .map(|ix| (ix.num_heads, ix.head_dim, ix.topk));
                    Attn::Compressed {
                        hq,
                        d: a.head_dim,
                        q_lora: k.q_lora_rank,
                        o_mid: groups * k.o_lora_rank,
                        o_in: hq * a.head_dim / groups.max(1),
                        ratio,
                        window: k.window,
                        index,
                        hc: k.hc_mult,
                    }
                }
                None => Attn::None,
            },
            _ => Attn::None,
        };
        let dense = |inter: u64| -> (u64, bool) {
            let gated = model.mlp.as_ref().is_none_or(|m| m.gated);
            (ceil_div(inter, tp), gated)
        };
        let inter_i = model
            .per_layer
            .as_ref()
            .and_then(|p| p.intermediate_size.get(i).copied())
            .or(model.mlp.as_ref().map(|m| m.intermediate_size))
            .unwrap_or(0);
        let shared = model
            .moe
            .as_ref()
            .map_or(0, |m| ceil_div(m.shared_intermediate_size, tp));
        let mlp = match mc {
            'D' if inter_i > 0 => {
                let (inter, gated) = dense(inter_i);
                Mlp::Dense { inter, gated }
            }
            'E' if model.moe.is_some() => Mlp::Moe {
                shared_inter: shared,
            },
            'B' if model.moe.is_some() => {
                let (inter, gated) = dense(inter_i);
                Mlp::Both {
                    inter,
                    gated,
                    shared_inter: shared,
                }
            }
            'X' => Mlp::Replaced,
            _ => Mlp::None,
        };
        match groups.iter_mut().find(|g| g.attn == attn && g.mlp == mlp) {
            Some(g) => g.count += 1,
            None => groups.push(Group {
                count: 1,
                attn,
                mlp,
            }),
        }
    }
    Ok(groups)
}
