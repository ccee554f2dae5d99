"""One-pass streaming reader of a worksheet: cached values, dates, errors and formulas."""

from __future__ import annotations

import datetime as dt
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, compress, pairwise, repeat
from operator import itemgetter
from typing import Union

import numpy as np
from openpyxl.formula.translate import Translator

from .errors import CellError, CellRefError, XlsxError
from .package import date_styles, read_workbook_info, rich_text, shared_strings
from .safety import _open_zip, check_zip
from .sheetxml import (
    _COL_CACHE,
    ROW_R_RE,
    SheetStream,
    cell_attrs,
    cell_regexes,
    col_index,
    col_letter,
    no_gc,
    parse_attrs,
    read_regex,
    row_pieces,
)
from .xmltext import unescape

Value = Union[float, str, bool, dt.datetime, CellError, None]  # noqa: UP007
#: ``read_sheet(columns=...)``: 1-based columns, or a function of the header row (trimmed texts,
#: one per column) returning them.
ColumnSelection = Union[Iterable[int], Callable[[list[str]], Iterable[int]], None]  # noqa: UP007

_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)


def serial_to_datetime(serial: float, date1904: bool = False) -> dt.datetime:
    """Excel serial date -> datetime (1900 system with its fictitious 1900-02-29, or 1904)."""
    if date1904:
        base = _EPOCH_1904
    elif serial < 60:
        # before Excel's fictitious 1900-02-29 (serial 60) days are off by one
        base = _EPOCH_1900 + dt.timedelta(days=1)
    else:
        base = _EPOCH_1900
    ms = round(serial * 86_400_000)
    return base + dt.timedelta(milliseconds=ms)


def datetime_to_serial(value: dt.date, date1904: bool = False) -> float:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    delta = value - (_EPOCH_1904 if date1904 else _EPOCH_1900)
    serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    if not date1904 and serial < 61:
        serial -= 1  # 1900-01-01 is serial 1; the 1900 leap bug starts at 1900-03-01 = 61
    return serial


class ColumnNotReadError(LookupError):
    """A value of a column that ``read_sheet(columns=...)`` skipped was asked for (a bug of
    the caller: it selected too few columns)."""


class UnreadColumn(Sequence):
    """Stands for a column ``read_sheet(columns=...)`` skipped: ``len()`` is the number of data
    rows like any column, but reading a value (index, slice, iteration) raises
    ``ColumnNotReadError`` -- a skipped column never passes for an empty one."""

    __slots__ = ("_n", "col")

    def __init__(self, n: int, col: int) -> None:
        self._n = n
        self.col = col

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):  # type: ignore[override]
        raise ColumnNotReadError(
            f"第 {col_letter(self.col)} 列未读取（read_sheet 的 columns= 没有选中它）。")

    def __iter__(self) -> Iterator[Value]:
        if self._n:
            self[0]
        return iter(())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnreadColumn) and (other._n, other.col) == (self._n, self.col)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"UnreadColumn({self._n}, col={self.col})"


class HashedColumn(np.ndarray):
    """A column ``read_sheet(hashed=...)`` kept as ``hash(value)`` of each cell (int64; an
    empty cell is ``hash(None)``): ``len()`` is the number of data rows like any column;
    ``column.col`` its 1-based number."""

    col: int

    def __new__(cls, hashes: list[int], col: int) -> HashedColumn:
        obj = np.asarray(hashes, dtype=np.int64).view(cls)
        obj.col = col
        return obj

    def __array_finalize__(self, obj: object) -> None:
        self.col = getattr(obj, "col", 0)


