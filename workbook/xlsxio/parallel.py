"""One worksheet read by several processes at once, each parsing its share of the rows.

Parsing XML in Python holds the GIL, so threads cannot share it out; forked processes can.
Row 1 is read first here (to decide the columns, as ``read_sheet`` does); then each worker
(forked: it inherits the workbook info, shared strings and date styles the parent parsed, and
opens the file with a handle of its own, since a handle shared across a fork shares its
position) inflates the part from its start, skips the row chunks before its share (by byte offset of
the chunk: ``SheetStream`` cuts the same chunks in every process) and parses its own with the
reader's ``SheetScan``; the parts are joined in row order by the parent into the ``SheetData`` a
single pass gives (tested against it).

Only for ``formula_text=False``: a shared formula's master may lie in another worker's rows, so
formula texts could not be translated (formula places do not depend on it). A worker whose
first row has no row number (it could not place it) makes the parent read the sheet alone.
Needs ``fork`` (Linux); elsewhere, and for parts smaller than ``MIN_BYTES``, one pass.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from .book import XlsxBook
from .fastscan import SheetScan
from .findrows import FoundRows, find_rows
from .package import WorkbookInfo
from .reader import as_selection, first_row_re, split_header, split_rows
from .safety import check_zip, open_zip
from .scan import CellContext
from .sheetxml import ROW_R_RE, SheetStream, no_gc
from .values import ColumnSelection, SheetData

#: Parts smaller than this (inflated) are read in one pass: forking costs more than it saves.
MIN_BYTES = 64 * 1024 * 1024


def can_fork() -> bool:
    """Linux only: on macOS a fork is unsafe with some system libraries (its default start
    method is spawn), and Windows has none."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


class ParallelRead:
    """A read started by ``start_read``: the workers run while the caller does other work;
    ``result()`` waits for them and joins their rows (None: read the sheet in one pass)."""

    def __init__(self, pool: ProcessPoolExecutor, futures: list, ctx: CellContext, ns: bytes,
                 name: str, select: frozenset[int] | None, hashed: frozenset[int],
                 path: str) -> None:
        self._pool, self._futures = pool, futures
        self._args = (ctx, ns, name, select, hashed)
        self._path = path  # (the file, for the searches handed to the workers)
        self._more: list[Future] = []  # (``find_rows`` handed to the workers)

    def cancel(self) -> None:
        for f in [*self._futures, *self._more]:
            f.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def find_rows(self, sheet: str, **how: Any) -> PendingFind:
        """``findrows.find_rows(book, sheet, **how)`` done by the first worker done with its
        share of the rows, while the caller goes on with the rows read (an idle core after the
        read: 变更记录's run rows of a 1M-client book cost ~4 s of CPU to find). Call before
        ``result()``."""
        fut = self._pool.submit(_find_share, self._path, sheet, how)
        # the other worker waits for the search to end (the pool's shutdown) before it exits:
        # it gives back the memory of its rows meanwhile
        self._more += [fut, self._pool.submit(_give_back_memory)]
        return PendingFind(fut, self._pool)

    def result(self) -> SheetData | None:
        try:
            parts = [f.result() for f in self._futures]
        except BrokenProcessPool:  # a worker died (killed, out of memory): read it here
            return None
        finally:  # (the searches handed to the workers go on: the workers exit after them)
            self._pool.shutdown(wait=not self._more)
        if any(p is None for p in parts):
            return None
        ctx, ns, name, select, hashed = self._args
        with no_gc():
            return _join(ctx, ns, name, [p for p in parts if p["first_row"]], select, hashed)


