"""Benchmark of rules/: vectorised evaluation vs a bare numpy.select, and scalar calls.

Run on demand (not part of the tests):  .venv/bin/python bench/bench_rules.py [--rows N]

Prints the rate of explained decisions (label, rule id and rulebook version per row, reasons on
demand) of ``Rulebook.evaluate_many`` against a bare ``numpy.select`` of the same brokerage
conditions on the same data in the same run, and the time of one scalar ``evaluate`` call.
Goal (issue 2): vectorised ≥ 50% of bare numpy's rate; scalar ≤ 5 µs per call.
"""

from __future__ import annotations

import argparse
import time
import timeit

import numpy as np

from rules import get_rulebook


def bare_numpy(assets: np.ndarray, commission: np.ndarray) -> np.ndarray:
    conds = [
        assets > 10_000_000,
        ((assets >= 250_000) & (assets < 10_000_000))
        | ((commission >= 5_000) & (assets >= 100_000) & (assets < 250_000)),
        ((assets >= 100_000) & (assets < 250_000))
        | ((commission >= 3_000) & (commission < 5_000) & (assets >= 10_000) & (assets < 100_000)),
    ]
    return np.select(conds, np.array(["VIP客户", "核心客户", "潜力客户"], dtype=object),
                     default="普通客户")


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    n = args.rows
    assets = np.round(np.exp(rng.normal(12, 2.2, n)), 2)
    commission = np.round(np.exp(rng.normal(7.5, 1.5, n)), 2)
    rb = get_rulebook("brokerage")

    expected = bare_numpy(assets, commission)
    batch = rb.evaluate_many([assets, commission])
    assert (batch.labels == expected).all(), "engine and bare numpy disagree"

    t_np = best_of(lambda: bare_numpy(assets, commission), args.repeat)

    def engine():
        b = rb.evaluate_many([assets, commission])
        return b.labels, b.rule_ids

    t_engine = best_of(engine, args.repeat)
    print(f"rows: {n:,}")
    print(f"bare numpy.select (labels):                    {t_np * 1e3:8.1f} ms "
          f"({n / t_np / 1e6:6.1f} M rows/s)")
    print(f"evaluate_many (validated; labels + rule ids):  {t_engine * 1e3:8.1f} ms "
          f"({n / t_engine / 1e6:6.1f} M rows/s)")
    print(f"engine rate / bare numpy rate: {t_np / t_engine:.0%}  (goal ≥ 50%)")

    calls = 200_000
    per = min(timeit.repeat(lambda: rb.evaluate(300_000.0, 0.0), number=calls, repeat=3)) / calls
    per_label = min(timeit.repeat(lambda: rb.evaluate(300_000.0, 0.0).label, number=calls,
                                  repeat=3)) / calls
    print(f"scalar evaluate: {per * 1e6:.2f} µs/call; with .label: {per_label * 1e6:.2f} µs/call "
          f"(goal ≤ 5 µs)")
    t = time.perf_counter()
    reasons = [batch.reason(i) for i in range(10_000)]
    dt_r = time.perf_counter() - t
    print(f"reason text on demand: {dt_r / len(reasons) * 1e6:.1f} µs/row")


if __name__ == "__main__":
    main()