@dataclass
class SheetData:
    """Values of one worksheet.

    * ``n_rows``: the last used row number (Excel coordinate; row 1 is the header), so the
      data rows are 2..n_rows and each column list has ``n_rows - 1`` entries.
    * ``header``: row 1 as trimmed text, one entry per column ("" for an empty header cell).
    * ``columns[c - 1][r - 2]``: value of cell (r, c) for r >= 2.
    * ``formulas[(r, c)]``: formula text without '=' for every cell holding a formula (shared
      formulas translated to the cell); the cached value is in ``columns``.
    * a column read with ``read_sheet(hashed=...)`` is a ``HashedColumn`` of ``hash()`` of
      each value: enough to tell whether a value changes, for a tenth of the memory of long
      texts.
    * ``selected``: None when every column was read; else the columns ``read_sheet(columns=)``
      read. A column not selected is an ``UnreadColumn`` (right length; reading a value raises
      ``ColumnNotReadError``) and has no ``formulas``. ``n_rows``, ``n_cols``, ``header`` and
      ``header_values`` always cover every column (row 1 is always read in full).
    """

    name: str
    n_rows: int
    header: list[str]
    columns: list[list[Value]]
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    header_values: list[Value] = field(default_factory=list)
    selected: frozenset[int] | None = None
    #: ``read_sheet(formula_text=False)``: column -> rows of the formula cells whose text was
    #: not kept (``formulas`` then holds only the few cells read one by one)
    formula_places: dict[int, np.ndarray] = field(default_factory=dict)

    def formula_mask(self, col: int) -> np.ndarray:
        """``mask[r]`` is True where cell (r, col) holds a formula (r = 0 … n_rows)."""
        mask = np.zeros(self.n_rows + 1, bool)
        rows = self.formula_places.get(col)
        if rows is not None:
            mask[rows] = True
        for (r, c) in self.formulas:
            if c == col:
                mask[r] = True
        return mask

    @property
    def n_cols(self) -> int:
        return len(self.columns)

    @property
    def n_data_rows(self) -> int:
        return max(self.n_rows - 1, 0)

    def col_of(self, *names: str) -> int | None:
        """1-based column of the first header equal (trimmed, case-insensitive) to a name."""
        wanted = [n.strip().casefold() for n in names]
        folded = [h.casefold() for h in self.header]
        for w in wanted:
            if w in folded:
                return folded.index(w) + 1
        return None

    def column(self, name_or_index: str | int) -> list[Value]:
        if isinstance(name_or_index, int):
            return self.columns[name_or_index - 1]
        c = self.col_of(name_or_index)
        if c is None:
            raise KeyError(name_or_index)
        return self.columns[c - 1]

    def value(self, row: int, col: int) -> Value:
        if row == 1:
            return self.header_values[col - 1] if col <= len(self.header_values) else None
        if col > len(self.columns) or row - 2 >= len(self.columns[col - 1]):
            return None
        return self.columns[col - 1][row - 2]


def _header_text(v: Value) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    return str(v).strip()


class _Ctx:
    def __init__(self, sst: list[str], date_flags: list[bool], date1904: bool) -> None:
        self.sst = sst
        self.date1904 = date1904
        self.date_by_s: dict[bytes | None, bool] = {None: False}
        for i, flag in enumerate(date_flags):
            self.date_by_s[str(i).encode()] = flag
        self.shared: dict[bytes, tuple[str, str]] = {}  # si -> (formula text, master ref)
        self.translators: dict[bytes, Translator] = {}

    def number(self, raw: bytes, s: bytes | None) -> Value:
        try:
            x = float(raw)
        except ValueError:
            return unescape(raw)
        if self.date_by_s.get(s, False):
            try:
                return serial_to_datetime(x, self.date1904)
            except (OverflowError, ValueError):
                return x
        return x


def _slow_value(ctx: _Ctx, t: bytes | None, s: bytes | None, v: bytes | None, inl: bytes | None):
    if t is None or t == b"n":
        return None if v is None else ctx.number(v, s)
    if t == b"s":
        if v is None:
            return None
        try:
            return ctx.sst[int(v)]
        except (ValueError, IndexError):
            bad = v.decode(errors="replace")
            raise XlsxError(f"共享字符串索引 {bad} 无效，文件可能已损坏。") from None
    if t == b"inlineStr":
        if inl is not None:
            return rich_text(inl)
        return None if v is None else unescape(v)
    if t == b"str":
        return "" if v is None else unescape(v)
    if t == b"b":
        return None if v is None else v.strip() in (b"1", b"true")
    if t == b"e":
        return None if v is None else CellError(unescape(v))
    if t == b"d":
        if v is None:
            return None
        try:
            return dt.datetime.fromisoformat(v.decode().rstrip("Z"))
        except ValueError:
            return unescape(v)
    return None if v is None else unescape(v)


