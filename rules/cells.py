"""Excel cell values -> Python values, with Chinese errors that name the value.

What arrives from Excel through xlwings (Windows COM, ``err_to_str=True``): ``float`` for numbers,
``str`` for text, ``None`` for empty cells (and ``""``), ``bool`` for TRUE/FALSE, ``datetime`` for
date-formatted cells, and the Excel error texts ``"#N/A"``, ``"#DIV/0!"`` … for error cells. Dates
typed as formulas (``DATE(2024,1,1)``) arrive as serial numbers.

Every function raises :class:`rules.errors.RuleInputError` (``kind`` ``"value"`` or ``"na"``) for
a value it cannot read; none of them decides whether an empty value is allowed — that is the
caller's (or the rulebook's ``empty_is_zero``) business.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from rules.errors import RuleInputError, show

#: Texts of Excel error values (and the prefixes of the error texts these functions return).
EXCEL_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!",
                "#BUSY!", "#UNKNOWN!")

_SCALE: dict[str, int | Decimal] = {"": 1, "万": 10_000, "亿": 100_000_000, "%": Decimal("0.01")}
_NUMBER = re.compile(
    r"(?P<sign>[+-]?)[¥$]?(?P<int>\d+|\d{1,3}(?:,\d{3})+)?(?P<frac>\.\d*)?"
    r"(?P<exp>[eE][+-]?\d+)?(?P<scale>万|亿|%)?(?:元)?")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_MAX_SERIAL = 2_958_465  # 9999-12-31
_DATE_TEXT = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
_DATE_TIME_TEXT = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2}) \d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?")


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_error_text(v: Any) -> bool:
    return isinstance(v, str) and v.lstrip().startswith(EXCEL_ERRORS)


def error_cell(v: str, field: str) -> RuleInputError:
    """An error value (``#DIV/0!`` or another function's ``#VALUE! …``) used as an input."""
    return RuleInputError(f"{field}单元格为错误值：{_short(v.strip())}", field=field, value=v,
                          kind="na")


def _normalize_text(s: str) -> str:
    # NFKC: full-width digits, commas, points and spaces -> ASCII ("２５，０００" -> "25,000")
    s = unicodedata.normalize("NFKC", s)
    return "".join(s.split())


def parse_number(text: str) -> float | None:
    """``"1,000,000"`` / ``" 25万 "`` / ``"1.2亿"`` / ``"２５万"`` / ``"3%"`` -> float; ``None`` if not a number."""
    s = _normalize_text(text).replace("￥", "¥")
    m = _NUMBER.fullmatch(s)
    if not m or not (m.group("int") or (m.group("frac") or "")[1:]):
        return None
    digits = (m.group("int") or "0").replace(",", "") + (m.group("frac") or "")
    try:
        x = Decimal(digits + (m.group("exp") or "")) * _SCALE[m.group("scale") or ""]
    except InvalidOperation:
        return None
    return -float(x) if m.group("sign") == "-" else float(x)


def number(v: Any, field: str) -> float | None:
    """A cell as a number (``None`` for an empty cell). Booleans and dates are not numbers."""
    t = type(v)
    if t is float or t is int:
        return float(v)
    if v is None:
        return None
    if isinstance(v, bool | np.bool_):
        raise RuleInputError(f"{field}不是数字：{show(bool(v))}", field=field, value=v)
    if isinstance(v, int | float | np.integer | np.floating):
        return float(v)
    if isinstance(v, str):
        if not v.strip():
            return None
        if is_error_text(v):
            raise error_cell(v, field)
        x = parse_number(v)
        if x is None:
            raise RuleInputError(f"{field}不是数字：{show(_short(v))}", field=field, value=v)
        return x
    if isinstance(v, dt.date):
        raise RuleInputError(f"{field}是日期，不是数字：{v:%Y-%m-%d}", field=field, value=v)
    raise RuleInputError(f"{field}不是数字：{show(v)}", field=field, value=v)


def date(v: Any, field: str) -> dt.date | None:
    """A cell as a date: a datetime, an Excel serial number (1900 system) or a date text."""
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, bool | np.bool_):
        raise RuleInputError(f"{field}不是日期：{show(bool(v))}", field=field, value=v)
    if isinstance(v, int | float | np.integer | np.floating):
        x = float(v)
        if not (1 <= x <= _MAX_SERIAL):
            raise RuleInputError(f"{field}不是有效日期：{show(x)}", field=field, value=v)
        days = int(x)
        if days < 61:  # Excel's fictitious 1900-02-29 is serial 60
            days += 1
        return _EXCEL_EPOCH + dt.timedelta(days=days)
    if isinstance(v, str):
        s = _normalize_text(v)
        if not s:
            return None
        if is_error_text(v):
            raise error_cell(v, field)
        # whitespace is dropped ("2024 年 3 月 31 日"), except before a time of day, where a
        # single space separates it ("2024-03-31 10:00", "2024/3/31 9:30")
        spaced = " ".join(unicodedata.normalize("NFKC", v).split())
        for m in [p.fullmatch(s) for p in _DATE_TEXT] + [_DATE_TIME_TEXT.fullmatch(spaced)]:
            if m:
                try:
                    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                except ValueError:
                    break
        raise RuleInputError(f"{field}不是有效日期：{show(_short(v))}（请填写如 2024-03-31）",
                             field=field, value=v)
    raise RuleInputError(f"{field}不是日期：{show(v)}", field=field, value=v)


