from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from xlsx_fixtures import HYPER

from workbook.xlsxio import (
    KEEP,
    CellError,
    SheetEdit,
    XlsxError,
    patch_workbook,
    read_sheet,
    sheet_names,
)


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return {n: zf.read(n) for n in zf.namelist()}


def infos(path: Path) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: i for i in zf.infolist()}


def grid(path: Path, sheet: str) -> dict[tuple[int, int], object]:
    s = read_sheet(path, sheet)
    out = {(1, c + 1): v for c, v in enumerate(s.header_values) if v is not None}
    for c, col in enumerate(s.columns, start=1):
        for i, v in enumerate(col):
            if v is not None:
                out[(i + 2, c)] = v
    return out


EDIT_CELLS = {
    (2, 4): 999.5,  # number over a styled number
    (3, 2): '=HYPERLINK("http://evil","x")',  # text, never a formula
    (4, 3): dt.date(2026, 1, 5),  # date into an empty cell of a date column
    (1, 9): "当前级别",  # new header at the right
    (2, 9): "VIP客户",
    (5, 9): "普通客户",
    (2, 10): True,
    (3, 7): 5.0,  # overwrites a formula -> calcChain must go
    (5, 1): None,  # empties a cell
    (9, 2): "new row\tx\x01y_x0041_",  # a row that did not exist, control characters
    (4, 6): CellError("#N/A"),
}


def test_patch_cells_lossless(workbook_path: Path, tmp_path: Path):
    before = entries(workbook_path)
    before_grid = grid(workbook_path, "客户")
    out = tmp_path / "out.xlsm"
    patch_workbook(workbook_path, out, {"客户": SheetEdit(cells=dict(EDIT_CELLS))})
    after = entries(out)
    changed = {"xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/styles.xml"}
    for name, data in before.items():
        if name not in changed:
            assert after[name] == data, name
    assert set(after) == set(before)
    # raw copy keeps the compression method of every untouched entry
    bi, ai = infos(workbook_path), infos(out)
    for name in before:
        if name not in changed:
            assert (ai[name].compress_type, ai[name].CRC) == (bi[name].compress_type, bi[name].CRC)
    assert b'fullCalcOnLoad="1"' in after["xl/workbook.xml"]

    expected = dict(before_grid)
    for k, v in EDIT_CELLS.items():
        if v is None:
            expected.pop(k, None)
        elif isinstance(v, dt.date):
            expected[k] = dt.datetime(v.year, v.month, v.day)
        elif k == (9, 2):
            expected[k] = "new row\tx\x01y_x0041_"
        else:
            expected[k] = v
    assert grid(out, "客户") == expected
    s = read_sheet(out, "客户")
    assert s.header[-2:] == ["当前级别", ""]
    assert (3, 2) not in s.formulas and (3, 7) not in s.formulas
    assert s.formulas[(2, 7)] == "D2+E2"
    assert [s.formulas[(r, 8)] for r in range(2, 6)] == ["D2*2", "D3*2", "D4*2", "D5*2"]
    xml = after["xl/worksheets/sheet1.xml"].decode()
    assert '<dimension ref="A1:J9"/>' in xml
    assert "HYPERLINK(&quot;" not in xml and 't="inlineStr"><is><t>=HYPERLINK(' in xml
    assert "<f>HYPERLINK" not in xml
    # the new header cell takes the header style of its left neighbour
    assert '<c r="I1" s="2" t="inlineStr">' in xml
    # the extension lists (2010 data bar), data validation, drawing refs are kept verbatim
    tail = before["xl/worksheets/sheet1.xml"].split(b"</sheetData>")[1]
    assert after["xl/worksheets/sheet1.xml"].endswith(tail)
    assert sheet_names(out) == sheet_names(workbook_path)


def test_patch_in_place_and_text_stays_text(workbook_path: Path):
    patch_workbook(workbook_path, workbook_path, {"客户": SheetEdit(cells={(2, 2): HYPER})})
    s = read_sheet(workbook_path, "客户")
    assert s.columns[1][0] == HYPER
    assert (2, 2) not in s.formulas
    leftovers = [p.name for p in workbook_path.parent.iterdir() if "xlsxio-tmp" in p.name]
    assert leftovers == []


def test_calcchain_removed(workbook_path: Path, tmp_path: Path):
    # XlsxWriter writes no calcChain: add one, as Excel does
    src = tmp_path / "cc.xlsm"
    with zipfile.ZipFile(workbook_path) as zf, zipfile.ZipFile(src, "w") as zw:
        for info in zf.infolist():
            data = zf.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.'
                    b'openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>',
                )
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/>'
                    b"</Relationships>",
                )
            zw.writestr(info, data)
        zw.writestr(
            "xl/calcChain.xml",
            '<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<c r="G2" i="1"/></calcChain>',
        )
    out = tmp_path / "out.xlsm"
    patch_workbook(src, out, {"客户": SheetEdit(cells={(2, 7): 1.0})})
    after = entries(out)
    assert "xl/calcChain.xml" not in after
    assert b"calcChain" not in after["[Content_Types].xml"]
    assert b"calcChain" not in after["xl/_rels/workbook.xml.rels"]
    assert b"rId1" in after["xl/_rels/workbook.xml.rels"]