def start_read(path: str | os.PathLike[str] | XlsxBook, sheet: str, *,
               columns: ColumnSelection = None, hashed: ColumnSelection = None,
               workers: int = 2, min_bytes: int | None = None) -> ParallelRead | None:
    """Start reading a sheet with ``workers`` processes (``read_sheet(..., formula_text=False)``
    otherwise); None when it is not worth it or not possible here (see module doc). ``path``
    may be an open ``XlsxBook``: its workbook info and shared strings are used here and by the
    workers (they inherit them at the fork; each opens the file for itself)."""
    if workers < 2 or not can_fork():
        return None
    if isinstance(path, XlsxBook):
        return _start_book(path, sheet, columns, hashed, workers, min_bytes)
    with XlsxBook(path) as book:
        return _start_book(book, sheet, columns, hashed, workers, min_bytes)


def _start_book(book: XlsxBook, sheet: str, columns: ColumnSelection, hashed: ColumnSelection,
                workers: int, min_bytes: int | None) -> ParallelRead | None:
    info = book.info
    sh = info.sheet(sheet)
    if book.path is None or sh.part not in info.names:
        return None
    if book.zf.getinfo(sh.part).file_size < (MIN_BYTES if min_bytes is None else min_bytes):
        return None
    ctx = book.context()
    with SheetStream(book.zf, sh.part) as stream:  # row 1 decides the columns
        ns = stream.ns
        head_scan = SheetScan(ctx, ns)
        head_scan.sheet = sh.name
        for chunk in stream.row_chunks():
            head, _ = split_header(chunk, ns)
            if head:
                head_scan.slow(head)
            break
    texts = head_scan.header_texts()
    select = None if columns is None else as_selection(
        columns(texts) if callable(columns) else columns)
    keep_hashed = frozenset() if hashed is None else as_selection(
        hashed(texts) if callable(hashed) else hashed)
    # (fork: the workers get the parsed workbook info and strings without pickling them)
    known = _Known(sh.name, sh.part, book.shared_strings, book.date_flags, info.date1904, info)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_worker_init, initargs=(known,))
    futures = [pool.submit(_read_share, os.fspath(book.path), k, workers, select, keep_hashed)
               for k in range(workers)]
    return ParallelRead(pool, futures, ctx, ns, sh.name, select, keep_hashed,
                        os.fspath(book.path))


class PendingFind:
    """A ``find_rows`` done by a read worker (``ParallelRead.find_rows``): ``result()`` waits
    for its ``FoundRows``; None when the worker died (the caller searches for itself)."""

    def __init__(self, fut: Future, pool: ProcessPoolExecutor) -> None:
        self._fut, self._pool = fut, pool

    def result(self) -> FoundRows | None:
        try:
            return self._fut.result()
        except (BrokenProcessPool, CancelledError):
            return None
        finally:  # (the workers gone, and the pool's thread, before anything else forks)
            self._pool.shutdown(wait=True)


@dataclass(frozen=True)
class _Known:
    """What the parent read of the workbook, handed to the forked workers."""

    name: str
    part: str
    sst: list[str]
    date_flags: list[bool]
    date1904: bool
    info: WorkbookInfo


#: in a worker: what the parent knew of the workbook (``_worker_init``)
_known: _Known | None = None


def _worker_init(known: _Known) -> None:
    """A forked worker never writes to stdout/stderr: it drops them, so that its exit (which
    flushes them) cannot wait on a lock a thread of the parent held at the fork (the console's
    progress bar refreshes from a thread). It keeps what the parent read of the workbook."""
    global _known
    sys.stdout = sys.stderr = None
    _known = known


def share_chunks(stream: SheetStream, k: int, n: int, lo: int, hi: int) -> Iterator[bytes]:
    """The row chunks of share ``k`` of ``n`` of a part: those starting (by inflated offset) in
    ``[lo, hi)`` — the first share from the part's start, the last to its end. Every process
    cuts the same chunks, so the shares meet without a gap or an overlap (the parallel read,
    ``parpatch``)."""
    pos = len(stream.prefix)
    for chunk in stream.row_chunks():
        start = pos
        pos += len(chunk)
        if start < lo and k:
            continue
        if start >= hi and k < n - 1:
            return
        yield chunk


