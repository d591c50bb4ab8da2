//! Roofline estimates: the time an operation takes from its FLOPs and bytes
//! against a GPU's peaks, with efficiencies ([`RooflineEff`]). Used where no
//! table measured the operation (a GPU, shape or dtype outside the tables),
//! and as the ratio that rescales a measured kin (another dtype, a sibling
//! GPU, a neighbouring parallel size) to the case asked for.

use super::constants::RooflineEff;
use super::quant::GemmQuant;
use crate::catalog::system::{SystemSpec, TensorDtype};

/// The first peak the GPU has among `dtypes`, FLOP/s (falls back to fp16).
pub(crate) fn peak_flops(sys: &SystemSpec, dtypes: &[TensorDtype]) -> f64 {
    dtypes
        .iter()
        .find_map(|d| sys.flops(*d))
        .unwrap_or(sys.gpu.flops.fp16 as f64)
        .max(1.0)
}

/// Effective memory bandwidth, bytes per ms.
fn bw_per_ms(sys: &SystemSpec, eff: &RooflineEff) -> f64 {
    (sys.mem_bw() * sys.gpu.mem_bw_scaling * eff.mem).max(1.0) / 1000.0
}

/// Fixed latency of a memory-bound kernel, ms.
pub(crate) fn kernel_latency_ms(sys: &SystemSpec) -> f64 {
    sys.gpu.mem_latency_ns as f64 / 1e6
}

/// Time of moving `bytes` through memory, ms, latency included.
pub(crate) fn mem_ms(sys: &SystemSpec, eff: &RooflineEff, bytes: f64) -> f64 {
    bytes / bw_per_ms(sys, eff) + kernel_latency_ms(sys)
}

/// A GEMM `[m, k] × [k, n]` with weights in `q`, ms: the slower of compute
/// (at `eff.gemm` of the peak of `q`'s compute dtype) and moving the weights,
/// activations and bf16 output, plus `eff.gemm_latency_us`.
pub fn gemm_ms(sys: &SystemSpec, eff: &RooflineEff, m: f64, n: f64, k: f64, q: GemmQuant) -> f64 {
    let flops = 2.0 * m * n * k;
    let compute = flops / (peak_flops(sys, q.compute_dtypes()) * eff.gemm) * 1000.0;
    let bytes = n * k * q.bytes_per_param() + m * k * q.act_bytes() + m * n * 2.0;
    let memory = bytes / bw_per_ms(sys, eff);
    compute.max(memory) + eff.gemm_latency_us / 1000.0
}

/// Prefill attention of `batch` sequences adding `new` tokens each on top of
/// `cached` ones (causal; windowed layers attend to at most `window` keys,
/// 0: no window), ms. `heads` are the query heads on this GPU; bf16 compute at
/// `eff.attention` of peak, or reading Q, K, V if that is slower.
#[allow(clippy::too_many_arguments)]
pub fn context_attention_ms(
    sys: &SystemSpec,
    eff: &RooflineEff,
    batch: f64,
    new: f64,
    cached: f64,
    heads: f64,
    head_dim: f64,
    v_head_dim: f64,
    window: f64,
) -> f64 {
    // Keys each new token attends to, on average.
    let total = cached + new;
    let mut keys = cached + (new + 1.0) / 2.0;
    if window > 0.0 {
        keys = keys.min(window);
    }
    let flops = 2.0 * batch * new * keys * heads * (head_dim + v_head_dim);
    let compute = flops / (peak_flops(sys, &[TensorDtype::Bf16]) * eff.attention) * 1000.0;
    let bytes = batch * total * heads * (head_dim + v_head_dim) * 2.0;
    compute.max(bytes / bw_per_ms(sys, eff)) + kernel_latency_ms(sys)
}

