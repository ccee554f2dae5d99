"""The template's 客户 sheet as an Excel user types into it (issue 17 "Friction"): 客户编号 is a
Text column (000123 stays 000123), the tier drop-downs cover the whole column."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl

from workbook.template import CLIENT_HEADERS, new_workbook
from workbook.xlsxio import col_letter, read_sheet


def _client_part(path: Path) -> str:
    wb = openpyxl.load_workbook(path)
    index = wb.sheetnames.index("客户") + 1  # XlsxWriter names parts in sheet order
    with zipfile.ZipFile(path) as z:
        return z.read(f"xl/worksheets/sheet{index}.xml").decode()


def test_client_id_column_is_text(tmp_path: Path) -> None:
    p = new_workbook(tmp_path / "t.xlsx", clients=[{"客户编号": "000123", "资产权益": 1},
                                                    {"客户编号": 456.0, "资产权益": 1}])
    wb = openpyxl.load_workbook(p)
    ws = wb["客户"]
    a = col_letter(CLIENT_HEADERS.index("客户编号") + 1)
    # the column's own format (what a cell typed later gets) and the cells written
    assert ws.column_dimensions[a].number_format == "@"
    assert ws[f"{a}2"].number_format == ws[f"{a}3"].number_format == "@"
    assert [ws[f"{a}2"].value, ws[f"{a}3"].value] == ["000123", "456"]
    assert read_sheet(p, "客户").columns[0][:2] == ["000123", "456"]


def test_drop_downs_cover_the_whole_column(tmp_path: Path) -> None:
    p = new_workbook(tmp_path / "t.xlsx", clients=[{"客户编号": "C1", "资产权益": 1}])
    ws = openpyxl.load_workbook(p)["客户"]
    got = {str(dv.sqref) for dv in ws.data_validations.dataValidation}
    want = {f"{col_letter(CLIENT_HEADERS.index(h) + 1)}2:{col_letter(CLIENT_HEADERS.index(h) + 1)}"
            "1048576" for h in ("年度级别", "当前级别", "特别调整级别")}
    assert want <= got
    assert not re.search(r'sqref="[A-Z]+2:[A-Z]+1002"', _client_part(p))
