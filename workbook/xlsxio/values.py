"""What the reader gives: ``SheetData`` (the values of one worksheet), the kinds of cell value,
the columns a selective read leaves out or keeps as hashes, and Excel's serial dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NoReturn, Union

import numpy as np

from .errors import CellError
from .sheetxml import col_letter

Value = Union[float, str, bool, dt.datetime, CellError, None]  # noqa: UP007
#: ``read_sheet(columns=...)``: 1-based columns, or a function of the header row (trimmed texts,
#: one per column) returning them.
ColumnSelection = Union[Iterable[int], Callable[[list[str]], Iterable[int]], None]  # noqa: UP007

_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)


def serial_to_datetime(serial: float, date1904: bool = False) -> dt.datetime:
    """Excel serial date -> datetime (1900 system with its fictitious 1900-02-29, or 1904)."""
    if date1904:
        base = _EPOCH_1904
    elif serial < 60:
        # before Excel's fictitious 1900-02-29 (serial 60) days are off by one
        base = _EPOCH_1900 + dt.timedelta(days=1)
    else:
        base = _EPOCH_1900
    ms = round(serial * 86_400_000)
    return base + dt.timedelta(milliseconds=ms)


def datetime_to_serial(value: dt.date, date1904: bool = False) -> float:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    delta = value - (_EPOCH_1904 if date1904 else _EPOCH_1900)
    serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    if not date1904 and serial < 61:
        serial -= 1  # 1900-01-01 is serial 1; the 1900 leap bug starts at 1900-03-01 = 61
    return serial


class ColumnNotReadError(LookupError):
    """A value of a column that ``read_sheet(columns=...)`` skipped was asked for (a bug of
    the caller: it selected too few columns)."""


class UnreadColumn(Sequence):
    """Stands for a column ``read_sheet(columns=...)`` skipped: ``len()`` is the number of data
    rows like any column, but reading a value (index, slice, iteration) raises
    ``ColumnNotReadError`` -- a skipped column never passes for an empty one."""

    __slots__ = ("_n", "col")

    def __init__(self, n: int, col: int) -> None:
        self._n = n
        self.col = col

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int | slice) -> NoReturn:
        raise ColumnNotReadError(
            f"第 {col_letter(self.col)} 列未读取（read_sheet 的 columns= 没有选中它）。")

    def __iter__(self) -> Iterator[Value]:
        if self._n:
            self[0]
        return iter(())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnreadColumn) and (other._n, other.col) == (self._n, self.col)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"UnreadColumn({self._n}, col={self.col})"


class HashedColumn(np.ndarray):
    """A column ``read_sheet(hashed=...)`` kept as ``hash(value)`` of each cell (int64; an
    empty cell is ``hash(None)``): ``len()`` is the number of data rows like any column;
    ``column.col`` its 1-based number."""

    col: int

    def __new__(cls, hashes: list[int], col: int) -> HashedColumn:
        obj = np.asarray(hashes, dtype=np.int64).view(cls)
        obj.col = col
        return obj

    def __array_finalize__(self, obj: object) -> None:
        self.col = getattr(obj, "col", 0)


@dataclass
class SheetData:
    """Values of one worksheet.

    * ``n_rows``: the last used row number (Excel coordinate; row 1 is the header), so the
      data rows are 2..n_rows and each column list has ``n_rows - 1`` entries.
    * ``header``: row 1 as trimmed text, one entry per column ("" for an empty header cell).
    * ``columns[c - 1][r - 2]``: value of cell (r, c) for r >= 2.
    * ``formulas[(r, c)]``: formula text without '=' for every cell holding a formula (shared
      formulas translated to the cell); the cached value is in ``columns``.
    * a column read with ``read_sheet(hashed=...)`` is a ``HashedColumn`` of ``hash()`` of
      each value: enough to tell whether a value changes, for a tenth of the memory of long
      texts.
    * ``selected``: None when every column was read; else the columns ``read_sheet(columns=)``
      read. A column not selected is an ``UnreadColumn`` (right length; reading a value raises
      ``ColumnNotReadError``) and has no ``formulas``. ``n_rows``, ``n_cols``, ``header`` and
      ``header_values`` always cover every column (row 1 is always read in full).
    """

    name: str
    n_rows: int
    header: list[str]
    columns: list[list[Value]]
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    header_values: list[Value] = field(default_factory=list)
    selected: frozenset[int] | None = None
    #: ``read_sheet(formula_text=False)``: column -> rows of the formula cells whose text was
    #: not kept (``formulas`` then holds only the few cells read one by one)
    formula_places: dict[int, np.ndarray] = field(default_factory=dict)

    def formula_mask(self, col: int) -> np.ndarray:
        """``mask[r]`` is True where cell (r, col) holds a formula (r = 0 … n_rows)."""
        mask = np.zeros(self.n_rows + 1, bool)
        rows = self.formula_places.get(col)
        if rows is not None:
            mask[rows] = True
        for (r, c) in self.formulas:
            if c == col:
                mask[r] = True
        return mask

    @property
    def n_cols(self) -> int:
        return len(self.columns)

    @property
    def n_data_rows(self) -> int:
        return max(self.n_rows - 1, 0)

    def col_of(self, *names: str) -> int | None:
        """1-based column of the first header equal (trimmed, case-insensitive) to a name."""
        wanted = [n.strip().casefold() for n in names]
        folded = [h.casefold() for h in self.header]
        for w in wanted:
            if w in folded:
                return folded.index(w) + 1
        return None

    def column(self, name_or_index: str | int) -> list[Value]:
        if isinstance(name_or_index, int):
            return self.columns[name_or_index - 1]
        c = self.col_of(name_or_index)
        if c is None:
            raise KeyError(name_or_index)
        return self.columns[c - 1]

    def value(self, row: int, col: int) -> Value:
        if row == 1:
            return self.header_values[col - 1] if col <= len(self.header_values) else None
        if col > len(self.columns) or row - 2 >= len(self.columns[col - 1]):
            return None
        return self.columns[col - 1][row - 2]


def header_text(v: Value) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    return str(v).strip()
