"""Checks 1 and 2 of the audit: formula results recomputed, overwritten formulas.

Check 1. Every cell whose formula calls one of our Excel functions (``rules.functions.CATALOGUE``) is
recomputed from its argument cells by calling the function itself — the same Python the cell
runs in Excel, so the audit and the cell cannot disagree in logic — and compared with the value
Excel cached. Formulas we can recompute are one call of one of our functions whose arguments are
cell references (A1, $A$1, 客户!A1, ranges), text, numbers, TRUE/FALSE or omitted; anything more
(nested functions, operators, names) is listed as not checked with the reason, never passed.

Cells of one column share one formula in relative form (``CLIENT_TIER(F7,G7)`` in row 7 is
``CLIENT_TIER(RC[-9],RC[-8])``); such a group is recomputed with one range call, the way a
whole-column formula would run in Excel.

Check 2. In a column of formulas (most non-empty cells of the column hold a formula, or the
template's 计算级别 column), a cell holding a constant instead of the formula, or a formula
different from the column's, is a finding; its supported value is the column's formula
evaluated at that row.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from rules import RuleError, rulebook_ids, version_in_force

from ..xlsxio import CellError, SheetData, col_index, col_letter
from .functions import (
    FUNCTION_NAMES,
    decide,
    function,
    is_error_text,
    risk_class_decision,
    rulebook_id,
    tier_rulebook,
)
from .model import (
    CHECK_FORMULA,
    CHECK_OVERWRITE,
    INFO,
    SEVERE,
    WARN,
    Finding,
    NotChecked,
)

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

#: functions whose result depends on the day of calculation when their date argument is
#: omitted (position of that argument)
DATE_ARGS = {"SERVICE_PACKAGE": 3, "REVIEW_DUE": 1, "RULES_VERSION": 1, "FOLLOW_UP": 3,
             "INVESTOR_LEVEL": 3}
#: rulebook argument position and default rulebook of the functions that rate with a rulebook
RULEBOOK_ARG = {"CLIENT_TIER": (2, "brokerage"), "TIER_EXPLAIN": (2, "brokerage"),
                "QUARTER_TIER": (3, "brokerage"), "RISK_CLASS": (1, "risk-class"),
                "ASSET_TURNOVER_CLASS": (None, "asset-turnover"),
                "RULES_VERSION": (0, "brokerage")}
TIER_FUNCTIONS = ("CLIENT_TIER", "TIER_EXPLAIN", "QUARTER_TIER")
#: the template's formula column (workbook/template.py): checked even when no formula is left
TIER_FORMULA_HEADER = "计算级别"


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


# ------------------------------------------------------------------------------ evaluation


def cell_value(v: Any) -> Any:
    """A cell value as xlwings hands it to a function declared ``err_to_str=True``."""
    if isinstance(v, CellError):
        return v.text
    return v


def shown(v: Any) -> Any:
    """A function's result as Excel caches it (xlwings writes None as "")."""
    if v is None:
        return ""
    if isinstance(v, CellError):
        return v.text
    if isinstance(v, np.generic):
        return v.item()
    return v


def same(cached: Any, computed: Any) -> bool:
    a, b = shown(cached), shown(computed)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b) or abs(float(a) - float(b)) <= 1e-9 * max(abs(a), abs(b))
    if isinstance(a, dt.datetime) and isinstance(b, dt.date):
        return a == b if isinstance(b, dt.datetime) else a.date() == b and a.time() == dt.time()
    return type(a) is type(b) and a == b


@lru_cache(maxsize=64)
def _params(name: str) -> tuple[tuple[Any, ...], bool]:
    """Defaults of a function's parameters (``inspect._empty`` when none) and whether it takes
    ``*args``."""
    sig = inspect.signature(function(name))
    defaults = []
    var = False
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            var = True
            break
        defaults.append(p.default)
    return tuple(defaults), var


