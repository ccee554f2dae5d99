"""Pieces of rows that mostly have one shape, read by one regular expression per row
(``shape_scan``; the first try of ``fastscan.SheetScan.fast``).

A list of clients written by the add-in, or typed in Excel and saved, mostly has rows of the
same cells: the same columns, with the same attributes (style, type) and the same kind of
content (a number, an inline text, a formula). From such a row one pattern of a whole row is
built (its cells' references checked against the row's number by a back-reference) and
``split`` gives, for the whole piece, the value texts of each column of the rows it matches
(no tuple per cell, no grouping by column afterwards) and what lies between them: the rows
of other shapes (a 特别调整 typed in one row, a value left empty, another style). When
everything checks (below), the runs of matched rows are converted by the very functions of
the column-wise scan, with the very texts it would have found (same values, same formulas),
and each gap of other rows by the column-wise scan itself (``SheetScan.columnwise``), or cell
by cell when it declines one, in document order: what the old path leaves. Else the piece is
left to it (nothing changed). The shape is kept from piece to piece; a new one is taken from
a piece's first row (or its second, when the first is an odd one). A piece is taken when its
rows are ascending after those read and after row 1, the matched rows hold every tag outside
the gaps (their ``<`` counted), each gap is whole rows, and the shape covers at least half of
its rows with at least ``GAPS`` matched rows per gap; after a few misses in a row the shape is
tried only now and then (a sheet of mixed rows pays almost nothing for it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, pairwise
from typing import Any, Protocol

import numpy as np

from .errors import CellRefError
from .scan import reach
from .sheetxml import COL_CACHE, col_index
from .values import Value


class SheetScan(Protocol):
    """What is used here of ``fastscan.SheetScan`` (which imports this module)."""

    ns: bytes
    row_open: bytes
    c_open: bytes
    end_row: bytes
    row: int
    max_row: int
    ncols: int
    columns: list[list[Value]]
    select: frozenset[int] | None
    rowtag_re: re.Pattern[bytes]
    shape_misses: int
    shape: Shape | None

    def slow(self, chunk: bytes) -> None: ...

    def columnwise(self, chunk: bytes) -> bool: ...

    def _convert_one(self, a: bytes, g_vs: tuple, g_inls: tuple) -> list: ...

    def _column_formulas(self, c: int, sel, n: int, g_rows: np.ndarray, g_attrs: tuple,
                         g_fs: tuple, g_fvs: tuple, values: list,
                         f_new: list) -> tuple[list, int]: ...

    def _place(self, c: int, g_rows: np.ndarray, values: list, counted_last: int) -> None: ...

    def _add_formulas(self, f_new: list[tuple[np.ndarray, list, list]]) -> None: ...


#: kinds of cell in a shape: empty (``<c .../>``), ``<v>``, ``<is><t>``, ``<f>`` (+ ``<v>``)
EMPTY, VALUE, INLINE, FORMULA = range(4)
#: misses in a row after which the shape is tried only every ``RETRY`` pieces
MISSES, RETRY = 3, 16
#: a piece's rows of the shape are at least half of its rows, and ``GAPS`` times its gaps
GAPS = 4


@dataclass(frozen=True, slots=True)
class Shape:
    """The pattern of a row (group 1: its number) and its cells: (column, attributes after
    r, kind, first group of its texts in a row's tuple)."""

    rx: re.Pattern[bytes]
    cells: tuple[tuple[int, bytes, int, int], ...]
    #: the tags (``<``) of a row, but for the ``<v>`` after its formulas
    tags: int


@lru_cache(maxsize=8)
def _first_row_res(ns: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """(row tag at the start of a piece, after white space; a cell of the first row: 1 letters,
    2 row digits, 3 attributes after r, then one group marking its kind: 4 ``/>``, 5 ``<v>``,
    6 ``<is>``, 7 ``<f>``)."""
    p = re.escape(ns)
    row = re.compile(rb"\s*<" + p + rb'row r="([0-9]+)"[^>]*>')
    cell = re.compile(
        b"<" + p + rb'c r="([A-Z]{1,3})([0-9]+)"((?: [a-zA-Z:]+="[^"]*")*)(?:(/)>|>(?:(<' + p
        + rb"v>)[^<]*</" + p + rb"v>|(<" + p + rb"is>)<" + p + rb"t>[^<]*</" + p + rb"t></"
        + p + rb"is>|(<" + p + rb"f>)[^<]*</" + p + rb"f>(?:<" + p + rb"v>[^<]*</" + p
        + rb"v>)?)</" + p + rb"c>)")
    return row, cell


@lru_cache(maxsize=64)
def _shape(ns: bytes, key: tuple[tuple[bytes, bytes, int], ...]) -> Shape:
    """The shape of a row of these cells (letters, attributes after r, kind)."""
    p = re.escape(ns)
    parts = [b"<" + p + rb'row r="([0-9]+)"[^>]*>']
    cells = []
    group = 1
    for letters, attrs, kind in key:
        head = b"<" + p + b'c r="' + letters + rb'\1"' + re.escape(attrs)
        if kind == EMPTY:
            parts.append(head + b"/>")
        elif kind == VALUE:
            parts.append(head + b"><" + p + b"v>([^<]*)</" + p + b"v></" + p + b"c>")
        elif kind == INLINE:
            parts.append(head + b"><" + p + b"is><" + p + b"t>([^<]*)</" + p + b"t></" + p
                         + b"is></" + p + b"c>")
        else:  # the groups of the column-wise scan: <f>..</f>, <v>..</v> or b""
            parts.append(head + b">(<" + p + b"f>[^<]*</" + p + b"f>)(<" + p + b"v>[^<]*</"
                         + p + b"v>)?</" + p + b"c>")
        cells.append((COL_CACHE[letters], attrs, kind, group))
        group += {EMPTY: 0, VALUE: 1, INLINE: 1, FORMULA: 2}[kind]
    parts.append(b"</" + p + b"row>")
    tags = 2 + sum({EMPTY: 1, VALUE: 4, INLINE: 6, FORMULA: 4}[kind] for _, _, kind in key)
    return Shape(re.compile(b"".join(parts)), tuple(cells), tags)


def row_shape(scan: SheetScan, piece: bytes, start: int = 0) -> Shape | None:
    """The shape of the row at ``start`` (the piece's first row); None when it has none (no
    row number, a cell with other content or without its reference, a column twice, no value
    groups)."""
    row_re, cell_re = _first_row_res(scan.ns)
    m = row_re.match(piece, start)
    end = piece.find(scan.end_row, start)
    if m is None or end < 0:
        return None
    first = piece[m.end():end]
    cells = cell_re.findall(first)
    if not cells or len(cells) != first.count(scan.c_open):
        return None
    key = tuple((letters, attrs, VALUE if v else INLINE if inl else FORMULA if f else EMPTY)
                for letters, _, attrs, _, v, inl, f in cells)
    if len({k[0] for k in key}) != len(key) or all(k[2] == EMPTY for k in key):
        return None
    for letters, _, _ in key:
        if letters not in COL_CACHE:
            try:
                col_index(letters)
            except CellRefError:  # beyond XFD: the other scans say where
                return None
    return _shape(scan.ns, key)


@dataclass(slots=True)
class _Plan:
    """A piece cut by a shape: its matched rows' texts by group (``cols``), their rows
    (``ra``), and the parts in document order: ``(a, b)`` a run of matched rows ``a..b-1``,
    bytes a gap of whole rows of other shapes."""

    shape: Shape
    cols: list[list[bytes]]
    ra: np.ndarray
    parts: list[tuple[int, int] | bytes]


def shape_scan(scan: SheetScan, piece: bytes) -> bool:
    """Read a piece whose rows mostly have one shape: runs of such rows by their pattern, the
    rows between them (gaps) by the column-wise scan (``SheetScan.columnwise``) or cell by
    cell. False (nothing changed) when the shape covers under half of the piece's rows or the
    piece is not one ``fast`` takes (rows ascending after those read, runs after row 1,
    nothing but whole rows and white space between runs). The shape kept from the last piece
    is tried first; a new one is taken from the piece's first row, or its second."""
    if scan.shape_misses >= MISSES:
        scan.shape_misses += 1
        if scan.shape_misses % RETRY:
            return False
    nrows = piece.count(scan.row_open)
    plan = _plan(scan, piece, scan.shape, nrows) if scan.shape is not None else None
    if plan is None:
        tried = scan.shape
        start = 0
        for _ in range(2):  # the first row's shape, else (an odd first row) the second's
            shape = row_shape(scan, piece, start)
            if shape is not None and shape is not tried:
                plan = _plan(scan, piece, shape, nrows)
                if plan is not None:
                    break
            start = piece.find(scan.end_row, start) + len(scan.end_row)
            if start < len(scan.end_row):
                break
    if plan is None:
        scan.shape_misses += 1
        return False
    scan.shape_misses = 0
    scan.shape = plan.shape
    _apply(scan, plan)
    return True


def _plan(scan: SheetScan, piece: bytes, shape: Shape, nrows: int) -> _Plan | None:
    """The piece cut by ``shape`` when it covers at least half of its rows and every check
    passes (``_only_rows``, ``_gaps_fit``); else None."""
    k = shape.rx.groups
    out = shape.rx.split(piece)
    n = (len(out) - 1) // (k + 1)
    if not n or 2 * n < nrows:
        return None
    gaps = out[0::k + 1]
    cols = [out[g::k + 1] for g in range(1, k + 1)]
    del out
    for _, _, kind, g in shape.cells:
        if kind == FORMULA and None in cols[g + 1]:  # (no <v>: b"", as findall gives)
            cols[g + 1] = [b"" if x is None else x for x in cols[g + 1]]
    ra = np.array(list(map(int, cols[0])), dtype=np.int64)
    if n > 1 and not bool((ra[1:] > ra[:-1]).all()):
        return None
    parts: list[tuple[int, int] | bytes] = []
    a = 0
    lts = 0
    for i in compress(range(n + 1), gaps):
        gap = gaps[i]
        lts += gap.count(b"<")
        gap = gap.strip()
        if not gap:  # white space between two rows of a run
            continue
        if i > a:
            parts.append((a, i))
        parts.append(gap)
        a = i
    if a < n:
        parts.append((a, n))
    if GAPS * sum(isinstance(p, bytes) for p in parts) > n:
        return None
    if not _only_rows(piece.count(b"<") - lts, shape, cols, n):
        return None
    if not _gaps_fit(scan, parts, ra):
        return None
    return _Plan(shape, cols, ra, parts)


def _gaps_fit(scan: SheetScan, parts: list[tuple[int, int] | bytes], ra: np.ndarray) -> bool:
    """Is each gap whole rows (from a row tag to a ``</row>``, each tag with its number) and
    are all rows ascending after those read and after row 1 (a piece with row 1 is read cell
    by cell, as before: its formulas as texts)?"""
    last = scan.row
    for part in parts:
        if isinstance(part, tuple):
            first = int(ra[part[0]])
            if first <= max(last, 1):
                return False
            last = int(ra[part[1] - 1])
            continue
        if not (part.startswith(scan.row_open) and part.endswith(scan.end_row)):
            return False
        tags = scan.rowtag_re.findall(part)
        if len(tags) != part.count(scan.row_open):
            return False
        rows = list(map(int, tags))
        if rows[0] <= max(last, 1) or any(x >= y for x, y in pairwise(rows)):
            return False
        last = rows[-1]
    return True


def _apply(scan: SheetScan, plan: _Plan) -> None:
    """The parts of the piece read in document order: runs by their pattern, gaps by the
    column-wise scan, or cell by cell when it declines one."""
    cols, ra = plan.cols, plan.ra
    whole = (0, len(ra))
    for part in plan.parts:
        if isinstance(part, tuple):
            a, b = part
            _columns(scan, plan.shape, cols if part == whole else [c[a:b] for c in cols],
                     ra[a:b])
            scan.row = int(ra[b - 1])
        elif not scan.columnwise(part):
            scan.slow(part)


def _only_rows(lts: int, shape: Shape, cols: list[list[bytes]], nrows: int) -> bool:
    """Are the matched rows each a whole row from ``<row`` to its ``</row>`` and nothing else
    (a cell between rows would be read as the row's before it by the other scans)? ``lts``:
    the tags (``<``) of the piece outside its gaps, all those of the matched rows."""
    want = nrows * shape.tags
    for _, _, kind, g in shape.cells:
        if kind == FORMULA:  # (+ <v>..</v> where it has one)
            want += 2 * (nrows - cols[g + 1].count(b""))
    return lts == want


def _columns(scan: SheetScan, shape: Shape, cols: list[Any],
             ra: np.ndarray) -> None:
    """Each column of the piece converted and placed as the column-wise scan does for a
    regular piece (``SheetScan._column_values``, ``_place``)."""
    nrows = len(ra)
    k = len(shape.cells)
    none = (b"",) * nrows
    select = scan.select
    f_new: list = []
    for j, (c, attrs, kind, g) in enumerate(shape.cells):
        if kind == EMPTY:
            continue
        texts = cols[g]
        if select is not None and c not in select:  # only its last cell with content counts
            last = nrows - 1
            if kind != FORMULA:
                while last >= 0 and not texts[last]:
                    last -= 1
            if last >= 0:
                scan.max_row, scan.ncols = reach(scan.columns, scan.max_row, scan.ncols,
                                                 int(ra[last]), c)
            continue
        if kind == FORMULA:
            values, counted_last = scan._column_formulas(
                c, slice(j, None, k), nrows * k, ra, (attrs,) * nrows, texts, cols[g + 1],
                [None] * nrows, f_new)
        else:
            values = scan._convert_one(attrs, texts if kind == VALUE else none,
                                       texts if kind == INLINE else none)
            counted_last = -1
        scan._place(c, ra, values, counted_last)
    scan._add_formulas(f_new)