def _formula(ctx: _Ctx, fattrs: bytes, ftext: bytes | None, r: int, c: int) -> str:
    text = unescape(ftext) if ftext else ""
    if not fattrs or b"shared" not in fattrs:
        return text
    attrs = parse_attrs(fattrs)
    if attrs.get(b"t") != b"shared":
        return text
    si = attrs.get(b"si", b"")
    if text:
        ctx.shared[si] = (text, f"{col_letter(c)}{r}")
        ctx.translators.pop(si, None)
        return text
    master = ctx.shared.get(si)
    if master is None:
        return ""
    tr = ctx.translators.get(si)
    if tr is None:
        tr = ctx.translators[si] = Translator("=" + master[0], origin=master[1])
    try:
        return tr.translate_formula(f"{col_letter(c)}{r}")[1:]
    except Exception:  # a formula the tokenizer does not understand: keep the master's text
        return master[0]


def sheet_names(path: str | os.PathLike[str]) -> list[str]:
    """Names of the worksheets, in workbook order (chart sheets are not listed)."""
    with _open_zip(path) as zf:
        check_zip(zf)
        return [s.name for s in read_workbook_info(zf).sheets]


def read_sheet(path: str | os.PathLike[str], sheet: str, *,
               columns: ColumnSelection = None, formula_text: bool = True,
               hashed: ColumnSelection = None) -> SheetData:
    """Read one worksheet in one streaming pass (see SheetData).

    ``columns``: read only these 1-based columns (a set), or those a function of the header
    returns (called once row 1 is read, with the trimmed header texts). Cells of the other
    columns are skipped without making values: they count for ``n_rows`` (a row holding only
    such a cell is still a row) but their values are not converted (nor checked), their
    formulas are not kept, and their column is an ``UnreadColumn`` (``SheetData.selected``).

    ``formula_text=False``: formula cells are noted by place (``SheetData.formula_places``,
    ``formula_mask``) without their text, for a caller that only needs to leave them alone.
    ``hashed``: columns (set or function of the header, as ``columns``) whose values are
    kept as ``hash(value)`` only (a ``HashedColumn``)."""
    with _open_zip(path) as zf:
        check_zip(zf)
        return read_sheet_zip(zf, sheet, columns=columns, formula_text=formula_text,
                              hashed=hashed)


def _as_selection(cols: Iterable[int]) -> frozenset[int]:
    out = frozenset(cols)
    for c in out:
        if not isinstance(c, int) or isinstance(c, bool) or not 1 <= c <= 16384:
            raise ValueError(f"bad column number in columns=: {c!r}")
    return out


