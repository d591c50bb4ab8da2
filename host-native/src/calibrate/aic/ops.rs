//! How the Parquet columns of each AI Configurator table map onto the core's
//! distilled tables ([`Op::categories`], [`Op::dims`]), and which rows are
//! left out.

use super::frame::{Col, Frame};
use dgdr_core::perf::table::Op;

/// Where an op's table lives under `<system>/`.
pub(crate) struct Source {
    pub family: &'static str,
    pub file: &'static str,
    /// `Some("nccl")`: the table sits under that directory instead of the
    /// backend's, with its own versions.
    pub fixed_backend: Option<&'static str>,
    /// Where neither the current version nor an older one has the table, a
    /// newer one may serve it: single-op drops for new models land in the
    /// next version first (`query_versions.yaml`). Only for ops no older
    /// version has, so the tables of every other op stay those of the current
    /// version.
    pub allow_next: bool,
}

pub(crate) fn source(op: Op) -> Source {
    let s = |family, file| Source {
        family,
        file,
        fixed_backend: None,
        allow_next: false,
    };
    // Tables of new models' ops, which may come from the next version.
    let next_ok = |family, file| Source {
        allow_next: true,
        ..s(family, file)
    };
    match op {
        Op::Gemm => s("gemm", "gemm_perf.parquet"),
        Op::ContextAttention => s("attention", "context_attention_perf.parquet"),
        Op::GenerationAttention => s("attention", "generation_attention_perf.parquet"),
        Op::ContextMla => s("mla", "context_mla_perf.parquet"),
        Op::GenerationMla => s("mla", "generation_mla_perf.parquet"),
        Op::MlaContextModule => s("mla", "mla_context_module_perf.parquet"),
        Op::MlaGenerationModule => s("mla", "mla_generation_module_perf.parquet"),
        Op::MlaBmm => s("mla_bmm", "mla_bmm_perf.parquet"),
        Op::Moe => s("moe", "moe_perf.parquet"),
        Op::MoeWideContext => s("moe", "wideep_context_moe_perf.parquet"),
        Op::MoeWideGeneration => s("moe", "wideep_generation_moe_perf.parquet"),
        Op::CustomAllreduce => s("comm", "custom_allreduce_perf.parquet"),
        Op::Nccl => Source {
            family: "comm",
            file: "nccl_perf.parquet",
            fixed_backend: Some("nccl"),
            allow_next: false,
        },
        Op::Gdn => s("linear_attention", "gdn_perf.parquet"),
        Op::Mhc => s("mhc", "mhc_module_perf.parquet"),
        Op::Kda => next_ok("kda", "kda_perf.parquet"),
        Op::DsaContextModule => s("sparse_attention", "dsa_context_module_perf.parquet"),
        Op::DsaGenerationModule => s("sparse_attention", "dsa_generation_module_perf.parquet"),
        // Only the current versions' MiniMax-M3 tables: the next versions'
        // (SGLang 0.5.16, TensorRT-LLM 1.3.0rc23) time a 1-token prefill
        // layer at 0.65 and 3 ms, a harness floor, not the kernels.
        Op::MsaContextModule => s("msa", "msa_context_module_perf.parquet"),
        Op::MsaGenerationModule => s("msa", "msa_generation_module_perf.parquet"),
        Op::Dsv4CsaContextModule => {
            next_ok("sparse_attention", "dsv4_csa_context_module_perf.parquet")
        }
        Op::Dsv4CsaGenerationModule => next_ok(
            "sparse_attention",
            "dsv4_csa_generation_module_perf.parquet",
        ),
        Op::Dsv4HcaContextModule => {
            next_ok("sparse_attention", "dsv4_hca_context_module_perf.parquet")
        }
        Op::Dsv4HcaGenerationModule => next_ok(
            "sparse_attention",
            "dsv4_hca_generation_module_perf.parquet",
        ),
    }
}

/// Why a row was left out.
pub(crate) type Reason = &'static str;

/// The coordinate columns: a column, or the sum of two (decode KV length =
/// `isl + step`), or a column defaulting to a value when absent.
enum Coord {
    Col(&'static str),
    ColOr(&'static str, i64),
    Sum(&'static str, &'static str),
}

struct Layout {
    cats: &'static [&'static str],
    coords: &'static [Coord],
    /// (column, required value, default when the column is absent, reason).
    filters: &'static [(&'static str, i64, i64, Reason)],
}

