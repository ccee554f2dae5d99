"""The per-cell scan of a worksheet's rows (``CellScan``) and what every scan shares: the
workbook's context for values (shared strings, date styles, the 1904 flag; ``CellContext``),
the value of one cell (``slow_value``), shared formulas (``formula_text_of``)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, Final, Literal, cast

import numpy as np

from .errors import CellError, CellRefError, XlsxError
from .package import rich_text
from .sheetxml import (
    COL_CACHE,
    ROW_R_RE,
    cell_attrs,
    cell_regexes,
    col_index,
    col_letter,
    parse_attrs,
    read_regex,
)
from .values import HashedColumn, SheetData, UnreadColumn, Value, header_text, serial_to_datetime
from .xmltext import unescape


class CellContext:
    def __init__(self, sst: list[str], date_flags: list[bool], date1904: bool) -> None:
        self.sst = sst
        self.date1904 = date1904
        self.date_by_s: dict[bytes | None, bool] = {None: False}
        for i, flag in enumerate(date_flags):
            self.date_by_s[str(i).encode()] = flag
        self.shared: dict[bytes, tuple[str, str]] = {}  # si -> (formula text, master ref)
        self.translators: dict[bytes, Any] = {}  # (openpyxl's Translator)

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


def slow_value(ctx: CellContext, t: bytes | None, s: bytes | None, v: bytes | None, inl: bytes | None):
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


def formula_text_of(ctx: CellContext, fattrs: bytes, ftext: bytes | None, r: int, c: int) -> str:
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
        from openpyxl.formula.translate import Translator  # (a shared formula met: rare)

        tr = ctx.translators[si] = Translator("=" + master[0], origin=master[1])
    try:
        return tr.translate_formula(f"{col_letter(c)}{r}")[1:]
    except Exception:  # a formula the tokenizer does not understand: keep the master's text
        return master[0]


class CellScan:
    """State of one pass over a worksheet's rows, read cell by cell (``slow``): the reference
    scanner, and the one for pieces the column-wise ``fastscan.SheetScan`` does not take."""

    def __init__(self, ctx: CellContext, ns: bytes) -> None:
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
        self.row_open = b"<" + ns + b"row"
        self.c_open = b"<" + ns + b"c"
        self.end_row = b"</" + ns + b"row>"
        #: columns whose values are read (None: all); the others are only checked for content
        self.select: frozenset[int] | None = None
        self.f_open = b"<" + ns + b"f"
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
        return [header_text(self.header.get(c)) for c in range(1, self.ncols + 1)]

    def used(self, s, t, inner: bytes, row: int, col: int, child_re) -> bool:
        """Does a cell of a column not selected hold a value or a formula (it then counts
        for n_rows)? No value is made for it and its formula is not kept; only the master
        of a shared formula is noted (cells of selected columns may share it)."""
        if self.f_open not in inner:
            return self.complex_value(s, t, inner, row, col, child_re) is not SKIP
        if b"ref=" in inner:
            for cm in child_re.finditer(inner):
                if cm.group(1) == b"f" and cm.group(3) and b"shared" in cm.group(2):
                    formula_text_of(self.ctx, cm.group(2), cm.group(3), row, col)
        return True

    # ------------------------------------------------------------------ per-cell scanner
    def slow(self, chunk: bytes) -> None:
        """Scan a piece of rows cell by cell: row 1 into ``header``, the others into
        ``columns`` (the reference ``fastscan.SheetScan.fast`` is tested against)."""
        columns, header, select, hashed = self.columns, self.header, self.select, self.hashed
        col_cache, child_re, value_of, used = COL_CACHE, self.child_re, self.simple_value, self.used
        max_row, ncols, row = self.max_row, self.ncols, self.row
        idx, col = row - 2, 0
        value: Value | Literal[Mark.SKIP]
        for rtag, letters, rowd, s, t, other, v, inl, inner in self.token_re.findall(chunk):
            if rtag:  # <row ...>
                row = row_number(rtag, row)
                idx, col = row - 2, 0
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
                if v or inl or (inner and used(s or None, t or None, inner, row, col, child_re)):
                    if row > max_row:
                        max_row = row
                    if col > ncols:
                        ncols = grow(columns, col)
                continue
            if v or inl:
                value = value_of(s, t, v, inl)
            elif inner:
                value = self.complex_value(s or None, t or None, inner, row, col, child_re)
                if value is SKIP:
                    continue
            else:
                continue
            if row < 1:
                continue
            if row > max_row:
                max_row = row
            if col > ncols:
                ncols = grow(columns, col)
            if row == 1:
                header[col] = value
                continue
            if col in hashed:
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
        self.max_row, self.ncols, self.row = max_row, ncols, row

    def simple_value(self, s: bytes, t: bytes, v: bytes, inl: bytes) -> Value:
        """Value of a cell holding only ``<v>`` (``v``) or ``<is><t>`` (``inl``); None when it
        holds neither. ``s`` and ``t``: its style and type attributes (b"" when absent)."""
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
                    return slow_value(ctx, t, s, v, None)
            return slow_value(ctx, t or None, s or None, v, None)
        if not inl:
            return None
        if b"&" in inl or b"_x" in inl or b"\r" in inl:
            return unescape(inl)
        value = self.icache.get(inl)
        if value is None:
            value = inl.decode("utf-8")
            if len(self.icache) < 200_000:  # repeated labels share one object
                self.icache[inl] = value
        return value

    def complex_value(self, s, t, inner: bytes, row: int, col: int,
                      child_re) -> Value | Literal[Mark.SKIP]:
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
                self.formulas[(row, col)] = formula_text_of(self.ctx, cm.group(2), cm.group(3), row, col)
                has_f = True
        value = slow_value(self.ctx, t, s, fv, fi)
        if value is None and not (has_f or (row, col) in self.formulas):
            return SKIP
        return value

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
                hashes = cast("list[int]", lst)  # (hash() of each value)
                columns[c - 1] = HashedColumn(hashes, c)  # type: ignore[call-overload]
        header_values = [self.header.get(c) for c in range(1, len(columns) + 1)]
        return SheetData(
            name=name,
            n_rows=self.max_row,
            header=[header_text(v) for v in header_values],
            columns=columns,
            formulas=formulas,
            header_values=header_values,
            selected=select,
            formula_places={c: np.concatenate(parts) for c, parts in self.fplaces.items()},
        )


def row_number(rtag: bytes, before: int) -> int:
    """The number of the row whose ``<row`` attributes are ``rtag`` (one more than the row
    ``before`` when it has none)."""
    rm = ROW_R_RE.search(rtag)
    return int(rm.group(1)) if rm else before + 1


def grow(columns: list[list[Value]], c: int) -> int:
    """Columns up to ``c`` (a cell met in a column right of the others); returns ``c``."""
    columns.extend([] for _ in range(c - len(columns)))
    return c


def reach(columns: list[list[Value]], max_row: int, ncols: int, row: int,
           c: int) -> tuple[int, int]:
    """(max_row, ncols) once a cell with content is met at (row, c): a column of the fast
    scanner's piece, through its last such cell."""
    return max(max_row, row), (grow(columns, c) if c > ncols else ncols)


class Mark(enum.Enum):
    """Noted instead of a value: ``SKIP`` a cell holding neither a value nor a formula,
    ``USED`` a cell of a column not read that holds one."""

    SKIP = "skip"
    USED = "used"


SKIP: Final = Mark.SKIP
USED: Final = Mark.USED
