"""Benchmark of ``rate-table`` (not a test).

    .venv/bin/python bench/bench_table.py --clients 10000000 [--dir /tmp/bench-table] [--no-spark]
        [--only bare,local,spark,sparkreader]

Generates (once, untimed, cached in --dir) a head-office extract of N clients as Parquet: the
客户 contract's columns (客户编号, 客户名称, 营业部 among 40 branches, 客户性质, 开户日期, 资产权益,
上年度净佣金, 风险测评得分, 年度级别, 当前级别), with a few bad rows. Then, in one run, times
(a) a bare pyarrow pass: read the columns rate-table reads, in record batches, and write them to
    a new Parquet file, with rate-table's reader, allocator and Parquet writer choices (``bare``;
    ``--only bare_defaults``: pyarrow's defaults, as measured before session 8);
(b) the local engine (``rate_table``: validation, rules, mode, decisions, rejections, summary,
    history);
(c) the Spark engine on a local[2] session (``rate_table_spark``; JVM start-up included,
    and printed on its own; ``sparkreader``, not run by default: the same with Spark's own
    Parquet reader, ``--spark-read spark``).
Each is run in a child process, after ``os.sync()`` (the files an earlier phase wrote are not
written back to the disk while the next is timed); its peak memory is the largest sum of RSS over the process and
all its descendants (worker processes, the JVM), sampled every 100 ms.
Goals (issue 13): (b) <= 2 x (a); peak of (b) <= 1 GB at 10M; (c) <= 3 x (b).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PERIOD, NOW = "2026Q3", dt.datetime(2026, 11, 21, 9, 0)
BRANCHES = [f"第{k:02d}营业部" for k in range(1, 41)]
TIERS = ["VIP客户", "核心客户", "潜力客户", "普通客户"]


def generate(n: int, path: Path, seed: int = 7) -> None:
    """The extract, written in row groups of 1M (vectorised: no per-row Python)."""
    rng = np.random.default_rng(seed)
    with pq.ParquetWriter(path, pa.schema([
            ("客户编号", pa.string()), ("客户名称", pa.string()), ("营业部", pa.string()),
            ("客户性质", pa.string()), ("开户日期", pa.date32()), ("资产权益", pa.float64()),
            ("上年度净佣金", pa.float64()), ("风险测评得分", pa.float64()),
            ("年度级别", pa.string()), ("当前级别", pa.string())])) as w:
        for a in range(0, n, 1_000_000):
            m = min(1_000_000, n - a)
            ids = np.char.add("KH", np.arange(a + 1, a + m + 1).astype("U12"))
            assets = np.clip(np.exp(rng.normal(np.log(180_000), 1.35, m)), 2_000, None).round(2)
            assets[rng.random(m) < 0.0001] = -5.0  # bad rows: rejected with a message
            comm = (assets * np.exp(rng.normal(np.log(0.012), 0.8, m))).round(2)
            comm = np.where(rng.random(m) < 0.1, np.nan, np.minimum(comm, 400_000))
            score = np.where(rng.random(m) < 0.85, rng.integers(9, 101, m), np.nan)
            days = rng.integers(0, (dt.date(2026, 9, 30) - dt.date(2005, 1, 1)).days, m)
            opened = (np.datetime64("2005-01-01") + days).astype("datetime64[D]")
            tier = np.array(TIERS, dtype=object)[rng.integers(0, 4, m)]
            has = rng.random(m) < 0.85
            tiers = pa.array(np.where(has, tier, None), pa.string())
            w.write_table(pa.table({
                "客户编号": pa.array(ids), "客户名称": pa.array(np.char.add("客户", ids)),
                "营业部": pa.array(np.array(BRANCHES, dtype=object)[rng.integers(0, 40, m)],
                                pa.string()),
                "客户性质": pa.array(np.where(rng.random(m) < 0.93, "个人", "机构")),
                "开户日期": pa.array(opened, pa.date32()), "资产权益": pa.array(assets),
                "上年度净佣金": pa.array(comm, from_pandas=True),
                "风险测评得分": pa.array(score, from_pandas=True),
                "年度级别": tiers, "当前级别": tiers}))


#: the extract's columns holding a value a client (ids, names, amounts of money): written without
#: a dictionary, as rate-table writes its own (``run.DICTIONARY``: not 行号, 客户编号, 级别依据)
PER_CLIENT = ("客户编号", "客户名称", "资产权益", "上年度净佣金")
#: the columns whose min/max are written, as rate-table writes them for those a reader filters
#: by (``run.STATISTICS``: 行号, 客户编号, 营业部, 在范围)
FILTERED = ["客户编号", "营业部"]


def bare(src: str, out: str, defaults: bool = False) -> None:
    """(a): the columns rate-table reads, read in batches and written back — with rate-table's
    reader, Arrow allocator (``run_memory_pool``) and Parquet writer choices (snappy, the
    default; a dictionary only for columns of few values; min/max only for the columns a
    reader filters by); ``defaults``: pyarrow's default allocator and writer options (the
    bare pass of sessions 5-7)."""
    from workbook.table.run import run_memory_pool
    from workbook.table.source import open_input

    inp = open_input(src)
    names = [inp.header[c - 1] for c in inp.wanted]
    schema = pa.schema([inp.dataset.schema.field(n) for n in names])
    opts = {} if defaults else {
        "use_dictionary": [n for n in names if n not in PER_CLIENT],
        "write_statistics": [n for n in FILTERED if n in names]}
    with (contextlib.nullcontext() if defaults else run_memory_pool()), \
            pq.ParquetWriter(out, schema, **opts) as w:
        for b in inp.batches():
            w.write_batch(b)


def bare_defaults(src: str, out: str) -> None:
    """(a) as sessions 5-7 measured it: pyarrow's default allocator and writer options."""
    bare(src, out, defaults=True)


