"""The open Calc document for the re-rating job: reading it as a ``workbook.source.BookSource``
engine (``CalcSource``) and writing a plan back (``write_plan``), through UNO.

Shaped like ``addin/excel.py``'s ``ExcelSource`` and ``write_plan``: a sheet's values in one
call (``getDataArray`` of the used area), the formulas of the columns asked for (one
``getFormulaArray`` a column), one ``setDataArray`` per changed column (split only around
formula and error cells), the 变更记录 rows in one call, 汇总 in one call. Calc's values are
turned into what the file reader gives: empty cells None, date-formatted cells datetime, error
cells ``CellError`` with Excel's text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from workbook.grid import sheet_from_grid
from workbook.schema import HISTORY_SHEET_NAMES, SUMMARY_SHEET_NAMES
from workbook.source import BookSource, ColumnPick
from workbook.xlsxio import KEEP, SheetData
from workbook.xlsxio.errors import CellError

EPOCH = dt.datetime(1899, 12, 30)
DATETIME = 2  # com.sun.star.sheet.CellFlags.DATETIME
ERROR_RESULT = 4  # com.sun.star.sheet.FormulaResult.ERROR
#: Calc's error codes as the texts Excel (and the file reader) give them
ERROR_CODES = {532: "#DIV/0!", 32767: "#N/A", 519: "#VALUE!", 524: "#REF!", 525: "#NAME?",
               503: "#NUM!", 502: "#VALUE!", 504: "#VALUE!", 523: "#NUM!", 511: "#VALUE!"}


def find_sheet(doc: Any, names: Sequence[str]) -> Any | None:
    """The first sheet whose name equals one of ``names`` (trimmed, case-insensitive)."""
    by_name = {n.strip().casefold(): n for n in doc.Sheets.getElementNames()}
    for w in names:
        if w.strip().casefold() in by_name:
            return doc.Sheets.getByName(by_name[w.strip().casefold()])
    return None


def used_size(sheet: Any) -> tuple[int, int]:
    """(rows, columns) from A1 to the last used cell; (0, 0) for an empty sheet."""
    cursor = sheet.createCursor()
    cursor.gotoEndOfUsedArea(False)
    a = cursor.getRangeAddress()
    if a.EndRow == 0 and a.EndColumn == 0 and sheet.getCellByPosition(0, 0).getType().value \
            == "EMPTY":
        return 0, 0
    return a.EndRow + 1, a.EndColumn + 1


def _addresses(ranges: Any) -> list[tuple[int, int]]:
    out = []
    for a in ranges.getRangeAddresses():
        for r in range(a.StartRow, a.EndRow + 1):
            for c in range(a.StartColumn, a.EndColumn + 1):
                out.append((r, c))
    return out


def read_grid(sheet: Any) -> list[list[Any]]:
    """The sheet's values from A1 as the file reader gives them (one getDataArray)."""
    n_rows, n_cols = used_size(sheet)
    if not n_rows:
        return []
    area = sheet.getCellRangeByPosition(0, 0, n_cols - 1, n_rows - 1)
    rows = [[None if v == "" else v for v in row] for row in area.getDataArray()]
    for r, c in _addresses(area.queryContentCells(DATETIME)):
        v = rows[r][c]
        if isinstance(v, float):
            rows[r][c] = EPOCH + dt.timedelta(days=v)
    for r, c in _addresses(area.queryFormulaCells(ERROR_RESULT)):
        code = sheet.getCellByPosition(c, r).getError()
        rows[r][c] = CellError(ERROR_CODES.get(code, "#VALUE!"))
    return rows


def sheet_data(sheet: Any, formula_cols: Callable[[list[str]], Sequence[int]]) -> SheetData:
    """A sheet as ``SheetData``: values in one call, formulas of ``formula_cols`` one call each."""
    values = read_grid(sheet)
    formulas: dict[tuple[int, int], str] = {}
    if values:
        header = sheet_from_grid(sheet.Name, values[:1]).header
        for c in formula_cols(header):
            if len(values) >= 2 and c <= len(header):
                col = sheet.getCellRangeByPosition(c - 1, 1, c - 1, len(values) - 1)
                for k, (f,) in enumerate(col.getFormulaArray()):
                    if isinstance(f, str) and f.startswith("="):
                        formulas[(k + 2, c)] = f[1:]
    return sheet_from_grid(sheet.Name, values, formulas)


class CalcSource(BookSource):
    """The open Calc document as a ``workbook.source.BookSource`` (every column read, no
    hashes, no search, no read ahead — like ``ExcelSource``)."""

    label: str | None = None

    def __init__(self, doc: Any) -> None:
        self.doc = doc

    def sheet_names(self) -> list[str]:
        return list(self.doc.Sheets.getElementNames())

    def read_sheet(self, sheet: str, *, columns: ColumnPick | None = None,
                   hashed: ColumnPick | None = None,
                   formulas: ColumnPick | None = None) -> SheetData:
        return sheet_data(find_sheet(self.doc, (sheet,)), formulas or (lambda _h: []))

    def read_rows(self, sheet: str) -> list[list[Any]]:
        return read_grid(find_sheet(self.doc, (sheet,)))


# ------------------------------------------------------------------------------- writing