def test_shared_formula_master_refused(workbook_path: Path, tmp_path: Path):
    before = workbook_path.read_bytes()
    with pytest.raises(XlsxError, match="共享"):
        patch_workbook(workbook_path, workbook_path, {"客户": SheetEdit(cells={(2, 8): 1.0})})
    assert workbook_path.read_bytes() == before
    assert [p.name for p in workbook_path.parent.iterdir() if "xlsxio-tmp" in p.name] == []
    # a dependant of the shared formula may be overwritten
    out = tmp_path / "o.xlsm"
    patch_workbook(workbook_path, out, {"客户": SheetEdit(cells={(3, 8): 7.0})})
    s = read_sheet(out, "客户")
    assert s.columns[7][:4] == [2.0, 7.0, 4.0, 5.0]
    assert (3, 8) not in s.formulas and s.formulas[(4, 8)] == "D4*2"


def test_columns_edit_and_keep(workbook_path: Path, tmp_path: Path):
    out = tmp_path / "o.xlsm"
    edit = SheetEdit(
        cells={(1, 9): "级别", (1, 10): "评级期间"},
        columns={4: [1.0, KEEP, 3.0], 9: ["A", "B", "C", "D", "E", "F"], 10: ["2026Q4"] * 2},
        column_styles={10: 2},
    )
    patch_workbook(workbook_path, out, {"客户": edit})
    s = read_sheet(out, "客户")
    assert s.column("资产权益")[:4] == [1.0, 20000.0, 3.0, 88.25]
    assert s.column("级别") == ["A", "B", "C", "D", "E", "F"]
    assert s.column("评级期间") == ["2026Q4", "2026Q4", None, None, None, None]
    assert s.n_rows == 7
    xml = entries(out)["xl/worksheets/sheet1.xml"]
    assert b'<c r="J2" s="2" t="inlineStr">' in xml


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_replace_and_add_sheets(workbook_path: Path, tmp_path: Path):
    before = entries(workbook_path)
    out = tmp_path / "o.xlsm"
    rows = [["级别", "人数"], ["VIP客户", 4], ["核心客户", 6.5]]
    log = [["时间", "客户编号", "变动"], [dt.datetime(2026, 1, 4, 9, 30), "C001", "升级"]]
    patch_workbook(
        workbook_path, out, {}, replace_sheets={"汇总": rows}, add_sheets={"变更记录": log}
    )
    after = entries(out)
    assert sheet_names(out) == ["客户", "汇总", "控制台", "变更记录"]
    s = read_sheet(out, "汇总")
    assert s.header == ["级别", "人数"]
    assert s.columns == [["VIP客户", "核心客户"], [4.0, 6.5]]
    # the chart's drawing reference and everything after sheetData are kept
    old2, new2 = before["xl/worksheets/sheet2.xml"], after["xl/worksheets/sheet2.xml"]
    assert new2.endswith(old2.split(b"</sheetData>")[1])
    assert b'<dimension ref="A1:B3"/>' in new2
    for name in ("xl/charts/chart1.xml", "xl/drawings/drawing1.xml", "xl/vbaProject.bin",
                 "xl/worksheets/sheet1.xml", "xl/worksheets/sheet3.xml"):
        assert after[name] == before[name]
    s = read_sheet(out, "变更记录")
    assert s.header == ["时间", "客户编号", "变动"]
    assert s.columns == [[dt.datetime(2026, 1, 4, 9, 30)], ["C001"], ["升级"]]
    ct = after["[Content_Types].xml"].decode()
    assert 'PartName="/xl/worksheets/sheet4.xml"' in ct
    with pytest.raises(XlsxError, match="已存在"):
        patch_workbook(out, out, {}, add_sheets={"客户": [["x"]]})
    with pytest.raises(XlsxError, match="无效"):
        patch_workbook(out, out, {}, add_sheets={"a/b": [["x"]]})
    # openpyxl (only as an independent reader) agrees
    import openpyxl

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["客户", "汇总", "控制台", "变更记录"]
    assert wb["变更记录"]["A2"].value == dt.datetime(2026, 1, 4, 9, 30)
    assert wb["变更记录"]["A2"].is_date
    assert wb["变更记录"]["A1"].font.b
    assert wb["客户"]["B3"].value == HYPER


def test_empty_sheet_gets_rows(workbook_path: Path, tmp_path: Path):
    out = tmp_path / "o.xlsm"
    patch_workbook(workbook_path, out, {}, add_sheets={"规则": []})
    patch_workbook(out, out, {"规则": SheetEdit(cells={(1, 1): "参数", (3, 2): 1.5})})
    s = read_sheet(out, "规则")
    assert s.header == ["参数", ""]
    assert s.columns == [[None, None], [None, 1.5]]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_converts_patched_file(workbook_path: Path, tmp_path: Path):
    out = tmp_path / "o.xlsm"
    patch_workbook(workbook_path, out, {"客户": SheetEdit(cells=dict(EDIT_CELLS))},
                   add_sheets={"变更记录": [["a"], [1]]})
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)],
        check=True, timeout=120, capture_output=True,
    )
    assert (tmp_path / "o.pdf").stat().st_size > 0
