"""Column-wise patching of a piece of whole rows: the fast path of ``patch_workbook`` for
``SheetEdit.columns``.

One regular expression per piece splits it around the row tags and the cells of the edited
columns only (the other cells stay inside the text between matches, never looked at one by
one); the new cells of each column are built at once; the pieces are joined back. The result
is byte for byte what the per-row code of ``patch.py`` makes of the same piece -- same cells,
same styles (also the style a created cell takes from the cell above it), same ``spans``, same
new date styles in the same order -- and ``patch_piece`` returns None whenever the piece is
anything else than plain rows (text between rows, self-closing or unnumbered or unordered rows,
a cell without ``r`` first, rich text, a missing cell in the middle of a row, a cell edit of
``SheetEdit.cells`` in it, a shared formula's master to overwrite...), and the per-row code
does that piece. ``patch_workbook(..., _fast=False)`` uses only the per-row code (the reference
``tests/xlsxio/test_fast_paths.py`` checks this against).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, repeat
from operator import is_not, itemgetter
from typing import Any

import numpy as np

from . import colscan
from .cells import CellWriter, check_master
from .colcells import cells, new_rows
from .errors import XlsxError
from .rowpatch import RowPatcher
from .sheetxml import col_index, col_letter, row_pieces

#: Chunks of rows are patched in pieces of about this size (the split of a piece and its
#: lists stay small).
PIECE = 512 * 1024

_SPANS_RE = re.compile(rb'\sspans="[^"]*"')
_S_RE = re.compile(rb'\ss="([0-9]+)"')
_REFS_OK = re.compile(rb"(?:(?:[A-Z]{1,3}[0-9]+)?\n)*")
_REF_LINE = re.compile(rb"([A-Z]{0,3})([0-9]*)\n")


def pieces(chunk: bytes, end_row: bytes, size: int | None = None) -> Iterator[bytes]:
    """Cut a chunk of whole rows after a row end about every ``size`` bytes."""
    return row_pieces(chunk, end_row, size or PIECE)


@lru_cache(maxsize=64)
def _cell_re(ns: bytes, letters: tuple[bytes, ...]) -> re.Pattern[bytes]:
    """Start tags of the cells of the given columns (groups: tag, letters, row number,
    attributes after r -- ending with "/" for an empty cell). Its literal start lets the
    regex engine skip from one ``<c r="`` to the next."""
    p = re.escape(ns)
    return re.compile(b"(<" + p + rb'c r="(' + b"|".join(letters) + rb')([0-9]+)"([^>]*)>)')


@lru_cache(maxsize=8)
def _rowtag_re(ns: bytes) -> re.Pattern[bytes]:
    """Every row tag (group: its number when r is its first attribute, else b"")."""
    return re.compile(b"<" + re.escape(ns) + rb'row\b(?: r="([0-9]+)")?')


@lru_cache(maxsize=8)
def _odd_re(ns: bytes) -> re.Pattern[bytes]:
    """A cell without r first, or rich text's <color>: rows the per-row code does slowly."""
    return re.compile(b"<" + re.escape(ns) + rb'c(?! r=")')


@lru_cache(maxsize=8)
def _row_re(ns: bytes) -> re.Pattern[bytes]:
    """Row tags whose first child is a cell with r first, or empty rows (groups: row number,
    attributes after r, the first cell's column letters)."""
    p = re.escape(ns)
    return re.compile(b"<" + p + rb'row r="([0-9]+)"([^>]*)>(?:<' + p
                      + rb'c r="([A-Z]{1,3})[0-9]+"|(?=</' + p + rb"row>))")


class _Cols(dict):
    """column letters -> column number (b"" and None -> 0); raises ValueError beyond XFD."""

    def __missing__(self, key: bytes | None) -> int:
        c = col_index(key) if key else 0
        self[key] = c
        return c


class _Styles(dict):
    """cell attributes after r -> its s (-1: none)."""

    def __missing__(self, key: bytes) -> int:
        m = _S_RE.search(key)
        s = int(m.group(1)) if m else -1
        self[key] = s
        return s


def _take(lst: list, idx: np.ndarray) -> list:
    if len(idx) == 0:
        return []
    if len(idx) == 1:
        return [lst[int(idx[0])]]
    return list(itemgetter(*idx.tolist())(lst))


