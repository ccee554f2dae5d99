"""``plan_push``: what pushing the head office's decisions into one branch workbook writes —
computed from the workbook as read (``BookData``), nothing written here.

The push writes the head office's decisions, not a rating of the branch's own: a client's
当前级别, 级别变动, 级别依据, 服务产品, 年拜访次数, 风险类别, 评级期间 and 规则版本 are the
decision's. It goes through the workbook run's own steps so that what it writes is what a run
writes and the audit can check it — the 客户 rows validated (``read_table``), the log checked
(``check_log``: a period and mode already applied is a no-op unless forced, an earlier period
is refused), the branch's overrides reviewed (``apply_mode``: 特别调整 in force win, expired or
lapsed ones do not, as in a run) — and writes through ``diff_columns`` / ``change_rows`` /
``chain_log`` / ``summary_rows`` (changed cells only, 变更记录 rows hash-chained, 汇总).

Before a decision is written it is checked against the workbook: the rule the workbook's own
figures give, the tier it holds (the base of 就高不就低) and its overrides must lead to the
decided values. Where they do not — the warehouse's figures or tiers are not the workbook's —
the client's cells are left as they are and a 拒绝 row of 变更记录 says what differs (a tier
the workbook's figures do not explain would be a wrong tier, and the audit would say so).
A client whose 特别调整 is in force in the workbook keeps it (as a run keeps it), and is
counted. Clients of the workbook absent from the decisions are left untouched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rules.rerating import MODE_LABELS

from .. import history
from ..run.plan import check_log, check_rows_order, finish_plan, new_result, run_fields
from ..run.result import Plan
from ..run.steps import (
    Decision,
    Rating,
    RunSpec,
    Values,
    apply_mode,
    evaluate,
    new_values,
    read_table,
    settle,
)
from ..run.text import stripped
from ..run.write import (
    change_rows,
    count_result,
    diff_columns,
    outcome,
    reject_rows,
    run_stats,
    shown_tiers,
)
from ..schema import WorkbookError
from ..source import BookData
from .decisions import Decisions

#: decision column -> what the workbook's run gives for it (compared before writing)
_COMPARED = ("规则编号", "当前级别", "级别变动", "服务产品", "年拜访次数", "风险类别", "级别依据")


@dataclass
class Check:
    """The decisions against the workbook's rows: ``keep`` (table rows written), the clients
    not written with why (客户编号, row, message), the rows whose 特别调整 won, the workbook's
    clients absent from the decisions, the decided clients the workbook does not hold."""

    keep: np.ndarray
    conflicts: list[tuple[str, int, str]] = field(default_factory=list)
    overridden: list[str] = field(default_factory=list)
    not_decided: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)  # showing the decision already


def _ours(rating: Rating, vals: Values, basis: list[str], i: int, j: int) -> dict[str, Any]:
    """What the workbook's run gives for table row ``i`` (``j``: its place among the rated)."""
    b = rating.batch
    return {"当前级别": vals.new_label[j], "级别变动": vals.kind_act[j],
            "规则编号": str(b.rule_ids[i]) if rating.computed[i] >= 0 else None,
            "服务产品": vals.values["service"][j], "年拜访次数": vals.values["visits"][j],
            "风险类别": vals.values["risk_class"][j], "级别依据": basis[j]}


def _differs(name: str, d: Any, o: Any) -> bool:
    if name == "年拜访次数" and d is not None and o is not None:
        return float(d) != float(o)
    return (d if d != "" else None) != (o if o != "" else None)


