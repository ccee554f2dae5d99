"""The Spark engine's read of a Parquet input by its own tasks, with pyarrow (``--spark-read
auto``, the default), instead of Spark's Parquet reader and its row → Arrow conversion for
``mapInArrow`` (two thirds of a run's CPU, in the JVM, before).

For a Parquet file or directory on a file system the driver sees (the executors must see it
too, as for ``--out``), the driver reads the files' footers in pyarrow's listing order — the
local engine's order (``source.open_input``: a dataset with Hive partitioning) — and cuts the
rows into ``2 × cores`` stretches of about the same size (``plan``): a cut falls on a row
group's start or on a multiple of the batch (131,072 rows) inside it, so a task reads whole
batches. Each stretch is a list of pieces (file, row group, rows skipped, rows taken) and its
first 行号 (the rows before it + 2: the header is row 1), so the rows are numbered as the local
engine numbers them, by construction — a directory of any number of files, or with Hive
partition keys (``营业部=…/``: the key's value added as a column of the dataset's type, as the
dataset scanner adds it), included.

The Spark job is an RDD of the stretches' numbers, one per partition (``spark._Input.run``);
its task reads its stretch (``Plan.batches``:
``pyarrow.parquet.ParquetFile(pre_buffer=False)``, only the columns read, batch by batch, as
the local engine's ``source.scan``) and rates and writes it as before (``spark_task``).

Not for (``plan`` gives ``None``; Spark's reader, ``spark.read_frame``): CSV, a table name,
a path the driver does not see, a file pyarrow cannot open, a column whose type differs
between files.
"""

from __future__ import annotations

import bisect
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from .source import BATCH_ROWS, pick_columns

Piece = tuple[str, int, int, int]  # (file, row group, rows skipped, rows taken)


@dataclass
class Plan:
    """The input's stretches (see module doc)."""

    header: list[str]  # every column of the input (the local engine's header)
    names: list[str]  # the columns read, in the header's order
    schema: pa.Schema  # their types (the dataset's)
    stretches: list[list[Piece]]
    starts: list[int]  # each stretch's first 行号
    rows: int
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> Hive keys read

    def batches(self, k: int, names: list[str] | None = None,
                batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The columns ``names`` (default: those read) of stretch ``k``, batch by batch."""
        names = self.names if names is None else names
        for piece in self.stretches[k]:
            yield from self._piece(piece, names, batch_rows)

    def _piece(self, piece: Piece, names: list[str], batch_rows: int
               ) -> Iterator[pa.RecordBatch]:
        import pyarrow.parquet as pq

        path, rg, skip, take = piece
        keys = self.keys.get(path, {})
        with pq.ParquetFile(path, pre_buffer=False) as pf:
            have = set(pf.schema_arrow.names)
            cols = [n for n in names if n in have]
            at, end = 0, skip + take
            for b in pf.iter_batches(batch_size=batch_rows, row_groups=[rg], columns=cols,
                                     use_threads=False):
                lo, hi = max(skip - at, 0), min(end - at, b.num_rows)
                at += b.num_rows
                if hi > lo:
                    yield self._complete(b.slice(lo, hi - lo) if hi - lo < b.num_rows else b,
                                         names, keys)
                if at >= end:
                    break

    def _complete(self, b: pa.RecordBatch, names: list[str], keys: dict[str, Any]
                  ) -> pa.RecordBatch:
        """The batch's columns in ``names``' order; a Hive key's value, or nothing (a column
        not in this file), as a column of the dataset's type — as the dataset scanner."""
        if b.schema.names == names:
            return b
        have, n = set(b.schema.names), b.num_rows
        cols = [b.column(c) if c in have
                else pa.array([keys[c]] * n, self.schema.field(c).type) if c in keys
                else pa.nulls(n, self.schema.field(c).type) for c in names]
        return pa.RecordBatch.from_arrays(cols, names=names)


def plan(source: str, parallelism: int, batch_rows: int = BATCH_ROWS) -> Plan | None:
    """The stretches of ``source`` for ``parallelism`` cores (see module doc), or ``None``
    where Spark's reader reads it."""
    import pyarrow.dataset as pads

    p = Path(source)
    if not p.exists() or p.suffix.lower() in (".csv", ".txt") or (
            p.is_dir() and any(p.glob("*.csv")) and not any(p.rglob("*.parquet"))):
        return None
    try:
        ds = pads.dataset(p, format="parquet", partitioning="hive")
        header = list(ds.schema.names)
        names = [header[c - 1] for c in pick_columns(header)[0]]
        schema = pa.schema([ds.schema.field(n) for n in names])
        groups, keys = _row_groups(ds, schema)
    except (OSError, pa.ArrowException, ValueError):
        return None
    if groups is None:
        return None
    stretches, starts, rows = _cut(groups, max(1, 2 * parallelism), batch_rows)
    return Plan(header=header, names=names, schema=schema, stretches=stretches, starts=starts,
                rows=rows, keys=keys)


def _row_groups(ds: Any, schema: pa.Schema
                ) -> tuple[list[tuple[str, int, int]] | None, dict[str, dict[str, Any]]]:
    """(file, row group, rows) in the local engine's order and each file's Hive keys among
    the columns read; ``None`` when a column read has another type in some file."""
    import pyarrow.dataset as pads

    groups: list[tuple[str, int, int]] = []
    keys: dict[str, dict[str, Any]] = {}
    for f in ds.get_fragments():
        phys = f.physical_schema
        for fld in schema:
            if fld.name in phys.names and phys.field(fld.name).type != fld.type:
                return None, {}
        k = {n: v for n, v in pads.get_partition_keys(f.partition_expression).items()
             if n in schema.names and n not in phys.names}
        path = os.fspath(Path(f.path).resolve())
        if k:
            keys[path] = k
        md = f.metadata
        groups += [(path, g, md.row_group(g).num_rows) for g in range(md.num_row_groups)]
    return groups, keys


def _cut(groups: list[tuple[str, int, int]], parts: int, batch_rows: int
         ) -> tuple[list[list[Piece]], list[int], int]:
    """The rows cut into ``parts`` stretches of about the same size, each cut on a row
    group's start or a multiple of ``batch_rows`` inside one."""
    firsts, at = [], 0
    for _path, _g, n in groups:
        firsts.append(at)
        at += n
    total = at
    marks = sorted({s + k for s, (_p, _g, n) in zip(firsts, groups, strict=True)
                    for k in range(0, n, batch_rows)} | {total})
    cuts = [0]
    for i in range(1, parts):
        want = total * i / parts
        j = bisect.bisect_left(marks, want)
        near = min(marks[max(j - 1, 0):j + 1], key=lambda m: abs(m - want))
        if cuts[-1] < near < total:
            cuts.append(near)
    cuts.append(total)
    stretches: list[list[Piece]] = []
    for a, b in itertools.pairwise(cuts):
        stretches.append([(path, g, max(a - s, 0), min(b, s + n) - max(a, s))
                          for s, (path, g, n) in zip(firsts, groups, strict=True)
                          if s < b and s + n > a])
    return stretches or [[]], [a + 2 for a in cuts[:-1]] or [2], total
