"""One formula cell audited on its own (``client-rating audit`` of a single address, the
self-test): its formula, cached and recomputed value, and for our rating functions the rule,
rulebook@version, the ``TIER_EXPLAIN`` text and ``RULES_VERSION``'s text."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..schema import WorkbookError
from ..xlsxio import SheetData, col_index
from .evaluation import (
    RULEBOOK_ARG,
    TIER_FUNCTIONS,
    Context,
    arg_values,
    evaluate,
    explain_tier,
    same,
)
from .evaluation import shown as shown_value
from .formula_syntax import Complex, parse, plain_form, relative
from .functions import function, risk_class_decision


@dataclass(frozen=True)
class CellAudit:
    """What the audit finds for one formula cell: its formula, the value cached and the value
    recomputed, and for our rating functions the rule, rulebook@version and explanation (the
    text ``TIER_EXPLAIN`` gives for the same arguments) and ``RULES_VERSION``'s text."""

    sheet: str
    cell: str
    formula: str
    cached: Any
    computed: Any
    status: str  # ok / mismatch / not_checked / no_formula
    rule: str = ""
    rulebook: str = ""
    reason: str = ""
    version: str = ""
    note: str = ""


_ADDR = re.compile(r"\s*(?:'((?:[^']|'')+)'|([^!]+))!\$?([A-Za-z]{1,3})\$?(\d+)\s*")


def explain_cell(sheets: Mapping[str, SheetData], address: str, *,
                 as_of: dt.date | None = None) -> CellAudit:
    """Audit one cell given as ``客户!O7`` (or ``'客户'!O7``)."""

    m = _ADDR.fullmatch(address)
    if not m:
        raise ValueError(f"单元格地址 {address!r} 无法识别（应为 客户!O7）")
    name = (m.group(1) or "").replace("''", "'") or m.group(2).strip()
    cell = f"{m.group(3).upper()}{m.group(4)}"
    ctx = Context(sheets, as_of or dt.date.today())
    data = ctx.sheet(name)
    if data is None:
        raise WorkbookError(f"没有工作表“{name}”")
    r, c = int(m.group(4)), col_index(m.group(3).upper())
    cached = data.value(r, c)
    f = data.formulas.get((r, c))
    if f is None:
        return CellAudit(data.name, cell, "", shown_value(cached), None, "no_formula")
    try:
        call = parse(*relative(plain_form(f), r, c))
        result, _dated = evaluate(call, data, ctx, r, c)
    except Complex as e:
        return CellAudit(data.name, cell, "=" + f, shown_value(cached), None, "not_checked",
                         note=str(e))
    if isinstance(result, list):
        result = result[0][0] if result and result[0] else None
    status = "ok" if same(cached, result) else "mismatch"
    rule = ref = reason = version = ""

    values = arg_values(call, data, ctx, r, c)
    if call.name in TIER_FUNCTIONS:
        rule, ref, reason = explain_tier(call, values)
    elif call.name == "RISK_CLASS":
        d = risk_class_decision(values)
        if d is not None:
            rule, ref, reason = d.rule_id, d.rulebook_ref, d.reason
    spec = RULEBOOK_ARG.get(call.name)
    if spec is not None:
        pos, default = spec
        rb_arg = values[pos] if pos is not None and pos < len(values) else default
        version = str(function("RULES_VERSION")(rb_arg if rb_arg not in (None, "") else default))
    return CellAudit(data.name, cell, "=" + f, shown_value(cached), shown_value(result), status,
                     rule, ref, reason, version)
