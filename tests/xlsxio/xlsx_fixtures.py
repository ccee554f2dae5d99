"""Fixture workbooks built with XlsxWriter: data, formulas, chart, data bar, validation, VBA..."""

from __future__ import annotations

import datetime as dt
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl
import xlsxwriter

from workbook.xlsxio import read_sheet

HYPER = '=HYPERLINK("http://x","y")'
#: styles.xml of three cell formats: general (0), a date yyyy-mm-dd (1), #,##0.00 (2)
STYLES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/></font></fonts>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0"/><xf numFmtId="164" fontId="0"/>'
    '<xf numFmtId="4" fontId="0"/></cellXfs></styleSheet>'
)


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def vba_project_bin(tmp: Path) -> Path | None:
    import xlwings

    src = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    if not src.exists():
        return None
    out = tmp / "vbaProject.bin"
    with zipfile.ZipFile(src) as zf:
        out.write_bytes(zf.read("xl/vbaProject.bin"))
    return out


CLIENT_ROWS = [
    # 客户编号, 客户名称, 开户日期, 资产权益, 上年度净佣金, 备注
    ["C001", "张三", dt.datetime(2020, 5, 17), 1_500_000.0, 12_000.5, "a&b <c>"],
    ["C002", HYPER, dt.datetime(2021, 1, 2), 20_000.0, None, "  lead space"],
    ["C003", "李四", None, 0.0, 300.0, "line1\nline2"],
    ["C004", "王五", dt.datetime(2019, 12, 31), 88.25, 1.0, "张三"],
]
HEADERS = ["客户编号", "客户名称", "开户日期", "资产权益", "上年度净佣金", "备注", "合计", "倍数"]


def build_workbook(path: Path, tmp: Path, *, vba: bool = True) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    wb.define_name("资产合计", "=客户!$D$2:$D$5")
    bold = wb.add_format({"bold": True})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    money = wb.add_format({"num_format": "#,##0.00"})
    ws = wb.add_worksheet("客户")
    ws.write_row(0, 0, HEADERS, bold)
    for i, row in enumerate(CLIENT_ROWS, start=1):
        ws.write_string(i, 0, row[0])
        ws.write_string(i, 1, row[1])  # the HYPERLINK text stays text
        if row[2] is not None:
            ws.write_datetime(i, 2, row[2], date_fmt)
        ws.write_number(i, 3, row[3], money)
        if row[4] is not None:
            ws.write_number(i, 4, row[4], money)
        ws.write_string(i, 5, row[5])
        # formula with a cached value
        total = row[3] + (row[4] or 0)
        ws.write_formula(i, 6, f"=D{i + 1}+E{i + 1}", money, total)
    ws.write_boolean(5, 0, True)
    ws.write_formula(5, 1, "=NA()", None, "#N/A")
    ws.set_column(2, 2, 12, date_fmt)
    ws.data_validation(1, 4, 100, 4, {"validate": "decimal", "criteria": ">=", "value": 0})
    ws.conditional_format(
        "D2:D5", {"type": "data_bar", "bar_color": "#63C384", "data_bar_2010": True}
    )
    ws.insert_image("J2", "dot.png", {"image_data": __import__("io").BytesIO(tiny_png())})
    ws.insert_textbox("J8", "说明：这是文本框", {"width": 200, "height": 60})
    ws.freeze_panes(1, 0)
    ws2 = wb.add_worksheet("汇总")
    ws2.write_row(0, 0, ["级别", "人数"], bold)
    for i, (k, v) in enumerate([("VIP客户", 3), ("核心客户", 5), ("普通客户", 9)], start=1):
        ws2.write_string(i, 0, k)
        ws2.write_number(i, 1, v)
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"categories": "=汇总!$A$2:$A$4", "values": "=汇总!$B$2:$B$4"})
    ws2.insert_chart("D2", chart)
    ws3 = wb.add_worksheet("控制台")
    ws3.write("A1", "运行")
    if vba:
        binp = vba_project_bin(tmp)
        if binp is not None:
            wb.add_vba_project(str(binp))
            ws3.insert_button("B2", {"macro": "SampleCall", "caption": "重新评级"})
    wb.close()
    add_shared_formula(path)
    return path