def _pick(lst: list, rows: np.ndarray) -> list:
    """``[lst[r] for r in rows]`` of distinct rows in order, all below ``len(lst)``: ``lst``
    itself when they are all of its rows."""
    return lst if len(rows) == len(lst) else _take(lst, rows)


def _objects(items: list) -> np.ndarray:
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr


#: an edited column of a piece: its number, its values for the piece's rows, which are set
_Col = tuple[int, list[Any], np.ndarray]


def patch_piece(pt: RowPatcher, piece: bytes, last: int) -> tuple[bytes, int] | None:
    """The piece patched and the last row number now done, or None (see module doc)."""
    e = pt.edits
    sc = colscan.scan(piece) if not pt.ns else None  # (None: not plain, see colscan)
    if sc is not None:
        tags, rows = sc.tags, sc.numbers.tolist()
        n = len(tags)
    else:
        row_open, end_row = pt.row_open, pt.end_row
        tags = _rowtag_re(pt.ns).findall(piece)
        n = len(tags)
        if not n or b"" in tags:
            return None  # a row tag without r first
        # each row starts where the previous one ends: no text between rows, no self-closing
        if (not piece.startswith(row_open) or not piece.endswith(end_row)
                or piece.count(end_row + row_open) != n - 1):
            return None
        rows = list(map(int, tags))
    lo, hi = min(rows), max(rows)
    if not e.edited_between(min(lo, last + 1), hi):
        return piece, max(last, hi)  # what the per-row code gives: every row as it is
    r0, r1 = rows[0], rows[0] + n - 1
    if (r0 < 2 or r0 <= last or rows != list(range(r0, r1 + 1)) or e.cells_between(r0, r1)
            or (r0 > last + 1 and e.edited_between(last + 1, r0 - 1))):
        return None  # rows out of order, a gap to fill, cell edits: the per-row code
    # -- the edited columns: values of these rows, and which are not KEEP
    cols: list[_Col] = []
    for c, seq in e.columns.items():
        a, b = r0 - 2, min(r1 - 1, len(seq))
        if a >= b:
            continue
        vals = e.column_list(c)[a:b]
        if vals.count(e.keep) == len(vals):
            continue
        mask = np.zeros(n, bool)
        mask[: b - a] = np.fromiter(map(is_not, vals, repeat(e.keep)), bool, b - a)
        cols.append((c, vals, mask))
    if not cols:
        return piece, r1
    cols.sort(key=itemgetter(0))
    try:
        plan = _locate(pt, piece, tags, cols, sc)
    except ValueError:  # column letters beyond XFD: the per-row code says what it says
        return None
    if plan is None:
        return None
    return _build(pt, piece, plan, tags, cols), r1


@dataclass
class _Rows:
    """Where the rows of a piece are: start, end (after </row>), attributes after r, the
    column of the first and of the last cell (0: none)."""

    start: np.ndarray
    end: np.ndarray
    attrs: tuple[bytes, ...]
    first_col: np.ndarray
    last_col: np.ndarray


@dataclass
class _Cells:
    """The cells of the edited columns in a piece: column, row (index in the piece), style
    (-1: none), start and end."""

    col: np.ndarray
    row: np.ndarray
    style: np.ndarray
    start: np.ndarray
    end: np.ndarray


@dataclass
class _Plan:
    rows: _Rows
    cells: _Cells
    app_rows: dict[int, np.ndarray]  # column -> rows (index) where its cell is created


def _locate(pt: RowPatcher, piece: bytes, tags: list[bytes], cols: list[_Col],
            sc: colscan.Scan | None = None) -> _Plan | None:
    """Where the rows and the edited columns' cells are; None if a row is not one the per-row
    code patches in place (``_edit_row_fast``) or does otherwise than here. A plain piece
    (``sc``) is located with ``colscan``, any other with the regular expressions below."""
    found = _locate_plain(sc, piece, cols) if sc is not None else None
    if found is not None:
        rows, cells = found
    else:
        if _odd_re(pt.ns).search(piece):
            return None
        got_rows = _locate_rows(pt, piece, tags)
        if got_rows is None:
            return None
        got_cells = _locate_cells(pt, piece, tags, got_rows, cols)
        if got_cells is None:
            return None
        rows, cells = got_rows, got_cells
    app_rows = _created(piece, rows, cells, cols)
    if app_rows is None:
        return None
    return _Plan(rows, cells, app_rows)


