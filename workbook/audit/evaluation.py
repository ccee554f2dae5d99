"""Check 1's evaluation: one call of our functions computed at a cell by the function itself,
with the values of its argument cells (``Context`` holds the sheets and the audit date), and the
values compared as Excel caches them (:func:`shown`, :func:`same`)."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from rules import RuleError, rulebook_ids, version_in_force

from ..xlsxio import CellError, SheetData
from .formula_syntax import Call, Complex, Ref
from .functions import decide, function, rulebook_id, tier_rulebook

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
def parameters(name: str) -> tuple[tuple[Any, ...], bool]:
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


def constant_arg(kind: str, a: Any, p: int, defaults: tuple[Any, ...]) -> Any:
    """A literal argument, or an omitted one (the function's default; None without one)."""
    if kind == "lit":
        return a
    d = defaults[p] if p < len(defaults) else None
    return None if d is inspect.Parameter.empty else d


def ref_source(ref: Ref, sheet: SheetData, ctx: Context) -> SheetData:
    """The sheet a reference written in ``sheet`` reads; raises :class:`Complex` when it does
    not exist."""
    src = ctx.sheet(ref.sheet) if ref.sheet else sheet
    if src is None:
        raise Complex(f"引用的工作表“{ref.sheet}”不存在")
    return src


def arg_values(call: Call, sheet: SheetData, ctx: Context, row: int, col: int) -> list[Any]:
    defaults, var = parameters(call.name)
    out: list[Any] = []
    for p, (kind, a) in enumerate(call.args):
        if kind in ("lit", "missing"):
            out.append(constant_arg(kind, a, p, defaults))
        else:
            src = ref_source(a, sheet, ctx)
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


def rulebook_of(call: Call, values: list[Any]) -> str | None:
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
    rid = rulebook_of(call, values)
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