@dataclass
class Context:
    """What the evaluation needs: the sheets by name, the audit date, rulebooks whose version
    on the audit date differs from today's (Excel can only compute with today's)."""

    sheets: Mapping[str, SheetData]
    as_of: dt.date
    today: dt.date = field(default_factory=dt.date.today)
    #: (sheet, column) the re-rating job writes, when the file is marked to be recalculated
    #: on open (the job's headless save): formulas reading them may legitimately be stale
    job_columns: set[tuple[str, int]] = field(default_factory=set)
    _folded: dict[str, SheetData] = field(default_factory=dict)
    _differs: set[str] | None = None

    def sheet(self, name: str) -> SheetData | None:
        if not self._folded:
            self._folded = {k.strip().casefold(): v for k, v in self.sheets.items()}
        return self._folded.get(name.strip().casefold())

    def versions_differ(self) -> set[str]:
        if self._differs is None:
            out: set[str] = set()
            if self.as_of != self.today:
                for rid in rulebook_ids():
                    try:
                        a = version_in_force(rid, self.as_of)[0].version
                    except RuleError:
                        a = None
                    try:
                        b = version_in_force(rid, self.today)[0].version
                    except RuleError:
                        b = None
                    if a != b:
                        out.add(rid)
            self._differs = out
        return self._differs


def _constant_arg(kind: str, a: Any, p: int, defaults: tuple[Any, ...]) -> Any:
    """A literal argument, or an omitted one (the function's default; None without one)."""
    if kind == "lit":
        return a
    d = defaults[p] if p < len(defaults) else None
    return None if d is inspect.Parameter.empty else d


def arg_values(call: Call, sheet: SheetData, ctx: Context, row: int, col: int) -> list[Any]:
    defaults, var = _params(call.name)
    out: list[Any] = []
    for p, (kind, a) in enumerate(call.args):
        if kind in ("lit", "missing"):
            out.append(_constant_arg(kind, a, p, defaults))
        else:
            src = ctx.sheet(a.sheet) if a.sheet else sheet
            if src is None:
                raise Complex(f"引用的工作表“{a.sheet}”不存在")
            r1, c1, r2, c2 = a.at(row, col)
            if r1 < 1 or c1 < 1:
                raise Complex("引用超出工作表范围（#REF!）")
            if a.is_range:
                if (r2 - r1 + 1) * (c2 - c1 + 1) > 2_000_000:
                    raise Complex("引用区域过大")
                out.append([[cell_value(src.value(r, c)) for c in range(c1, c2 + 1)]
                            for r in range(r1, r2 + 1)])
            else:
                out.append(cell_value(src.value(r1, c1)))
    if not var and len(out) < len(defaults):
        out += [None if d is inspect.Parameter.empty else d for d in defaults[len(out):]]
    return out


def _fill_date(call: Call, values: list[Any], ctx: Context) -> bool:
    """Fill an omitted date argument with the audit date (Excel uses the day of calculation).
    True when the function's result depends on that day."""
    p = DATE_ARGS.get(call.name)
    if p is None:
        return False
    omitted = p >= len(call.args) or call.args[p][0] == "missing"
    if omitted and ctx.as_of != ctx.today and p < len(values):
        values[p] = dt.datetime.combine(ctx.as_of, dt.time())
    return omitted


def _rulebook_of(call: Call, values: list[Any]) -> str | None:
    spec = RULEBOOK_ARG.get(call.name)
    if spec is None:
        return None
    pos, default = spec
    v = values[pos] if pos is not None and pos < len(values) else None
    try:
        return rulebook_id(v, default)
    except RuleError:
        return None


def evaluate(call: Call, sheet: SheetData, ctx: Context, row: int, col: int) -> tuple[Any, bool]:
    """(result, date_dependent) of the call in (row, col), computed by the function itself.
    Raises :class:`Complex` when it cannot be computed faithfully."""
    values = arg_values(call, sheet, ctx, row, col)
    dated = _fill_date(call, values, ctx)
    rid = _rulebook_of(call, values)
    if rid is not None and rid in ctx.versions_differ():
        raise Complex(f"审计日 {ctx.as_of} 生效的 {rid} 规则版本与今天不同，Excel 函数按今天的版本计算")
    return function(call.name)(*values), dated