def add_shared_formula(path: Path) -> None:
    """XlsxWriter never writes shared formulas: rewrite H2:H5 as one (master H2)."""
    with zipfile.ZipFile(path) as zf:
        items = [(i, zf.read(i.filename)) for i in zf.infolist()]
    out = path.with_suffix(".tmp")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zw:
        for info, data in items:
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                for r in range(2, 6):
                    f = (
                        '<f t="shared" ref="H2:H5" si="0">D2*2</f>'
                        if r == 2
                        else '<f t="shared" si="0"/>'
                    )
                    cell = f'<c r="H{r}">{f}<v>{r}</v></c>'
                    marker = f'<row r="{r}" '
                    i = text.index(marker)
                    j = text.index("</row>", i)
                    text = text[:j] + cell + text[j:]
                data = text.encode()
            zw.writestr(info, data)
    out.replace(path)


# ------------------------------------------------------------------ log sheets (append, find)

LOG = "变更记录"


def sheet_rows(path: Path, sheet: str = LOG) -> list[list]:
    d = read_sheet(path, sheet)
    return [[d.value(r, c) for c in range(1, d.n_cols + 1)] for r in range(1, d.n_rows + 1)]


def openpyxl_log(path: Path, rows: list[list], styled_empty_rows: int = 0) -> Path:
    """A log as another program writes it: shared strings, a <dimension>, no flush point."""
    wb = openpyxl.Workbook()
    wb.active.title = "客户"
    wb.active["A1"] = "客户编号"
    ws = wb.create_sheet(LOG)
    for row in rows:
        ws.append(row)
    for k in range(styled_empty_rows):  # rows Excel keeps for their format only
        ws.cell(len(rows) + 1 + k, 1).font = openpyxl.styles.Font(bold=True)
    wb.save(path)
    return path


def part_info(path: Path, sheet: str = LOG) -> zipfile.ZipInfo:
    from workbook.xlsxio.package import read_workbook_info

    with zipfile.ZipFile(path) as zf:
        return zf.getinfo(read_workbook_info(zf).sheet(sheet).part)




def strip_row_numbers(path: Path, sheet_part: str) -> None:
    """Rewrite a part with its <row> tags unnumbered (allowed by the format, rare)."""
    import re

    with zipfile.ZipFile(path) as zf:
        items = [(i, zf.read(i.filename)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zw:
        for info, data in items:
            if info.filename == sheet_part:
                data = re.sub(rb'(<row)( r="[0-9]+")', rb"\1", data)
            zw.writestr(info, data)


def minimal_workbook(path: Path, sheet_xml: bytes, *, styles: str | None = None,
                     shared: list[str] | None = None) -> Path:
    """The smallest package around one worksheet "S" (with styles and shared strings when
    given): for sheets written by hand."""
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    rels = f'<Relationship Id="rId1" Type="{rel}worksheet" Target="worksheets/sheet1.xml"/>'
    if styles is not None:
        rels += f'<Relationship Id="rId2" Type="{rel}styles" Target="styles.xml"/>'
    if shared is not None:
        rels += f'<Relationship Id="rId3" Type="{rel}sharedStrings" Target="sharedStrings.xml"/>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zw:
        zw.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
        )
        zw.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        zw.writestr(
            "xl/workbook.xml",
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        zw.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f"{rels}</Relationships>",
        )
        if styles is not None:
            zw.writestr("xl/styles.xml", styles)
        if shared is not None:
            sst = "".join(f"<si><t>{s}</t></si>" for s in shared)
            zw.writestr(
                "xl/sharedStrings.xml",
                '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                f"{sst}</sst>",
            )
        zw.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return path


def count_outcomes(monkeypatch, module, name: str, taken: str, declined: str) -> dict[str, int]:
    """Wrap ``module.name`` (a fast path that gives None when it declines) to count its calls:
    ``taken`` where it gave something, ``declined`` where it gave None."""
    calls = {taken: 0, declined: 0}
    real = getattr(module, name)

    def counted(*args):
        got = real(*args)
        calls[taken if got is not None else declined] += 1
        return got

    monkeypatch.setattr(module, name, counted)
    return calls
