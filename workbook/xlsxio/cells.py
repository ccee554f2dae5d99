"""Writing cells and rows of a worksheet part (the XML of values as Excel stores them): shared
by the patcher (``patch``, ``rowpatch``, ``colpatch``) and the appender (``append``)."""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from typing import Any

from .errors import CellError, XlsxError
from .sheetxml import col_letter, parse_attrs
from .styles import StylesEditor
from .values import datetime_to_serial
from .xmltext import escape_text


class CellWriter:
    def __init__(self, styles: StylesEditor, date1904: bool) -> None:
        self.styles = styles
        self.date1904 = date1904
        self._tails: dict[tuple[str, int | None], bytes] = {}

    def cell(self, ref: bytes, s: int | None, value: Any) -> bytes:
        """XML of one cell (b"" for an empty cell without style)."""
        if type(value) is str:
            key = (value, s)
            tail = self._tails.get(key)
            if tail is None:
                x = self._cell(b"", s, value)
                tail = x[len(b'<c r=""'):] if x else b""
                if len(self._tails) < 10000:
                    self._tails[key] = tail
            return b'<c r="' + ref + b'"' + tail if tail else b""
        return self._cell(ref, s, value)

    def _cell(self, ref: bytes, s: int | None, value: Any) -> bytes:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return b"<c r=\"" + ref + b'" s="' + str(s).encode() + b'"/>' if s is not None else b""
        if isinstance(value, str):
            if value == "":
                if s is None:
                    return b""
                return b"<c r=\"" + ref + b'" s="' + str(s).encode() + b'"/>'
            text = escape_text(value)
            sp = ' xml:space="preserve"' if (text != text.strip() or "\n" in text) else ""
            body = f'<is><t{sp}>{text}</t></is>'.encode()
            t = b' t="inlineStr"'
        elif isinstance(value, bool):
            body = b"<v>1</v>" if value else b"<v>0</v>"
            t = b' t="b"'
        elif isinstance(value, dt.date):
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                value = value.replace(tzinfo=None)
            serial = datetime_to_serial(value, self.date1904)
            body = b"<v>" + format_number(serial) + b"</v>"
            t = b""
            if not self.styles.is_date(s):
                s = self.styles.date_xf(s)
        elif isinstance(value, CellError):
            body = b"<v>" + escape_text(value.text).encode() + b"</v>"
            t = b' t="e"'
        elif isinstance(value, numbers.Real):
            x = float(value)
            if math.isinf(x):
                body, t = b"<v>#NUM!</v>", b' t="e"'
            else:
                body, t = b"<v>" + format_number(x) + b"</v>", b""
        else:
            raise XlsxError(f"无法写入单元格的值类型：{type(value).__name__}")
        sattr = b' s="' + str(s).encode() + b'"' if s is not None else b""
        return b'<c r="' + ref + b'"' + sattr + t + b">" + body + b"</c>"


def format_number(x: float) -> bytes:
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x)).encode()
    return repr(x).encode()


def rows_xml(rows: list[list[Any]], w: CellWriter, ns: bytes, old_styles: dict, bold,
              start: int = 1) -> bytes:
    out = []
    for i, row in enumerate(rows, start=start):
        rs = str(i).encode()
        cells = []
        for j, v in enumerate(row, start=1):
            if v is None:
                continue
            s = old_styles.get((i, j))
            if s is None and i == 1:
                s = bold()
            x = w.cell(col_letter(j).encode() + rs, s, v)
            if x:  # (an empty text without style writes nothing)
                cells.append(x)
        if cells:
            out.append(b"<" + ns + b'row r="' + rs + b'">' + b"".join(cells) + b"</" + ns + b"row>")
    return b"".join(out)


_F_RE = re.compile(rb"<(?:\w+:)?f\b([^>]*)")


def check_master(cell_xml: bytes, where: str) -> None:
    """Refuse to overwrite the master cell of a shared or multi-cell array formula."""
    m = _F_RE.search(cell_xml)
    if m is None:
        return
    attrs = parse_attrs(m.group(1))
    ref = attrs.get(b"ref")
    if attrs.get(b"t") in (b"shared", b"array") and ref and b":" in ref:
        raise XlsxError(
            f"单元格 {where} 是共享/数组公式（{ref.decode()}）的主单元格，不能直接覆盖；"
            "请先在 Excel 中处理该公式区域。"
        )