def _locate_plain(sc: colscan.Scan, piece: bytes, cols: list[_Col]
                  ) -> tuple[_Rows, _Cells] | None:
    """``_locate_rows`` and ``_locate_cells`` of a plain piece; None: not found that way."""
    row_cols = colscan.rows_cols(sc)
    if row_cols is None:
        return None
    got = colscan.locate(sc, piece, [c for c, _, _ in cols], _Styles().__getitem__)
    if got is None:
        return None
    return _Rows(sc.start, sc.end, tuple(sc.attrs), *row_cols), _Cells(*got)


def _locate_rows(pt: RowPatcher, piece: bytes, tags: list[bytes]) -> _Rows | None:
    n = len(tags)
    heads = _row_re(pt.ns).findall(piece)
    if len(heads) != n:
        return None  # a row whose first child is not a cell with r first
    lens = np.fromiter(map(len, piece.split(pt.row_open)), np.int64, n + 1)
    row_start = np.cumsum(lens[:-1]) + np.arange(n) * len(pt.row_open)
    row_end = np.append(row_start[1:], len(piece))
    _digits, row_attrs, first_l = zip(*heads, strict=True)
    colmap = _Cols()
    first_col = np.fromiter(map(colmap.__getitem__, first_l), np.int64, n)
    # -- last cell of each row: its column, and it must be numbered for the row
    c_r = pt.c_r
    found = list(map(piece.rfind, repeat(c_r), row_start.tolist(), row_end.tolist()))
    starts = [p + len(c_r) for p in found]
    refs = list(map(piece.__getitem__, map(slice, starts, map(piece.find, repeat(b'"'), starts))))
    for i in compress(range(n), [p < 0 for p in found]):
        refs[i] = b""  # no cell
    joined = b"\n".join(refs) + b"\n"
    if not _REFS_OK.fullmatch(joined):
        return None
    last_l, last_d = zip(*_REF_LINE.findall(joined), strict=True)
    if len(last_l) != n:
        return None
    last_col = np.fromiter(map(colmap.__getitem__, last_l), np.int64, n)
    has = last_col > 0
    if not bool((_objects(list(last_d))[has] == _objects(tags)[has]).all()):
        return None  # the last cell numbered for another row
    return _Rows(row_start, row_end, row_attrs, first_col, last_col)


def _locate_cells(pt: RowPatcher, piece: bytes, tags: list[bytes], rows: _Rows,
                  cols: list[_Col]) -> _Cells | None:
    letters = {col_letter(c).encode(): c for c, _, _ in cols}
    parts = _cell_re(pt.ns, tuple(sorted(letters))).split(piece)
    k = len(parts) // 5
    b_tag = parts[1::5]
    t_len = np.fromiter(map(len, parts[0::5]), np.int64, k + 1)[:k]
    g_len = np.fromiter(map(len, b_tag), np.int64, k)
    b_start = np.cumsum(t_len) + np.cumsum(g_len) - g_len  # the groups inside are not text
    b_col = np.fromiter(map(letters.__getitem__, parts[2::5]), np.int64, k)
    b_row = np.searchsorted(rows.start, b_start, side="right") - 1
    if k:
        if not bool((_objects(parts[3::5]) == _objects(tags)[b_row]).all()):
            return None  # a cell numbered for another row
        same = b_row[1:] == b_row[:-1]
        if bool((b_col[1:][same] <= b_col[:-1][same]).any()):
            return None  # cells of a row out of order, or a column twice
    b_attrs = parts[4::5]
    b_style = np.fromiter(map(_Styles().__getitem__, b_attrs), np.int64, k)
    tag_end = b_start + g_len
    empty = np.fromiter(map(bytes.endswith, b_attrs, repeat(b"/")), np.bool_, k)
    b_end = tag_end.copy()
    full = np.flatnonzero(~empty)
    if len(full):
        c_close = pt.c_close
        ends = np.fromiter(map(piece.find, repeat(c_close), tag_end[full].tolist()), np.int64,
                           len(full))
        b_end[full] = ends + len(c_close)
        if bool(((ends < 0) | (b_end[full] > rows.end[b_row[full]])).any()):
            return None
    return _Cells(b_col, b_row, b_style, b_start, b_end)


