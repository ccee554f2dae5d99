from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import numpy as np
import pytest
from xlsx_fixtures import CLIENT_ROWS, HEADERS, HYPER, minimal_workbook

from workbook.xlsxio import CellError, XlsxError, col_index, col_letter, read_sheet, sheet_names
from workbook.xlsxio.reader import datetime_to_serial, serial_to_datetime


def test_col_letters_roundtrip():
    assert col_letter(1) == "A"
    assert col_letter(26) == "Z"
    assert col_letter(27) == "AA"
    assert col_letter(16384) == "XFD"
    for n in (1, 2, 25, 26, 27, 52, 53, 702, 703, 16384):
        assert col_index(col_letter(n)) == n
    with pytest.raises(ValueError):
        col_letter(0)


def test_serial_dates():
    assert serial_to_datetime(1) == dt.datetime(1900, 1, 1)
    assert serial_to_datetime(59) == dt.datetime(1900, 2, 28)
    assert serial_to_datetime(61) == dt.datetime(1900, 3, 1)
    assert serial_to_datetime(46027) == dt.datetime(2026, 1, 5)
    assert serial_to_datetime(0, date1904=True) == dt.datetime(1904, 1, 1)
    for d in (dt.datetime(1900, 1, 1), dt.datetime(1900, 3, 1), dt.datetime(2026, 12, 31, 18)):
        assert serial_to_datetime(datetime_to_serial(d)) == d
        assert serial_to_datetime(datetime_to_serial(d, True), True) == d


def test_sheet_names(workbook_path: Path):
    assert sheet_names(workbook_path) == ["客户", "汇总", "控制台"]


def test_read_client_sheet(workbook_path: Path):
    s = read_sheet(workbook_path, "客户")
    assert s.header == HEADERS
    assert s.n_rows == 6
    assert s.n_cols == 8
    assert all(len(col) == 5 for col in s.columns)
    for i, row in enumerate(CLIENT_ROWS):
        assert [s.columns[c][i] for c in range(6)] == row
    assert s.columns[1][1] == HYPER  # text that looks like a formula stays text
    assert s.column("合计")[:4] == [1512000.5, 20000.0, 300.0, 89.25]
    assert s.value(6, 1) is True
    assert s.value(6, 2) == CellError("#N/A")
    assert s.formulas[(2, 7)] == "D2+E2"
    assert s.formulas[(6, 2)] == "NA()"
    # shared formula: master and translated dependants, cached values kept
    assert [s.formulas[(r, 8)] for r in range(2, 6)] == ["D2*2", "D3*2", "D4*2", "D5*2"]
    assert s.column("倍数")[:4] == [2.0, 3.0, 4.0, 5.0]
    assert (3, 2) not in s.formulas
    assert s.col_of(" 客户名称 ") == 2
    assert s.col_of("nope") is None


def test_unknown_sheet(workbook_path: Path):
    with pytest.raises(XlsxError, match="没有名为"):
        read_sheet(workbook_path, "不存在")


def _rewrite(path: Path, part: str, fn) -> None:
    with zipfile.ZipFile(path) as zf:
        items = [(i, zf.read(i.filename)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zw:
        for info, data in items:
            zw.writestr(info, fn(data) if info.filename == part else data)


def test_date1904_and_inline_rich_and_prefixed(tmp_path: Path, workbook_path: Path):
    p = tmp_path / "b.xlsx"
    p.write_bytes(workbook_path.read_bytes())
    _rewrite(p, "xl/workbook.xml",
             lambda d: d.replace(b"<workbookPr ", b'<workbookPr date1904="1" '))
    s = read_sheet(p, "客户")
    assert s.columns[2][0] == dt.datetime(2020, 5, 17) + (dt.datetime(1904, 1, 1)
                                                          - dt.datetime(1899, 12, 30))

    def rich(d: bytes) -> bytes:
        return d.replace(
            b'<c r="A2" t="s"><v>8</v></c>',
            b'<c r="A2" t="inlineStr"><is><r><t>C0</t></r><r><rPr><b/></rPr><t>01</t></r>'
            b"<rPh><t>x</t></rPh></is></c>",
        )

    p2 = tmp_path / "c.xlsx"
    p2.write_bytes(workbook_path.read_bytes())
    _rewrite(p2, "xl/worksheets/sheet1.xml", rich)
    assert read_sheet(p2, "客户").columns[0][0] == "C001"

    # a namespace-prefixed worksheet (as written by some .NET tools)
    def prefixed(d: bytes) -> bytes:
        import re

        head, rest = d.split(b"<sheetData>", 1)
        body, tail = rest.split(b"</sheetData>", 1)
        body = re.sub(rb"<(/?)(row|c|v|f|is|t)\b", rb"<\1x:\2", body)
        head = head.replace(b"<worksheet ", b'<worksheet xmlns:x="http://schemas.'
                            b'openxmlformats.org/spreadsheetml/2006/main" ')
        return head + b"<x:sheetData>" + body + b"</x:sheetData>" + tail

    p3 = tmp_path / "d.xlsx"
    p3.write_bytes(workbook_path.read_bytes())
    _rewrite(p3, "xl/worksheets/sheet1.xml", prefixed)
    s3 = read_sheet(p3, "客户")
    s0 = read_sheet(workbook_path, "客户")
    assert s3.columns == s0.columns and s3.formulas == s0.formulas


def test_cells_without_refs_and_odd_attribute_order(tmp_path: Path):
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row><c t="inlineStr"><is><t>h1</t></is></c><c t="inlineStr"><is><t>h2'
        b'</t></is></c></row><row><c><v>1</v></c><c t="b" r="B2"><v>0</v></c></row>'
        b'<row r="4"><c r="C4" t="str"><f>"a"&amp;"b"</f><v>ab</v></c></row>'
        b"</sheetData></worksheet>"
    )
    p = minimal_workbook(tmp_path / "m.xlsx", sheet)
    s = read_sheet(p, "S")
    assert s.header == ["h1", "h2", ""]
    assert s.columns == [[1.0, None, None], [False, None, None], [None, None, "ab"]]
    assert s.formulas == {(4, 3): '"a"&"b"'}


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "per-cell"])
def test_hashed_columns_and_formulas_by_place(workbook_path: Path, fast: bool) -> None:
    """``hashed=`` keeps hash(value) of a column, ``formula_text=False`` keeps formula cells
    by place: the same cells as a full read says, on both scanners."""
    from workbook.xlsxio.reader import HashedColumn, read_sheet_zip

    with zipfile.ZipFile(workbook_path) as zf:
        full = read_sheet_zip(zf, "客户", fast=fast)
        f_cols = sorted({c for _, c in full.formulas})
        text_col = next(c for c in range(1, full.n_cols + 1)
                        if any(isinstance(v, str) for v in full.columns[c - 1]))
        lean = read_sheet_zip(zf, "客户", fast=fast, hashed={text_col, f_cols[0]},
                              formula_text=False)
    assert f_cols and lean.n_rows == full.n_rows and lean.header == full.header
    for c in range(1, full.n_cols + 1):
        if c in (text_col, f_cols[0]):
            assert isinstance(lean.columns[c - 1], HashedColumn)
            assert lean.columns[c - 1].tolist() == [hash(v) for v in full.columns[c - 1]]
        else:
            assert lean.columns[c - 1] == full.columns[c - 1], c
        want = np.zeros(full.n_rows + 1, bool)
        want[[r for r, cc in full.formulas if cc == c]] = True
        assert (lean.formula_mask(c) == want).all(), c
    assert set(lean.formulas) <= set(full.formulas)
