"""The auditor's toolkit (issue 5): prove every tier in a workbook, find what was typed over or
edited.

One core, two front ends. :func:`audit_book` works on sheets already read (``SheetData`` per
sheet: the file reader's, or :func:`workbook.grid.sheet_from_grid` over what xlwings reads
from the open workbook), so the CLI (``client-rating audit``) and the Excel button (审计检查 → sheet 审计) run
the same checks:

1. formula results recomputed with our functions and compared with Excel's cached values
   (``workbook.audit.formula``);
2. formulas overwritten by constants (or changed) in a column of formulas (same module);
3. each client's 当前级别 against the history, every history entry against the rules
   (``workbook.audit.tiers``);
4. the hash chain of 变更记录 and the tail hash in 汇总 (same module);
5. the written policy on the data: overrides without approver, 风险类别 vs the score's class,
   questionnaires older than two years, figures in a rule gap, suitability
   (``workbook.audit.policy``).

Nothing here writes to the audited workbook. :func:`findings_rows` gives the rows of the 审计
sheet the Excel button writes; ``workbook.audit.report`` prints the console report and writes
the ``--report`` workbook.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rules import get_rulebook, rulebook_ids
from rules.errors import show

from .. import suitability2017, summary
from ..schema import (
    CLIENT_SHEET_NAMES,
    HISTORY_SHEET_NAMES,
    OUTPUT_BY_KEY,
    SUMMARY_SHEET_NAMES,
    WorkbookError,
    input_columns,
    validate,
)
from ..transfers import TRANSFER_SHEET_NAMES, check_sheet
from ..xlsxio import SheetData, check_safe, col_index, col_letter, read_sheet, sheet_names
from ..xlsxio.package import parse_xml, read_workbook_info
from .chain import check_chain
from .changelog import logged_scores, parse_log, sheet_rows, tail_cell
from .evaluation import (
    RULEBOOK_ARG,
    TIER_FUNCTIONS,
    Context,
    arg_values,
    evaluate,
    explain_tier,
    same,
)
from .evaluation import (
    shown as shown_value,
)
from .formula import check_formulas
from .formula_syntax import Complex, parse, plain_form, relative
from .functions import function, risk_class_decision
from .model import (
    CHECK_FORMULA,
    CHECK_HISTORY,
    CHECK_POLICY,
    CHECKS,
    INFO,
    KIND_TITLES,
    NOT_CHECKED,
    SEVERE,
    SEVERITIES,
    WARN,
    AuditResult,
    Finding,
    NotChecked,
)
from .overwritten import TIER_FORMULA_HEADER, check_overwritten
from .policy import check_policy, check_rejections, risk_class_verdict
from .tiers import check_tiers, tier_context

#: The sheet the Excel button writes its findings to (never audited itself).
AUDIT_SHEET = "审计"
AUDIT_SHEET_NAMES = (AUDIT_SHEET, "Audit")

#: Header of the 审计 sheet (:func:`findings_rows`).
FINDINGS_HEADER = ["严重程度", "检查", "位置", "客户编号", "发现值", "应为", "说明", "规则编号",
                   "规则版本"]

__all__ = [
    "AUDIT_SHEET",
    "CHECKS",
    "FINDINGS_HEADER",
    "INFO",
    "NOT_CHECKED",
    "SEVERE",
    "SEVERITIES",
    "WARN",
    "AuditResult",
    "CellAudit",
    "Finding",
    "NotChecked",
    "audit_book",
    "audit_file",
    "explain_cell",
    "findings_rows",
    "overview",
    "read_workbook",
    "recalc_on_open",
    "summary_rows",
]


def _find(sheets: Mapping[str, Any], names: Sequence[str]) -> str | None:
    folded = {n.strip().casefold(): n for n in sheets}
    for n in names:
        if n.casefold() in folded:
            return folded[n.casefold()]
    return None


def read_workbook(path: str | os.PathLike[str]) -> dict[str, SheetData]:
    """Every worksheet of a file (except a previous 审计 sheet), after the safety check."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(2, "找不到文件", str(p))
    check_safe(p)
    out: dict[str, SheetData] = {}
    for name in sheet_names(p):
        if name.strip().casefold() in {n.casefold() for n in AUDIT_SHEET_NAMES}:
            continue
        out[name] = read_sheet(p, name)
    return out


