"""What the Excel buttons run (through xlwings ``RunPython`` from the ribbon add-in or the
workbook's buttons): the re-rating job and the audit, on the calling workbook.

The logic is the headless job's (``workbook.job.plan_run``); this module only moves data between
the open workbook and it, through the port ``addin.port.WorkbookPort`` (in Excel
``addin.xlwings_port.XlwingsPort``; in tests a fake):  one read per sheet, one write per changed column (split only around
formula cells), the 变更记录 rows appended in one call, progress in the status bar, and a message
box at the end. Errors become a dialog, never a traceback (the details go to a log file).

Entry points (names fixed: the VBA of the add-in calls them)::

    rerate_button(mode=None)   # 'quarterly' | 'annual' | 'new-accounts' | None (mode on 控制台)
    audit_button()             # 审计检查 → sheet 审计
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rules.errors import RuleError
from rules.rerating import MODE_LABELS, parse_mode
from workbook import summary
from workbook.grid import ERROR_TEXTS
from workbook.job import BookData, PeriodOrderError, Plan, plan_run
from workbook.schema import HISTORY_SHEET_NAMES, SUMMARY_SHEET_NAMES, WorkbookError
from workbook.source import read_book as read_source
from workbook.xlsxio import KEEP, SheetData, XlsxError
from workbook.xlsxio.errors import CellError

from .port import PortSource, WorkbookPort, find, find_or_add
from .port import sheet_data as port_sheet_data
from .xlwings_port import XlwingsPort

CONSOLE_SHEET_NAMES = ("控制台", "Control")
#: labels in column A of 控制台 (values in column B), as the template writes them
CONSOLE_FIELDS = {"模式": "mode", "评级期间": "period", "规则": "rulebook", "操作员": "operator",
                  "适当性规则": "suitability"}
_PRODUCT_ERRORS = (WorkbookError, XlsxError, RuleError)
LOG_PATH = Path(tempfile.gettempdir()) / "client-rating-excel.log"


# ------------------------------------------------------------------------------ entry points

def rerate_button(mode: str | None = None) -> None:
    """季度重评级 / 年度评级 / 新开户评级 (mode None: the mode chosen on 控制台)."""
    _run_button(lambda book: run_rerate(book, mode))


def audit_button() -> None:
    """审计检查: audit the calling workbook and write the findings to its sheet 审计."""
    _run_button(run_audit)


def caller() -> Any:
    import xlwings as xw

    return xw.Book.caller()


def as_port(book: Any) -> WorkbookPort:
    """A ``WorkbookPort`` as it is, an xlwings ``Book`` through ``XlwingsPort``."""
    return book if isinstance(book, WorkbookPort) else XlwingsPort(book)


def _run_button(action: Callable[[WorkbookPort], Any]) -> None:
    port = None
    try:
        port = as_port(caller())
        action(port)
    except _PRODUCT_ERRORS as e:
        _alert(port, f"{getattr(e, 'message', None) or e}", critical=True)
    except Exception as e:  # never a traceback in front of the user: log it, say where
        _log_exception()
        _alert(port, f"内部错误：{type(e).__name__}: {e}\n\n详细信息已写入 {LOG_PATH}，请联系技术支持。"
                     "\n如已有单元格被改动，请不要保存：关闭工作簿（不保存）后重新打开。",
               critical=True)
    finally:
        if port is not None:
            port.restore()


def _log_exception() -> None:
    try:
        with LOG_PATH.open("a", encoding="utf-8") as f:
            f.write(f"--- {dt.datetime.now().isoformat(sep=' ')}\n{traceback.format_exc()}\n")
    except OSError:
        logging.getLogger(__name__).exception("client-rating Excel button failed")


def _alert(port: WorkbookPort | None, prompt: str, *, critical: bool = False,
           buttons: str = "ok") -> str | None:
    """A message box (None: none could be shown, "no" to a question)."""
    if port is None:
        return None
    return port.alert(prompt, critical=critical, buttons=buttons)


# --------------------------------------------------------------------------- reading sheets

def read_book(book: Any) -> BookData:
    """What a run needs from the open workbook: ``workbook.source.read_book`` through the port
    (``addin.port.PortSource``: the same sheets and checks as for a file). ``book``: a
    ``WorkbookPort`` or an xlwings Book."""
    return read_source(PortSource(as_port(book)))


def read_console(book: Any) -> dict[str, str]:
    """The run settings on 控制台 (labels in column A, values in column B, rows 1–30); {}
    without it. ``book``: a ``WorkbookPort`` (or an xlwings Book)."""
    port = as_port(book)
    sheet = find(port, CONSOLE_SHEET_NAMES)
    if sheet is None:
        return {}
    out: dict[str, str] = {}
    for row in port.values(sheet)[:30]:
        label = str(row[0]).strip() if row and row[0] is not None else ""
        v = row[1] if len(row) > 1 else None
        if label in CONSOLE_FIELDS and v not in (None, "") and v not in ERROR_TEXTS:
            if CONSOLE_FIELDS[label] == "period":  # 2026 as a number or in a date-formatted
                out["period"] = console_period(v)  # cell, 2026-11 turned into a date
                continue
            out[CONSOLE_FIELDS[label]] = str(int(v)) if isinstance(v, float) and v.is_integer() \
                else (f"{v:%Y-%m}" if isinstance(v, dt.date) else str(v).strip())
    return out


def console_period(value: Any) -> str:
    """控制台's 评级期间 as the period label (rules.schedule.period_of_cell: the number 2026 or
    2026.0, 2026 typed into a date-formatted cell, 2026-11 that Excel turned into a date); a
    value that is no period is said, naming the cell's value."""
    from rules.schedule import period_of_cell

    try:
        return period_of_cell(value).label
    except RuleError as e:
        raise WorkbookError(f"“控制台”的“评级期间”：{getattr(e, 'message', e)}") from None


