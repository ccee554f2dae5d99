"""Benchmark of a repeated ``push-branches`` (not a test): CPU time, A/B between trees.

    .venv/bin/python bench/bench_push.py --clients 50000 [--dir /tmp/bench-push]
        [--tree /work/main --tree .]

Makes (once, untimed, cached in --dir) the demo's N clients of its 5 营业部, one workbook per
营业部 from the template, and rates them with rate-table. Then for each ``--tree`` (the package
imported from that source tree), in a child process each, on a fresh copy of the workbooks:
pushes the decisions once (untimed) and then the same decisions again, timed — wall time and
CPU time (user + system of the child: ``resource.getrusage(RUSAGE_CHILDREN)``), with the load
average before and after (the machine is shared: compare CPU times of one invocation).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PUSH = """
import sys, datetime as dt
sys.path.insert(0, {tree!r})
import workbook
assert workbook.__file__.startswith({tree!r}), workbook.__file__
from workbook.push import push_branches
rep = push_branches({out!r}, {books!r}, operator="bench", now=dt.datetime(2026, 11, 21, 9, 0))
print({label!r}, sorted({{b.status for b in rep.branches}}), file=sys.stderr)
"""


def prepare(n: int, d: Path) -> tuple[Path, Path]:
    """(the workbooks' folder, rate-table's output) of ``n`` demo clients."""
    sys.path.insert(0, str(ROOT))
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    from workbook.demo import make_demo_clients
    from workbook.table import rate_table
    from workbook.template import new_workbook

    books, out = d / f"books-{n}", d / f"out-{n}"
    if books.exists() and out.exists():
        return books, out
    rows = make_demo_clients(n, 7, today=dt.date(2026, 11, 21))
    heads = list(dict.fromkeys(k for r in rows for k in r))
    pq.write_table(pa.table({h: pa.array([None if r.get(h) is None else str(r[h])
                                          for r in rows], pa.string()) for h in heads}),
                   d / f"extract-{n}.parquet")
    books.mkdir(parents=True, exist_ok=True)
    for br in sorted({r["营业部"] for r in rows}):
        new_workbook(books / f"{br}.xlsx", "brokerage", [r for r in rows if r["营业部"] == br])
    rate_table(d / f"extract-{n}.parquet", period="2026Q3", mode="quarterly", out=out,
               operator="bench", now=dt.datetime(2026, 11, 21, 9, 0))
    return books, out


def push(tree: Path, out: Path, books: Path, label: str) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", PUSH.format(tree=str(tree), out=str(out),
                                                      books=str(books), label=label)],
                   check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "load_before": round(load, 1),
            "load_after": round(os.getloadavg()[0], 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50_000)
    ap.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "bench-push"))
    ap.add_argument("--tree", action="append", default=[],
                    help="a source tree to import the package from (repeat; default this one)")
    args = ap.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    books, out = prepare(args.clients, d)
    for k, tree in enumerate(args.tree or [str(ROOT)]):
        copy = d / f"books-{k}"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(books, copy)
        t = Path(tree).resolve()
        first = push(t, out, copy, "first")
        again = push(t, out, copy, "again")
        print(json.dumps({"tree": tree, "clients": args.clients, "first_push": first,
                          "second_push": again}), flush=True)


if __name__ == "__main__":
    main()
