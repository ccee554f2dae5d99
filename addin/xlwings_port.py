"""``WorkbookPort`` (addin/port.py) over an xlwings ``Book``: the only code of the buttons that
talks to Excel's objects. Each operation is one xlwings call (one COM round trip on Windows) or
a few; nothing here decides anything about the run.

Not run in Microsoft Excel yet: on Linux it runs through xlwings' own Book/Sheet/Range/App and
value converters over the test engine tests/addin/memxl.py (docs/excel.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from workbook.grid import formulas_from_grid

from .port import Formulas

TITLE = "客户分级"


def excel_value(v: Any) -> Any:
    """A value as written through Excel: text always stays text (a leading apostrophe keeps
    ``=HYPERLINK(…)``, ``2026-11`` or ``000123`` from becoming a formula, date or number —
    Excel's quote prefix, ``Range.PrefixCharacter``); "" empties the cell."""
    if isinstance(v, str):
        return "'" + v if v else None
    return v


def status(app: Any, text: str) -> None:
    app.status_bar = f"{TITLE}：{text}…"


def restore(app: Any) -> None:
    for attr, value in (("screen_updating", True), ("calculation", "automatic"),
                        ("status_bar", False)):
        with contextlib.suppress(Exception):  # a dead Excel must not hide the message shown
            setattr(app, attr, value)


def extend_tables(sheet: Any, headers: dict[int, str]) -> None:
    """An Excel Table (ListObject) whose right edge the new columns continue takes them, as
    ``workbook.xlsxio.tables`` does in a file (sorting then keeps rows together): resized to
    its header row 1 and last row, through the new columns. Not run in Excel yet."""
    if not headers:
        return
    first, last = min(headers), max(headers)
    try:
        tables = list(sheet.tables)
    except (AttributeError, NotImplementedError):  # (an engine without tables)
        return
    for table in tables:
        rng = table.range
        end = rng.last_cell
        if rng.row == 1 and end.column + 1 == first:
            table.resize(sheet.range((1, rng.column), (end.row, last)))


class XlwingsPort:
    """The open workbook ``book`` (an ``xlwings.Book``) as a ``WorkbookPort``."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self.app = book.app
        self.path = str(book.fullname)

    def _sheet(self, name: str) -> Any:
        return self.book.sheets[name]

    # --- sheets
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.book.sheets]

    def add_sheet(self, name: str) -> str:
        sheets = self.book.sheets
        return sheets.add(name, after=sheets[len(sheets) - 1]).name

    # --- reading
    def used_shape(self, sheet: str) -> tuple[int, int]:
        last = self._sheet(sheet).used_range.last_cell
        return last.row, last.column

    def values(self, sheet: str) -> list[list[Any]]:
        s = self._sheet(sheet)
        n_rows, n_cols = self.used_shape(sheet)
        if n_rows == 1 and n_cols == 1 and s.range((1, 1)).value is None:
            return []
        return s.range((1, 1), (n_rows, n_cols)).options(ndim=2, err_to_str=True).value

    def formulas(self, sheet: str, columns: Sequence[int] | None = None) -> Formulas:
        s = self._sheet(sheet)
        n_rows, n_cols = self.used_shape(sheet)
        if columns is None:
            return formulas_from_grid(s.range((1, 1), (n_rows, n_cols)).formula)
        out: Formulas = {}
        for c in columns:
            if n_rows >= 2:
                out.update(formulas_from_grid(s.range((2, c), (n_rows, c)).formula,
                                              origin=(2, c)))
        return out

    # --- writing
    def write(self, sheet: str, row: int, col: int, rows: Sequence[Sequence[Any]]) -> None:
        self._sheet(sheet).range((row, col)).value = [[excel_value(v) for v in r] for r in rows]

    def write_formulas(self, sheet: str, row: int, col: int,
                       rows: Sequence[Sequence[Any]]) -> None:
        self._sheet(sheet).range((row, col)).formula = [
            [v if isinstance(v, str) and v.startswith("=") else excel_value(v) for v in r]
            for r in rows]

    def clear(self, sheet: str) -> None:
        n_rows, n_cols = self.used_shape(sheet)
        s = self._sheet(sheet)
        s.range((1, 1), (n_rows, n_cols)).clear_contents()

    def extend_tables(self, sheet: str, first_col: int, last_col: int) -> None:
        extend_tables(self._sheet(sheet), {first_col: "", last_col: ""})

    def has_chart(self, sheet: str) -> bool:
        return self._sheet(sheet).charts.count > 0

    def add_column_chart(self, sheet: str, last_row: int, last_col: int) -> None:
        s = self._sheet(sheet)
        chart = s.charts.add(left=300, top=20, width=480, height=300)
        chart.set_source_data(s.range((1, 1), (last_row, last_col)))
        chart.chart_type = "column_clustered"

    # --- the application
    def status(self, text: str) -> None:
        status(self.app, text)

    def alert(self, prompt: str, *, critical: bool = False, buttons: str = "ok") -> str | None:
        """None (answer "no" to a question) while Excel's DisplayAlerts is off, as Excel's own
        prompts — the self-test runs the buttons so."""
        if self.app.display_alerts is False:
            return None
        return self.app.alert(prompt, title=TITLE, buttons=buttons,
                              mode="critical" if critical else "info")

    def pause(self, *, calculation: bool = True) -> None:
        self.app.screen_updating = False
        if calculation:
            self.app.calculation = "manual"

    def restore(self) -> None:
        restore(self.app)
