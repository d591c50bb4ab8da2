#!/usr/bin/env python3
"""Measure the per-operation latencies that dgdr's performance model predicts.

Self-contained: needs only PyTorch (with CUDA) and the Python standard library;
uses `flash_attn` / `flash_attn_interface` when importable. Run from the repo
root, e.g.

    python3 bench/gpu/measure_ops.py --out $OUT/gpu          # full grid, < ~6 min
    python3 bench/gpu/measure_ops.py --out $OUT/gpu --quick  # reduced grid, < 2 min
    python3 bench/gpu/measure_ops.py --dry-run               # plan + time estimate, no CUDA

Sections (select with --only gemm,attention,allreduce):
  gemm       C = A @ W^T (A: m x k, W: n x k), bf16 (F.linear) and fp8 e4m3
             (torch._scaled_mm, per-tensor scales; also with the bf16->fp8
             activation quantization in front, as serving engines run it)
             -> gemm.csv
  attention  context (prefill, causal) and generation (decode, one query token
             against a bf16 KV cache) -> context_attention.csv,
             generation_attention.csv
  allreduce  NCCL all-reduce (bf16) over 2/4/8 GPUs via torch.distributed,
             processes started by this script -> allreduce.csv
Always: environment, clocks, launch overhead, copy bandwidth -> env.json.

Method: every timed op is captured N times in a CUDA graph (falling back to
eager launches if capture fails; the `method` column says which), replayed 5
times as warm-up, then >= 20 timed replays with CUDA events; the per-op latency
is replay time / N and the reported value is the median over replays. Inputs
rotate over enough buffer sets that the working set exceeds the L2 cache
("cold", the primary numbers); small ops are also timed on a single buffer set
("hot") because that is what a collector that repeats one op sees.

Coordinates follow AI Configurator's perf database (../shared/data/perfdb):
gemm m/n/k as in gemm_perf (m tokens, n output features, k input features);
attention heads are per GPU (after TP); decode kv_len = isl + step with isl=1
as in generation_attention_perf; all-reduce size also given in elements
(message_size in nccl_perf / custom_allreduce_perf counts elements).
"""

import argparse
import csv
import gc
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import traceback

# NVLink multicast (NVLS) must stay off on this workplace's multi-GPU hosts: a
# program that uses it can take the host's GPUs out of service. Force it off
# before anything CUDA/NCCL is loaded (children inherit the environment).
os.environ["NCCL_NVLS_ENABLE"] = "0"
os.environ["TORCH_SYMM_MEM_DISABLE_MULTICAST"] = "1"
os.environ["NVSHMEM_DISABLE_NVLS"] = "1"

torch = None  # imported lazily (the dry run must work without torch)
F = None

# --------------------------------------------------------------------------
# Axis values of AI Configurator's perf database (h100_sxm and h200_sxm;
# trtllm 1.3.0rc20, vllm 0.24.0, sglang 0.5.14 share these axes). Used only to
# flag rows that sit on measured grid points (`perfdb_grid` column); the
# authoritative join is done against the parquet tables themselves.
# --------------------------------------------------------------------------
PERFDB_GEMM_M = (
    list(range(1, 18))
    + [32, 33, 48, 49, 64, 65, 80, 81, 96, 97, 112, 113, 128, 129, 160, 161, 192, 193,
       224, 225, 256, 257]
    + [x + d for x in range(512, 4353, 256) for d in (0, 1)]
    + [8192, 16384, 32768]
)
PERFDB_GEMM_NK = [32, 64, 128, 256, 512, 768, 1024, 1536, 2048, 2560, 3072, 3584, 4096,
                  5120, 6144, 7168, 8192, 10240, 12288, 16384, 51200, 65536]
PERFDB_ATTN_HEADS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 96]
PERFDB_ATTN_KV_HEADS = [1, 2, 4, 8]  # (vllm's generation table stops at 8)
PERFDB_CTX_ISL = [1, 16, 32, 64, 128, 256, 512, 1024, 1536, 2048, 3072, 4096, 6144,
                  8192, 10240, 12288, 16384]
PERFDB_CTX_BATCH = [1, 2, 4, 8, 16, 32, 64, 128, 256]
PERFDB_CTX_MAX_TOKENS = 131072          # batch * isl <= 128Ki in every table
PERFDB_GEN_BATCH = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]
PERFDB_GEN_KV = [2 ** j for j in range(1, 18)]  # isl(=1) + step(=2^j - 1)
PERFDB_GEN_MAX_BLH = 2 ** 24            # batch * kv_len * heads <= 16Mi in every table
PERFDB_COMM_ELEMS = [2 ** j for j in range(8, 30)]  # 256 .. 512Mi elements

MODELS = {
    # hidden, attention heads, kv heads, head dim, MLP intermediate
    "llama3.1-8b": dict(hidden=4096, heads=32, kv_heads=8, head_dim=128, inter=14336),
    "qwen3-32b": dict(hidden=5120, heads=64, kv_heads=8, head_dim=128, inter=25600),
}

# Nominal H100 SXM figures, used only for the dry-run time estimate.
EST_PEAK = {"bfloat16": 989e12, "fp8": 1979e12}
EST_EFF = 0.7
EST_BW = 3.0e12
EST_KERNEL_FLOOR_S = 6e-6
EST_POINT_OVERHEAD_S = 0.04     # gemm; seen on an H100: 705 points in 42 s
EST_ATTN_OVERHEAD_S = 0.12      # attention (probe, cuDNN plan, free); 262 points in 35 s
EST_L2_BYTES = 50 * 2 ** 20

GEMM_CSV = ["gpu", "dtype", "m", "n", "k", "latency_ms", "tflops", "kernel", "method", "cache",
            "iters_per_replay", "reps", "p10_ms", "p90_ms", "min_ms", "flops", "bytes", "gbps",
            "perfdb_grid", "label", "check_rel_err", "error"]
CTX_CSV = ["gpu", "kernel", "attn_dtype", "kv_cache_dtype", "batch_size", "isl", "num_heads",
           "num_key_value_heads", "head_dim", "window_size", "causal", "latency_ms", "tflops",
           "method", "cache", "iters_per_replay", "reps", "p10_ms", "p90_ms", "min_ms", "flops",
           "bytes", "perfdb_grid", "label", "check_rel_err", "error"]
GEN_CSV = ["gpu", "kernel", "attn_dtype", "kv_cache_dtype", "batch_size", "kv_len", "isl", "step",
           "num_heads", "num_key_value_heads", "head_dim", "window_size", "latency_ms", "gbps",
           "method", "cache", "iters_per_replay", "reps", "p10_ms", "p90_ms", "min_ms", "flops",
           "bytes", "perfdb_grid", "label", "check_rel_err", "error"]
AR_CSV = ["gpu", "num_gpus", "dtype", "message_bytes", "latency_ms", "algbw_gbps", "busbw_gbps",
          "message_elements", "method", "iters_per_replay", "reps", "p10_ms", "p90_ms", "min_ms",
          "perfdb_grid", "nccl_version", "error"]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def short_err(e):
    s = f"{type(e).__name__}: {e}".replace("\n", " ").replace("\r", " ")
    return s[:300]


