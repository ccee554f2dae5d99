"""New sheets of ``patch_workbook``: their XML (a log's streamed a block of rows at a time,
with the flush point ``append`` needs), and their place in the package (workbook.xml, its
relationships, the content types; a chart's drawing and chart parts)."""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from . import chart as chartxml
from . import ooxml
from .append import rows_xml_flushed
from .cells import CellWriter, rows_xml
from .chart import ChartSpec
from .errors import XlsxError
from .package import WorkbookInfo, read_xml_part, rels_path
from .sheetxml import col_letter
from .styles import StylesEditor
from .xmltext import escape_attr

_NEW_SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
)


def _new_sheet_parts(n_rows: int, n_cols: int, drawing_rid: str | None = None,
                     strict: bool = False) -> tuple[bytes, bytes]:
    """A new sheet's XML before its rows (through ``<sheetData>``) and after them."""
    dim = f"A1:{col_letter(n_cols)}{n_rows}" if n_rows and n_cols else "A1"
    pane = (
        b'<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        if n_rows > 1 else b""
    )
    head = (
        (ooxml.to_strict(_NEW_SHEET_HEAD) if strict else _NEW_SHEET_HEAD)
        + f'<dimension ref="{dim}"/>'.encode()
        + b'<sheetViews><sheetView workbookViewId="0">' + pane + b"</sheetView></sheetViews>"
        + b'<sheetFormatPr defaultRowHeight="15"/>'
        + b"<sheetData>"
    )
    tail = (
        b"</sheetData>"
        + b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
        b'footer="0.3"/>'
        + (f'<drawing r:id="{drawing_rid}"/>'.encode() if drawing_rid else b"")
        + b"</worksheet>"
    )
    return head, tail


def _bold(styles: StylesEditor) -> Callable[[], int | None]:
    """The bold style of a header row, made when first asked for."""
    cache: list[int | None] = []

    def bold() -> int | None:
        if not cache:
            cache.append(styles.bold_xf(None))
        return cache[0]

    return bold


def new_sheet_xml(rows: list[list[Any]], w: CellWriter, styles: StylesEditor,
                   drawing_rid: str | None = None, strict: bool = False) -> bytes:
    n_cols = max((len(r) for r in rows), default=0)
    head, tail = _new_sheet_parts(len(rows), n_cols, drawing_rid, strict)
    return head + rows_xml(rows, w, b"", {}, _bold(styles)) + tail


def new_log_chunks(rows: Sequence[list[Any]], w: CellWriter, styles: StylesEditor,
                    strict: bool = False) -> Iterable[bytes | object]:
    """A new sheet of log rows, streamed a block of rows at a time (the rows may be made as
    they are written: ``workbook.run.logrows``) with the flush point before its last row:
    the bytes of ``last_row_flush(_new_sheet_xml(rows, ...))``."""
    width = getattr(rows, "width", None)
    n_cols = width if width is not None else max((len(r) for r in rows), default=0)
    head, tail = _new_sheet_parts(len(rows), n_cols, strict=strict)
    bold = _bold(styles)
    if len(rows):
        bold()  # (made now, as the whole sheet's XML made here would: the styles' order)
    return itertools.chain([head], rows_xml_flushed(rows, 1, b"", w, bold), [tail])


# ----------------------------------------------------------------------------- package parts

WS_KIND = "worksheet"
WS_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_BAD_SHEET_CHARS = set('[]:*?/\\')


def check_sheet_name(name: str, existing: list[str]) -> None:
    if not name or len(name) > 31 or any(ch in _BAD_SHEET_CHARS for ch in name) \
            or name.startswith("'") or name.endswith("'"):
        raise XlsxError(f"工作表名“{name}”无效（最多 31 个字符，不能含 []:*?/\\ ）。")
    if name.casefold() in (n.casefold() for n in existing):
        raise XlsxError(f"工作表“{name}”已存在。")


def _insert_before_close(xml: bytes, tag: bytes, item: bytes) -> bytes:
    m = re.search(rb"</(\w+:)?" + tag + rb">", xml)
    if m is None:
        raise XlsxError(f"工作簿结构异常（缺少 {tag.decode()}），无法添加工作表。")
    return xml[: m.start()] + item + xml[m.start() :]


def _free_part(names: set[str], pattern: str) -> str:
    k = 1
    low = {n.lower() for n in names}
    while (pattern % k).lower() in low:
        k += 1
    names.add(pattern % k)
    return pattern % k


Chunks = Iterable[bytes | object]


