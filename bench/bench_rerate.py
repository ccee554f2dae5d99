"""Benchmark of the whole headless quarterly re-rating on a big branch workbook (not a test).

    .venv/bin/python bench/bench_rerate.py                      # 20,000 clients, about a minute
    .venv/bin/python bench/bench_rerate.py --clients 1000000    # issue 16's figures

Untimed setup, cached in --dir (in a child process): a workbook shaped like the template (客户
with the contract's columns, the formula columns 计算级别 and 风险类别, 变更记录, 汇总) with N
generated clients, kept unrated (``_new``); a copy rated for 2026Q2 (its first run) whose rows
are also dumped for (f), then this quarter's figures typed in (assets moved by ~15 %: ``_q2``).

Then every measured phase runs in a fresh child process of its own, so that its peak memory is
its own (``os.wait4``'s ru_maxrss; the job's forked read workers are sampled with it), and the
ratios come from one run on the same machine:

(a) a bare re-zip of ``_q2`` by zipfile at level 6, once with zlib and once with the deflate
    xlsxio writes with (``zipwriter.DEFLATE``, same level mapping): the cost of the file itself;
(b) ``workbook.job.rerate`` of ``_q2`` for 2026Q3, split read/validate/rate/log/write: the
    steady state of a branch, quarter after quarter (issue 16: <= 1.3 x (a), peak <= 1 GB);
(c) reading 客户 alone: the columns the job reads, by ``read_sheet`` in one process and by the
    job's two workers, beside python-calamine reading the same sheet (it reads every column);
(d) the first run of the never-rated ``_new`` (every output cell and log row new: peak <= 1 GB);
(e) writing that first run's output from scratch with XlsxWriter's constant_memory mode (rows
    streamed from the dump; issue 16: (d) <= 1.5 x (e)).
``--deflate zlib,zlib-ng:4,...`` runs (a) and (b) with each deflate (name[:level given to it
for level 6]) instead of the installed one. Measured: docs/workbook.md "Speed".
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
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


class MemorySampler:
    """The memory of this process and its children (the read and write workers) together: the
    largest sum of RSS and of PSS (shared pages counted once: forked workers share the parent's
    pages until they write to them), sampled by ``memsampler.py`` in a process of its own at
    idle priority (not a thread of the measured process: that stole it ~7 s of CPU at 1M)."""

    def __init__(self) -> None:
        self.rss = self.pss = 0.0
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> MemorySampler:
        self._proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("memsampler.py")), str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        self._proc.stdout.readline()  # "ready"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        out, _ = self._proc.communicate("")
        got = json.loads(out.strip().splitlines()[-1])
        self.rss, self.pss = got["rss"], got["pss"]


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


PHASES = ("rezip", "job", "read", "first", "xlsxwriter")  # (--skip names)
STEPS = {"检查文件": "check", "读取工作簿": "read", "检查": "validate", "评级": "rate",
         "整理变更记录": "log", "写入文件": "write"}


def use_deflate(spec: str | None):
    """Set ``zipwriter.DEFLATE`` from ``name[:level]`` (None: leave the installed one)."""
    from workbook.xlsxio import zipwriter

    if spec:
        name, _, level = spec.partition(":")
        if name == "zlib":
            d = zipwriter.ZLIB
        else:
            d = zipwriter._zlib_ng()
            if d is None or d.name != name:
                raise SystemExit(f"deflate {name!r} is not installed")
        if level:
            d = zipwriter.Deflate(d.name, d.module, {6: int(level)})
        zipwriter.DEFLATE = d
    d = zipwriter.DEFLATE
    return d, f"{d.name}:{d.levels.get(6, 6)}"


def dump_rows(path: Path, out: Path) -> None:
    """Every sheet of ``path`` as rows (python-calamine), pickled 5,000 rows at a time; the
    cells of 客户's formula columns as their formulas, like ``build`` writes them."""
    import pickle

    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    with open(out, "wb") as fh:
        for name in wb.sheet_names:
            rows = wb.get_sheet_by_name(name).iter_rows()
            first = next(rows, None)
            if first is None:
                continue
            pickle.dump((name, [first]), fh)
            formulas = {c: h for c, h in enumerate(first) if h in ("计算级别", "风险类别")}
            block = []
            for row in rows:
                if formulas and name == "客户":
                    r = len(block) + 1
                    for c, h in formulas.items():
                        row[c] = ("F", h, r)  # (the formula is made by write_from_scratch)
                block.append(row)
                if len(block) == 5000:
                    pickle.dump((name, block), fh)
                    block = []
            if block:
                pickle.dump((name, block), fh)


