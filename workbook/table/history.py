"""The history of table runs: a Parquet dataset partitioned by run (``history/run=…/``), the
same record types as 变更记录 (运行, 变更, 拒绝; its columns, ``workbook.history.HEADER``), made
tamper-evident by digests instead of a hash per row:

* each part file has a sha256: over the part file's bytes (runs since session 9, whose
  manifest says ``"part_digest": "file"``: any edited, added or removed row — any byte —
  changes it, hashed from the file once written; verified with the file read as it is), or, in
  the histories written before, over its rows (the Arrow IPC stream of the part read back) —
  computed part by part, in parallel if one wishes;
* each run's ``_manifest.json`` holds its parts' digests, their Merkle root, the previous
  run's digest and its own digest over all of that (a chain from run to run).

``verify(dir)`` recomputes every digest and link and says, in Chinese, what was edited: a
part changed, a part added or removed, a manifest altered, a run removed or reordered. Like
变更记录, the chain proves edits *between* runs; the last run can only be checked against a
copy of its digest kept elsewhere (the summary.json of the run holds it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import history as log
from .columns import CODED, coded

HISTORY = "history"
MANIFEST = "_manifest.json"
PART_ROWS = 131_072
#: the part holding the 运行 row (sorts before part-00000: the run row reads first)
RUN_PART = "part-00000-run.parquet"
RECORD_SCHEMA = pa.schema([(h, pa.string()) for h in log.HEADER[:log.N_FIELDS]])
#: the columns of a part whose min/max are written (a reader may skip parts by them); the
#: others' (texts of a run, reasons: ~20 % of the part's write) are not
PART_STATISTICS = ["记录类型", "客户编号"]
#: the columns of a part written with a dictionary: not 客户编号, 原因 and 输入数据 (a value a
#: record: Parquet would build a dictionary, find it too large and write them plain anyway —
#: ~20 % of the part's write)
PART_DICTIONARY = [f.name for f in RECORD_SCHEMA if f.name not in ("客户编号", "原因", "输入数据")]
#: a part's columns as the records are made: those of few values (a run's constants, tiers,
#: rule ids) as indices into their labels (``columns.CODED``), written once as the column's
#: dictionary; the file's columns read as texts (RECORD_SCHEMA: no Arrow schema stored)
PART_SCHEMA = pa.schema([pa.field(f.name, CODED) if f.name in PART_DICTIONARY else f
                         for f in RECORD_SCHEMA])
#: the manifest's word for its parts' digests taken over the part files' bytes (a manifest
#: without it: over their rows, ``part_digest``, as histories before session 9 hold them)
FILE_DIGEST = "file"
#: a forced run of a period earlier than one in the history: its run row's 统计 says so, with
#: the key and value of a workbook run's 统计 (``workbook.run.write.run_stats``)
BACKWARDS, FORCED = "期间倒退", "强制执行"
#: a forced run of a period and mode already in the history (the workbook's 强制重跑=是)
RERUN = "强制重跑"


def part_digest(table: pa.Table) -> str:
    """sha256 of a part's rows: its columns as text, in one Arrow IPC stream (hashed as the
    stream is written, buffer by buffer: the stream itself is not kept)."""
    t = table.cast(RECORD_SCHEMA).combine_chunks()  # (one chunk already: no copy)
    sink = _Hashing()
    with pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), RECORD_SCHEMA) as w:
        for b in t.to_batches():
            w.write_batch(b)
    return sink.sha.hexdigest()


class _Hashing:
    """A file to write to that keeps only the sha256 of what was written (Arrow hands it its
    buffers themselves: ``memoryview`` of them, no copy)."""

    closed = False

    def __init__(self) -> None:
        self.sha = hashlib.sha256()

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.sha.update(view)
        return view.nbytes

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def merkle_root(digests: list[str]) -> str:
    """The Merkle root of the parts' digests (pairs hashed level by level; an odd one is
    carried up); the empty root is sha256 of nothing."""
    level = [bytes.fromhex(d) for d in digests]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        nxt = [hashlib.sha256(level[i] + level[i + 1]).digest()
               for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


def manifest_digest(m: dict[str, Any]) -> str:
    body = {k: v for k, v in m.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True)
                          .encode("utf-8")).hexdigest()


@dataclass
class RunEntry:
    path: Path
    manifest: dict[str, Any]


def runs(hist: Path) -> list[RunEntry]:
    """The runs of a history directory, in their order (``seq``)."""
    out = []
    for d in sorted(hist.glob("run=*")):
        m = d / MANIFEST
        data = json.loads(m.read_text(encoding="utf-8")) if m.exists() else {}
        out.append(RunEntry(d, data))
    return sorted(out, key=lambda e: (e.manifest.get("seq", 0), e.path.name))


def applied(hist: Path, period: str, mode: str) -> list[str]:
    """Run ids of the history that applied this period and mode."""
    if not hist.exists():
        return []
    return [e.manifest.get("run_id", "") for e in runs(hist)
            if e.manifest.get("评级期间") == period and e.manifest.get("模式") == mode]


def _applied_run(m: dict[str, Any]) -> log.AppliedRun:
    return log.AppliedRun(m.get("run_id", ""), m.get("时间", ""), m.get("模式", ""),
                          m.get("评级期间", ""))


def check_order(hist: Path, spec: Any, force: bool) -> str:
    """Why a run of ``spec`` would go back (a run of the same clients with a later data date
    is in the history: ``workbook.run.periods.later_run``, the workbook's rule and message), or
    "". Raises ``PeriodOrderError`` then, unless ``force``."""
    from ..run.periods import PeriodOrderError, later_run

    if not hist.exists():
        return ""
    done = [_applied_run(e.manifest) for e in runs(hist) if e.manifest]
    backwards = later_run(spec.period, spec.mode, done)
    if backwards and not force:
        raise PeriodOrderError(f"评级期间不能倒退：{backwards}本次未做任何更改。")
    return backwards


def _const(n: int, value: str) -> pa.Array:
    """``value`` ``n`` times (coded: one label, its index ``n`` times)."""
    return coded((value,), np.zeros(n, np.int32))


def records_of(dec: pa.RecordBatch | None, rej: pa.RecordBatch | None, common: dict[str, str]
               ) -> Iterator[pa.RecordBatch]:
    """变更 rows (a rated client whose tier changed) and 拒绝 rows of a batch of decisions
    and one of rejections, as 变更记录 columns."""
    def fill(n: int, given: dict[str, pa.Array]) -> pa.RecordBatch:
        cols = [_as(given[f.name], f.type) if f.name in given else
                _const(n, common.get(f.name, "")) for f in PART_SCHEMA]
        return pa.RecordBatch.from_arrays(cols, schema=PART_SCHEMA)

    if dec is not None and dec.num_rows:
        s = dec.select(["客户编号", "原级别", "当前级别", "级别变动", "级别依据", "规则编号"]).filter(
            pc.and_(dec.column("在范围"), _differ(dec.column("原级别"), dec.column("当前级别"))))
        if s.num_rows:
            yield fill(s.num_rows, {
                "记录类型": _const(s.num_rows, log.CHANGE),
                "客户编号": s.column("客户编号"), "变更前": s.column("原级别"),
                "变更后": s.column("当前级别"), "级别变动": s.column("级别变动"),
                "原因": s.column("级别依据"), "规则编号": s.column("规则编号")})
    if rej is not None and rej.num_rows:
        yield fill(rej.num_rows, {
            "记录类型": _const(rej.num_rows, log.REJECT),
            "客户编号": rej.column("客户编号"), "原因": rej.column("原因"),
            "输入数据": pc.binary_join_element_wise(rej.column("列"), pc.fill_null(
                rej.column("值"), ""), "=")})


def _differ(before: pa.Array, after: pa.Array) -> pa.Array:
    """Where a tier before and after differ (an empty one as ""): by their indices when both
    are coded with one table of labels (``columns.coded``), else by their texts."""
    if (pa.types.is_dictionary(before.type) and pa.types.is_dictionary(after.type)
            and before.dictionary.equals(after.dictionary)):
        return pc.not_equal(pc.fill_null(before.indices, -1), pc.fill_null(after.indices, -1))
    return pc.not_equal(pc.fill_null(_texts(before), ""), pc.fill_null(_texts(after), ""))


def _texts(a: pa.Array) -> pa.Array:
    """A column as texts (a coded one's labels taken)."""
    return a.dictionary_decode() if pa.types.is_dictionary(a.type) else a


def _as(a: pa.Array, type_: pa.DataType) -> pa.Array:
    """A column of records as PART_SCHEMA types it (texts coded, or a coded column's texts)."""
    if a.type == type_:
        return a
    if pa.types.is_dictionary(type_):
        return pc.dictionary_encode(a).cast(type_)
    return _texts(a)


def write_part(path: Path, name: str, batches: list[pa.RecordBatch]) -> dict[str, Any]:
    """One part of a run's records written to ``path`` (batches of PART_SCHEMA or
    RECORD_SCHEMA); its manifest entry (``name``, rows, sha256 of the file written)."""
    t = pa.Table.from_batches([_part_batch(b) for b in batches], PART_SCHEMA)
    pq.write_table(t, path, write_statistics=PART_STATISTICS, use_dictionary=PART_DICTIONARY,
                   store_schema=False)
    return {"file": name, "rows": t.num_rows, "sha256": file_digest(path)}


def _part_batch(b: pa.RecordBatch) -> pa.RecordBatch:
    if b.schema.equals(PART_SCHEMA):
        return b
    return pa.RecordBatch.from_arrays([_as(c, f.type) for c, f in zip(b.columns, PART_SCHEMA,
                                                                      strict=True)],
                                      schema=PART_SCHEMA)


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class PartBuffer:
    """变更 and 拒绝 records gathered into parts of ``PART_ROWS`` rows, each written and
    digested when full (``write_part``): ``name_of(kind, k)`` names the ``k``-th part of a kind
    ("" 变更, "r" 拒绝), ``path_of(name)`` is where it is written; ``parts`` their entries.
    A run's (``HistoryWriter``) and a Spark partition's (``spark_task``)."""

    def __init__(self, common: dict[str, str], name_of: Callable[[str, int], str],
                 path_of: Callable[[str], Path]) -> None:
        self.common, self.name_of, self.path_of = common, name_of, path_of
        self.parts: dict[str, list[dict[str, Any]]] = {"": [], "r": []}
        self.buf: dict[str, list[pa.RecordBatch]] = {"": [], "r": []}
        self.n_buf = {"": 0, "r": 0}

    def add(self, dec: pa.RecordBatch | None, rej: pa.RecordBatch | None) -> None:
        """The records of a batch of decisions and one of rejections (变更 rows go to the
        run's first parts, 拒绝 rows to the parts after them, as a workbook logs them)."""
        for kind, got in (("", dec), ("r", rej)):
            for b in records_of(got, None, self.common) if kind == "" else records_of(
                    None, got, self.common):
                self.buf[kind].append(b)
                self.n_buf[kind] += b.num_rows
                if self.n_buf[kind] >= PART_ROWS:
                    self.flush(kind)

    def flush(self, kind: str) -> None:
        if self.buf[kind]:
            name = self.name_of(kind, len(self.parts[kind]))
            self.parts[kind].append(write_part(self.path_of(name), name, self.buf[kind]))
            self.buf[kind], self.n_buf[kind] = [], 0


class HistoryWriter(PartBuffer):
    """A run's history written as its records come (parts of ``PART_ROWS`` rows, each digested
    when written: memory holds one part at most); ``close`` adds the 运行 row (its own part,
    first in the run's order: its counts are known at the end), the manifest, and moves the
    run into place. ``discard`` leaves nothing."""

    def __init__(self, out_dir: Path, common: dict[str, str]) -> None:
        self.hist = out_dir / HISTORY
        self.hist.mkdir(parents=True, exist_ok=True)
        self.tmp = self.hist / f".run-{common['运行编号']}.tmp"
        self.tmp.mkdir()
        super().__init__(common, lambda kind, k: f"part-{kind}{k:05d}.parquet",
                         lambda name: self.tmp / name)

    def close(self, summary: dict[str, Any]) -> dict[str, Any]:
        self.flush("")
        self.flush("r")
        common = self.common
        run_row = {**common, "记录类型": log.RUN,
                   "统计": json.dumps({k: summary[k] for k in ("读入行数", "本次评级", "拒绝行数",
                                                                 RERUN, BACKWARDS) if k in summary},
                                    ensure_ascii=False)}
        first = write_part(self.tmp / RUN_PART, RUN_PART,
                           [pa.RecordBatch.from_pylist([run_row], schema=RECORD_SCHEMA)])
        parts = [first, *self.parts[""], *self.parts["r"]]
        before = runs(self.hist)
        prev = before[-1].manifest.get("digest", "") if before else ""
        seq = (before[-1].manifest.get("seq", 0) if before else 0) + 1
        m: dict[str, Any] = {"seq": seq, "run_id": common["运行编号"], "时间": common["时间"],
                             "操作员": common["操作员"], "模式": common["模式"],
                             "评级期间": common["评级期间"], "规则版本": common["规则版本"],
                             "parts": parts,
                             "merkle_root": merkle_root([p["sha256"] for p in parts]),
                             "previous": prev, "part_digest": FILE_DIGEST}
        m["digest"] = manifest_digest(m)
        (self.tmp / MANIFEST).write_text(json.dumps(m, ensure_ascii=False, indent=2),
                                         encoding="utf-8")
        os.replace(self.tmp, self.hist / f"run={seq:06d}-{common['运行编号']}")
        return m

    def discard(self) -> None:
        import shutil

        shutil.rmtree(self.tmp, ignore_errors=True)
        if not any(self.hist.iterdir()):  # (made by this run: nothing left of it)
            self.hist.rmdir()


def verify(out_dir: str | os.PathLike[str]) -> list[str]:
    """What was edited in a table run directory's history (Chinese; empty: nothing)."""
    hist = Path(out_dir) / HISTORY
    if not hist.is_dir():
        return [f"{hist} 不存在：没有评级历史。"]
    found: list[str] = []
    prev = ""
    for k, e in enumerate(runs(hist), start=1):
        m, where = e.manifest, e.path.name
        if not m:
            found.append(f"{where}：缺少 {MANIFEST}（运行记录被删除或替换）。")
            continue
        if manifest_digest(m) != m.get("digest"):
            found.append(f"{where}：{MANIFEST} 被修改（其摘要不符）。")
        if m.get("seq") != k:
            found.append(f"{where}：运行序号为 {m.get('seq')}，应为 {k}（之前的运行被删除或调换）。")
        if m.get("previous", "") != prev:
            found.append(f"{where}：所记前一次运行的摘要与实际不符（之前的运行被删除、替换或调换）。")
        prev = m.get("digest", "")
        listed = {p["file"]: p for p in m.get("parts", [])}
        on_disk = {p.name for p in e.path.glob("*.parquet")}
        for f in sorted(on_disk - set(listed)):
            found.append(f"{where}/{f}：多出的数据文件（不属于该次运行）。")
        digests = []
        for f, p in listed.items():
            if f not in on_disk:
                found.append(f"{where}/{f}：数据文件被删除。")
                digests.append("")
                continue
            d, n_rows = _part_check(e.path / f, m.get("part_digest") == FILE_DIGEST)
            digests.append(d)
            if d != p["sha256"]:
                more = f"（行数 {p['rows']} → {n_rows}）" if n_rows not in (p["rows"], None) else ""
                found.append(f"{where}/{f}：记录被修改{more}（摘要不符）。")
        if merkle_root([p["sha256"] for p in listed.values()]) != m.get("merkle_root"):
            found.append(f"{where}：各数据文件摘要的 Merkle 根与记录不符。")
    return found


def _part_check(path: Path, by_file: bool) -> tuple[str, int | None]:
    """A part's digest as its manifest takes it (``by_file``: over the file's bytes, else over
    its rows) and its rows (None: not a Parquet file any more)."""
    if by_file:
        try:
            n: int | None = pq.ParquetFile(path).metadata.num_rows
        except (OSError, pa.ArrowException):
            n = None
        return file_digest(path), n
    t = pq.read_table(path)
    return part_digest(t), t.num_rows


def run_stats(e: RunEntry) -> dict[str, Any]:
    """The 统计 of a run's 运行 row ({} where it cannot be read: ``verify`` says why)."""
    try:
        t = pq.read_table(e.path / RUN_PART, columns=["记录类型", "统计"])
        got = [r["统计"] for r in t.to_pylist() if r["记录类型"] == log.RUN]
        stats = json.loads(got[0]) if got else {}
    except (OSError, pa.ArrowException, ValueError, KeyError):
        return {}
    return stats if isinstance(stats, dict) else {}


def forced_runs(out_dir: str | os.PathLike[str]) -> list[str]:
    """Runs done by force (Chinese, for the audit: not an edit): a rerun of a period and mode
    already run (统计 强制重跑=是), and a run of a period earlier than a run before it — naming
    the later run it went back from (``later_run``, the workbook's words), and whether its 统计
    says 期间倒退=强制执行."""
    from rules import RuleError
    from rules.schedule import parse_period

    from ..run.periods import later_run

    found: list[str] = []
    done: list[log.AppliedRun] = []
    for e in runs(Path(out_dir) / HISTORY):
        m = e.manifest
        if not m:
            continue
        try:
            why = later_run(parse_period(m.get("评级期间", "")), m.get("模式", ""), done)
        except (RuleError, ValueError, KeyError):  # (not a period or mode of ours: verify's business)
            why = ""
        stats = run_stats(e)
        marked = stats.get(BACKWARDS) == FORCED
        head = f"{e.path.name}：运行 {m.get('run_id', '')}（{m.get('评级期间', '')}）"
        if stats.get(RERUN) == "是":
            found.append(f"{head}强制重跑：同一评级期间、同一模式此前已执行过。")
        if why:
            found.append(f"{head}{FORCED}：{why}" if marked else
                         f"{head}的评级期间倒退，统计中未记“{BACKWARDS}={FORCED}”：{why}")
        elif marked:
            found.append(f"{head}统计记有“{BACKWARDS}={FORCED}”，但此前没有数据截至日更晚的运行。")
        done.append(_applied_run(m))
    return found


def run_fields(run_id: str, now: dt.datetime, operator: str, mode: str, period: str,
               ref: str) -> dict[str, str]:
    """The fields every record of a run holds (as ``workbook.run.plan.run_fields``)."""
    return {"运行编号": run_id, "时间": now.isoformat(sep=" "), "操作员": operator, "模式": mode,
            "评级期间": period, "规则版本": ref}