def explain_tier(call: Call, values: list[Any]) -> tuple[str, str, str]:
    """(rule id, rulebook@version, TIER_EXPLAIN text) for a tier function's arguments, from the
    same code the Excel functions run; empty strings where the inputs are not valid."""
    k = 1 if call.name == "QUARTER_TIER" else 0
    assets, revenue = values[k], values[k + 1]
    rb_arg = values[k + 2] if len(values) > k + 2 else "brokerage"
    reason = shown(function("TIER_EXPLAIN")(assets, revenue, rb_arg))
    try:
        d = decide(tier_rulebook(rb_arg), cell_value(assets), cell_value(revenue))
    except RuleError:
        return "", "", str(reason)
    return d.rule_id, d.rulebook_ref, str(reason)


# ------------------------------------------------------------------------------ check 1


@dataclass
class FormulaCell:
    sheet: str
    row: int
    col: int
    formula: str
    key: tuple[str, tuple[Ref, ...]] | None  # relative form (None: not ours)
    call: Call | None = None
    status: str = ""  # ok, mismatch, not_checked, other
    computed: Any = None
    reason: str = ""


@dataclass
class FormulaReport:
    findings: list[Finding] = field(default_factory=list)
    not_checked: list[NotChecked] = field(default_factory=list)
    cells: dict[tuple[str, int, int], FormulaCell] = field(default_factory=dict)
    spill: set[tuple[str, int, int]] = field(default_factory=set)
    stats: Counter = field(default_factory=Counter)


def _addr(row: int, col: int) -> str:
    return f"{col_letter(col)}{row}"


def _reads_job_columns(fc: FormulaCell, ctx: Context) -> bool:
    if not ctx.job_columns or fc.key is None:
        return False
    for ref in fc.key[1]:
        sheet = ref.sheet or fc.sheet
        _r1, c1, _r2, c2 = ref.at(fc.row, fc.col)
        if any((s, c) in ctx.job_columns for s in (sheet,) for c in range(c1, c2 + 1)):
            return True
    return False


def _mismatch_finding(fc: FormulaCell, cached: Any, computed: Any, dated: bool,
                      values: list[Any] | None, client_of: Callable[[str, int], str],
                      where: str = "", after_run: bool = False) -> Finding:
    cached_s, computed_s = shown(cached), shown(computed)
    rule = ref = ""
    extra = ""
    if fc.call is not None and fc.call.name in TIER_FUNCTIONS and values is not None:
        rule, ref, reason = explain_tier(fc.call, values)
        extra = f"；依据：{reason}"
    elif fc.call is not None and fc.call.name == "RISK_CLASS" and values is not None:
        d = risk_class_decision(values)
        if d is not None:
            rule, ref = d.rule_id, d.rulebook_ref
            extra = f"；依据：{d.reason}"
    cid = client_of(fc.sheet, fc.row)
    head = f"={fc.formula}{where} 按现行规则重算为 {computed_s!r}，而单元格缓存的值为 {cached_s!r}"
    if dated:
        return Finding(INFO, CHECK_FORMULA, "formula_date_dependent", fc.sheet,
                       _addr(fc.row, fc.col), cid, cached_s, computed_s,
                       head + "：该函数省略了日期参数，结果随计算日期变化，缓存值是上次重算当天的结果",
                       rule, ref)
    if cached_s == "" and is_error_text(computed_s):
        return Finding(INFO, CHECK_FORMULA, "formula_not_computed", fc.sheet,
                       _addr(fc.row, fc.col), cid, cached_s, computed_s,
                       head + "：缓存值为空（文件生成时未计算），Excel 重算后将显示该错误说明，两者都不是有效结果",
                       rule, ref)
    if after_run:
        return Finding(WARN, CHECK_FORMULA, "formula_stale_after_run", fc.sheet,
                       _addr(fc.row, fc.col), cid, cached_s, computed_s,
                       head + "：公式引用了重评级写入的单元格，而文件是重评级在 Excel 之外保存的"
                       "（标记为打开时全部重算）：Excel 打开后将显示重算值。请在 Excel 中打开并保存后再审计",
                       rule, ref)
    if isinstance(cached, CellError) and cached.text == "#NAME?":
        return Finding(WARN, CHECK_FORMULA, "formula_name_error", fc.sheet,
                       _addr(fc.row, fc.col), cid, cached_s, computed_s,
                       head + "：保存时未加载客户分级加载项（#NAME?），单元格没有显示公式结果",
                       rule, ref)
    return Finding(SEVERE, CHECK_FORMULA, "formula_mismatch", fc.sheet, _addr(fc.row, fc.col),
                   cid, cached_s, computed_s,
                   head + "：缓存值已过期或被改动" + extra, rule, ref)