def load_rows(path: Path):
    import pickle

    with open(path, "rb") as fh:
        while True:
            try:
                yield pickle.load(fh)
            except EOFError:
                return


def write_from_scratch(dump: Path, out: Path) -> None:
    """The first run's output written by XlsxWriter in constant_memory mode, cell by cell."""
    import xlsxwriter
    from xlsxwriter.utility import xl_rowcol_to_cell

    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    sheets: dict[str, tuple] = {}
    for name, block in load_rows(dump):
        if name not in sheets:
            hdr = {h: k for k, h in enumerate(block[0])}
            sheets[name] = [wb.add_worksheet(name), 0, hdr]
        ws, r, hdr = sheets[name]
        for row in block:
            for c, v in enumerate(row):
                if v is None or v == "":
                    continue
                if isinstance(v, str):
                    ws.write_string(r, c, v)
                elif isinstance(v, bool):
                    ws.write_boolean(r, c, v)
                elif isinstance(v, (int, float)):
                    ws.write_number(r, c, v)
                elif isinstance(v, tuple):  # a formula column of 客户
                    if v[1] == "计算级别":
                        a = xl_rowcol_to_cell(r, hdr["资产权益"])
                        b = xl_rowcol_to_cell(r, hdr["上年度净佣金"])
                        ws.write_formula(r, c, f"=CLIENT_TIER({a},{b})", None, "")
                    else:
                        s = xl_rowcol_to_cell(r, hdr["风险测评得分"])
                        ws.write_formula(r, c, f"=RISK_CLASS({s})", None, "")
                elif isinstance(v, (dt.date, dt.datetime)):
                    ws.write_datetime(r, c, v, date_fmt)
                else:
                    ws.write(r, c, v)
            r += 1
        sheets[name][1] = r
    wb.close()


def job_columns(path: Path):
    """The ``columns`` and ``hashed`` choosers the job gives ``start_read`` for 客户 (caught
    by stopping the job there, so (c) reads exactly what the job reads)."""
    from workbook.xlsxio import parallel

    caught: dict = {}

    class Caught(Exception):
        pass

    def spy(path, sheet, **kw):
        caught.update(kw, sheet=sheet)
        raise Caught

    real, parallel.start_read = parallel.start_read, spy
    try:
        rerate(path, period="2026Q3", mode="quarterly", operator="bench",
               now=dt.datetime(2026, 10, 9, 10, 0))
    except Caught:
        pass
    finally:
        parallel.start_read = real
    if not caught:
        raise SystemExit("the job did not call xlsxio.parallel.start_read: update job_columns")
    return caught


