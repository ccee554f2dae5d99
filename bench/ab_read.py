"""A/B of the read of 客户 (not a test): the time and CPU of the job's read, and a dump of what
it reads, to compare two versions of the reader (run once with each on PYTHONPATH).

    PYTHONPATH=. .venv/bin/python bench/ab_read.py time FILE           # CPU and wall
    PYTHONHASHSEED=0 PYTHONPATH=. .venv/bin/python bench/ab_read.py dump FILE OUT.pkl
    .venv/bin/python bench/ab_read.py compare A.pkl B.pkl              # the same values?

    PYTHONPATH=. .venv/bin/python bench/ab_read.py build FILE N [EVERY]  # a file to read

PYTHONPATH chooses the reader measured (this script may lie in another tree). FILE: a bench
workbook (bench_rerate.py's ``branch_N_q2.xlsx``). ``time`` reads 客户 with the
columns the job reads, by the job's two forked workers (``start_read``; wall, the parent's and
the workers' CPU seconds) and by ``read_sheet`` in one pass, with the load average. ``dump``
pickles both SheetData and a full read (every column, formula texts); ``compare`` says
whether two dumps hold equal values (columns, hashes, formulas, formula places, sizes; the
hashed column needs the same PYTHONHASHSEED in both dumps). ``build`` writes a branch workbook
of N clients as bench_rerate.py's ``build`` (its unrated ``_new``) but with rows of other
shapes, as a branch's list has: in one row in EVERY (100; 0: none) a 特别调整级别 typed (a cell
more), in another 上年度净佣金 left empty (the cell absent).
"""

from __future__ import annotations

import os
import pickle
import resource
import sys
import time
from pathlib import Path

import numpy as np

import workbook.xlsxio  # (first: the reader of PYTHONPATH, not of this file's tree, is measured)

TREE = Path(workbook.xlsxio.__file__).resolve().parents[2]
print(f"reader: {TREE}", file=sys.stderr)
sys.path.append(str(TREE / "bench"))  # (bench_rerate of the same tree)


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _reads(path: Path) -> dict:
    from bench_rerate import job_columns

    from workbook.xlsxio import read_sheet
    from workbook.xlsxio.parallel import start_read

    kw = job_columns(path)
    sheet = kw.pop("sheet")
    out: dict = {"load": os.getloadavg()}
    t, c, w = time.perf_counter(), time.process_time(), _children_cpu()
    started = start_read(path, sheet, **kw)
    out["workers"] = started.result() if started is not None else None
    out["workers_time"] = (time.perf_counter() - t, time.process_time() - c, _children_cpu() - w)
    t, c = time.perf_counter(), time.process_time()
    out["one_pass"] = read_sheet(path, sheet, columns=kw["columns"], hashed=kw.get("hashed"),
                                 formula_text=False)
    out["one_pass_time"] = (time.perf_counter() - t, time.process_time() - c)
    return out


def build_mixed(path: Path, n: int, every: int = 100) -> None:
    """bench_rerate's ``build`` with a cell more in rows ``every``k and a cell less in rows
    ``every``k + ``every``/2 of 客户 (none when ``every`` is 0)."""
    import xlsxwriter.worksheet as xw
    from bench_rerate import TIERS, build

    from workbook.template import CLIENT_HEADERS

    com = CLIENT_HEADERS.index("上年度净佣金")
    adj = CLIENT_HEADERS.index("特别调整级别")
    real = xw.Worksheet.write_number

    def write_number(self, row, col, *args, **kw):
        if every and self.name == "客户" and col == com and row > 0:
            if row % every == every // 2:
                return 0  # left empty: no cell written
            if row % every == 0:
                self.write_string(row, adj, TIERS[row // every % len(TIERS)])
        return real(self, row, col, *args, **kw)

    xw.Worksheet.write_number = write_number
    try:
        build(path, n)
    finally:
        xw.Worksheet.write_number = real


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return type(a) is type(b) and np.array_equal(a, b)
    return type(a) is type(b) and a == b


def compare(a_path: Path, b_path: Path) -> list[str]:
    """The differences between two dumps (none: the same values)."""
    a, b = (pickle.loads(p.read_bytes()) for p in (a_path, b_path))
    diffs = []
    for key in ("workers", "one_pass", "full"):
        x, y = a[key], b[key]
        for field in ("name", "n_rows", "header", "header_values", "selected", "formulas"):
            if getattr(x, field) != getattr(y, field):
                diffs.append(f"{key}.{field}")
        if len(x.columns) != len(y.columns):
            diffs.append(f"{key}: {len(x.columns)} vs {len(y.columns)} columns")
        for c, (u, v) in enumerate(zip(x.columns, y.columns, strict=False), start=1):
            if not _same(u, v) or (isinstance(u, list) and list(map(type, u)) != list(
                    map(type, v))):
                diffs.append(f"{key}: column {c}")
        if x.formula_places.keys() != y.formula_places.keys() or not all(
                np.array_equal(x.formula_places[c], y.formula_places[c])
                for c in x.formula_places):
            diffs.append(f"{key}.formula_places")
    return diffs


def main() -> None:
    mode, path = sys.argv[1], Path(sys.argv[2])
    if mode == "build":
        build_mixed(path, int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 100)
        return
    if mode == "compare":
        diffs = compare(path, Path(sys.argv[3]))
        print("same values" if not diffs else "DIFFERENT: " + ", ".join(diffs))
        raise SystemExit(1 if diffs else 0)
    from workbook.xlsxio import read_sheet

    got = _reads(path)
    if mode == "time":
        wall, parent, workers = got["workers_time"]
        print(f"workers: wall {wall:.2f} s, CPU parent {parent:.2f} s + workers {workers:.2f} s;"
              f" one pass: wall {got['one_pass_time'][0]:.2f} s, CPU {got['one_pass_time'][1]:.2f}"
              f" s; load {got['load'][0]:.2f} -> {os.getloadavg()[0]:.2f}")
    else:
        got["full"] = read_sheet(path, "客户")
        Path(sys.argv[3]).write_bytes(pickle.dumps(got, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    main()
