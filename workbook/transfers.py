"""The optional sheet 转销户 (alias ``Transfers``): one row per account transfer or closing, checked
against seed 003《营业部客户流失应对规范》 (docs/workbook.md, "Sheet 转销户").

``check_transfers(sheet)`` returns one finding per problem, each with the row, the column header
and the cell's value: a transfer done although a 第十六条 blocker was recorded, an approver the
client's level requires who did not sign (第九、十、十七条), a 机构/核心 transfer without the
appointment a day ahead (第十八条), a leaving reason that is not one of the seed's own texts
(第二十–二十八条; 其他 with a note), unreadable cells. The re-rating job calls it when the
workbook has the sheet and lists the findings; nothing in the sheet is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from rules import RuleInputError, retention
from rules import cells as coerce
from rules.errors import show

from .headers import find_header

TRANSFER_SHEET_NAMES = ("转销户", "Transfers")

#: the columns the check reads: key -> accepted headers (the first is the one to write)
COLUMNS: dict[str, tuple[str, ...]] = {
    "client_id": ("客户编号", "client_id"),
    "tier": ("客户级别", "tier"),
    "client_type": ("客户性质", "client_type"),
    "date": ("办理日期", "date"),
    "appointment": ("预约日期", "appointment_date"),
    "reason": ("流失原因", "reason"),
    "detail": ("原因说明", "reason_detail"),
}
#: 第十六条, one 是/否 column per blocker (flag of rules.retention -> headers)
BLOCKER_COLUMNS: dict[str, tuple[str, ...]] = {
    "order_today": ("当天有委托",),
    "repo_not_matured": ("国债回购未到期",),
    "repo_registration_not_revoked": ("国债回购登记未撤销",),
    "ipo_funds_frozen": ("新股申购资金未解冻",),
    "agreement_unfulfilled": ("协议未履行完毕",),
    "registrar_refuses": ("中国结算不予办理",),
}
#: the sixth blocker is rarely recorded: its column may be left out
OPTIONAL_BLOCKERS = ("registrar_refuses",)
#: one column per approver of the chain, holding the name of who signed
APPROVER_COLUMNS: dict[str, tuple[str, ...]] = {
    "柜台人员（或营业部指定人员）": ("柜台人员", "营业部指定人员"),
    "客户经理": ("客户经理",),
    "营销总监": ("营销总监",),
    "总经理": ("总经理",),
}


@dataclass(frozen=True)
class TransferFinding:
    """A problem of one cell of 转销户 (row 1 = the header: a missing column)."""

    row: int
    column: str
    value: Any
    message: str
    col: int = 0  # 1-based column of the cell; 0 when the sheet has no such column
    client_id: str = ""  # the row's 客户编号

    def text(self) -> str:
        where = f"第 {self.row} 行 {self.column}" if self.row > 1 else f"列“{self.column}”"
        value = "" if self.row == 1 else f"={shown(self.value)}"
        return f"转销户 {where}{value}：{self.message}"


def shown(v: Any) -> str:
    """A cell's value as a finding shows it (a date cell as its date)."""
    if _empty(v):
        return "（空）"
    if isinstance(v, dt.datetime) and v.time() == dt.time():
        return v.date().isoformat()
    return show(v)


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def check_transfers(header: Sequence[str], columns: Sequence[Sequence[Any]]
                    ) -> list[TransferFinding]:
    """The findings of sheet 转销户 given its header (row 1) and its columns (rows 2, 3, …),
    as ``workbook.xlsxio.SheetData`` has them (``check_sheet``)."""
    header = [str(h or "").strip() for h in header]
    at = {k: find_header(header, names) for k, names in COLUMNS.items()}
    blocker_at = {f: find_header(header, names) for f, names in BLOCKER_COLUMNS.items()}
    approver_at = {a: find_header(header, (a, *names)) for a, names in APPROVER_COLUMNS.items()}
    blockers = {b.flag: b for b in retention.blockers()}
    out: list[TransferFinding] = []
    for key in ("client_id", "tier", "client_type", "date", "reason"):
        if at[key] is None:
            out.append(TransferFinding(1, COLUMNS[key][0], None,
                                       "缺少此列，无法核对（见 docs/workbook.md “转销户”）"))
    for flag, c in blocker_at.items():
        if c is None and flag not in OPTIONAL_BLOCKERS:
            b = blockers[flag]
            out.append(TransferFinding(1, BLOCKER_COLUMNS[flag][0], None,
                                       f"缺少此列，无法核对{b.clause}“{b.text}”（是/否）"))
    n = max((len(col) for col in columns), default=0)

    def cell(c: int | None, i: int) -> Any:
        return None if c is None or i >= len(columns[c]) else columns[c][i]

    for i in range(n):
        row = i + 2
        if all(_empty(cell(c, i)) for c in range(len(columns))):
            continue
        found = _check_row(row, lambda c, i=i: cell(c, i), header, at, blocker_at, approver_at,
                           blockers)
        out += found
    def where(f: TransferFinding) -> TransferFinding:
        if f.row == 1:
            return f
        cid = cell(at["client_id"], f.row - 2)
        return replace(f, col=header.index(f.column) + 1 if f.column in header else 0,
                       client_id="" if _empty(cid) else str(cid).strip())

    return [where(f) for f in out]