def _created(piece: bytes, rows: _Rows, cells: _Cells, cols: list[_Col]
             ) -> dict[int, np.ndarray] | None:
    """The rows (index) where each column's cell is created; None when the per-row code
    does otherwise (see the comments)."""
    n = len(rows.start)
    b_col, b_row = cells.col, cells.row
    # -- every edited cell left of the row's last one (else the per-row code appends a cell)
    edited = np.zeros(len(b_col), bool)
    for c, _vals, mask in cols:
        sel = b_col == c
        edited[sel] = mask[b_row[sel]]
    if bool((b_col[edited] > rows.last_col[b_row[edited]]).any()):
        return None
    # -- cells to create: a row without the column's cell gets one at its end, if the column
    # is right of its last cell (else the per-row code inserts it in the middle)
    app_rows: dict[int, np.ndarray] = {}
    for c, _vals, mask in cols:
        has_cell = np.zeros(n, bool)
        has_cell[b_row[b_col == c]] = True
        miss = mask & ~has_cell
        if miss.any():
            if bool((miss & (rows.last_col >= c)).any()):
                return None
            app_rows[c] = np.flatnonzero(miss)
    # -- a master of a shared or array formula to overwrite: the per-row code refuses it
    ed = np.flatnonzero(edited)
    e_s, e_e = cells.start[ed], cells.end[ed]
    f_at = np.flatnonzero(np.frombuffer(piece, np.uint8) == ord("f"))  # (cells with an "f")
    for j in np.flatnonzero(np.searchsorted(f_at, e_e) > np.searchsorted(f_at, e_s)).tolist():
        try:
            check_master(piece[int(e_s[j]):int(e_e[j])], "")
        except XlsxError:
            return None
    return app_rows


