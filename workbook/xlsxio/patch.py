"""Lossless patching of a workbook: only the changed worksheet parts are rewritten (streamed),
every other zip entry is copied byte for byte, and the result replaces ``dst`` atomically."""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import math
import numbers
import os
import posixpath
import re
import secrets
import shutil
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import chart as chartxml
from . import colpatch, ooxml
from .append import append_part, last_row_flush
from .chart import ChartSpec
from .errors import CellError, XlsxError
from .package import (
    T_CALCCHAIN,
    WorkbookInfo,
    read_workbook_info,
    read_xml_part,
    rels_path,
)
from .reader import datetime_to_serial
from .safety import _open_zip, check_not_locked, check_writable, check_zip
from .sheetxml import (
    REF_RE,
    ROW_R_RE,
    SheetStream,
    cell_attrs,
    cell_regexes,
    col_index,
    col_letter,
    parse_attrs,
)
from .styles import StylesEditor
from .tables import extend_tables
from .xmltext import escape_attr, escape_text, unescape_attr
from .zipwriter import RawZipWriter


class _Keep:
    """Sentinel in ``SheetEdit.columns``: leave this cell as it is."""

    _inst = None

    def __new__(cls) -> _Keep:
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


@dataclass
class SheetEdit:
    """Changes to cells of an existing worksheet.

    * ``cells[(row, col)]`` (1-based) -> new value: None empties the cell; float/int, bool, str
      (always written as text, never a formula), datetime.date/datetime, CellError.
    * ``columns[col]`` -> values for rows 2, 3, ... (index 0 = row 2); ``KEEP`` leaves a cell
      as it is. Same meaning as ``cells`` but compact for whole columns (1M rows); ``cells``
      wins where both give a value. Any sequence: a list, or one whose slices are lists and
      that says so with ``slices_to_lists = True`` (then it is sliced as the patch goes, never
      made whole).
    * ``column_styles[col]`` -> cellXfs index for cells created in that column.
    * ``table_columns[col]`` -> header of a column added just right of an Excel Table
      (ListObject) that should join it (``tables.extend_tables``; the header cell itself is
      written through ``cells``).
    """

    cells: dict[tuple[int, int], Any] = field(default_factory=dict)
    column_styles: dict[int, int] = field(default_factory=dict)
    columns: dict[int, Sequence[Any]] = field(default_factory=dict)
    table_columns: dict[int, str] = field(default_factory=dict)


# ----------------------------------------------------------------------------- cell writing


class _CellWriter:
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
            body = b"<v>" + _num(serial) + b"</v>"
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
                body, t = b"<v>" + _num(x) + b"</v>", b""
        else:
            raise XlsxError(f"无法写入单元格的值类型：{type(value).__name__}")
        sattr = b' s="' + str(s).encode() + b'"' if s is not None else b""
        return b'<c r="' + ref + b'"' + sattr + t + b">" + body + b"</c>"


def _num(x: float) -> bytes:
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x)).encode()
    return repr(x).encode()


# ----------------------------------------------------------------------------- sheet edits


