"""``plan_run``: a run computed from data already read (``BookData``), nothing written — the
one code path of every front end. It is the steps of ``workbook.run.steps`` and
``workbook.run.write`` in order, with the checks of the log and the periods between them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rules.rerating import MODE_LABELS
from rules.schedule import Period

from .. import history, summary, transfers
from .. import suitability2017 as suit17
from ..source import BookData
from .lazy import release
from .periods import PeriodOrderError, later_rows, later_run, opened_after_note, timing_warnings
from .result import Plan, RunResult
from .steps import (
    Decision,
    Rating,
    RunSpec,
    Table,
    Values,
    apply_mode,
    evaluate,
    new_values,
    read_table,
    settle,
)
from .write import (
    ColumnDiff,
    chain_log,
    change_rows,
    count_result,
    diff_columns,
    outcome,
    reject_rows,
    run_stats,
    shown_tiers,
    summary_rows,
)


def check_log(book: BookData, spec: RunSpec) -> tuple[list[str], str, list[str]]:
    """(run ids of this period+mode already applied, why the run would go back — "" when in
    order —, warnings: what the log's rows show of tampering). A run whose data date is
    earlier than one applied to the same clients raises ``PeriodOrderError`` unless forced."""
    log = book.log
    warnings: list[str] = []
    if log.foreign is None:
        problems = log.problems(summary.read_tail(book.summary_rows))
        warnings += [f"变更记录第 {r} 行：{what}" for r, what in problems]
        applied = log.applied()
    else:
        applied = history.applied_runs(log.foreign)
    per, m = spec.period, spec.mode
    done = [rid for rid, md, pd in applied if md == m and pd == per.label]
    backwards = "" if done and not spec.force else later_run(per, m, history.runs_applied(log))
    if backwards and not spec.force:
        raise PeriodOrderError(f"评级期间不能倒退：{backwards}本次未做任何更改。")
    return done, backwards, warnings


def check_transfers(book: BookData) -> tuple[list[Any], list[str]]:
    """The findings of the optional sheet 转销户 (seed 003) and the warning that lists them."""
    if book.transfers is None:
        return [], []
    found = transfers.check_sheet(book.transfers)
    if not found:
        return found, []
    first = "；".join(f.text() for f in found[:2])
    more = "……" if len(found) > 2 else ""
    return found, [f"“{book.transfers.name}”工作表有 {len(found)} 项不符合 003《营业部客户流失"
                   f"应对规范》：{first}{more}"]


def check_rows_order(table: Table, dec: Decision, spec: RunSpec, backwards: str,
                     done: list[str]) -> str:
    """Why the run would put 评级期间 back on the rows it rates (a later period in their cells:
    a copy of the book whose log is gone), unless the log said so already; raises
    ``PeriodOrderError`` unless forced."""
    if backwards or (done and not spec.force):
        return backwards
    backwards = later_rows(spec.period, table.data, table.t.cols.get("period"), table.t, dec.act)
    if backwards and not spec.force:
        raise PeriodOrderError(f"评级期间不能倒退：{backwards}本次未做任何更改。")
    return backwards


def suitability_checks(book: BookData, table: Table, dec: Decision, res: RunResult) -> None:
    """The regime's unreadable cells of the rated rows, its notes, and 产品购买."""
    s17 = table.s17
    in_scope = set(table.t.rows[dec.act].tolist())
    res.warnings += [msg for r, _h, _v, msg in s17.problems if r in in_scope] + s17.notes
    if book.purchases is not None:
        res.purchase_findings = suit17.check_purchases(book.purchases, s17)
        res.warnings += suit17.purchase_warnings(res.purchase_findings, book.purchases.name)


def new_result(spec: RunSpec, table: Table, path: Path, out_path: Path | None) -> RunResult:
    """The result of the run, before any step has filled it."""
    return RunResult(run_id=table.run_id(spec.now), path=path, out_path=out_path or path,
                     period=spec.period.label, mode=spec.mode, rulebook_ref=spec.rulebook.ref,
                     operator=spec.operator, time=spec.now.isoformat(sep=" "),
                     dry_run=spec.dry_run, tier_labels=spec.labels)


def run_fields(res: RunResult, spec: RunSpec) -> dict[str, str]:
    """The fields every 变更记录 row of the run holds."""
    return {"运行编号": res.run_id, "时间": res.time, "操作员": spec.operator, "模式": spec.mode,
            "评级期间": spec.period.label, "规则版本": spec.rulebook.ref}


def plan_run(book: BookData, *, period: str | int | float | dt.date | Period, mode: str,
             rulebook: str = "brokerage", operator: str, force: bool = False, dry_run: bool = False,
             now: dt.datetime | None = None, path: Path | None = None,
             out_path: Path | None = None,
             progress: Callable[[str], None] | None = None, consume: bool = False,
             suitability: str | None = None) -> Plan:
    """Compute a run on data already read; nothing is written here.

    ``suitability``: a suitability regime id (``csrc-2017``) — the run also fills 投资者类别,
    风险等级 and 适当性依据 and checks 产品购买 (``workbook.suitability2017``); None: not.

    ``consume``: the caller does not use ``book.clients`` afterwards, so each column is let
    go once the run is done with it (the memory of a 1M-client run).
    Raises WorkbookError or RuleError (Chinese messages) when the run cannot be done."""
    say = progress or (lambda _msg: None)
    spec = settle(period, mode, rulebook, operator, now, force=force, dry_run=dry_run,
                  suitability=suitability)
    say(f"检查“客户”工作表（规则 {spec.rulebook.ref}）")
    table = read_table(book.clients, spec, consume=consume)
    t, data = table.t, table.data
    res = new_result(spec, table, path or Path(data.name), out_path)
    # (the log last: a big file's 变更记录 is still searched on the other core meanwhile)
    timing = timing_warnings(spec.period, spec.now.date(), spec.rulebook)
    res.transfer_findings, said = check_transfers(book)

    say(f"评级 {len(t)} 位客户")
    rating = evaluate(t, spec)
    dec = apply_mode(rating, spec)
    done, backwards, res.warnings = check_log(book, spec)
    res.already_applied = bool(done)
    res.warnings += timing + said
    res.opened_after = dec.opened_after
    res.warnings += dec.review.warnings
    backwards = check_rows_order(table, dec, spec, backwards, done)
    if backwards:
        res.warnings.append(f"强制执行：{backwards}")
    if res.opened_after:
        res.warnings.append(opened_after_note(spec.period, spec.rulebook, res.opened_after))
    vals = new_values(rating, dec, spec, table.s17)
    res.gaps = vals.gaps
    diff = diff_columns(data, {**t.cols, **table.s17_cols}, t.rows, dec.act, vals)
    say("整理变更记录")
    return record_run(book, spec, table, rating, dec, vals, diff, res,
                      forced=bool(force and done), backwards=backwards, consume=consume,
                      done=done)


def record_run(book: BookData, spec: RunSpec, table: Table, rating: Rating, dec: Decision,
               vals: Values, diff: ColumnDiff, res: RunResult, *, forced: bool, backwards: str,
               consume: bool, done: list[str]) -> Plan:
    """The second half of a run: its 变更记录 rows (changes, rejections, the run row) chained
    onto the log, the counts, the 汇总 rows and the outcome."""
    t, data = table.t, table.data
    common = run_fields(res, spec)
    res.changes, log_rows = change_rows(rating, dec, vals, diff, spec, common, table.s17)
    if table.s17 is not None:
        suitability_checks(book, table, dec, res)
    rejections = [t.rejected[i] for i in sorted(t.rejected) if dec.scope[i]]
    res.rejections = [rj.as_tuple() for rj in rejections]  # (rows in the mode's scope)
    res.flags = [t.flagged[i].as_tuple() for i in sorted(t.flagged) if dec.active[i]]
    log_rows += reject_rows(rejections, common)
    count_result(res, rating, dec, vals, spec)
    digest = history.tier_digest(t.client_id, shown_tiers(rating, dec, diff, vals.label_of))
    if consume:
        release(data, lambda c: True)
    res.cells_written = diff.cells_written
    stats = run_stats(res, spec, len(log_rows), len(rejections), digest,
                      forced=forced, backwards=backwards, s17=table.s17)
    run_row = history.make_row(记录类型=history.RUN, **common, 原因=MODE_LABELS[spec.mode],
                               统计=stats, 输入哈希=table.in_hash)
    return finish_plan(book, spec, res, data.name, diff, run_row, log_rows, len(rejections), done)


def finish_plan(book: BookData, spec: RunSpec, res: RunResult, sheet: str, diff: ColumnDiff,
                run_row: list[str], log_rows: Sequence[list[str]], n_rejected: int,
                done: list[str]) -> Plan:
    """A run's end (the workbook job's and a head-office push's): the run row and ``log_rows``
    chained onto 变更记录, the 汇总 rows with the log's new tail hash, the outcome, the plan."""
    log = chain_log(book.log, run_row, log_rows)
    sum_rows = summary_rows(res, spec, n_rejected, log.tail)
    writes = outcome(res, spec, done, n_rejected)
    return Plan(result=res, sheet=sheet, columns=diff.columns, headers=diff.headers,
                history_new=log.new, history_rows=log.rows, history_first_row=log.first_row,
                summary_rows=sum_rows, history_sheet=book.history_sheet,
                summary_sheet=book.summary_sheet, writes=writes)

