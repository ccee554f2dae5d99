"""A native Excel clustered column chart for a sheet that ``patch_workbook`` adds.

The parts are modelled on what XlsxWriter 3.3 writes for ``add_chart({"type": "column"})``:
a drawing part (``xl/drawings/drawingN.xml``, one two-cell anchor holding a graphic frame),
its relationship to the chart part (``xl/charts/chartN.xml``, a ``c:barChart`` with
``barDir=col`` and ``grouping=clustered``, one category and one value axis), the worksheet's
``<drawing r:id>`` and relationship, and the content-type overrides of both parts. The series
point at cells of the sheet (``汇总!$B$2:$B$6``) and carry cached values, so the chart shows
before any recalculation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import ooxml
from .errors import XlsxError
from .sheetxml import REF_RE, col_index, col_letter
from .xmltext import escape_text

DRAWING_CT = "application/vnd.openxmlformats-officedocument.drawing+xml"
CHART_CT = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
REL = ooxml.REL_NS  # transitional; a Strict package gets ooxml.to_strict of these parts
DRAWING_REL = ooxml.rel_type("drawing", False)
CHART_REL = ooxml.rel_type("chart", False)


@dataclass(frozen=True)
class ChartSpec:
    """A clustered column chart over cells of the sheet it is placed on.

    * ``categories``: the category labels, e.g. ``"A2:A6"``.
    * ``series``: ``(name_cell, values_range)`` per series, e.g. ``("B1", "B2:B6")``;
      ``name_cell`` may be None (Excel then says "Series1").
    * ``anchor``: the cells of the chart's top-left and bottom-right corners.
    """

    title: str
    categories: str
    series: Sequence[tuple[str | None, str]]
    anchor: tuple[str, str] = ("E2", "M20")


def _cell(ref: str) -> tuple[int, int]:
    m = REF_RE.fullmatch(ref.replace("$", "").upper().encode())
    if m is None:
        raise XlsxError(f"图表的单元格引用“{ref}”无效（应为 A1 形式）。")
    return int(m.group(2)), col_index(m.group(1))


def _range(ref: str) -> tuple[int, int, int, int]:
    """'A2:A6' -> (row1, col1, row2, col2), 1-based."""
    a, _, b = ref.partition(":")
    r1, c1 = _cell(a)
    r2, c2 = _cell(b or a)
    if r2 < r1 or c2 < c1:
        raise XlsxError(f"图表的区域“{ref}”无效。")
    return r1, c1, r2, c2


def quote_sheet(name: str) -> str:
    """Sheet name as written before '!' in a formula (quoted when Excel needs it)."""
    plain = re.fullmatch(r"[^\W\d]\w*", name) and not re.fullmatch(
        r"[A-Za-z]{1,3}\d+|[Rr]\d*([Cc]\d*)?|[Cc]\d*", name)
    return name if plain else "'" + name.replace("'", "''") + "'"


def _abs(ref: str) -> str:
    r1, c1, r2, c2 = _range(ref)
    a = f"${col_letter(c1)}${r1}"
    b = f"${col_letter(c2)}${r2}"
    return a if a == b else f"{a}:{b}"


def _cells(rows: list[list[Any]], ref: str) -> list[Any]:
    r1, c1, r2, c2 = _range(ref)
    out = []
    for r in range(r1, r2 + 1):
        row = rows[r - 1] if r - 1 < len(rows) else []
        for c in range(c1, c2 + 1):
            out.append(row[c - 1] if c - 1 < len(row) else None)
    return out


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _str_cache(values: list[Any]) -> str:
    pts = "".join(f'<c:pt idx="{i}"><c:v>{escape_text(_text(v))}</c:v></c:pt>'
                  for i, v in enumerate(values) if v is not None)
    return f'<c:strCache><c:ptCount val="{len(values)}"/>{pts}</c:strCache>'


def _num_cache(values: list[Any]) -> str:
    pts = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float):
            continue
        x = float(v)
        pts.append(f'<c:pt idx="{i}"><c:v>{int(x) if x.is_integer() else repr(x)}</c:v></c:pt>')
    return (f"<c:numCache><c:formatCode>General</c:formatCode>"
            f'<c:ptCount val="{len(values)}"/>{"".join(pts)}</c:numCache>')


def chart_xml(spec: ChartSpec, sheet: str, rows: list[list[Any]]) -> bytes:
    if not spec.series:
        raise XlsxError("图表至少需要一个数据系列。")
    q = quote_sheet(sheet)
    cat_f = escape_text(f"{q}!{_abs(spec.categories)}")
    cat = f"<c:cat><c:strRef><c:f>{cat_f}</c:f>{_str_cache(_cells(rows, spec.categories))}" \
          "</c:strRef></c:cat>"
    sers = []
    for i, (name, values) in enumerate(spec.series):
        tx = ""
        if name:
            nf = escape_text(f"{q}!{_abs(name)}")
            tx = (f"<c:tx><c:strRef><c:f>{nf}</c:f>{_str_cache(_cells(rows, name))}"
                  "</c:strRef></c:tx>")
        vf = escape_text(f"{q}!{_abs(values)}")
        sers.append(
            f'<c:ser><c:idx val="{i}"/><c:order val="{i}"/>{tx}{cat}<c:val><c:numRef>'
            f"<c:f>{vf}</c:f>{_num_cache(_cells(rows, values))}</c:numRef></c:val></c:ser>"
        )
    title = ""
    if spec.title:
        title = (
            "<c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr/></a:pPr>"
            f'<a:r><a:rPr lang="zh-CN"/><a:t>{escape_text(spec.title)}</a:t></a:r></a:p>'
            "</c:rich></c:tx><c:layout/></c:title>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        f'xmlns:r="{REL}"><c:lang val="zh-CN"/><c:chart>{title}'
        '<c:plotArea><c:layout/><c:barChart><c:barDir val="col"/>'
        f'<c:grouping val="clustered"/>{"".join(sers)}'
        '<c:axId val="50010001"/><c:axId val="50010002"/></c:barChart>'
        '<c:catAx><c:axId val="50010001"/><c:scaling><c:orientation val="minMax"/>'
        '</c:scaling><c:axPos val="b"/><c:tickLblPos val="nextTo"/>'
        '<c:crossAx val="50010002"/><c:crosses val="autoZero"/><c:auto val="1"/>'
        '<c:lblAlgn val="ctr"/><c:lblOffset val="100"/></c:catAx>'
        '<c:valAx><c:axId val="50010002"/><c:scaling><c:orientation val="minMax"/>'
        '</c:scaling><c:axPos val="l"/><c:majorGridlines/>'
        '<c:numFmt formatCode="General" sourceLinked="1"/><c:tickLblPos val="nextTo"/>'
        '<c:crossAx val="50010001"/><c:crosses val="autoZero"/>'
        '<c:crossBetween val="between"/></c:valAx></c:plotArea>'
        '<c:legend><c:legendPos val="r"/><c:layout/></c:legend><c:plotVisOnly val="1"/>'
        "</c:chart><c:printSettings><c:headerFooter/>"
        '<c:pageMargins b="0.75" l="0.7" r="0.7" t="0.75" header="0.3" footer="0.3"/>'
        "<c:pageSetup/></c:printSettings></c:chartSpace>"
    ).encode()


def drawing_xml(spec: ChartSpec, chart_rid: str = "rId1", shape_id: int = 2) -> bytes:
    r1, c1 = _cell(spec.anchor[0])
    r2, c2 = _cell(spec.anchor[1])
    if r2 <= r1 or c2 <= c1:
        raise XlsxError(f"图表位置 {spec.anchor[0]}–{spec.anchor[1]} 无效。")
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/'
        'spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
        f"<xdr:twoCellAnchor><xdr:from><xdr:col>{c1 - 1}</xdr:col><xdr:colOff>0</xdr:colOff>"
        f"<xdr:row>{r1 - 1}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
        f"<xdr:to><xdr:col>{c2 - 1}</xdr:col><xdr:colOff>0</xdr:colOff>"
        f"<xdr:row>{r2 - 1}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>"
        f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="{shape_id}" '
        f'name="Chart {shape_id - 1}"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>'
        '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic>'
        '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
        '<c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        f'xmlns:r="{REL}" r:id="{chart_rid}"/></a:graphicData></a:graphic>'
        "</xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>"
    ).encode()


def rels_xml(rel_type: str, target: str, rid: str = "rId1") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="{rid}" Type="{rel_type}" Target="{target}"/></Relationships>'
    ).encode()