class _Edits:
    """Row-wise access to the edits of one sheet."""

    def __init__(self, edit: SheetEdit) -> None:
        self.by_row: dict[int, dict[int, Any]] = {}
        for (r, c), v in edit.cells.items():
            if r < 1 or c < 1 or c > 16384 or r > 1_048_576:
                raise XlsxError(f"单元格坐标超出 Excel 的范围（最多 1048576 行、16384 列，即 XFD）："
                                f"行 {r} 列 {c}")
            self.by_row.setdefault(r, {})[c] = v
        self.columns = {c: seq for c, seq in edit.columns.items() if len(seq)}
        for c in self.columns:
            if c < 1 or c > 16384:
                raise XlsxError(f"列号超出范围：{c}")
        self.col_end = max((len(s) + 1 for s in self.columns.values()), default=0)  # last row
        self.keep = KEEP
        self._lists: dict[int, list] = {}
        self.rows_sorted = sorted(self.by_row)
        self.column_styles = edit.column_styles
        cols = [c for d in self.by_row.values() for c in d] + list(self.columns)
        self.max_col = max(cols, default=0)
        self.min_col = min(cols, default=0)
        self.max_row = max(self.rows_sorted[-1] if self.rows_sorted else 0, self.col_end)

    def get(self, r: int) -> dict[int, Any] | None:
        row = None
        if self.columns and 2 <= r <= self.col_end:
            i = r - 2
            row = {}
            for c, seq in self.columns.items():
                if i < len(seq):
                    v = seq[i]
                    if v is not KEEP:
                        row[c] = v
        d = self.by_row.get(r)
        if d:
            if row is None:
                return d
            row.update(d)
        return row or None

    def column_list(self, c: int) -> list:
        """``columns[c]`` as a list (any sequence is accepted), or as it is when its slices
        are lists (``slices_to_lists``: its values are made when the patch reaches them)."""
        lst = self._lists.get(c)
        if lst is None:
            seq = self.columns[c]
            lst = self._lists[c] = seq if isinstance(seq, list) or getattr(
                seq, "slices_to_lists", False) else list(seq)
        return lst

    def cells_between(self, lo: int, hi: int) -> bool:
        """Is there an edit of ``SheetEdit.cells`` in rows lo..hi?"""
        i = bisect.bisect_left(self.rows_sorted, lo)
        return i < len(self.rows_sorted) and self.rows_sorted[i] <= hi

    def edited_between(self, lo: int, hi: int) -> bool:
        """Is there a value other than KEEP for a cell in rows lo..hi? (``any_between`` only
        asks whether the rows are within reach of the columns.)"""
        if self.cells_between(lo, hi):
            return True
        a, b = max(lo, 2) - 2, hi - 1
        for c in self.columns:
            part = self.column_list(c)[a:b]
            if part.count(KEEP) != len(part):
                return True
        return False

    def any_between(self, lo: int, hi: int) -> bool:
        """Is there an edit in rows lo..hi (inclusive)?"""
        if self.columns and lo <= self.col_end and hi >= 2:
            return True
        i = bisect.bisect_left(self.rows_sorted, lo)
        return i < len(self.rows_sorted) and self.rows_sorted[i] <= hi

    def rows_after(self, r: int, upto: int | None) -> Iterator[int]:
        """Rows with edits in (r, upto) (upto exclusive; None = no bound), ascending."""
        lo = r + 1
        hi = upto if upto is not None else max(self.max_row + 1, lo)
        i = bisect.bisect_left(self.rows_sorted, lo)
        col_rows = range(max(lo, 2), min(hi, self.col_end + 1)) if self.columns else range(0)
        if not col_rows:
            while i < len(self.rows_sorted) and self.rows_sorted[i] < hi:
                yield self.rows_sorted[i]
                i += 1
            return
        merged = set(col_rows)
        while i < len(self.rows_sorted) and self.rows_sorted[i] < hi:
            merged.add(self.rows_sorted[i])
            i += 1
        yield from sorted(merged)


_ROW_RE_CACHE: dict[bytes, re.Pattern[bytes]] = {}


def _row_re(ns: bytes) -> re.Pattern[bytes]:
    pat = _ROW_RE_CACHE.get(ns)
    if pat is None:
        p = re.escape(ns)
        pat = re.compile(b"<" + p + rb"row\b([^>]*?)(/>|>(.*?)</" + p + rb"row>)", re.S)
        _ROW_RE_CACHE[ns] = pat
    return pat


_DIM_RE = re.compile(rb'(<(?:\w+:)?dimension\b[^>]*?\bref=")([^"]*)(")')
_COL_RE = re.compile(rb"<(?:\w+:)?col\b([^>]*?)/?>")
_SPANS_RE = re.compile(rb'\sspans="[^"]*"')
_S_RE = re.compile(rb'\ss="([0-9]+)"')
_F_RE = re.compile(rb"<(?:\w+:)?f\b([^>]*)")


def _update_dimension(prefix: bytes, max_row: int, max_col: int, min_row: int = 1,
                      min_col: int = 1, exact: bool = False) -> bytes:
    m = _DIM_RE.search(prefix)
    if m is None:
        return prefix
    if not exact:
        refs = REF_RE.findall(m.group(2))
        if refs:
            cols = [col_index(a) for a, _ in refs]
            rows = [int(b) for _, b in refs]
            min_row, min_col = min([*rows, min_row]), min([*cols, min_col])
            max_row, max_col = max([*rows, max_row]), max([*cols, max_col])
    if max_row < 1 or max_col < 1:
        ref = "A1"
    else:
        a = f"{col_letter(min_col)}{min_row}"
        b = f"{col_letter(max_col)}{max_row}"
        ref = a if a == b else f"{a}:{b}"
    return prefix[: m.start(2)] + ref.encode() + prefix[m.end(2) :]