# --------------------------------------------------------------------------
# Plans (pure Python: used by the dry run and the real run alike)
# --------------------------------------------------------------------------
def linear_shapes(model, tp):
    c = MODELS[model]
    hd = c["head_dim"]
    return [
        ("qkv", (c["heads"] + 2 * c["kv_heads"]) * hd // tp, c["hidden"]),  # column-parallel
        ("o", c["hidden"], c["heads"] * hd // tp),                          # row-parallel
        ("gate_up", 2 * c["inter"] // tp, c["hidden"]),                     # column-parallel
        ("down", c["hidden"], c["inter"] // tp),                            # row-parallel
    ]


def gemm_on_grid(m, n, k):
    return m in PERFDB_GEMM_M and n in PERFDB_GEMM_NK and k in PERFDB_GEMM_NK


FP8_STATIC = "fp8_linear(static_quant)"
FP8_DYNAMIC = "fp8_linear(dynamic_quant)"


def gemm_set_bytes(dtype, m, n, k, kernel=""):
    e = 1 if dtype == "fp8" else 2
    extra = {FP8_STATIC: 3 * m * k, FP8_DYNAMIC: 5 * m * k}.get(kernel, 0)
    return (m * k + n * k) * e + m * n * 2 + extra


def gemm_est_s(dtype, m, n, k):
    flops = 2.0 * m * n * k
    return max(flops / (EST_PEAK[dtype] * EST_EFF), gemm_set_bytes(dtype, m, n, k) / EST_BW,
               EST_KERNEL_FLOOR_S)


def plan_gemm(quick):
    """Points in priority order (a time-budget cut drops the tail)."""
    ms = [1, 32, 512, 8192] if quick else [1, 8, 32, 128, 512, 2048, 8192]
    if quick:
        mts = [("llama3.1-8b", 1), ("qwen3-32b", 2)]
    else:
        mts = [(mo, tp) for mo in MODELS for tp in (1, 2, 4, 8)]
    shapes = {}  # (n, k) -> labels
    for mo, tp in mts:
        for name, n, k in linear_shapes(mo, tp):
            shapes.setdefault((n, k), []).append(f"{mo}/{name}/tp{tp}")
    extra_shapes = {}
    extra_ms = {}
    if not quick:
        # Grid neighbours of two off-grid model shapes: tells apart "perfdb
        # differs from this GPU" from "dgdr's interpolation is off".
        for (n, k), lab in [((16384, 4096), "llama3.1-8b/gate_up/tp1"),
                            ((51200, 4096), "llama3.1-8b/gate_up/tp1"),
                            ((4096, 12288), "llama3.1-8b/down/tp1"),
                            ((4096, 16384), "llama3.1-8b/down/tp1")]:
            if (n, k) not in shapes:
                extra_shapes.setdefault((n, k), []).append("bracket:" + lab)
        # m between perfdb grid values (17..32, 257..512, 4353..8192).
        for (n, k) in [(6144, 4096), (4096, 4096), (51200, 5120)]:
            extra_ms[(n, k)] = [24, 384, 6144]

    def labels(n, k):
        return "+".join(shapes.get((n, k), []) + extra_shapes.get((n, k), []))

    pts = []

    def add(dtype, m, n, k, kernel, cache):
        pts.append(dict(section="gemm", dtype=dtype, m=m, n=n, k=k, kernel=kernel, cache=cache,
                        label=labels(n, k), perfdb_grid=gemm_on_grid(m, n, k)))

    kern = {"bfloat16": "torch.nn.functional.linear", "fp8": "torch._scaled_mm(fast_accum)"}
    on = [(n, k) for (n, k) in shapes if n in PERFDB_GEMM_NK and k in PERFDB_GEMM_NK]
    off = [(n, k) for (n, k) in shapes if (n, k) not in on]
    for group in (on, off):
        for dtype in ("bfloat16", "fp8"):
            for (n, k) in group:
                for m in ms:
                    add(dtype, m, n, k, kern[dtype], "cold")
    for dtype in ("bfloat16", "fp8"):
        for (n, k) in extra_shapes:
            for m in ms:
                add(dtype, m, n, k, kern[dtype], "cold")
        for (n, k), mlist in extra_ms.items():
            for m in mlist:
                add(dtype, m, n, k, kern[dtype], "cold")
    # fp8 without fast accumulation, where it matters (compute-bound m).
    for (n, k) in (on if not quick else on[:2]):
        for m in ([2048, 8192] if not quick else [8192]):
            add("fp8", m, n, k, "torch._scaled_mm", "cold")
    # fp8 linear as serving engines run it: bf16 activations quantized first
    # (static per-tensor scale: one cast kernel; dynamic: max-reduction + scale
    # + cast), then the fp8 GEMM. The perfdb's fp8 rows look like these.
    for kname in (FP8_STATIC, FP8_DYNAMIC):
        for (n, k) in (on if not quick else on[:2]):
            for m in ms:
                add("fp8", m, n, k, kname, "cold")
    # hot-L2 twins of the small cold points
    hot = [dict(p, cache="hot") for p in pts
           if p["cache"] == "cold" and p["kernel"] == kern[p["dtype"]]
           and gemm_set_bytes(p["dtype"], p["m"], p["n"], p["k"]) <= EST_L2_BYTES // 2]
    pts += hot
    for p in pts:
        extra = {FP8_STATIC: 1, FP8_DYNAMIC: 3}.get(p["kernel"], 0)
        p["est_s"] = est_point_s(gemm_est_s(p["dtype"], p["m"], p["n"], p["k"])
                                 + extra * EST_KERNEL_FLOOR_S)
    return pts


def attn_configs(quick):
    out = []
    for mo in (MODELS if not quick else ["llama3.1-8b", "qwen3-32b"]):
        c = MODELS[mo]
        for tp in ((1, 2) if not quick else (1,)):
            out.append((f"{mo}/tp{tp}", c["heads"] // tp, c["kv_heads"] // tp, c["head_dim"]))
    return out


def ctx_flops(b, s, h, d):
    return 4.0 * b * h * d * s * s / 2.0  # QK^T and PV, causal half


def ctx_bytes(b, s, h, kv, d):
    return 2.0 * b * s * d * (2 * h + 2 * kv)


def gen_bytes(b, L, h, kv, d):
    return 2.0 * b * L * kv * d * 2 + 2.0 * b * h * d * 2


def ctx_on_grid(b, s, h, kv):
    return (b in PERFDB_CTX_BATCH and s in PERFDB_CTX_ISL and h in PERFDB_ATTN_HEADS
            and kv in PERFDB_ATTN_KV_HEADS and b * s <= PERFDB_CTX_MAX_TOKENS)


def gen_on_grid(b, L, h, kv):
    return (b in PERFDB_GEN_BATCH and L in PERFDB_GEN_KV and h in PERFDB_ATTN_HEADS
            and kv in PERFDB_ATTN_KV_HEADS and b * L * h <= PERFDB_GEN_MAX_BLH)


def plan_attention(quick, kernels_ctx, kernels_gen):
    cfgs = attn_configs(quick)
    ctx, gen = [], []
    isls = [1024, 4096] if quick else [512, 1024, 2048, 4096, 8192]
    for label, h, kv, d in cfgs:
        extra = [] if quick or not label.endswith("tp1") else [2560, 5000]
        for s in isls + extra:
            for kern in kernels_ctx:
                ctx.append(dict(section="context_attention", kernel=kern, b=1, isl=s, h=h, kv=kv,
                                d=d, label=label, cache="cold", perfdb_grid=ctx_on_grid(1, s, h, kv)))
    batches = [1, 32] if quick else [1, 8, 32, 128]
    kvs = [1024, 8192] if quick else [1024, 4096, 8192]
    for label, h, kv, d in cfgs:
        pts = [(b, L) for b in batches for L in kvs]
        if not quick and label.endswith("tp1"):
            pts += [(32, 3000), (32, 6000), (48, 4096)]
        for b, L in pts:
            for kern in kernels_gen:
                gen.append(dict(section="generation_attention", kernel=kern, b=b, L=L, h=h, kv=kv,
                                d=d, label=label, cache="cold",
                                perfdb_grid=gen_on_grid(b, L, h, kv)))
    ctx += [dict(p, cache="hot") for p in ctx
            if ctx_bytes(p["b"], p["isl"], p["h"], p["kv"], p["d"]) <= EST_L2_BYTES // 2]
    gen += [dict(p, cache="hot") for p in gen
            if gen_bytes(p["b"], p["L"], p["h"], p["kv"], p["d"]) <= EST_L2_BYTES // 2]
    for p in ctx:
        t = max(ctx_flops(p["b"], p["isl"], p["h"], p["d"]) / (EST_PEAK["bfloat16"] * 0.4),
                EST_KERNEL_FLOOR_S * 3)
        p["est_s"] = est_point_s(t, EST_ATTN_OVERHEAD_S)
    for p in gen:
        t = max(gen_bytes(p["b"], p["L"], p["h"], p["kv"], p["d"]) / (EST_BW * 0.7),
                EST_KERNEL_FLOOR_S * 3)
        p["est_s"] = est_point_s(t, EST_ATTN_OVERHEAD_S)
    return ctx, gen


def allreduce_sizes(quick):
    if quick:
        return [4096, 262144, 16 * 2 ** 20, 256 * 2 ** 20]
    return [4096 * 4 ** j for j in range(9)]  # 4 KiB .. 256 MiB


def allreduce_worlds(ngpus, quick):
    ws = [w for w in (2, 4, 8) if w <= ngpus]
    return ws[:1] if quick else ws


def est_allreduce_s(world, sizes, warmup, reps):
    t = 25.0  # process start, CUDA and NCCL init, graph capture
    for nbytes in sizes:
        lat = 15e-6 + nbytes * 2 * (world - 1) / world / 300e9
        per_rep = max(lat * max(1, min(40, math.ceil(1e-3 / lat))), 1e-4)
        t += 2 * (warmup + reps) * (per_rep + 2e-4) + 0.1  # eager + graph
    return t


ARGS = None


def est_point_s(t_op, overhead=EST_POINT_OVERHEAD_S):
    """Estimated wall time of one timed point (see bench())."""
    warm = ARGS.warmup if ARGS else 5
    reps = ARGS.reps if ARGS else 20
    n_iter = max(1, min(256, math.ceil(1e-3 / t_op)))
    replay = n_iter * t_op
    if replay < 1e-3:
        reps *= 2
    return overhead + (warm + reps + 1) * replay + 10 * t_op


# --------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------
def nvidia_smi():
    fields = ["index", "name", "clocks.sm", "clocks.max.sm", "clocks.mem", "clocks.max.mem",
              "power.draw", "power.limit", "temperature.gpu", "pstate", "driver_version"]
    try:
        r = subprocess.run(["nvidia-smi", "--query-gpu=" + ",".join(fields),
                            "--format=csv,noheader"], capture_output=True, text=True, timeout=15)
        if r.returncode != 0:
            return {"error": (r.stderr or r.stdout).strip()[:300]}
        rows = []
        for line in r.stdout.strip().splitlines():
            vals = [v.strip() for v in line.split(",")]
            rows.append(dict(zip(fields, vals)))
        return rows
    except Exception as e:  # absent or hung
        return {"error": short_err(e)}


def nvidia_smi_topo():
    try:
        r = subprocess.run(["nvidia-smi", "topo", "-m"], capture_output=True, text=True, timeout=15)
        return r.stdout.strip()[:4000] if r.returncode == 0 else (r.stderr or "").strip()[:300]
    except Exception as e:
        return short_err(e)


def perfdb_system(name):
    n = name.lower()
    if "h200" in n:
        return "h200_sxm"
    if "h100" in n:
        return "h100_sxm" if ("sxm" in n or "hbm3" in n) else "h100 (non-SXM?)"
    return None


def collect_env(args):
    env = {
        "script": "bench/gpu/measure_ops.py",
        "argv": sys.argv[1:],
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "torch": getattr(torch, "__version__", None),
        "torch_cuda": getattr(torch.version, "cuda", None),
        "cudnn": None,
        "nccl": None,
        "env_vars": {k: os.environ.get(k) for k in
                     ("CUDA_VISIBLE_DEVICES", "NCCL_NVLS_ENABLE", "TORCH_SYMM_MEM_DISABLE_MULTICAST",
                      "NVSHMEM_DISABLE_NVLS", "NCCL_ALGO", "NCCL_PROTO")},
        "notes": [],
    }
    try:
        env["cudnn"] = torch.backends.cudnn.version()
    except Exception as e:
        env["cudnn"] = short_err(e)
    try:
        v = torch.cuda.nccl.version()
        env["nccl"] = ".".join(str(x) for x in v) if isinstance(v, tuple) else str(v)
    except Exception as e:
        env["nccl"] = short_err(e)
    env["cuda_available"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        env["device_count"] = torch.cuda.device_count()
        p = torch.cuda.get_device_properties(0)
        env["gpu"] = torch.cuda.get_device_name(0)
        env["perfdb_system"] = perfdb_system(env["gpu"])
        env["capability"] = list(torch.cuda.get_device_capability(0))
        env["sm_count"] = p.multi_processor_count
        env["total_memory_bytes"] = p.total_memory
        env["l2_cache_bytes"] = getattr(p, "L2_cache_size", None)
        env["matmul_allow_tf32"] = torch.backends.cuda.matmul.allow_tf32
        env["matmul_allow_bf16_reduced_precision_reduction"] = \
            torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction
    for mod in ("flash_attn", "flash_attn_interface"):
        try:
            m = __import__(mod)
            env[mod] = getattr(m, "__version__", "present")
        except Exception as e:
            env[mod] = None
            env.setdefault("import_errors", {})[mod] = short_err(e)[:160]
    env["nvidia_smi_start"] = nvidia_smi()
    return env


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------
def _events(n):
    return [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
            for _ in range(n)]


def bench(calls, warmup=5, reps=20, target_ms=1.0, max_iters=256, use_graph=True):
    """Times calls[i % R]() (R = len(calls) buffer sets). Returns dict(ms per op ...)."""
    R = len(calls)
    cur = torch.cuda.current_stream()
    side = torch.cuda.Stream()
    side.wait_stream(cur)
    with torch.cuda.stream(side):  # first calls: lazy init, heuristics, workspaces
        for i in range(max(3, R)):
            calls[i % R]()
    cur.wait_stream(side)
    torch.cuda.synchronize()
    n_est = max(5, min(R, 64))
    (a, b), = _events(1)
    a.record()
    for i in range(n_est):
        calls[i % R]()
    b.record()
    b.synchronize()
    t0 = max(a.elapsed_time(b) / n_est, 1e-4)  # ms per call; may be launch-bound
    n_iter = int(min(max_iters, max(R, math.ceil(target_ms / t0))))
    g = None
    note = ""
    if use_graph:
        try:
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g, stream=side):
                for i in range(n_iter):
                    calls[i % R]()
        except Exception as e:
            g = None
            note = "graph capture failed, eager: " + short_err(e)[:150]
            try:
                torch.cuda.synchronize()
            except Exception:
                pass

    def once():
        if g is not None:
            g.replay()
        else:
            for i in range(n_iter):
                calls[i % R]()

    for _ in range(warmup):
        once()
    torch.cuda.synchronize()
    replay_ms = t0 * n_iter
    nrep = reps if replay_ms >= 1.0 else 2 * reps
    evs = _events(nrep)
    for a, b in evs:
        a.record()
        once()
        b.record()
    torch.cuda.synchronize()
    ts = sorted(a.elapsed_time(b) / n_iter for a, b in evs)
    del g
    return dict(latency_ms=statistics.median(ts), p10_ms=ts[int(0.1 * (len(ts) - 1))],
                p90_ms=ts[int(round(0.9 * (len(ts) - 1)))], min_ms=ts[0],
                iters_per_replay=n_iter, reps=nrep,
                method=("graph" if use_graph and not note else "eager"), note=note)


def rotation_count(set_bytes, cache, l2):
    if cache == "hot":
        return 1
    return int(max(1, min(128, math.ceil(4 * l2 / max(set_bytes, 1)))))


def free_mem():
    gc.collect()
    try:
        torch.cuda.synchronize()
    except Exception:
        pass
    torch.cuda.empty_cache()


def rel_err(out, ref):
    out = out.float()
    ref = ref.float()
    if not torch.isfinite(out).all():
        return float("nan")
    return float((out - ref).norm() / ref.norm().clamp_min(1e-30))


class Ctx:
    def __init__(self, args, env):
        self.args = args
        self.env = env
        self.gpu = env.get("gpu", "unknown")
        self.dev = torch.device("cuda", 0)
        self.l2 = env.get("l2_cache_bytes") or EST_L2_BYTES
        self.t_start = time.time()
        self.deadline = {}

    def bench(self, calls, **kw):
        return bench(calls, warmup=self.args.warmup, reps=self.args.reps,
                     use_graph=not self.args.no_graph, **kw)


class CsvOut:
    def __init__(self, path, cols):
        self.f = open(path, "w", newline="")
        self.w = csv.DictWriter(self.f, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        self.w.writeheader()
        self.f.flush()
        self.rows = []

    def write(self, row):
        r = {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
        self.w.writerow(r)
        self.f.flush()
        self.rows.append(row)

    def close(self):
        self.f.close()


def randn(*shape, dtype=None, scale=1.0):
    t = torch.randn(*shape, device="cuda", dtype=torch.float32 if dtype is None else torch.bfloat16)
    if scale != 1.0:
        t.mul_(scale)
    return t


# --------------------------------------------------------------------------
# Launch overhead and ceilings
# --------------------------------------------------------------------------
def measure_launch(ctx):
    res = {}
    sleep0 = lambda: torch.cuda._sleep(0)  # noqa: E731  (an empty spin kernel)
    try:
        for _ in range(50):
            sleep0()
        torch.cuda.synchronize()
        n = 2000
        (a, b), = _events(1)
        h0 = time.perf_counter()
        a.record()
        for _ in range(n):
            sleep0()
        b.record()
        h1 = time.perf_counter()
        b.synchronize()
        res["empty_kernel_eager_host_us_per_launch"] = (h1 - h0) / n * 1e6
        res["empty_kernel_eager_gpu_us_per_launch"] = a.elapsed_time(b) / n * 1e3
        # single launch + synchronize, host-timed
        ts = []
        for _ in range(200):
            t = time.perf_counter()
            sleep0()
            torch.cuda.synchronize()
            ts.append(time.perf_counter() - t)
        res["empty_kernel_launch_sync_roundtrip_us_median"] = statistics.median(ts) * 1e6
        # events around a single eager launch (what per-call event timing floors at)
        evs = _events(200)
        for a, b in evs:
            a.record()
            sleep0()
            b.record()
        torch.cuda.synchronize()
        res["empty_kernel_single_eager_event_us_median"] = statistics.median(
            a.elapsed_time(b) for a, b in evs) * 1e3
        # inside a CUDA graph
        try:
            r = bench([sleep0], warmup=3, reps=20, target_ms=0.5, max_iters=512, use_graph=True)
            res["empty_kernel_graph_us_per_kernel"] = r["latency_ms"] * 1e3
            res["empty_kernel_graph_method"] = r["method"]
        except Exception as e:
            res["empty_kernel_graph_error"] = short_err(e)
        # a tiny real op (1-element add) eager, back to back
        x = torch.zeros(1, device="cuda")
        r = bench([lambda: x.add_(1.0)], warmup=3, reps=20, target_ms=0.5, max_iters=512,
                  use_graph=False)
        res["tiny_add_eager_us_per_op"] = r["latency_ms"] * 1e3
    except Exception as e:
        res["error"] = short_err(e)
    return res


def measure_ceilings(ctx):
    res = {}
    try:
        n = 2 ** 30 // 2  # 1 GiB of bf16
        src = torch.empty(n, device="cuda", dtype=torch.bfloat16).normal_()
        dst = torch.empty_like(src)
        r = bench([lambda: dst.copy_(src)], warmup=3, reps=20, use_graph=False)
        res["d2d_copy_gbps_read_plus_write"] = 2 * n * 2 / (r["latency_ms"] * 1e-3) / 1e9
        del src, dst
    except Exception as e:
        res["d2d_copy_error"] = short_err(e)
    free_mem()
    return res


# --------------------------------------------------------------------------
# GEMM
# --------------------------------------------------------------------------
def fp8_supported():
    return (hasattr(torch, "float8_e4m3fn") and hasattr(torch, "_scaled_mm")
            and torch.cuda.get_device_capability(0) >= (8, 9))


def make_gemm_call(dtype, m, n, k, fast_accum, pad_m, quant=None):
    """Returns (make_set(), run(set)) for one gemm variant.

    quant: None (A already fp8), "static" (bf16 A cast to fp8 with a fixed
    per-tensor scale of 1: one elementwise kernel) or "dynamic" (amax
    reduction, scale = amax / 448, cast; the division by the scale is folded
    away because the random activations are already in range, so the bytes
    moved match a fused quantization kernel)."""
    if dtype == "bfloat16":
        def make_set():
            a = randn(m, k, dtype="bf16")
            w = randn(n, k, dtype="bf16", scale=k ** -0.5)
            return (a, w)

        def run(s):
            return F.linear(s[0], s[1])
        return make_set, run

    mm = pad_m if pad_m else m
    if quant:
        def make_set():
            a = randn(mm, k, dtype="bf16")
            w = randn(n, k, dtype="bf16").to(torch.float8_e4m3fn)
            sa = torch.tensor(1.0, device="cuda")
            sb = torch.tensor(k ** -0.5, device="cuda")
            return (a, w, sa, sb)

        def run(s):
            if quant == "dynamic":
                amax = torch.linalg.vector_norm(s[0], ord=float("inf"), dtype=torch.float32)
                sa = torch.clamp(amax / 448.0, min=1e-12)
            else:
                sa = s[2]
            aq = s[0].to(torch.float8_e4m3fn)
            out = torch._scaled_mm(aq, s[1].t(), scale_a=sa, scale_b=s[3],
                                   out_dtype=torch.bfloat16, use_fast_accum=fast_accum)
            return out[0] if isinstance(out, tuple) else out
        return make_set, run

    def make_set():
        a = randn(mm, k, dtype="bf16").to(torch.float8_e4m3fn)
        w = randn(n, k, dtype="bf16").to(torch.float8_e4m3fn)
        sa = torch.tensor(1.0, device="cuda")
        sb = torch.tensor(k ** -0.5, device="cuda")
        return (a, w, sa, sb)

    def run(s):
        out = torch._scaled_mm(s[0], s[1].t(), scale_a=s[2], scale_b=s[3],
                               out_dtype=torch.bfloat16, use_fast_accum=fast_accum)
        return out[0] if isinstance(out, tuple) else out
    return make_set, run


def check_gemm(dtype, fast_accum=True):
    m, n, k = 64, 1024, 4096
    make_set, run = make_gemm_call(dtype, m, n, k, fast_accum, None)
    s = make_set()
    out = run(s)
    if dtype == "bfloat16":
        ref = s[0].float() @ s[1].float().t()
    else:
        ref = (s[0].float() * s[2]) @ (s[1].float() * s[3]).t()
    return rel_err(out, ref)


def run_gemm(ctx, plan, out):
    args = ctx.args
    checks = {}
    fp8_ok = fp8_supported()
    for key, dt, fa in (("bfloat16", "bfloat16", True), ("fp8(fast_accum)", "fp8", True),
                        ("fp8", "fp8", False)):
        if dt == "fp8" and not fp8_ok:
            continue
        try:
            checks[key] = check_gemm(dt, fa)
        except Exception as e:
            checks[key] = short_err(e)
    ctx.env["checks"]["gemm_rel_err_vs_fp32"] = checks
    log(f"gemm checks (rel err vs fp32): {checks}")
    pad_needed = {}
    t_sec = time.time()
    last_nk = None
    for i, p in enumerate(plan):
        dtype, m, n, k = p["dtype"], p["m"], p["n"], p["k"]
        quant = {FP8_STATIC: "static", FP8_DYNAMIC: "dynamic"}.get(p["kernel"])
        fast = p["kernel"].endswith("(fast_accum)") or quant is not None
        row = dict(gpu=ctx.gpu, dtype=dtype, m=m, n=n, k=k, kernel=p["kernel"], cache=p["cache"],
                   label=p["label"], perfdb_grid=int(p["perfdb_grid"]), flops=2.0 * m * n * k,
                   bytes=float(gemm_set_bytes(dtype, m, n, k, p["kernel"])))
        ck = "bfloat16" if dtype == "bfloat16" else ("fp8(fast_accum)" if fast else "fp8")
        row["check_rel_err"] = checks.get(ck)
        if time.time() > ctx.deadline["gemm"]:
            row["error"] = "skipped: section time budget exhausted"
            out.write(row)
            continue
        if dtype == "fp8" and not fp8_ok:
            row["error"] = "skipped: fp8 (float8_e4m3fn/_scaled_mm, sm>=89) not supported here"
            out.write(row)
            continue
        sets = None
        try:
            pad = pad_needed.get("fp8") if dtype == "fp8" and m % 16 else None
            if pad:
                pad = -(-m // 16) * 16
                row["kernel"] += "(m padded to 16)"
            make_set, run = make_gemm_call(dtype, m, n, k, fast, pad, quant)
            R = rotation_count(row["bytes"], p["cache"], ctx.l2)
            sets = [make_set() for _ in range(R)]
            try:
                run(sets[0])
            except RuntimeError as e:
                if dtype == "fp8" and m % 16 and not pad:
                    # some torch/cuBLASLt versions want rows % 16 == 0: pad like vLLM does
                    pad_needed["fp8"] = True
                    pad = -(-m // 16) * 16
                    row["kernel"] += "(m padded to 16)"
                    row["note"] = short_err(e)
                    make_set, run = make_gemm_call(dtype, m, n, k, fast, pad, quant)
                    sets = [make_set() for _ in range(R)]
                    run(sets[0])
                else:
                    raise
            calls = [(lambda s=s: run(s)) for s in sets]
            r = ctx.bench(calls)
            row.update(r)
            row["tflops"] = row["flops"] / (r["latency_ms"] * 1e-3) / 1e12
            row["gbps"] = row["bytes"] / (r["latency_ms"] * 1e-3) / 1e9
            if r.get("note"):
                row["error"] = r["note"]
        except Exception as e:
            row["error"] = short_err(e)
            if "out of memory" in str(e).lower():
                log(f"gemm OOM at {dtype} m={m} n={n} k={k}")
        finally:
            sets = None
            calls = None
            if (n, k) != last_nk or p["m"] >= 2048:
                free_mem()
            last_nk = (n, k)
        out.write(row)
        if i % 25 == 0 or row.get("error"):
            lat = row.get("latency_ms")
            log(f"gemm {i + 1}/{len(plan)} {dtype} {p['cache']} m={m} n={n} k={k}: "
                + (f"{lat * 1e3:.1f} us, {row['tflops']:.0f} TFLOP/s, {row['method']}"
                   if lat else f"ERROR {row.get('error')}"))
    free_mem()
    return time.time() - t_sec


def summarize_gemm(rows, secs):
    ok = [r for r in rows if r.get("latency_ms")]
    err = [r for r in rows if not r.get("latency_ms") and not str(r.get("error", "")).startswith("skipped")]
    skip = [r for r in rows if str(r.get("error", "")).startswith("skipped")]
    parts = [f"SUMMARY gemm: {len(rows)} rows ({len(ok)} ok, {len(err)} failed, {len(skip)} skipped) "
             f"in {secs:.0f} s"]
    for kname in sorted({r["kernel"] for r in ok}):
        d = [r for r in ok if r["kernel"] == kname and r["cache"] == "cold"]
        if d:
            best = max(d, key=lambda r: r["tflops"])
            m1 = [r["gbps"] for r in d if r["m"] == 1]
            parts.append(f"{best['dtype']} {kname}: best {best['tflops']:.0f} TFLOP/s at m{best['m']} "
                         f"n{best['n']} k{best['k']}"
                         + (f", m=1 median {statistics.median(m1):.0f} GB/s" if m1 else ""))

    def key(r):
        return (r["kernel"], r["dtype"], r["m"], r["n"], r["k"])
    hot = {key(r): r["latency_ms"] for r in ok if r["cache"] == "hot"}
    ratios = [r["latency_ms"] / hot[key(r)] for r in ok if r["cache"] == "cold" and key(r) in hot]
    if ratios:
        parts.append(f"cold/hot median {statistics.median(ratios):.2f}")
    return "; ".join(parts)


# --------------------------------------------------------------------------
# Attention
# --------------------------------------------------------------------------
def _import(name):
    try:
        return __import__(name)
    except Exception:
        return None


def sdpa_ctx_mgr(backend):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    return sdpa_kernel(getattr(SDPBackend, backend))


def attention_kernels():
    """Names of the context and generation kernels available here."""
    ctx_k, gen_k = [], []
    fa3 = _import("flash_attn_interface")
    fa2 = _import("flash_attn")
    if fa3 is not None and hasattr(fa3, "flash_attn_func"):
        ctx_k.append("flash_attn3")
    if fa3 is not None and hasattr(fa3, "flash_attn_with_kvcache"):
        gen_k.append("flash_attn3_kvcache")
    if fa2 is not None and hasattr(fa2, "flash_attn_func"):
        ctx_k.append("flash_attn2")
    if fa2 is not None and hasattr(fa2, "flash_attn_with_kvcache"):
        gen_k.append("flash_attn2_kvcache")
    ctx_k += ["sdpa_flash", "sdpa_cudnn"]
    gen_k += ["sdpa_flash", "sdpa_cudnn", "torch_matmul_softmax"]
    return ctx_k, gen_k


def _first(x):
    return x[0] if isinstance(x, (tuple, list)) else x


def sdpa_call(q, k, v, causal, backend, gqa):
    with sdpa_ctx_mgr(backend):
        if gqa == "native":
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


def make_ctx_kernel(name, b, s, h, kv, d):
    """Returns (make_set, run, canon) ; canon(set, out) -> (q, k, v, out) as (b, heads, s, d)."""
    g = h // kv

    def make_bshd():
        return (randn(b, s, h, d, dtype="bf16"), randn(b, s, kv, d, dtype="bf16"),
                randn(b, s, kv, d, dtype="bf16"))

    def canon_bshd(st, o):
        return (st[0].transpose(1, 2), st[1].transpose(1, 2), st[2].transpose(1, 2),
                o.transpose(1, 2))

    if name in ("flash_attn2", "flash_attn3"):
        mod = _import("flash_attn" if name == "flash_attn2" else "flash_attn_interface")

        def run(st):
            return _first(mod.flash_attn_func(st[0], st[1], st[2], causal=True))
        return make_bshd, run, canon_bshd, name

    backend = {"sdpa_flash": "FLASH_ATTENTION", "sdpa_cudnn": "CUDNN_ATTENTION"}[name]
    # token-major storage (as serving engines keep it), viewed as (b, h, s, d)
    mode = ["native"]

    def make_set():
        q, k, v = make_bshd()
        st = [q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)]
        if mode[0] == "expand":
            st[1] = st[1].repeat_interleave(g, dim=1)
            st[2] = st[2].repeat_interleave(g, dim=1)
        return tuple(st)

    def run(st):
        return sdpa_call(st[0], st[1], st[2], True, backend, mode[0])

    def canon(st, o):
        return st[0], st[1], st[2], o

    label = [name]

    def probe():
        try:
            st = make_set()
            run(st)
        except TypeError:
            mode[0] = "expand"  # torch without enable_gqa
            label[0] = name + "+kv_expanded"
    return make_set, run, canon, label, probe


def make_gen_kernel(name, b, L, h, kv, d):
    g = h // kv
    if name in ("flash_attn2_kvcache", "flash_attn3_kvcache"):
        mod = _import("flash_attn" if name.startswith("flash_attn2") else "flash_attn_interface")

        def make_set():
            return (randn(b, 1, h, d, dtype="bf16"), randn(b, L, kv, d, dtype="bf16"),
                    randn(b, L, kv, d, dtype="bf16"),
                    torch.full((b,), L, dtype=torch.int32, device="cuda"))

        def run(st):
            return _first(mod.flash_attn_with_kvcache(st[0], st[1], st[2], cache_seqlens=st[3],
                                                      causal=False))

        def canon(st, o):
            return (st[0].transpose(1, 2), st[1].transpose(1, 2), st[2].transpose(1, 2),
                    o.transpose(1, 2))
        return make_set, run, canon, [name], (lambda: None)

    # head-major cache (b, kv, L, d)
    def make_hm():
        return (randn(b, h, 1, d, dtype="bf16"), randn(b, kv, L, d, dtype="bf16"),
                randn(b, kv, L, d, dtype="bf16"))

    def canon_hm(st, o):
        return st[0], st[1], st[2], o

    if name == "torch_matmul_softmax":
        scale = d ** -0.5

        def run(st):
            q = st[0].view(b, kv, g, d)
            sc = torch.matmul(q, st[1].transpose(-1, -2))          # (b, kv, g, L)
            p = torch.softmax(sc.float() * scale, dim=-1).to(torch.bfloat16)
            return torch.matmul(p, st[2]).view(b, h, 1, d)
        return make_hm, run, canon_hm, [name], (lambda: None)

    backend = {"sdpa_flash": "FLASH_ATTENTION", "sdpa_cudnn": "CUDNN_ATTENTION"}[name]
    mode = ["native"]
    label = [name]

    def make_set():
        st = list(make_hm())
        if mode[0] == "expand":
            st[1] = st[1].repeat_interleave(g, dim=1)
            st[2] = st[2].repeat_interleave(g, dim=1)
        return tuple(st)

    def run(st):
        return sdpa_call(st[0], st[1], st[2], False, backend, mode[0])

    def probe():
        try:
            run(make_set())
        except TypeError:
            mode[0] = "expand"
            label[0] = name + "+kv_expanded"
    return make_set, run, canon_hm, label, probe


def attn_ref(q, k, v, causal):
    """fp32 reference; q (b,h,s,d), k/v (b,kv,L,d)."""
    h, kv = q.shape[1], k.shape[1]
    if h != kv:
        k = k.repeat_interleave(h // kv, dim=1)
        v = v.repeat_interleave(h // kv, dim=1)
    q, k, v = q.float(), k.float(), v.float()
    sc = q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5
    if causal:
        s, L = sc.shape[-2], sc.shape[-1]
        mask = torch.ones(s, L, device=q.device, dtype=torch.bool).tril(L - s)
        sc = sc.masked_fill(~mask, float("-inf"))
    return torch.softmax(sc, dim=-1) @ v


def _unpack(kinfo):
    if len(kinfo) == 4:
        make_set, run, canon, name = kinfo
        return make_set, run, canon, [name], (lambda: None)
    return kinfo


def check_attention(ctx_kernels, gen_kernels):
    res = {}
    for name in ctx_kernels:
        try:
            make_set, run, canon, label, probe = _unpack(make_ctx_kernel(name, 1, 384, 8, 2, 128))
            probe()
            st = make_set()
            q, k, v, o = canon(st, run(st))
            res["context:" + label[0]] = rel_err(o, attn_ref(q, k, v, True))
        except Exception as e:
            res["context:" + name] = short_err(e)
    for name in gen_kernels:
        try:
            make_set, run, canon, label, probe = make_gen_kernel(name, 3, 300, 8, 2, 128)
            probe()
            st = make_set()
            q, k, v, o = canon(st, run(st))
            res["generation:" + label[0]] = rel_err(o, attn_ref(q, k, v, False))
        except Exception as e:
            res["generation:" + name] = short_err(e)
    return res


def run_attention_points(ctx, plan, out, kind, checks):
    t_sec = time.time()
    for i, p in enumerate(plan):
        b, h, kv, d = p["b"], p["h"], p["kv"], p["d"]
        if kind == "context":
            s = p["isl"]
            row = dict(gpu=ctx.gpu, kernel=p["kernel"], attn_dtype="bfloat16",
                       kv_cache_dtype="bfloat16", batch_size=b, isl=s, num_heads=h,
                       num_key_value_heads=kv, head_dim=d, window_size=0, causal=1,
                       flops=ctx_flops(b, s, h, d), bytes=ctx_bytes(b, s, h, kv, d))
        else:
            L = p["L"]
            row = dict(gpu=ctx.gpu, kernel=p["kernel"], attn_dtype="bfloat16",
                       kv_cache_dtype="bfloat16", batch_size=b, kv_len=L, isl=1, step=L - 1,
                       num_heads=h, num_key_value_heads=kv, head_dim=d, window_size=0,
                       flops=4.0 * b * h * d * L, bytes=gen_bytes(b, L, h, kv, d))
        row.update(cache=p["cache"], label=p["label"], perfdb_grid=int(p["perfdb_grid"]))
        sec = "attention"
        if time.time() > ctx.deadline[sec]:
            row["error"] = "skipped: section time budget exhausted"
            out.write(row)
            continue
        sets = calls = None
        try:
            if kind == "context":
                make_set, run, canon, label, probe = _unpack(
                    make_ctx_kernel(p["kernel"], b, s, h, kv, d))
            else:
                make_set, run, canon, label, probe = make_gen_kernel(p["kernel"], b, L, h, kv, d)
            probe()
            row["kernel"] = label[0]
            row["check_rel_err"] = checks.get(f"{kind}:{label[0]}")
            R = rotation_count(row["bytes"], p["cache"], ctx.l2)
            sets = [make_set() for _ in range(R)]
            calls = [(lambda st=st: run(st)) for st in sets]
            r = ctx.bench(calls)
            row.update(r)
            if kind == "context":
                row["tflops"] = row["flops"] / (r["latency_ms"] * 1e-3) / 1e12
            else:
                row["gbps"] = row["bytes"] / (r["latency_ms"] * 1e-3) / 1e9
            if r.get("note"):
                row["error"] = r["note"]
        except Exception as e:
            row["error"] = short_err(e)
        finally:
            sets = calls = None
            free_mem()
        out.write(row)
        if i % 20 == 0 or (row.get("error") and not row.get("latency_ms")):
            lat = row.get("latency_ms")
            desc = f"s={s}" if kind == "context" else f"b={b} L={L}"
            log(f"{kind} attention {i + 1}/{len(plan)} {row['kernel']} {p['cache']} h={h}/{kv} "
                f"{desc}: " + (f"{lat * 1e3:.1f} us, {row['method']}" if lat
                               else f"ERROR {row.get('error')}"))
    return time.time() - t_sec


def summarize_attention(kind, rows, secs):
    ok = [r for r in rows if r.get("latency_ms")]
    err = [r for r in rows if not r.get("latency_ms") and not str(r.get("error", "")).startswith("skipped")]
    skip = [r for r in rows if str(r.get("error", "")).startswith("skipped")]
    parts = [f"SUMMARY {kind}_attention: {len(rows)} rows ({len(ok)} ok, {len(err)} failed, "
             f"{len(skip)} skipped) in {secs:.0f} s"]
    kernels = sorted({r["kernel"] for r in ok})
    for kname in kernels:
        d = [r for r in ok if r["kernel"] == kname and r["cache"] == "cold"]
        if not d:
            continue
        if kind == "context":
            best = max(d, key=lambda r: r["tflops"])
            parts.append(f"{kname}: best {best['tflops']:.0f} TFLOP/s (isl {best['isl']}, "
                         f"h {best['num_heads']})")
        else:
            best = max(d, key=lambda r: r["gbps"])
            parts.append(f"{kname}: best {best['gbps']:.0f} GB/s (b {best['batch_size']}, "
                         f"L {best['kv_len']})")
    # which kernel is fastest most often
    by_pt = {}
    for r in ok:
        if r["cache"] != "cold":
            continue
        key = tuple(r.get(c) for c in ("batch_size", "isl", "kv_len", "num_heads", "num_key_value_heads"))
        if key not in by_pt or r["latency_ms"] < by_pt[key]["latency_ms"]:
            by_pt[key] = r
    wins = {}
    for r in by_pt.values():
        wins[r["kernel"]] = wins.get(r["kernel"], 0) + 1
    if wins:
        parts.append("fastest: " + ", ".join(f"{k} {v}" for k, v in sorted(wins.items())))
    return "; ".join(parts)


# --------------------------------------------------------------------------
# All-reduce (one process per GPU)
# --------------------------------------------------------------------------
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _allreduce_worker(rank, world, port, sizes, warmup, reps, result_path, try_graph):
    import datetime
    import torch as T
    import torch.distributed as dist
    T.cuda.set_device(rank)
    dev = T.device("cuda", rank)
    kw = dict(backend="nccl", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
              world_size=world, timeout=datetime.timedelta(seconds=60))
    try:
        dist.init_process_group(device_id=dev, **kw)
    except TypeError:
        dist.init_process_group(**kw)
    out = open(result_path, "a") if rank == 0 else None

    def emit(rec):
        if out is not None:
            out.write(json.dumps(rec) + "\n")
            out.flush()

    tiny = T.ones(1, device=dev)

    def sync():
        dist.all_reduce(tiny)
        T.cuda.synchronize()

    def agree(value, op):
        t = T.tensor([float(value)], device=dev)
        dist.all_reduce(t, op=op)
        return t.item()

    sync()
    graph_ok = try_graph
    for method in ("eager", "graph"):
        for nbytes in sizes:
            rec = dict(num_gpus=world, message_bytes=nbytes, message_elements=nbytes // 2,
                       method=method)
            if method == "graph" and not graph_ok:
                rec["error"] = "graph capture of NCCL all-reduce not available (see first graph row)"
                emit(rec)
                continue
            try:
                n_el = nbytes // 2
                x0 = T.randn(n_el, device=dev, dtype=T.bfloat16).mul_(1e-3)
                x = x0.clone()
                for _ in range(warmup):
                    dist.all_reduce(x)
                sync()
                a, b = T.cuda.Event(enable_timing=True), T.cuda.Event(enable_timing=True)
                a.record()
                for _ in range(5):
                    dist.all_reduce(x)
                b.record()
                b.synchronize()
                # Every rank must issue the same collectives: derive the iteration
                # and repetition counts from the slowest rank's estimate. At most
                # 40 per replay keeps the values finite (the sum grows by `world`
                # per call; x is reset between reps).
                t0 = agree(max(a.elapsed_time(b) / 5, 1e-4), dist.ReduceOp.MAX)
                n_iter = max(1, min(40, math.ceil(1.0 / t0)))
                nrep = reps if t0 * n_iter >= 1.0 else 2 * reps
                g = None
                if method == "graph":
                    err = ""
                    try:
                        s = T.cuda.Stream()
                        s.wait_stream(T.cuda.current_stream())
                        with T.cuda.stream(s):
                            for _ in range(2):
                                dist.all_reduce(x)
                        T.cuda.current_stream().wait_stream(s)
                        T.cuda.synchronize()
                        g = T.cuda.CUDAGraph()
                        with T.cuda.graph(g, stream=s, capture_error_mode="thread_local"):
                            for _ in range(n_iter):
                                dist.all_reduce(x)
                        T.cuda.synchronize()
                    except Exception as e:
                        g = None
                        err = short_err(e)
                    if agree(0.0 if g is None else 1.0, dist.ReduceOp.MIN) < 0.5:
                        graph_ok = False
                        rec["error"] = "graph capture failed: " + (err or "on another rank")
                        emit(rec)
                        continue

                def once():
                    if g is not None:
                        g.replay()
                    else:
                        for _ in range(n_iter):
                            dist.all_reduce(x)

                for _ in range(warmup):
                    x.copy_(x0)
                    once()
                ts = []
                for _ in range(nrep):
                    x.copy_(x0)
                    sync()
                    a.record()
                    once()
                    b.record()
                    b.synchronize()
                    ts.append(a.elapsed_time(b) / n_iter)
                ts.sort()
                med = statistics.median(ts)
                rec.update(latency_ms=agree(med, dist.ReduceOp.MAX),
                           p10_ms=agree(ts[int(0.1 * (len(ts) - 1))], dist.ReduceOp.MAX),
                           p90_ms=agree(ts[int(round(0.9 * (len(ts) - 1)))], dist.ReduceOp.MAX),
                           min_ms=agree(ts[0], dist.ReduceOp.MAX),
                           iters_per_replay=n_iter, reps=len(ts))
                del g
            except Exception as e:
                rec["error"] = short_err(e)
                if method == "graph":
                    graph_ok = False
            emit(rec)
    sync()
    try:
        dist.destroy_process_group()
    except Exception:
        pass
    if out is not None:
        out.close()


def run_allreduce(ctx, out):
    args = ctx.args
    ngpus = torch.cuda.device_count()
    worlds = allreduce_worlds(ngpus, args.quick)
    sizes = allreduce_sizes(args.quick)
    t_sec = time.time()
    base = dict(gpu=ctx.gpu, dtype="bfloat16", nccl_version=ctx.env.get("nccl"))
    if not worlds:
        note = f"allreduce skipped: {ngpus} GPU visible, needs >= 2"
        ctx.env["notes"].append(note)
        out.write(dict(base, num_gpus=ngpus, error="skipped: " + note))
        log(note)
        return time.time() - t_sec
    import torch.multiprocessing as mp
    free_mem()
    for world in worlds:
        left = ctx.deadline["allreduce"] - time.time()
        if left < 20:
            out.write(dict(base, num_gpus=world, error="skipped: section time budget exhausted"))
            continue
        path = os.path.join(args.out, f".allreduce_w{world}.jsonl")
        if os.path.exists(path):
            os.remove(path)
        log(f"allreduce: {world} GPUs, {len(sizes)} sizes (eager, then CUDA graph)")
        err = None
        try:
            pc = mp.start_processes(_allreduce_worker,
                                    args=(world, _free_port(), sizes, args.warmup, args.reps, path,
                                          not args.no_graph),
                                    nprocs=world, join=False, start_method="spawn")
            deadline = time.time() + min(left, 150)
            while True:
                if pc.join(timeout=2):
                    break
                if time.time() > deadline:
                    err = "timed out; worker processes terminated"
                    for proc in pc.processes:
                        if proc.is_alive():
                            proc.terminate()
                    for proc in pc.processes:
                        proc.join(10)
                        if proc.is_alive():
                            proc.kill()
                    break
        except Exception as e:
            err = short_err(e)
        got = set()
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                    row = dict(base, **rec)
                    lat = rec.get("latency_ms")
                    if lat:
                        algbw = rec["message_bytes"] / (lat * 1e-3) / 1e9
                        row["algbw_gbps"] = algbw
                        row["busbw_gbps"] = algbw * 2 * (world - 1) / world
                    row["perfdb_grid"] = int(rec["message_elements"] in PERFDB_COMM_ELEMS)
                    out.write(row)
                    got.add((rec["method"], rec["message_bytes"]))
            os.remove(path)
        for method in ("eager", "graph"):
            for nbytes in sizes:
                if (method, nbytes) not in got:
                    out.write(dict(base, num_gpus=world, message_bytes=nbytes,
                                   message_elements=nbytes // 2, method=method,
                                   error=err or "no result from workers"))
        if err:
            ctx.env["notes"].append(f"allreduce world {world}: {err}")
            log(f"allreduce world {world}: {err}")
    return time.time() - t_sec


def summarize_allreduce(rows, secs):
    ok = [r for r in rows if r.get("latency_ms")]
    parts = [f"SUMMARY allreduce: {len(rows)} rows ({len(ok)} ok) in {secs:.0f} s"]
    for w in sorted({r["num_gpus"] for r in ok}):
        for method in ("graph", "eager"):
            d = sorted((r for r in ok if r["num_gpus"] == w and r["method"] == method),
                       key=lambda r: r["message_bytes"])
            if d:
                parts.append(f"{w} GPUs {method}: {d[0]['message_bytes'] // 1024} KiB "
                             f"{d[0]['latency_ms'] * 1e3:.1f} us, {d[-1]['message_bytes'] >> 20} MiB "
                             f"busbw {d[-1]['busbw_gbps']:.0f} GB/s")
    if len(parts) == 1:
        parts.append(" ".join(sorted({str(r.get('error')) for r in rows}))[:200])
    return "; ".join(parts)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="./out", help="output directory (default ./out)")
    ap.add_argument("--quick", action="store_true", help="reduced grid (< 2 minutes)")
    ap.add_argument("--only", default="gemm,attention,allreduce",
                    help="comma list of sections: gemm,attention,allreduce")
    ap.add_argument("--dry-run", action="store_true",
                    help="print the planned grid and time estimate; touch no GPU")
    ap.add_argument("--verbose", "-v", action="store_true", help="dry run: list every point")
    ap.add_argument("--assume-gpus", type=int, default=2,
                    help="dry run: GPUs assumed visible for the all-reduce estimate (default 2)")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up replays per point (default 5)")
    ap.add_argument("--reps", type=int, default=20,
                    help="timed replays per point (default 20; doubled for replays < 1 ms)")
    ap.add_argument("--no-graph", action="store_true", help="time eager launches, no CUDA graphs")
    ap.add_argument("--time-limit", type=float, default=420.0,
                    help="soft wall-clock budget in seconds for all sections (default 420); "
                         "points past a section's share are written as skipped")
    a = ap.parse_args(argv)
    a.sections = [s.strip() for s in a.only.split(",") if s.strip()]
    bad = [s for s in a.sections if s not in ("gemm", "attention", "allreduce")]
    if bad:
        ap.error(f"unknown section(s) {bad}; use gemm,attention,allreduce")
    return a


SHARE = {"gemm": 0.45, "attention": 0.25, "allreduce": 0.30}


def dry_run(args):
    total = 20.0  # import torch, CUDA init, launch/copy measurements
    print(f"plan ({'quick' if args.quick else 'full'} grid; warmup {args.warmup}, reps {args.reps}; "
          f"estimates assume H100-class rates)")
    if "gemm" in args.sections:
        g = plan_gemm(args.quick)
        est = sum(p["est_s"] for p in g)
        total += est
        nk = {(p["n"], p["k"]) for p in g}
        n_on = sum(1 for p in g if p["perfdb_grid"])
        by = {}
        for p in g:
            key = (p["dtype"], p["kernel"], p["cache"])
            by[key] = by.get(key, 0) + 1
        print(f"gemm: {len(g)} points, {len(nk)} (n,k) shapes, {n_on} on perfdb grid points; "
              f"est {est:.0f} s")
        for key, c in sorted(by.items()):
            print(f"  {key[0]:9s} {key[1]:32s} {key[2]:4s} {c}")
        if args.verbose:
            for p in g:
                print(f"    {p['dtype']} {p['cache']} m={p['m']} n={p['n']} k={p['k']} "
                      f"grid={int(p['perfdb_grid'])} {p['label']}  est {p['est_s'] * 1e3:.0f} ms")
    if "attention" in args.sections:
        kc = ["sdpa_flash", "sdpa_cudnn"]
        kg = ["sdpa_flash", "sdpa_cudnn", "torch_matmul_softmax"]
        c, g = plan_attention(args.quick, kc, kg)
        ec, eg = sum(p["est_s"] for p in c), sum(p["est_s"] for p in g)
        total += ec + eg
        print(f"context attention: {len(c)} points ({len({(p['h'], p['kv'], p['isl']) for p in c})} "
              f"shapes x kernels {kc}; {sum(p['perfdb_grid'] for p in c)} on perfdb grid; "
              f"{sum(p['cache'] == 'hot' for p in c)} hot-L2 twins); est {ec:.0f} s")
        print(f"generation attention: {len(g)} points ({len({(p['h'], p['kv'], p['b'], p['L']) for p in g})} "
              f"shapes x kernels {kg}; {sum(p['perfdb_grid'] for p in g)} on perfdb grid; "
              f"{sum(p['cache'] == 'hot' for p in g)} hot-L2 twins); est {eg:.0f} s")
        print("  (+ flash_attn2/3 kernels, about +50% each, when those packages are importable)")
        if args.verbose:
            for p in c:
                print(f"    ctx {p['kernel']} {p['cache']} b=1 isl={p['isl']} h={p['h']}/{p['kv']} "
                      f"grid={int(p['perfdb_grid'])} {p['label']}")
            for p in g:
                print(f"    gen {p['kernel']} {p['cache']} b={p['b']} L={p['L']} h={p['h']}/{p['kv']} "
                      f"grid={int(p['perfdb_grid'])} {p['label']}")
    if "allreduce" in args.sections:
        worlds = allreduce_worlds(args.assume_gpus, args.quick)
        sizes = allreduce_sizes(args.quick)
        for w in (2, 4, 8):
            e = est_allreduce_s(w, sizes, args.warmup, args.reps)
            inc = w in worlds
            if inc:
                total += e
            print(f"allreduce {w} GPUs: {len(sizes)} sizes x (eager, graph), "
                  f"{sizes[0]} B .. {sizes[-1] >> 20} MiB; est {e:.0f} s"
                  + ("" if inc else f"  (not counted: --assume-gpus {args.assume_gpus})"))
    print(f"TOTAL estimated: {total:.0f} s ({total / 60:.1f} min); soft limit --time-limit "
          f"{args.time_limit:.0f} s (shares: {SHARE})")
    return 0


def main(argv=None):
    global torch, F, ARGS
    args = parse_args(argv)
    ARGS = args
    if args.dry_run:
        return dry_run(args)
    import torch as _t
    import torch.nn.functional as _F
    torch, F = _t, _F
    os.makedirs(args.out, exist_ok=True)
    t_all = time.time()
    env = collect_env(args)
    env["checks"] = {}
    env["sections"] = {}
    env_path = os.path.join(args.out, "env.json")

    def save_env():
        with open(env_path, "w") as f:
            json.dump(env, f, indent=2, default=str)

    save_env()
    summaries = []
    if not torch.cuda.is_available():
        env["notes"].append("CUDA not available: nothing measured")
        save_env()
        print("SUMMARY: CUDA not available; env.json written, nothing measured")
        return 0
    log(f"GPU {env['gpu']} x{env['device_count']}, torch {env['torch']} (CUDA {env['torch_cuda']}), "
        f"cuDNN {env['cudnn']}, NCCL {env['nccl']}, flash_attn {env.get('flash_attn')}, "
        f"flash_attn_interface {env.get('flash_attn_interface')}")
    ctx = Ctx(args, env)
    torch.manual_seed(0)
    # budgets: each selected section gets its share of the time limit, plus what
    # earlier sections left unused
    shares = {s: SHARE[s] for s in args.sections}
    tot = sum(shares.values())
    budget = {s: args.time_limit * v / tot for s, v in shares.items()}

    log("launch overhead and copy bandwidth")
    env["launch_overhead"] = measure_launch(ctx)
    env["ceilings"] = measure_ceilings(ctx)
    lo = env["launch_overhead"]
    summaries.append(
        "SUMMARY launch: empty kernel eager "
        f"{lo.get('empty_kernel_eager_host_us_per_launch', float('nan')):.1f} us/launch (host), "
        f"graph {lo.get('empty_kernel_graph_us_per_kernel', float('nan')):.2f} us/kernel, "
        f"launch+sync {lo.get('empty_kernel_launch_sync_roundtrip_us_median', float('nan')):.1f} us; "
        f"d2d copy {env['ceilings'].get('d2d_copy_gbps_read_plus_write', float('nan')):.0f} GB/s")
    log(summaries[-1])
    save_env()

    carry = 0.0
    t_sec_start = time.time()
    for sec in ("gemm", "attention", "allreduce"):
        if sec not in args.sections:
            continue
        t0 = time.time()
        ctx.deadline[sec] = t0 + budget[sec] + carry
        info = env["sections"].setdefault(sec, {})
        info["budget_s"] = budget[sec] + carry
        try:
            if sec == "gemm":
                plan = plan_gemm(args.quick)
                info["planned_points"] = len(plan)
                info["estimated_s"] = sum(p["est_s"] for p in plan)
                log(f"gemm: {len(plan)} points (est {info['estimated_s']:.0f} s)")
                out = CsvOut(os.path.join(args.out, "gemm.csv"), GEMM_CSV)
                try:
                    secs = run_gemm(ctx, plan, out)
                finally:
                    out.close()
                summaries.append(summarize_gemm(out.rows, secs))
            elif sec == "attention":
                kc, kg = attention_kernels()
                info["kernels"] = {"context": kc, "generation": kg}
                ctx_plan, gen_plan = plan_attention(args.quick, kc, kg)
                info["planned_points"] = len(ctx_plan) + len(gen_plan)
                info["estimated_s"] = sum(p["est_s"] for p in ctx_plan + gen_plan)
                checks = check_attention(kc, kg)
                env["checks"]["attention_rel_err_vs_fp32"] = checks
                log(f"attention kernels ctx={kc} gen={kg}; checks {checks}")
                free_mem()
                oc = CsvOut(os.path.join(args.out, "context_attention.csv"), CTX_CSV)
                og = CsvOut(os.path.join(args.out, "generation_attention.csv"), GEN_CSV)
                try:
                    s1 = run_attention_points(ctx, ctx_plan, oc, "context", checks)
                    s2 = run_attention_points(ctx, gen_plan, og, "generation", checks)
                finally:
                    oc.close()
                    og.close()
                summaries.append(summarize_attention("context", oc.rows, s1))
                summaries.append(summarize_attention("generation", og.rows, s2))
            else:
                out = CsvOut(os.path.join(args.out, "allreduce.csv"), AR_CSV)
                try:
                    secs = run_allreduce(ctx, out)
                finally:
                    out.close()
                summaries.append(summarize_allreduce(out.rows, secs))
        except Exception as e:
            msg = f"section {sec} failed: {short_err(e)}"
            env["notes"].append(msg)
            env["notes"].append(traceback.format_exc()[-1500:])
            summaries.append(f"SUMMARY {sec}: FAILED {short_err(e)}")
            log(msg)
        finally:
            try:
                free_mem()
            except Exception:
                pass
        used = time.time() - t0
        info["seconds"] = used
        carry = max(0.0, ctx.deadline[sec] - time.time())
        env[f"nvidia_smi_after_{sec}"] = nvidia_smi()
        save_env()
        for line in summaries[-2 if sec == "attention" else -1:]:
            log(line)

    env["nvidia_smi_topo"] = nvidia_smi_topo() if torch.cuda.device_count() > 1 else None
    env["total_seconds"] = time.time() - t_all
    env["measure_seconds"] = time.time() - t_sec_start
    save_env()
    print("\n".join(summaries))
    print(f"SUMMARY total: {env['total_seconds']:.0f} s; outputs in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
