"""The rows a run appends to 变更记录, made a block at a time: the first run of a 1,000,000-client
branch logs a 首次评级 row for every client (1M rows of 17 texts, ~1 GB as Python lists), so a
file run never holds them all. ``ChangeRows`` makes the 变更 rows of a block when asked (and
holds the 拒绝 rows after them), ``ChainedRows`` chains the run row and those rows onto the
log's last hash: a first pass hashes every block (the tail hash goes to 汇总 before anything is
written), the writer then asks for the blocks again in order and each is remade and re-chained
from the hash its first pass started from -- and must end on the hash the first pass ended on
(else ``LogRowsError``: the file is not written). ``Changes`` is ``RunResult.changes``: the
``Change`` records, made from the same blocks. All three are sequences (len, index, slice,
iteration, ==), so the Excel and Calc front ends and the tests take them as lists.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import numpy as np

from .. import history
from .result import Change

#: 变更 rows are made this many at a time.
BLOCK = 5000
#: Chained rows up to this many are kept once made (a quarter's ~50,000 rows are made once);
#: beyond, a block is made again when written (the first run of a big branch).
KEEP_ROWS = 100_000


class LogRowsError(RuntimeError):
    """The rows made for writing are not the rows hashed before (an internal error)."""


class _Blocks(Sequence):
    """A sequence made of blocks: ``_count()``, ``_starts`` (first index of each block) and
    ``_block(k)``; indexing, slices and iteration go block by block, the last one kept."""

    _starts: list[int]
    _n: int

    def __init__(self) -> None:
        self._last: tuple[int, list[Any]] | None = None

    def _block(self, k: int) -> list[Any]:
        raise NotImplementedError

    def _get_block(self, k: int) -> list[Any]:
        if self._last is not None and self._last[0] == k:
            return self._last[1]
        got = self._block(k)
        self._last = (k, got)
        return got

    def __len__(self) -> int:
        return self._n

    def blocks(self) -> Iterator[list[Any]]:
        """The items, a block (a list) at a time."""
        for k in range(len(self._starts)):
            yield self._get_block(k)

    def __iter__(self) -> Iterator[Any]:
        for b in self.blocks():
            yield from b

    @overload
    def __getitem__(self, i: int) -> Any: ...

    @overload
    def __getitem__(self, i: slice) -> list[Any]: ...

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            a, b, step = i.indices(self._n)
            if step != 1:
                return list(self)[i]
            out: list[Any] = []
            while a < b:
                k = bisect.bisect_right(self._starts, a) - 1
                s = self._starts[k]
                blk = self._get_block(k)
                out += blk[a - s:b - s]
                a = s + len(blk)
            return out
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        k = bisect.bisect_right(self._starts, i) - 1
        return self._get_block(k)[i - self._starts[k]]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._n} rows>"


class ChangeRows(_Blocks):
    """The 变更 rows of a run (fields without the hash; ``make(a, b)`` makes rows a..b-1),
    then the rows added with ``+=`` (the 拒绝 rows)."""

    def __init__(self, n: int, make: Callable[[int, int], list[list[str]]],
                 excel_rows: np.ndarray, block: int | None = None) -> None:
        super().__init__()
        block = block or BLOCK
        self.n_changes = n
        self.make = make
        self.excel_rows = excel_rows  # 客户's Excel row of each 变更 row
        self.block = block
        self.extra: list[list[str]] = []
        self._starts = list(range(0, n, block))
        self._n = n

    def _block(self, k: int) -> list[list[str]]:
        a = self._starts[k]
        if a >= self.n_changes:
            return self.extra
        return self.make(a, min(a + self.block, self.n_changes))

    def __iadd__(self, rows: Sequence[list[str]]) -> ChangeRows:
        if rows:
            if not self.extra:
                self._starts.append(self.n_changes)
            self.extra += rows
            self._n = self.n_changes + len(self.extra)
            self._last = None
        return self

    def fresh_blocks(self) -> Iterator[list[list[str]]]:
        """The blocks, each made anew (the caller may change them)."""
        for k in range(len(self._starts)):
            blk = self._block(k)
            yield blk if k < len(self._starts) - 1 or not self.extra else [*map(list, blk)]


class Changes(_Blocks):
    """``RunResult.changes``: a ``Change`` per 变更 row, made from its rows when asked."""

    def __init__(self, rows: ChangeRows) -> None:
        super().__init__()
        self.rows = rows
        self._n = rows.n_changes
        self._starts = list(range(0, self._n, rows.block))

    def _block(self, k: int) -> list[Change]:
        a = self._starts[k]
        at = _CHANGE_AT
        b = min(a + self.rows.block, self._n)
        made = self.rows.make(a, b)
        return [Change(int(r), *f[at:at + 6])
                for r, f in zip(self.rows.excel_rows[a:b].tolist(), made, strict=True)]


_CHANGE_AT = history.HEADER.index("客户编号")


class ChainedRows(_Blocks):
    """``head`` (the run row) then ``body`` (a ``ChangeRows``, or a list), hash-chained from
    ``prev`` (``history.chain``). ``tail`` is the last row's hash."""

    width = len(history.HEADER)

    def __init__(self, prev: str, head: list[list[str]], body: Sequence[list[str]], *,
                 keep_rows: int | None = None) -> None:
        super().__init__()
        keep_rows = KEEP_ROWS if keep_rows is None else keep_rows
        self.body = body
        chained_head = history.chain(prev, [list(r) for r in head], in_place=True)
        self._head = chained_head
        self._n = len(self._head) + len(body)
        self._prev: list[str] = []  # the hash each body block starts from (and the tail)
        self._kept: list[list[list[str]]] | None = [] if self._n <= keep_rows else None
        self._starts = [0]
        prev = chained_head[-1][history.N_FIELDS] if chained_head else prev
        at = len(self._head)
        for blk in self._body_blocks():  # the first pass: every hash
            self._prev.append(prev)
            self._starts.append(at)
            at += len(blk)
            done = history.chain(prev, blk, in_place=True)
            if done:
                prev = done[-1][history.N_FIELDS]
            if self._kept is not None:
                self._kept.append(done)
        self._prev.append(prev)
        self.tail = prev

    def _body_blocks(self) -> Iterator[list[list[str]]]:
        if isinstance(self.body, ChangeRows):
            yield from self.body.fresh_blocks()
        elif self.body:
            yield [list(r) for r in self.body]

    def _block(self, k: int) -> list[list[str]]:
        if k == 0:
            return self._head
        if self._kept is not None:
            return self._kept[k - 1]
        assert isinstance(self.body, ChangeRows)  # (a list body is always kept)
        blk = self.body._block(k - 1)
        if blk is self.body.extra:
            blk = [*map(list, blk)]
        done = history.chain(self._prev[k - 1], blk, in_place=True)
        end = done[-1][history.N_FIELDS] if done else self._prev[k - 1]
        if end != self._prev[k]:
            raise LogRowsError("内部错误：变更记录的行在写入时与计算哈希时不一致，未写入文件。")
        return done


class WithHeader(_Blocks):
    """The header row of 变更记录, then ``rows`` (a log written on an empty sheet)."""

    width = len(history.HEADER)

    def __init__(self, rows: ChainedRows) -> None:
        super().__init__()
        self.rows = rows
        self._n = len(rows) + 1
        self._starts = [0, *(s + 1 for s in rows._starts)]

    def _block(self, k: int) -> list[list[str]]:
        return [list(history.HEADER)] if k == 0 else self.rows._get_block(k - 1)


__all__ = ["BLOCK", "KEEP_ROWS", "ChainedRows", "ChangeRows", "Changes", "LogRowsError", "WithHeader"]