def local(src: str, out: str) -> None:
    from workbook.table import rate_table

    rate_table(src, period=PERIOD, mode="quarterly", out=out, operator="bench", now=NOW,
               force=True)


def spark(src: str, out: str, read: str = "auto") -> None:
    """(c); ``read``: the Spark engine's ``--spark-read`` (auto: the tasks read the Parquet
    input with pyarrow; spark: Spark's reader — the ``sparkreader`` phase)."""
    from workbook.table.spark import rate_table_spark, session

    t0 = time.perf_counter()
    s = session("local[2]")
    s.sparkContext.setLogLevel("ERROR")
    print(f"spark session started in {time.perf_counter() - t0:.1f} s", flush=True)
    rate_table_spark(src, period=PERIOD, mode="quarterly", out=out, operator="bench", now=NOW,
                     spark=s, force=True, read=read)
    print(f"spark CPU (s): {_tree_cpu(os.getpid())}", flush=True)
    s.stop()


def sparkreader(src: str, out: str) -> None:
    """(c) with Spark's own Parquet reader (``--spark-read spark``), for an A/B."""
    spark(src, out, read="spark")


def _tree_cpu(pid: int) -> dict[str, float]:
    """CPU seconds (user + system, with waited-for children) of the Spark run's processes by
    kind: this driver, the JVM, the Python workers (``measure``'s CPU sees only the driver)."""
    tick, got = os.sysconf("SC_CLK_TCK"), {"driver": 0.0, "jvm": 0.0, "python workers": 0.0}
    for q in _tree(pid):
        with contextlib.suppress(OSError):
            f = Path(f"/proc/{q}/stat").read_text().rsplit(")", 1)[1].split()
            kind = ("driver" if q == pid else "jvm" if b"java" in
                    Path(f"/proc/{q}/cmdline").read_bytes() else "python workers")
            got[kind] += sum(map(int, f[11:15])) / tick
    return {k: round(v, 1) for k, v in got.items()}


def _tree(pid: int) -> list[int]:
    """A process and all its descendants (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        q = todo.pop()
        out.append(q)
        with contextlib.suppress(OSError):
            for t in Path(f"/proc/{q}/task").iterdir():
                todo += map(int, (t / "children").read_text().split())
    return out


def _rss_kb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1])
    return 0.0


def measure(what: str, src: Path, out: Path) -> tuple[float, float, float]:
    """(seconds, peak MB of the child and its descendants, CPU seconds of the child and of
    the descendants it waited for — worker processes started by a forkserver are not, nor
    Spark's JVM: ``spark`` prints its processes' CPU itself)."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, "
            f"{str(ROOT / 'bench')!r}); import bench_table as b; "
            f"b.{what}({str(src)!r}, {str(out)!r})")
    import resource

    os.sync()  # (untimed: the files of the phase before written back first, not during this one)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", code])
    peak = 0.0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.1):
            peak = max(peak, sum(map(_rss_kb, _tree(p.pid))) / 1024)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    rc = p.wait()
    secs = time.perf_counter() - t0
    stop.set()
    th.join()
    if rc:
        raise SystemExit(f"{what} failed (exit {rc})")
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return secs, peak, r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=1_000_000)
    ap.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "bench-table"))
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated: bare,local,spark,sparkreader "
                    "(default bare,local,spark; bare_defaults: the bare pass with pyarrow's "
                    "defaults, as before session 8)")
    args = ap.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    src = d / f"clients-{args.clients}.parquet"
    if not src.exists():
        t0 = time.perf_counter()
        generate(args.clients, src)
        print(f"generated {src} ({src.stat().st_size / 2**20:.0f} MB) in "
              f"{time.perf_counter() - t0:.1f} s (untimed)")
    res: dict = {"clients": args.clients, "load_before": round(os.getloadavg()[0], 1)}
    todo = args.only.split(",") if args.only else ["bare", "local",
                                                   *(() if args.no_spark else ("spark",))]
    for what in todo:
        out = d / f"out-{what}"
        secs, peak, cpu = measure(what, src, out if not what.startswith("bare")
                                  else d / f"{what}.parquet")
        res[what] = {"seconds": round(secs, 1), "peak_mb": round(peak), "cpu_s": round(cpu, 1)}
        print(f"{what:6s} {secs:8.1f} s   peak {peak:7.0f} MB   cpu {cpu:6.1f} s", flush=True)
    res["load_after"] = round(os.getloadavg()[0], 1)
    if "local" in res and "bare" in res:
        res["local/bare"] = round(res["local"]["seconds"] / res["bare"]["seconds"], 2)
    if "spark" in res and "local" in res:
        res["spark/local"] = round(res["spark"]["seconds"] / res["local"]["seconds"], 2)
    print(json.dumps(res, ensure_ascii=False))


if __name__ == "__main__":
    main()
