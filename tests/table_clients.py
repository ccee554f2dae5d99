"""Clients for the table tests: the demo's generated clients, with tiers from a previous
quarter, as a workbook (the job's input) and as Parquet / CSV extracts (rate-table's)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workbook.demo import make_demo_clients

TODAY = dt.date(2026, 11, 21)
PERIOD = "2026Q3"
NOW = dt.datetime(2026, 11, 21, 9, 30)


def clients(n: int = 600, seed: int = 7) -> list[dict[str, Any]]:
    """The demo's clients (bad rows, duplicates, numbers typed as text, overrides), most with
    a 当前级别/年度级别 of a previous quarter."""
    out = make_demo_clients(n, seed, today=TODAY)
    rng = np.random.default_rng(seed + 1)
    tiers = ("VIP客户", "核心客户", "潜力客户", "普通客户")
    for c in out:
        u = rng.random()
        if u < 0.7:
            c["当前级别"] = c["年度级别"] = tiers[int(rng.integers(len(tiers)))]
        elif u < 0.8:
            c["年度级别"] = tiers[int(rng.integers(len(tiers)))]
    return out


def headers(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for r in rows for k in r))


def to_arrow(rows: list[dict[str, Any]], rename: dict[str, str] | None = None) -> pa.Table:
    """A column of one kind stays numbers or dates; a column mixing numbers and texts (as a
    sheet may) is stored as text, as a warehouse extract of such a column would be."""
    cols = {}
    for h in headers(rows):
        vals = [r.get(h) for r in rows]
        kinds = {type(v) for v in vals if v is not None}
        if kinds <= {float, int} and kinds:
            arr = pa.array([None if v is None else float(v) for v in vals], pa.float64())
        elif kinds == {dt.date}:
            arr = pa.array(vals, pa.date32())
        else:
            arr = pa.array([None if v is None else str(v) for v in vals], pa.string())
        cols[(rename or {}).get(h, h)] = arr
    return pa.table(cols)


def write_parquet(rows: list[dict[str, Any]], path: Path, **kw: Any) -> Path:
    pq.write_table(to_arrow(rows, kw.pop("rename", None)), path, **kw)
    return path


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    hs = headers(rows)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(hs)
        for r in rows:
            w.writerow(["" if r.get(h) is None else
                        (r[h].isoformat() if isinstance(r.get(h), dt.date) else
                         repr(r[h]) if isinstance(r.get(h), float) else r[h]) for h in hs])
    return path


def spark_jobs(spark: Any, group: str, run: Any) -> tuple[Any, list[int]]:
    """``run()``'s result and the ids of the Spark jobs it ran (counted by job group)."""
    sc = spark.sparkContext
    sc.setJobGroup(group, "rate-table")
    try:
        res = run()
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    return res, list(sc.statusTracker().getJobIdsForGroup(group))
