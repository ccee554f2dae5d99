"""``rate_table``: rate a head-office extract (``workbook.table.source``) batch by batch with
the job's steps (``workbook.table.steps``) and write, in the output directory, the decisions
(Parquet), the rejected rows (Parquet), the history records of the run, and the run summary
(JSON and a small .xlsx with a chart).

Memory stays bounded: one batch at a time in this process (or per worker with ``workers=2``),
each batch's outputs and history records written as it is done — by a writer thread, so that
Parquet encoding and compression (which release the GIL) take the second core — and the
summary counted batch by batch (nothing is kept per row). Files are written under temporary
names and renamed at the end: a run that fails leaves no half-written output.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rules.rerating import parse_mode

from ..schema import WorkbookError, column_map
from .columns import CODED, CODED_COLUMNS
from .fastcheck import fast_table
from .source import BATCH_ROWS, TableInput, duplicate_ids, open_input, prefetch
from .steps import BatchResult, rate_batch, settle_run

DECISIONS = "decisions.parquet"
REJECTIONS = "rejections.parquet"
SUMMARY_JSON = "summary.json"
SUMMARY_XLSX = "summary.xlsx"

DECISION_SCHEMA = pa.schema([
    ("行号", pa.int64()), ("客户编号", pa.string()), ("营业部", pa.string()),
    ("原级别", pa.string()), ("当前级别", pa.string()), ("级别变动", pa.string()),
    ("规则编号", pa.string()), ("级别依据", pa.string()), ("服务产品", pa.string()),
    ("年拜访次数", pa.float64()), ("风险类别", pa.string()), ("评级期间", pa.string()),
    ("规则版本", pa.string()), ("在范围", pa.bool_()),
])
REJECTION_SCHEMA = pa.schema([
    ("行号", pa.int64()), ("客户编号", pa.string()), ("列", pa.string()), ("值", pa.string()),
    ("原因", pa.string()), ("在范围", pa.bool_()),
])
#: the decisions as a batch holds them: the columns of few values as indices into the run's
#: labels (``columns.CODED``); written to a file of DECISION_SCHEMA's texts (``decision_writer``)
BATCH_SCHEMA = pa.schema([pa.field(f.name, CODED) if f.name in CODED_COLUMNS else f
                          for f in DECISION_SCHEMA])
NO_BRANCH = "（未填营业部）"
#: the decisions' columns written with a dictionary: not 行号, 客户编号 and 级别依据 (a value
#: a row: Parquet would build a dictionary, find it too large and write them plain anyway)
DICTIONARY = [f.name for f in DECISION_SCHEMA if f.name not in ("行号", "客户编号", "级别依据")]
#: the decisions' columns whose min/max are written (a reader filters by them: 营业部 in
#: push-branches); not those of the tier and rule labels, reasons and constants (computing
#: them was ~20 % of writing the file)
STATISTICS = ["行号", "客户编号", "营业部", "在范围"]


@dataclass
class TableResult:
    """What a table run did: counts, where it wrote, and the summary."""

    out_dir: Path
    period: str
    mode: str
    rulebook_ref: str
    rows_in: int = 0
    decisions: int = 0
    in_scope: int = 0
    rejected: int = 0
    blank: int = 0  # rows with nothing in any column read (skipped, as in a sheet)
    changed: dict[str, int] = field(default_factory=dict)  # 级别变动 -> count
    by_branch: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    engine: str = "local"
    already_applied: list[str] = field(default_factory=list)  # run ids (nothing done)
    history: dict[str, Any] = field(default_factory=dict)  # this run's manifest
    backwards: str = ""  # why the run went back (forced: ``history.check_order``), or ""
    rerun: bool = False  # a forced run of a period and mode already in the history

    def check_counts(self) -> None:
        """rows in = decisions + rejections (+ blank rows), or the run fails (nothing is dropped
        silently)."""
        if self.rows_in != self.decisions + self.rejected + self.blank:
            raise WorkbookError(f"行数不符：读入 {self.rows_in} 行，决定 {self.decisions} 行、"
                                f"拒绝 {self.rejected} 行、空行 {self.blank} 行；本次输出作废。")

    def summary(self) -> dict[str, Any]:
        return {"评级期间": self.period, "模式": self.mode, "规则版本": self.rulebook_ref,
                "引擎": self.engine, "读入行数": self.rows_in, "决定行数": self.decisions,
                "本次评级": self.in_scope, "拒绝行数": self.rejected, "空行": self.blank, "级别变动": self.changed,
                "营业部": self.by_branch, **({"强制重跑": "是"} if self.rerun else {}),
                **({"期间倒退": "强制执行"} if self.backwards else {}),
                "历史摘要": self.history.get("digest", ""),
                "前次摘要": self.history.get("previous", "")}


# ------------------------------------------------------------------ the batch function

def decisions_batch(res: BatchResult, branch: pa.Array | None) -> pa.RecordBatch:
    """The decisions as Arrow; 营业部 taken from the input's column (None: not in the input)."""
    at = pa.array(res.decisions["营业部"], pa.int64())
    cols = dict(res.decisions)
    if branch is None:
        cols["营业部"] = pa.nulls(len(at), pa.string())
    else:
        if not pa.types.is_string(branch.type):
            branch = pc.cast(branch, pa.string())
        cols["营业部"] = pc.take(branch, at)
    return pa.RecordBatch.from_arrays([cols[f.name] for f in BATCH_SCHEMA],
                                      schema=BATCH_SCHEMA)