def read_sheet_zip(zf: zipfile.ZipFile, sheet: str, *, fast: bool = True,
                   columns: ColumnSelection = None, formula_text: bool = True,
                   hashed: ColumnSelection = None) -> SheetData:
    """``fast=False`` uses only the per-cell scanner (the reference the fast path is tested
    against). ``columns``: see ``read_sheet``."""
    info = read_workbook_info(zf)
    sh = info.sheet(sheet)
    if sh.part not in info.names:
        raise XlsxError(f"工作表“{sh.name}”的内容缺失（{sh.part}），文件可能已损坏。")
    ctx = _Ctx(
        shared_strings(zf, info.sst_part), date_styles(zf, info.styles_part), info.date1904
    )
    decide = columns if callable(columns) else None
    decide_hashed = hashed if callable(hashed) else None
    with SheetStream(zf, sh.part) as stream, no_gc():
        scan = _Scan(ctx, stream.ns)
        scan.sheet = sh.name
        scan.formula_text = formula_text
        if columns is not None and decide is None:
            scan.select = _as_selection(columns)  # type: ignore[arg-type]
        if hashed is not None and decide_hashed is None:
            scan.hashed = _as_selection(hashed)  # type: ignore[arg-type]
        for chunk in stream.row_chunks():
            if decide is not None or decide_hashed is not None:  # row 1 alone, then decide
                head, chunk = _split_header(chunk, stream.ns)
                if head:
                    scan.slow(head)
                if decide is not None:
                    scan.select = _as_selection(decide(scan.header_texts()))
                if decide_hashed is not None:
                    scan.hashed = _as_selection(decide_hashed(scan.header_texts()))
                decide = decide_hashed = None
                if not chunk:
                    continue
            if fast:
                for piece in _split_rows(chunk, scan.end_row):
                    if not scan.fast(piece):
                        scan.slow(piece)
            else:
                scan.slow(chunk)
        if decide is not None:  # no rows at all
            scan.select = _as_selection(decide(scan.header_texts()))
        if decide_hashed is not None:
            scan.hashed = _as_selection(decide_hashed(scan.header_texts()))
    return scan.result(sh.name)


@lru_cache(maxsize=8)
def _first_row_re(ns: bytes) -> re.Pattern[bytes]:
    p = re.escape(ns)
    return re.compile(b"<" + p + rb"row\b([^>]*?)(?:/>|>.*?</" + p + rb"row>)", re.S)


def _split_header(chunk: bytes, ns: bytes) -> tuple[bytes, bytes]:
    """(row 1, the rest) when the chunk's first row is row 1, else (b"", chunk)."""
    m = _first_row_re(ns).search(chunk)
    if m is None:
        return b"", chunk
    rm = ROW_R_RE.search(m.group(1))
    if rm is not None and int(rm.group(1)) != 1:
        return b"", chunk
    return chunk[: m.end()], chunk[m.end() :]


#: Row chunks are scanned in pieces of about this size (regular expressions run faster on
#: data that fits the CPU cache).
PIECE = 512 * 1024


def _split_rows(chunk: bytes, end_row: bytes) -> Iterator[bytes]:
    return row_pieces(chunk, end_row, PIECE)  # (PIECE read at each call: tests shrink it)


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