def check_formulas(ctx: Context, skip: set[str],
                   client_of: Callable[[str, int], str]) -> FormulaReport:
    """Check 1 over every sheet of ``ctx.sheets`` (except those in ``skip``)."""
    rep = FormulaReport()
    groups: dict[tuple[str, str, tuple[Ref, ...]], list[FormulaCell]] = {}
    arrays: list[FormulaCell] = []
    for name, data in ctx.sheets.items():
        if name in skip:
            continue
        # the last relative form seen in each column, and its text function: a cell whose
        # formula reads the same at its row shares it (no tokenizing down a filled column)
        last: dict[int, tuple[tuple[str, tuple[Ref, ...]], Callable[[int, int], str], bool]] = {}
        for (r, c), f in data.formulas.items():
            rep.stats["formulas"] += 1
            f = plain_form(f)
            prev = last.get(c)
            if prev is not None and prev[1](r, c) == f:
                key, ours = prev[0], prev[2]
            else:
                key, ours = relative(f, r, c), calls_ours(f)
                last[c] = (key, _pattern_text(key), ours)
            if not ours:
                rep.cells[(name, r, c)] = FormulaCell(name, r, c, f, key, None, "other")
                rep.stats["other_formulas"] += 1
                continue
            fc = FormulaCell(name, r, c, f, key)
            rep.cells[(name, r, c)] = fc
            groups.setdefault((name, *key), []).append(fc)
    for (name, skeleton, refs), cells in groups.items():
        data = ctx.sheets[name]
        rep.stats["ours"] += len(cells)
        try:
            call = parse(skeleton, refs)
        except Complex as e:
            for fc in cells:
                _not_checked(rep, fc, str(e))
            continue
        for fc in cells:
            fc.call = call
        if call.has_range:
            arrays += cells
        elif len(cells) == 1 or call.name in DATE_ARGS or call.name == "RISK_SCORE":
            for fc in cells:
                _check_one(rep, fc, data, ctx, client_of)
        else:
            _check_group(rep, call, cells, data, ctx, client_of)
    # range arguments: anchors first (top-left), so that the cells of their spill area are
    # known before they are met (Excel reports the anchor's formula for them too)
    for fc in sorted(arrays, key=lambda f: (f.sheet, f.row, f.col)):
        if not fc.status:
            _check_one(rep, fc, ctx.sheets[fc.sheet], ctx, client_of)
    return rep


def _not_checked(rep: FormulaReport, fc: FormulaCell, reason: str) -> None:
    fc.status, fc.reason = "not_checked", reason
    rep.not_checked.append(NotChecked(fc.sheet, _addr(fc.row, fc.col), "=" + fc.formula, reason))
    rep.stats["not_checked"] += 1


