"""Where the rows and the edited cells of a piece are, found with numpy from the positions of
its ``<`` (one pass over the bytes, then arrays as long as the tags): the quick way of
``colpatch`` to locate a piece written the way our writer, XlsxWriter and openpyxl write
sheets -- no namespace prefix, every row ``<row r="N"...>`` and every cell ``<c r="REF"...>``,
nothing between the elements, row numbers without leading zeros.

``scan`` and ``locate`` return None for any other piece (a comment or CDATA, a cell or row
without ``r`` first, rich text's ``<color>``, a self-closing row, text after a start tag, a
reference that is not letters and digits, a cell numbered for another row, edited cells out
of order, a cell without its ``</c>`` in its row...) and ``colpatch`` then locates it with
its regular expressions as before (which refuse the same pieces, or handle them). Where both
locate a piece they find the same rows and cells: ``tests/xlsxio/test_fast_paths.py``
compares the bytes written both ways and with the per-row code.

Bytes are compared a few at a time through an overlapping view of the piece that reads the
8 (or 4) bytes at any position as one little-endian integer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .sheetxml import col_letter

_PAD = b"\0" * 16  # (the views read past the end of the piece)
_LT, _GT, _SLASH, _QUOTE = 60, 62, 47, 34
#: the low k bytes of a little-endian integer
_MASK = np.array([(1 << 8 * k) - 1 for k in range(9)], np.uint64)


def _le(b: bytes) -> int:
    return int.from_bytes(b, "little")


_R_ATTR, _ROW, _END_ROW = _le(b' r="'), _le(b'row r="'), _le(b"/row>")


@dataclass
class Scan:
    """The tags of a plain piece: rows (start, end after ``</row>``, number, its number of
    digits, its digits as bytes, the position of its closing quote, the 8 bytes there of its digits and quote and
    their mask, attributes after r, the position of its first child) and cells (position of
    ``<c``, index of its ``<`` among all); positions of ``<`` and of ``</c>``; the views."""

    a: np.ndarray
    u32: np.ndarray
    u64: np.ndarray
    lt: np.ndarray
    endc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    numbers: np.ndarray
    nd: np.ndarray
    tags: list[bytes]
    ref_key: np.ndarray
    ref_mask: np.ndarray
    attrs: list[bytes]
    first_cell: np.ndarray
    cell_pos: np.ndarray
    cell_tok: np.ndarray


def _views(piece: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    buf = piece + _PAD
    n = len(piece) + 8
    u64 = np.ndarray(shape=(n,), dtype="<u8", buffer=buf, strides=(1,))
    u32 = np.ndarray(shape=(n,), dtype="<u4", buffer=buf, strides=(1,))
    return np.frombuffer(buf, np.uint8), u32, u64


def _bytes(w: np.ndarray, width: int) -> np.ndarray:
    """The bytes of these little-endian integers, a row each."""
    return np.ascontiguousarray(w).view(np.uint8).reshape(-1, width)


def _numbers(w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The digits up to a quote at the start of each of these 8 bytes (at most 7, no leading
    zero) as numbers, and how many; None if one is anything else."""
    b = _bytes(w, 8)
    isd = (b - 48) < 10  # (unsigned: wraps below "0")
    nd = np.argmin(isd, axis=1)  # the first byte that is not a digit (0: none, or the first)
    if len(b) and not bool(((nd > 0) & (b[np.arange(len(b)), nd] == _QUOTE)
                            & (b[:, 0] != 48)).all()):
        return None
    exp = nd[:, None] - 1 - np.arange(8)
    pw = np.where(exp >= 0, 10 ** np.maximum(exp, 0), 0)
    return ((b.astype(np.int64) - 48) * pw).sum(axis=1), nd


