"""A native clustered column chart on a sheet added by patch_workbook."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from workbook.xlsxio import ChartSpec, XlsxError, patch_workbook, read_sheet, sheet_names
from workbook.xlsxio.chart import quote_sheet

ROWS = [
    ["级别", "评级前", "评级后"],
    ["VIP客户", 3.0, 4.0],
    ["核心客户", 10.0, 12.0],
    ["潜力客户", 40.0, 38.0],
    ["普通客户", 200.0, 199.0],
    ["无级别", 5.0, 5.0],
    [],
    ["变动", "客户数"],
    ["升级", 7.0],
]
SPEC = ChartSpec(title="级别分布", categories="A2:A6",
                 series=[("B1", "B2:B6"), ("C1", "C2:C6")], anchor=("E2", "M20"))


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return {n: zf.read(n) for n in zf.namelist()}


@pytest.fixture()
def charted(workbook_path: Path, tmp_path: Path) -> Path:
    out = tmp_path / "charted.xlsm"
    patch_workbook(workbook_path, out, {}, add_sheets={"级别汇总": ROWS},
                   add_charts={"级别汇总": SPEC})
    return out


def test_chart_parts_and_ranges(workbook_path: Path, charted: Path):
    before, after = entries(workbook_path), entries(charted)
    # the fixture already has drawing1/chart1 (its own chart): the new parts take free names
    new = set(after) - set(before)
    assert new == {"xl/worksheets/sheet4.xml", "xl/worksheets/_rels/sheet4.xml.rels",
                   "xl/drawings/drawing3.xml", "xl/drawings/_rels/drawing3.xml.rels",
                   "xl/charts/chart2.xml"} or {n for n in new if "chart" in n}
    chart_part = next(n for n in new if n.startswith("xl/charts/"))
    drawing_part = next(n for n in new if n.startswith("xl/drawings/drawing"))
    chart = after[chart_part].decode()
    assert '<c:barDir val="col"/>' in chart and '<c:grouping val="clustered"/>' in chart
    assert re.findall(r"<c:f>([^<]*)</c:f>", chart) == [
        "级别汇总!$B$1", "级别汇总!$A$2:$A$6", "级别汇总!$B$2:$B$6",
        "级别汇总!$C$1", "级别汇总!$A$2:$A$6", "级别汇总!$C$2:$C$6",
    ]
    assert "<c:v>核心客户</c:v>" in chart and "<c:v>199</c:v>" in chart and "级别分布" in chart
    # sheet -> drawing -> chart, content types
    sheet = after["xl/worksheets/sheet4.xml"].decode()
    assert sheet.endswith('<drawing r:id="rId1"/></worksheet>')
    srels = after["xl/worksheets/_rels/sheet4.xml.rels"].decode()
    assert f'Target="../drawings/{Path(drawing_part).name}"' in srels and "/drawing\"" in srels
    drels = after[f"xl/drawings/_rels/{Path(drawing_part).name}.rels"].decode()
    assert f'Target="../charts/{Path(chart_part).name}"' in drels
    drawing = after[drawing_part].decode()
    assert "<xdr:from><xdr:col>4</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row>" in drawing
    assert "<xdr:to><xdr:col>12</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>19</xdr:row>" in drawing
    ct = after["[Content_Types].xml"].decode()
    assert f'PartName="/{chart_part}" ContentType="application/vnd.openxmlformats-' \
           'officedocument.drawingml.chart+xml"' in ct
    assert f'PartName="/{drawing_part}" ContentType="application/vnd.openxmlformats-' \
           'officedocument.drawing+xml"' in ct
    # every entry of the source is byte-identical except the three package parts we extend
    for name, data in before.items():
        if name not in ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                        "xl/styles.xml"):
            assert after[name] == data, name
    assert sheet_names(charted)[-1] == "级别汇总"
    s = read_sheet(charted, "级别汇总")
    assert s.column("评级后")[:5] == [4.0, 12.0, 38.0, 199.0, 5.0]


def test_openpyxl_loads_the_chart(charted: Path):
    import openpyxl

    wb = openpyxl.load_workbook(charted)
    ws = wb["级别汇总"]
    assert len(ws._charts) == 1
    ch = ws._charts[0]
    assert ch.type == "col" and ch.grouping == "clustered"
    refs = [(s.tx.strRef.f, s.cat.strRef.f, s.val.numRef.f) for s in ch.series]
    assert refs == [("级别汇总!$B$1", "级别汇总!$A$2:$A$6", "级别汇总!$B$2:$B$6"),
                    ("级别汇总!$C$1", "级别汇总!$A$2:$A$6", "级别汇总!$C$2:$C$6")]


def test_chart_only_on_added_sheets_and_sheet_names_quoted(workbook_path: Path, tmp_path: Path):
    with pytest.raises(XlsxError, match="新添加"):
        patch_workbook(workbook_path, tmp_path / "x.xlsm", {}, add_charts={"汇总": SPEC})
    assert quote_sheet("汇总") == "汇总"
    assert quote_sheet("Sum 1") == "'Sum 1'"
    assert quote_sheet("A1") == "'A1'"
    assert quote_sheet("it's") == "'it''s'"
    out = tmp_path / "q.xlsm"
    patch_workbook(workbook_path, out, {}, add_sheets={"Sum 1": ROWS},
                   add_charts={"Sum 1": ChartSpec("t", "A2:A3", [(None, "B2:B3")])})
    chart = next(v for k, v in entries(out).items() if k.startswith("xl/charts/chart")
                 and b"Sum 1" in v)
    assert b"<c:f>'Sum 1'!$B$2:$B$3</c:f>" in chart


def test_two_charts_get_distinct_parts(workbook_path: Path, tmp_path: Path):
    out = tmp_path / "two.xlsm"
    patch_workbook(workbook_path, out, {}, add_sheets={"甲": ROWS, "乙": ROWS},
                   add_charts={"甲": SPEC, "乙": SPEC})
    e = entries(out)
    charts = [n for n in e if n.startswith("xl/charts/")]
    assert len(charts) == 3  # the fixture's own + two
    import openpyxl

    wb = openpyxl.load_workbook(out)
    assert len(wb["甲"]._charts) == 1 and len(wb["乙"]._charts) == 1


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_opens_and_keeps_the_chart(charted: Path, tmp_path: Path):
    """LibreOffice converts the file (pdf) and, converted to .ods, still holds a chart object
    on the new sheet with our series ranges."""
    xlsx = tmp_path / "c.xlsx"
    shutil.copy(charted, xlsx)
    for fmt in ("pdf", "ods"):
        subprocess.run(
            ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
             "--convert-to", fmt, "--outdir", str(tmp_path), str(xlsx)],
            check=True, timeout=180, capture_output=True,
        )
    assert (tmp_path / "c.pdf").stat().st_size > 0
    with zipfile.ZipFile(tmp_path / "c.ods") as zf:
        objects = [n for n in zf.namelist() if n.startswith("Object") and n.endswith("content.xml")]
        texts = [zf.read(n).decode() for n in objects]
    ours = [t for t in texts if "级别汇总" in t]
    assert ours, "the chart on 级别汇总 was dropped"
    assert 'chart:class="chart:bar"' in ours[0]
    assert 'values-cell-range-address="级别汇总.B2:级别汇总.B6"' in ours[0]
    assert 'values-cell-range-address="级别汇总.C2:级别汇总.C6"' in ours[0]
    assert 'cell-range-address="级别汇总.A2:级别汇总.A6"' in ours[0]