def _record(rep: FormulaReport, fc: FormulaCell, cached: Any, computed: Any, dated: bool,
            ctx: Context, data: SheetData, client_of: Callable[[str, int], str]) -> None:
    fc.computed = computed
    if same(cached, computed):
        fc.status = "ok"
        rep.stats["ok"] += 1
        return
    fc.status = "mismatch"
    rep.stats["mismatch"] += 1
    values = None
    if fc.call is not None and fc.call.name in (*TIER_FUNCTIONS, "RISK_CLASS"):
        try:
            values = arg_values(fc.call, data, ctx, fc.row, fc.col)
        except Complex:
            values = None
    rep.findings.append(_mismatch_finding(fc, cached, computed, dated, values, client_of,
                                          after_run=_reads_job_columns(fc, ctx)))


def _check_one(rep: FormulaReport, fc: FormulaCell, data: SheetData, ctx: Context,
               client_of: Callable[[str, int], str]) -> None:
    assert fc.call is not None
    try:
        result, dated = evaluate(fc.call, data, ctx, fc.row, fc.col)
    except Complex as e:
        _not_checked(rep, fc, str(e))
        return
    cached = data.value(fc.row, fc.col)
    if isinstance(result, list):  # an array result: the anchor, then the spill range
        grid = result
        _record(rep, fc, cached, grid[0][0] if grid and grid[0] else None, dated, ctx, data,
                client_of)
        for i, line in enumerate(grid):
            for j, v in enumerate(line):
                if i == 0 and j == 0:
                    continue
                r, c = fc.row + i, fc.col + j
                child = None
                if (r, c) in data.formulas:
                    child = rep.cells.get((fc.sheet, r, c))
                    if data.formulas[(r, c)] != fc.formula or child is None or child.status:
                        continue  # a formula of its own
                got = data.value(r, c)
                if got is None and child is None:
                    continue  # not spilled (legacy Excel shows the first value only)
                rep.spill.add((fc.sheet, r, c))
                rep.stats["spill_cells"] += 1
                if child is not None:  # the open workbook reports the anchor's formula here
                    child.call, child.computed = fc.call, v
                    child.status = "ok" if same(got, v) else "mismatch"
                    rep.stats[child.status] += 1
                    if child.status == "ok":
                        continue
                elif same(got, v):
                    continue
                if child is None:
                    rep.stats["spill_mismatch"] += 1
                spill = FormulaCell(fc.sheet, r, c, fc.formula, fc.key, fc.call, "mismatch")
                rep.findings.append(_mismatch_finding(
                    spill, got, v, dated, None, client_of,
                    f"（数组公式 {_addr(fc.row, fc.col)} 的溢出区域）"))
        return
    _record(rep, fc, cached, result, dated, ctx, data, client_of)


def _check_group(rep: FormulaReport, call: Call, cells: list[FormulaCell], data: SheetData,
                 ctx: Context, client_of: Callable[[str, int], str]) -> None:
    """A whole group of cells sharing one relative formula: one range call of the function."""
    defaults, _ = _params(call.name)
    cols: list[Any] = []
    for p, (kind, a) in enumerate(call.args):
        if kind in ("lit", "missing"):
            cols.append(_constant_arg(kind, a, p, defaults))
        else:
            src = ctx.sheet(a.sheet) if a.sheet else data
            if src is None:
                for fc in cells:
                    _not_checked(rep, fc, f"引用的工作表“{a.sheet}”不存在")
                return
            column: list[list[Any]] = []
            for fc in cells:
                r1, c1, _, _ = a.at(fc.row, fc.col)
                if r1 < 1 or c1 < 1:
                    column.append(["#REF!"])
                else:
                    column.append([cell_value(src.value(r1, c1))])
            cols.append(column)
    if len(cols) < len(defaults):
        cols += [None if d is inspect.Parameter.empty else d for d in defaults[len(cols):]]
    rid = _rulebook_of(call, [c if not isinstance(c, list) else None for c in cols])
    if rid is not None and rid in ctx.versions_differ():
        for fc in cells:
            _not_checked(rep, fc, f"审计日 {ctx.as_of} 生效的 {rid} 规则版本与今天不同，"
                                  "Excel 函数按今天的版本计算")
        return
    if not any(isinstance(c, list) for c in cols):
        results = [function(call.name)(*cols)] * len(cells)
    else:
        out = function(call.name)(*cols)
        results = [row[0] for row in out] if isinstance(out, list) else [out] * len(cells)
    for fc, res in zip(cells, results, strict=True):
        _record(rep, fc, data.value(fc.row, fc.col), res, False, ctx, data, client_of)


