"""The auditor's toolkit (issue 5): prove every tier in a workbook, find what was typed over or
edited.

One core, two front ends. :func:`audit_book` works on sheets already read (``SheetData`` per
sheet: the file reader's, or :func:`workbook.grid.sheet_from_grid` over what xlwings reads
from the open workbook), so the CLI (``client-rating audit``) and the Excel button (审计检查 → sheet 审计) run
the same checks:

1. formula results recomputed with our functions and compared with Excel's cached values
   (``workbook.audit.formula``);
2. formulas overwritten by constants (or changed) in a column of formulas
   (``workbook.audit.overwritten``);
3. each client's 当前级别 against the history, every history entry against the rules
   (``workbook.audit.tiers``, ``entries``, ``digest``);
4. the hash chain of 变更记录 and the tail hash in 汇总 (``workbook.audit.chain``);
5. the written policy on the data: overrides without approver, 风险类别 vs the score's class,
   questionnaires older than two years, figures in a rule gap, suitability
   (``workbook.audit.policy``).

:func:`audit_book` runs them in that order as named steps over an :class:`AuditedBook` (the
sheets located, 客户 validated as the job reads it, 变更记录 read into runs). Nothing here writes
to the audited workbook. ``workbook.audit.rows`` gives the rows of the 审计 sheet the Excel
button writes; ``workbook.audit.report`` prints the console report and writes the ``--report``
workbook; ``workbook.audit.cell`` audits one cell.
"""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rules import Rulebook, RuleError, get_rulebook, rulebook_ids
from rules.schedule import parse_period

from .. import suitability2017, summary
from ..schema import (
    CLIENT_SHEET_NAMES,
    HISTORY_SHEET_NAMES,
    OUTPUT_BY_KEY,
    SUMMARY_SHEET_NAMES,
    ClientTable,
    WorkbookError,
    input_columns,
    pick_sheet,
    validate,
)
from ..transfers import TRANSFER_SHEET_NAMES, check_sheet
from ..xlsxio import SheetData, check_safe, col_index, col_letter, read_sheet, sheet_names
from ..xlsxio.package import parse_xml, read_workbook_info
from .chain import check_chain
from .changelog import Run, logged_scores, parse_log, sheet_rows, tail_cell
from .evaluation import Context
from .formula import FormulaReport, check_formulas
from .model import CHECK_HISTORY, CHECK_POLICY, INFO, SEVERE, WARN, AuditResult, Finding
from .overwritten import TIER_FORMULA_HEADER, check_overwritten
from .policy import check_policy, check_rejections, risk_class_verdict
from .tiers import check_tiers, tier_context

#: The sheet the Excel button writes its findings to (never audited itself).
AUDIT_SHEET = "审计"
AUDIT_SHEET_NAMES = (AUDIT_SHEET, "Audit")

__all__ = [
    "AUDIT_SHEET",
    "AUDIT_SHEET_NAMES",
    "AuditedBook",
    "audit_book",
    "audit_file",
    "read_workbook",
    "recalc_on_open",
    "transfer_findings",
]


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


@dataclass
class AuditedBook:
    """The workbook as the checks see it: its sheets (a previous 审计 sheet left out), the sheet
    names found, 客户 validated as the job reads it (``table``) with the rulebook it is rated
    by, and 变更记录 read into its data rows (``log_rows``, the first at Excel row ``first``)
    and runs."""

    sheets: dict[str, SheetData]
    client_sheet: str
    history_sheet: str | None
    summary_sheet: str | None
    log_rows: list[list[str]]
    first: int
    runs: list[Run]
    rb: Rulebook
    table: ClientTable
    as_of: dt.date
    row_ids: dict[int, str]  # 客户 row -> 客户编号
    logged: dict[str, tuple[float, int]]  # 客户编号 -> the last 风险测评得分 logged, its row

    @property
    def clients(self) -> SheetData:
        return self.sheets[self.client_sheet]

    def client_of(self, sheet: str, row: int) -> str:
        """The 客户编号 of a row of 客户 ("" elsewhere)."""
        return self.row_ids.get(row, "") if sheet == self.client_sheet else ""