def _col_default_styles(prefix: bytes) -> dict[int, int]:
    out: dict[int, int] = {}
    for m in _COL_RE.finditer(prefix):
        a = parse_attrs(m.group(1))
        if b"style" in a and b"min" in a and b"max" in a:
            lo, hi, st = int(a[b"min"]), int(a[b"max"]), int(a[b"style"])
            if hi - lo <= 16384:
                for c in range(lo, hi + 1):
                    out[c] = st
    return out


def _check_master(cell_xml: bytes, where: str) -> None:
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


class _SheetPatcher:
    def __init__(self, stream: SheetStream, edits: _Edits, writer: _CellWriter,
                 fast: bool = True) -> None:
        self.stream = stream
        self.fast = fast
        self.edits = edits
        self.w = writer
        self.ns = stream.ns
        self.token_re, _ = cell_regexes(self.ns)
        self.row_re = _row_re(self.ns)
        self.col_defaults = _col_default_styles(stream.prefix)
        self.last_style: dict[int, int | None] = {}
        self.header_style: int | None = None
        ns = self.ns
        self.c_r = b"<" + ns + b'c r="'
        self.c_any = b"<" + ns + b"c"  # also counts <color> of rich text: then slow path
        self.c_close = b"</" + ns + b"c>"
        self.row_open = b"<" + ns + b"row"
        self.end_row = b"</" + ns + b"row>"

    # style of a cell created in column c of row r
    def new_style(self, r: int, c: int) -> int | None:
        if r == 1:
            return self.header_style
        st = self.edits.column_styles.get(c)
        if st is not None:
            return st
        if c in self.last_style:
            return self.last_style[c]
        return self.col_defaults.get(c)

    def chunks(self) -> Iterator[bytes]:
        e = self.edits
        yield _update_dimension(self.stream.prefix, e.max_row, e.max_col, 1, max(e.min_col, 1))
        if self.stream.self_closing:
            rows = b"".join(self._new_row(r) for r in e.rows_after(0, None))
            yield b"<" + self.ns + b"sheetData>" + rows + b"</" + self.ns + b"sheetData>"
        last = 0
        for chunk in self.stream.row_chunks():
            first_m = ROW_R_RE.search(chunk[: chunk.find(b">") + 1])
            last_open = chunk.rfind(b"<" + self.ns + b"row")
            last_m = ROW_R_RE.search(chunk[last_open : chunk.find(b">", last_open) + 1])
            if first_m and last_m:
                lo, hi = int(first_m.group(1)), int(last_m.group(1))
                if lo > last and hi >= lo and not e.any_between(last + 1, hi):
                    yield chunk
                    last = hi
                    continue
            if not self.fast or not e.columns:
                data, last = self._rows(chunk, last)
                yield data
                continue
            done: list[bytes] = []
            for piece in colpatch.pieces(chunk, self.end_row):
                got = colpatch.patch_piece(self, piece, last)
                data, last = got if got is not None else self._rows(piece, last)
                done.append(data)
            yield b"".join(done)
        new_rows = list(e.rows_after(last, None))
        made = colpatch.new_rows(self, new_rows) if self.fast and e.columns else None
        tail = [made] if made is not None else [self._new_row(nr) for nr in new_rows]
        suffix = self.stream.suffix_chunks()
        if self.stream.self_closing:
            yield from suffix
            return
        if tail:
            yield b"".join(tail)
        yield from suffix

    def _rows(self, chunk: bytes, last: int) -> tuple[bytes, int]:
        """The rows of a chunk patched one by one (the reference for colpatch)."""
        e = self.edits
        out: list[bytes] = []
        for m in self.row_re.finditer(chunk):
            rm = ROW_R_RE.search(m.group(1))
            r = int(rm.group(1)) if rm else last + 1
            if r > last + 1:
                for nr in e.rows_after(last, r):
                    out.append(self._new_row(nr))
            row_edits = e.get(r)
            if row_edits:
                out.append(self._edit_row(m, r, row_edits))
            else:
                out.append(m.group(0))
            last = max(last, r)
        return b"".join(out), last

    def _new_row(self, r: int) -> bytes:
        edits = self.edits.get(r)
        if not edits:
            return b""
        rs = str(r).encode()
        cells = []
        for c in sorted(edits):
            ref = col_letter(c).encode() + rs
            x = self.w.cell(ref, self.new_style(r, c), edits[c])
            cells.append(x)
        body = b"".join(cells)
        if not body:
            return b""
        return b"<" + self.ns + b'row r="' + rs + b'">' + body + b"</" + self.ns + b"row>"

    def _edit_row(self, m: re.Match[bytes], r: int, edits: dict[int, Any]) -> bytes:
        attrs, inner = m.group(1), m.group(3) or b""
        res = None
        if r > 1:
            res = self._edit_row_fast(inner, r, edits)
        if res is None:
            res = self._edit_row_slow(inner, r, edits)
        body, min_c, max_c = res
        if _SPANS_RE.search(attrs):
            attrs = _SPANS_RE.sub(f' spans="{min_c}:{max_c}"'.encode(), attrs, count=1)
        if attrs.endswith(b"/"):
            attrs = attrs[:-1]
        ns = self.ns
        return b"<" + ns + b"row" + attrs + b">" + body + b"</" + ns + b"row>"

    def _edit_row_fast(self, inner: bytes, r: int, edits: dict[int, Any]):
        """Find edited cells by their r="" attribute; None if the row needs the full parser."""
        c_r = self.c_r
        n_r = inner.count(c_r)
        if n_r != inner.count(self.c_any):
            return None
        rs = str(r).encode()
        pieces: list[bytes] = []
        cursor = 0
        # column of the last cell of the row
        if n_r:
            p = inner.rfind(c_r) + len(c_r)
            q = inner.find(b'"', p)
            mm = REF_RE.fullmatch(inner[p:q])
            if mm is None or mm.group(2) != rs:
                return None
            last_col = col_index(mm.group(1))
            p = len(c_r)
            q = inner.find(b'"', p)
            mm = REF_RE.fullmatch(inner[p:q])
            if mm is None:
                return None
            first_col = col_index(mm.group(1))
        else:
            last_col = first_col = 0
        w = self.w
        for c in sorted(edits):
            ref = col_letter(c).encode() + rs
            if c > last_col:
                if cursor < len(inner):
                    pieces.append(inner[cursor:])
                    cursor = len(inner)
                pieces.append(w.cell(ref, self.new_style(r, c), edits[c]))
                continue
            pos = inner.find(c_r + ref + b'"', cursor)
            if pos < 0:
                return None  # a missing cell in the middle: let the full parser insert it
            gt = inner.find(b">", pos)
            if inner[gt - 1 : gt] == b"/":
                end = gt + 1
            else:
                end = inner.find(self.c_close, gt) + len(self.c_close)
            old = inner[pos:end]
            if b"f" in old:
                _check_master(old, ref.decode())
            sm = _S_RE.search(old[: gt - pos])
            s = int(sm.group(1)) if sm else None
            pieces.append(inner[cursor:pos])
            pieces.append(w.cell(ref, s, edits[c]))
            cursor = end
            self.last_style[c] = s
        if cursor < len(inner):
            pieces.append(inner[cursor:])
        lo = min(first_col or 16384, min(edits))
        hi = max(last_col, max(edits))
        return b"".join(pieces), lo, hi

    def _edit_row_slow(self, inner: bytes, r: int, edits: dict[int, Any]):
        rs = str(r).encode()
        pending = sorted(edits)
        pi = 0
        out: list[bytes] = []
        col = 0
        lo, hi = 16384, 0
        w = self.w
        last_header_style = None
        for m in self.token_re.finditer(inner):
            g = m.groups()
            if g[0] is not None:
                continue
            letters, _rowd, s_raw, _t, _other = cell_attrs(g)
            col = col_index(letters) if letters is not None else col + 1
            s = int(s_raw) if s_raw is not None else None
            while pi < len(pending) and pending[pi] < col:
                c = pending[pi]
                st = last_header_style if r == 1 else self.new_style(r, c)
                out.append(w.cell(col_letter(c).encode() + rs, st, edits[c]))
                lo, hi = min(lo, c), max(hi, c)
                pi += 1
            lo, hi = min(lo, col), max(hi, col)
            if r == 1:
                last_header_style = s
                self.header_style = s
            if pi < len(pending) and pending[pi] == col:
                ref = col_letter(col).encode() + rs
                _check_master(m.group(0), ref.decode())
                out.append(w.cell(ref, s, edits[col]))
                pi += 1
            else:
                cell = m.group(0)
                if letters is None:  # give it an explicit reference: cells may be inserted
                    cell = cell[:2 + len(self.ns)] + b' r="' + col_letter(col).encode() + rs + \
                        b'"' + cell[2 + len(self.ns):]
                out.append(cell)
            if r > 1:
                self.last_style[col] = s
        while pi < len(pending):
            c = pending[pi]
            st = last_header_style if r == 1 else self.new_style(r, c)
            out.append(w.cell(col_letter(c).encode() + rs, st, edits[c]))
            lo, hi = min(lo, c), max(hi, c)
            pi += 1
        return b"".join(out), lo if hi else 1, max(hi, 1)