def scan(piece: bytes) -> Scan | None:
    """The rows and cells of a piece of whole rows, or None if it is not plain (module doc)."""
    a, u32, u64 = _views(piece)
    lt = np.flatnonzero(a == _LT)
    b1 = a[lt + 1]
    if bool(((b1 == ord("!")) | (b1 == ord("?"))).any()):
        return None  # a comment, CDATA, a processing instruction
    cell_tok = np.flatnonzero(b1 == ord("c"))
    cell_pos = lt[cell_tok]
    if not bool((u32[cell_pos + 2] == np.uint32(_R_ATTR)).all()):
        return None  # a cell without r first, rich text's <color>...
    r_tok = np.flatnonzero(b1 == ord("r"))
    r_pos = lt[r_tok]
    is_row = (a[r_pos + 2] == ord("o")) & (a[r_pos + 3] == ord("w"))
    row_tok, start = r_tok[is_row], r_pos[is_row]
    if not bool(((u64[start + 1] & _MASK[7]) == np.uint64(_ROW)).all()):
        return None  # a row without r first
    s_pos = lt[b1 == _SLASH]
    s2 = a[s_pos + 2]
    endc = s_pos[s2 == ord("c")]
    endc = endc[a[endc + 3] == _GT]
    ends = s_pos[s2 == ord("r")]
    ends = ends[(u64[ends + 1] & _MASK[5]) == np.uint64(_END_ROW)]
    n = len(start)
    # rows one after the other from the first byte to the last: none self-closing
    if (not n or len(ends) != n or start[0] != 0 or int(ends[-1]) + 6 != len(piece)
            or not bool((start[1:] == ends[:-1] + 6).all())):
        return None
    got = _numbers(u64[start + 8])
    if got is None:
        return None
    numbers, nd = got
    quote = start + 8 + nd
    # the row's first child right after its start tag: a cell or </row>
    nxt = lt[row_tok + 1]
    if not bool((a[nxt - 1] == _GT).all()):
        return None
    first_cell = b1[row_tok + 1] == ord("c")
    if not bool((first_cell | (nxt == ends)).all()):
        return None
    attrs = list(map(piece.__getitem__, map(slice, (quote + 1).tolist(), (nxt - 1).tolist())))
    if b">" in b"".join(attrs):
        return None  # text after the row's start tag
    tags = list(map(piece.__getitem__, map(slice, (start + 8).tolist(), quote.tolist())))
    mask = _MASK[nd + 1]
    return Scan(a, u32, u64, lt, endc, start, ends + 6, numbers, nd, tags, u64[start + 8] & mask,
                mask, attrs, np.where(first_cell, nxt, -1), cell_pos, cell_tok)


def _refs(sc: Scan, pos: np.ndarray, rows: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray] | None:
    """The column and the number of letters of the references of the cells at ``pos``; None
    if one is not one to three letters and the digits of its row (index in the piece) up to
    a quote."""
    b = _bytes(sc.u32[pos + 6], 4).astype(np.int64)
    let = (b[:, :3] >= 65) & (b[:, :3] <= 90)
    dig = (b[:, 1:] >= 48) & (b[:, 1:] <= 57)
    one, two = let[:, 0] & dig[:, 0], let[:, 0] & let[:, 1] & dig[:, 1]
    three = let[:, 0] & let[:, 1] & let[:, 2] & dig[:, 2]
    if not bool((one | two | three).all()):
        return None
    nl = np.where(one, 1, np.where(two, 2, 3))
    l0, l1, l2 = b[:, 0] - 64, b[:, 1] - 64, b[:, 2] - 64
    col = np.where(one, l0, np.where(two, l0 * 26 + l1, (l0 * 26 + l1) * 26 + l2))
    if len(col) and int(col.max()) > 16384:
        return None
    if not bool(((sc.u64[pos + 6 + nl] & sc.ref_mask[rows]) == sc.ref_key[rows]).all()):
        return None
    return col, nl


