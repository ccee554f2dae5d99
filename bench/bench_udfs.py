"""Time CLIENT_TIER over 1,000,000 rows, called the way xlwings calls it for a column range
(2-D lists of floats, ``ndim=2``). Target: ≤ 2 s of Python time. Run:

    .venv/bin/python bench/bench_udfs.py [rows]

Measures only the Python side: Excel's own time to hand over and spill 1M cells over COM is not
included (not measurable without Excel).
"""

from __future__ import annotations

import sys
import time

import numpy as np

import udfs


def main(n: int = 1_000_000) -> None:
    rng = np.random.default_rng(2009)
    assets = (rng.lognormal(12, 2, n)).round(2)
    commission = (rng.lognormal(7, 2, n)).round(2)
    a = [[float(x)] for x in assets]
    c = [[float(x)] for x in commission]
    udfs.CLIENT_TIER([[1.0], [2.0]], [[0.0], [0.0]])  # load the rulebook once (not timed)
    for label, args in (("floats", (a, c)),
                        ("floats, empty commission cells", (a, [[None]] * n))):
        t0 = time.perf_counter()
        out = udfs.CLIENT_TIER(*args)
        t = time.perf_counter() - t0
        counts: dict[str, int] = {}
        for row in out:
            counts[row[0]] = counts.get(row[0], 0) + 1
        print(f"CLIENT_TIER {n:,} rows ({label}): {t:.2f} s  {dict(sorted(counts.items()))}")
    # some bad cells: per-cell errors on the vectorised path
    a_bad = list(a)
    for i in range(0, n, 1000):
        a_bad[i] = ["x"] if i % 2000 else [-1.0]
    t0 = time.perf_counter()
    out = udfs.CLIENT_TIER(a_bad, c)
    t = time.perf_counter() - t0
    bad = sum(1 for row in out if row[0].startswith("#"))
    print(f"CLIENT_TIER {n:,} rows with {bad:,} bad cells: {t:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
