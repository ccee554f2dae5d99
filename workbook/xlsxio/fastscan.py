"""The column-wise scan of a piece of worksheet rows (``SheetScan.fast``): one ``findall``
for every cell of the piece, then each column converted at once. A piece it does not take
(see ``fast``) is read by the per-cell scanner it inherits (``scan.CellScan.slow``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, compress, pairwise, repeat
from operator import itemgetter

import numpy as np

from .rowshape import Shape, shape_scan
from .scan import SKIP, USED, CellContext, CellScan, Mark, reach, slow_value
from .sheetxml import COL_CACHE, col_index, parse_attrs
from .values import Value
from .xmltext import unescape


@lru_cache(maxsize=8)
def _fast_regexes(ns: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """(cell regex for ``findall``, row tag regex).

    Cell groups: 1 column letters, 2 row digits, 3 attributes after r, 4 simple ``<v>`` text,
    5 simple ``<is><t>`` text, 6 ``<f>formula</f>`` without attributes, 7 the ``<v>..</v>``
    after it (b"" when none), 8 any other content (shared formulas, rich text,
    ``xml:space``...). Every
    cell whose ``r`` is its first attribute matches; the caller checks that the number of
    matches equals the number of ``<c`` in the piece, so a cell written otherwise sends the
    piece to the per-cell scanner.
    """
    p = re.escape(ns)
    cell = re.compile(
        b"<" + p + rb'c r="([A-Z]{1,3})([0-9]+)"((?: [a-zA-Z:]+="[^"]*")*)(?:/>|>(?:<' + p
        + rb"v>([^<]*)</" + p + rb"v>|<" + p + rb"is><" + p + rb"t>([^<]*)</" + p + rb"t></"
        + p + rb"is>|(<" + p + rb"f>[^<]*</" + p + rb"f>)(<" + p + rb"v>[^<]*</" + p
        + rb"v>)?|(.*?))</" + p + rb"c>)",
        re.S,
    )
    row = re.compile(b"<" + p + rb'row r="([0-9]+)"')
    return cell, row


_ESCAPES = (b"&", b"_x", b"\r")


def _rows_agree(tags: list[bytes], counts: list[int], rowds: tuple[bytes, ...]) -> bool:
    """Does every cell's reference name the row it is in (its digits equal to the row tag's,
    byte for byte)? ``tags``: each row's ``r`` digits; ``counts``: its number of cells;
    ``rowds``: each cell's row digits in document order. Compared as tuples of bytes (C loops):
    a slice per column position when every row has the same number of cells."""
    k = counts[0]
    if k and counts.count(k) == len(counts):
        want = tuple(tags)
        return all(rowds[j::k] == want for j in range(k))
    return rowds == tuple(chain.from_iterable(map(repeat, tags, counts)))


def _groups(letters: tuple, counts: list[int], ra: np.ndarray) -> tuple | None:
    """Cells grouped by column: ([(column, selector, rows of its cells)], each cell's row or
    None); None when a column appears twice in a row. A regular piece (every row the same
    columns in the same order) is grouped by slices."""
    cache = COL_CACHE
    n = len(letters)
    nrows = len(counts)
    k = counts[0]
    if k and counts.count(k) == nrows and all(
        letters[j::k].count(letters[j]) == nrows for j in range(k)
    ):
        groups = [(cache[letters[j]], slice(j, None, k), ra) for j in range(k)]
        if len({g[0] for g in groups}) != k:
            return None
        return groups, None
    cols = np.fromiter(map(cache.__getitem__, letters), dtype=np.int64, count=n)
    per_cell_rows = np.repeat(ra, counts)
    order = np.argsort(cols, kind="stable")
    sc = cols[order]
    starts = [0, *(np.flatnonzero(sc[1:] != sc[:-1]) + 1).tolist(), n]
    groups = []
    for a, b in pairwise(starts):
        idx = order[a:b]
        g_rows = per_cell_rows[idx]
        if b - a > 1 and not bool((g_rows[1:] > g_rows[:-1]).all()):
            return None
        groups.append((int(sc[a]), idx.tolist(), g_rows))
    return groups, per_cell_rows


def _last_used(members, vs: tuple, inls: tuple, fs: tuple, inners: tuple,
               special: dict) -> int:
    """Position in ``members`` of the last cell holding a value or a formula (-1: none)."""
    last = len(members) - 1
    while last >= 0:
        i = members[last]
        if vs[i] or inls[i] or fs[i] or (inners[i] and special[i] is not SKIP):
            break
        last -= 1
    return last


def _joined(inner: bytes, f: bytes, fv: bytes) -> bytes:
    return inner or f + fv


def _unescape_many(raws: list[bytes]) -> list[str]:
    """``[unescape(r) for r in raws]``, the common entities of all texts replaced at once."""
    if not raws:
        return []
    blob = b"\x00".join(raws)
    if blob.count(b"\x00") != len(raws) - 1:  # a NUL in a text
        return list(map(unescape, raws))
    if not any(e in blob for e in _ESCAPES):
        return blob.decode("utf-8").split("\x00")
    if b"&#" in blob or b"_x" in blob:  # numeric entities, _xHHHH_: one by one
        return list(map(unescape, raws))
    text = blob.decode("utf-8")
    if "&" in text:  # (&amp; last: "&amp;lt;" stays "&lt;", as the entity regex leaves it)
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"') \
            .replace("&apos;", "'").replace("&amp;", "&")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\x00")


#: the cells of one column in a piece: a slice of every k-th cell (a regular piece) or their
#: positions
_Sel = slice | list[int]


def _picker(positions: list[int]) -> Callable[[tuple], tuple]:
    """``t -> (t[i] for i in positions)`` as a tuple (one position too)."""
    if len(positions) > 1:
        return itemgetter(*positions)
    i = positions[0]
    return lambda t: (t[i],)


@dataclass(slots=True)
class _Cells:
    """The cells of a piece the fast scan takes, one tuple per group of the cell regex (in
    document order; ``_fast_regexes``), grouped by column (``groups``: column, ``_Sel``, rows
    of its cells); ``special``: the values of cells with other content by position
    (``special_cols``: their columns)."""

    n: int
    groups: list[tuple[int, _Sel, np.ndarray]]
    attrs: tuple[bytes, ...]
    vs: tuple[bytes, ...]
    inls: tuple[bytes, ...]
    fs: tuple[bytes, ...]
    fvs: tuple[bytes, ...]
    inners: tuple[bytes, ...]
    has_f: bool
    special: dict[int, Value | Mark]
    special_cols: set[int]


class SheetScan(CellScan):
    """State of one pass over a worksheet's rows: ``fast`` scans a piece of whole rows column
    by column, ``slow`` cell by cell; both give the same result."""

    def __init__(self, ctx: CellContext, ns: bytes) -> None:
        super().__init__(ctx, ns)
        self.cell_re, self.rowtag_re = _fast_regexes(ns)
        self.attr_info: dict[bytes, tuple[bytes, bytes]] = {}
        self.vcache: dict[bytes, dict[bytes, Value]] = {}
        self.fcache: dict[tuple[bytes, bytes], Value] = {}
        #: pieces in a row that did not have their first row's shape (``rowshape``)
        self.shape_misses = 0
        #: the shape of the last piece read by row shapes, tried first on the next
        self.shape: Shape | None = None

    # ------------------------------------------------------------------ vectorised scanner
    def fast(self, chunk: bytes) -> bool:
        """Scan a piece of whole rows column by column. False (nothing changed) when the piece
        does not meet the conditions: every row tag starts with ``r``, rows ascending after
        the rows already read, no header row, every cell starts with ``r`` and names its row,
        no column twice in a row. Rows mostly of one shape are read by ``rowshape`` first
        (the others by ``columnwise``, or cell by cell)."""
        if shape_scan(self, chunk):
            return True
        return self.columnwise(chunk)

    def columnwise(self, chunk: bytes) -> bool:
        """``fast`` without the row shapes: one ``findall`` for every cell of the piece, then
        each column converted at once; False (nothing changed) as for ``fast``."""
        layout = self._layout(chunk)
        if layout is None:
            return False
        tags, rows, counts, ra, found = layout
        if found:
            cells = self._cells(tags, counts, ra, found)
            del layout, found
            if cells is None:
                return False
            f_new: list[tuple[np.ndarray, list, list]] = []  # formulas met: cells, keys, texts
            select = self.select
            for c, sel, g_rows in cells.groups:
                if select is not None and c not in select:
                    self._reach_unread(cells, c, sel, g_rows)
                else:
                    self._place(c, g_rows, *self._column_values(cells, c, sel, g_rows, f_new))
            self._add_formulas(f_new)
        self.row = rows[-1]
        return True

    def _cells(self, tags: list[bytes], counts: list[int], ra: np.ndarray,
               found: list[tuple[bytes, ...]]) -> _Cells | None:
        """The cells of a piece (``_layout``) as ``_Cells``: grouped by column, those with
        other content read (``_specials``); None when a cell names another row than its own
        or a column appears twice in a row (the per-cell scanner then decides)."""
        letters, rowds, attrs, vs, inls, fs, fvs, inners = zip(*found, strict=True)
        if not _rows_agree(tags, counts, rowds):
            return None
        for lt in set(letters):
            if lt not in COL_CACHE:
                col_index(lt)  # fills the cache; raises for a column beyond XFD
        grouped = _groups(letters, counts, ra)
        if grouped is None:
            return None
        groups, per_cell_rows = grouped
        n = len(letters)
        special: dict[int, Value | Mark] = {}
        has_f = any(fs)
        if any(inners):  # cells with other content, in document order (shared formulas)
            if has_f:  # formulas of both kinds: all in document order (the dict's order)
                inners = tuple(map(_joined, inners, fs, fvs))
                fs = fvs = (b"",) * n
                has_f = False
            if per_cell_rows is None:
                per_cell_rows = np.repeat(ra, counts)
            special = self._specials(letters, attrs, inners, per_cell_rows)
        return _Cells(n, groups, attrs, vs, inls, fs, fvs, inners, has_f, special,
                      {COL_CACHE[letters[i]] for i in special})

    def _reach_unread(self, cells: _Cells, c: int, sel: _Sel, g_rows: np.ndarray) -> None:
        """A column not read: only its last cell with content matters (``n_rows``)."""
        members = range(cells.n)[sel] if isinstance(sel, slice) else sel
        last = _last_used(members, cells.vs, cells.inls, cells.fs, cells.inners, cells.special)
        if last >= 0:
            self.max_row, self.ncols = reach(self.columns, self.max_row, self.ncols,
                                             int(g_rows[last]), c)

    def _column_values(self, cells: _Cells, c: int, sel: _Sel, g_rows: np.ndarray,
                       f_new: list) -> tuple[list, int]:
        """(The values of column ``c``'s cells in the piece, position of its last formula or
        special cell that holds a value: -1 if none); formula texts into ``f_new``."""
        take = itemgetter(sel) if isinstance(sel, slice) else _picker(sel)
        g_attrs = take(cells.attrs)
        values = self._convert(g_attrs, take(cells.vs), take(cells.inls))
        counted_last = -1
        g_fs = take(cells.fs) if cells.has_f else ()
        if any(g_fs):  # formulas without attributes: a column at a time
            values, counted_last = self._column_formulas(c, sel, cells.n, g_rows, g_attrs, g_fs,
                                                         take(cells.fvs), values, f_new)
        if c in cells.special_cols:
            special = cells.special
            members = range(cells.n)[sel] if isinstance(sel, slice) else sel
            for pos, i in enumerate(members):
                if i in special:
                    val = special[i]
                    if val is SKIP:
                        values[pos] = None
                    else:
                        values[pos] = val
                        counted_last = pos
        return values, counted_last

    def _place(self, c: int, g_rows: np.ndarray, values: list, counted_last: int) -> None:
        """Put column ``c``'s values of the piece (rows ``g_rows``) into ``columns``, through
        its last cell that holds a value (or a formula: ``counted_last``)."""
        last = len(values) - 1
        while last > counted_last and values[last] is None:
            last -= 1
        if last < 0:
            return
        self.max_row, self.ncols = reach(self.columns, self.max_row, self.ncols,
                                         int(g_rows[last]), c)
        r_lo = int(g_rows[0])
        r_hi = int(g_rows[-1])
        if r_hi - r_lo + 1 != len(values):  # gaps: spread over the row range
            seg = np.full(r_hi - r_lo + 1, None, dtype=object)
            vals = np.empty(len(values), dtype=object)
            vals[:] = values
            seg[g_rows - r_lo] = vals
            values = seg.tolist()
        lst = self.columns[c - 1]
        if len(lst) < r_lo - 2:
            lst.extend([None] * (r_lo - 2 - len(lst)))
        lst.extend(map(hash, values) if c in self.hashed else values)

    def _layout(self, chunk: bytes) -> tuple | None:
        """(row tags, row numbers, cells per row, rows as an array, the cells' matches) of a
        piece the fast scan can take, else None."""
        tags = self.rowtag_re.findall(chunk)
        if not tags:
            return None
        rows = list(map(int, tags))
        if rows[0] < 2 or rows[0] <= self.row:
            return None
        pieces = chunk.split(self.row_open)
        if len(pieces) != len(tags) + 1 or pieces[0].count(self.c_open):
            return None
        counts = list(map(bytes.count, pieces[1:], repeat(self.c_open)))
        del pieces
        cells = self.cell_re.findall(chunk)
        if len(cells) != sum(counts):
            return None
        ra = np.array(rows, dtype=np.int64)
        if len(rows) > 1 and not bool((ra[1:] > ra[:-1]).all()):
            return None
        return tags, rows, counts, ra, cells

    def _specials(self, letters: tuple, attrs: tuple, inners: tuple,
                  per_cell_rows: np.ndarray) -> dict[int, Value | Mark]:
        """Values of the cells with other content (shared formulas, rich text...), read one by
        one in document order; ``USED``/``SKIP`` for those of columns not read."""
        special: dict[int, Value | Mark] = {}
        cache = COL_CACHE
        child_re = self.child_re
        select = self.select
        for i in compress(range(len(inners)), inners):
            s, t = self._attrs(attrs[i])
            c = cache[letters[i]]
            if select is not None and c not in select:
                special[i] = USED if self.used(s or None, t or None, inners[i],
                                               int(per_cell_rows[i]), c, child_re) else SKIP
                continue
            special[i] = self.complex_value(s or None, t or None, inners[i],
                                            int(per_cell_rows[i]), c, child_re)
        return special

    def _column_formulas(self, c: int, sel, n: int, g_rows: np.ndarray, g_attrs: tuple,
                         g_fs: tuple, g_fvs: tuple, values: list,
                         f_new: list) -> tuple[list, int]:
        """Cached values of the formula cells of a column (``<f>`` without attributes) put
        into ``values``; their places or texts noted (texts into ``f_new``). Returns (values,
        position of the last formula cell)."""
        fpos = np.flatnonzero(np.fromiter(map(bool, g_fs), bool, len(g_fs)))
        fl = fpos.tolist()
        fget = itemgetter(*fl) if len(fl) > 1 else (lambda t, i=fl[0]: (t[i],))
        keys = list(zip(fget(g_attrs), fget(g_fvs), strict=True))
        got = {key: self._fvalue(key) for key in dict.fromkeys(keys)}  # (they repeat)
        fvals = list(map(got.__getitem__, keys))
        if len(fl) == len(values):
            values = fvals
        else:
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            part = np.empty(len(fl), dtype=object)
            part[:] = fvals
            arr[fpos] = part
            values = arr.tolist()
        select = self.select
        if (select is None or c in select) and not self.formula_text:
            self.fplaces.setdefault(c, []).append(g_rows[fpos])
        elif select is None or c in select:
            cells_i = (np.arange(n)[sel] if isinstance(sel, slice) else np.asarray(sel))[fpos]
            keys = list(zip(g_rows[fpos].tolist(), repeat(c), strict=False))
            plen = len(self.f_open) + 1
            texts = _unescape_many([x[plen:-plen - 1] for x in fget(g_fs)])
            f_new.append((cells_i, keys, texts))
        return values, fl[-1]

    def _add_formulas(self, f_new: list[tuple[np.ndarray, list, list]]) -> None:
        """Formula texts met in a piece (per column: cells, keys, texts), in document order as
        the per-cell scanner adds them."""
        if len(f_new) == 1:
            self.formulas.update(zip(f_new[0][1], f_new[0][2], strict=True))
        elif f_new:
            order = np.argsort(np.concatenate([f[0] for f in f_new]), kind="stable").tolist()
            keys = [k for f in f_new for k in f[1]]
            texts = [x for f in f_new for x in f[2]]
            self.formulas.update(zip(map(keys.__getitem__, order), map(texts.__getitem__, order),
                                     strict=True))

    def _attrs(self, a: bytes) -> tuple[bytes, bytes]:
        st = self.attr_info.get(a)
        if st is None:
            d = parse_attrs(a)
            st = self.attr_info[a] = (d.get(b"s", b""), d.get(b"t", b""))
        return st

    def _convert(self, g_attrs: tuple, g_vs: tuple, g_inls: tuple) -> list:
        """Values of cells of one column (simple content only; cells with other content get
        None here and are filled in by the caller)."""
        kinds = set(g_attrs)
        if len(kinds) > 1:
            # several styles/types in the column: convert each kind, then put back in order
            code = {a: i for i, a in enumerate(kinds)}
            codes = np.fromiter(map(code.__getitem__, g_attrs), dtype=np.int64,
                                count=len(g_attrs))
            out = np.empty(len(g_attrs), dtype=object)
            for a, i in code.items():
                pos = np.flatnonzero(codes == i)
                pl = pos.tolist()
                get = itemgetter(*pl) if len(pl) > 1 else (lambda t, j=pl[0]: (t[j],))
                part = np.empty(len(pl), dtype=object)
                part[:] = self._convert_one(a, get(g_vs), get(g_inls))
                out[pos] = part
            return out.tolist()
        return self._convert_one(g_attrs[0], g_vs, g_inls)

    def _convert_one(self, a: bytes, g_vs: tuple, g_inls: tuple) -> list:
        ctx = self.ctx
        s, t = self._attrs(a)
        has_v = any(g_vs)
        has_inl = any(g_inls)
        if has_inl and has_v:  # (each cell as the per-cell scanner reads it)
            both = {k: self.simple_value(s, t, *k)
                    for k in dict.fromkeys(zip(g_vs, g_inls, strict=True))}
            return list(map(both.__getitem__, zip(g_vs, g_inls, strict=True)))
        if has_inl:
            raw = list(dict.fromkeys(g_inls))
            texts: dict[bytes, str | None] = dict(zip(raw, _unescape_many(raw), strict=True))
            if b"" in texts:
                texts[b""] = None
            return list(map(texts.__getitem__, g_inls))
        if not has_v:
            return [None] * len(g_vs)
        if not t or t == b"n":
            if not (s and ctx.date_by_s.get(s, False)):
                try:
                    return list(map(float, g_vs))
                except ValueError:
                    pass
        elif t == b"s":
            try:
                return list(map(ctx.sst.__getitem__, map(int, g_vs)))
            except (ValueError, IndexError):
                pass
        # dates, booleans, errors, text...: convert each distinct raw value once (the
        # converted values are kept across pieces: dates repeat)
        u = self.vcache.get(a)
        if u is None or len(u) > 100_000:
            u = self.vcache[a] = {}
        for k in dict.fromkeys(g_vs):  # (not keys - u.keys(): that walks all of u)
            if k not in u:
                u[k] = self.simple_value(s, t, k, b"")
        return list(map(u.__getitem__, g_vs))

    def _fvalue(self, key: tuple[bytes, bytes]) -> Value:
        """Cached value of a formula cell: (attributes after r, ``<v>..</v>`` or b"")."""
        got = self.fcache.get(key)
        if got is None and key not in self.fcache:
            a, fv = key
            s, t = self._attrs(a)
            pre = len(self.f_open) + 1  # <v>, and </v> is one longer
            got = slow_value(self.ctx, t or None, s or None, fv[pre:-pre - 1] if fv else None,
                              None)
            if len(self.fcache) < 100_000:
                self.fcache[key] = got
        return got