# ----------------------------------------------------------------------------- replaced sheets


def _rows_xml(rows: list[list[Any]], w: _CellWriter, ns: bytes, old_styles: dict, bold,
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


def _replace_chunks(stream: SheetStream, rows: list[list[Any]], w: _CellWriter,
                    styles: StylesEditor) -> Iterator[bytes]:
    token_re, _ = cell_regexes(stream.ns)
    old_styles: dict[tuple[int, int], int] = {}
    row = 0
    col = 0
    for chunk in stream.row_chunks():
        for m in token_re.finditer(chunk):
            g = m.groups()
            if g[0] is not None:
                rm = ROW_R_RE.search(g[0])
                row = int(rm.group(1)) if rm else row + 1
                col = 0
                continue
            letters, _rowd, s_raw, _t, _other = cell_attrs(g)
            col = col_index(letters) if letters is not None else col + 1
            if s_raw is not None:
                old_styles[(row, col)] = int(s_raw)
    n_rows = len(rows)
    n_cols = max((len(r) for r in rows), default=0)
    bold_cache: list[int | None] = []

    def bold() -> int | None:
        if not bold_cache:
            bold_cache.append(styles.bold_xf(None))
        return bold_cache[0]

    body = _rows_xml(rows, w, stream.ns, old_styles, bold)
    prefix = _update_dimension(stream.prefix, n_rows, n_cols, exact=True)
    ns = stream.ns
    if stream.self_closing:
        yield prefix + b"<" + ns + b"sheetData>" + body + b"</" + ns + b"sheetData>"
    else:
        yield prefix + body
    yield from stream.suffix_chunks()


_NEW_SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
)


