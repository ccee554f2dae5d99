"""Schedules and accounts: TRANSFER_APPROVAL, REVIEW_DUE, RERATING_WINDOW, RULES_VERSION and the
transfers and closings of seed 003 (TRANSFER_BLOCKERS, FOLLOW_UP, ACCOUNT_CLOSING,
LEAVING_REASON, RETENTION_ADVICE), docs/functions.md."""

from __future__ import annotations

from typing import Any

from rules import cells as coerce
from rules import in_force_until, retention, schedule, suitability, version_in_force

from . import rate
from .shape import cells, fit
from .spec import DOC_RULEBOOK, excel_arg, excel_function, need_date, need_text, todays_date

# --------------------------------------------------------------------------- schedules


@excel_function()
@excel_arg("tier", doc="客户级别（VIP客户/核心客户/潜力客户/普通客户）或 大客户/重要客户")
@excel_arg("client_type", doc="客户性质：个人 / 机构 / 产品（产品户由管理人凭法人授权委托书办理，按机构客户）")
@cells()
def TRANSFER_APPROVAL(tier, client_type):
    """转销户审批流程（003 第九、十、十七、十八条）：普通客户 柜台与客户经理；大/重要客户 +营销总监；机构（含产品户）及核心客户 +营销总监→总经理（须提前一天预约）。"""
    t, c = need_text(tier, "客户级别"), need_text(client_type, "客户性质")
    chain = " → ".join(retention.approval_chain(t, c))
    return chain + ("（须提前一天预约）" if retention.appointment_required(t, c) else "")


@excel_function(volatile=True)  # as_of defaults to today: recalculated daily
@excel_arg("assessed_on", doc="风险测评日期")
@excel_arg("as_of", doc="统计日期，可省略（默认今天：每次重算按当天）")
@cells()
def REVIEW_DUE(assessed_on, as_of=None):
    """问卷复评：每两年重新评估一次，返回到期日、是否逾期及剩余天数的说明。省略统计日期按今天算（易失函数，每次重算更新）。"""
    done = need_date(assessed_on, "评估日期")
    today = coerce.date(as_of, "统计日期") or todays_date()
    return suitability.reassessment_due(done, today).text_zh


@excel_function()
@excel_arg("period", doc="评级周期：2026Q4（季度）、2026（年度）或 2026-11（新开户月份）")
@excel_arg("rulebook", doc=DOC_RULEBOOK)
@cells()
def RERATING_WINDOW(period, rulebook="brokerage"):
    """评级运行窗口（上交所工作日，天数按规则：brokerage 年度10/季度3/新开户3；private-fund 10/3/5）；日历未维护的年份按周一至周五推算并注明。"""
    p = schedule.period_of_cell(period)
    rid = rate.rulebook_id(rulebook, "brokerage")
    w = schedule.run_window(p, rid, assume_weekdays=True)
    kind = {"annual": "年度评级", "quarterly": "季度评级", "new-accounts": "新开户评级"}[p.mode]
    text = f"{p.label} {kind}：{w.first.isoformat()} 至 {w.last.isoformat()}（{len(w.days)} 个工作日）"
    return fit(f"{text}；注意：{w.note_zh}" if w.note_zh else text)


@excel_function(volatile=True)  # as_of defaults to today: recalculated daily
@excel_arg("rulebook", doc=DOC_RULEBOOK)
@excel_arg("as_of", doc="日期，可省略（默认今天：每次重算按当天）")
@cells()
def RULES_VERSION(rulebook="brokerage", as_of=None):
    """规则版本：在该日期生效的规则编号@版本及生效期间（已被新版本取代的写明止日与新版本）；含重构假设的规则会注明。省略日期按今天算（易失函数，每次重算更新）。"""
    rid = rate.rulebook_id(rulebook, "brokerage")
    day = coerce.date(as_of, "日期") or todays_date()
    data, _ = version_in_force(rid, day)
    until, successor = in_force_until(data)
    to = until.isoformat() if until else "今"
    note = (f"（{successor.effective_from.isoformat()} 起由 {successor.id}@{successor.version} 取代）"
            if successor else "")
    note += "（含重构假设，须公司确认）" if data.assumption else ""
    if data.example:
        note += "（示例参数）"
    return fit(f"{data.id}@{data.version}，{data.effective_from.isoformat()} 至 {to} 有效{note}")


# --------------------------------------------------------------------------- retention (seed 003)

DOC_YES_NO = "：是/否（TRUE/FALSE、1/0）；空单元格按 否"


def _yes(v: Any, field: str) -> bool:
    return bool(coerce.flag(v, field))


_FIELDS: dict[int, tuple[Any, tuple[tuple[str, str], ...]]] = {}


def _flags(items: tuple[Any, ...], values: tuple[Any, ...]) -> dict[str, bool]:
    """The check items' flags from their cells (in order; an unreadable cell names its text)."""
    return {flag: _yes(v, text) for (flag, text), v in zip(_fields(items), values, strict=True)}


def _fields(items: tuple[Any, ...]) -> tuple[tuple[str, str], ...]:
    """(flag, text) of the seed 003 check items, in their order (made once per data file)."""
    got = _FIELDS.get(id(items))
    if got is None or got[0] is not items:
        got = _FIELDS[id(items)] = (items, tuple((b.flag, b.text) for b in items))
    return got[1]


