"""The re-rating job: one code path for the CLI and the Excel button (WORKBOOK.md, "Modes").

Read 客户 once, evaluate the whole table with the rulebook in force on the period's end date,
apply the mode (upgrade-only, overrides), then write only the cells that change, append the
hash-chained 变更记录 rows and refresh 汇总 — all in one atomic patch of the file.

Where it lives: ``workbook.source`` reads a workbook through a ``BookSource`` (``FileSource``
here, ``addin.port.PortSource`` for an open Excel book) into ``BookData``; ``workbook.run.plan.plan_run``
computes the run from it (its steps: ``workbook.run.steps`` and ``workbook.run.write``); this
module is the file front end (``rerate``) and keeps the names other code imports from it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rules.rerating import parse_mode
from rules.schedule import Period

from . import summary
from .recalc import RecalcCheck
from .recalc_fork import EarlyJudge, EarlyRecalc
from .run.lazy import LazyColumn
from .run.periods import PeriodOrderError
from .run.plan import plan_run
from .run.result import (
    EXIT_FATAL,
    EXIT_OK,
    EXIT_REJECTED,
    PROGRESS_STEPS,
    Change,
    Plan,
    RunResult,
)
from .run.steps import input_hash
from .schema import HISTORY_SHEET_NAMES, SUMMARY_SHEET_NAMES, WorkbookError
from .source import BookData, FileSource
from .source import read_book as read_source
from .xlsxio import SheetEdit, check_safe, patch_workbook


def read_book(path: str | os.PathLike[str]) -> BookData:
    """Read what a run needs from a workbook file: ``workbook.source.read_book`` through a
    ``FileSource`` (客户 in the columns a run uses, parsed by two processes when big, while the
    log's run rows are found)."""
    return read_source(FileSource(path))


def rerate(path: str | os.PathLike[str], *, period: str | int | float | dt.date | Period,
           mode: str, rulebook: str = "brokerage", operator: str, dry_run: bool = False,
           force: bool = False, out: str | os.PathLike[str] | None = None,
           now: dt.datetime | None = None,
           progress: Callable[[str], None] | None = None,
           suitability: str | None = None) -> RunResult:
    """Re-rate the clients of a workbook file (see module doc). Raises WorkbookError,
    XlsxError or RuleError (Chinese messages) when nothing can be done."""
    say = progress or (lambda _msg: None)
    path = Path(path)
    out_path = Path(out) if out else path
    parse_mode(mode)  # a wrong mode fails before the file is opened
    say("检查文件")
    check_safe(path)
    say("读取工作簿")
    identity = _identity(path)
    # the recalculation verdict judged by a process forked now, set going once 客户 is read:
    # it runs while this thread checks, rates and logs (the other core idle then)
    early = None if dry_run else EarlyRecalc.fork(path)
    try:
        book = read_book(path)
        if early is not None:
            early.go(book.clients.name)
        plan = plan_run(book, period=period, mode=mode, rulebook=rulebook, operator=operator,
                        force=force, dry_run=dry_run, now=now, path=path, out_path=out_path,
                        progress=say, consume=True, suitability=suitability)
        del book  # (its columns are not needed to write: free them before the patch)
        res = plan.result
        if not plan.writes:
            return res
        say("写入文件")
        if _identity(path) != identity:
            raise WorkbookError(f"工作簿 {path} 在读取后被修改过（可能在别处保存了），本次未写入：请重新运行。")
        write_plan(plan, path, out_path, early)
    finally:
        if early is not None:
            early.close()
    res.written = True
    return res


def write_plan(plan: Plan, src: str | os.PathLike[str], out_path: str | os.PathLike[str],
               early: EarlyRecalc | None = None) -> None:
    """Write a plan: ``src`` patched into ``out_path`` (may be ``src``) in one atomic patch —
    the changed 客户 cells, 变更记录 appended (or written whole), 汇总 refreshed; every other
    part copied byte for byte. Used by ``rerate`` and ``workbook.push``. ``early``: the
    recalculation verdict's process started on ``src`` before (``rerate``)."""
    edits = {plan.sheet: SheetEdit(cells={(1, c): h for c, h in plan.headers.items()},
                                   columns=plan.columns, table_columns=plan.headers)}
    replace: dict[str, Sequence[list[Any]]] = {}
    add: dict[str, Sequence[list[Any]]] = {}
    append: dict[str, tuple[int, Sequence[list[Any]]]] = {}
    log_sheet = plan.history_sheet or HISTORY_SHEET_NAMES[0]
    if plan.history_sheet is None:
        add[log_sheet] = plan.history_rows
    elif plan.history_rewrite:
        replace[log_sheet] = plan.history_rows
    if log_sheet not in replace:  # appended below the old rows (marks a new sheet as a log)
        append[log_sheet] = (plan.history_first_row, plan.history_rows)
    charts = {}
    if plan.summary_sheet:
        replace[plan.summary_sheet] = plan.summary_rows
    else:  # a new 汇总 gets the template's chart
        add[SUMMARY_SHEET_NAMES[0]] = plan.summary_rows
        charts[SUMMARY_SHEET_NAMES[0]] = summary.chart_spec(plan.result.tier_labels)
    # a full recalculation on open only where a formula may read what the run wrote (judged
    # by ``early``'s process, else while the file is written: RecalcCheck; the same verdict
    # as needs_full_recalc)
    written = set(plan.columns) | set(plan.headers)
    recalc: RecalcCheck | EarlyJudge = (RecalcCheck(src, plan.sheet, written) if early is None
                                        else early.judge(plan.sheet, written))
    try:
        patch_workbook(src, out_path, edits, replace_sheets=replace, add_sheets=add,
                       add_charts=charts, append_rows=append, recalc_on_open=recalc)
    finally:
        recalc.close()


def _identity(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


__all__ = [
    "EXIT_FATAL",
    "EXIT_OK",
    "EXIT_REJECTED",
    "PROGRESS_STEPS",
    "BookData",
    "Change",
    "LazyColumn",
    "PeriodOrderError",
    "Plan",
    "RunResult",
    "input_hash",
    "plan_run",
    "read_book",
    "rerate",
    "write_plan",
]