def _new_sheet_xml(rows: list[list[Any]], w: _CellWriter, styles: StylesEditor,
                   drawing_rid: str | None = None, strict: bool = False) -> bytes:
    n_rows = len(rows)
    n_cols = max((len(r) for r in rows), default=0)
    dim = f"A1:{col_letter(n_cols)}{n_rows}" if n_rows and n_cols else "A1"
    bold_cache: list[int | None] = []

    def bold() -> int | None:
        if not bold_cache:
            bold_cache.append(styles.bold_xf(None))
        return bold_cache[0]

    pane = (
        b'<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        if n_rows > 1 else b""
    )
    return (
        (ooxml.to_strict(_NEW_SHEET_HEAD) if strict else _NEW_SHEET_HEAD)
        + f'<dimension ref="{dim}"/>'.encode()
        + b'<sheetViews><sheetView workbookViewId="0">' + pane + b"</sheetView></sheetViews>"
        + b'<sheetFormatPr defaultRowHeight="15"/>'
        + b"<sheetData>" + _rows_xml(rows, w, b"", {}, bold) + b"</sheetData>"
        + b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
        b'footer="0.3"/>'
        + (f'<drawing r:id="{drawing_rid}"/>'.encode() if drawing_rid else b"")
        + b"</worksheet>"
    )


# ----------------------------------------------------------------------------- package parts

WS_KIND = "worksheet"
WS_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_BAD_SHEET_CHARS = set('[]:*?/\\')


def _check_sheet_name(name: str, existing: list[str]) -> None:
    if not name or len(name) > 31 or any(ch in _BAD_SHEET_CHARS for ch in name) \
            or name.startswith("'") or name.endswith("'"):
        raise XlsxError(f"工作表名“{name}”无效（最多 31 个字符，不能含 []:*?/\\ ）。")
    if name.casefold() in (n.casefold() for n in existing):
        raise XlsxError(f"工作表“{name}”已存在。")


def _remove_rel(rels_xml: bytes, pred) -> bytes:
    def sub(m: re.Match[bytes]) -> bytes:
        a = parse_attrs(m.group(0))
        return b"" if pred(a) else m.group(0)

    return re.sub(rb"<(?:\w+:)?Relationship\b[^>]*?(?:/>|>.*?</(?:\w+:)?Relationship>)",
                  sub, rels_xml, flags=re.S)


def _insert_before_close(xml: bytes, tag: bytes, item: bytes) -> bytes:
    m = re.search(rb"</(\w+:)?" + tag + rb">", xml)
    if m is None:
        raise XlsxError(f"工作簿结构异常（缺少 {tag.decode()}），无法添加工作表。")
    return xml[: m.start()] + item + xml[m.start() :]