/// One decode step of attention, ms: reading the KV cache dominates
/// (`batch` sequences of `kv_len` cached tokens, `kv_heads` on this GPU,
/// `kv_bytes` per element; windowed layers read at most `window` tokens,
/// 0: no window).
#[allow(clippy::too_many_arguments)]
pub fn generation_attention_ms(
    sys: &SystemSpec,
    eff: &RooflineEff,
    batch: f64,
    kv_len: f64,
    kv_heads: f64,
    head_dim: f64,
    v_head_dim: f64,
    kv_bytes: f64,
    window: f64,
) -> f64 {
    let len = if window > 0.0 {
        kv_len.min(window)
    } else {
        kv_len
    };
    let bytes = batch * len * kv_heads * (head_dim + v_head_dim) * kv_bytes;
    mem_ms(sys, eff, bytes)
}

/// A MoE layer on one GPU: `tokens` enter the MoE group, each routed to
/// `topk` of `experts` experts of width `inter` (gated: 3 matrices).
#[allow(clippy::too_many_arguments)]
pub(crate) fn moe_ms(
    sys: &SystemSpec,
    eff: &RooflineEff,
    tokens: f64,
    hidden: f64,
    inter: f64,
    topk: f64,
    experts: f64,
    moe_tp: f64,
    moe_ep: f64,
    gated: bool,
    q: GemmQuant,
) -> f64 {
    let mats = if gated { 3.0 } else { 2.0 };
    let local_experts = (experts / moe_ep).max(1.0);
    let routed = tokens * topk / moe_ep;
    // Experts that receive at least one token (uniform routing).
    let active = local_experts.min(routed).max(1.0);
    let w_bytes = active * mats * hidden * inter / moe_tp * q.bytes_per_param();
    let flops = 2.0 * routed * mats * hidden * inter / moe_tp;
    let compute = flops / (peak_flops(sys, q.compute_dtypes()) * eff.moe) * 1000.0;
    let a_bytes = routed * (hidden * 2.0 + inter / moe_tp * 4.0);
    compute.max((w_bytes + a_bytes) / bw_per_ms(sys, eff)) + 4.0 * eff.gemm_latency_us / 1000.0
}

/// Collectives, for the roofline ([`comm_ms`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comm {
    AllReduce,
    AllGather,
    ReduceScatter,
    P2p,
}

/// Per-GPU link bandwidth (bytes/s) and latency (ns) for a group of `gpus`.
fn link(sys: &SystemSpec, gpus: f64) -> (f64, f64) {
    let node = f64::from(sys.node.gpus_per_node);
    let lat = sys.node.p2p_latency_ns as f64;
    if gpus <= node {
        return (sys.node.intra_node_bw_bytes_per_s as f64, lat);
    }
    match &sys.node.rack {
        Some(r) if gpus <= f64::from(r.gpus_per_rack) => {
            (sys.node.inter_node_bw_bytes_per_s as f64, lat)
        }
        Some(r) => (
            r.inter_rack_bw_bytes_per_s as f64,
            lat + r.inter_rack_latency_ns as f64,
        ),
        None => (sys.node.inter_node_bw_bytes_per_s as f64, 2.0 * lat),
    }
}

/// A collective of `bytes` (the full message: the reduced tensor, or the
/// gathered result) over `gpus` GPUs, ms: ring volume over the link of the
/// group's size (in a node, across nodes, across racks) at `eff.comm`, plus
/// link latency per step; 0 on one GPU.
pub fn comm_ms(sys: &SystemSpec, eff: &RooflineEff, kind: Comm, gpus: f64, bytes: f64) -> f64 {
    if gpus <= 1.0 {
        return 0.0;
    }
    let (bw, lat_ns) = link(sys, gpus);
    let frac = (gpus - 1.0) / gpus;
    let (volume, steps) = match kind {
        Comm::AllReduce => (2.0 * frac * bytes, 2.0),
        Comm::AllGather | Comm::ReduceScatter => (frac * bytes, 1.0),
        Comm::P2p => (bytes, 1.0),
    };
    let mut log2 = 0.0;
    let mut g = 1.0;
    while g < gpus {
        g *= 2.0;
        log2 += 1.0;
    }
    volume / (bw * eff.comm).max(1.0) * 1000.0 + steps * log2 * lat_ns / 1e6
}
