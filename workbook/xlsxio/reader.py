"""One-pass streaming reader of a worksheet: cached values, dates, errors and formulas."""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from dataclasses import dataclass, field
from typing import Union

from openpyxl.formula.translate import Translator

from .errors import CellError, XlsxError
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
    parse_attrs,
    read_regex,
)
from .xmltext import unescape

Value = Union[float, str, bool, dt.datetime, CellError, None]  # noqa: UP007

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


@dataclass
class SheetData:
    """Values of one worksheet.

    * ``n_rows``: the last used row number (Excel coordinate; row 1 is the header), so the
      data rows are 2..n_rows and each column list has ``n_rows - 1`` entries.
    * ``header``: row 1 as trimmed text, one entry per column ("" for an empty header cell).
    * ``columns[c - 1][r - 2]``: value of cell (r, c) for r >= 2.
    * ``formulas[(r, c)]``: formula text without '=' for every cell holding a formula (shared
      formulas translated to the cell); the cached value is in ``columns``.
    """

    name: str
    n_rows: int
    header: list[str]
    columns: list[list[Value]]
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    header_values: list[Value] = field(default_factory=list)

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


def read_sheet(path: str | os.PathLike[str], sheet: str) -> SheetData:
    """Read one worksheet in one streaming pass (see SheetData)."""
    with _open_zip(path) as zf:
        check_zip(zf)
        return read_sheet_zip(zf, sheet)


def read_sheet_zip(zf: zipfile.ZipFile, sheet: str) -> SheetData:
    info = read_workbook_info(zf)
    sh = info.sheet(sheet)
    if sh.part not in info.names:
        raise XlsxError(f"工作表“{sh.name}”的内容缺失（{sh.part}），文件可能已损坏。")
    ctx = _Ctx(
        shared_strings(zf, info.sst_part), date_styles(zf, info.styles_part), info.date1904
    )
    sst = ctx.sst
    date_by_s = ctx.date_by_s
    number = ctx.number
    columns: list[list[Value]] = []
    header: dict[int, Value] = {}
    formulas: dict[tuple[int, int], str] = {}
    max_row = 0
    col_cache = _COL_CACHE
    icache: dict[bytes, str] = {}
    ncols = 0
    with SheetStream(zf, sh.part) as stream:
        token_re = read_regex(stream.ns)
        _, child_re = cell_regexes(stream.ns)
        row = 0
        idx = -1
        col = 0
        for chunk in stream.row_chunks():
            for rtag, letters, rowd, s, t, other, v, inl, inner in token_re.findall(chunk):
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
                    fv = fi = None
                    for cm in child_re.finditer(inner):
                        kind = cm.group(1)
                        if kind == b"v":
                            fv = cm.group(3)
                        elif kind == b"is":
                            fi = cm.group(3) or b""
                        else:
                            formulas[(row, col)] = _formula(
                                ctx, cm.group(2), cm.group(3), row, col
                            )
                    value = _slow_value(ctx, t or None, s or None, fv, fi)
                    if value is None and (row, col) not in formulas:
                        continue
                else:
                    continue
                if row < 1:
                    continue
                if row > max_row:
                    max_row = row
                if col > ncols:
                    while len(columns) < col:
                        columns.append([])
                    ncols = col
                if row == 1:
                    header[col] = value
                    continue
                lst = columns[col - 1]
                n = len(lst)
                if n == idx:
                    lst.append(value)
                elif n < idx:
                    lst.extend([None] * (idx - n))
                    lst.append(value)
                else:
                    lst[idx] = value
    n_data = max(max_row - 1, 0)
    for lst in columns:
        if len(lst) < n_data:
            lst.extend([None] * (n_data - len(lst)))
    header_values = [header.get(c) for c in range(1, len(columns) + 1)]
    return SheetData(
        name=sh.name,
        n_rows=max_row,
        header=[_header_text(v) for v in header_values],
        columns=columns,
        formulas=formulas,
        header_values=header_values,
    )
