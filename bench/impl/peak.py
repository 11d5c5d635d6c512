"""The machine's measured peak: float32 matrix products on OpenBLAS through NumPy.

Prints one JSON line: GFLOP/s of a large square sgemm (median of several), at
the thread count OPENBLAS_NUM_THREADS gives (the orchestrator runs it at 1 and
at all cores). The limit rows of the benchmark divide it by FLOPs per sample.
"""

import json
import os
import statistics
import time

import numpy as np


def main():
    n = 1536
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    for _ in range(3):
        np.matmul(a, b, out=c)
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        times.append(time.perf_counter() - t0)
    gflops = 2 * n**3 / statistics.median(times) / 1e9
    print(json.dumps({"impl": "peak", "n": n, "threads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0")) or None,
                      "gflops": round(gflops, 1), "best_gflops": round(2 * n**3 / min(times) / 1e9, 1)}), flush=True)


if __name__ == "__main__":
    main()