def decision_writer(path: Path | str) -> pq.ParquetWriter:
    """A Parquet writer of decision batches (``BATCH_SCHEMA``) into a file whose columns are
    DECISION_SCHEMA's: a coded column's labels written once as its dictionary (no Arrow
    schema stored: a reader sees the texts); dictionaries and min/max as ``DICTIONARY`` and
    ``STATISTICS`` say."""
    return pq.ParquetWriter(path, BATCH_SCHEMA, use_dictionary=DICTIONARY,
                            write_statistics=STATISTICS, store_schema=False)


def rejections_batch(res: BatchResult) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(res.rejections, schema=REJECTION_SCHEMA)


_WORKER: dict[str, Any] = {}


def _init_worker(settings: dict[str, Any], header: list[str], wanted: list[int],
                 used: list[int] | None, duplicates: dict[str, list[int]]) -> None:
    _WORKER.update(spec=settle_run(**settings), header=header, wanted=wanted, used=used,
                   duplicates=duplicates)


def rate_arrow(batch: pa.RecordBatch, offset: int, spec: Any, header: list[str],
               wanted: list[int], duplicates: dict[str, list[int]],
               used: list[int] | None = None) -> tuple[pa.RecordBatch, pa.RecordBatch, int]:
    """The batch function of every engine: the input's columns ``wanted`` (1-based in
    ``header``) in, (decisions, rejections, blank rows skipped) out, rows numbered from
    ``offset``."""
    inp = TableInput(label="", header=header, wanted=wanted, dataset=None,
                     used=used)
    table = fast_table(inp, batch, spec, duplicates)
    res = rate_batch(inp.sheet(batch) if table is None else None, spec, offset=offset,
                     duplicates=duplicates, table=table)
    c = column_map([h.strip() for h in header]).get("branch")
    branch = batch.column(wanted.index(c)) if c in wanted else None
    return decisions_batch(res, branch), rejections_batch(res), batch.num_rows - res.n_rows


def _rate(batch: pa.RecordBatch, offset: int
          ) -> tuple[pa.RecordBatch, pa.RecordBatch, int, int]:
    w = _WORKER
    dec, rej, blank = rate_arrow(batch, offset, w["spec"], w["header"], w["wanted"],
                                 w["duplicates"], w["used"])
    return dec, rej, blank, batch.num_rows


# ------------------------------------------------------------------------ the local engine

def rate_table(input_path: str | os.PathLike[str], *, period: str, mode: str, out: str | os.PathLike[str],
               rulebook: str = "brokerage", operator: str, now: dt.datetime | None = None,
               workers: int | None = None, batch_rows: int = BATCH_ROWS,
               progress: Callable[[int, int], None] | None = None,
               force: bool = False) -> TableResult:
    """Rate every client of the input (see module doc). A period and mode already in the
    output's history is not done again unless ``force`` (``already_applied`` says so).
    Raises WorkbookError or RuleError (Chinese messages) when nothing can be done; nothing
    is written then."""
    parse_mode(mode)
    now = (now or dt.datetime.now()).replace(microsecond=0)
    settings: dict[str, Any] = {"period": period, "mode": mode, "rulebook": rulebook,
                                "operator": operator, "now": now}
    spec = settle_run(**settings)
    out_dir = Path(out)
    done, backwards = applied_before(out_dir, spec, force)
    if done is not None:
        return done
    inp = open_input(input_path)
    if inp.id_column() is None:
        raise WorkbookError(f"{inp.label} 没有“客户编号”列（或 client_id）。")
    total = inp.n_rows
    n_workers = default_workers(total) if workers is None else workers
    with run_memory_pool(), _pool(n_workers, settings, inp, out_dir) as pool:
        dups = duplicate_ids(inp, batch_rows)
        return _run(inp, pool, settings, spec, dups, out_dir, total, batch_rows, progress,
                    backwards, rerun=force and forced_rerun(out_dir, spec))