def _conflict(t: Any, i: int, d: dict[str, Any], name: str, ours: dict[str, Any],
              held: str) -> str:
    """Why a decision is not written: what differs, and the likely cause."""
    before = d.get("原级别") or ""
    hint = (f"（评级前级别：工作簿为 {held or '无'}，总部为 {before or '无'}）" if held != before
            else "（计算所用数据与总部不同）" if name in ("规则编号", "当前级别", "级别依据")
            else "")

    def show(v: Any) -> str:
        return str(v if v not in (None, "") else "（空）")[:80]

    what = (f"「{name}」为 {show(d.get(name))}，按本工作簿的数据、级别和特别调整应为 "
            f"{show(ours[name])}")
    if name == "规则编号":
        what = (f"为 {show(d.get('当前级别'))}（规则 {show(d.get(name))}），按本工作簿的数据、级别和"
                f"特别调整应为 {show(ours['当前级别'])}（规则 {show(ours[name])}）")
    return f"第 {int(t.rows[i])} 行 {t.client_id[i]}：总部决定{what}{hint}，未写入：请核对工作簿与总部的数据"


def _cells(t: Any, key: str) -> list[str]:
    """The texts of an output column of the table's rows as the workbook holds them now."""
    data, c = t.data, t.cols.get(key)
    if c is None or c > data.n_cols:
        return [""] * len(t)
    col = data.columns[c - 1]
    return [stripped(col[r - 2]) for r in t.rows.tolist()]


def check_decisions(rating: Rating, dec: Decision, vals: Values, labels: np.ndarray,
                    decided: dict[str, dict[str, Any]]) -> Check:
    """Which rated rows take their decision (see module doc)."""
    t = rating.table
    out = Check(keep=np.zeros(len(t), bool))
    shown, period = (_cells(t, key) for key in ("current_tier", "period"))
    basis = vals.basis.texts(np.arange(len(dec.act))) if len(dec.act) else []
    seen = set()
    for j, i in enumerate(dec.act.tolist()):
        cid = t.client_id[i]
        d = decided.get(cid)
        seen.add(cid)
        if d is None:
            out.not_decided.append(cid)
            continue
        if not d["在范围"]:
            out.conflicts.append((cid, int(t.rows[i]), f"第 {int(t.rows[i])} 行 {cid}：总部本次未评"
                                  "该客户（不在评级范围：开户日期与总部不同？），未写入"))
            continue
        ours = _ours(rating, vals, basis, i, j)
        if dec.review.use[i]:  # a 特别调整 in force in the workbook wins, as in a run
            out.keep[i] = True
            if d["当前级别"] != ours["当前级别"]:
                out.overridden.append(cid)
            continue
        held = labels[rating.held[i]] if rating.held[i] >= 0 else ""
        if shown[i] == (d["当前级别"] or "") and period[i] == (d["评级期间"] or ""):
            out.current.append(cid)  # (the workbook shows the decision already: a forced
            continue  # push again, or a run of its own with the same outcome)
        bad = next((n for n in _COMPARED if _differs(n, d.get(n), ours[n])), None)
        if bad is None:
            out.keep[i] = True
        else:
            out.conflicts.append((cid, int(t.rows[i]), _conflict(t, i, d, bad, ours, held)))
    present = set(t.client_id) | {rj.client_id for rj in t.rejected.values()}
    out.not_decided += [cid for i, cid in enumerate(t.client_id)
                        if cid not in seen and cid not in decided and not dec.active[i] and cid]
    out.missing = sorted(set(decided) - present - seen)
    return out


def restrict(dec: Decision, rating: Rating, keep: np.ndarray) -> Decision:
    """The decision with only the rows ``keep`` rated (the others left as they are)."""
    active = dec.active & keep
    return dataclasses.replace(dec, active=active, act=np.flatnonzero(active),
                               after_rank=np.where(active, dec.new_rank, rating.held))


def settle_push(decisions: Decisions, operator: str, now: dt.datetime | None, force: bool,
                dry_run: bool) -> RunSpec:
    """The run's settings from the decisions; refused when the rulebook in force for the
    period is not the one the decisions were made with."""
    spec = settle(decisions.period, decisions.mode, decisions.rulebook_id, operator, now,
                  force=force, dry_run=dry_run)
    if spec.rulebook.ref != decisions.rulebook_ref:
        raise WorkbookError(f"总部决定的规则版本为 {decisions.rulebook_ref}，而 {spec.period.label} "
                            f"适用 {spec.rulebook.ref}：决定文件与本程序的规则不符，未写入。")
    return spec