_Job = tuple[int, list[Any], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _build(pt: RowPatcher, piece: bytes, plan: _Plan, tags: list[bytes],
           cols: list[_Col]) -> bytes:
    jobs, emin, emax = _jobs(pt, plan, cols)
    _date_styles(pt.w, jobs)
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    news: list[list[bytes]] = []
    _new_cells(pt, plan, tags, jobs, starts, ends, news)
    _spans(pt, plan, tags, emin, emax, starts, ends, news)
    if not starts:
        return piece
    s_all = np.concatenate(starts)
    e_all = np.concatenate(ends)
    n_all = [x for part in news for x in part]
    order = np.argsort(s_all, kind="stable")
    s_all, e_all = s_all[order], e_all[order]
    gap_from = np.concatenate(([0], e_all)).tolist()
    gap_to = [*s_all.tolist(), len(piece)]
    out: list[Any] = [None] * (2 * len(order) + 1)
    out[0::2] = map(piece.__getitem__, map(slice, gap_from, gap_to))
    out[1::2] = itemgetter(*order.tolist())(n_all) if len(order) > 1 else [n_all[0]]
    return b"".join(out)


def _jobs(pt: RowPatcher, plan: _Plan, cols: list[_Col]
          ) -> tuple[list[_Job], np.ndarray, np.ndarray]:
    """Per edited column: its values, the cells edited (index among the located, rows,
    styles) and the rows where its cell is created with their styles; the first and last
    edited column of each row."""
    e = pt.edits
    n = len(plan.rows.start)
    b_col, b_row, b_style = plan.cells.col, plan.cells.row, plan.cells.style
    emin = np.full(n, 1 << 20, np.int64)
    emax = np.zeros(n, np.int64)
    jobs: list[_Job] = []
    for c, vals, mask in cols:
        emin = np.where(mask, np.minimum(emin, c), emin)
        emax = np.where(mask, np.maximum(emax, c), emax)
        sel = np.flatnonzero(b_col == c)
        pos = sel[mask[b_row[sel]]]  # edited cells of the column (index among the located)
        ex_rows = b_row[pos]
        ex_style = b_style[pos]
        ap_rows = plan.app_rows.get(c, np.zeros(0, np.int64))
        if len(ap_rows):
            fixed = e.column_styles.get(c)
            if fixed is not None:
                ap_style = np.full(len(ap_rows), fixed, np.int64)
            else:  # the style of the column's last cell edited above, as new_style says
                before = pt.last_style[c] if c in pt.last_style else pt.col_defaults.get(c)
                before = -1 if before is None else before
                k = np.searchsorted(ex_rows, ap_rows) - 1
                ap_style = np.where(k >= 0, ex_style[np.maximum(k, 0)] if len(ex_style)
                                    else before, before)
        else:
            ap_style = np.zeros(0, np.int64)
        jobs.append((c, vals, pos, ex_rows, ex_style, ap_rows, ap_style))
    for c, _vals, _pos, _ex_rows, ex_style, _ap_rows, _ap_style in jobs:
        if len(ex_style):
            s = int(ex_style[-1])
            pt.last_style[c] = None if s < 0 else s
    return jobs, emin, emax


def _date_styles(w: CellWriter, jobs: list[_Job]) -> None:
    """Dates into cells without a date style get one: created in the order the per-row code
    meets them (row by row, columns left to right)."""
    dates = []
    for c, vals, _pos, ex_rows, ex_style, ap_rows, ap_style in jobs:
        for rows_, styles_ in ((ex_rows, ex_style), (ap_rows, ap_style)):
            got = _pick(vals, rows_)
            if any(issubclass(t, dt.date) for t in set(map(type, got))):
                for r, s, v in zip(rows_.tolist(), styles_.tolist(), got, strict=True):
                    if isinstance(v, dt.date):
                        dates.append((r, c, None if s < 0 else s))
    for _r, _c, s in sorted(dates):
        if not w.styles.is_date(s):
            w.styles.date_xf(s)


def _new_cells(pt: RowPatcher, plan: _Plan, tags: list[bytes], jobs: list[_Job],
               starts: list[np.ndarray], ends: list[np.ndarray],
               news: list[list[bytes]]) -> None:
    """The edited cells rewritten, the created ones put before their row's </row>."""
    w = pt.w
    app = np.full(len(tags), b"", dtype=object)
    for c, vals, pos, ex_rows, ex_style, ap_rows, ap_style in jobs:
        lt = col_letter(c).encode()
        if len(ex_rows):
            starts.append(plan.cells.start[pos])
            ends.append(plan.cells.end[pos])
            news.append(cells(w, lt, _pick(tags, ex_rows), ex_style.tolist(),
                              _pick(vals, ex_rows)))
        if len(ap_rows):
            made = _objects(cells(w, lt, _pick(tags, ap_rows), ap_style.tolist(),
                                  _pick(vals, ap_rows)))
            app[ap_rows] = app[ap_rows] + made
    grown = np.flatnonzero(app != b"")
    if len(grown):  # created cells go before </row>
        at = plan.rows.end[grown] - len(pt.end_row)
        starts.append(at)
        ends.append(at)
        news.append(app[grown].tolist())


def _spans(pt: RowPatcher, plan: _Plan, tags: list[bytes], emin: np.ndarray,
           emax: np.ndarray, starts: list[np.ndarray], ends: list[np.ndarray],
           news: list[list[bytes]]) -> None:
    """``spans`` of the rows with edits, as the per-row code sets them."""
    rows = plan.rows
    lo = np.minimum(np.where(rows.first_col > 0, rows.first_col, 16384), emin)
    hi = np.maximum(rows.last_col, emax)
    if b"spans=" not in b"".join(rows.attrs):
        return
    spans = np.fromiter(map(bytes.__contains__, rows.attrs, repeat(b"spans=")), np.bool_,
                        len(tags))
    redo = np.flatnonzero((emax > 0) & spans).tolist()
    if not redo:
        return
    head = b"<" + pt.ns + b'row r="'
    cache: dict[tuple[bytes, int, int], bytes] = {}
    tags_new = []
    for i in redo:
        a = rows.attrs[i]
        key = (a, int(lo[i]), int(hi[i]))
        new = cache.get(key)
        if new is None:
            new = cache[key] = _SPANS_RE.sub(f' spans="{key[1]}:{key[2]}"'.encode(), a,
                                             count=1)
        tags_new.append(head + tags[i] + b'"' + new + b">")
    at = rows.start[redo]
    starts.append(at)
    ends.append(at + np.array([len(head) + len(tags[i]) + 2 + len(rows.attrs[i])
                               for i in redo], np.int64))
    news.append(tags_new)


__all__ = ["cells", "new_rows", "patch_piece", "pieces"]