def text(v: Any, field: str) -> str | None:
    """A cell as trimmed text (``None`` when empty). Numbers, booleans and dates are refused."""
    if v is None:
        return None
    if isinstance(v, str):
        s = v.strip()
        if not s:
            return None
        if is_error_text(s):
            raise error_cell(s, field)
        return s
    if isinstance(v, dt.date):
        raise RuleInputError(f"{field}应为文字，而不是日期：{v:%Y-%m-%d}", field=field, value=v)
    raise RuleInputError(f"{field}应为文字，而不是：{show(v)}", field=field, value=v)


# 高/低 are not yes/no: only a caller that means high/low passes them (true_words=("高",)...)
_TRUE = {"TRUE", "是", "Y", "YES", "1", "真", "√"}
_FALSE = {"FALSE", "否", "N", "NO", "0", "假", "×"}


def flag(v: Any, field: str, *, true_words: tuple[str, ...] = (),
         false_words: tuple[str, ...] = ()) -> bool | None:
    """A yes/no cell: TRUE/FALSE, 1/0, 是/否 (``None`` when empty); ``true_words`` and
    ``false_words`` add words of the caller's question (高/低 for "high value?")."""
    if v is None:
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | float | np.integer | np.floating) and float(v) in (0.0, 1.0):
        return bool(v)
    if isinstance(v, str):
        s = _normalize_text(v).upper()
        if not s:
            return None
        if is_error_text(v):
            raise error_cell(v, field)
        if s in _TRUE or s in true_words:
            return True
        if s in _FALSE or s in false_words:
            return False
    raise RuleInputError(f"{field}应为 是/否（TRUE/FALSE）：{show(v)}", field=field, value=v)


def integer(v: Any, field: str) -> int | None:
    """A cell as a whole number (``None`` when empty)."""
    x = number(v, field)
    if x is None:
        return None
    if x != x or x in (float("inf"), float("-inf")) or x != int(x):
        raise RuleInputError(f"{field}须为整数：{show(x)}", field=field, value=v)
    return int(x)


def number_column(cells: list[Any], field: str
                  ) -> tuple[np.ndarray, dict[int, RuleInputError], list[int]]:
    """A column of cells as floats: NaN where a cell is not a number (its error in the dict) and
    NaN for empty cells (their positions in the list: the caller decides what empty means).

    Fast path: a column of Python floats/ints (what Excel passes for numbers) goes to numpy in
    one call.
    """
    kinds = set(map(type, cells))
    if kinds <= {float, int}:
        return np.array(cells, dtype=np.float64), {}, []
    values: list[float] = []
    errors: dict[int, RuleInputError] = {}
    empty: list[int] = []
    nan = float("nan")
    for i, v in enumerate(cells):
        t = type(v)
        if t is float or t is int:
            values.append(v)
            continue
        if v is None:
            empty.append(i)
            values.append(nan)
            continue
        try:
            x = number(v, field)
        except RuleInputError as e:
            errors[i] = e
            values.append(nan)
            continue
        if x is None:
            empty.append(i)
            values.append(nan)
        else:
            values.append(x)
    return np.array(values, dtype=np.float64), errors, empty
