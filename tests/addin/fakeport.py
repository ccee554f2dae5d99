"""A fake of ``addin.port.WorkbookPort`` for the tests of the buttons' logic (addin/excel.py):
sheets held as cell dictionaries, every write, status, alert and setting recorded. It models
no Excel behaviour beyond the port's contract (addin/port.py): a value written is stored as
it is (text stays text), a value read comes back as xlwings hands it over (errors as their
text, numbers as float, dates as datetime). What Excel itself turns a typed entry into (e.g.
``2026-11`` → the date 2026-11-01) a test plants explicitly.

Test code only.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

from workbook.xlsxio import CellError, read_sheet, sheet_names


class Write(NamedTuple):
    kind: str  # "value" | "formula" | "clear"
    sheet: str
    row: int
    column: int
    nrows: int
    ncols: int


def _stored(v: Any) -> Any:
    if isinstance(v, str) and v == "":
        return None
    if isinstance(v, bool | str | CellError | dt.datetime) or v is None:
        return v
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    if isinstance(v, int | float):
        return float(v)
    raise TypeError(f"fakeport: {type(v).__name__} ({v!r}) is not a cell value")


class FakeBook:
    """A ``WorkbookPort``: ``sheets`` {name: {(row, col): value}}, ``formulas`` {name:
    {(row, col): "=…"}}; ``answers`` queued for yes/no boxes (none queued: AssertionError, so an
    untested question cannot pass silently)."""

    def __init__(self, sheets: dict[str, Sequence[Sequence[Any]]] | None = None,
                 path: str = "Book1.xlsx") -> None:
        self.path = path
        self.sheets: dict[str, dict[tuple[int, int], Any]] = {}
        self.formula_cells: dict[str, dict[tuple[int, int], str]] = {}
        self.charts: dict[str, list[tuple[int, int]]] = {}
        self.tables: dict[str, list[tuple[int, int]]] = {}
        self.log: list[Write] = []
        self.status_history: list[str | bool] = []
        #: (None, prompt, buttons, "info" | "critical"): as xlwings' App.alert arguments, the
        #: title being the port's business (None here)
        self.alerts: list[tuple[None, str, str, str]] = []
        self.answers: list[str] = []
        self.screen_updating, self.calculation = True, "automatic"
        self.display_alerts = True
        for name, rows in (sheets or {}).items():
            self.add_sheet(name)
            self.plant(name, rows)

    # --- test helpers
    def plant(self, sheet: str, rows: Sequence[Sequence[Any]], row: int = 1, col: int = 1) -> None:
        """Contents as the workbook already holds them (a str starting with "=" is a formula)."""
        for i, r in enumerate(rows):
            for j, v in enumerate(r):
                key = (row + i, col + j)
                if isinstance(v, str) and v.startswith("="):
                    self.formula_cells[sheet][key] = v
                    self.sheets[sheet].pop(key, None)
                else:
                    self._put(sheet, key, v)

    def _put(self, sheet: str, key: tuple[int, int], v: Any) -> None:
        self.formula_cells[sheet].pop(key, None)
        v = _stored(v)
        if v is None:
            self.sheets[sheet].pop(key, None)
        else:
            self.sheets[sheet][key] = v

    def rows(self, sheet: str) -> list[list[Any]]:
        """A1 to the last used cell, as ``values`` (formula cells: None, nothing calculated)."""
        return self.values(sheet)

    def writes(self, sheet: str, kind: str = "value") -> list[Write]:
        return [w for w in self.log if w.sheet == sheet and w.kind == kind]

    # --- the port
    def sheet_names(self) -> list[str]:
        return list(self.sheets)

    def add_sheet(self, name: str) -> str:
        assert name.casefold() not in {n.casefold() for n in self.sheets}, name
        self.sheets[name], self.formula_cells[name] = {}, {}
        self.charts[name] = []
        self.tables.setdefault(name, [])
        return name

    def used_shape(self, sheet: str) -> tuple[int, int]:
        keys = [*self.sheets[sheet], *self.formula_cells[sheet]]
        if not keys:
            return 1, 1
        return max(r for r, _ in keys), max(c for _, c in keys)

    def values(self, sheet: str) -> list[list[Any]]:
        if not self.sheets[sheet] and not self.formula_cells[sheet]:
            return []
        n_rows, n_cols = self.used_shape(sheet)
        cells = self.sheets[sheet]

        def out(v: Any) -> Any:
            return v.text if isinstance(v, CellError) else v

        return [[out(cells.get((r, c))) for c in range(1, n_cols + 1)]
                for r in range(1, n_rows + 1)]

    def formulas(self, sheet: str, columns: Sequence[int] | None = None
                 ) -> dict[tuple[int, int], str]:
        got = self.formula_cells[sheet]
        if columns is None:
            return {k: f[1:] for k, f in got.items()}
        return {(r, c): f[1:] for (r, c), f in got.items() if c in columns and r >= 2}

    def write(self, sheet: str, row: int, col: int, rows: Sequence[Sequence[Any]]) -> None:
        self.log.append(Write("value", sheet, row, col, len(rows), len(rows[0]) if rows else 0))
        for i, r in enumerate(rows):
            for j, v in enumerate(r):
                self._put(sheet, (row + i, col + j), v)

    def write_formulas(self, sheet: str, row: int, col: int,
                       rows: Sequence[Sequence[Any]]) -> None:
        self.log.append(Write("formula", sheet, row, col, len(rows), len(rows[0]) if rows else 0))
        for i, r in enumerate(rows):
            for j, v in enumerate(r):
                if isinstance(v, str) and v.startswith("="):
                    self.sheets[sheet].pop((row + i, col + j), None)
                    self.formula_cells[sheet][(row + i, col + j)] = v
                else:
                    self._put(sheet, (row + i, col + j), v)

    def clear(self, sheet: str) -> None:
        self.log.append(Write("clear", sheet, 1, 1, *self.used_shape(sheet)))
        self.sheets[sheet].clear()
        self.formula_cells[sheet].clear()

    def extend_tables(self, sheet: str, first_col: int, last_col: int) -> None:
        self.tables[sheet] = [(a, last_col if b + 1 == first_col else b)
                              for a, b in self.tables[sheet]]

    def has_chart(self, sheet: str) -> bool:
        return bool(self.charts[sheet])

    def add_column_chart(self, sheet: str, last_row: int, last_col: int) -> None:
        self.charts[sheet].append((last_row, last_col))

    def status(self, text: str) -> None:
        self.status_history.append(text)

    def alert(self, prompt: str, *, critical: bool = False, buttons: str = "ok") -> str | None:
        assert isinstance(prompt, str) and buttons in ("ok", "yes_no"), (prompt, buttons)
        if not self.display_alerts:
            return None
        self.alerts.append((None, prompt, buttons, "critical" if critical else "info"))
        if buttons == "ok":
            return "ok"
        assert self.answers, f"fakeport: {prompt!r} asks yes/no but no answer is queued"
        return self.answers.pop(0)

    def pause(self, *, calculation: bool = True) -> None:
        self.screen_updating = False
        if calculation:
            self.calculation = "manual"

    def restore(self) -> None:
        self.screen_updating, self.calculation = True, "automatic"
        self.status_history.append(False)  # (False: the application's own status bar)


def from_file(path: str | os.PathLike[str], *, name: str | None = None) -> FakeBook:
    """A FakeBook holding a workbook file's sheets as ``workbook.xlsxio.read_sheet`` reads them
    (values, formulas with their cached values, error cells, dates)."""
    book = FakeBook(path=os.path.join(os.path.dirname(os.path.abspath(path)),
                                      name or os.path.basename(path)))
    for sheet in sheet_names(path):
        data = read_sheet(path, sheet)
        book.add_sheet(sheet)
        for c, v in enumerate(data.header_values, start=1):
            book._put(sheet, (1, c), v)  # (text starting with "=" in the file stays text)
        for c, col in enumerate(data.columns, start=1):
            for i, v in enumerate(col):
                book._put(sheet, (i + 2, c), v)
        # formula cells keep their cached value (what Excel shows and Range.Value gives)
        book.formula_cells[sheet].update({k: "=" + f for k, f in data.formulas.items()})
    return book
