"""A head-office extract read as 客户 is: Parquet (a file or a dataset directory) or CSV,
streamed in Arrow record batches, its columns found by the 客户 headers and aliases
(``schema.column_map`` through ``workbook.source.ClientColumns``), each batch handed on as a
``SheetData`` (header row 1, data from row 2) so the job's validation reads it unchanged.

Only the columns a run uses are read (Parquet: the others are never decoded). CSV cells are
read as text (as typed in a cell: ``25万``, ``1,234``) and an empty cell is empty.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from ..schema import WorkbookError, column_map
from ..source import ClientColumns
from ..xlsxio import SheetData
from ..xlsxio.reader import UnreadColumn
from .idhash import HashRuns, Scratch, among, hash_texts, repeated_hashes, sorted_tops, trimmed

SHEET = "客户"
BATCH_ROWS = 131_072


@dataclass
class TableInput:
    """An input opened: its header (every column, in order), the columns a run reads, and a
    dataset to stream them from."""

    label: str
    header: list[str]
    wanted: list[int]  # 1-based columns read from the input
    dataset: pads.Dataset
    used: list[int] | None = None  # of them, those a run uses (None: all)

    @property
    def n_rows(self) -> int:
        return self.dataset.count_rows()

    def batches(self, batch_rows: int = BATCH_ROWS, names: list[str] | None = None
                ) -> Iterator[pa.RecordBatch]:
        """The columns ``names`` (default: those read) in record batches, in the input's order."""
        if names is None:
            names = [self.header[c - 1] for c in self.wanted]
        for b in scan(self.dataset, names, batch_rows):
            if b.num_rows:
                yield b

    def sheet(self, batch: pa.RecordBatch) -> SheetData:
        """A batch as the 客户 sheet: the columns a run uses, and every contract column when a
        row of the batch has no 客户编号 (as ``workbook.source`` reads 客户 again then, so that
        such a row is kept and rejected if anything else is on it); the others are
        ``UnreadColumn``."""
        n = batch.num_rows
        header = [h.strip() for h in self.header]
        take = set(self.wanted)
        if self.used is not None:
            ids = column_map(header).get("client_id")
            k = self.wanted.index(ids) if ids in self.wanted else None
            col = batch.column(k) if k is not None else None
            blank = col is None or col.null_count or (
                pa.types.is_string(col.type) and pc.any(pc.equal(
                    pc.utf8_trim_whitespace(col), "")).as_py())
            if not blank:
                take = set(self.used)
        cols: list[Any] = [UnreadColumn(n, c) for c in range(1, len(self.header) + 1)]
        for k, c in enumerate(self.wanted):
            if c in take:
                cols[c - 1] = column_values(batch.column(k))
        return SheetData(name=SHEET, n_rows=n + 1, header=header, columns=cols,
                         header_values=list(self.header), selected=frozenset(take))

    def id_column(self) -> str | None:
        c = column_map([h.strip() for h in self.header]).get("client_id")
        return None if c is None else self.header[c - 1]


def column_values(arr: pa.Array | pa.ChunkedArray) -> list[Any]:
    """A column's values as a sheet holds them: numbers, texts, dates, None where empty
    (decimals as float, as a cell holds them; a text column's empty text is empty)."""
    t = arr.type
    if pa.types.is_decimal(t):
        arr = arr.cast(pa.float64())
    elif pa.types.is_dictionary(t):
        arr = arr.cast(t.value_type)
    return arr.to_pylist()


def open_input(path: str | os.PathLike[str]) -> TableInput:
    """Open a Parquet file or directory, or a CSV file (WorkbookError, Chinese, otherwise)."""
    p = Path(path)
    if not p.exists():
        raise WorkbookError(f"找不到输入 {p}。")
    is_csv = p.suffix.lower() in (".csv", ".txt") or (
        p.is_dir() and any(p.glob("*.csv")) and not any(p.rglob("*.parquet")))
    try:
        ds = _csv_dataset(p) if is_csv else pads.dataset(p, format="parquet",
                                                         partitioning="hive")
    except (pa.ArrowInvalid, OSError) as e:
        raise WorkbookError(f"无法读取 {p}（Parquet 文件或目录、CSV 文件）：{e}") from e
    header = list(ds.schema.names)
    wanted, used = pick_columns(header)
    return TableInput(label=os.fspath(p), header=header, wanted=wanted, dataset=ds, used=used)


def pick_columns(header: list[str]) -> tuple[list[int], list[int]]:
    """(the columns read from the input: every contract column, the inputs of any rulebook
    and 营业部; of them, those a run uses), 1-based (``workbook.source.ClientColumns``)."""
    pick = ClientColumns()
    trimmed = [h.strip() for h in header]
    used = sorted(pick.wanted(trimmed))
    branch = column_map(trimmed).get("branch")
    wanted = sorted(set(pick.every(trimmed)) | set(used) | ({branch} if branch else set()))
    return wanted, used