def _check_row(row: int, value: Any, header: list[str], at: dict[str, int | None],
               blocker_at: dict[str, int | None], approver_at: dict[str, int | None],
               blockers: dict[str, Any]) -> list[TransferFinding]:
    out: list[TransferFinding] = []

    def bad(c: int | None, key_header: str, message: str) -> None:
        out.append(TransferFinding(row, header[c] if c is not None else key_header,
                                   value(c), message))

    if at["client_id"] is not None and _empty(value(at["client_id"])):
        bad(at["client_id"], "客户编号", "客户编号为空")
    # 第十六条: a transfer done while a blocker was recorded
    for flag, c in blocker_at.items():
        if c is None:
            continue
        b = blockers[flag]
        try:
            yes = coerce.flag(value(c), b.text)
        except RuleInputError as e:
            bad(c, b.text, f"{e.message}（第十六条的检查结果须为 是/否）")
            continue
        if yes:
            bad(c, b.text, f"存在“{b.text}”时不能办理转销户（{b.clause}），本笔却已办理")
    # 第九、十、十七、十八条: who must sign, and the appointment a day ahead
    tier, ctype = value(at["tier"]), value(at["client_type"])
    chain_ok = at["tier"] is not None and at["client_type"] is not None
    for key, label in (("tier", "客户级别"), ("client_type", "客户性质")):
        if at[key] is not None and _empty(value(at[key])):
            bad(at[key], label, f"{label}为空，无法核对审批人")
            chain_ok = False
    if chain_ok:
        try:
            chain = retention.approval_chain(tier, ctype)
            needs_appointment = retention.appointment_required(tier, ctype)
            clause = retention.approval_clause(tier, ctype)
        except RuleInputError as e:
            key = "client_type" if e.field == "客户类型" else "tier"
            bad(at[key], COLUMNS[key][0], e.message)
        else:
            for role in chain:
                c = approver_at[role]
                if c is None or _empty(value(c)):
                    col = header[c] if c is not None else APPROVER_COLUMNS[role][0]
                    missing = "" if c is not None else "（工作表没有此列）"
                    out.append(TransferFinding(
                        row, col, value(c),
                        f"{tier}（{ctype}）的转销户须经 {'、'.join(chain)} 审批（{clause}），"
                        f"缺{role}签字{missing}"))
            if needs_appointment:
                out += _appointment(row, value, header, at, tier, ctype)
    # 第二十–二十八条: the reason in the seed's own words (其他 with a note)
    if at["reason"] is not None:
        try:
            retention.record_leaving_reason(value(at["reason"]), _text(value(at["detail"])))
        except RuleInputError as e:
            c = at["detail"] if e.field == "原因说明" and at["detail"] is not None else at["reason"]
            bad(c, "流失原因", e.message)
    return out


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) else (None if v is None else show(v))


def _appointment(row: int, value: Any, header: list[str], at: dict[str, int | None],
                 tier: Any, ctype: Any) -> list[TransferFinding]:
    """第十八条: 机构客户、核心客户 make an appointment at least one day before."""
    out: list[TransferFinding] = []
    d = at["date"]
    try:
        done = coerce.date(value(d), "办理日期") if d is not None else None
    except RuleInputError as e:
        assert d is not None  # only a read date can fail to parse
        return [TransferFinding(row, header[d], value(d), e.message)]
    c = at["appointment"]
    try:
        booked = coerce.date(value(c), "预约日期") if c is not None else None
    except RuleInputError as e:
        assert c is not None  # only a read date can fail to parse
        return [TransferFinding(row, header[c], value(c), e.message)]
    rule = f"{tier}（{ctype}）转销户实行预约制，须提前一天与营销总监或总经理沟通（第十八条）"
    if booked is None:
        out.append(TransferFinding(row, header[c] if c is not None else COLUMNS["appointment"][0],
                                   value(c), f"{rule}：未记录预约日期"))
    elif done is None:
        out.append(TransferFinding(row, header[at["date"]] if at["date"] is not None else "办理日期",
                                   value(at["date"]), f"{rule}：办理日期为空，无法核对"))
    elif booked > done - dt.timedelta(days=1):
        assert c is not None  # booked is read from column c
        out.append(TransferFinding(row, header[c], value(c),
                                   f"{rule}：预约 {booked.isoformat()}、办理 {done.isoformat()}，"
                                   "未提前一天"))
    return out


def check_sheet(data: Any) -> list[TransferFinding]:
    """``check_transfers`` of a sheet read by ``workbook.xlsxio.read_sheet``."""
    return check_transfers(data.header, data.columns)
