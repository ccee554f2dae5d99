"""Check 2 of the audit: formulas overwritten by constants, or changed, in a column of formulas.

In a column of formulas (most non-empty cells of the column hold a formula, or the template's
计算级别 column), a cell holding a constant instead of the formula, or a formula different from
the column's, is a finding; its supported value is the column's formula evaluated at that row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..xlsxio import SheetData, col_letter
from .evaluation import TIER_FUNCTIONS, Context, arg_values, evaluate, explain_tier, same, shown
from .formula import FormulaCell, FormulaReport
from .formula_syntax import Call, Complex, Ref, a1, calls_ours, parse, pattern_text, relative
from .model import CHECK_OVERWRITE, INFO, SEVERE, WARN, Finding

#: the template's formula column (workbook/template.py): checked even when no formula is left
TIER_FORMULA_HEADER = "计算级别"


@dataclass(frozen=True)
class FormulaColumn:
    """A column of one formula: the rows checked, the formula in relative form (``key``, see
    ``formula_syntax.relative``), how many cells of the rows hold it, the formula cells of the
    rows by row, and the column's values (from row 2)."""

    sheet: str
    col: int
    rows: list[int]
    key: tuple[str, tuple[Ref, ...]]
    n_same: int
    cells: dict[int, FormulaCell]
    values: list[Any]


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
        column = formula_column(name, ctx.sheets[name], col, fcs, rep.spill, client_rows.get(name),
                                default_patterns.get((name, col)))
        if column is not None:
            findings += column_findings(ctx, rep, column, name in client_rows, client_of)
    return findings


def formula_column(name: str, data: SheetData, col: int, fcs: list[FormulaCell],
                   spill: set[tuple[str, int, int]], rows: list[int] | None,
                   pattern_src: str | None) -> FormulaColumn | None:
    """Column ``col`` of sheet ``name`` (``data``) as a column of one formula, or None when it is not one:
    fewer than two cells share the most common formula, it is not the formula of most formula
    cells, or fewer than half the filled cells are formulas (or spill area). With
    ``pattern_src`` (the template's formula, ``{r}`` for the row) it always is one."""
    if rows is None:
        if len(fcs) < 2:
            return None
        lo, hi = min(f.row for f in fcs), max(f.row for f in fcs)
        rows = list(range(lo, hi + 1))
    row_set = set(rows)
    in_region = [f for f in fcs if f.row in row_set]
    if in_region:
        dominant, n_dom = Counter(f.key for f in in_region).most_common(1)[0]
    elif pattern_src is not None:
        dominant, n_dom = None, 0
    else:
        return None
    column = data.columns[col - 1] if col <= data.n_cols else []
    non_empty = [r for r in rows if r - 2 < len(column) and _filled(column[r - 2])]
    derived = sum(1 for r in non_empty if (r, col) in data.formulas or (name, r, col) in spill)
    if pattern_src is None and (n_dom < 2 or n_dom * 2 <= len(in_region)
                                or derived * 2 < len(non_empty)):
        return None  # not a column of one formula
    if dominant is None:
        assert pattern_src is not None
        r0 = rows[0] if rows else 2
        dominant = relative(pattern_src.format(r=r0), r0, col)
    return FormulaColumn(name, col, rows, dominant, n_dom, {f.row: f for f in in_region},
                         column)


def column_findings(ctx: Context, rep: FormulaReport, fcol: FormulaColumn, client_sheet: bool,
                    client_of: Callable[[str, int], str]) -> list[Finding]:
    """Every cell of a column of one formula that holds another formula (``formula_changed``),
    a constant (``overwritten_formula``) or, on a client sheet, nothing (``formula_missing``)."""
    name, col, dominant = fcol.sheet, fcol.col, fcol.key
    data = ctx.sheets[name]
    try:
        call = parse(*dominant) if calls_ours(dominant[0]) else None
    except Complex:
        call = None
    text_at = pattern_text(dominant)
    header = data.header[col - 1] if col <= len(data.header) else ""
    col_name = f"“{header}”列" if header else f"{col_letter(col)} 列"
    findings: list[Finding] = []
    for r in fcol.rows:
        if (name, r, col) in rep.spill:
            continue
        fc = fcol.cells.get(r)
        if fc is not None:
            if fc.key != dominant:
                findings.append(_inconsistent(ctx, data, fc, call, dominant, text_at, col_name,
                                              fcol.n_same, client_of))
            continue
        v = fcol.values[r - 2] if r - 2 < len(fcol.values) else None
        if not _filled(v):
            if client_sheet:
                findings.append(Finding(
                    INFO, CHECK_OVERWRITE, "formula_missing", name, a1(r, col),
                    client_of(name, r), "", "=" + text_at(r, col),
                    f"{col_name}其他行是公式，本行为空：公式被清除或新增行未填公式"))
            continue
        findings.append(_overwritten(ctx, data, r, col, v, call, text_at, col_name, client_of))
    return findings


def _filled(v: Any) -> bool:
    return v is not None and not (isinstance(v, str) and not v.strip())

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
        return Finding(WARN, CHECK_OVERWRITE, "overwritten_formula", data.name, a1(r, c),
                       client_of(data.name, r), found, formula,
                       f"{where}，本单元格却是手工输入的值 {found!r}（无法离线重算该公式）")
    if same(v, expected):
        return Finding(INFO, CHECK_OVERWRITE, "overwritten_formula", data.name, a1(r, c),
                       client_of(data.name, r), found, expected,
                       f"{where}，本单元格却是值 {found!r}；该值目前与公式结果一致，"
                       "但不会随数据变化而更新")
    rule, ref, basis = _basis(ctx, data, call, r, c)
    return Finding(SEVERE, CHECK_OVERWRITE, "overwritten_formula", data.name, a1(r, c),
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
        return Finding(SEVERE, CHECK_OVERWRITE, "formula_changed", data.name, a1(r, c),
                       client_of(data.name, r), own, expected,
                       text + f"：结果 {own!r} 而非 {expected!r}{basis}", rule, ref)
    return Finding(WARN, CHECK_OVERWRITE, "formula_changed", data.name, a1(r, c),
                   client_of(data.name, r), own, expected if expected is not None else formula,
                   text + "（目前结果相同）" if expected is not None else text)
