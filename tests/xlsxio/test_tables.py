"""An Excel Table (ListObject) on 客户 takes the columns a run adds at its right (issue 17
"Friction": sorting in Excel kept the new columns outside the table and misaligned them)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from workbook.job import rerate
from workbook.xlsxio.tables import extend_table

HEADER = ["客户编号", "资产权益", "上年度净佣金", "当前级别"]
ROWS = [["C1", 300_000, 0, "普通客户"], ["C2", 20_000_000, 0, None], ["C3", 50_000, 0, "核心"]]


def _table_book(path: Path, *, gap: bool = False) -> Path:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    ws = wb.add_worksheet("客户")
    ws.add_table(0, 0, len(ROWS), len(HEADER) - 1, {
        "name": "客户表", "style": "Table Style Medium 2",
        "columns": [{"header": h} for h in HEADER], "data": ROWS})
    if gap:  # a note two columns right of the table: the new columns start after it
        ws.write_string(0, len(HEADER) + 1, "备注")
    wb.close()
    return path


def _table_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("xl/tables/table1.xml").decode()


def test_a_run_extends_the_table_by_its_new_columns(tmp_path: Path) -> None:
    p = _table_book(tmp_path / "t.xlsx")
    before = _table_xml(p)
    rerate(p, period="2026Q3", mode="quarterly", operator="t", now=dt.datetime(2026, 10, 9))
    wb = openpyxl.load_workbook(p)
    ws = wb["客户"]
    header = [c.value for c in ws[1]]
    assert header[:4] == HEADER and "级别依据" in header and len(header) == 11
    table = ws.tables["客户表"]
    assert table.ref == f"A1:K{len(ROWS) + 1}"  # every column, old and new
    assert table.autoFilter.ref == table.ref
    assert [c.name for c in table.tableColumns] == header  # names = header cells
    ids = [c.id for c in table.tableColumns]
    assert ids == list(range(1, 12))
    xml = _table_xml(p)
    assert 'count="11"' in xml and 'ref="A1:K4"' in xml
    # the rest of the part as it was (style, name)
    assert re.sub(r'<tableColumns.*</tableColumns>|ref="[^"]*"|count="[^"]*"', "", xml) == \
        re.sub(r'<tableColumns.*</tableColumns>|ref="[^"]*"|count="[^"]*"', "", before)
    # a second run adds no column: the table stays as the first run left it
    rerate(p, period="2026Q4", mode="quarterly", operator="t", now=dt.datetime(2027, 1, 5))
    assert _table_xml(p) == xml


def test_a_table_that_does_not_reach_the_new_columns_is_left_alone(tmp_path: Path) -> None:
    p = _table_book(tmp_path / "t.xlsx", gap=True)
    before = _table_xml(p)
    rerate(p, period="2026Q3", mode="quarterly", operator="t", now=dt.datetime(2026, 10, 9))
    assert _table_xml(p) == before


def test_extend_table_guards() -> None:
    xml = (b'<x:table xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" id="1" '
           b'name="T" displayName="T" ref="B1:C5"><x:autoFilter ref="B1:C5"/>'
           b'<x:tableColumns count="2"><x:tableColumn id="1" name="a"/>'
           b'<x:tableColumn id="7" name="B&amp;b"/></x:tableColumns></x:table>')
    got = extend_table(xml, {4: "c", 5: "d"})
    assert got == (b'<x:table xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                   b'id="1" name="T" displayName="T" ref="B1:E5"><x:autoFilter ref="B1:E5"/>'
                   b'<x:tableColumns count="4"><x:tableColumn id="1" name="a"/>'
                   b'<x:tableColumn id="7" name="B&amp;b"/><x:tableColumn id="8" name="c"/>'
                   b'<x:tableColumn id="9" name="d"/></x:tableColumns></x:table>')
    assert extend_table(xml, {5: "c"}) is None  # a gap
    assert extend_table(xml, {4: "b&B"}) is None  # a name the table has (case-insensitive)
    assert extend_table(xml.replace(b'ref="B1:C5"', b'ref="B2:C5"', 1), {4: "c"}) is None
    assert extend_table(xml.replace(b'id="1" name="T"', b'id="1" headerRowCount="0" name="T"'),
                        {4: "c"}) is None


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice (soffice) not on PATH")
def test_libreoffice_opens_the_extended_table(tmp_path: Path) -> None:
    p = _table_book(tmp_path / "t.xlsx")
    rerate(p, period="2026Q3", mode="quarterly", operator="t", now=dt.datetime(2026, 10, 9))
    out = tmp_path / "ods"
    subprocess.run([_soffice(), f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                    "--headless", "--convert-to", "ods", "--outdir", str(out), str(p)],
                   check=True, timeout=180, capture_output=True)
    with zipfile.ZipFile(out / "t.ods") as z:
        content = z.read("content.xml").decode()
    ranges = re.findall(r'<table:database-range [^>]*table:target-range-address="([^"]+)"', content)
    assert any(r.endswith(".K4") or r.endswith(".$K$4") for r in ranges), ranges


def test_the_excel_button_resizes_the_table_it_extends() -> None:
    # addin.xlwings_port.extend_tables through xlwings' Table API (a stand-in: memxl has no tables)
    from types import SimpleNamespace as NS

    from addin.xlwings_port import extend_tables

    class Table:
        def __init__(self, r1, c1, r2, c2):
            self.range = NS(row=r1, column=c1, last_cell=NS(row=r2, column=c2))
            self.resized = None

        def resize(self, rng):
            self.resized = rng

    sheet = NS(tables=[Table(1, 1, 4, 4), Table(1, 7, 9, 8), Table(2, 1, 4, 4)],
               range=lambda a, b: (a, b))
    extend_tables(sheet, {5: "级别变动", 6: "级别依据"})
    assert [t.resized for t in sheet.tables] == [((1, 1), (4, 6)), None, None]
