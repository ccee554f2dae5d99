"""Special adjustments (特别调整级别) in a run: their dates, their expiry, whether an annual rating
keeps them, and self-approval.

What the seeds say: "必要情况下对部分重要客户级别可进行特别调整" (seed 001 第十条第4项) and the
adjustment is recorded (第十二条, POLICY.md R2: "special manual adjustments are allowed and must
be recorded"); the annual rating rates every client opened by the year's end afresh (001 第十条第1
项; 000 第六条（二）1项: the class it gives holds for at least a year). Neither names an approver
nor forbids the operator approving: the approver is the product's requirement (WORKBOOK.md).

* **Dates.** 调整日期 is when the override was approved; where it is empty the run that first
  applies the override writes its own date there (said as a warning: the real date should be
  filled in). An override dated after the run's day is not in force yet. 调整有效期至 is its last
  day in force: an override whose 有效期至 is before the period's data date is not applied.
* **Annual rating.** ``[overrides] annual_keeps`` of the rulebook (default false): false — an
  override lapses at the annual rating of the year it was made in (an annual run for a year
  ending on or after its 调整日期 does not apply it, nor does any run for a later year); an
  override made after the year ended (in the annual window, for this rating) is applied. True —
  overrides stand until they expire or are removed.
* **Self-approval.** An approver who is the run's operator is flagged, not refused: a warning of
  the run and a note in 级别依据 and 变更记录's 原因. Refusing would add a four-eyes rule the
  policy does not write; flagging leaves the record the policy asks for and lets compliance
  (and the audit, which reads the note) decide.

A lapsed or expired override is not applied; the run says so (warning, 级别依据, a 变更记录 row)
and rates the client as if there were none: in a quarterly run the tier it set is then the tier
held, which upgrade-only keeps (001 第十条第2项) until the annual rating rates it afresh.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rules.schedule import Period

from .schema import ClientTable

#: how many rows a warning names before "…"
_SHOWN = 10


@dataclass
class OverrideReview:
    """The overrides of a run. ``use[i]``: row ``i``'s override is applied; ``notes[i]``: why
    the override given on row ``i`` is not; ``stamped[i]``: 调整日期 written (the run's date);
    ``self_approved``: rows whose approver is the operator; ``warnings`` for the result."""

    use: np.ndarray
    notes: dict[int, str] = field(default_factory=dict)
    stamped: dict[int, dt.date] = field(default_factory=dict)
    self_approved: set[int] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)

    def basis(self, t: ClientTable, i: int, label: str, operator: str) -> str:
        """The 特别调整 text of 级别依据 (the audit reads 特别调整为… and 审批人：…)."""
        why = f"特别调整为{label}（审批人：{t.approver[i]}"
        if t.override_reason[i]:
            why += f"，原因：{t.override_reason[i]}"
        start = (t.override_date[i] if t.override_date else None) or self.stamped.get(i)
        why += f"，调整日期：{start.isoformat()}" if start else ""
        until = t.override_until[i] if t.override_until else None
        if until:
            why += f"，有效期至：{until.isoformat()}"
        why += "）"
        if i in self.self_approved:
            why += f"；审批人即本次操作员 {operator}（自我审批，须由他人复核）"
        return why


def person_key(name: Any) -> str:
    """A person's name as compared for self-approval: NFKC, no spaces, case folded."""
    return "".join(unicodedata.normalize("NFKC", str(name or "")).split()).casefold()


def review(t: ClientTable, rulebook: Any, per: Period, mode: str, operator: str,
           today: dt.date, rows: np.ndarray) -> OverrideReview:
    """Decide the overrides of the rows ``rows`` (a mask: the rows the run processes)."""
    n = len(t)
    given = (t.override >= 0) & rows
    out = OverrideReview(use=given.copy())
    if not given.any():
        return out
    policy = rulebook.data.overrides
    dates = t.override_date or [None] * n
    untils = t.override_until or [None] * n
    me = person_key(operator)
    lapsed_rows: list[int] = []
    for i in np.flatnonzero(given).tolist():
        start, until = dates[i], untils[i]
        what = f"特别调整（{rulebook.outputs[int(t.override[i])].label}，审批人：{t.approver[i]}"
        what += f"，调整日期 {start.isoformat()}）" if start else "）"
        note = None
        if start is not None and start > today:
            note = f"{what}的调整日期晚于运行日期 {today.isoformat()}，尚未生效，本次未采用"
        elif until is not None and until < per.end:
            note = (f"{what}已于 {until.isoformat()} 到期（本期数据截至 {per.end.isoformat()}），"
                    "本次未采用")
        elif not policy.annual_keeps and start is not None and (
                (mode == "annual" and start <= per.end) or per.end > dt.date(start.year, 12, 31)):
            note = (f"{what}在 {start.year} 年度评级时失效（{rulebook.ref}：年度评级不沿用此前的"
                    "特别调整），本次未采用；如需继续，请重新审批并更新调整日期")
        if note is not None:
            out.use[i] = False
            out.notes[i] = note
            lapsed_rows.append(i)
            continue
        if start is None:
            out.stamped[i] = today
        if me and person_key(t.approver[i]) == me:
            out.self_approved.add(i)

    def rows_of(idx: list[int]) -> str:
        shown = "、".join(f"第 {int(t.rows[i])} 行 {t.client_id[i]}" for i in idx[:_SHOWN])
        return shown + (f" 等 {len(idx)} 行" if len(idx) > _SHOWN else "")

    if lapsed_rows:
        out.warnings.append(f"特别调整未采用 {len(lapsed_rows)} 行：" + "；".join(
            f"第 {int(t.rows[i])} 行 {t.client_id[i]}：{out.notes[i]}" for i in lapsed_rows[:_SHOWN])
            + ("；…" if len(lapsed_rows) > _SHOWN else ""))
    if out.self_approved:
        idx = sorted(out.self_approved)
        out.warnings.append(
            f"自我审批：{rows_of(idx)}的特别调整审批人即本次操作员 {operator}：特别调整须经审批"
            "并留痕，请由他人复核（已在级别依据和变更记录中注明）。")
    if out.stamped:
        out.warnings.append(
            f"{rows_of(sorted(out.stamped))}的特别调整没有调整日期，已记为本次运行日期 "
            f"{today.isoformat()}（写入“调整日期”列）：请核对并改为实际审批日期。")
    return out