fn layout(op: Op) -> Layout {
    use Coord::{Col, ColOr, Sum};
    const BEAM: (&str, i64, i64, Reason) = ("beam_width", 1, 1, "beam width other than 1");
    const NO_PREFIX: (&str, i64, i64, Reason) =
        ("step", 0, 0, "context rows with a cached prefix (step > 0)");
    match op {
        Op::Gemm => Layout {
            cats: &["gemm_dtype"],
            coords: &[Col("n"), Col("k"), Col("m")],
            filters: &[],
        },
        Op::ContextAttention => Layout {
            cats: &["attn_dtype", "kv_cache_dtype"],
            coords: &[
                ColOr("window_size", 0),
                Col("head_dim"),
                Col("num_heads"),
                Col("num_key_value_heads"),
                Col("isl"),
                Col("batch_size"),
            ],
            filters: &[BEAM, NO_PREFIX],
        },
        Op::GenerationAttention => Layout {
            cats: &["attn_dtype", "kv_cache_dtype"],
            coords: &[
                ColOr("window_size", 0),
                Col("head_dim"),
                Col("num_heads"),
                Col("num_key_value_heads"),
                Sum("isl", "step"),
                Col("batch_size"),
            ],
            filters: &[BEAM],
        },
        Op::ContextMla => Layout {
            cats: &["mla_dtype", "kv_cache_dtype"],
            coords: &[Col("num_heads"), Col("isl"), Col("batch_size")],
            filters: &[NO_PREFIX],
        },
        Op::GenerationMla => Layout {
            cats: &["mla_dtype", "kv_cache_dtype"],
            coords: &[Col("num_heads"), Sum("isl", "step"), Col("batch_size")],
            filters: &[],
        },
        Op::MlaContextModule
        | Op::DsaContextModule
        | Op::MsaContextModule
        | Op::Dsv4CsaContextModule
        | Op::Dsv4HcaContextModule => Layout {
            cats: &["model", "mla_dtype", "kv_cache_dtype", "gemm_type"],
            coords: &[Col("num_heads"), Col("isl"), Col("batch_size")],
            filters: &[NO_PREFIX],
        },
        Op::MlaGenerationModule
        | Op::DsaGenerationModule
        | Op::MsaGenerationModule
        | Op::Dsv4CsaGenerationModule
        | Op::Dsv4HcaGenerationModule => Layout {
            cats: &["model", "mla_dtype", "kv_cache_dtype", "gemm_type"],
            coords: &[Col("num_heads"), Sum("isl", "step"), Col("batch_size")],
            filters: &[],
        },
        Op::MlaBmm => Layout {
            cats: &["op_name", "bmm_dtype"],
            coords: &[Col("num_heads"), Col("num_tokens")],
            filters: &[],
        },
        Op::Moe | Op::MoeWideContext | Op::MoeWideGeneration => Layout {
            cats: &["moe_dtype"],
            coords: &[
                Col("moe_tp_size"),
                Col("moe_ep_size"),
                Col("num_experts"),
                Col("topk"),
                Col("hidden_size"),
                Col("inter_size"),
                Col("num_tokens"),
            ],
            filters: &[],
        },
        Op::Nccl => Layout {
            cats: &["op_name", "nccl_dtype"],
            coords: &[Col("num_gpus"), Col("message_size")],
            filters: &[],
        },
        // Each kernel is its own table: a layer runs the convolution and the
        // core one after the other.
        Op::Gdn | Op::Kda => Layout {
            cats: &["kernel_source"],
            coords: &[
                Col("num_k_heads"),
                Col("num_v_heads"),
                Col("seq_len"),
                Col("batch_size"),
            ],
            filters: &[("head_k_dim", 128, 128, "head width other than 128")],
        },
        Op::Mhc => Layout {
            cats: &["op_name"],
            coords: &[Col("hidden_size"), Col("num_tokens")],
            filters: &[("hc_mult", 4, 4, "hyper-connection width other than 4")],
        },
        Op::CustomAllreduce => Layout {
            cats: &["allreduce_dtype"],
            coords: &[Col("num_gpus"), Col("message_size")],
            filters: &[],
        },
    }
}

/// The columns to read for an op.
pub(crate) fn columns(op: Op) -> Vec<&'static str> {
    let l = layout(op);
    let mut out: Vec<&'static str> = l.cats.to_vec();
    for c in l.coords {
        match *c {
            Coord::Col(a) | Coord::ColOr(a, _) => out.push(a),
            Coord::Sum(a, b) => {
                out.push(a);
                out.push(b);
            }
        }
    }
    out.extend(l.filters.iter().map(|f| f.0));
    out.extend(["latency", "kernel_source", "distribution"]);
    out.sort_unstable();
    out.dedup();
    out
}