def _set_full_calc(wb_xml: bytes) -> bytes:
    m = re.search(rb"<(\w+:)?calcPr\b[^>]*?/?>", wb_xml)
    if m is not None:
        tag = m.group(0)
        if re.search(rb'\sfullCalcOnLoad="', tag):
            new = re.sub(rb'(\sfullCalcOnLoad=)"[^"]*"', rb'\1"1"', tag)
        else:
            p = len(b"<" + (m.group(1) or b"") + b"calcPr")
            new = tag[:p] + b' fullCalcOnLoad="1"' + tag[p:]
        return wb_xml[: m.start()] + new + wb_xml[m.end() :]
    wm = re.search(rb"<(\w+:)?workbook\b", wb_xml)
    ns = (wm.group(1) or b"") if wm else b""
    item = b"<" + ns + b'calcPr fullCalcOnLoad="1"/>'
    best = None
    for tag in (b"sheets", b"functionGroups", b"externalReferences", b"definedNames"):
        mm = re.search(rb"</(?:\w+:)?" + tag + rb">", wb_xml)
        if mm is not None and (best is None or mm.end() > best):
            best = mm.end()
    if best is None:
        return wb_xml
    return wb_xml[:best] + item + wb_xml[best:]


# ----------------------------------------------------------------------------- main entry


TMP_SUFFIX = ".xlsxio-tmp"


def cleanup_temp_files(folder: str | os.PathLike[str], older_than_s: float = 3600) -> list[Path]:
    """Remove temp files left by a save that was killed (``.NAME.*.xlsxio-tmp``)."""
    import time

    removed = []
    now = time.time()
    for p in Path(folder).glob(".*" + TMP_SUFFIX):
        try:
            if now - p.stat().st_mtime >= older_than_s:
                p.unlink()
                removed.append(p)
        except OSError:
            pass
    return removed


def _tmp_path(dst: Path) -> Path:
    """A fresh temp name beside ``dst``, not created yet: the caller creates it (mode "xb")
    inside its try, so an interrupt (Ctrl+C) at any moment leaves no temp file behind."""
    while True:
        p = dst.parent / f".{dst.name}.{secrets.token_hex(6)}{TMP_SUFFIX}"
        if not p.exists():
            return p