def recalc_on_open(path: str | os.PathLike[str]) -> bool:
    """Whether the file asks Excel to recalculate every formula when it opens
    (``<calcPr fullCalcOnLoad="1"/>``, set by every headless save of the re-rating job)."""
    with zipfile.ZipFile(path) as zf:
        root = parse_xml(zf, read_workbook_info(zf).workbook_part)
    for el in root:
        if el.tag.rsplit("}", 1)[-1] == "calcPr":
            return el.get("fullCalcOnLoad", "0").lower() in ("1", "true")
    return False


def audit_file(path: str | os.PathLike[str], *, as_of: dt.date | None = None,
               rulebook: str | None = None) -> AuditResult:
    """Audit a workbook file (read only: the file is never modified). Raises XlsxError,
    WorkbookError, RuleError or OSError when the file cannot be read or audited."""
    sheets = read_workbook(path)
    return audit_book(sheets, as_of=as_of, rulebook=rulebook, path=os.fspath(path),
                      recalc_pending=recalc_on_open(path))


def _rulebook_id(sheets: Mapping[str, SheetData], clients: SheetData, runs: list[Any],
                 given: str | None) -> str:
    if given:
        return given
    if runs:
        ref = runs[-1].get("规则版本")
        if ref:
            return ref.partition("@")[0]
    c = clients.col_of("规则版本", "rulebook_ref")
    if c is not None:
        got = Counter(str(v).partition("@")[0].strip() for v in clients.columns[c - 1]
                      if isinstance(v, str) and "@" in v)
        if got:
            return got.most_common(1)[0][0]
    console = _find(sheets, ("控制台", "Control"))
    if console is not None:
        data = sheets[console]
        for r in range(1, min(data.n_rows, 30) + 1):
            if str(data.value(r, 1) or "").strip() == "规则":
                v = str(data.value(r, 2) or "").strip()
                if v in rulebook_ids():
                    return v
    return "brokerage"


def transfer_findings(sheets: Mapping[str, SheetData]) -> list[Finding]:
    """The optional sheet 转销户 checked against seed 003 (workbook.transfers), as 警告."""

    name = _find(sheets, TRANSFER_SHEET_NAMES)
    if name is None:
        return []
    return [Finding(WARN, CHECK_POLICY, "transfer_breach", name,
                    cell=f"{col_letter(f.col)}{f.row}" if f.col else "",
                    client_id=f.client_id,
                    found=f.value, explanation=f.message, rule="003")
            for f in check_sheet(sheets[name])]


