"""The port between the buttons' logic (addin/excel.py) and an open workbook.

The buttons need only a handful of operations from the workbook they run on; they are named
here, so that the logic is plain Python over this protocol and its tests use a small fake of it
(tests/addin/fakeport.py) instead of an imitation of Excel. The one implementation for Excel is
``addin.xlwings_port.XlwingsPort`` (xlwings ``Book``/``Sheet``/``Range``/``App``).

Sheets are named by their name as the book spells it (``sheet_names()``); rows and columns
count from 1 as in Excel. Values go in and out as Python values:

* read (``values``): what xlwings hands over for ``range.options(ndim=2, err_to_str=True)``
  from A1 to the last used cell — floats, str, bool, ``datetime`` for date cells, ``None`` for
  empty cells, error cells as their text (``"#N/A"``); ``[]`` for an empty sheet;
* written (``write``): a str is stored as that text, never parsed into a formula, a number
  or a date (``=HYPERLINK(…)``, ``2026-11``, ``000123`` stay text); ``""`` and ``None`` empty
  the cell; numbers, bools and dates as such. Only ``write_formulas`` writes formulas.

``PortSource`` reads a port as a ``workbook.source.BookSource`` (the job's reader).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from workbook.grid import cell_value, sheet_from_grid
from workbook.schema import pick_sheet
from workbook.source import BookSource, ColumnPick
from workbook.xlsxio import SheetData

#: Formulas as read: ``{(row, col): formula text without "="}``
Formulas = dict[tuple[int, int], str]


@runtime_checkable
class WorkbookPort(Protocol):
    """What the buttons need from an open workbook (see the module doc for values)."""

    #: the workbook's full path (or its name when it was never saved)
    path: str

    # --- sheets
    def sheet_names(self) -> list[str]:
        """The sheets' names, in the book's order."""
        ...

    def add_sheet(self, name: str) -> str:
        """A new empty sheet after the last one; its name."""
        ...

    # --- reading
    def values(self, sheet: str) -> list[list[Any]]:
        """Every value from A1 to the last used cell, in one call."""
        ...

    def formulas(self, sheet: str, columns: Sequence[int] | None = None) -> Formulas:
        """The formula cells of the used range (``columns`` None: the whole sheet in one call),
        or of the given columns from row 2 down (one call a column)."""
        ...

    def used_shape(self, sheet: str) -> tuple[int, int]:
        """(last row, last column) of the used range; (1, 1) for an empty sheet."""
        ...

    # --- writing
    def write(self, sheet: str, row: int, col: int, rows: Sequence[Sequence[Any]]) -> None:
        """A block of values (equal-length rows) with its top-left cell at (row, col), one call."""
        ...

    def write_formulas(self, sheet: str, row: int, col: int,
                       rows: Sequence[Sequence[Any]]) -> None:
        """As ``write``, but a str starting with "=" is a formula (other values stay values)."""
        ...

    def clear(self, sheet: str) -> None:
        """Empty every cell of the used range (formats stay)."""
        ...

    def extend_tables(self, sheet: str, first_col: int, last_col: int) -> None:
        """An Excel Table whose right edge is ``first_col - 1`` grows through ``last_col``."""
        ...

    def has_chart(self, sheet: str) -> bool:
        ...

    def add_column_chart(self, sheet: str, last_row: int, last_col: int) -> None:
        """A clustered column chart of A1:(last_row, last_col)."""
        ...

    # --- the application
    def status(self, text: str) -> None:
        """Progress in the status bar."""
        ...

    def alert(self, prompt: str, *, critical: bool = False, buttons: str = "ok") -> str | None:
        """A message box ("ok" or "yes_no"): the answer ("ok", "yes", "no"), None when no box
        can be shown (Excel's alerts are off: a question is then answered "no")."""
        ...

    def pause(self, *, calculation: bool = True) -> None:
        """Screen updating off (and calculation manual) while writing."""
        ...

    def restore(self) -> None:
        """Screen updating on, calculation automatic, the status bar back to the application's;
        never raises (a dead application must not hide the message shown)."""
        ...


def find(port: WorkbookPort, names: Sequence[str]) -> str | None:
    """The first sheet named one of ``names`` (trimmed, case-insensitive), as the book spells it."""
    return pick_sheet(port.sheet_names(), names)


def find_or_add(port: WorkbookPort, wanted: str | None, default: str) -> str:
    """The sheet ``wanted`` if the book has it, else a new sheet ``default`` at the end."""
    found = find(port, (wanted,)) if wanted else None
    return found if found is not None else port.add_sheet(default)


def sheet_data(port: WorkbookPort, sheet: str,
               formula_cols: ColumnPick | None = None) -> SheetData:
    """A sheet as the file reader would give it: the values in one call, the formulas of the
    sheet in one call (``formula_cols`` None) or of the columns ``formula_cols(header)``."""
    values = port.values(sheet)
    if formula_cols is None:
        formulas = port.formulas(sheet) if values else {}
    else:
        header = sheet_from_grid(sheet, values[:1]).header
        cols = [c for c in formula_cols(header) if c <= len(header)]
        formulas = port.formulas(sheet, sorted(cols)) if len(values) >= 2 and cols else {}
    return sheet_from_grid(sheet, values, formulas)


class PortSource(BookSource):
    """A port as the job's ``BookSource``: a sheet's values in one call (every column: no
    column pick, no hashes), the formulas of the columns asked for; ``read_rows`` in one call;
    no search (``find_rows``: the log is read whole) and no read ahead (``start_read``)."""

    label: str | None = None  # (messages say 工作簿中…)

    def __init__(self, port: WorkbookPort) -> None:
        self.port = port

    def sheet_names(self) -> list[str]:
        return self.port.sheet_names()

    def read_sheet(self, sheet: str, *, columns: ColumnPick | None = None,
                   hashed: ColumnPick | None = None,
                   formulas: ColumnPick | None = None) -> SheetData:
        return sheet_data(self.port, self._name(sheet), formulas or (lambda _h: []))

    def read_rows(self, sheet: str) -> list[list[Any]]:
        return [[cell_value(v) for v in row] for row in self.port.values(self._name(sheet))]

    def _name(self, sheet: str) -> str:
        return find(self.port, (sheet,)) or sheet
