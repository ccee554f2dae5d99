"""Benchmark of ``rate-table`` on a CSV extract (not a test): CPU time, A/B between trees.

    .venv/bin/python bench/bench_csv.py --clients 1000000 [--dir /tmp/bench-table]
        [--tree /work/main --tree .]

Writes (once, untimed, cached in --dir) bench_table.py's generated extract as CSV — every cell
text, as a warehouse's CSV export holds them (``123456.78``, an empty cell where no figure) —
then runs the local engine on it once per ``--tree`` (the package imported from that source
tree), each in a child process, back to back, and prints each run's wall time, its CPU time
(user + system of the child and its descendants: ``resource.getrusage(RUSAGE_CHILDREN)``) and
the load average before and after (the machine is shared: compare the CPU times of one
invocation).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

RUN = """
import sys, datetime as dt
sys.path.insert(0, {tree!r})
import workbook
assert workbook.__file__.startswith({tree!r}), workbook.__file__
from workbook.table import rate_table
rate_table({src!r}, period="2026Q3", mode="quarterly", out={out!r}, operator="bench",
           now=dt.datetime(2026, 11, 21, 9, 0), force=True)
"""


def write_csv(n: int, d: Path) -> Path:
    """bench_table's extract of ``n`` clients as CSV (Parquet generated first if need be)."""
    import bench_table
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csv = d / f"clients-{n}.csv"
    if csv.exists():
        return csv
    src = d / f"clients-{n}.parquet"
    if not src.exists():
        bench_table.generate(n, src)
    with pq.ParquetFile(src) as f, pacsv.CSVWriter(csv, f.schema_arrow) as w:
        for b in f.iter_batches(batch_size=1 << 18):
            w.write_batch(b)
    return csv


def run(tree: Path, src: Path, out: Path) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", RUN.format(tree=str(tree), src=str(src),
                                                     out=str(out))], check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "load_before": round(load, 1),
            "load_after": round(os.getloadavg()[0], 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=1_000_000)
    ap.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "bench-table"))
    ap.add_argument("--tree", action="append", default=[],
                    help="a source tree to import the package from (repeat; default this one)")
    args = ap.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    src = write_csv(args.clients, d)
    for k, tree in enumerate(args.tree or [str(ROOT)]):
        got = run(Path(tree).resolve(), src, d / f"out-csv-{k}")
        print(json.dumps({"tree": tree, "clients": args.clients, **got}), flush=True)


if __name__ == "__main__":
    main()