def audit_book(sheets: Mapping[str, SheetData], *, as_of: dt.date | None = None,
               rulebook: str | None = None, path: str | None = None,
               recalc_pending: bool = False) -> AuditResult:
    """Audit a workbook from its sheets (name -> SheetData), see the module doc.

    ``as_of``: the audit date (default today) — questionnaire age, and the day formulas are
    recomputed for. ``rulebook``: the rulebook id of sheet 客户 (default: the last run's, else
    the 规则版本 column's, else 控制台's, else brokerage). ``recalc_pending``: the file was saved
    outside Excel marked "recalculate on open" (the job's headless runs): a formula reading a
    column the job writes may then be stale (警告, not 严重). Raises WorkbookError when there is no
    客户 sheet or no 客户编号 column, RuleError when the rulebook cannot be used."""
    as_of = as_of or dt.date.today()
    skip = {n for n in sheets if n.strip().casefold() in {a.casefold() for a in AUDIT_SHEET_NAMES}}
    sheets = {k: v for k, v in sheets.items() if k not in skip}
    cname = _find(sheets, CLIENT_SHEET_NAMES)
    if cname is None:
        raise WorkbookError("工作簿中没有“客户”工作表（也可命名为 Clients），不是客户分级工作簿。")
    clients = sheets[cname]
    hname = _find(sheets, HISTORY_SHEET_NAMES)
    sname = _find(sheets, SUMMARY_SHEET_NAMES)
    hist_rows = sheet_rows(sheets[hname]) if hname else []
    data_rows, first, runs = parse_log(hist_rows)

    rid = _rulebook_id(sheets, clients, runs, rulebook)
    rb = get_rulebook(rid, as_of)
    table = validate(clients, rb, as_of=as_of)
    res = AuditResult(as_of=as_of, rulebook=rb.ref, path=path)
    row_ids = {int(r): cid for r, cid in zip(table.rows.tolist(), table.client_id, strict=True)}

    def client_of(sheet: str, row: int) -> str:
        return row_ids.get(row, "") if sheet == cname else ""

    # 1 and 2: formulas
    ctx = Context(sheets, as_of)
    if recalc_pending:
        ctx.job_columns = {(cname, c) for k, c in table.cols.items()
                           if k in OUTPUT_BY_KEY or k in ("annual_tier", "computed_tier")}
    rep = check_formulas(ctx, set(), client_of)
    res.findings += rep.findings
    res.not_checked += rep.not_checked
    client_rows = {cname: [r for r, cid in row_ids.items() if cid]}
    defaults: dict[tuple[str, int], str] = {}
    tcol = clients.col_of(TIER_FORMULA_HEADER)
    # the per-row layout of earlier templates: its 计算级别 formulas are checked even where all
    # were overwritten by constants; today's template (and the job) write 计算级别 as values
    per_row = tcol is not None and any(c == tcol for (_r, c) in clients.formulas)
    if per_row and any(v is not None and v != "" for v in clients.columns[tcol - 1]):
        ins = input_columns(rb, table.cols, clients.header)
        if ins and ins[0]:
            second = ins[1] if len(ins) > 1 and ins[1] else None
            args = f"{col_letter(ins[0])}{{r}}" + (f",{col_letter(second)}{{r}}" if second else ",")
            rb_arg = "" if rb.id == "brokerage" else f',"{rb.id}"'
            defaults[(cname, tcol)] = f"CLIENT_TIER({args}{rb_arg})"
    over = check_overwritten(ctx, rep, set(), client_rows, defaults, client_of)
    logged = logged_scores(runs)
    over = [_job_written_class(f, table, rb, as_of, logged) for f in over]
    res.findings += over

    # 4: the history chain
    chain_ok = True
    if hname:
        srows = sheet_rows(sheets[sname]) if sname else []
        tail = summary.read_tail(srows)
        chain = check_chain(hname, data_rows, first, tail, sname, tail_cell(srows))
        res.findings += chain
        chain_ok = not chain
        if data_rows and tail is None:
            res.findings.append(Finding(
                WARN, CHECK_HISTORY, "history_no_tail", sname or "汇总",
                explanation=("汇总中没有“变更记录末行哈希”：无法发现整次运行（最后的记录）被删除"
                             if sname else "工作簿没有“汇总”工作表：无法发现整次运行被删除")))
    # 3: tiers in force
    tc = tier_context(table)
    if tc is not None:
        edited = frozenset(int(f.cell[1:]) for f in res.findings
                           if f.kind == "history_edited" and f.cell[1:].isdigit())
        found, notes = check_tiers(tc, runs, hname or "变更记录", as_of, chain_ok, edited)
        res.findings += found
        res.notes += notes
    else:
        res.notes.append("客户表没有“当前级别”列：不核对级别。")
    # 5: policy, and the rows the job rejects
    reported = {(f.row, f.cell) for f in res.findings if f.sheet == cname}
    skip_cells = {(r, c) for (name, r, c), fc in rep.cells.items()
                  if name == cname and fc.status == "mismatch"}
    skip_cells |= {(f.row, _col_of_cell(f.cell)) for f in over if f.sheet == cname and f.row}
    res.findings += check_policy(table, as_of, skip_cells=skip_cells, logged=logged)
    found, notes = suitability2017.audit_findings(sheets, table, as_of, runs)  # 产品购买 etc.
    res.findings += found
    res.notes += notes
    res.findings += [f for f in check_rejections(table, clients.col_of)
                     if (f.row, f.cell) not in reported]
    res.findings += transfer_findings(sheets)

    res.stats.update({
        "clients": len(table),
        "history_rows": len(data_rows),
        "runs": len(runs),
        "last_run": runs[-1].label if runs else "",
        "formulas": rep.stats["formulas"],
        "ours": rep.stats["ours"],
        "checked": rep.stats["ok"] + rep.stats["mismatch"],
        "ok": rep.stats["ok"],
        "mismatch": rep.stats["mismatch"],
        "not_checked": rep.stats["not_checked"],
        "other_formulas": rep.stats["other_formulas"],
        "spill_cells": rep.stats["spill_cells"],
        "sheets": list(sheets),
    })
    if rep.stats["ours"] and not rep.stats["not_checked"] and not rep.stats["mismatch"]:
        res.notes.insert(0, f"{rep.stats['ours']} 个调用本系统函数的公式单元格全部按现行规则重算，"
                            "与缓存值一致。")
    if hname and chain_ok and data_rows:
        res.notes.insert(0, f"变更记录哈希链完整（{len(data_rows)} 行，{len(runs)} 次运行），"
                            "末行哈希与汇总一致。")
    res.sort()
    return res