def calc_value(v: Any) -> Any:
    """A value for setDataArray: texts stay texts (Calc does not parse them), dates as serial
    numbers, None as an empty text (cleared afterwards)."""
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return (v - EPOCH).total_seconds() / 86400
    if isinstance(v, dt.date):
        return float((v - EPOCH.date()).days)
    if isinstance(v, bool | int | float):
        return float(v)
    return str(v)


def segments(values: Sequence[Any], old: Sequence[Any], skip: set[int]) -> list[tuple[int, list]]:
    """Runs of cells to write for one column, ``(offset, values)``: from the first to the last
    changed cell, cut around cells that must not be written (formulas, error values); unchanged
    cells inside a run get their current value back."""
    idx = [k for k, v in enumerate(values) if v is not KEEP]
    out: list[tuple[int, list]] = []
    if not idx:
        return out
    start: int | None = None
    buf: list[Any] = []
    for k in range(idx[0], idx[-1] + 1):
        v = values[k]
        cur = old[k] if k < len(old) else None
        if v is KEEP and (k in skip or isinstance(cur, CellError)):
            if buf and start is not None:
                out.append((start, buf))
            start, buf = None, []
            continue
        if start is None:
            start = k
        buf.append(cur if v is KEEP else v)
    if buf and start is not None:
        out.append((start, buf))
    return out


def date_format(doc: Any) -> int:
    """The number format key of ``YYYY-MM-DD`` in the document (added when missing)."""
    import uno  # (inside LibreOffice)

    formats = doc.getNumberFormats()
    locale = uno.createUnoStruct("com.sun.star.lang.Locale")
    key = formats.queryKey("YYYY-MM-DD", locale, False)
    return key if key != -1 else formats.addNew("YYYY-MM-DD", locale)


def put_rows(sheet: Any, row: int, col: int, rows: Sequence[Sequence[Any]],
             date_key: Callable[[], int] | None = None) -> None:
    """``rows`` at (row, col) (1-based) in one setDataArray; None cells end up empty, dates
    get a date format (``date_key``)."""
    if not rows:
        return
    width = max(len(r) for r in rows)
    data = tuple(tuple(calc_value(r[k]) if k < len(r) else "" for k in range(width))
                 for r in rows)
    area = sheet.getCellRangeByPosition(col - 1, row - 1, col - 2 + width, row - 2 + len(rows))
    area.setDataArray(data)
    if date_key is not None:
        for i, r in enumerate(rows):
            for k, v in enumerate(r):
                if isinstance(v, dt.date):
                    sheet.getCellByPosition(col - 1 + k, row - 1 + i).NumberFormat = date_key()
    empty = [(i, k) for i, r in enumerate(rows) for k in range(width)
             if k >= len(r) or r[k] is None or r[k] == ""]
    if empty and len(empty) == len(rows) * width:
        area.clearContents(1 | 2 | 4 | 16)
    else:
        for i, k in empty:
            sheet.getCellByPosition(col - 1 + k, row - 1 + i).clearContents(1 | 2 | 4 | 16)


def new_sheet(doc: Any, name: str) -> Any:
    doc.Sheets.insertNewByName(name, doc.Sheets.getCount())
    return doc.Sheets.getByName(name)


def write_plan(doc: Any, plan: Any, data: SheetData,
               status: Callable[[str], None] = lambda _t: None) -> None:
    """Write a ``workbook.job.Plan`` into the document (automatic recalculation off meanwhile)."""
    doc.lockControllers()
    key: list[int] = []

    def date_key() -> int:
        if not key:
            key.append(date_format(doc))
        return key[0]

    auto = doc.isAutomaticCalculationEnabled()
    doc.enableAutomaticCalculation(False)
    try:
        sheet = find_sheet(doc, (plan.sheet,))
        for c, h in plan.headers.items():
            sheet.getCellByPosition(c - 1, 0).setString(h)
        for c, values in sorted(plan.columns.items()):
            status(f"写入“{plan.sheet}”第 {c} 列")
            values = values if isinstance(values, list) else list(values)  # (a LazyColumn)
            old = data.columns[c - 1] if c <= data.n_cols else []
            skip = {r - 2 for (r, cc) in data.formulas if cc == c}
            for start, seg in segments(values, old, skip):
                put_rows(sheet, start + 2, c, [[v] for v in seg], date_key)
        status("写入变更记录")
        hist = find_sheet(doc, (plan.history_sheet,)) if plan.history_sheet else None
        if hist is None:
            hist = new_sheet(doc, HISTORY_SHEET_NAMES[0])
        put_rows(hist, plan.history_first_row, 1, plan.history_rows, date_key)
        status("更新汇总")
        summ = find_sheet(doc, (plan.summary_sheet,)) if plan.summary_sheet else None
        if summ is None:
            summ = new_sheet(doc, SUMMARY_SHEET_NAMES[0])
        n_rows, n_cols = used_size(summ)
        if n_rows:
            summ.getCellRangeByPosition(0, 0, n_cols - 1, n_rows - 1).clearContents(1 | 2 | 4 | 16)
        put_rows(summ, 1, 1, plan.summary_rows, date_key)
    finally:
        doc.enableAutomaticCalculation(auto)
        doc.unlockControllers()
