"""Check 1 of the audit: formula results recomputed.

Every cell whose formula calls one of our Excel functions (``rules.functions.CATALOGUE``) is
recomputed from its argument cells by calling the function itself — the same Python the cell
runs in Excel, so the audit and the cell cannot disagree in logic — and compared with the value
Excel cached. Formulas we can recompute are one call of one of our functions whose arguments are
cell references (A1, $A$1, 客户!A1, ranges), text, numbers, TRUE/FALSE or omitted; anything more
(nested functions, operators, names) is listed as not checked with the reason, never passed
(the formula text: ``formula_syntax``; one call computed: ``evaluation``).

Cells of one column share one formula in relative form (``CLIENT_TIER(F7,G7)`` in row 7 is
``CLIENT_TIER(RC[-9],RC[-8])``); such a group is recomputed with one range call, the way a
whole-column formula would run in Excel.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..xlsxio import CellError, SheetData
from .evaluation import (
    DATE_ARGS,
    TIER_FUNCTIONS,
    Context,
    arg_values,
    cell_value,
    constant_arg,
    evaluate,
    explain_tier,
    parameters,
    ref_source,
    rulebook_of,
    same,
    shown,
)
from .formula_syntax import (
    Call,
    Complex,
    Ref,
    a1,
    calls_ours,
    parse,
    pattern_text,
    plain_form,
    relative,
)
from .functions import function, is_error_text, risk_class_decision
from .model import CHECK_FORMULA, INFO, SEVERE, WARN, Finding, NotChecked


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
                       a1(fc.row, fc.col), cid, cached_s, computed_s,
                       head + "：该函数省略了日期参数，结果随计算日期变化，缓存值是上次重算当天的结果",
                       rule, ref)
    if cached_s == "" and is_error_text(computed_s):
        return Finding(INFO, CHECK_FORMULA, "formula_not_computed", fc.sheet,
                       a1(fc.row, fc.col), cid, cached_s, computed_s,
                       head + "：缓存值为空（文件生成时未计算），Excel 重算后将显示该错误说明，两者都不是有效结果",
                       rule, ref)
    if after_run:
        return Finding(WARN, CHECK_FORMULA, "formula_stale_after_run", fc.sheet,
                       a1(fc.row, fc.col), cid, cached_s, computed_s,
                       head + "：公式引用了重评级写入的单元格，而文件是重评级在 Excel 之外保存的"
                       "（标记为打开时全部重算）：Excel 打开后将显示重算值。请在 Excel 中打开并保存后再审计",
                       rule, ref)
    if isinstance(cached, CellError) and cached.text == "#NAME?":
        return Finding(WARN, CHECK_FORMULA, "formula_name_error", fc.sheet,
                       a1(fc.row, fc.col), cid, cached_s, computed_s,
                       head + "：保存时未加载客户分级加载项（#NAME?），单元格没有显示公式结果",
                       rule, ref)
    return Finding(SEVERE, CHECK_FORMULA, "formula_mismatch", fc.sheet, a1(fc.row, fc.col),
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
                last[c] = (key, pattern_text(key), ours)
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
    rep.not_checked.append(NotChecked(fc.sheet, a1(fc.row, fc.col), "=" + fc.formula, reason))
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
                    f"（数组公式 {a1(fc.row, fc.col)} 的溢出区域）"))
        return
    _record(rep, fc, cached, result, dated, ctx, data, client_of)


def _check_group(rep: FormulaReport, call: Call, cells: list[FormulaCell], data: SheetData,
                 ctx: Context, client_of: Callable[[str, int], str]) -> None:
    """A whole group of cells sharing one relative formula: one range call of the function."""
    defaults, _ = parameters(call.name)
    cols: list[Any] = []
    for p, (kind, a) in enumerate(call.args):
        if kind in ("lit", "missing"):
            cols.append(constant_arg(kind, a, p, defaults))
            continue
        try:
            src = ref_source(a, data, ctx)
        except Complex as e:  # a sheet that does not exist
            for fc in cells:
                _not_checked(rep, fc, str(e))
            return
        column: list[list[Any]] = []
        for fc in cells:
            r1, c1, _, _ = a.at(fc.row, fc.col)
            column.append(["#REF!"] if r1 < 1 or c1 < 1 else [cell_value(src.value(r1, c1))])
        cols.append(column)
    if len(cols) < len(defaults):
        cols += [None if d is inspect.Parameter.empty else d for d in defaults[len(cols):]]
    rid = rulebook_of(call, [c if not isinstance(c, list) else None for c in cols])
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

