"""Branch workbooks written plainly (no formulas, no template) for the tests of several
packages: tests/conftest.py puts this folder on the import path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import xlsxwriter


def plain_branch(path: Path, rows: list[list[Any]], header: list[str], *, sheet: str = "客户",
                 notes_sheet: bool = False) -> Path:
    """A workbook without formulas (the job writes 风险类别 etc. as values): texts stay texts,
    dates get a date format; ``notes_sheet`` adds a sheet 备注 no run may touch."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                         "strings_to_numbers": False})
    ws = wb.add_worksheet(sheet)
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for c, h in enumerate(header):
        ws.write_string(0, c, h)
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, str):
                ws.write_string(r, c, v)
            elif isinstance(v, dt.date):
                ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), date_fmt)
            else:
                ws.write_number(r, c, v)
    if notes_sheet:
        wb.add_worksheet("备注").write_string(0, 0, "不要动我")
    wb.close()
    return path
