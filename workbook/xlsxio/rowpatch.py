"""Cell edits of an existing worksheet applied row by row (``RowPatcher``): the reference the
column-wise patch (``colpatch``) is tested against, and its fallback for pieces it does not
handle."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .cells import CellWriter, check_master
from .errors import XlsxError
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


class Edits:
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
        self._lists: dict[int, list[Any]] = {}
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
        got = self._lists.get(c)
        if got is None:
            seq: Any = self.columns[c]
            if not (isinstance(seq, list) or getattr(seq, "slices_to_lists", False)):
                seq = list(seq)
            got = self._lists[c] = seq
        return got

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


def update_dimension(prefix: bytes, max_row: int, max_col: int, min_row: int = 1,
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


class RowPatcher:
    def __init__(self, stream: SheetStream, edits: Edits, writer: CellWriter,
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

    def rows(self, chunk: bytes, last: int) -> tuple[bytes, int]:
        """The rows of a chunk patched one by one (the reference for colpatch)."""
        e = self.edits
        out: list[bytes] = []
        for m in self.row_re.finditer(chunk):
            rm = ROW_R_RE.search(m.group(1))
            r = int(rm.group(1)) if rm else last + 1
            if r > last + 1:
                for nr in e.rows_after(last, r):
                    out.append(self.new_row(nr))
            row_edits = e.get(r)
            if row_edits:
                out.append(self._edit_row(m, r, row_edits))
            else:
                out.append(m.group(0))
            last = max(last, r)
        return b"".join(out), last

    def new_row(self, r: int) -> bytes:
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
                check_master(old, ref.decode())
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
                check_master(m.group(0), ref.decode())
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