def open_book(sheets: Mapping[str, SheetData], as_of: dt.date,
              rulebook: str | None) -> AuditedBook:
    """Locate 客户, 变更记录 and 汇总, read the log, pick the rulebook and validate 客户.
    Raises WorkbookError when there is no 客户 sheet (or no 客户编号 column), RuleError when
    the rulebook cannot be used."""
    skip = {n for n in sheets if n.strip().casefold() in {a.casefold() for a in AUDIT_SHEET_NAMES}}
    sheets = {k: v for k, v in sheets.items() if k not in skip}
    cname = pick_sheet(list(sheets), CLIENT_SHEET_NAMES)
    if cname is None:
        raise WorkbookError("工作簿中没有“客户”工作表（也可命名为 Clients），不是客户分级工作簿。")
    clients = sheets[cname]
    hname = pick_sheet(list(sheets), HISTORY_SHEET_NAMES)
    sname = pick_sheet(list(sheets), SUMMARY_SHEET_NAMES)
    hist_rows = sheet_rows(sheets[hname]) if hname else []
    data_rows, first, runs = parse_log(hist_rows)
    rid = _rulebook_id(sheets, clients, runs, rulebook)
    rb = get_rulebook(rid, as_of)
    table = validate(clients, rb, as_of=as_of)
    row_ids = {int(r): cid for r, cid in zip(table.rows.tolist(), table.client_id, strict=True)}
    return AuditedBook(sheets, cname, hname, sname, data_rows, first, runs, rb, table, as_of,
                       row_ids, logged_scores(runs))


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
    book = open_book(sheets, as_of or dt.date.today(), rulebook)
    res = AuditResult(as_of=book.as_of, rulebook=book.rb.ref, path=path)
    # 1 and 2: formulas
    rep, over = formula_checks(book, recalc_pending)
    res.findings += rep.findings + over
    res.not_checked += rep.not_checked
    # 4: the history chain
    chain, chain_ok = chain_checks(book)
    res.findings += chain
    # 3: tiers in force
    found, notes = tier_checks(book, chain, chain_ok)
    res.findings += found
    res.notes += notes
    # 5: policy, and the rows the job rejects
    found, notes = policy_checks(book, rep, over, res.findings)
    res.findings += found
    res.notes += notes
    _sum_up(res, book, rep, chain_ok)
    res.sort()
    return res


def formula_checks(book: AuditedBook, recalc_pending: bool
                   ) -> tuple[FormulaReport, list[Finding]]:
    """Checks 1 and 2: (the formula report, the findings of overwritten formulas)."""
    cname, clients, table, rb = book.client_sheet, book.clients, book.table, book.rb
    ctx = Context(book.sheets, book.as_of)
    if recalc_pending:
        ctx.job_columns = {(cname, c) for k, c in table.cols.items()
                           if k in OUTPUT_BY_KEY or k in ("annual_tier", "computed_tier")}
    rep = check_formulas(ctx, set(), book.client_of)
    client_rows = {cname: [r for r, cid in book.row_ids.items() if cid]}
    defaults: dict[tuple[str, int], str] = {}
    tcol = clients.col_of(TIER_FORMULA_HEADER)
    # the per-row layout of earlier templates: its 计算级别 formulas are checked even where all
    # were overwritten by constants; today's template (and the job) write 计算级别 as values
    per_row = tcol is not None and any(c == tcol for (_r, c) in clients.formulas)
    if tcol is not None and per_row and any(v is not None and v != ""
                                            for v in clients.columns[tcol - 1]):
        ins = input_columns(rb, table.cols, clients.header)
        if ins and ins[0]:
            second = ins[1] if len(ins) > 1 and ins[1] else None
            args = f"{col_letter(ins[0])}{{r}}" + (f",{col_letter(second)}{{r}}" if second else ",")
            rb_arg = "" if rb.id == "brokerage" else f',"{rb.id}"'
            defaults[(cname, tcol)] = f"CLIENT_TIER({args}{rb_arg})"
    over = check_overwritten(ctx, rep, set(), client_rows, defaults, book.client_of)
    return rep, [_job_written_class(f, table, rb, book.as_of, book.logged) for f in over]


def chain_checks(book: AuditedBook) -> tuple[list[Finding], bool]:
    """Check 4: (findings, whether the chain is intact). Nothing without 变更记录;
    ``history_no_tail`` (which leaves the chain intact) when 汇总 records no tail hash."""
    hname, sname = book.history_sheet, book.summary_sheet
    if not hname:
        return [], True
    srows = sheet_rows(book.sheets[sname]) if sname else []
    tail = summary.read_tail(srows)
    findings = check_chain(hname, book.log_rows, book.first, tail, sname, tail_cell(srows))
    chain_ok = not findings
    if book.log_rows and tail is None:
        findings.append(Finding(
            WARN, CHECK_HISTORY, "history_no_tail", sname or "汇总",
            explanation=("汇总中没有“变更记录末行哈希”：无法发现整次运行（最后的记录）被删除"
                         if sname else "工作簿没有“汇总”工作表：无法发现整次运行被删除")))
    return findings + forced_runs(hname, book.runs), chain_ok