# --------------------------------------------------------------------------- writing sheets

def _segments(values: Sequence[Any], old: Sequence[Any], skip: set[int]) -> list[tuple[int, list]]:
    """Runs of cells to write for one column: ``(offset, values)``, from the first to the last
    changed cell, cut around cells that must not be written (formulas, error values).
    Unchanged cells inside a run get their current value back."""
    idx = [k for k, v in enumerate(values) if v is not KEEP]
    if not idx:
        return []
    out: list[tuple[int, list]] = []
    start = 0  # (the first offset of ``buf``; meaningful while ``buf`` holds cells)
    buf: list[Any] = []
    for k in range(idx[0], idx[-1] + 1):
        v = values[k]
        if v is KEEP:
            cur = old[k] if k < len(old) else None
            blocked = k in skip or isinstance(cur, CellError)
            v = cur
        else:
            blocked = False
        if blocked:
            if buf:
                out.append((start, _trim(buf, values, start)))
            buf = []
            continue
        if not buf:
            start = k
        buf.append(v)
    if buf:
        out.append((start, _trim(buf, values, start)))
    return [(s, b) for s, b in out if b]


def _trim(buf: list[Any], values: Sequence[Any], start: int) -> list[Any]:
    """Drop unchanged cells at the end of a run (they need not be written)."""
    end = len(buf)
    while end and values[start + end - 1] is KEEP:
        end -= 1
    return buf[:end]


def write_plan(book: Any, plan: Plan, data: SheetData) -> None:
    """Write a plan into the open workbook (screen updating and calculation off meanwhile):
    the new headers, each changed column (one write a run of cells, cut only around formulas
    and error cells), the 变更记录 rows in one write, then 汇总."""
    port = as_port(book)
    port.pause()
    sheet = find(port, (plan.sheet,)) or plan.sheet
    for c, h in plan.headers.items():
        port.write(sheet, 1, c, [[h]])
    if plan.headers:
        port.extend_tables(sheet, min(plan.headers), max(plan.headers))
    for c, values in sorted(plan.columns.items()):
        port.status(f"写入“{plan.sheet}”第 {c} 列")
        values = values if isinstance(values, list) else list(values)  # (a LazyColumn)
        old = data.columns[c - 1] if c <= data.n_cols else []
        skip = {r - 2 for (r, cc) in data.formulas if cc == c}
        for start, seg in _segments(values, old, skip):
            port.write(sheet, start + 2, c, [[v] for v in seg])
    port.status("写入变更记录")
    hist = find_or_add(port, plan.history_sheet, HISTORY_SHEET_NAMES[0])
    if plan.history_rows:
        port.write(hist, plan.history_first_row, 1, plan.history_rows)
    port.status("更新汇总")
    _write_summary(port, plan)


