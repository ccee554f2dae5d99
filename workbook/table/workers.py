"""Batches rated in worker processes (``rate_table(workers=2)``, ``--workers 2``): the
process that reads the input and writes the outputs hands each record batch to a pool of
``workers`` processes and takes their decisions and rejections back in the input's order.

What crosses between the processes is kept small and cheap: a batch's columns and the
duplicated 客户编号 *of that batch* go out; its decisions and rejections come back as one
Arrow IPC stream each (a copy of the buffers, no per-value work); settings and the rulebook
are settled once per process. The pool is started before the input's duplicate-id pass, so
that the workers' start-up (a fork of a server that has imported the package once:
``forkserver`` with this module preloaded — never a fork of a process running threads)
overlaps it; at most two batches per worker are in flight, so memory stays bounded.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from .run import rate_arrow
from .source import TableInput
from .steps import settle_run

Result = tuple[pa.RecordBatch, pa.RecordBatch, int, int]
_STATE: dict[str, Any] = {}


def _init(settings: dict[str, Any], header: list[str], wanted: list[int],
          used: list[int] | None) -> None:
    _STATE.update(spec=settle_run(**settings), header=header, wanted=wanted, used=used)


def _ready() -> int:
    return os.getpid()


def _put(batch: pa.RecordBatch, path: str | None) -> Any:
    """A batch handed to the other process: an Arrow IPC file at ``path`` (one copy; read
    back memory-mapped, without a copy), or the IPC stream's bytes (no ``path``: through the
    pipe)."""
    sink: Any = pa.OSFile(path, "wb") if path else pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as w:
        w.write_batch(batch)
    if path:
        sink.close()
        return path
    return sink.getvalue()


def _get(got: Any) -> pa.RecordBatch:
    """The batch ``_put`` handed over (its file removed: the mapping stays valid)."""
    if isinstance(got, str):
        with pa.memory_map(got) as src:
            batch = pa.ipc.open_stream(src).read_next_batch()
        os.unlink(got)
        return batch
    return pa.ipc.open_stream(got).read_next_batch()


def _rate(batch: Any, offset: int, dups: dict[str, list[int]], to: str | None
          ) -> tuple[Any, Any, int, int]:
    s = _STATE
    b = _get(batch)
    dec, rej, blank = rate_arrow(b, offset, s["spec"], s["header"], s["wanted"], dups,
                                 s["used"])
    return (_put(dec, to and f"{to}-d.arrow"), _put(rej, to and f"{to}-r.arrow"), blank,
            b.num_rows)


class DuplicatesByRow:
    """The duplicated 客户编号 of a range of rows (a batch's), from those of the whole input."""

    def __init__(self, dups: dict[str, list[int]]) -> None:
        pairs = sorted((r, cid) for cid, rows in dups.items() for r in rows)
        self.rows = np.array([r for r, _ in pairs], np.int64)
        self.ids = [cid for _, cid in pairs]
        self.dups = dups

    def of(self, first: int, n: int) -> dict[str, list[int]]:
        lo, hi = np.searchsorted(self.rows, [first, first + n])
        return {cid: self.dups[cid] for cid in self.ids[int(lo):int(hi)]}


class Pool:
    """``n`` worker processes rating batches of ``inp`` with the run's ``settings``; batches
    pass through files in ``shared`` (a folder in memory, /dev/shm, where there is one: see
    ``exchange_dir``) on POSIX, through the pipe elsewhere."""

    def __init__(self, n: int, settings: dict[str, Any], inp: TableInput, spill: Path) -> None:
        ctx: Any = mp.get_context("forkserver" if os.name == "posix" else "spawn")
        if os.name == "posix":
            ctx.set_forkserver_preload([__name__])
        self.n = n
        self.dir = exchange_dir(spill) if os.name == "posix" else None
        self.pool = ProcessPoolExecutor(n, mp_context=ctx, initializer=_init,
                                        initargs=(settings, inp.header, inp.wanted, inp.used))
        self.started = [self.pool.submit(_ready) for _ in range(n)]  # (start them now)

    def results(self, batches: Iterator[tuple[pa.RecordBatch, int]],
                dups: dict[str, list[int]]) -> Iterator[Result]:
        """Each batch's (decisions, rejections, blank rows, rows read), in order."""
        by_row = DuplicatesByRow(dups)
        pending: deque[Future[Any]] = deque()

        def take() -> Result:
            dec, rej, blank, n = pending.popleft().result()
            return _get(dec), _get(rej), blank, n

        for k, (batch, off) in enumerate(batches):
            at = self.dir and os.path.join(self.dir, f"{k:06d}")
            pending.append(self.pool.submit(_rate, _put(batch, at and f"{at}-i.arrow"), off,
                                            by_row.of(off + 2, batch.num_rows), at))
            if len(pending) >= 2 * self.n:
                yield take()
        while pending:
            yield take()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def exchange_dir(spill: Path) -> str:
    """A new folder for the batches in flight: in /dev/shm (memory) when it has 1 GB free,
    else in ``spill`` (the output folder: written and read back from the page cache)."""
    shm = "/dev/shm"
    try:
        st = os.statvfs(shm)
        free = st.f_bavail * st.f_frsize
    except OSError:
        free = 0
    return tempfile.mkdtemp(prefix=".rate-table-", dir=shm if free >= 2**30 else spill)