class _Scan:
    """State of one pass over a worksheet's rows; ``slow`` and ``fast`` give the same result."""

    def __init__(self, ctx: _Ctx, ns: bytes) -> None:
        self.ctx = ctx
        self.ns = ns
        self.columns: list[list[Value]] = []
        self.header: dict[int, Value] = {}
        self.formulas: dict[tuple[int, int], str] = {}
        self.max_row = 0
        self.ncols = 0
        self.row = 0
        self.icache: dict[bytes, str] = {}
        self.token_re = read_regex(ns)
        _, self.child_re = cell_regexes(ns)
        self.cell_re, self.rowtag_re = _fast_regexes(ns)
        self.row_open = b"<" + ns + b"row"
        self.c_open = b"<" + ns + b"c"
        self.end_row = b"</" + ns + b"row>"
        self.attr_info: dict[bytes, tuple[bytes, bytes]] = {}
        self.vcache: dict[bytes, dict[bytes, Value]] = {}
        #: columns whose values are read (None: all); the others are only checked for content
        self.select: frozenset[int] | None = None
        self.f_open = b"<" + ns + b"f"
        self.fcache: dict[tuple[bytes, bytes], Value] = {}
        self.formula_text = True
        self.fplaces: dict[int, list[np.ndarray]] = {}
        #: columns kept as hash(value) only
        self.hashed: frozenset[int] = frozenset()
        #: the sheet's name, for messages
        self.sheet = ""

    def misplaced(self, row: int, letters: bytes, rowd: bytes) -> XlsxError:
        """The error for a cell whose reference names another row than its ``<row r>`` (a
        file Excel does not write: read by its column letters, it could overwrite a client
        id; issue 15)."""
        ref = (letters + rowd).decode("ascii", "replace")
        where = f"工作表“{self.sheet}”" if self.sheet else "工作表"
        return CellRefError(
            f"{where}第 {row} 行中的单元格 {ref} 的引用指向另一行（第 {int(rowd)} 行），"
            "文件已损坏或被改动（Excel 不会这样保存）；请在 Excel 中打开并另存后重试。")

    def header_texts(self) -> list[str]:
        return [_header_text(self.header.get(c)) for c in range(1, self.ncols + 1)]

    def _used(self, s, t, inner: bytes, row: int, col: int, child_re) -> bool:
        """Does a cell of a column not selected hold a value or a formula (it then counts
        for n_rows)? No value is made for it and its formula is not kept; only the master
        of a shared formula is noted (cells of selected columns may share it)."""
        if self.f_open not in inner:
            return self._complex(s, t, inner, row, col, child_re) is not _SKIP
        if b"ref=" in inner:
            for cm in child_re.finditer(inner):
                if cm.group(1) == b"f" and cm.group(3) and b"shared" in cm.group(2):
                    _formula(self.ctx, cm.group(2), cm.group(3), row, col)
        return True

    # ------------------------------------------------------------------ per-cell scanner
    def slow(self, chunk: bytes) -> None:
        ctx = self.ctx
        sst = ctx.sst
        date_by_s = ctx.date_by_s
        number = ctx.number
        columns = self.columns
        header = self.header
        col_cache = _COL_CACHE
        icache = self.icache
        child_re = self.child_re
        select = self.select
        max_row = self.max_row
        ncols = self.ncols
        row = self.row
        idx = row - 2
        col = 0
        for rtag, letters, rowd, s, t, other, v, inl, inner in self.token_re.findall(chunk):
            if rtag:  # <row ...>
                rm = ROW_R_RE.search(rtag)
                row = int(rm.group(1)) if rm else row + 1
                idx = row - 2
                col = 0
                continue
            if other:
                letters, _rowd, s, t, _other = cell_attrs(
                    (None, letters or None, rowd or None, s or None, t or None, other)
                )
            if letters:
                c = col_cache.get(letters)
                col = c if c is not None else col_index(letters)
            else:
                col += 1
            if rowd and int(rowd) != row:
                raise self.misplaced(row, letters, rowd)
            if select is not None and row > 1 and col not in select:
                if not (v or inl or (inner and self._used(s or None, t or None, inner, row,
                                                          col, child_re))):
                    continue
                if row > max_row:
                    max_row = row
                if col > ncols:
                    ncols = _grow(columns, col)
                continue
            if v:
                if not t:
                    if s and date_by_s.get(s, False):
                        value = number(v, s)
                    else:
                        try:
                            value = float(v)
                        except ValueError:
                            value = number(v, s)
                elif t == b"s":
                    try:
                        value = sst[int(v)]
                    except (ValueError, IndexError):
                        value = _slow_value(ctx, t, s, v, None)
                else:
                    value = _slow_value(ctx, t or None, s or None, v, None)
            elif inl:
                if b"&" in inl or b"_x" in inl or b"\r" in inl:
                    value = unescape(inl)
                else:
                    value = icache.get(inl)
                    if value is None:
                        value = inl.decode("utf-8")
                        if len(icache) < 200_000:  # repeated labels share one object
                            icache[inl] = value
            elif inner:
                value = self._complex(s or None, t or None, inner, row, col, child_re)
                if value is _SKIP:
                    continue
            else:
                continue
            if row < 1:
                continue
            if row > max_row:
                max_row = row
            if col > ncols:
                ncols = _grow(columns, col)
            if row == 1:
                header[col] = value
                continue
            if col in self.hashed:
                value = hash(value)
            lst = columns[col - 1]
            n = len(lst)
            if n == idx:
                lst.append(value)
            elif n < idx:
                lst.extend([None] * (idx - n))
                lst.append(value)
            else:
                lst[idx] = value
        self.max_row = max_row
        self.ncols = ncols
        self.row = row

    def _complex(self, s, t, inner: bytes, row: int, col: int, child_re) -> Value | object:
        """Value of a cell with content other than a simple <v> / <is><t> (formulas...)."""
        fv = fi = None
        has_f = False
        for cm in child_re.finditer(inner):
            kind = cm.group(1)
            if kind == b"v":
                fv = cm.group(3)
            elif kind == b"is":
                fi = cm.group(3) or b""
            else:
                self.formulas[(row, col)] = _formula(self.ctx, cm.group(2), cm.group(3), row, col)
                has_f = True
        value = _slow_value(self.ctx, t, s, fv, fi)
        if value is None and not (has_f or (row, col) in self.formulas):
            return _SKIP
        return value

    # ------------------------------------------------------------------ vectorised scanner
    def fast(self, chunk: bytes) -> bool:
        """Scan a piece of whole rows column by column. False (nothing changed) when the piece
        does not meet the conditions: every row tag starts with ``r``, rows ascending after
        the rows already read, no header row, every cell starts with ``r``."""
        tags = self.rowtag_re.findall(chunk)
        if not tags:
            return False
        rows = list(map(int, tags))
        if rows[0] < 2 or rows[0] <= self.row:
            return False
        pieces = chunk.split(self.row_open)
        if len(pieces) != len(tags) + 1 or pieces[0].count(self.c_open):
            return False
        counts = list(map(bytes.count, pieces[1:], repeat(self.c_open)))
        del pieces
        cells = self.cell_re.findall(chunk)
        n = len(cells)
        if n != sum(counts):
            return False
        nrows = len(rows)
        ra = np.array(rows, dtype=np.int64)
        if nrows > 1 and not bool((ra[1:] > ra[:-1]).all()):
            return False
        if n == 0:
            self.row = rows[-1]
            return True
        letters, rowds, attrs, vs, inls, fs, fvs, inners = zip(*cells, strict=True)
        del cells
        if not _rows_agree(tags, counts, rowds):
            return False  # a cell naming another row: the per-cell scanner refuses it
        del rowds
        cache = _COL_CACHE
        for lt in set(letters):
            if lt not in cache:
                col_index(lt)  # fills the cache; raises for a column beyond XFD
        # -- groups of cells by column: (column, selector, rows of its cells)
        k = counts[0]
        if k and counts.count(k) == nrows and all(
            letters[j::k].count(letters[j]) == nrows for j in range(k)
        ):
            groups = [(cache[letters[j]], slice(j, None, k), ra) for j in range(k)]
            if len({g[0] for g in groups}) != k:
                return False  # a column twice in a row
            per_cell_rows = None
        else:
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
                    return False  # a column twice in a row
                groups.append((int(sc[a]), idx.tolist(), g_rows))
        # -- cells with other content, in document order (shared formulas need it)
        special: dict[int, Value | object] = {}
        has_f = any(fs)
        if any(inners):
            if has_f:  # formulas of both kinds: all in document order (the dict's order)
                inners = tuple(map(_joined, inners, fs, fvs))
                fs = fvs = (b"",) * n
                has_f = False
            if per_cell_rows is None:
                per_cell_rows = np.repeat(ra, counts)
            child_re = self.child_re
            select = self.select
            for i in compress(range(n), inners):
                s, t = self._attrs(attrs[i])
                c = cache[letters[i]]
                if select is not None and c not in select:
                    special[i] = _USED if self._used(s or None, t or None, inners[i],
                                                     int(per_cell_rows[i]), c, child_re) \
                        else _SKIP
                    continue
                special[i] = self._complex(s or None, t or None, inners[i],
                                           int(per_cell_rows[i]), c, child_re)
        special_cols = {cache[letters[i]] for i in special} if special else ()
        f_new: list[tuple[np.ndarray, list, list]] = []  # formulas met: cells, keys, texts
        # -- convert and place each column
        columns = self.columns
        max_row = self.max_row
        ncols = self.ncols
        select = self.select
        for c, sel, g_rows in groups:
            if select is not None and c not in select:
                # a column not read: only its last cell with content matters (n_rows)
                members = range(n)[sel] if isinstance(sel, slice) else sel
                last = len(members) - 1
                while last >= 0:
                    i = members[last]
                    if vs[i] or inls[i] or fs[i] or (inners[i] and special[i] is not _SKIP):
                        break
                    last -= 1
                if last >= 0:
                    max_row, ncols = _reach(columns, max_row, ncols, int(g_rows[last]), c)
                continue
            if isinstance(sel, slice):
                g_attrs, g_vs, g_inls = attrs[sel], vs[sel], inls[sel]
                g_fs = fs[sel] if has_f else ()
                members = range(n)[sel] if c in special_cols else None
            else:
                get = itemgetter(*sel) if len(sel) > 1 else (lambda t, i=sel[0]: (t[i],))
                g_attrs, g_vs, g_inls = get(attrs), get(vs), get(inls)
                g_fs = get(fs) if has_f else ()
                members = sel if c in special_cols else None
            values = self._convert(g_attrs, g_vs, g_inls)
            counted_last = -1
            if has_f and any(g_fs):  # formulas without attributes: a column at a time
                fpos = np.flatnonzero(np.fromiter(map(bool, g_fs), bool, len(g_fs)))
                fl = fpos.tolist()
                g_fvs = fvs[sel] if isinstance(sel, slice) else get(fvs)
                fget = itemgetter(*fl) if len(fl) > 1 else (lambda t, i=fl[0]: (t[i],))
                fvals = list(map(self._fvalue, zip(fget(g_attrs), fget(g_fvs), strict=True)))
                if len(fl) == len(values):
                    values = fvals
                else:
                    arr = np.empty(len(values), dtype=object)
                    arr[:] = values
                    part = np.empty(len(fl), dtype=object)
                    part[:] = fvals
                    arr[fpos] = part
                    values = arr.tolist()
                counted_last = fl[-1]
                if (select is None or c in select) and not self.formula_text:
                    self.fplaces.setdefault(c, []).append(g_rows[fpos])
                elif select is None or c in select:
                    cells_i = (np.arange(n)[sel] if isinstance(sel, slice)
                               else np.asarray(sel))[fpos]
                    keys = list(zip(g_rows[fpos].tolist(), repeat(c), strict=False))
                    plen = len(self.f_open) + 1
                    texts = _unescape_many([x[plen:-plen - 1] for x in fget(g_fs)])
                    f_new.append((cells_i, keys, texts))
            if members is not None:
                for pos, i in enumerate(members):
                    if i in special:
                        val = special[i]
                        if val is _SKIP:
                            values[pos] = None
                        else:
                            values[pos] = val
                            counted_last = pos
            # last cell that holds a value (or a formula)
            last = len(values) - 1
            while last > counted_last and values[last] is None:
                last -= 1
            if last < 0:
                continue
            max_row, ncols = _reach(columns, max_row, ncols, int(g_rows[last]), c)
            r_lo = int(g_rows[0])
            r_hi = int(g_rows[-1])
            if r_hi - r_lo + 1 != len(values):  # gaps: spread over the row range
                seg = np.full(r_hi - r_lo + 1, None, dtype=object)
                vals = np.empty(len(values), dtype=object)
                vals[:] = values
                seg[g_rows - r_lo] = vals
                values = seg.tolist()
            lst = columns[c - 1]
            if len(lst) < r_lo - 2:
                lst.extend([None] * (r_lo - 2 - len(lst)))
            lst.extend(map(hash, values) if c in self.hashed else values)
        if len(f_new) == 1:
            self.formulas.update(zip(f_new[0][1], f_new[0][2], strict=True))
        elif f_new:  # several columns: in document order, as the per-cell scanner adds them
            order = np.argsort(np.concatenate([f[0] for f in f_new]), kind="stable").tolist()
            keys = [k for f in f_new for k in f[1]]
            texts = [x for f in f_new for x in f[2]]
            self.formulas.update(zip(map(keys.__getitem__, order), map(texts.__getitem__, order),
                                     strict=True))
        self.max_row = max_row
        self.ncols = ncols
        self.row = rows[-1]
        return True

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
        if has_inl and has_v:
            u = {k: self._value(s, t, k[0], k[1]) for k in dict.fromkeys(zip(g_vs, g_inls, strict=True))}
            return list(map(u.__getitem__, zip(g_vs, g_inls, strict=True)))
        if has_inl:
            u = dict.fromkeys(g_inls)
            u = dict(zip(u, _unescape_many(list(u)), strict=True))
            if b"" in u:
                u[b""] = None
            return list(map(u.__getitem__, g_inls))
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
        keys = dict.fromkeys(g_vs)
        for k in keys.keys() - u.keys():
            u[k] = self._value(s, t, k, b"")
        return list(map(u.__getitem__, g_vs))

    def _fvalue(self, key: tuple[bytes, bytes]) -> Value:
        """Cached value of a formula cell: (attributes after r, ``<v>..</v>`` or b"")."""
        got = self.fcache.get(key)
        if got is None and key not in self.fcache:
            a, fv = key
            s, t = self._attrs(a)
            pre = len(self.f_open) + 1  # <v>, and </v> is one longer
            got = _slow_value(self.ctx, t or None, s or None, fv[pre:-pre - 1] if fv else None,
                              None)
            if len(self.fcache) < 100_000:
                self.fcache[key] = got
        return got

    def _value(self, s: bytes, t: bytes, v: bytes, inl: bytes) -> Value:
        """One simple cell, exactly as ``slow`` reads it."""
        ctx = self.ctx
        if v:
            if not t:
                if s and ctx.date_by_s.get(s, False):
                    return ctx.number(v, s)
                try:
                    return float(v)
                except ValueError:
                    return ctx.number(v, s)
            if t == b"s":
                try:
                    return ctx.sst[int(v)]
                except (ValueError, IndexError):
                    return _slow_value(ctx, t, s, v, None)
            return _slow_value(ctx, t or None, s or None, v, None)
        if inl:
            if b"&" in inl or b"_x" in inl or b"\r" in inl:
                return unescape(inl)
            return inl.decode("utf-8")
        return None

    # ------------------------------------------------------------------ result
    def result(self, name: str) -> SheetData:
        columns = self.columns
        n_data = max(self.max_row - 1, 0)
        select = self.select
        formulas = self.formulas
        none = hash(None)
        for c, lst in enumerate(columns, start=1):
            if select is not None and c not in select:
                columns[c - 1] = UnreadColumn(n_data, c)  # type: ignore[call-overload]
                formulas.pop((1, c), None)  # row 1 is read in full, its formulas are not kept
                continue
            if len(lst) < n_data:
                lst.extend([none if c in self.hashed else None] * (n_data - len(lst)))
            elif len(lst) > n_data:
                del lst[n_data:]  # only trailing empty cells
            if c in self.hashed:  # (gaps were filled with None)
                if None in lst:
                    lst = [none if v is None else v for v in lst]
                columns[c - 1] = HashedColumn(lst, c)  # type: ignore[call-overload]
        header_values = [self.header.get(c) for c in range(1, len(columns) + 1)]
        return SheetData(
            name=name,
            n_rows=self.max_row,
            header=[_header_text(v) for v in header_values],
            columns=columns,
            formulas=formulas,
            header_values=header_values,
            selected=select,
            formula_places={c: np.concatenate(parts) for c, parts in self.fplaces.items()},
        )


def _grow(columns: list[list[Value]], c: int) -> int:
    """Columns up to ``c`` (a cell met in a column right of the others); returns ``c``."""
    columns.extend([] for _ in range(c - len(columns)))
    return c


def _reach(columns: list[list[Value]], max_row: int, ncols: int, row: int,
           c: int) -> tuple[int, int]:
    """(max_row, ncols) once a cell with content is met at (row, c): a column of the fast
    scanner's piece, through its last such cell."""
    return max(max_row, row), (_grow(columns, c) if c > ncols else ncols)


_SKIP = object()
_USED = object()  # a cell of a column not read that holds a value or formula