def phase(name: str, tmp: Path, n: int, spec: str | None) -> dict:
    """One measured phase (in its own process); returns its figures."""
    deflate, label = use_deflate(spec)
    q2, new = tmp / f"branch_{n}_q2.xlsx", tmp / f"branch_{n}_new.xlsx"
    res: dict = {"deflate": label}
    if name == "rezip-zlib" or name == "rezip":
        out = tmp / "rezip.xlsx"
        t = time.perf_counter()
        rezip(q2, out, None if name == "rezip-zlib" else deflate)
        res.update(time=time.perf_counter() - t, size=out.stat().st_size)
        if name == "rezip-zlib":
            res["deflate"] = "zlib:6"
    elif name in ("job", "first"):
        work = tmp / f"work_{name}.xlsx"
        shutil.copyfile(q2 if name == "job" else new, work)
        marks: list[tuple[str, float, float]] = []
        t, c = time.perf_counter(), time.process_time()
        with MemorySampler() as mem:
            r = rerate(work, period="2026Q3" if name == "job" else "2026Q2", mode="quarterly",
                       operator="bench", now=dt.datetime(2026, 10 if name == "job" else 7, 9, 10),
                       progress=lambda msg: marks.append((msg, time.perf_counter(),
                                                          time.process_time())))
        t_job, c_job = time.perf_counter() - t, time.process_time() - c
        steps: dict[str, float] = {}
        cpu: dict[str, float] = {}  # CPU seconds of all the job's threads (not its workers)
        for (msg, t0, c0), (_, t1, c1) in itertools.pairwise([*marks, ("end", t + t_job,
                                                                       c + c_job)]):
            key = next((v for k, v in STEPS.items() if msg.startswith(k)), msg)
            steps[key] = steps.get(key, 0.0) + t1 - t0
            cpu[key] = cpu.get(key, 0.0) + c1 - c0
        res.update(time=t_job, steps=steps, cpu=cpu, cpu_total=c_job, cells=r.cells_written,
                   changes=len(r.changes),
                   exit=r.exit_code, size=work.stat().st_size, tree_rss=mem.rss,
                   tree_pss=mem.pss, worker_rss=resource.getrusage(
                       resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    elif name == "read":
        from workbook.xlsxio.parallel import start_read

        kw = job_columns(q2)
        sheet = kw.pop("sheet")
        t = time.perf_counter()
        data = read_sheet(q2, sheet, columns=kw["columns"], hashed=kw.get("hashed"),
                          formula_text=kw.get("formula_text", False))
        res["ours"] = time.perf_counter() - t
        cols = sorted(data.selected)
        res["columns"] = [data.header[c - 1] for c in cols]
        res["n_cols"] = data.n_cols
        del data
        t = time.perf_counter()
        started = start_read(q2, sheet, **kw)
        data = started.result() if started is not None else None
        res["ours_workers"] = time.perf_counter() - t if data is not None else None
        del data, started
    elif name == "read-calamine":  # (its own process: its own peak memory)
        from python_calamine import CalamineWorkbook

        kw = job_columns(q2)
        t = time.perf_counter()
        rows = CalamineWorkbook.from_path(str(q2)).get_sheet_by_name(kw["sheet"]).to_python()
        cols = sorted(kw["columns"]([str(h).strip() for h in rows[0]]))
        picked = [[row[c - 1] if c <= len(row) else None for row in rows[1:]] for c in cols]
        res["time"] = time.perf_counter() - t
        res["n"] = len(cols)
        del rows, picked
    elif name == "xlsxwriter":
        dump, out = tmp / f"branch_{n}_first.pkl", tmp / "scratch.xlsx"
        t = time.perf_counter()
        for _ in load_rows(dump):
            pass
        res["unpickle"] = time.perf_counter() - t
        t = time.perf_counter()
        write_from_scratch(dump, out)
        res.update(time=time.perf_counter() - t, size=out.stat().st_size)
    return res


def run_phase(name: str, tmp: Path, n: int, spec: str | None) -> dict:
    """``phase`` in a child process; adds its peak RSS (MiB)."""
    cmd = [sys.executable, __file__, "--phase", name, "--clients", str(n), "--dir", str(tmp)]
    proc = subprocess.Popen([*cmd, *(["--deflate", spec] if spec else [])],
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"phase {name} failed ({proc.returncode})")
    res = json.loads(out.strip().splitlines()[-1])
    res["peak"] = ru.ru_maxrss / 1024
    return res


def setup(tmp: Path, n: int) -> None:
    """The cached inputs (untimed): ``_new`` (never rated), ``_first.pkl`` (the rows of its
    first run), ``_q2`` (rated for 2026Q2, then this quarter's figures typed in)."""
    new, q2, dump = (tmp / f"branch_{n}_new.xlsx", tmp / f"branch_{n}_q2.xlsx",
                     tmp / f"branch_{n}_first.pkl")
    t = time.perf_counter()
    if not new.exists():
        build(tmp / "new.xlsx", n)
        (tmp / "new.xlsx").rename(new)
        print(f"build       {time.perf_counter() - t:7.1f} s", flush=True)
    if not q2.exists() or not dump.exists():
        rated = tmp / "rated.xlsx"
        shutil.copyfile(new, rated)
        rerate(rated, period="2026Q2", mode="quarterly", operator="bench",
               now=dt.datetime(2026, 7, 9, 10, 0))
        if not dump.exists():
            dump_rows(rated, tmp / "first.pkl")
            (tmp / "first.pkl").rename(dump)
        if not q2.exists():
            data = read_sheet(rated, "客户")
            col = data.col_of("资产权益")
            del data
            patch_workbook(rated, rated,
                           {"客户": SheetEdit(columns={col: figures(n)[1].tolist()})})
            rated.rename(q2)
        rated.unlink(missing_ok=True)
        print(f"setup       {time.perf_counter() - t:7.1f} s  (2026Q2 run, its rows dumped, "
              "new figures)", flush=True)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=20_000)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--deflate", default=None,
                    help="comma list of name[:level] to run (a) and (b) with (zlib, zlib-ng)")
    ap.add_argument("--skip", default="", help="comma list of phases to skip: " + ",".join(PHASES))
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--setup-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    tmp = Path(args.dir or Path(tempfile.gettempdir()) / "bench_rerate")
    tmp.mkdir(parents=True, exist_ok=True)
    n = args.clients
    if args.phase:
        print(json.dumps(phase(args.phase, tmp, n, args.deflate)))
        return
    if args.setup_only:
        setup(tmp, n)
        return
    subprocess.run([sys.executable, __file__, "--setup-only", "--clients", str(n), "--dir",
                    str(tmp)], check=True)
    skip = set(filter(None, args.skip.split(",")))
    print(f"{n:,} clients, {os.cpu_count()} cores, {load()} (before)", flush=True)
    q2 = tmp / f"branch_{n}_q2.xlsx"
    print(f"file _q2    {q2.stat().st_size / 1e6:7.1f} MB; _new "
          f"{(tmp / f'branch_{n}_new.xlsx').stat().st_size / 1e6:.1f} MB")
    specs = args.deflate.split(",") if args.deflate else [None]
    if "rezip" not in skip:
        z = run_phase("rezip-zlib", tmp, n, None)
        print(f"(a) re-zip, zipfile + zlib:6   {z['time']:7.1f} s  {z['size'] / 1e6:7.1f} MB  "
              f"peak {z['peak']:5.0f} MB", flush=True)
    for spec in specs:
        a = None
        if "rezip" not in skip:
            a = z if use_deflate(spec)[1] == "zlib:6" else run_phase("rezip", tmp, n, spec)
            print(f"(a) re-zip, zipfile + {a['deflate']:9}{a['time']:7.1f} s  "
                  f"{a['size'] / 1e6:7.1f} MB  peak {a['peak']:5.0f} MB", flush=True)
        if "job" in skip:
            continue
        b = run_phase("job", tmp, n, spec)
        split = ", ".join(f"{k} {v:.1f}" for k, v in b["steps"].items())
        print(f"(b) rerate 2026Q3, {b['deflate']:12}{b['time']:7.1f} s  {b['size'] / 1e6:7.1f} MB  "
              f"peak {b['peak']:5.0f} MB  ({split} s; {b['cells']:,} cells, "
              f"{b['changes']:,} 变更 rows, exit {b['exit']})", flush=True)
        print(f"    CPU of the job's threads {b['cpu_total']:.1f} s: " + ", ".join(
            f"{k} {v:.1f}" for k, v in b["cpu"].items()) + " s")
        print(f"    job + read workers: {b['tree_rss']:.0f} MB RSS summed, "
              f"{b['tree_pss']:.0f} MB PSS summed; largest worker {b['worker_rss']:.0f} MB")
        if a:
            print(f"    ratio b/a {b['time'] / a['time']:5.2f} (same deflate); "
                  f"vs zipfile + zlib:6 {b['time'] / z['time']:.2f}; "
                  f"size b/a {b['size'] / a['size']:.3f}, "
                  f"vs zlib:6 {b['size'] / z['size']:.3f}", flush=True)
    if "read" not in skip:
        r = run_phase("read", tmp, n, None)
        k = run_phase("read-calamine", tmp, n, None)
        w = f"{r['ours_workers']:.1f} s" if r["ours_workers"] is not None else "n/a (small part)"
        print(f"(c) read 客户, {len(r['columns'])} of {r['n_cols']} columns: read_sheet "
              f"{r['ours']:.1f} s, two workers {w} (peak {r['peak']:.0f} MB); python-calamine "
              f"{k['time']:.1f} s ({k['n']} columns picked; peak {k['peak']:.0f} MB); "
              f"ratio ours/calamine {r['ours'] / k['time']:.2f}"
              + (f" (two workers {r['ours_workers'] / k['time']:.2f})"
                 if r["ours_workers"] is not None else ""), flush=True)
    if "first" not in skip:
        d = run_phase("first", tmp, n, None)
        split = ", ".join(f"{k} {v:.1f}" for k, v in d["steps"].items())
        print(f"(d) first run 2026Q2     {d['time']:7.1f} s  {d['size'] / 1e6:7.1f} MB  "
              f"peak {d['peak']:5.0f} MB  ({split} s; {d['cells']:,} cells, "
              f"{d['changes']:,} 变更 rows)", flush=True)
        print(f"    CPU of the job's threads {d['cpu_total']:.1f} s: " + ", ".join(
            f"{k} {v:.1f}" for k, v in d["cpu"].items()) + " s")
        print(f"    job + read workers: {d['tree_rss']:.0f} MB RSS summed, "
              f"{d['tree_pss']:.0f} MB PSS summed")
        if "xlsxwriter" not in skip:
            e = run_phase("xlsxwriter", tmp, n, None)
            print(f"(e) XlsxWriter constant_memory {e['time']:7.1f} s  {e['size'] / 1e6:7.1f} MB  "
                  f"peak {e['peak']:5.0f} MB  (rows streamed from the dump: unpickling them alone takes "
                  f"{e['unpickle']:.1f} s)")
            print(f"    ratio d/e {d['time'] / e['time']:5.2f}; size d/e "
                  f"{d['size'] / e['size']:.3f}", flush=True)
    print(load() + " (after)")


if __name__ == "__main__":
    main()
