"""Rows found without reading a sheet (``find_rows``): the same rows as a full read."""

from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter
from xlsx_fixtures import LOG, openpyxl_log, sheet_rows

from workbook.xlsxio.findrows import find_rows

HEAD = ["记录类型", "运行编号", "说明"]


def _big_log(path: Path, n: int, inline: bool) -> list[list]:
    """A log of n rows, a run row every 97 rows, '运行' also inside other cells and the
    shared-string index of '运行' as a number in column C (none of these may match)."""
    rows = [HEAD]
    for i in range(1, n + 1):
        kind = "运行" if i % 97 == 1 else "变更"
        rows.append([kind, f"R{i // 97}", "提前运行" if i % 5 == 0 else f"说明{i}" * 3])
    rows[7][2] = "运行"
    if inline:
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})  # inline strings
        wb.add_worksheet("客户").write_string(0, 0, "客户编号")
        ws = wb.add_worksheet(LOG)
        for r, row in enumerate(rows):
            ws.write_row(r, 0, row)
        wb.close()
    else:
        openpyxl_log(path, rows)
    return rows


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "shared"])
def test_find_rows_matches_a_full_read(tmp_path: Path, inline: bool) -> None:
    path = tmp_path / "log.xlsx"
    rows = _big_log(path, 40_000, inline)  # several MB of XML: many chunks
    got = find_rows(path, LOG, col=1, text="运行", before=1, last=2)
    full = sheet_rows(path)
    assert full == rows
    want = [r for r in range(2, len(full) + 1) if full[r - 1][0] == "运行"]
    assert got.complete and got.matches == want and got.n_rows == len(full)
    assert got.header == HEAD
    keep = {*want, *(r - 1 for r in want if r > 2), len(full) - 1, len(full)}
    assert got.rows == {r: full[r - 1] for r in sorted(keep)}


def test_find_rows_on_a_sheet_with_header_only_or_empty(tmp_path: Path) -> None:
    path = openpyxl_log(tmp_path / "h.xlsx", [HEAD])
    got = find_rows(path, LOG, col=1, text="运行")
    assert (got.n_rows, got.matches, got.rows, got.header) == (1, [], {}, HEAD)
    path = tmp_path / "e.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet(LOG)
    wb.close()
    got = find_rows(path, LOG, col=1, text="运行")
    assert (got.n_rows, got.matches, got.complete) == (0, [], True)




def test_rows_without_numbers_are_not_searched_but_read_whole(tmp_path: Path) -> None:
    from xlsx_fixtures import part_info, strip_row_numbers

    from workbook import history
    from workbook.job import read_book

    path = tmp_path / "n.xlsx"
    openpyxl_log(path, [list(history.HEADER), ["运行", "R1", "x"], ["变更", "R1", "y"]])
    strip_row_numbers(path, part_info(path).filename)
    got = find_rows(path, LOG, col=1, text="运行")
    assert not got.complete  # a row cannot be placed on its own
    log = read_book(path).log  # so the job reads the sheet whole
    assert (log.n_rows, log.runs) == (3, [2])