def _run(inp: TableInput, pool: Any, settings: dict[str, Any], spec: Any,
         dups: dict[str, list[int]], out_dir: Path, total: int, batch_rows: int,
         progress: Callable[[int, int], None] | None, backwards: str, rerun: bool = False
         ) -> TableResult:
    """The run proper: batches rated (in this process, or by ``pool``) and written;
    ``backwards``: the reason a forced run goes back in time (``applied_before``); ``rerun``:
    it repeats a period and mode already run (``forced_rerun``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    res = TableResult(out_dir=out_dir, period=spec.period.label, mode=spec.mode,
                      rulebook_ref=spec.rulebook.ref, backwards=backwards, rerun=rerun)
    from .history import HistoryWriter

    hist = HistoryWriter(out_dir, run_common(spec, settings["operator"], settings["now"],
                                             inp.label))
    tmp = {k: out_dir / f".{k}.tmp" for k in (DECISIONS, REJECTIONS)}
    try:
        _stream(res, _results(inp, settings, dups, pool, batch_rows), tmp, hist,
                lambda: progress(res.rows_in, total) if progress else None)
        res.check_counts()
        for k, p in tmp.items():
            os.replace(p, out_dir / k)
            res.files[k] = out_dir / k
        res.history = hist.close(res.summary())
    except BaseException:
        hist.discard()
        raise
    finally:
        for p in tmp.values():
            p.unlink(missing_ok=True)
    write_summary(res, spec.labels)
    return res


def _stream(res: TableResult, results: Iterator[tuple[pa.RecordBatch, pa.RecordBatch, int, int]],
            tmp: dict[str, Path], hist: Any, progress: Callable[[], None]) -> None:
    """Write each batch's decisions, rejections and history records as it comes and count
    them (nothing kept per row) — in a thread (Parquet encoding and compression release the
    GIL: the second core), two batches queued at most; the next batch is read ahead in
    another (``prefetch``), so that this thread only rates."""
    counts: dict[tuple[str, str, str], int] = {}
    with decision_writer(tmp[DECISIONS]) as dw, \
            pq.ParquetWriter(tmp[REJECTIONS], REJECTION_SCHEMA) as rw:
        def write(dec: pa.RecordBatch, rej: pa.RecordBatch) -> None:
            dw.write_batch(dec)
            rw.write_batch(rej)
            hist.add(dec, rej)
            count_batch(res, dec, rej, counts)

        with _Sink(write) as sink:
            for dec, rej, blank, n_in in results:
                sink.put(dec, rej)
                res.rows_in += n_in
                res.blank += blank
                progress()
    res.by_branch = by_branch_counts(counts)


class _Sink:
    """``write(dec, rej)`` called in a thread for each batch put, in order; an error there is
    raised in the caller (at the next ``put`` or at the end)."""

    def __init__(self, write: Callable[[pa.RecordBatch, pa.RecordBatch], None]) -> None:
        import queue
        import threading

        self.write = write
        self.q: queue.Queue[Any] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (item := self.q.get()) is not None:
            if self.error is None:
                try:
                    self.write(*item)
                except BaseException as e:  # (raised in the caller)
                    self.error = e

    def put(self, dec: pa.RecordBatch, rej: pa.RecordBatch) -> None:
        if self.error is not None:
            raise self.error
        self.q.put((dec, rej))

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.q.put(None)
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error


def applied_before(out_dir: Path, spec: Any, force: bool) -> tuple[TableResult | None, str]:
    """The result of a run not done (its period and mode are in the history), or None; and
    why a forced run goes back (its run row then says 期间倒退=强制执行), or "". A period
    earlier than one applied raises ``PeriodOrderError`` unless forced, as for a workbook
    (``workbook.table.history.check_order``)."""
    from . import history

    done = history.applied(out_dir / history.HISTORY, spec.period.label, spec.mode)
    if done and not force:
        return TableResult(out_dir=out_dir, period=spec.period.label, mode=spec.mode,
                           rulebook_ref=spec.rulebook.ref, already_applied=done), ""
    return None, history.check_order(out_dir / history.HISTORY, spec, force)


def forced_rerun(out_dir: Path, spec: Any) -> bool:
    """Whether the history already holds this period and mode (a run done anyway is forced:
    its run row then says 强制重跑=是, as a workbook's does)."""
    from . import history

    return bool(history.applied(out_dir / history.HISTORY, spec.period.label, spec.mode))


def run_common(spec: Any, operator: str, now: dt.datetime, label: str) -> dict[str, str]:
    """The fields of every history record of a run; its id is the run's time and a tag of
    what it rates (input, period, mode, rulebook, operator), known before the first batch."""
    import hashlib

    from . import history

    tag = hashlib.sha256("|".join([label, spec.period.label, spec.mode, spec.rulebook.ref,
                                   operator, now.isoformat()]).encode("utf-8")).hexdigest()[:6]
    return history.run_fields(f"{now:%Y%m%d-%H%M%S}-{tag}", now, operator, spec.mode,
                              spec.period.label, spec.rulebook.ref)


#: rows from which ``rate_table`` rates in two worker processes by default, on a machine of
#: ``WORKERS_CORES`` cores or more: below it their start-up (~1 s) is not won back. On two
#: cores one process is the default: it rates on one core while the writer thread takes the
#: other, and the workers' process that reads and writes is as busy as that one (measured,
#: docs/headoffice.md)
WORKERS_FROM = 1_000_000
WORKERS_CORES = 4


def default_workers(n_rows: int) -> int:
    """2 for an input of ``WORKERS_FROM`` rows or more on ``WORKERS_CORES`` cores or more,
    else 1 (rated in this process)."""
    return 2 if n_rows >= WORKERS_FROM and (os.cpu_count() or 1) >= WORKERS_CORES else 1


_POOL_LOCK = threading.Lock()
_POOL_USERS: list[pa.MemoryPool] = []  # (the pool before the first run: put back by the last)


@contextmanager
def run_memory_pool() -> Iterator[None]:
    """Arrow's buffers taken from the C library's allocator (``pa.system_memory_pool``) while a
    run lasts, on Linux. pyarrow's default there, mimalloc, gives the pages of the buffers a
    batch frees back to the system and faults them in again for the next (a batch makes and
    drops ~100 MB of columns, in three threads): at 1M clients 0.7–1.4 s of system time in
    2.4–3.3 CPU-s, against ~0.5 s in 2.1–2.3 with malloc (docs/headoffice.md; the peak lower
    at 1M, 842 MB in one run at 10M against 681–763 in session 7's with mimalloc).
    Elsewhere (Windows: mimalloc against its heap; not measured) the default stays."""
    if not sys.platform.startswith("linux"):
        yield
        return
    with _POOL_LOCK:
        if not _POOL_USERS:
            _POOL_USERS.append(pa.default_memory_pool())
            pa.set_memory_pool(pa.system_memory_pool())
        else:
            _POOL_USERS.append(_POOL_USERS[0])
    try:
        yield
    finally:
        with _POOL_LOCK:
            before = _POOL_USERS.pop()
            if not _POOL_USERS:
                pa.set_memory_pool(before)


@contextmanager
def _pool(n_workers: int, settings: dict[str, Any], inp: TableInput, out_dir: Path
          ) -> Iterator[Any]:
    """A pool of ``n_workers`` processes (``workbook.table.workers``), or None for one."""
    if n_workers <= 1:
        yield None
        return
    from .workers import Pool

    out_dir.mkdir(parents=True, exist_ok=True)
    pool = Pool(n_workers, settings, inp, out_dir)
    try:
        yield pool
    finally:
        pool.close()


def _results(inp: TableInput, settings: dict[str, Any], dups: dict[str, list[int]],
             pool: Any, batch_rows: int
             ) -> Iterator[tuple[pa.RecordBatch, pa.RecordBatch, int, int]]:
    """(decisions, rejections, blank rows, rows read) of each batch in order: in this process,
    or by the pool's processes."""
    offsets = _offsets(prefetch(inp.batches(batch_rows)))
    if pool is not None:
        yield from pool.results(offsets, dups)
        return
    _init_worker(settings, inp.header, inp.wanted, inp.used, dups)
    for batch, off in offsets:
        yield _rate(batch, off)


def _offsets(batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[pa.RecordBatch, int]]:
    off = 0
    for b in batches:
        yield b, off
        off += b.num_rows


def count_batch(res: TableResult, dec: pa.RecordBatch, rej: pa.RecordBatch,
           counts: dict[tuple[str, str, str], int]) -> None:
    """Counts of the run (in Arrow: no per-row Python)."""
    res.decisions += dec.num_rows
    res.rejected += rej.num_rows
    scope = dec.column("在范围")
    res.in_scope += pc.sum(scope).as_py() or 0
    t = pa.table(dec.select(["行号", "营业部", "原级别", "当前级别", "级别变动"])).filter(scope)
    for r in t.group_by("级别变动").aggregate([("行号", "count")]).to_pylist():
        k = r["级别变动"] or ""
        res.changed[k] = res.changed.get(k, 0) + r["行号_count"]
    g = t.group_by(["营业部", "原级别", "当前级别"]).aggregate([("行号", "count")])
    for r in g.to_pylist():
        key = (r["营业部"] or NO_BRANCH, r["原级别"] or "无级别", r["当前级别"] or "无级别")
        counts[key] = counts.get(key, 0) + r["行号_count"]


def by_branch_counts(counts: dict[tuple[str, str, str], int]) -> dict[str, dict[str, dict[str, int]]]:
    """营业部 -> {"before": tier -> n, "after": tier -> n} of the rated clients."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for (br, before, after), n in sorted(counts.items()):
        b = out.setdefault(br, {"before": {}, "after": {}})
        b["before"][before] = b["before"].get(before, 0) + n
        b["after"][after] = b["after"].get(after, 0) + n
    return out


def write_summary(res: TableResult, labels: list[str]) -> None:
    """summary.json and summary.xlsx (per 营业部: clients per tier before and after, a chart)."""
    import xlsxwriter

    out = res.out_dir
    tmp = out / f".{SUMMARY_JSON}.tmp"
    tmp.write_text(json.dumps(res.summary(), ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, out / SUMMARY_JSON)
    res.files[SUMMARY_JSON] = out / SUMMARY_JSON
    tiers = [*labels, "无级别"]
    tmpx = out / f".{SUMMARY_XLSX}.tmp.xlsx"
    wb = xlsxwriter.Workbook(os.fspath(tmpx))
    ws = wb.add_worksheet("汇总")
    bold = wb.add_format({"bold": True})
    ws.write_row(0, 0, ["评级期间", res.period, "模式", res.mode, "规则版本", res.rulebook_ref])
    ws.write_row(1, 0, ["读入行数", res.rows_in, "本次评级", res.in_scope, "拒绝行数", res.rejected])
    head = ["营业部"] + [f"{t}（评级前）" for t in tiers] + [f"{t}（评级后）" for t in tiers]
    ws.write_row(3, 0, head, bold)
    branches = list(res.by_branch)
    for k, br in enumerate(branches, start=4):
        b = res.by_branch[br]
        ws.write_row(k, 0, [br, *(b["before"].get(t, 0) for t in tiers),
                            *(b["after"].get(t, 0) for t in tiers)])
    ws.set_column(0, 0, 22)
    ws.set_column(1, len(head), 14)
    if branches:
        chart = wb.add_chart({"type": "column", "subtype": "stacked"})
        last = 3 + len(branches)
        for j in range(len(tiers)):
            col = 1 + len(tiers) + j
            chart.add_series({"name": ["汇总", 3, col], "categories": ["汇总", 4, 0, last, 0],
                              "values": ["汇总", 4, col, last, col]})
        chart.set_title({"name": f"{res.period} 评级后各营业部客户级别"})
        ws.insert_chart(last + 2, 0, chart, {"x_scale": 1.6, "y_scale": 1.3})
    wb.close()
    os.replace(tmpx, out / SUMMARY_XLSX)
    res.files[SUMMARY_XLSX] = out / SUMMARY_XLSX