def _job_written_class(f: Finding, table: Any, rb: Any, as_of: dt.date,
                       logged: dict[str, tuple[float, int]]) -> Finding:
    """A constant in the template's =RISK_CLASS column may have been written by the job (it
    writes the class into rows without a formula, e.g. rows added later): when it differs from
    the formula's result, weigh it like any 风险类别 value against the logged score."""
    rc_col = table.cols.get("risk_class")
    if (f.kind != "overwritten_formula" or f.severity != SEVERE or f.sheet != table.data.name
            or rc_col is None or _col_of_cell(f.cell) != rc_col or f.row is None):
        return f

    idx = np.flatnonzero(table.rows == f.row)
    if not len(idx) or not np.isfinite(table.risk_score[idx[0]]):
        return f
    rc = get_rulebook("risk-class", as_of)
    sev, why = risk_class_verdict(str(f.found), float(table.risk_score[idx[0]]),
                                  logged.get(f.client_id), rc)
    return Finding(sev, f.check, f.kind, f.sheet, f.cell, f.client_id, f.found, f.supported,
                   f"{f.explanation}：{why}", f.rule, f.rulebook)


def _col_of_cell(cell: str) -> int:
    letters = "".join(ch for ch in cell.split(":")[0] if ch.isalpha())
    return col_index(letters) if letters else 0


# ------------------------------------------------------------------------------ one cell


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


# ------------------------------------------------------------------------------ rows


def _cell_text(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return show(v)
    if isinstance(v, str):
        return v
    return str(v)


def findings_rows(result: AuditResult) -> list[list[Any]]:
    """The rows of the 审计 sheet, header first: one row per finding (严重, 警告, 提示), then
    one row per formula cell that was not recomputed (严重程度 ``未检查``). Every value is text;
    ``位置`` is ``客户!N7`` (the Excel button may link it to ``Finding.link``)."""
    rows: list[list[Any]] = [list(FINDINGS_HEADER)]
    for f in result.findings:
        rows.append([f.severity, f.check, f.address, f.client_id, _cell_text(f.found),
                     _cell_text(f.supported), f.explanation, f.rule, f.rulebook])
    for nc in result.not_checked:
        rows.append([NOT_CHECKED, CHECK_FORMULA, nc.address, "", nc.formula, "", nc.reason, "",
                     ""])
    return rows


def overview(result: AuditResult) -> list[list[Any]]:
    """Counts per check and kind of finding: [检查, 类型, kind, 严重, 警告, 提示]."""
    counts: dict[tuple[str, str], Counter] = {}
    for f in result.findings:
        counts.setdefault((f.check, f.kind), Counter())[f.severity] += 1
    order = {c: k for k, c in enumerate(CHECKS)}
    rows = []
    for (chk, kind), n in sorted(counts.items(), key=lambda kv: (order.get(kv[0][0], 9),
                                                                 -kv[1][SEVERE], -kv[1][WARN],
                                                                 kv[0][1])):
        rows.append([chk, KIND_TITLES.get(kind, kind), kind, n[SEVERE], n[WARN], n[INFO]])
    return rows


def summary_rows(result: AuditResult) -> list[list[Any]]:
    """A short summary (项目, 内容) for the report and the top of an 审计 sheet."""
    s = result.stats
    rows: list[list[Any]] = [["项目", "内容"]]
    if result.path:
        rows.append(["文件", result.path])
    rows += [
        ["审计日期", result.as_of.isoformat()],
        ["规则版本", result.rulebook],
        ["结论", "发现问题" if result.has_findings else "未发现问题（严重/警告）"],
    ]
    for sev in SEVERITIES:
        rows.append([sev, str(result.count(sev))])
    for chk, title, _kind, n_s, n_w, n_i in overview(result):
        rows.append([f"{chk}：{title}", f"严重 {n_s}，警告 {n_w}，提示 {n_i}"])
    rows += [
        ["客户数", str(s.get("clients", 0))],
        ["变更记录行数", str(s.get("history_rows", 0))],
        ["运行次数", str(s.get("runs", 0))],
        ["最近一次运行", s.get("last_run") or "（无）"],
        ["公式单元格（全部）", str(s.get("formulas", 0))],
        ["调用本系统函数的公式", str(s.get("ours", 0))],
        ["已重算核对", str(s.get("checked", 0))],
        ["与缓存值不同（含仅为提示的）", str(s.get("mismatch", 0))],
        ["未检查（无法重算）", str(s.get("not_checked", 0))],
    ]
    for note in result.notes:
        rows.append(["说明", note])
    return rows

