"""Branch workbooks written plainly (no formulas, no template) for the tests of several
packages: tests/conftest.py puts this folder on the import path."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xlsxwriter


def plain_branch(path: Path, rows: list[list[Any]], header: list[str], *, sheet: str = "客户",
                 notes_sheet: bool = False) -> Path:
    """A workbook without formulas (the job writes 风险类别 etc. as values): texts stay texts,
    dates get a date format; ``notes_sheet`` adds a sheet 备注 no run may touch."""
    sheets = [(sheet, [header, *rows])]
    if notes_sheet:
        sheets.append(("备注", [["不要动我"]]))
    return plain_book(path, sheets)


def plain_book(path: Path, sheets: list[tuple[str, list[list[Any]]]]) -> Path:
    """A workbook of plain sheets (name, rows; no formulas): texts stay texts, dates get a date
    format, None leaves a cell empty."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                         "strings_to_numbers": False})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets:
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, str):
                    ws.write_string(r, c, v)
                elif isinstance(v, dt.date):
                    ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), date_fmt)
                else:
                    ws.write_number(r, c, v)
    wb.close()
    return path


DATA = Path(__file__).parent / "data"


def excel_branch(path: Path, rows: list[list[Any]], header: list[str], *,
                 source: str = "SampleSS.strict.xlsx") -> Path:
    """A branch workbook made from a file saved by Excel (tests/data/README.md): its first
    sheet renamed 客户 and its cells replaced by ``header`` and ``rows`` the way Excel writes
    them (shared strings; in a Strict file dates as ISO ``t="d"`` cells, else serial numbers);
    every other part (the other sheets, theme, calcChain...) is left byte for byte."""
    import re
    import zipfile
    from xml.sax.saxutils import escape

    with zipfile.ZipFile(DATA / source) as src:
        parts = {i.filename: src.read(i) for i in src.infolist()}
    strict = b"purl.oclc.org/ooxml/spreadsheetml/main" in parts["xl/workbook.xml"]
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b'name="First Sheet"', 'name="客户"'.encode())
    sst = parts["xl/sharedStrings.xml"]
    strings = re.findall(rb"<si>", sst)
    n0 = len(strings)
    new: list[str] = []
    styles = parts["xl/styles.xml"]
    n_xf = int(re.search(rb'<cellXfs count="(\d+)"', styles).group(1))
    styles = styles.replace(b"</cellXfs>", b'<xf numFmtId="14" fontId="0" fillId="0" '
                            b'borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>')
    parts["xl/styles.xml"] = re.sub(rb'<cellXfs count="\d+"',
                                    f'<cellXfs count="{n_xf + 1}"'.encode(), styles)

    def cell(ref: str, v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, str):
            new.append(v)
            return f'<c r="{ref}" t="s"><v>{n0 + len(new) - 1}</v></c>'
        if isinstance(v, dt.date):
            if strict:
                return f'<c r="{ref}" s="{n_xf}" t="d"><v>{v.isoformat()}</v></c>'
            return f'<c r="{ref}" s="{n_xf}"><v>{(v - dt.date(1899, 12, 30)).days}</v></c>'
        return f'<c r="{ref}"><v>{v!r}</v></c>'

    def col(i: int) -> str:
        s = ""
        i += 1
        while i:
            i, r = divmod(i - 1, 26)
            s = chr(65 + r) + s
        return s

    body = []
    for r, row in enumerate([header, *rows], start=1):
        cells = "".join(cell(f"{col(c)}{r}", v) for c, v in enumerate(row))
        body.append(f'<row r="{r}">{cells}</row>')
    sheet = parts["xl/worksheets/sheet1.xml"]
    sheet = re.sub(rb"<sheetData>.*</sheetData>",
                   ("<sheetData>" + "".join(body) + "</sheetData>").encode(), sheet, flags=re.S)
    parts["xl/worksheets/sheet1.xml"] = re.sub(
        rb'<dimension ref="[^"]*"/>',
        f'<dimension ref="A1:{col(len(header) - 1)}{len(rows) + 1}"/>'.encode(), sheet)
    sis = "".join(f"<si><t>{escape(s)}</t></si>" for s in new).encode()
    sst = sst.replace(b"</sst>", sis + b"</sst>")
    total = n0 + len(new)
    parts["xl/sharedStrings.xml"] = re.sub(
        rb'count="\d+" uniqueCount="\d+"',
        f'count="{total}" uniqueCount="{total}"'.encode(), sst)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return path


def numbers_workbook(path: Path, rows: int, id_digits: int = 7) -> None:
    """A large plain sheet 客户 (headers h0..h9, ids C0000001…, numbers), written with
    XlsxWriter's constant memory: the file the save and kill tests rewrite."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("客户")
    ws.write_row(0, 0, [f"h{c}" for c in range(10)])
    for r in range(1, rows + 1):
        ws.write_string(r, 0, f"C{r:0{id_digits}d}")
        for c in range(1, 10):
            ws.write_number(r, c, r * c * 1.5)
    wb.close()


def edit_part(path: Path, part: str, fn: Any) -> None:
    """Rewrite one zip part of ``path`` through ``fn`` (text in, text out), the others as
    they are: a workbook edited as another program would."""
    import zipfile

    with zipfile.ZipFile(path) as zf:
        items = [(i, zf.read(i.filename)) for i in zf.infolist()]
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            if info.filename == part:
                data = fn(data.decode("utf-8")).encode("utf-8")
            out.writestr(info, data)
    tmp.replace(path)


def plant_shared(master: str, child_col: str, last: int) -> Callable[[str], str]:
    """An edit of 客户's XML (``edit_part``): O2 made the master of a shared formula
    ``master`` over O2:{child_col}{last}, and cell {child_col}{last} a child of it."""
    def plant(xml: str) -> str:
        xml = re.sub(r'<c r="O2"[^>]*?(?:/>|>.*?</c>)',
                     f'<c r="O2" t="str"><f t="shared" ref="O2:{child_col}{last}" si="0">'
                     f"{master}</f><v>x</v></c>", xml, count=1, flags=re.S)
        return re.sub(rf'<c r="{child_col}{last}"[^>]*?(?:/>|>.*?</c>)',
                      f'<c r="{child_col}{last}" t="str"><f t="shared" si="0"/><v>x</v></c>',
                      xml, count=1, flags=re.S)
    return plant