# ------------------------------------------------------------------------------ check 2


def check_overwritten(ctx: Context, rep: FormulaReport, skip: set[str],
                      client_rows: Mapping[str, list[int]],
                      default_patterns: Mapping[tuple[str, int], str],
                      client_of: Callable[[str, int], str]) -> list[Finding]:
    """Check 2. ``client_rows[sheet]`` restricts a sheet to its client rows (客户: rows with a
    客户编号); elsewhere a column's region is its first to last formula row.
    ``default_patterns[(sheet, col)]`` is the formula a column should hold when it has none left
    (the template's 计算级别), with ``{r}`` for the row."""
    findings: list[Finding] = []
    by_col: dict[tuple[str, int], list[FormulaCell]] = {}
    for (name, _r, c), fc in rep.cells.items():
        by_col.setdefault((name, c), []).append(fc)
    for key in default_patterns:
        by_col.setdefault(key, [])
    for (name, col), fcs in by_col.items():
        if name in skip:
            continue
        data = ctx.sheets[name]
        rows = client_rows.get(name)
        if rows is None:
            if len(fcs) < 2:
                continue
            lo, hi = min(f.row for f in fcs), max(f.row for f in fcs)
            rows = list(range(lo, hi + 1))
        row_set = set(rows)
        in_region = [f for f in fcs if f.row in row_set]
        pattern_src = default_patterns.get((name, col))
        if in_region:
            dominant, n_dom = Counter(f.key for f in in_region).most_common(1)[0]
        elif pattern_src is not None:
            dominant, n_dom = None, 0
        else:
            continue
        column = data.columns[col - 1] if col <= data.n_cols else []
        non_empty = [r for r in rows if r - 2 < len(column) and _filled(column[r - 2])]
        derived = sum(1 for r in non_empty
                      if (r, col) in data.formulas or (name, r, col) in rep.spill)
        if pattern_src is None and (n_dom < 2 or n_dom * 2 <= len(in_region)
                                    or derived * 2 < len(non_empty)):
            continue  # not a column of one formula
        if dominant is None:
            assert pattern_src is not None
            r0 = rows[0] if rows else 2
            dominant = relative(pattern_src.format(r=r0), r0, col)
        try:
            call = parse(*dominant) if calls_ours(dominant[0]) else None
        except Complex:
            call = None
        text_at = _pattern_text(dominant)
        header = data.header[col - 1] if col <= len(data.header) else ""
        col_name = f"“{header}”列" if header else f"{col_letter(col)} 列"
        by_row = {f.row: f for f in in_region}
        for r in rows:
            if (name, r, col) in rep.spill:
                continue
            fc = by_row.get(r)
            if fc is not None:
                if fc.key == dominant:
                    continue
                findings.append(_inconsistent(ctx, data, fc, call, dominant, text_at, col_name,
                                              n_dom, client_of))
                continue
            v = column[r - 2] if r - 2 < len(column) else None
            if not _filled(v):
                if name in client_rows:
                    findings.append(Finding(
                        INFO, CHECK_OVERWRITE, "formula_missing", name, _addr(r, col),
                        client_of(name, r), "", "=" + text_at(r, col),
                        f"{col_name}其他行是公式，本行为空：公式被清除或新增行未填公式"))
                continue
            findings.append(_overwritten(ctx, data, r, col, v, call, text_at, col_name,
                                         client_of))
    return findings


