"""One task of the Spark engine: a partition of the input rated and written in one pass, on
the executor, as the local engine writes a run (``workbook.table.run``):

* the partition's batches rated by the local engine's batch function (``run.rate_arrow``),
  its rows numbered from the partition's first row number;
* its decisions and rejections written with pyarrow as ``part-<partition>.parquet`` of
  ``decisions.parquet/`` and ``rejections.parquet/`` (one file per partition: the directories
  read in the input's order);
* its history records (变更, 拒绝) written as parts of the run's history directory, each
  digested when written (``history.part_digest``), named so that they read in the run's
  order: ``part-<partition>.<k>.parquet`` (变更) after the 运行 part, then
  ``part-r<partition>.<k>.parquet`` (拒绝);
* its counts added up batch by batch in Arrow (``run.count_batch``).

Nothing of the rated rows goes back to the JVM: the task returns one row, its result as JSON
(counts, the history parts and their digests), which the driver adds up. Files are written
under hidden names (the task's attempt in them) and renamed when the partition is done, so a
task run again (a failure, speculation) writes the same files whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .history import PartBuffer
from .run import (
    REJECTION_SCHEMA,
    TableResult,
    count_batch,
    decision_writer,
    rate_arrow,
)
from .steps import settle_run

RESULT_SCHEMA = pa.schema([("result", pa.string())])


class PartitionWriter:
    """The outputs of one partition (see module doc)."""

    def __init__(self, pid: int, attempt: int, dirs: dict[str, str],
                 common: dict[str, str]) -> None:
        self.pid = pid
        self.dirs = {k: Path(v) for k, v in dirs.items()}
        self.tag = f".{pid:05d}.{attempt}.tmp"
        self.done: list[tuple[Path, Path]] = []  # (hidden, final) renamed at the end
        self.dw = decision_writer(self._file("decisions", f"part-{pid:05d}.parquet"))
        self.rw = pq.ParquetWriter(self._file("rejections", f"part-{pid:05d}.parquet"),
                                   REJECTION_SCHEMA)
        self.res = TableResult(out_dir=Path(), period="", mode="", rulebook_ref="")
        self.counts: dict[tuple[str, str, str], int] = {}
        self.history = PartBuffer(common, lambda kind, k: f"part-{kind}{pid:05d}.{k:04d}.parquet",
                                  lambda name: self._file("history", name))

    def _file(self, where: str, name: str) -> Path:
        hidden = self.dirs[where] / f".{name}{self.tag}"
        self.done.append((hidden, self.dirs[where] / name))
        return hidden

    def add(self, dec: pa.RecordBatch, rej: pa.RecordBatch, blank: int, n_in: int) -> None:
        self.dw.write_batch(dec)
        self.rw.write_batch(rej)
        count_batch(self.res, dec, rej, self.counts)
        self.res.rows_in += n_in
        self.res.blank += blank
        self.history.add(dec, rej)

    def close(self) -> str:
        """Finish the files, put them in place; the partition's result as JSON."""
        self.history.flush("")
        self.history.flush("r")
        self.dw.close()
        self.rw.close()
        for hidden, final in self.done:
            os.replace(hidden, final)
        r = self.res
        return json.dumps({
            "partition": self.pid, "rows_in": r.rows_in, "decisions": r.decisions,
            "rejected": r.rejected, "blank": r.blank, "in_scope": r.in_scope,
            "changed": r.changed, "counts": [[*k, n] for k, n in self.counts.items()],
            "changes": self.history.parts[""], "rejects": self.history.parts["r"]},
            ensure_ascii=False)

    def abort(self) -> None:
        for w in (self.dw, self.rw):
            w.close()
        for hidden, _final in self.done:
            hidden.unlink(missing_ok=True)