def forced_runs(sheet: str, runs: Sequence[Run]) -> list[Finding]:
    """提示 for each run done by force (its 统计 says so: 强制重跑=是, 期间倒退=强制执行), so an
    auditor sees that the job's refusal of a rerun or of an earlier period was overridden."""
    out: list[Finding] = []
    for k, run in enumerate(runs):
        st = run.stats
        if st.get("强制重跑") == "是":
            out.append(Finding(INFO, CHECK_HISTORY, "history_forced_rerun", sheet, f"A{run.row}",
                               explanation=f"{run.label}：同一期间、同一模式已执行过，本次为强制重跑"))
        if st.get("期间倒退") == "强制执行":
            later = _later_periods(run, runs[:k])
            out.append(Finding(INFO, CHECK_HISTORY, "history_backwards_run", sheet, f"A{run.row}",
                               explanation=f"{run.label}：期间早于此前已执行的"
                                           f"{'、'.join(later) or '运行'}，本次为强制执行"))
    return out


def _later_periods(run: Run, before: Sequence[Run]) -> list[str]:
    try:
        end = parse_period(run.get("评级期间")).end
    except RuleError:
        return []
    seen: list[str] = []
    for r in before:
        try:
            later = parse_period(r.get("评级期间")).end > end
        except RuleError:
            continue
        if later and r.get("评级期间") not in seen:
            seen.append(r.get("评级期间"))
    return seen


def tier_checks(book: AuditedBook, chain: list[Finding], chain_ok: bool
                ) -> tuple[list[Finding], list[str]]:
    """Check 3, taking no expectation from the records check 4 found edited."""
    tc = tier_context(book.table)
    if tc is None:
        return [], ["客户表没有“当前级别”列：不核对级别。"]
    edited = frozenset(int(f.cell[1:]) for f in chain
                       if f.kind == "history_edited" and f.cell[1:].isdigit())
    return check_tiers(tc, book.runs, book.history_sheet or "变更记录", book.as_of, chain_ok,
                       edited)


def policy_checks(book: AuditedBook, rep: FormulaReport, over: list[Finding],
                  so_far: list[Finding]) -> tuple[list[Finding], list[str]]:
    """Check 5 and the rows the job rejects (those not already reported at their cell in
    ``so_far``); cells whose formula or overwritten value is reported are not judged again."""
    cname, table = book.client_sheet, book.table
    reported = {(f.row, f.cell) for f in so_far if f.sheet == cname}
    skip_cells = {(r, c) for (name, r, c), fc in rep.cells.items()
                  if name == cname and fc.status == "mismatch"}
    skip_cells |= {(f.row, _col_of_cell(f.cell)) for f in over if f.sheet == cname and f.row}
    findings = check_policy(table, book.as_of, skip_cells=skip_cells,
                            logged=book.logged)
    found, notes = suitability2017.audit_findings(book.sheets, table, book.as_of,
                                                  book.runs)  # 产品购买 etc.
    findings += found
    findings += [f for f in check_rejections(table, book.clients.col_of)
                 if (f.row, f.cell) not in reported]
    findings += transfer_findings(book.sheets)
    return findings, notes


def _sum_up(res: AuditResult, book: AuditedBook, rep: FormulaReport, chain_ok: bool) -> None:
    """The counts of the summary, and the ✓ notes of what was proven."""
    runs, n_log = book.runs, len(book.log_rows)
    res.stats.update({
        "clients": len(book.table),
        "history_rows": n_log,
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
        "sheets": list(book.sheets),
    })
    if rep.stats["ours"] and not rep.stats["not_checked"] and not rep.stats["mismatch"]:
        res.notes.insert(0, f"{rep.stats['ours']} 个调用本系统函数的公式单元格全部按现行规则重算，"
                            "与缓存值一致。")
    if book.history_sheet and chain_ok and n_log:
        res.notes.insert(0, f"变更记录哈希链完整（{n_log} 行，{len(runs)} 次运行），"
                            "末行哈希与汇总一致。")


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
    console = pick_sheet(list(sheets), ("控制台", "Control"))
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

    name = pick_sheet(list(sheets), TRANSFER_SHEET_NAMES)
    if name is None:
        return []
    return [Finding(WARN, CHECK_POLICY, "transfer_breach", name,
                    cell=f"{col_letter(f.col)}{f.row}" if f.col else "",
                    client_id=f.client_id,
                    found=f.value, explanation=f.message, rule="003")
            for f in check_sheet(sheets[name])]

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