@dataclass
class PushPlan:
    plan: Plan
    check: Check
    n_decided: int
    done: list[str] = field(default_factory=list)  # runs of the period and mode in the log
    log_warnings: list[str] = field(default_factory=list)  # what the log shows of tampering


def plan_push(book: BookData, decided: dict[str, dict[str, Any]], decisions: Decisions, *,
              operator: str, now: dt.datetime | None = None, force: bool = False,
              dry_run: bool = False, path: Path | None = None) -> PushPlan:
    """The plan of pushing ``decided`` (客户编号 -> decision) into ``book`` (module doc).
    Raises WorkbookError, PeriodOrderError or RuleError (Chinese) when nothing can be done."""
    spec = settle_push(decisions, operator, now, force, dry_run)
    table = read_table(book.clients, spec)
    t = table.t
    res = new_result(spec, table, path or Path(t.data.name), None)
    done, backwards, res.warnings = check_log(book, spec)
    seen = (done, list(res.warnings))
    res.already_applied = bool(done)
    if done and not force:  # pushed (or run) already: a no-op that says so, as a run
        outcome(res, spec, done, 0)
        return PushPlan(Plan(result=res, sheet=t.data.name, columns={}, headers={},
                             history_new=[], history_rows=[], history_first_row=0,
                             summary_rows=[], history_sheet=book.history_sheet,
                             summary_sheet=book.summary_sheet, writes=False), Check(
                                 np.zeros(len(t), bool)), len(decided), *seen)
    rating = evaluate(t, spec)
    dec = apply_mode(rating, spec)
    backwards = check_rows_order(table, dec, spec, backwards, done)
    labels = np.array(spec.labels, dtype=object)
    check = check_decisions(rating, dec, new_values(rating, dec, spec), labels, decided)
    dec = restrict(dec, rating, check.keep)
    res.warnings += dec.review.warnings + ([f"强制执行：{backwards}"] if backwards else [])
    vals = new_values(rating, dec, spec)
    diff = diff_columns(t.data, t.cols, t.rows, dec.act, vals)
    common = run_fields(res, spec)
    res.changes, log_rows = change_rows(rating, dec, vals, diff, spec, common)
    rejections = [t.rejected[i] for i in sorted(t.rejected)
                  if dec.scope[i] and t.client_id[i] in decided]
    res.rejections = [rj.as_tuple() for rj in rejections] + [
        (row, cid, "客户编号", cid, why) for cid, row, why in check.conflicts]
    log_rows += reject_rows(rejections, common) + [
        history.make_row(记录类型=history.REJECT, **common, 客户编号=cid, 原因=why)
        for cid, _row, why in check.conflicts]
    count_result(res, rating, dec, vals, spec)
    digest = history.tier_digest(t.client_id, shown_tiers(rating, dec, diff, vals.label_of))
    res.cells_written = diff.cells_written
    n_rej = len(res.rejections)
    stats = run_stats(res, spec, len(log_rows), n_rej, digest, forced=bool(force and done),
                      backwards=backwards)
    stats += f"；来源=总部下发；总部运行={decisions.run_id or '—'}；决定文件=sha256:{decisions.digest}"
    in_hash = hashlib.sha256(f"{table.in_hash}|{decisions.digest}".encode()).hexdigest()
    run_row = history.make_row(记录类型=history.RUN, **common, 统计=stats, 输入哈希=in_hash,
                               原因=f"{MODE_LABELS[spec.mode]}：{decisions.source_note()}")
    plan = finish_plan(book, spec, res, t.data.name, diff, run_row, log_rows, n_rej, done)
    plan.writes = plan.writes and (len(dec.act) > 0 or n_rej > 0)  # (nothing pushed: no run)
    return PushPlan(plan, check, len(decided), *seen)


__all__ = ["Check", "PushPlan", "check_decisions", "plan_push", "restrict"]
