"""The formula text the audit reads: the forms Excel saves a call of our functions in, a
formula in relative form (one key for the cells of a column filled with one formula), and the
parse of one call of our functions into its arguments (:class:`Call`); anything more is
:class:`Complex`, with the reason in Chinese.

``CLIENT_TIER(F7,G7)`` in row 7, column O has the same relative form as ``CLIENT_TIER(F8,G8)``
in row 8: placeholders for the references, and the references as offsets ``(RC[-9], RC[-8])``
(:func:`relative`); :func:`pattern_text` writes a relative form back for any cell.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..xlsxio import col_index, col_letter
from .functions import FUNCTION_NAMES

_OURS = frozenset(FUNCTION_NAMES)
#: how Excel may save a call of an add-in function besides ``NAME(``: ``[1]!NAME(`` (an
#: external-link part, in the file), ``'C:\\…\\client_rating.xlam'!NAME(`` (the add-in's path,
#: as Excel shows and returns it when that file is not loaded), ``client_rating.xlam!NAME(``,
#: and ``_xludf.NAME(`` (a function unknown when the file was saved)
_SAVED_FORM = re.compile(
    r"(?i)(?<![\w.'\]!])(?:\[\d+\]!|'(?:[^']|'')*\.xl(?:am|a|sm|sb|s)'!"
    r"|[^\s'!(),;=+\-*/&<>^%{}\[\]\"]+\.xl(?:am|a|sm|sb|s)!)?(?:_xludf\.)?"
    r"(?P<name>" + "|".join(FUNCTION_NAMES) + r")(?=\s*\()")
_STRING = re.compile(r'("(?:[^"]|"")*")')
_OUR_CALL = re.compile(r"(?i)(?<![\w.])(?:_xludf\.)?(?:" + "|".join(FUNCTION_NAMES) + r")\s*\(")
_TOKEN = re.compile(r"""
 (?P<str>"(?:[^"]|"")*")
