"""When a run may run: its timing against the policy's run window, periods in order
(评级期间 never goes back silently), and which clients an annual run rates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from rules import RuleError
from rules.rerating import MODE_LABELS
from rules.schedule import Period, parse_period, period_of_cell, run_window

from .. import history
from ..schema import ClientTable, WorkbookError
from ..xlsxio import SheetData
from ..xlsxio.reader import HashedColumn, UnreadColumn
from .text import stripped


def timing_warnings(per: Period, today: dt.date, rb: Any) -> list[str]:
    """A run before its period ends, or outside the run window its rulebook's policy sets
    (``[schedule]``: seed 000 第六条（二）, seed 001 第十条), is allowed but said (a late run is a
    补跑). A day between the window's first and last working day (a weekend inside it) is on
    time. A year the trading calendar does not hold is counted Monday to Friday, and said."""
    if today <= per.end:
        return [f"评级期间 {per.label} 尚未结束（数据应截至 {per.end.isoformat()}），本次为提前运行。"]
    try:
        window = run_window(per, rb, assume_weekdays=True)
    except RuleError as e:
        return [f"无法核对 {per.label} 的运行窗口：{getattr(e, 'message', e)}"]
    said = [f"{per.label} 的运行窗口：{window.note_zh}。"] if window.note_zh else []
    if window.covers(today):
        return said
    late = "补跑" if today > window.last else "提前运行"
    return [f"运行日期 {today.isoformat()} 不在 {per.label} 的运行窗口（{window.first.isoformat()} 至 "
            f"{window.last.isoformat()}，上交所工作日）内：本次为{late}（{window.rulebook_ref} "
            f"{window.clause}：前 {len(window.days)} 个工作日）。", *said]


class PeriodOrderError(WorkbookError):
    """A run whose data date is earlier than that of a run already applied to the same clients
    (评级期间 would go back): refused, nothing written, unless forced (``--force``; the Excel
    button asks)."""


def rates_same_clients(mode: str, other: str) -> bool:
    """Whether an ``other`` run rated clients a ``mode`` run rates: quarterly and annual runs
    rate the whole sheet, a new-accounts run only the accounts opened in its month (a
    new-accounts run of another month rates none of them)."""
    return not (mode == "new-accounts" and other == "new-accounts")


def later_run(per: Period, m: str, runs: list[history.AppliedRun]) -> str:
    """Why a run of ``per`` would go back (the latest applied run of the same clients with a
    later data date, with its period, mode and time), or ""."""
    best: tuple[history.AppliedRun, Period] | None = None
    for r in runs:
        try:
            p = parse_period(r.period)
        except RuleError:  # (not a period of ours: a foreign or edited row)
            continue
        if r.mode not in MODE_LABELS or not rates_same_clients(m, r.mode) or p.end <= per.end:
            continue
        if best is None or (p.end, r.time) >= (best[1].end, best[0].time):
            best = (r, p)
    if best is None:
        return ""
    r, p = best
    where = f"，变更记录第 {r.row} 行" if r.row else ""
    return (f"已执行过{MODE_LABELS[r.mode]} {r.period}（数据截至 {p.end.isoformat()}；运行时间 "
            f"{r.time}，运行编号 {r.run_id}{where}），本次{MODE_LABELS[m]} {per.label} 的数据截至 "
            f"{per.end.isoformat()}，更早：执行会把按较新数据评出的级别和“评级期间”改回 "
            f"{per.label}。")


def later_rows(per: Period, data: SheetData, col: int | None, t: ClientTable,
                act: np.ndarray) -> str:
    """Why a run of ``per`` would put 评级期间 back on rows it rates (their 评级期间 names a
    period with a later data date, e.g. a run missing from 变更记录), or ""."""
    if col is None or col > data.n_cols or not len(act):
        return ""
    old = data.columns[col - 1]
    if isinstance(old, HashedColumn | UnreadColumn):
        return ""
    pos = (t.rows[act] - 2).tolist()
    olds = old if len(act) == data.n_data_rows else list(map(old.__getitem__, pos))
    try:
        values = set(olds) - {None, ""}
    except TypeError:  # (an unhashable cell value: nothing to say)
        return ""
    later = set()
    for v in values:
        try:
            if period_of_cell(v).end > per.end:
                later.add(v)
        except RuleError:  # (not a period: not ours to judge here)
            continue
    if not later:
        return ""
    hits = [k for k, v in enumerate(olds) if v in later]  # (olds[k] is row act[k]'s)
    k = hits[0]
    i = int(act[k])
    return (f"“{data.name}”中 {len(hits)} 位本次要评级的客户的“评级期间”已是比 {per.label}"
            f"（数据截至 {per.end.isoformat()}）更晚的期间（如第 {int(t.rows[i])} 行 "
            f"{t.client_id[i]}：{stripped(olds[k])}）：执行会把它改回 {per.label}。")


def annual_scope(per: Period, t: ClientTable) -> np.ndarray:
    """The clients an annual run rates: those opened on or before the data date (上一年度末的
    已开户客户, seed 000 第六条（二）1项, seed 001 第十条第1项). An empty 开户日期 counts as an
    account that existed (the sheet lists it); the others are left to the new-accounts run."""
    end = per.end
    return np.fromiter((d is None or d <= end for d in t.open_date), bool, count=len(t))


def opened_after_note(per: Period, rb: Any, after: list[tuple[int, str, dt.date]]) -> str:
    sched = rb.data.schedule
    spec = sched.annual if sched is not None else None
    clause = (f"{rb.ref} {spec.source.partition('：')[0]}：" if spec is not None else "")
    shown = "、".join(f"第 {r} 行 {cid}（开户 {d.isoformat()}）" for r, cid, d in after[:5])
    more = f" 等 {len(after)} 位" if len(after) > 5 else ""
    return (f"{len(after)} 位客户的开户日期晚于数据截止日 {per.end.isoformat()}，不参加 {per.label} "
            f"年度评级（{clause}年度评级只评上一年度末的已开户客户），留给新开户评级，本次未改动："
            f"{shown}{more}。")