def rows_cols(sc: Scan) -> tuple[np.ndarray, np.ndarray] | None:
    """The column of each row's first and of its last cell (0: none); None if one of them is
    not plainly numbered for its row."""
    n = len(sc.start)
    first_col = np.zeros(n, np.int64)
    fc = np.flatnonzero(sc.first_cell >= 0)
    got = _refs(sc, sc.first_cell[fc], fc)
    if got is None:
        return None
    first_col[fc] = got[0]
    k = np.searchsorted(sc.cell_pos, sc.end - 6) - 1  # the last cell before </row>
    has = k >= 0
    has[has] = sc.cell_pos[k[has]] > sc.start[has]
    rows = np.flatnonzero(has)
    got = _refs(sc, sc.cell_pos[k[rows]], rows)
    if got is None:
        return None
    last_col = np.zeros(n, np.int64)
    last_col[rows] = got[0]
    return first_col, last_col


def _edited_cells(sc: Scan, edited: list[int]) -> np.ndarray:
    """The cells (index) whose reference starts with the letters of an edited column and a
    digit."""
    w = sc.u32[sc.cell_pos + 6]
    b = _bytes(w, 4)
    hit = np.zeros(len(w), bool)
    for m in (1, 2, 3):
        keys = [_le(x) for x in map(str.encode, map(col_letter, edited)) if len(x) == m]
        if not keys:
            continue
        after = b[:, m]
        digit = (after >= 48) & (after <= 57)
        if m == 1:
            lut = np.zeros(256, bool)
            lut[keys] = True
            hit |= lut[b[:, 0]] & digit
        else:
            hit |= np.isin(w & _MASK[m].astype(np.uint32), np.array(keys, np.uint32)) & digit
    return np.flatnonzero(hit)


def _styles(sc: Scan, piece: bytes, start: np.ndarray, end: np.ndarray,
            style_of: Callable[[bytes], int]) -> np.ndarray | None:
    """``style_of`` the attributes piece[start:end] of each cell, found once per distinct
    attributes (a cell's are mostly those of many others); None if one holds a ">"."""
    size = end - start
    style = np.full(len(start), -1, np.int64)
    todo = np.flatnonzero(size > 0)
    for _ in range(8):
        if not len(todo):
            return style
        i = int(todo[0])
        x = piece[int(start[i]):int(end[i])]
        if b">" in x:
            return None
        same = todo[size[todo] == len(x)]
        for o in range(0, len(x), 8):
            part = x[o:o + 8]
            same = same[(sc.u64[start[same] + o] & _MASK[len(part)]) == _le(part)]
        style[same] = style_of(x)
        size[same] = 0
        todo = todo[size[todo] > 0]
    attrs = list(map(piece.__getitem__, map(slice, start[todo].tolist(), end[todo].tolist())))
    if b">" in b"".join(attrs):
        return None
    style[todo] = list(map(style_of, attrs))
    return style


def locate(sc: Scan, piece: bytes, edited: list[int], style_of: Callable[[bytes], int]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The cells of the edited columns: column, row (index), style (``style_of`` their
    attributes after r), start, end; None if one is numbered for another row, out of order
    in its row, has text after its start tag or no ``</c>`` in its row."""
    sel = _edited_cells(sc, edited)
    pos = sc.cell_pos[sel]
    row = np.searchsorted(sc.start, pos, side="right") - 1
    got = _refs(sc, pos, row)
    if got is None:
        return None
    col, nl = got
    same = row[1:] == row[:-1]
    if bool((col[1:][same] <= col[:-1][same]).any()):
        return None  # cells of a row out of order, or a column twice
    nxt = sc.lt[sc.cell_tok[sel] + 1]
    a = sc.a
    if not bool((a[nxt - 1] == _GT).all()):
        return None
    quote = pos + 6 + nl + sc.nd[row]
    style = _styles(sc, piece, quote + 1, nxt - 1, style_of)
    if style is None:
        return None
    empty = a[nxt - 2] == _SLASH
    end = nxt.copy()
    full = np.flatnonzero(~empty)
    k = np.searchsorted(sc.endc, nxt[full])
    if len(k) and int(k.max()) >= len(sc.endc):
        return None
    end[full] = sc.endc[k] + 4
    if bool((end[full] > sc.end[row[full]]).any()):
        return None
    return col, row, style, pos, end
