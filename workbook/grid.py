"""A ``SheetData`` from the cells an application hands over (xlwings in Excel), so the Excel
front end feeds the job and the audit exactly what the file reader would.

``values``: rows from A1 as ``range.options(ndim=2, err_to_str=True).value`` gives them (cached
values; error cells as texts like ``#N/A``; dates as datetime). ``formulas``: what
``range.formula`` gives (text starting with ``=`` for formula cells, the constant otherwise),
either as a grid from A1 or as ``{(row, col): text}`` for the cells read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from rules.cells import EXCEL_ERRORS

from .xlsxio import SheetData
from .xlsxio.errors import CellError

ERROR_TEXTS = frozenset(EXCEL_ERRORS)  # (the one table of Excel's error texts: rules.cells)


def cell_value(v: Any) -> Any:
    """One value as the file reader gives it: errors as CellError, numbers as float, dates as
    datetime, empty text as None."""
    if isinstance(v, str):
        if v in ERROR_TEXTS:
            return CellError(v)
        return v or None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return float(v)
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day)
    return v


def formulas_from_grid(grid: Sequence[Sequence[Any]] | str | None,
                       origin: tuple[int, int] = (1, 1)) -> dict[tuple[int, int], str]:
    """``{(row, col): formula without '='}`` from a ``range.formula`` result whose top-left cell
    is ``origin`` (a single cell comes back as a str, a column as 1-tuples)."""
    if grid is None:
        return {}
    if isinstance(grid, str):
        grid = ((grid,),)
    out: dict[tuple[int, int], str] = {}
    r0, c0 = origin
    for r, line in enumerate(grid, start=r0):
        cells = line if isinstance(line, Sequence) and not isinstance(line, str) else (line,)
        for c, f in enumerate(cells, start=c0):
            if isinstance(f, str) and f.startswith("=") and len(f) > 1:
                out[(r, c)] = f[1:]
    return out


def sheet_from_grid(name: str, values: Sequence[Sequence[Any]],
                    formulas: Mapping[tuple[int, int], str] | Sequence[Sequence[Any]] | None
                    = None) -> SheetData:
    """The sheet's ``SheetData`` (see the module doc); trailing empty rows do not count."""
    rows = [list(r) for r in values]
    n_rows = len(rows)
    n_cols = max((len(r) for r in rows), default=0)
    fmap = dict(formulas) if isinstance(formulas, Mapping) else formulas_from_grid(formulas)
    header_values = [cell_value(v) for v in (rows[0] if rows else [])]
    header_values += [None] * (n_cols - len(header_values))
    columns = [[cell_value(rows[r][c]) if c < len(rows[r]) else None for r in range(1, n_rows)]
               for c in range(n_cols)]
    last_formula_row = max((r for r, _ in fmap), default=0)
    while n_rows > 1 and n_rows > last_formula_row and all(col[-1] is None for col in columns):
        n_rows -= 1
        for col in columns:
            col.pop()
    header = ["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer()
                                    else str(v).strip()) for v in header_values]
    return SheetData(name=name, n_rows=n_rows, header=header, columns=columns, formulas=fmap,
                     header_values=header_values)