def scan(ds: pads.Dataset, names: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Record batches of the columns ``names``. Parquet files are read one after the other
    with ``pyarrow.parquet.ParquetFile`` — a row group's pages decoded as the batches need
    them, without pre-buffering the row group or reading ahead (the dataset scanner held
    several 1M-row row groups: ~480 MB against ~70 MB at 10M clients) —; CSV and a column
    that is not in every file as the dataset types it (a Hive partition key, files of other
    types) through the dataset scanner."""
    frags = list(ds.get_fragments()) if isinstance(ds, pads.FileSystemDataset) else []
    if not frags or not isinstance(ds.format, pads.ParquetFileFormat) or any(
            n not in f.physical_schema.names
            or f.physical_schema.field(n).type != ds.schema.field(n).type
            for f in frags for n in names):
        yield from ds.to_batches(columns=names, batch_size=batch_rows, batch_readahead=1,
                                 fragment_readahead=1)
        return
    import pyarrow.parquet as pq

    for f in frags:
        with pq.ParquetFile(f.path, pre_buffer=False, filesystem=ds.filesystem) as pf:
            yield from pf.iter_batches(batch_size=batch_rows, columns=names, use_threads=False)


def prefetch(items: Iterator[Any], ahead: int = 1) -> Iterator[Any]:
    """``items``, the next one (up to ``ahead``) made in a thread while the caller works on
    this one (reading and decoding a batch release the GIL); an error there is raised here."""
    import queue
    import threading

    q: queue.Queue[Any] = queue.Queue(maxsize=ahead)
    stop = threading.Event()
    end = object()

    def run() -> None:
        try:
            for it in items:
                if stop.is_set():
                    return
                q.put((it, None))
            q.put((end, None))
        except BaseException as e:  # (raised in the caller)
            q.put((end, e))

    th = threading.Thread(target=run, daemon=True)
    th.start()
    try:
        while True:
            it, err = q.get()
            if err is not None:
                raise err
            if it is end:
                return
            yield it
    finally:
        stop.set()
        while th.is_alive():  # (unblock a put, let the thread end)
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.05)


def _csv_dataset(p: Path) -> pads.Dataset:
    import pyarrow.csv as pacsv

    first = p if p.is_file() else sorted(p.glob("*.csv"))[0]
    with pacsv.open_csv(first, read_options=pacsv.ReadOptions(block_size=1 << 16)) as r:
        names = r.schema.names
    fmt = pads.CsvFileFormat(
        read_options=pacsv.ReadOptions(block_size=1 << 22),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                             strings_can_be_null=True,
                                             null_values=[""]))
    return pads.dataset(p, format=fmt)


def duplicate_ids(inp: TableInput, batch_rows: int = BATCH_ROWS) -> dict[str, list[int]]:
    """客户编号 met on more than one row of the whole input -> the rows (numbered as in the
    messages: the header is row 1), from the id column only, in memory of ~12 bytes a row: a
    first pass keeps a 64-bit hash of each id (``id_hashes``; read, trimmed and hashed in a
    thread) and sorts their top 32 bits as they come (``idhash.HashRuns``; a batch's sorted
    by the reading thread when it is ahead); the hashes met twice are found from those
    (``idhash.repeated_hashes``); a second pass — only when two hashes are equal — compares
    the ids of those rows themselves."""
    name = inp.id_column()
    if name is None:
        return {}

    def texts(work: Scratch) -> Iterator[pa.Array]:
        return (id_texts(b.column(0), work) for b in inp.batches(batch_rows, [name]))

    work = Scratch()  # (the reading thread's)
    made, used = [0], [0]

    def hashed() -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        for a in texts(work):
            h = id_hashes(a, work)
            made[0] += 1  # (ahead of this thread: it sorts the batch's run itself too)
            yield h, sorted_tops(h) if made[0] - used[0] > 2 else None

    hashes: list[np.ndarray] = []
    runs = HashRuns(_rows_expected(inp))
    # (up to 8 batches ahead, ~1.5 MB each: the reading goes on while this thread merges)
    for h, tops in prefetch(hashed(), 8):
        used[0] += 1
        hashes.append(h)
        runs.add(h, tops)
    again = repeated_hashes(hashes, runs.repeated())
    del runs
    if not len(again):
        return {}
    seen: dict[str, list[int]] = {}
    at = 2
    for k, a in enumerate(prefetch(texts(Scratch()))):
        h = hashes[k] if k < len(hashes) and len(hashes[k]) == len(a) else id_hashes(a)
        rows = np.flatnonzero(among(h, again))
        for r, cid in zip(rows.tolist(), a.take(rows).to_pylist(), strict=True):
            seen.setdefault(cid, []).append(at + r)
        at += len(a)
    return {cid: rows for cid, rows in seen.items() if len(rows) > 1}


def _rows_expected(inp: TableInput) -> int:
    """The input's rows when its files say so (Parquet footers), else 0 (a CSV is not read
    for it)."""
    ds = inp.dataset
    return inp.n_rows if isinstance(ds, pads.FileSystemDataset) and isinstance(
        ds.format, pads.ParquetFileFormat) else 0


def id_hashes(ids: pa.Array | pa.ChunkedArray, work: Scratch | None = None) -> np.ndarray:
    """A 64-bit hash of each text (``idhash.hash_texts``: over its UTF-8 bytes, in numpy); 0
    for an empty or missing one and for an error value (``#…``), which are not duplicates
    (each rejected by its row). ``work``: arrays reused from one call to the next (one
    thread's)."""
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    return hash_texts(ids, work)


def id_texts(arr: pa.Array, work: Scratch | None = None) -> pa.Array:
    """客户编号 as ``read_ids`` reads them: texts trimmed, whole numbers without ``.0`` (the
    trimming skipped when no text begins or ends with anything it could take off:
    ``idhash.trimmed``). ``work``: as for ``id_hashes``."""
    t = arr.type
    if pa.types.is_floating(t):
        arr = pc.cast(arr, pa.int64(), safe=False) if pc.all(
            pc.equal(pc.floor(arr), arr)).as_py() else arr
    if not pa.types.is_string(arr.type):
        arr = pc.cast(arr, pa.string())
    if isinstance(arr, pa.Array) and trimmed(arr, work):
        return arr
    return pc.utf8_trim_whitespace(arr)
