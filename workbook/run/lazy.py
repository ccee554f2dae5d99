"""Columns made when they are written: 级别依据 of a 1M-client run is 1M texts of ~250 bytes, so
a file run keeps how to make them (``Basis``) and makes each slice as the patch reaches it
(``LazyColumn``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..xlsxio import KEEP, SheetData
from ..xlsxio.reader import UnreadColumn


class Basis(Sequence):
    """级别依据 of the processed rows (index j: row ``act[j]``), formatted when asked for: a
    1M-client run would otherwise hold 1M texts of about 250 bytes. ``special`` holds the
    texts that are not the rule's reason alone (overrides, tiers kept, new accounts)."""

    def __init__(self, batch: Any, act: np.ndarray, special: dict[int, str]) -> None:
        self.batch, self.act, self.special = batch, act, special
        self._is_special = np.zeros(len(act), bool)
        self._is_special[list(special)] = True

    def __len__(self) -> int:
        return len(self.act)

    def texts(self, js: Sequence[int] | np.ndarray) -> list[str]:
        js = np.asarray(js, dtype=np.intp)
        out = self.batch.reasons(self.act[js])
        if self.special:
            for k in np.flatnonzero(self._is_special[js]).tolist():
                out[k] = self.special[int(js[k])]
        return out

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.texts(np.arange(len(self))[i])
        return self.texts([i])[0]

    def __iter__(self) -> Iterator[str]:
        for a in range(0, len(self), LAZY_BLOCK):
            yield from self.texts(np.arange(a, min(a + LAZY_BLOCK, len(self))))


LAZY_BLOCK = 65536


class Reasons:
    """The rule's reason of rows (``Batch.reasons``), after the note of an override not applied
    (``overrides.OverrideReview.notes``) and of each input read as the larger of two columns
    (``schema.LargerOf``: 日均资产取上年日均资产 … 中的较大者（…）；)."""

    def __init__(self, batch: Any, larger: list[Any], notes: dict[int, str]) -> None:
        self.batch, self.larger, self.notes = batch, larger, notes

    def reasons(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        out = self.batch.reasons(rows)
        if self.larger or self.notes:
            for k, i in enumerate(np.asarray(rows).tolist()):
                note = self.notes.get(i)
                out[k] = (f"{note}；" if note else "") \
                    + "".join(lo.note(i) for lo in self.larger) + out[k]
        return out


class LazyColumn(Sequence):
    """A column to write (index 0 = row 2) whose changed values come from ``source`` (a
    ``Basis``) when the patch reaches them, ``KEEP`` elsewhere; a slice is a list (the patch
    asks for the same slice twice in a row: it is made once)."""

    slices_to_lists = True

    def __init__(self, n: int, positions: np.ndarray, js: np.ndarray, source: Basis) -> None:
        self.where = np.full(n, -1, np.int64)
        self.where[positions] = js
        self.source = source
        self.n_set = len(js)
        self._last: tuple[tuple[int, int], list[Any]] | None = None

    def __len__(self) -> int:
        return len(self.where)

    def _slice(self, a: int, b: int) -> list[Any]:
        if self._last is not None and self._last[0] == (a, b):
            return self._last[1]
        w = self.where[a:b]
        at = np.flatnonzero(w >= 0)
        out = np.full(len(w), KEEP, dtype=object)
        if len(at):
            part = np.empty(len(at), dtype=object)
            part[:] = self.source.texts(w[at])
            out[at] = part
        got = out.tolist()
        self._last = ((a, b), got)
        return got

    def __getitem__(self, i):
        if isinstance(i, slice):
            a, b, step = i.indices(len(self))
            return self._slice(a, max(a, b)) if step == 1 else list(self)[i]
        j = int(self.where[i])
        return KEEP if j < 0 else self.source.texts([j])[0]

    def __iter__(self) -> Iterator[Any]:
        for a in range(0, len(self), LAZY_BLOCK):
            yield from self._slice(a, min(a + LAZY_BLOCK, len(self)))

    def count(self, value: Any) -> int:
        if value is KEEP:
            return len(self) - self.n_set
        return sum(1 for v in self if v == value)


def release(data: SheetData, which: Callable[[int], bool]) -> None:
    """Let go of the values of the columns ``which`` picks (they read as not read after)."""
    for c in range(1, data.n_cols + 1):
        if which(c) and not isinstance(data.columns[c - 1], UnreadColumn):
            data.columns[c - 1] = UnreadColumn(data.n_data_rows, c)  # type: ignore[call-overload]
