"""One edited worksheet (客户 of a big branch) patched and deflated by several processes.

Patching XML in Python holds the GIL, so a second thread cannot share the work; forked
processes can (``parallel`` reads a sheet the same way). The part's row chunks (``SheetStream``
cuts the same chunks in every process) are shared out by byte offset, as ``parallel`` does:
the parent patches the first share and deflates it into the zip entry itself, ending it with
``Z_SYNC_FLUSH``; each forked worker (it inherits the edits, the cell writer and the styles at
the fork) inflates the part from its start, patches the chunks of its share and deflates them
into an unnamed temporary file as a raw deflate stream of its own (``Z_SYNC_FLUSH``, the last
share ``Z_FINISH``). The parent appends those pieces to the entry and combines their CRC-32s
(``zipwriter.Piece``): one valid deflate stream, pigz-style; the inflated part is byte for byte
what one pass writes (tested).

A share begins with state that the shares before it leave: the last row number done, the
style a created cell takes from the column's cell above (``RowPatcher.last_style``) and new
date styles. A worker assumes the row before its first row is the last one done, records the
columns whose style it asked for before it had seen one, and reports whether it added a
style; the parent checks these against what the shares before it left, and when anything
differs (a sheet with gaps between shares, dates in a column without a date style...) it
drops the entry and patches the part in one pass. A worker that fails fails the save (the
temporary output is removed, the original untouched).

Needs ``fork`` (Linux) and zlib-ng's ``crc32_combine``; parts smaller than ``MIN_BYTES`` (and
the row-by-row reference path) are patched in one pass.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol, cast

from .book import XlsxBook
from .cells import CellWriter
from .errors import XlsxError
from .parallel import can_fork, share_chunks
from .rowpatch import Edits, RowPatcher
from .safety import open_zip
from .sheetxml import BLOCK as _SHEET_BLOCK
from .sheetxml import ROW_R_RE, SheetStream
from .zipwriter import Piece, RawZipWriter, crc32_combine, deflate_piece

#: Parts smaller than this (inflated) are patched in one pass: forking costs more than it saves.
MIN_BYTES = 64 * 1024 * 1024
#: Processes sharing a part (the parent is one of them).
WORKERS = 2
#: Inflated block size of the part's streams (the same in every process: it decides the chunks).
BLOCK = _SHEET_BLOCK
#: The parent's share beside a worker's (1.0: the same): the parent also writes the other parts,
#: a worker inflates the part up to its share first (0.85 while the parent also judged the other
#: sheets for ``RecalcCheck``; 0.95 since the job's verdict is judged before the write,
#: ``workbook.recalc_fork``: at 1M clients the parent's and the worker's write CPU 16.1 / 17.3 s
#: at 0.85, 16.7 / 15.9 s at 1.0).
PARENT_WEIGHT = 0.95


@dataclass(frozen=True)
class _Job:
    """What a forked worker needs (inherited at the fork, never pickled)."""

    path: str
    part: str
    edits: Edits
    w: CellWriter
    level: int
    check: Any
    files: list[BinaryIO]
    size: int
    n: int


_job: _Job | None = None


def _init(job: _Job) -> None:
    """A worker drops stdout/stderr (see ``parallel._worker_init``) and keeps the job."""
    global _job
    sys.stdout = sys.stderr = None
    _job = job


class _Probe(dict):
    """``RowPatcher.last_style`` in a worker: also the columns asked for before it set them
    (the shares before it may have)."""

    def __init__(self) -> None:
        super().__init__()
        self.probed: set[int] = set()

    def __contains__(self, c: object) -> bool:
        got = dict.__contains__(self, c)
        if not got:
            self.probed.add(c)  # type: ignore[arg-type]
        return got


def _bound(k: int, n: int, size: int) -> int:
    """Where share ``k`` of ``n`` starts in the inflated part (share 0: the parent's)."""
    return 0 if k == 0 else int(size * (PARENT_WEIGHT + k - 1) / (PARENT_WEIGHT + n - 1))


def _share(stream: SheetStream, k: int, n: int, size: int) -> Iterator[bytes]:
    """The row chunks starting in share ``k`` of ``n`` of the part (by inflated offset)."""
    return share_chunks(stream, k, n, _bound(k, n, size), _bound(k + 1, n, size))


def _first_row(chunk: bytes) -> int | None:
    m = ROW_R_RE.search(chunk[: chunk.find(b">") + 1])
    return int(m.group(1)) if m else None


def _worker_chunks(pt: RowPatcher, k: int, job: _Job, state: dict[str, Any]
                   ) -> Iterator[bytes]:
    from .patch import patch_chunks, sheet_tail

    feed = job.check.feed if job.check is not None else None
    chunks = _share(pt.stream, k, job.n, job.size)
    head = next(chunks, None)
    first = _first_row(head) if head is not None else None
    if head is None or first is None or first < 2:
        state["ok"] = False  # no rows, or a row without its number: cannot be placed
        return
    state["start"] = first - 1
    last = state["last"] = yield from patch_chunks(pt, itertools.chain([head], chunks),
                                                   first - 1, feed)
    if k == job.n - 1:
        yield from sheet_tail(pt, last, feed)


def _work(k: int) -> dict[str, Any]:
    """Worker ``k``: its share patched and deflated into ``files[k - 1]``."""
    job = _job
    assert job is not None
    styles_before = job.w.styles.data
    state: dict[str, Any] = {"ok": True}
    with open_zip(job.path) as zf, SheetStream(zf, job.part, BLOCK) as stream:
        pt = RowPatcher(stream, job.edits, job.w, True)
        probe = pt.last_style = _Probe()
        fh = open(job.files[k - 1].fileno(), "wb", closefd=False)  # noqa: SIM115
        with fh:
            crc, usize, csize = deflate_piece(fh, _worker_chunks(pt, k, job, state), job.level,
                                              k == job.n - 1)
    found, orphan = job.check.share_result() if job.check is not None else (False, False)
    state.update(crc=crc, usize=usize, csize=csize, probed=probe.probed, set=set(probe),
                 found=found, orphan=orphan)
    if job.w.styles.data is not styles_before or pt.header_style is not None:
        state["ok"] = False  # a style added here would be missing from the parent's
    return state


class RecalcJudge(Protocol):
    """Decides ``fullCalcOnLoad`` while the file is written (``workbook.recalc.RecalcCheck``):
    shown the source text of the edited sheet ``sheet`` as it is patched (``feed``; ``start``
    once that begins), asked at the end (``verdict``)."""

    sheet: str

    def start(self) -> None: ...

    def feed(self, text: bytes) -> None: ...

    def verdict(self) -> bool: ...


class _Redo(Exception):
    """The shares do not join up: patch the part in one pass."""


def _joined(start: dict[str, Any], seen: set[int], results: list[dict[str, Any]]) -> bool:
    """Whether each worker began with the state the shares before it left."""
    last = start["last"]
    for r in results:
        if not r["ok"] or r["start"] != last or r["probed"] & seen:
            return False
        last = r["last"]
        seen = seen | r["set"]
    return True


def write_parallel(writer: RawZipWriter, book: XlsxBook, zi: zipfile.ZipInfo, edits: Edits,
                   w: CellWriter, level: int, check: Any = None) -> bool:
    """Write the patched part ``zi`` of ``book`` as an entry of ``writer`` in shares (see
    module doc); False (nothing written) when it is not worth it or not possible here, or the
    shares did not join up: then the caller patches it in one pass."""
    n = WORKERS
    if (n < 2 or not can_fork() or crc32_combine is None or book.path is None
            or zi.file_size < MIN_BYTES):
        return False
    out_dir = getattr(writer.fh, "name", None)
    tmp_dir = os.path.dirname(os.path.abspath(out_dir)) if isinstance(out_dir, str) else None
    files = [cast(BinaryIO, tempfile.TemporaryFile(dir=tmp_dir))  # noqa: SIM115
             for _ in range(n - 1)]
    job = _Job(os.fspath(book.path), zi.filename, edits, w, level, check, files,
               zi.file_size, n)
    offset = writer.fh.tell()
    pool = ProcessPoolExecutor(n - 1, mp_context=multiprocessing.get_context("fork"),
                               initializer=_init, initargs=(job,))
    try:
        try:
            futures = [pool.submit(_work, k) for k in range(1, n)]
        except OSError:  # no fork (out of processes or memory): one pass
            return False
        if check is not None:
            check.start()  # (its thread only now: after the fork)
        _write_shares(writer, book, zi, job, futures)
    except _Redo:
        writer.rollback(offset)
        return False
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for f in files:
            f.close()
    return True


def _write_shares(writer: RawZipWriter, book: XlsxBook, zi: zipfile.ZipInfo, job: _Job,
                  futures: list) -> None:
    from .patch import patch_chunks, sheet_head

    start: dict[str, Any] = {}
    feed = job.check.feed if job.check is not None else None
    with SheetStream(book.zf, zi.filename, BLOCK) as stream:
        pt = RowPatcher(stream, job.edits, job.w, True)

        def first_share() -> Iterator[bytes]:
            if feed is not None:
                feed(stream.prefix)
            yield sheet_head(pt)
            start["last"] = yield from patch_chunks(pt, _share(stream, 0, job.n, job.size), 0,
                                                    feed)

        def pieces() -> list[Piece]:
            try:
                results = [f.result() for f in futures]
            except BrokenProcessPool as exc:
                raise XlsxError("保存工作簿时，后台进程意外退出（可能内存不足），文件未保存。") \
                    from exc
            if not _joined(start, set(pt.last_style), results):
                raise _Redo
            for r in results:
                if job.check is not None:
                    job.check.add_share(r["found"], r["orphan"])
            return [Piece(f, r["crc"], r["usize"], r["csize"])
                    for f, r in zip(job.files, results, strict=True)]

        if stream.self_closing:
            raise _Redo
        writer.write_stream(zi.filename, first_share(), compresslevel=job.level,
                            date_time=zi.date_time, pieces=pieces)


__all__ = ["MIN_BYTES", "WORKERS", "RecalcJudge", "write_parallel"]
