"""Benchmark of the whole headless quarterly re-rating on a big branch workbook (not a test).

    .venv/bin/python bench/bench_rerate.py --clients 1000000

Builds a workbook shaped like the template (客户 with the contract's columns, the formula columns
计算级别 and 风险类别, 变更记录, 汇总) with N generated clients, rates it for 2026Q2 and types in
this quarter's figures (assets moved by ~15 %) — untimed setup, cached in --dir — then in the
same run times
(a) a bare re-zip of the file (read every entry, recompress at level 6, write) and
(b) ``workbook.job.rerate`` for 2026Q3 (read, validate, rate, write every changed cell, append
    变更记录, refresh 汇总, atomic save): the steady state of a branch, quarter after quarter.
``--first-run`` times the first run on a never-rated workbook instead (every output cell new).
The setup runs in a child process, so the peak RSS printed is that of (a) and (b) alone; the
job's read workers (it forks two to parse 客户) are sampled together with it (``MemorySampler``).
Goal (issue 4): (b) <= 2 x (a), peak memory <= 1 GB. Measured: docs/workbook.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_xlsxio import rezip

from workbook import history, summary
from workbook.job import rerate
from workbook.template import CLIENT_HEADERS
from workbook.xlsxio import SheetEdit, patch_workbook, read_sheet

TIERS = ["VIP客户", "核心客户", "潜力客户", "普通客户"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class MemorySampler:
    """The memory of this process and its children (the read workers) together: the largest
    sum of RSS (sampled every 50 ms), and of PSS (every 250 ms; shared pages counted once:
    forked workers share the parent's pages until they write to them)."""

    def __init__(self) -> None:
        self.rss = self.pss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _pids() -> list[int]:
        me = os.getpid()
        try:
            kids = Path(f"/proc/{me}/task/{me}/children").read_text().split()
        except OSError:
            kids = []
        return [me, *map(int, kids)]

    @staticmethod
    def _kb(pid: int, path: str, key: str) -> float:
        try:
            for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
                if line.startswith(key):
                    return float(line.split()[1])
        except OSError:
            pass
        return 0.0

    def _run(self) -> None:
        k = 0
        while not self._stop.wait(0.05):
            pids = self._pids()
            self.rss = max(self.rss, sum(self._kb(p, "status", "VmRSS:") for p in pids) / 1024)
            k += 1
            if k % 5 == 0:  # (PSS walks the page tables: every 250 ms)
                self.pss = max(self.pss, sum(self._kb(p, "smaps_rollup", "Pss:")
                                             for p in pids) / 1024)


def figures(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Assets last quarter, assets now (moved by ~15 %), commission."""
    rng = np.random.default_rng(seed)
    before = np.round(rng.lognormal(12.1, 1.6, n), 2)
    now = np.round(before * rng.lognormal(0, 0.15, n), 2)
    return before, now, np.round(rng.lognormal(7.0, 1.8, n), 2)


def build(path: Path, n: int, seed: int = 1) -> None:
    """The branch workbook as it stood last quarter (figures of last quarter, no run yet)."""
    import xlsxwriter
    from xlsxwriter.utility import xl_rowcol_to_cell

    rng = np.random.default_rng(seed + 1)
    assets, _, commission = figures(n, seed)
    score = rng.integers(9, 101, n)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                          "strings_to_formulas": False})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet("客户")
    hdr = {h: k for k, h in enumerate(CLIENT_HEADERS)}
    for h, c in hdr.items():
        ws.write_string(0, c, h)
    base = dt.datetime(2012, 1, 1)
    for i in range(n):
        r = i + 1
        ws.write_string(r, hdr["客户编号"], f"C{r:08d}")
        ws.write_string(r, hdr["客户名称"], f"客户{r}")
        ws.write_string(r, hdr["营业部"], f"营业部{r % 37}")
        ws.write_datetime(r, hdr["开户日期"], base + dt.timedelta(days=r % 5000), date_fmt)
        ws.write_number(r, hdr["资产权益"], float(assets[i]))
        ws.write_number(r, hdr["上年度净佣金"], float(commission[i]))
        ws.write_number(r, hdr["风险测评得分"], float(score[i]))
        ws.write_datetime(r, hdr["测评日期"], base + dt.timedelta(days=3000 + r % 1500), date_fmt)
        a = xl_rowcol_to_cell(r, hdr["资产权益"])
        c = xl_rowcol_to_cell(r, hdr["上年度净佣金"])
        ws.write_formula(r, hdr["计算级别"], f"=CLIENT_TIER({a},{c})", None, "")
        s = xl_rowcol_to_cell(r, hdr["风险测评得分"])
        ws.write_formula(r, hdr["风险类别"], f"=RISK_CLASS({s})", None, "")
    wh = wb.add_worksheet("变更记录")
    for k, h in enumerate(history.HEADER):
        wh.write_string(0, k, h)
    wsum = wb.add_worksheet("汇总")
    for r, row in enumerate(summary.rows(TIERS, {}, {}, {}, 0, [])):
        for c, v in enumerate(row):
            wsum.write(r, c, v)
    wb.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--first-run", action="store_true",
                    help="time the first run on a never-rated workbook instead of a later quarter")
    ap.add_argument("--setup-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    tmp = Path(args.dir or tempfile.mkdtemp(prefix="bench_rerate_"))
    tmp.mkdir(parents=True, exist_ok=True)
    n = args.clients
    src = tmp / f"branch_{n}_q2.xlsx"
    if not src.exists() and not args.setup_only:  # in a child, so that the peak RSS below is
        cmd = [sys.executable, __file__, "--setup-only", "--clients", str(n), "--dir", str(tmp)]
        subprocess.run([*cmd, *(["--first-run"] if args.first_run else [])], check=True)
    if not src.exists():
        t = time.perf_counter()
        build(tmp / "new.xlsx", n)
        print(f"build       {time.perf_counter() - t:7.1f} s")
        if not args.first_run:  # last quarter's run, then this quarter's figures typed in
            rerate(tmp / "new.xlsx", period="2026Q2", mode="quarterly", operator="bench",
                   now=dt.datetime(2026, 7, 9, 10, 0))
            data = read_sheet(tmp / "new.xlsx", "客户")
            col = data.col_of("资产权益")
            del data
            patch_workbook(tmp / "new.xlsx", tmp / "new.xlsx",
                           {"客户": SheetEdit(columns={col: figures(n)[1].tolist()})})
            print(f"setup       {time.perf_counter() - t:7.1f} s  (2026Q2 run, new figures)")
        (tmp / "new.xlsx").rename(src)
    if args.setup_only:
        return
    print(f"file        {src.stat().st_size / 1e6:7.1f} MB, {n:,} clients")
    t = time.perf_counter()
    rezip(src, tmp / "rezip.xlsx")
    t_a = time.perf_counter() - t
    print(f"(a) re-zip  {t_a:7.1f} s")

    work = tmp / "work.xlsx"
    shutil.copyfile(src, work)
    marks: list[tuple[str, float]] = []

    def progress(msg: str) -> None:
        marks.append((msg, time.perf_counter()))

    t = time.perf_counter()
    with MemorySampler() as mem:
        res = rerate(work, period="2026Q3", mode="quarterly", operator="bench",
                     now=dt.datetime(2026, 10, 9, 10, 0), progress=progress)
    t_b = time.perf_counter() - t
    steps = [*marks, ("end", t + t_b)]
    for (msg, t0), (_, t1) in itertools.pairwise(steps):
        print(f"    {t1 - t0:6.1f} s  {msg}")
    print(f"(b) rerate  {t_b:7.1f} s  ({res.cells_written:,} cells, {len(res.changes):,} 变更 rows, "
          f"exit {res.exit_code}, {work.stat().st_size / 1e6:.1f} MB)")
    print(f"ratio b/a   {t_b / t_a:7.2f}")
    print(f"peak RSS    {peak_mb():7.0f} MB (this process: the re-zip and the job)")
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"            {child:7.0f} MB (its largest child: a read worker, or the setup when it ran)")
    print(f"job + workers {mem.rss:5.0f} MB RSS summed, {mem.pss:.0f} MB PSS summed (sampled "
          "during (b))")


if __name__ == "__main__":
    main()