def _write_summary(port: WorkbookPort, plan: Plan) -> None:
    """汇总 rewritten from A1 (old rows below cleared); a chart of tiers × 评级前/评级后 if the
    sheet has none (the template's)."""
    summ = find_or_add(port, plan.summary_sheet, SUMMARY_SHEET_NAMES[0])
    n_rows, n_cols = port.used_shape(summ)
    width = max(3, max(len(r) for r in plan.summary_rows), n_cols)
    rows = [[*r] + [None] * (width - len(r)) for r in plan.summary_rows]
    rows += [[None] * width for _ in range(max(0, n_rows - len(rows)))]  # clear old leftovers
    port.write(summ, 1, 1, rows)
    if not port.has_chart(summ):
        _, last = summary.tier_rows_range(plan.result.tier_labels)
        port.add_column_chart(summ, last, 3)


# ----------------------------------------------------------------------------------- rerate

def _settings(port: WorkbookPort, mode: str | None) -> tuple[str, str, str, str]:
    return console_settings(read_console(port), mode)


def console_settings(console: dict[str, str], mode: str | None) -> tuple[str, str, str, str]:
    """Mode, period, rulebook and operator of a button's run from 控制台's settings (Excel and
    Calc alike); the button's own mode wins over 控制台's. No period: a Chinese message."""
    m = parse_mode(mode or console.get("mode") or "quarterly")
    period = console.get("period", "")
    if not period:
        hint = {"quarterly": "2026Q3", "annual": "2026", "new-accounts": "2026-11"}[m]
        raise WorkbookError(f"请先在“控制台”的“评级期间”中填写要执行的期间（如 {hint}），再按按钮。")
    rulebook = console.get("rulebook") or "brokerage"
    operator = console.get("operator") or _login()
    return m, period, rulebook, operator


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name: the job then asks for an operator on 控制台
        return ""


def run_rerate(book: Any, mode: str | None = None, *, now: dt.datetime | None = None,
               confirm_rerun: bool = True) -> Plan | None:
    """The re-rating of the open workbook (a ``WorkbookPort`` or an xlwings Book): settings
    from 控制台, the job's plan, written back. None when the user declined to run an earlier
    period than one already applied."""
    port = as_port(book)
    m, period, rulebook, operator = _settings(port, mode)
    if not operator:
        raise WorkbookError("请在“控制台”的“操作员”中填写姓名。")
    port.status("读取工作簿")
    data = read_source(PortSource(port))
    suitability = read_console(port).get("suitability") or None  # docs/suitability.md

    def plan(force: bool) -> Plan:
        return plan_run(data, period=period, mode=m, rulebook=rulebook, operator=operator,
                        force=force, now=now, path=Path(port.path),
                        progress=port.status, suitability=suitability)

    try:
        p = plan(False)
    except PeriodOrderError as e:  # an earlier period than one applied: ask, as for a rerun
        answer = _alert(port, f"{e}\n\n是否仍要执行？（会在变更记录中记为“期间倒退=强制执行”）",
                        buttons="yes_no") if confirm_rerun else None
        if answer != "yes":
            if not confirm_rerun:
                raise
            return None
        p = plan(True)
    res = p.result
    if res.already_applied and not p.writes and confirm_rerun:
        answer = _alert(port, f"{res.message}\n\n是否强制重跑？（会在变更记录中记为强制重跑）",
                        buttons="yes_no")
        if answer != "yes":
            return p
        p = plan(True)
        res = p.result
    if not p.writes:
        _alert(port, res.message, critical=res.exit_code == 1)
        return p
    write_plan(port, p, data.clients)
    res.written = True
    _alert(port, summary_text(p))
    return p