def rate_partitions(settings: dict[str, Any], names: list[str], used_at: list[int],
                    duplicates: dict[str, list[int]], starts: dict[int, int],
                    dirs: dict[str, str], common: dict[str, str], plan: Any = None) -> Any:
    """The function run on each partition (see module doc): by ``mapInArrow`` on Spark's
    partition of the input, or (``plan``: ``spark_read.Plan``) on the stretches it names, read
    by the task (an RDD's ``mapPartitions``: ``spark._Input.run``)."""
    split = stretches(plan)

    def rate(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        attempt = ctx.attemptNumber() if ctx is not None else 0
        for pid, part in split(batches):
            result = _rate_one(pid, attempt, part, settings, names, used_at, duplicates,
                               starts.get(pid, 2), dirs, common)
            yield pa.RecordBatch.from_arrays([pa.array([result], pa.string())],
                                             schema=RESULT_SCHEMA)

    return rate


def _rate_one(pid: int, attempt: int, batches: Iterator[pa.RecordBatch],
              settings: dict[str, Any], names: list[str], used_at: list[int],
              duplicates: dict[str, list[int]], k: int, dirs: dict[str, str],
              common: dict[str, str]) -> str:
    """One partition's batches rated and written, its rows numbered from ``k``; its result."""
    sp = None  # (settled at the first batch: an empty partition needs no rulebook)
    hdr = list(names)
    wanted = list(range(1, len(hdr) + 1))
    w = PartitionWriter(pid, attempt, dirs, common)
    try:
        for b in batches:
            sp = sp or settle_run(**settings)
            dec, rej, blank = rate_arrow(b.select(hdr), k - 2, sp, hdr, wanted,
                                         duplicates, used_at)
            k += b.num_rows
            w.add(dec, rej, blank, b.num_rows)
        return w.close()
    except BaseException:
        w.abort()
        raise


def stretches(plan: Any = None, names: list[str] | None = None) -> Any:
    """A task's input as (partition, its batches): Spark's partition itself (no ``plan``), or
    each stretch of ``plan`` whose number is a row of the task's input (read by the task:
    ``spark_read``; the columns ``names``, default those read)."""
    def split(batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[int, Iterator[pa.RecordBatch]]]:
        if plan is None:
            yield _partition(), batches
            return
        for b in batches:  # (the stretches' numbers: ints, or Arrow batches of them)
            for k in b.column(0).to_pylist() if isinstance(b, pa.RecordBatch) else [b]:
                yield k, plan.batches(k, names)

    return split


# ----------------------------------------------------- before rating: rows and duplicate ids

HASHES_SCHEMA = pa.schema([("p", pa.int64()), ("n", pa.int64()), ("h", pa.binary())])
FOUND_SCHEMA = pa.schema([("p", pa.int64()), ("at", pa.int64()), ("id", pa.string())])


def _partition() -> int:
    from pyspark import TaskContext

    ctx = TaskContext.get()
    return ctx.partitionId() if ctx is not None else 0


def hash_ids(plan: Any = None, name: str | None = None) -> Any:
    """The function run on the 客户编号 column of each partition (or of the stretches of
    ``plan``, column ``name``): its rows and a 64-bit hash of each id
    (``source.id_hashes``: the local engine's; 0 for none), one row (the hashes as bytes: 8 a
    row)."""
    split = stretches(plan, None if name is None else [name])

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import numpy as np

        from .source import id_hashes, id_texts

        for p, part in split(batches):
            got = [id_hashes(id_texts(b.column(0))) for b in part if b.num_rows]
            h = np.concatenate(got) if got else np.zeros(0, np.uint64)
            yield pa.RecordBatch.from_pylist([{"p": p, "n": len(h), "h": h.tobytes()}],
                                             schema=HASHES_SCHEMA)

    return run


def find_ids(again: Any, plan: Any = None, name: str | None = None) -> Any:
    """The function run on the 客户编号 column of each partition (or of the stretches of
    ``plan``, column ``name``): the rows whose id's hash is in ``again``
    (sorted), with their id and place in the partition."""
    split = stretches(plan, None if name is None else [name])

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import numpy as np

        from .idhash import among
        from .source import id_hashes, id_texts

        for p, part in split(batches):
            at = 0
            for b in part:
                ids = id_texts(b.column(0))
                k = np.flatnonzero(among(id_hashes(ids), again))
                if len(k):
                    yield pa.RecordBatch.from_arrays(
                        [pa.array(np.full(len(k), p), pa.int64()),
                         pa.array(k + at, pa.int64()), ids.take(pa.array(k))],
                        schema=FOUND_SCHEMA)
                at += b.num_rows

    return run