def _filled(v: Any) -> bool:
    return v is not None and not (isinstance(v, str) and not v.strip())


def _pattern_text(key: tuple[str, tuple[Ref, ...]]) -> Callable[[int, int], str]:
    skeleton, refs = key

    def text(row: int, col: int) -> str:
        return _PLACE.sub(lambda m: refs[int(m.group(1))].text(row, col), skeleton)

    return text


def _expected(ctx: Context, data: SheetData, call: Call | None, r: int, c: int) -> Any:
    if call is None:
        return None
    try:
        result, _ = evaluate(call, data, ctx, r, c)
    except Complex:
        return None
    if isinstance(result, list):
        result = result[0][0] if result and result[0] else None
    return shown(result)


def _basis(ctx: Context, data: SheetData, call: Call | None, r: int, c: int
           ) -> tuple[str, str, str]:
    """(rule id, rulebook@version, "；依据：…") of a tier formula evaluated at (r, c)."""
    if call is None or call.name not in TIER_FUNCTIONS:
        return "", "", ""
    try:
        rule, ref, reason = explain_tier(call, arg_values(call, data, ctx, r, c))
    except Complex:
        return "", "", ""
    return rule, ref, (f"；依据：{reason}" if rule else "")


def _overwritten(ctx: Context, data: SheetData, r: int, c: int, v: Any, call: Call | None,
                 text_at: Callable[[int, int], str], col_name: str,
                 client_of: Callable[[str, int], str]) -> Finding:
    formula = "=" + text_at(r, c)
    expected = _expected(ctx, data, call, r, c)
    found = shown(v)
    where = f"{col_name}其他单元格是公式（本行应为 {formula}）"
    if expected is None:
        return Finding(WARN, CHECK_OVERWRITE, "overwritten_formula", data.name, _addr(r, c),
                       client_of(data.name, r), found, formula,
                       f"{where}，本单元格却是手工输入的值 {found!r}（无法离线重算该公式）")
    if same(v, expected):
        return Finding(INFO, CHECK_OVERWRITE, "overwritten_formula", data.name, _addr(r, c),
                       client_of(data.name, r), found, expected,
                       f"{where}，本单元格却是值 {found!r}；该值目前与公式结果一致，"
                       "但不会随数据变化而更新")
    rule, ref, basis = _basis(ctx, data, call, r, c)
    return Finding(SEVERE, CHECK_OVERWRITE, "overwritten_formula", data.name, _addr(r, c),
                   client_of(data.name, r), found, expected,
                   f"{where}（结果应为 {expected!r}），本单元格却被手工输入为 {found!r}{basis}",
                   rule, ref)


def _inconsistent(ctx: Context, data: SheetData, fc: FormulaCell, call: Call | None,
                  dominant: tuple[str, tuple[Ref, ...]], text_at: Callable[[int, int], str],
                  col_name: str, n_dom: int, client_of: Callable[[str, int], str]) -> Finding:
    r, c = fc.row, fc.col
    expected = _expected(ctx, data, call, r, c)
    own = shown(fc.computed) if fc.status in ("ok", "mismatch") else shown(data.value(r, c))
    formula = "=" + text_at(r, c)
    text = (f"{col_name}其他 {n_dom} 个单元格的公式为 {formula}（按本行），本单元格却是 "
            f"={fc.formula}")
    if expected is not None and not same(own, expected):
        rule, ref, basis = _basis(ctx, data, call, r, c)
        return Finding(SEVERE, CHECK_OVERWRITE, "formula_changed", data.name, _addr(r, c),
                       client_of(data.name, r), own, expected,
                       text + f"：结果 {own!r} 而非 {expected!r}{basis}", rule, ref)
    return Finding(WARN, CHECK_OVERWRITE, "formula_changed", data.name, _addr(r, c),
                   client_of(data.name, r), own, expected if expected is not None else formula,
                   text + "（目前结果相同）" if expected is not None else text)