/// Row extraction for one op from one file, its columns looked up once.
pub(crate) struct Extractor<'a> {
    filters: Vec<(Option<&'a Col>, i64, i64, Reason)>,
    /// MoE: the distribution column and the id of the kept distribution
    /// (`None` inside: the file lacks it, every row goes).
    distribution: Option<(&'a Col, Option<u32>)>,
    cats: Vec<Option<&'a Col>>,
    coords: Vec<CoordRef<'a>>,
    latency: Option<&'a Col>,
    kernel: Option<&'a Col>,
}

enum CoordRef<'a> {
    Col(Option<&'a Col>),
    Const(i64),
    Sum(Option<&'a Col>, Option<&'a Col>),
}

/// No kernel column: one anonymous kernel.
pub(crate) const NO_KERNEL: u32 = u32::MAX;

impl<'a> Extractor<'a> {
    pub fn new(op: Op, frame: &'a Frame, moe_distribution: &str) -> Extractor<'a> {
        let l = layout(op);
        let col = |name: &str| frame.cols.get(name);
        let filters = l
            .filters
            .iter()
            .map(|&(c, want, default, why)| (col(c), want, default, why))
            .collect();
        let distribution = match (op, col("distribution")) {
            (Op::Moe | Op::MoeWideContext | Op::MoeWideGeneration, Some(c)) => {
                Some((c, c.id_of(moe_distribution)))
            }
            _ => None,
        };
        let coords = l
            .coords
            .iter()
            .map(|c| match *c {
                Coord::Col(a) => CoordRef::Col(col(a)),
                Coord::ColOr(a, d) => col(a).map_or(CoordRef::Const(d), |c| CoordRef::Col(Some(c))),
                Coord::Sum(a, b) => CoordRef::Sum(col(a), col(b)),
            })
            .collect();
        Extractor {
            filters,
            distribution,
            cats: l.cats.iter().map(|c| col(c)).collect(),
            coords,
            latency: col("latency"),
            kernel: col("kernel_source"),
        }
    }

    /// Row `i` into `key` (categorical ids, then coordinates) with its
    /// latency and kernel id, or why it is left out.
    pub fn row(&self, i: usize, key: &mut Vec<u32>) -> Result<(f64, u32), Reason> {
        key.clear();
        for &(c, want, default, why) in &self.filters {
            let v = match c {
                Some(c) => c.int(i),
                None => Some(default),
            };
            if v != Some(want) {
                return Err(why);
            }
        }
        if let Some((c, wanted)) = self.distribution
            && (wanted.is_none() || c.str_id(i) != wanted)
        {
            return Err("other token distributions (kept the serving one)");
        }
        for c in &self.cats {
            key.push(
                c.and_then(|c| c.str_id(i))
                    .ok_or("missing categorical key")?,
            );
        }
        for c in &self.coords {
            let v = match *c {
                CoordRef::Col(c) => c.and_then(|c| c.int(i)),
                CoordRef::Const(d) => Some(d),
                CoordRef::Sum(a, b) => a
                    .and_then(|a| a.int(i))
                    .zip(b.and_then(|b| b.int(i)))
                    .map(|(x, y)| x + y),
            };
            let v = v.ok_or("missing coordinate")?;
            key.push(u32::try_from(v).map_err(|_| "coordinate outside 0..2^32")?);
        }
        let ms = self
            .latency
            .and_then(|c| c.float(i))
            .ok_or("missing latency")?;
        if !(ms.is_finite() && ms > 0.0 && ms.is_normal()) {
            return Err("latency not a positive number");
        }
        let kernel = self.kernel.and_then(|c| c.str_id(i)).unwrap_or(NO_KERNEL);
        Ok((ms, kernel))
    }

    /// Number of categorical keys at the front of a key.
    pub fn ncats(&self) -> usize {
        self.cats.len()
    }

    /// The string of categorical key `k` with id `id`.
    pub fn cat_str(&self, k: usize, id: u32) -> &'a str {
        self.cats
            .get(k)
            .copied()
            .flatten()
            .and_then(|c| c.str_of(id))
            .unwrap_or("")
    }

    /// The name of a kernel id.
    pub fn kernel_name(&self, id: u32) -> &'a str {
        self.kernel.and_then(|c| c.str_of(id)).unwrap_or("")
    }
}
