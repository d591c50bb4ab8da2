#!/usr/bin/env python3
"""Checks that the .npz files of `dgdr profile` output directories load with
numpy, with the keys, dtypes and shapes the Dynamo planner and mocker read
(SPEC §6). Usage: check_npz.py OUTPUT_DIR [OUTPUT_DIR ...]. Exit 0 when all
pass; otherwise prints every problem and exits 1."""
import sys
from pathlib import Path

import numpy as np

PREFILL = ["prefill_isl", "prefill_ttft", "prefill_thpt_per_gpu"]
DECODE = ["x_kv_usage", "y_context_length", "z_itl", "z_thpt_per_gpu"]


def check_dir(root: Path) -> list:
    problems = []
    pre = root / "selected_prefill_interpolation" / "raw_data.npz"
    dec = root / "selected_decode_interpolation" / "raw_data.npz"
    for f in (pre, dec):
        if not f.is_file():
            problems.append(f"{f}: missing")
    if problems:
        return problems
    with np.load(pre) as z:
        if sorted(z.files) != sorted(PREFILL):
            problems.append(f"{pre}: keys {sorted(z.files)}, expected {sorted(PREFILL)}")
        else:
            n = z["prefill_isl"].shape
            for k in PREFILL:
                a = z[k]
                if a.dtype != np.float64 or a.ndim != 1 or a.shape != n or a.size < 2:
                    problems.append(f"{pre}: {k} is {a.dtype}{a.shape}, expected float64 1-D like prefill_isl{n}")
                if not np.all(np.isfinite(a)) or np.any(a <= 0):
                    problems.append(f"{pre}: {k} has non-finite or non-positive values")
            if np.any(np.diff(z["prefill_isl"]) <= 0):
                problems.append(f"{pre}: prefill_isl is not increasing")
    with np.load(dec) as z:
        if sorted(z.files) != sorted(DECODE + ["max_kv_tokens"]):
            problems.append(f"{dec}: keys {sorted(z.files)}, expected {sorted(DECODE + ['max_kv_tokens'])}")
        else:
            n = z["x_kv_usage"].shape
            for k in DECODE:
                a = z[k]
                if a.dtype != np.float64 or a.ndim != 1 or a.shape != n or a.size < 2:
                    problems.append(f"{dec}: {k} is {a.dtype}{a.shape}, expected float64 1-D like x_kv_usage{n}")
                if not np.all(np.isfinite(a)):
                    problems.append(f"{dec}: {k} has non-finite values")
            kv = z["x_kv_usage"]
            if np.any(kv < 0) or np.any(kv > 1):
                problems.append(f"{dec}: x_kv_usage outside [0, 1]")
            m = z["max_kv_tokens"]
            if m.shape != (1,) or not np.issubdtype(m.dtype, np.integer) or int(m[0]) <= 0:
                problems.append(f"{dec}: max_kv_tokens is {m.dtype}{m.shape}, expected one positive integer")
    return problems


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    problems = []
    for d in sys.argv[1:]:
        problems += check_dir(Path(d))
    for p in problems:
        print(f"check_npz: {p}")
    if not problems:
        print(f"check_npz: {len(sys.argv) - 1} output directories OK (numpy {np.__version__})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