def patch_workbook(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    edits: dict[str, SheetEdit] | None = None,
    *,
    replace_sheets: dict[str, list[list[Any]]] | None = None,
    add_sheets: dict[str, list[list[Any]]] | None = None,
    add_charts: dict[str, ChartSpec] | None = None,
    append_rows: dict[str, tuple[int, list[list[Any]]]] | None = None,
    recalc_on_open: bool = True,
    compresslevel: int = 6,
    _fast: bool = True,
) -> None:
    """Apply cell edits / sheet replacements / new sheets to ``src`` and save as ``dst``.

    ``dst`` may be ``src``. The new file is written beside ``dst`` and renamed over it only
    when complete (after fsync), so ``dst`` is never seen half-written. Untouched zip entries
    are copied byte for byte. ``recalc_on_open`` sets ``fullCalcOnLoad`` so that Excel
    recalculates formulas depending on changed cells. ``compresslevel`` applies to the
    rewritten parts only. ``add_charts[name]`` puts a native clustered column chart
    (``ChartSpec``) on a sheet added by ``add_sheets``. ``append_rows[name] = (first, rows)``
    writes rows below the last row of a sheet, from Excel row ``first`` (see ``append``: the
    old rows are not inflated again when the part ends with our flush point); on a sheet of
    ``add_sheets`` it only marks the new sheet as a log to append to later. ``_fast=False``
    patches row by row only (the reference the column-wise path, ``colpatch``, is tested
    against).
    """
    src, dst = Path(src), Path(dst)
    if dst.is_symlink():  # write the file the link points to: the link stays a link
        dst = dst.resolve()
    check_writable(dst)
    edits = edits or {}
    replace_sheets = replace_sheets or {}
    add_sheets = add_sheets or {}
    add_charts = add_charts or {}
    for name in add_charts:
        if name not in add_sheets:
            raise XlsxError(f"只能在新添加的工作表上添加图表（“{name}”不在 add_sheets 中）。")
    check_not_locked(src)
    if dst != src and dst.exists():
        check_not_locked(dst)
    tmp = _tmp_path(dst)
    try:
        # the source is closed whatever happens (on Windows an open handle keeps it locked)
        with _open_zip(src) as zf, open(tmp, "xb") as out, open(src, "rb") as src_fh:
            check_zip(zf)
            _patch(zf, out, edits, replace_sheets, add_sheets, recalc_on_open, compresslevel,
                   add_charts, _fast, append_rows, src_fh=src_fh)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(OSError):
            shutil.copymode(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        dfd = os.open(dst.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _free_part(names: set[str], pattern: str) -> str:
    k = 1
    low = {n.lower() for n in names}
    while (pattern % k).lower() in low:
        k += 1
    names.add(pattern % k)
    return pattern % k


def _patch(zf: zipfile.ZipFile, out, edits, replace_sheets, add_sheets, recalc, level,
           add_charts=None, fast: bool = True, append_rows=None, *, src_fh) -> None:
    add_charts = add_charts or {}
    append_rows = append_rows or {}
    flush_parts: set[str] = set()
    info: WorkbookInfo = read_workbook_info(zf)
    styles = StylesEditor(zf, info.styles_part)
    w = _CellWriter(styles, info.date1904)
    part_edits: dict[str, _Edits] = {}
    for name, edit in edits.items():
        sh = info.sheet(name)
        e = _Edits(edit)
        if e.max_col:
            part_edits[sh.part] = e
    part_rows: dict[str, list[list[Any]]] = {}
    for name, rows in replace_sheets.items():
        sh = info.sheet(name)
        if sh.part in part_edits:
            raise XlsxError(f"工作表“{sh.name}”不能同时修改单元格和整体替换。")
        part_rows[sh.part] = rows
    part_appends: dict[str, tuple[int, list[list[Any]]]] = {}
    for name, (first, rows) in append_rows.items():
        if name in add_sheets:
            continue  # the new sheet is written whole (with a flush point, below)
        sh = info.sheet(name)
        if sh.part in part_edits or sh.part in part_rows:
            raise XlsxError(f"工作表“{sh.name}”不能同时追加行和修改单元格。")
        if rows:
            part_appends[sh.part] = (first, rows)
    wb_xml = read_xml_part(zf, info.workbook_part)
    # every <sheet> (chart sheets too) counts for name clashes
    all_names = [unescape_attr(n) for n in
                 re.findall(rb'<(?:\w+:)?sheet\b[^>]*?\sname="([^"]*)"', wb_xml)]
    all_names += [s.name for s in info.sheets]
    for name in add_sheets:
        _check_sheet_name(name, all_names)
        all_names.append(name)

    touched = bool(part_edits or part_rows or add_sheets or part_appends)
    drop: set[str] = set()
    small: dict[str, bytes] = {}
    for name, edit in edits.items():  # Excel Tables the new columns extend
        if edit.table_columns and info.sheet(name).part in part_edits:
            small.update(extend_tables(zf, info.names, info.sheet(name).part,
                                       edit.table_columns))
    ct_name = next((n for n in info.names if n.lower() == "[content_types].xml"), None)
    wb_rels_name = rels_path(info.workbook_part)
    if touched and (part_edits or part_rows or part_appends) and info.calcchain_part:
        drop.add(info.calcchain_part)
        rels_xml = small.get(wb_rels_name) or read_xml_part(zf, wb_rels_name)
        small[wb_rels_name] = _remove_rel(
            rels_xml, lambda a: ooxml.rel_type_is(a.get(b"Type", b""), T_CALCCHAIN))
        if ct_name:
            ct = read_xml_part(zf, ct_name)
            pn = ("/" + info.calcchain_part).encode()
            small[ct_name] = re.sub(
                rb"<(?:\w+:)?Override\b[^>]*?PartName=\"" + re.escape(pn) + rb"\"[^>]*?/>",
                b"", ct, flags=re.I)
    new_parts: list[tuple[str, bytes]] = []
    if add_sheets:
        rels_xml = small.get(wb_rels_name) or read_xml_part(zf, wb_rels_name)
        ct = small.get(ct_name) if ct_name else None
        if ct is None and ct_name:
            ct = read_xml_part(zf, ct_name)
        ids = {s.sheet_id for s in info.sheets}
        ids |= {int(x) for x in re.findall(rb'\ssheetId="([0-9]+)"', wb_xml)}
        rids = {r.id for r in info.rels}
        wb_dir = posixpath.dirname(info.workbook_part)
        rpre = ooxml.rel_prefix(wb_xml)
        ns_m = re.search(rb"<(\w+:)?sheets\b", wb_xml)
        ns = (ns_m.group(1) or b"") if ns_m else b""
        k = 1
        for name, rows in add_sheets.items():
            while posixpath.join(wb_dir, f"worksheets/sheet{k}.xml") in info.names:
                k += 1
            part = posixpath.join(wb_dir, f"worksheets/sheet{k}.xml")
            k += 1
            sid = max(ids, default=0) + 1
            ids.add(sid)
            n = 1
            while f"rId{n}" in rids:
                n += 1
            rid = f"rId{n}"
            rids.add(rid)
            rel_target = posixpath.relpath(part, wb_dir) if wb_dir else part
            rels_xml = _insert_before_close(
                rels_xml, b"Relationships",
                f'<Relationship Id="{rid}" Type="{ooxml.rel_type(WS_KIND, info.strict)}" '
                f'Target="{rel_target}"/>'.encode())
            if rpre:
                rattr = rpre + f':id="{rid}"'.encode()
            else:
                rattr = f'xmlns:r="{ooxml.rel_ns(info.strict)}" r:id="{rid}"'.encode()
            item = (b"<" + ns + b'sheet name="' + escape_attr(name).encode() + b'" sheetId="'
                    + str(sid).encode() + b'" ' + rattr + b"/>")
            wb_xml = _insert_before_close(wb_xml, b"sheets", item)
            if ct is not None:
                ct = _insert_before_close(
                    ct, b"Types",
                    f'<Override PartName="/{part}" ContentType="{WS_CT}"/>'.encode())
            spec = add_charts.get(name)
            if spec is None:
                new_parts.append((part, _new_sheet_xml(rows, w, styles, strict=info.strict)))
                if name in append_rows:  # a log: ready for the next append
                    flush_parts.add(part)
                continue
            taken = set(info.names) | {p for p, _ in new_parts}
            drawing = _free_part(taken, posixpath.join(wb_dir, "drawings/drawing%d.xml"))
            chart = _free_part(taken, posixpath.join(wb_dir, "charts/chart%d.xml"))
            new_parts.append((part, _new_sheet_xml(rows, w, styles, drawing_rid="rId1",
                                                   strict=info.strict)))
            chart_parts = [
                (rels_path(part), chartxml.rels_xml(
                    chartxml.DRAWING_REL, posixpath.relpath(drawing, posixpath.dirname(part)))),
                (drawing, chartxml.drawing_xml(spec)),
                (rels_path(drawing), chartxml.rels_xml(
                    chartxml.CHART_REL, posixpath.relpath(chart, posixpath.dirname(drawing)))),
                (chart, chartxml.chart_xml(spec, name, rows))]
            new_parts += [(pn, ooxml.to_strict(x) if info.strict else x)
                          for pn, x in chart_parts]
            if ct is not None:
                for pn, ctype in ((drawing, chartxml.DRAWING_CT), (chart, chartxml.CHART_CT)):
                    ct = _insert_before_close(
                        ct, b"Types",
                        f'<Override PartName="/{pn}" ContentType="{ctype}"/>'.encode())
        small[wb_rels_name] = rels_xml
        if ct_name and ct is not None:
            small[ct_name] = ct
        small[info.workbook_part] = wb_xml
    if recalc and (part_edits or part_rows or part_appends):
        small[info.workbook_part] = _set_full_calc(small.get(info.workbook_part, wb_xml))

    writer = RawZipWriter(out)
    deferred_styles = None
    for zi in zf.infolist():
        name = zi.filename
        if name in drop:
            continue
        if name in part_edits:
            with SheetStream(zf, name) as stream:
                patcher = _SheetPatcher(stream, part_edits[name], w, fast)
                writer.write_stream(name, patcher.chunks(), compresslevel=level,
                                    date_time=zi.date_time)
        elif name in part_rows:
            with SheetStream(zf, name) as stream:
                writer.write_stream(name, _replace_chunks(stream, part_rows[name], w, styles),
                                    compresslevel=level, date_time=zi.date_time)
        elif name in part_appends:
            first, rows = part_appends[name]
            append_part(zf, src_fh, zi, writer, first, rows, w, styles, level)
        elif name == info.styles_part and touched:
            deferred_styles = zi
        elif name in small:
            writer.write_stream(name, [small[name]], compresslevel=level, date_time=zi.date_time)
        else:
            writer.copy_raw(src_fh, zi)
    for part, data in new_parts:
        if part in flush_parts:
            writer.write_stream(part, last_row_flush(data), compresslevel=level)
        else:
            writer.write_stream(part, [data], compresslevel=level)
    if deferred_styles is not None:
        if styles.modified:
            writer.write_stream(deferred_styles.filename, [styles.data], compresslevel=level,
                                date_time=deferred_styles.date_time)
        else:
            writer.copy_raw(src_fh, deferred_styles)
    writer.close()