|(?<![\w.])(?P<ref>(?:(?P<sheet>'(?:[^']|'')+'|[^\s!(),'":;+\-*/&=<>^%{}\[\]\#@]+)!)?
   (?P<c1>\$?[A-Za-z]{1,3})(?P<r1>\$?\d+)(?::(?P<c2>\$?[A-Za-z]{1,3})(?P<r2>\$?\d+))?)
   (?![\w(.!\[])
|(?P<word>[^\W\d][\w.]*)
|(?P<other>.)
""", re.X | re.S)
_PLACE = re.compile(r"\x01(\d+)\x02")
_BARE_SHEET = re.compile(r"[^\s!(),'\":;+\-*/&=<>^%{}\[\]\#@]+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_CALL = re.compile(r"\s*(?:_xludf\.)?([^\W\d][\w.]*)\s*\((.*)\)\s*", re.S | re.I)


class Complex(Exception):
    """A formula the audit cannot recompute; ``str(e)`` says why (Chinese)."""


@dataclass(frozen=True)
class Ref:
    """A reference relative to the formula's cell: ``(value, absolute)`` per coordinate."""

    sheet: str | None
    r1: int
    r1_abs: bool
    c1: int
    c1_abs: bool
    r2: int | None = None
    r2_abs: bool = False
    c2: int | None = None
    c2_abs: bool = False

    @property
    def is_range(self) -> bool:
        return self.r2 is not None

    def at(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(row1, col1, row2, col2) for a formula in (row, col)."""
        r1 = self.r1 if self.r1_abs else row + self.r1
        c1 = self.c1 if self.c1_abs else col + self.c1
        if self.r2 is None or self.c2 is None:
            return r1, c1, r1, c1
        r2 = self.r2 if self.r2_abs else row + self.r2
        c2 = self.c2 if self.c2_abs else col + self.c2
        return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)

    def text(self, row: int, col: int) -> str:
        """The reference as written in the formula of cell (row, col) — the inverse of
        :func:`relative` for one reference."""
        r1 = self.r1 if self.r1_abs else row + self.r1
        c1 = self.c1 if self.c1_abs else col + self.c1
        if c1 < 1 or r1 < 1:
            return "#REF!"
        a = f"{'$' if self.c1_abs else ''}{col_letter(c1)}{'$' if self.r1_abs else ''}{r1}"
        if self.r2 is not None and self.c2 is not None:
            r2 = self.r2 if self.r2_abs else row + self.r2
            c2 = self.c2 if self.c2_abs else col + self.c2
            if c2 < 1 or r2 < 1:
                return "#REF!"
            a += f":{'$' if self.c2_abs else ''}{col_letter(c2)}{'$' if self.r2_abs else ''}{r2}"
        if not self.sheet:
            return a
        if _BARE_SHEET.fullmatch(self.sheet):
            return f"{self.sheet}!{a}"
        return "'" + self.sheet.replace("'", "''") + "'!" + a


@dataclass(frozen=True)
class Call:
    """One call of one of our functions: name and argument specs ``("ref", Ref)``,
    ``("lit", value)`` or ``("missing", None)``."""

    name: str
    args: tuple[tuple[str, Any], ...]

    @property
    def has_range(self) -> bool:
        return any(k == "ref" and a.is_range for k, a in self.args)


def relative(formula: str, row: int, col: int) -> tuple[str, tuple[Ref, ...]]:
    """The formula with its cell references replaced by placeholders, and the references in
    relative form: equal for the cells of a column filled with one formula."""
    parts: list[str] = []
    refs: list[Ref] = []
    for m in _TOKEN.finditer(formula):
        if m.group("ref") is None:
            parts.append(m.group(0))
            continue
        sheet = m.group("sheet")
        if sheet and sheet.startswith("'"):
            sheet = sheet[1:-1].replace("''", "'")

        def coord(c: str, r: str) -> tuple[int, bool, int, bool]:
            ca, ra = c.startswith("$"), r.startswith("$")
            ci, ri = col_index(c.lstrip("$").upper()), int(r.lstrip("$"))
            return (ri if ra else ri - row), ra, (ci if ca else ci - col), ca

        r1, r1a, c1, c1a = coord(m.group("c1"), m.group("r1"))
        if m.group("c2"):
            r2, r2a, c2, c2a = coord(m.group("c2"), m.group("r2"))
            ref = Ref(sheet, r1, r1a, c1, c1a, r2, r2a, c2, c2a)
        else:
            ref = Ref(sheet, r1, r1a, c1, c1a)
        parts.append(f"\x01{len(refs)}\x02")
        refs.append(ref)
    return "".join(parts), tuple(refs)


def plain_form(formula: str) -> str:
    """The formula with every call of our functions in plain form ``NAME(``, whichever form
    Excel saved it in (``[1]!NAME(``, ``'path\\client_rating.xlam'!NAME(``, ``_xludf.NAME(``);
    text in string literals is left alone. ``[n]`` is not resolved to its file: a call of a
    same-named function of another workbook would be recomputed with ours (and, if its values
    differ, reported — never passed)."""
    if "!" not in formula and "_xludf" not in formula.lower():
        return formula
    parts = _STRING.split(formula)
    for k in range(0, len(parts), 2):
        parts[k] = _SAVED_FORM.sub(lambda m: m.group("name"), parts[k])
    return "".join(parts)


def calls_ours(formula: str) -> bool:
    return _OUR_CALL.search(formula) is not None


@lru_cache(maxsize=4096)
def parse(skeleton: str, refs: tuple[Ref, ...]) -> Call:
    """Parse a formula skeleton (see :func:`relative`); raises :class:`Complex`."""
    m = _CALL.fullmatch(skeleton)
    if not m:
        raise Complex("不是单个函数调用（含运算符或其他函数）")
    name = m.group(1).upper()
    if name not in _OURS:
        raise Complex(f"最外层是 {m.group(1)}，本系统函数嵌套在其中")
    inner = m.group(2)
    pieces: list[str] = []
    cur: list[str] = []
    for t in re.finditer(r'"(?:[^"]|"")*"|.', inner, re.S):
        s = t.group(0)
        if s in "(){}" and len(s) == 1:
            raise Complex("参数中含嵌套函数、括号或数组常量")
        if s == ",":
            pieces.append("".join(cur))
            cur = []
        else:
            cur.append(s)
    pieces.append("".join(cur))
    if len(pieces) == 1 and not pieces[0].strip():
        pieces = []
    args: list[tuple[str, Any]] = []
    for p in pieces:
        a = p.strip()
        if not a:
            args.append(("missing", None))
        elif (pm := _PLACE.fullmatch(a)) is not None:
            args.append(("ref", refs[int(pm.group(1))]))
        elif len(a) >= 2 and a[0] == a[-1] == '"':
            args.append(("lit", a[1:-1].replace('""', '"')))
        elif a.upper() in ("TRUE", "FALSE"):
            args.append(("lit", a.upper() == "TRUE"))
        elif _NUMBER.fullmatch(a):
            args.append(("lit", float(a)))
        else:
            shown = _PLACE.sub("〈单元格〉", a)
            raise Complex(f"参数 {shown} 含运算符、名称或函数")
    return Call(name, tuple(args))


def pattern_text(key: tuple[str, tuple[Ref, ...]]) -> Callable[[int, int], str]:
    """The text of a relative form (see :func:`relative`) as written in cell (row, col)."""
    skeleton, refs = key

    def text(row: int, col: int) -> str:
        return _PLACE.sub(lambda m: refs[int(m.group(1))].text(row, col), skeleton)

    return text


def a1(row: int, col: int) -> str:
    """The A1 address of (row, col): ``a1(7, 15) == "O7"``."""
    return f"{col_letter(col)}{row}"