def _read_share(path: str, k: int, n: int, select: frozenset[int] | None,
                hashed: frozenset[int]) -> dict[str, Any] | None:
    """Worker ``k`` of ``n``: the rows of the chunks starting in its share of the part (its
    own handle of the file: a handle shared across a fork shares its position)."""
    known = _known
    assert known is not None
    with open_zip(path) as zf:
        check_zip(zf)
        size = zf.getinfo(known.part).file_size
        lo, hi = k * size // n, (k + 1) * size // n
        ctx = CellContext(known.sst, known.date_flags, known.date1904)
        with SheetStream(zf, known.part) as stream, no_gc():
            scan = SheetScan(ctx, stream.ns)
            scan.sheet = known.name
            scan.formula_text = False
            scan.select = select
            scan.hashed = hashed
            first_row = 0
            for chunk in share_chunks(stream, k, n, lo, hi):
                if not first_row:
                    m = first_row_re(stream.ns).search(chunk)
                    rm = ROW_R_RE.search(m.group(1)) if m else None
                    if rm is None:
                        return None  # a row without its number: cannot be placed
                    first_row = int(rm.group(1))
                for piece in split_rows(chunk, scan.end_row):
                    if not scan.fast(piece):
                        scan.slow(piece)
    cut = max(first_row - 2, 0) if k else 0  # (lists hold None before the first row)
    return {"first_row": first_row if k else 1, "columns": [lst[cut:] for lst in scan.columns],
            "cut": cut, "header": scan.header, "formulas": scan.formulas,
            "fplaces": scan.fplaces, "max_row": scan.max_row, "row": scan.row}


def _find_share(path: str, sheet: str, how: dict[str, Any]) -> FoundRows:
    """In a worker: ``find_rows`` on its own handle of the file, with the workbook info and
    shared strings the parent parsed (not parsed again)."""
    known = _known
    assert known is not None
    _give_back_memory()  # (of the rows it parsed: the run's peak is while this searches)
    with open_zip(path) as zf:
        check_zip(zf)
        book = XlsxBook.of_zip(zf)
        book.__dict__.update(info=known.info, shared_strings=known.sst,
                             date_flags=known.date_flags)  # (its cached properties)
        return find_rows(book, sheet, **how)


def _give_back_memory() -> None:
    """Return to the system what a worker freed (its share's rows, sent to the parent): the
    allocator keeps freed heap pages otherwise (~1/3 of a worker's memory at 200k rows)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # (not glibc: nothing to trim)
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _join(ctx: CellContext, ns: bytes, name: str, parts: list[dict[str, Any]],
          select: frozenset[int] | None, hashed: frozenset[int]) -> SheetData:
    scan = SheetScan(ctx, ns)
    scan.formula_text = False
    scan.select = select
    scan.hashed = hashed
    ncols = max((len(p["columns"]) for p in parts), default=0)
    for c in range(ncols):
        merged: list[Any] = []
        if select is None or c + 1 in select:
            for k, p in enumerate(parts):
                cols = p["columns"]
                if c >= len(cols):
                    continue
                end = parts[k + 1]["first_row"] - 2 if k + 1 < len(parts) else None
                seg = cols[c][: None if end is None else end - p["cut"]]
                if len(merged) < p["cut"]:
                    merged.extend([None] * (p["cut"] - len(merged)))
                merged.extend(seg)
        scan.columns.append(merged)
    for p in parts:
        scan.formulas.update(p["formulas"])
        for c, rows in p["fplaces"].items():
            scan.fplaces.setdefault(c, []).extend(rows)
    scan.header = parts[0]["header"] if parts else {}
    scan.max_row = max((p["max_row"] for p in parts), default=0)
    scan.ncols = ncols
    scan.row = parts[-1]["row"] if parts else 0
    return scan.result(name)


__all__ = ["MIN_BYTES", "ParallelRead", "PendingFind", "can_fork", "start_read"]