def summary_text(plan: Plan, max_rejections: int = 5) -> str:
    """The message box shown at the end of a run."""
    res = plan.result
    lines = [f"{MODE_LABELS[res.mode]} {res.period} 已完成（规则 {res.rulebook_ref}，运行编号 {res.run_id}）。",
             f"客户 {res.n_clients} 位，本次处理 {res.n_in_scope} 位，修改 {res.cells_written} 个单元格。"]
    kinds = "，".join(f"{k} {v}" for k, v in res.change_counts.items() if v)
    if kinds:
        lines.append(f"级别变动：{kinds}。")
    lines.append("各级别：" + "，".join(f"{k} {res.before.get(k, 0)}→{v}"
                                     for k, v in res.after.items() if v or res.before.get(k)))
    if res.rejections:
        lines.append(f"\n数据有误、未处理 {len(res.rejections)} 行（单元格保持原样）：")
        lines += [f"· {why}" for *_, why in res.rejections[:max_rejections]]
        if len(res.rejections) > max_rejections:
            lines.append(f"· ……另有 {len(res.rejections) - max_rejections} 行")
        n_changes = len(plan.history_new) - 1 - len(res.rejections)
        first = plan.history_first_new_row + 1 + n_changes
        lines.append(f"全部原因见“变更记录”第 {first}–{first + len(res.rejections) - 1} 行（记录类型“拒绝”）。")
    if res.gaps:
        lines.append(f"\n数据落在规则缺口、按兜底规则评级 {len(res.gaps)} 位（全部见“汇总”）：")
        lines += [f"· 第 {row} 行 {cid}：{what}" for row, cid, _tier, what in res.gaps[:max_rejections]]
        if len(res.gaps) > max_rejections:
            lines.append(f"· ……另有 {len(res.gaps) - max_rejections} 位")
    if res.flags:
        lines.append(f"\n已评级、但有字段待更正 {len(res.flags)} 行（该字段的结果保持原样，全部见“汇总”）：")
        lines += [f"· {why}" for *_, why in res.flags[:max_rejections]]
        if len(res.flags) > max_rejections:
            lines.append(f"· ……另有 {len(res.flags) - max_rejections} 行")
    for w in res.warnings[:3]:
        lines.append(f"\n警告：{w}")
    lines.append("\n变更明细见“变更记录”，汇总与图表见“汇总”。请保存工作簿。")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ audit

def run_audit(book: Any, *, as_of: dt.date | None = None) -> Any:
    """审计检查 on the open workbook: every sheet read (values and formulas, one call each), the
    audit of ``workbook.audit`` (the same as ``client-rating audit``), the findings written to
    sheet 审计 (created or cleared) with links to the cells, and a message box with the counts."""
    from workbook.audit import (
        AUDIT_SHEET,
        AUDIT_SHEET_NAMES,
        audit_book,
        findings_rows,
        summary_rows,
    )

    port = as_port(book)
    port.status("读取工作簿")
    skip = {n.casefold() for n in AUDIT_SHEET_NAMES}
    sheets = {name: port_sheet_data(port, name) for name in port.sheet_names()
              if name.strip().casefold() not in skip}
    port.status("审计检查")
    result = audit_book(sheets, as_of=as_of, path=port.path)
    top = summary_rows(result)
    table = findings_rows(result)
    port.status(f"写入“{AUDIT_SHEET}”")
    port.pause(calculation=False)
    sheet = find(port, AUDIT_SHEET_NAMES)
    if sheet is None:
        sheet = port.add_sheet(AUDIT_SHEET)
    else:
        port.clear(sheet)
    width = max(len(r) for r in (*top, *table))
    rows = [*top, [], *table]
    port.write(sheet, 1, 1, [[*r] + [None] * (width - len(r)) for r in rows])
    # 位置 (column C of the findings) as links to the cells: one formula write for the column
    first = len(top) + 2  # the findings' header row
    links = [[_link_formula(f.link, f.address) if f.link else f.address]
             for f in result.findings]
    if links:
        port.write_formulas(sheet, first + 1, 3, links)
    by_sev = "，".join(f"{sev} {result.count(sev)}" for sev in ("严重", "警告", "提示"))
    verdict = "发现问题" if result.has_findings else "未发现严重或警告级别的问题"
    unchecked = f"\n未能重算的公式 {len(result.not_checked)} 个（已列出，未视为通过）。" \
        if result.not_checked else ""
    _alert(port, f"审计检查完成：{verdict}。\n{by_sev}。{unchecked}\n"
                 f"明细见“{sheet}”工作表（第 {first} 行起，位置可点击跳转）。",
           critical=result.has_findings)
    return result


def _link_formula(link: str, text: str) -> str:
    """=HYPERLINK("#'客户'!N7","客户!N7") — both texts are ours (sheet names and addresses)."""
    return f'=HYPERLINK("{link.replace(chr(34), chr(34) * 2)}","{text.replace(chr(34), chr(34) * 2)}")'