@excel_function()
@excel_arg("order_today", doc="当天有委托（已成交或未成交）" + DOC_YES_NO)
@excel_arg("repo_not_matured", doc="国债回购未到期" + DOC_YES_NO)
@excel_arg("repo_registration_not_revoked", doc="国债回购登记未撤销" + DOC_YES_NO)
@excel_arg("ipo_funds_frozen", doc="新股申购资金未解冻" + DOC_YES_NO)
@excel_arg("agreement_unfulfilled", doc="与营业部签订的协议未履行完毕" + DOC_YES_NO)
@excel_arg("registrar_refuses", doc="可省略。中国结算上海分公司认为不能撤销或深圳分公司认为不能转托管"
                                 + DOC_YES_NO)
@cells()
def TRANSFER_BLOCKERS(order_today, repo_not_matured, repo_registration_not_revoked,
                      ipo_funds_frozen, agreement_unfulfilled, registrar_refuses=None):
    """转销户前检查（003 第十六条）：有任一情形即“不能办理”并列出原因与条款；都没有则“可以办理”。"""
    values = (order_today, repo_not_matured, repo_registration_not_revoked, ipo_funds_frozen,
              agreement_unfulfilled, registrar_refuses)
    found = retention.transfer_blockers(**_flags(retention.blockers(), values))
    if not found:
        return "可以办理：第十六条所列不能办理的情形均不存在"
    return "不能办理：" + "；".join(f.removeprefix("不能办理转销户：") for f in found)


@excel_function(volatile=True)  # as_of defaults to today: recalculated daily
@excel_arg("tier", doc="客户级别（VIP客户/核心客户/潜力客户/普通客户）或 重要客户/中大客户")
@excel_arg("client_type", doc="客户性质：个人 / 机构 / 产品（产品户按机构客户）")
@excel_arg("left_on", doc="转出（销户）日期")
@excel_arg("as_of", doc="统计日期，可省略（默认今天：每次重算按当天）：返回此日及以后最近的一步")
@cells()
def FOLLOW_UP(tier, client_type, left_on, as_of=None):
    """流失客户回访（003 第三十–三十二条）：统计日起最近一步的期限与内容，如转出当周回访、此后每月至少交流一次、机构一年内上门回访。省略统计日期按今天算（易失函数，每次重算更新）。"""
    t, c = need_text(tier, "客户级别"), need_text(client_type, "客户性质")
    left = need_date(left_on, "转出日期")
    today = coerce.date(as_of, "统计日期") or todays_date()
    steps = retention.follow_up_plan(t, c, left)
    due = [(s.due_by, s) for s in steps if s.due_by is not None and s.due_by >= today]
    if due:
        first = [s for by, s in due if by == due[0][0]]
        later = len(due) - len(first)
        more = f"（其后还有 {later} 步）" if later else ""
        return f"{due[0][0].isoformat()} 前：" + "；".join(s.text_zh for s in first) + more
    open_ended = [s for s in steps if s.due_by is None]
    if open_ended:
        return open_ended[0].text_zh
    last = steps[-1]
    return f"回访计划各步期限均已过（最后一步 {last.due_by}）：{last.text_zh}"


@excel_function()
@excel_arg("sh_designation_revoked", doc="已办理上海撤销指定交易" + DOC_YES_NO)
@excel_arg("sz_transferred", doc="已办理深圳转托管" + DOC_YES_NO)
@excel_arg("interest_withdrawn", doc="已办理资金结息取款" + DOC_YES_NO)
@excel_arg("agreements_fulfilled", doc="与营业部签定的各种协议已履行完毕" + DOC_YES_NO)
@excel_arg("no_other_links", doc="无其他对应关系" + DOC_YES_NO)
@cells()
def ACCOUNT_CLOSING(sh_designation_revoked, sz_transferred, interest_withdrawn,
                    agreements_fulfilled, no_other_links):
    """资金帐户销户条件（003 第十九条）：五项均已办理 → “应及时销户”；否则列出尚未满足的条件。"""
    values = (sh_designation_revoked, sz_transferred, interest_withdrawn, agreements_fulfilled,
              no_other_links)
    left = retention.closing_check(**_flags(retention.closing_conditions(), values))
    if not left:
        return "应及时销户：第十九条所列事项均已办理完毕"
    return "暂不能销户，尚未满足：" + "、".join(left) + "（第十九条）"


@excel_function()
@excel_arg("reason", doc="流失原因：003 第二十–二十八条原文（如 行业内竞争、佣金费率水平较高），或 其他")
@excel_arg("detail", doc="原因说明，可省略；原因为“其他”时必填")
@cells()
def LEAVING_REASON(reason, detail=None):
    """流失原因的记录文字（003 第三十条备忘录）：只接受制度原文列出的原因，返回原文写法；“其他”须写说明，记为“其他：说明”。"""
    return retention.record_leaving_reason(need_text(reason, "流失原因"),
                                           coerce.text(detail, "原因说明"))


@excel_function()
@excel_arg("reason", doc="流失原因（制度原文，如 佣金费率水平较高；或 LEAVING_REASON 的结果）")
@cells()
def RETENTION_ADVICE(reason):
    """挽留应对要点（003 第二十–二十九条）：按流失原因给出营业部应采取的措施及条款。"""
    return retention.leaving_reason_response(need_text(reason, "流失原因"))