class NewSheets:
    """Sheets added to a package: ``add`` each, then ``parts`` (part name, chunks) and
    ``small`` (workbook.xml, its relationships, the content types) to write."""

    def __init__(self, zf: Any, info: WorkbookInfo, wb_xml: bytes, small: dict[str, bytes],
                 ct_name: str | None, w: CellWriter, styles: StylesEditor) -> None:
        self.info, self.w, self.styles = info, w, styles
        self.small, self.ct_name = small, ct_name
        self.rels_name = rels_path(info.workbook_part)
        self.rels_xml = small.get(self.rels_name) or read_xml_part(zf, self.rels_name)
        ct = small.get(ct_name) if ct_name else None
        if ct is None and ct_name:
            ct = read_xml_part(zf, ct_name)
        self.ct = ct
        self.wb_xml = wb_xml
        self.ids = {s.sheet_id for s in info.sheets}
        self.ids |= {int(x) for x in re.findall(rb'\ssheetId="([0-9]+)"', wb_xml)}
        self.rids = {r.id for r in info.rels}
        self.wb_dir = posixpath.dirname(info.workbook_part)
        self.rpre = ooxml.rel_prefix(wb_xml)
        ns_m = re.search(rb"<(\w+:)?sheets\b", wb_xml)
        self.ns = (ns_m.group(1) or b"") if ns_m else b""
        self.k = 1
        self.parts: list[tuple[str, Chunks]] = []

    def _content_type(self, part: str, ctype: str) -> None:
        if self.ct is not None:
            self.ct = _insert_before_close(
                self.ct, b"Types", f'<Override PartName="/{part}" ContentType="{ctype}"/>'.encode())

    def _register(self, name: str) -> str:
        """A new worksheet part for sheet ``name``, in workbook.xml and its relationships."""
        info, wb_dir = self.info, self.wb_dir
        while posixpath.join(wb_dir, f"worksheets/sheet{self.k}.xml") in info.names:
            self.k += 1
        part = posixpath.join(wb_dir, f"worksheets/sheet{self.k}.xml")
        self.k += 1
        sid = max(self.ids, default=0) + 1
        self.ids.add(sid)
        n = 1
        while f"rId{n}" in self.rids:
            n += 1
        rid = f"rId{n}"
        self.rids.add(rid)
        rel_target = posixpath.relpath(part, wb_dir) if wb_dir else part
        self.rels_xml = _insert_before_close(
            self.rels_xml, b"Relationships",
            f'<Relationship Id="{rid}" Type="{ooxml.rel_type(WS_KIND, info.strict)}" '
            f'Target="{rel_target}"/>'.encode())
        if self.rpre:
            rattr = self.rpre + f':id="{rid}"'.encode()
        else:
            rattr = f'xmlns:r="{ooxml.rel_ns(info.strict)}" r:id="{rid}"'.encode()
        item = (b"<" + self.ns + b'sheet name="' + escape_attr(name).encode() + b'" sheetId="'
                + str(sid).encode() + b'" ' + rattr + b"/>")
        self.wb_xml = _insert_before_close(self.wb_xml, b"sheets", item)
        self._content_type(part, WS_CT)
        return part

    def add(self, name: str, rows: Sequence[list[Any]], *, log: bool = False,
            chart: ChartSpec | None = None) -> None:
        """Sheet ``name`` of ``rows``; ``log``: streamed, ready for the next append."""
        part = self._register(name)
        strict = self.info.strict
        if chart is not None:
            self._add_chart(name, part, list(rows), chart)
        elif log:
            self.parts.append((part, new_log_chunks(rows, self.w, self.styles, strict)))
        else:
            self.parts.append((part, [new_sheet_xml(list(rows), self.w, self.styles,
                                                    strict=strict)]))

    def _add_chart(self, name: str, part: str, rows: list[list[Any]], spec: ChartSpec) -> None:
        taken = set(self.info.names) | {p for p, _ in self.parts}
        drawing = _free_part(taken, posixpath.join(self.wb_dir, "drawings/drawing%d.xml"))
        chart = _free_part(taken, posixpath.join(self.wb_dir, "charts/chart%d.xml"))
        self.parts.append((part, [new_sheet_xml(rows, self.w, self.styles, drawing_rid="rId1",
                                                strict=self.info.strict)]))
        chart_parts = [
            (rels_path(part), chartxml.rels_xml(
                chartxml.DRAWING_REL, posixpath.relpath(drawing, posixpath.dirname(part)))),
            (drawing, chartxml.drawing_xml(spec)),
            (rels_path(drawing), chartxml.rels_xml(
                chartxml.CHART_REL, posixpath.relpath(chart, posixpath.dirname(drawing)))),
            (chart, chartxml.chart_xml(spec, name, rows))]
        self.parts += [(pn, [ooxml.to_strict(x) if self.info.strict else x])
                       for pn, x in chart_parts]
        for pn, ctype in ((drawing, chartxml.DRAWING_CT), (chart, chartxml.CHART_CT)):
            self._content_type(pn, ctype)

    def finish(self) -> bytes:
        """Put the package parts changed into ``small``; the new workbook.xml."""
        self.small[self.rels_name] = self.rels_xml
        if self.ct_name and self.ct is not None:
            self.small[self.ct_name] = self.ct
        self.small[self.info.workbook_part] = self.wb_xml
        return self.wb_xml
