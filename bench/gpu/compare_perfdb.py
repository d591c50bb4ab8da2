#!/usr/bin/env python3
"""Join measure_ops.py's CSVs with AI Configurator's perf database and print ratios.

Runs on a machine without a GPU; needs pandas and pyarrow (`pip install pandas
pyarrow`). Example, from the repo root:

    python3 bench/gpu/compare_perfdb.py bench/gpu/results/h200_sxm-x2 \
        --perfdb ../shared/data/perfdb

The system directory (h100_sxm / h200_sxm) comes from env.json's
`perfdb_system` unless --system is given. Ratios are measured / perfdb
(< 1: this GPU run was faster than the table says). Joins:
  gemm                  (gemm_dtype, m, n, k)
  context attention     bf16/bf16, window 0, (batch, isl, heads, kv heads, head_dim)
  generation attention  bf16/bf16, window 0, (batch, isl + step = kv_len, heads, kv heads, head_dim)
  all-reduce            nccl_perf all_reduce, dtype half, (num_gpus, message_size = elements)
Only rows measured with cache == "cold" are compared unless --cache hot.
"""

import argparse
import glob
import json
import os

import numpy as np
import pandas as pd

BACKENDS = [("trtllm", "1.3.0rc20"), ("vllm", "0.24.0"), ("sglang", "0.5.14")]


def stats(r):
    r = r.dropna()
    if r.empty:
        return "n=0"
    return (f"n={len(r)} median {r.median():.2f} p10 {r.quantile(0.1):.2f} "
            f"p90 {r.quantile(0.9):.2f} mean|log| {np.abs(np.log(r)).mean():.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", help="directory with gemm.csv, ... and env.json")
    ap.add_argument("--perfdb", default="../shared/data/perfdb")
    ap.add_argument("--system", default=None)
    ap.add_argument("--cache", default="cold")
    a = ap.parse_args()
    env = json.load(open(os.path.join(a.results, "env.json")))
    system = a.system or env.get("perfdb_system")
    db = os.path.join(a.perfdb, system)
    print(f"{a.results}: {env.get('gpu')} vs {db}")

    p = os.path.join(a.results, "gemm.csv")
    if os.path.exists(p):
        g = pd.read_csv(p)
        g = g[(g.cache == a.cache) & g.latency_ms.notna()]
        for be, ver in BACKENDS:
            f = os.path.join(db, "gemm", be, ver, "gemm_perf.parquet")
            if not os.path.exists(f):
                continue
            d = pd.read_parquet(f, columns=["gemm_dtype", "m", "n", "k", "latency"])
            d = d.rename(columns={"gemm_dtype": "dtype", "latency": "db_ms"})
            j = g.merge(d, on=["dtype", "m", "n", "k"])
            j["ratio"] = j.latency_ms / j.db_ms
            print(f"gemm vs {be} {ver}:")
            for kern, grp in j.groupby("kernel"):
                print(f"  {kern:32s} {stats(grp.ratio)}")

    for kind in ("context", "generation"):
        p = os.path.join(a.results, f"{kind}_attention.csv")
        if not os.path.exists(p):
            continue
        m = pd.read_csv(p)
        m = m[(m.cache == a.cache) & m.latency_ms.notna()]
        keys = ["batch_size", "isl" if kind == "context" else "kv_len", "num_heads",
                "num_key_value_heads", "head_dim"]
        for be, ver in BACKENDS:
            f = os.path.join(db, "attention", be, ver, f"{kind}_attention_perf.parquet")
            if not os.path.exists(f):
                continue
            d = pd.read_parquet(f)
            d = d[(d.attn_dtype == "bfloat16") & (d.kv_cache_dtype == "bfloat16")
                  & (d.window_size == 0) & (d.beam_width == 1)]
            if kind == "context":
                d = d[d.step == 0]
            else:
                d = d.assign(kv_len=d.isl + d.step)
            d = d.groupby(keys, as_index=False).latency.median().rename(columns={"latency": "db_ms"})
            j = m.merge(d, on=keys)
            j["ratio"] = j.latency_ms / j.db_ms
            print(f"{kind} attention vs {be} {ver}:")
            for kern, grp in j.groupby("kernel"):
                print(f"  {kern:32s} {stats(grp.ratio)}")

    p = os.path.join(a.results, "allreduce.csv")
    if os.path.exists(p):
        r = pd.read_csv(p)
        r = r[r.latency_ms.notna()]
        files = sorted(glob.glob(os.path.join(db, "comm", "nccl", "*", "nccl_perf.parquet")))
        if files and not r.empty:
            f = files[-1] if not os.path.exists(os.path.join(db, "comm", "nccl", "2.29.2")) else \
                os.path.join(db, "comm", "nccl", "2.29.2", "nccl_perf.parquet")
            d = pd.read_parquet(f)
            d = d[(d.op_name == "all_reduce") & (d.nccl_dtype == "half")]
            d = d.groupby(["num_gpus", "message_size"], as_index=False).latency.median()
            d = d.rename(columns={"message_size": "message_elements", "latency": "db_ms"})
            j = r.merge(d, on=["num_gpus", "message_elements"])
            j["ratio"] = j.latency_ms / j.db_ms
            print(f"all-reduce vs {os.path.relpath(f, a.perfdb)}:")
            for (w, meth), grp in j.groupby(["num_gpus", "method"]):
                print(f"  {w} GPUs {meth:6s} {stats(grp.ratio)}")
                for _, row in grp.iterrows():
                    print(f"      {int(row.message_bytes):>10d} B  {row.latency_ms * 1e3:8.1f} us  "
                          f"perfdb {row.db_ms * 1e3:8.1f} us  ratio {row.ratio:.2f}")


if __name__ == "__main__":
    main()
