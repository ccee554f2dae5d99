"""Reading and writing cells of an open Calc document through UNO, for ``addin.calc.port``:
a sheet's values in one call (``getDataArray`` of the used area) turned into what the file
reader gives — empty cells None, date-formatted cells datetime, error cells ``CellError`` with
Excel's text — and a block of values written in one ``setDataArray`` (dates formatted, empty
cells cleared).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

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
