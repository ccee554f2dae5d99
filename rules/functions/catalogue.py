"""The catalogue of Excel functions as plain Python (docs/functions.md): no xlwings here.

``udfs`` registers these functions with xlwings (``udfs/__init__.py`` applies ``xw.func`` and
``xw.arg`` from :data:`SPECS`); the auditor and the template call them directly, without xlwings.

Every function takes cells or ranges (declared ``ndim=2``: a range arrives as a 2-D list, a single
cell as ``[[v]]``) and returns a scalar for single cells or a 2-D list of the broadcast shape.
``err_to_str=True`` makes an error cell arrive as its text (``"#DIV/0!"``), not as an empty cell,
so that an error never counts as 0. Bad input gives ``#VALUE! …`` / ``#N/A …`` texts (see
``rules.functions.shape.error_text``). Do not annotate arguments: xlwings turns type hints into
converters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from rules import RuleInputError, get_rulebook, version_in_force
from rules import cells as coerce
from rules.errors import show

from . import rate
from .shape import as_grid, cells, error_text, fit, flat, grid_shape, safe

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Spec:
    """What Excel's function wizard shows of one function: volatile or not, one doc per argument
    (in the order of the signature); ``udfs`` turns it into ``xw.func`` / ``xw.arg``."""

    volatile: bool = False
    args: list[tuple[str, str]] = field(default_factory=list)


#: Function name -> its :class:`Spec`, filled by the decorators below.
SPECS: dict[str, Spec] = {}


def excel_function(*, volatile: bool = False) -> Callable[[F], F]:
    """Mark a catalogue function (``volatile``: recalculated on every recalculation)."""

    def deco(f: F) -> F:
        SPECS.setdefault(f.__name__, Spec()).volatile = volatile
        return f

    return deco


def excel_arg(name: str, doc: str) -> Callable[[F], F]:
    """The wizard's text of argument ``name`` (decorators apply bottom-up: prepend)."""

    def deco(f: F) -> F:
        SPECS.setdefault(f.__name__, Spec()).args.insert(0, (name, doc))
        return f

    return deco


DOC_RULEBOOK = ("规则编号，可省略（默认 brokerage 经纪业务；private-fund 私募基金；wealth 财富管理，"
                "也可写 经纪/私募/财富）")


def _today() -> dt.date:
    return dt.date.today()


def _need_text(v: Any, field: str) -> str:
    s = coerce.text(v, field)
    if s is None:
        raise RuleInputError(f"{field}为空", field=field, value=v, kind="na")
    return s


def _need_date(v: Any, field: str) -> dt.date:
    d = coerce.date(v, field)
    if d is None:
        raise RuleInputError(f"{field}为空", field=field, value=v, kind="na")
    return d


def _need_number(v: Any, field: str) -> float:
    x = coerce.number(v, field)
    if x is None:
        raise RuleInputError(f"{field}为空", field=field, value=v, kind="na")
    return x


# --------------------------------------------------------------------------- tiers


def _tier_vector(finish: rate.Finish, n_extra: int = 0):
    def vector(shape, *grids):
        extra, (assets, revenue, rulebook) = grids[:n_extra], grids[n_extra:]
        return rate.rate_many(shape, rulebook, [assets, revenue], finish,
                               rate.tier_rulebook, extra=extra)
    return vector


@excel_function()
@excel_arg("assets", doc="资产（元）：经纪业务为资产权益，私募基金为日均资产；可写 25万、1,000,000")
@excel_arg("revenue", doc="上年度净佣金（经纪业务）或上年度管理费（私募基金），元；空单元格按 0 计")
@excel_arg("rulebook", doc=DOC_RULEBOOK)
@cells(vector=_tier_vector(rate.labels))
def CLIENT_TIER(assets, revenue, rulebook="brokerage"):
    """客户级别：按规则（默认 2009 年经纪业务标准）由资产与上年度净佣金/管理费得出 VIP客户、核心客户、潜力客户或普通客户。可整列计算。"""
    rb = rate.tier_rulebook(rulebook)
    return rate.decide(rb, assets, revenue).label


@excel_function()
@excel_arg("assets", doc="资产（元）：经纪业务为资产权益，私募基金为日均资产")
@excel_arg("revenue", doc="上年度净佣金或上年度管理费（元）；空单元格按 0 计")
@excel_arg("rulebook", doc=DOC_RULEBOOK)
@cells(vector=_tier_vector(rate.reasons))
def TIER_EXPLAIN(assets, revenue, rulebook="brokerage"):
    """级别依据：命中的规则编号、实际数值与比较的边界、结果级别和规则版本（如 brokerage@2009.1）。"""
    rb = rate.tier_rulebook(rulebook)
    return rate.decide(rb, assets, revenue).reason


@excel_function()
@excel_arg("tier_in_force", doc="现有级别（当前级别；空 = 首次评级）。可写 VIP/核心/潜力/普通 或 一类–四类")
@excel_arg("assets", doc="资产（元），上季度末数据")
@excel_arg("revenue", doc="上年度净佣金或管理费（元）；空单元格按 0 计")
@excel_arg("rulebook", doc=DOC_RULEBOOK)
@cells(vector=_tier_vector(rate.upgraded, n_extra=1))
def QUARTER_TIER(tier_in_force, assets, revenue, rulebook="brokerage"):
    """季度评级结果：就高不就低——计算级别高于现有级别则升级，否则保留现有级别（财富分级规则可升可降）。"""
    rb = rate.tier_rulebook(rulebook)
    computed = rate.decide(rb, assets, revenue).label
    return rate.upgrade_only(rb, computed, tier_in_force)


def _not_questionnaire_points(v: Any) -> None:
    """RISK_CLASS speaks seed 001's 9–100 score; RISK_SCORE's points (seed 002, 12–48 by default)
    carry their scale in the text, so that they are refused here instead of read as a score."""
    from rules import questionnaire

    if questionnaire.untag(v) is not None:
        q = questionnaire.load_questionnaire()
        raise RuleInputError(
            f"{v.strip()} 是 RISK_SCORE 的{questionnaire.SCALE_NAME}问卷分（002，{q.min_score}–"
            f"{q.max_score}，分极低/低/中/高，请用 RISK_LEVEL），不是 RISK_CLASS 所用的 001 "
            "风险测评得分（9–100）", field="风险测评得分", value=v)


def _risk_class_vector(shape, score, rulebook):
    out = rate.rate_many(shape, rulebook, [score], rate.labels,
                          lambda v: rate.rulebook(v, "risk-class"))
    cols = shape[1]
    for i, v in enumerate(flat(score, shape)):
        if isinstance(v, str):
            try:
                _not_questionnaire_points(v)
            except RuleInputError as e:
                out[i // cols][i % cols] = error_text(e)
    return out


@excel_function()
@excel_arg("score", doc="风险测评得分（001 私募基金细则第五条的问卷），9–100 的整数；"
                     "RISK_SCORE 的风险承受力调查表问卷分不是这个得分，会被拒绝")
@excel_arg("rulebook", doc="规则编号，可省略（默认 risk-class）")
@cells(vector=_risk_class_vector)
def RISK_CLASS(score, rulebook="risk-class"):
    """风险类别（001 第五条，得分 9–100）：9–40 保守型，41–75 稳健型，76–100 进取型（积极型）。不接受 RISK_SCORE 的调查表问卷分（002，极低/低/中/高，用 RISK_LEVEL）。"""
    _not_questionnaire_points(score)
    rb = rate.rulebook(rulebook, "risk-class")
    return rate.decide(rb, score).label


# --------------------------------------------------------------------------- questionnaire


def _answers_score(answers: list[Any]) -> str:
    from rules import questionnaire

    for k, a in enumerate(answers, start=1):
        if coerce.is_error_text(a):
            raise coerce.error_cell(a, f"第{k}题答案")
    return questionnaire.tagged(questionnaire.score(answers))


@excel_function()
@excel_arg("answers", doc="12 道题的答案（A–E 或 1–5；第 9 题多选可写 ACD），一个区域或逐个单元格")
def RISK_SCORE(*answers):
    """002《客户投资风险承受力评估调查表》12 题总分（默认分值 12–48，须公司确认），如“30分（风险承受力调查表）”，供 RISK_LEVEL 用；不是 RISK_CLASS 的 9–100 得分。多行区域逐行返回。"""
    grids = [as_grid(a) for a in answers]
    if len(grids) == 1 and grid_shape(grids[0])[0] > 1:
        return [[safe(_answers_score, list(row))] for row in grids[0]]
    flat = [v for g in grids for row in g for v in row]
    return safe(_answers_score, flat)


@excel_function()
@excel_arg("score", doc="风险承受力调查表问卷总分：RISK_SCORE 的结果（如 30分（风险承受力调查表））或整数")
@cells()
def RISK_LEVEL(score):
    """风险承受力档次（002 第八条）：调查表问卷总分 → 极低 / 低 / 中 / 高（默认分数线，须公司确认）。001 的 9–100 风险测评得分请用 RISK_CLASS。"""
    from rules import questionnaire

    points = questionnaire.untag(score)
    return questionnaire.level(coerce.integer(score, "问卷总分") if points is None else points)


# --------------------------------------------------------------------------- suitability


@excel_function()
@excel_arg("tier", doc="客户级别：VIP客户/核心客户/潜力客户/普通客户（或简称、一类–四类）")
@excel_arg("risk_class", doc="风险类别：保守型/稳健型/进取型（积极型）")
@cells()
def CLIENT_CLASS(tier, risk_class):
    """四级十二类：级别与风险类别组合，如 核心客户·稳健型。"""
    from rules import suitability

    return suitability.client_class(_need_text(tier, "客户级别"), _need_text(risk_class, "风险类别"))


DOC_CLIENT_RISK = ("客户风险类别：保守型/稳健型/进取型（001 第十九条），或风险承受能力 极低/低/中/高"
                   "（002 第八条，RISK_LEVEL 的结果）")


@excel_function()
@excel_arg("risk_class", doc=DOC_CLIENT_RISK)
@excel_arg("product_risk", doc="产品（基金）风险等级：高/中/低，如 FUND_RISK 的结果")
@cells()
def SUITABLE(risk_class, product_risk):
    """适当性 → TRUE/FALSE。001：保守型仅低；稳健型低、中；进取型全部。002：极低、低 → 低风险基金；中 → 低、中；高 → 全部（同名档次相应出自原文，其余为默认匹配，须公司确认）。"""
    from rules import suitability

    return suitability.suitable(_need_text(risk_class, "风险类别"),
                                _need_text(product_risk, "产品风险等级"))


@excel_function()
@excel_arg("risk_class", doc=DOC_CLIENT_RISK)
@excel_arg("product_risk", doc="产品（基金）风险等级：高/中/低")
@cells()
def SUITABILITY_NOTE(risk_class, product_risk):
    """适当性提示：匹配时简短说明；不匹配时给出警示文字（001 第十九条：须提示风险并留痕；002 第八条：应提供相适应的产品，默认匹配处注明）。"""
    from rules import suitability

    return suitability.suitability_note(_need_text(risk_class, "风险类别"),
                                        _need_text(product_risk, "产品风险等级"))


@excel_function()
@excel_arg("fund_type", doc="基金类型，如 股票型、偏债型、货币市场基金")
@cells()
def FUND_RISK(fund_type):
    """基金风险等级：股票、指数、偏股、平衡、灵活配置 → 高；偏债、债券 → 中；短债、保本、货币 → 低。"""
    from rules import segments

    return segments.fund_risk(_need_text(fund_type, "基金类型"))


# --------------------------------------------------------------------------- services


@excel_function(volatile=True)  # as_of defaults to today: recalculated daily
@excel_arg("tier", doc="客户级别（VIP客户/核心客户/潜力客户/普通客户，或简称、一类–四类）")
@excel_arg("open_date", doc="开户日期，可省略；当年开户的客户至少享受财路通")
@excel_arg("rulebook", doc=DOC_RULEBOOK)
@excel_arg("as_of", doc="统计日期，可省略（默认今天：每次重算按当天），用于判断是否当年开户")
@cells()
def SERVICE_PACKAGE(tier, open_date=None, rulebook="brokerage", as_of=None):
    """服务产品：VIP客户 财务通；核心客户 财富通；潜力客户及当年开户 财路通；普通客户 基础服务。省略统计日期按今天算（易失函数，每次重算更新）。"""
    rb = rate.labels_rulebook(rulebook, "brokerage")
    label = rb.normalize_label(_need_text(tier, "客户级别"), "客户级别")
    opened = coerce.date(open_date, "开户日期")
    year = (coerce.date(as_of, "统计日期") or _today()).year
    return rb.service_product(label, opened is not None and opened.year == year)


@excel_function()
@excel_arg("tier", doc="客户级别（或简称、一类–四类；财富分级为 钻石/白金/黄金/普通）")
@excel_arg("rulebook", doc=DOC_RULEBOOK)
@cells()
def VISITS_PER_YEAR(tier, rulebook="brokerage"):
    """每年最少拜访/回访次数：经纪业务 VIP、核心 1 次；私募 VIP 2 次、核心 1 次；财富 钻石 12、白金 4、黄金 2、普通 1。"""
    rb = rate.labels_rulebook(rulebook, "brokerage")
    return rb.visits_per_year(rb.normalize_label(_need_text(tier, "客户级别"), "客户级别"))


# --------------------------------------------------------------------------- segments


def _turnover_rulebook(threshold: Any):
    t = coerce.number(threshold, "资产周转率分界")
    if t is None:
        return get_rulebook("asset-turnover")
    if not (t >= 0 and np.isfinite(t)):
        raise RuleInputError(f"资产周转率分界须为非负数：{t}", field="资产周转率分界", value=t)
    return get_rulebook("asset-turnover", parameters={"turnover_threshold": t})


@excel_function()
@excel_arg("assets", doc="资产量（元）")
@excel_arg("turnover", doc="资产周转率")
@excel_arg("threshold", doc="周转率高/低分界，可省略（默认 3，文件参考值，每年按前三年平均调整）")
@cells(vector=lambda shape, assets, turnover, threshold: rate.rate_many(
    shape, threshold, [assets, turnover], rate.labels, _turnover_rulebook))
def ASSET_TURNOVER_CLASS(assets, turnover, threshold=None):
    """资产量×资产周转率十一类 A+/B+/A/B/C/D/C-/D-/E/F/G（原文缺表，按重构默认表，须公司确认）。"""
    return rate.decide(_turnover_rulebook(threshold), assets, turnover).label


@excel_function()
@excel_arg("avg_holding_days", doc="平均持股/持基天数")
@excel_arg("frequent_derivatives", doc="是否频繁交易股指期货、权证、融资融券（TRUE/FALSE），可省略")
@cells()
def HOLDING_STYLE(avg_holding_days, frequent_derivatives=False):
    """操作习惯：持有不足 1 个月或频繁交易衍生品 → 短线；1–3 个月 → 波段；3 个月以上 → 价值（1 个月按 30 天）。"""
    from rules import segments

    days = _need_number(avg_holding_days, "平均持有天数")
    freq = coerce.flag(frequent_derivatives, "频繁衍生品交易")
    return segments.holding_style(days, bool(freq))


@excel_function()
@excel_arg("current", doc="当前价值高低：高/低（或 TRUE/FALSE）")
@excel_arg("future", doc="未来价值高低：高/低（或 TRUE/FALSE）")
@cells()
def VALUE_SEGMENT(current, future):
    """价值评估：高/高 黄金客户；低/高 明日之星；高/低 维护型；低/低 自由型。"""
    from rules import segments

    cur = coerce.flag(current, "当前价值", true_words=("高",), false_words=("低",))
    fut = coerce.flag(future, "未来价值", true_words=("高",), false_words=("低",))
    for name, v in (("当前价值", cur), ("未来价值", fut)):
        if v is None:
            raise RuleInputError(f"{name}为空", field=name, kind="na")
    return segments.value_segment(bool(cur), bool(fut))


@excel_function()
@excel_arg("recency_days", doc="距最近一次交易的天数")
@excel_arg("frequency", doc="近 12 个月交易次数")
@excel_arg("monetary", doc="近 12 个月贡献（元）")
@excel_arg("style", doc="代码格式，可省略：R5F3M4（默认）或 534")
@cells()
def RFM(recency_days, frequency, monetary, style="R5F3M4"):
    """RFM 代码：R（≤7 天 5 分 … >120 天 1 分）、F、M 各 1–5 分，如 R5F3M4（F、M 档位为默认值）。"""
    from rules import segments

    r = rate.decide(get_rulebook("rfm-recency"), recency_days).label
    f = rate.decide(get_rulebook("rfm-frequency"), frequency).label
    m = rate.decide(get_rulebook("rfm-monetary"), monetary).label
    # "534" typed into a cell arrives as the number 534
    if isinstance(style, float | int) and not isinstance(style, bool) and style == 534:
        s = "534"
    else:
        s = (coerce.text(style, "RFM 格式") or "R5F3M4").upper()
    return segments.rfm_code(int(r), int(f), int(m), s)


# --------------------------------------------------------------------------- schedules


@excel_function()
@excel_arg("tier", doc="客户级别（VIP客户/核心客户/潜力客户/普通客户）或 大客户/重要客户")
@excel_arg("client_type", doc="客户性质：个人 / 机构 / 产品（产品户由管理人凭法人授权委托书办理，按机构客户）")
@cells()
def TRANSFER_APPROVAL(tier, client_type):
    """转销户审批流程（003 第九、十、十七、十八条）：普通客户 柜台与客户经理；大/重要客户 +营销总监；机构（含产品户）及核心客户 +营销总监→总经理（须提前一天预约）。"""
    from rules import retention

    t, c = _need_text(tier, "客户级别"), _need_text(client_type, "客户性质")
    chain = " → ".join(retention.approval_chain(t, c))
    return chain + ("（须提前一天预约）" if retention.appointment_required(t, c) else "")


@excel_function(volatile=True)  # as_of defaults to today: recalculated daily
@excel_arg("assessed_on", doc="风险测评日期")
@excel_arg("as_of", doc="统计日期，可省略（默认今天：每次重算按当天）")
@cells()
def REVIEW_DUE(assessed_on, as_of=None):
    """问卷复评：每两年重新评估一次，返回到期日、是否逾期及剩余天数的说明。省略统计日期按今天算（易失函数，每次重算更新）。"""
    from rules import suitability

    done = _need_date(assessed_on, "评估日期")
    today = coerce.date(as_of, "统计日期") or _today()
    return suitability.reassessment_due(done, today).text_zh


@excel_function()
@excel_arg("period", doc="评级周期：2026Q4（季度）、2026（年度）或 2026-11（新开户月份）")
@excel_arg("rulebook", doc=DOC_RULEBOOK)
@cells()
def RERATING_WINDOW(period, rulebook="brokerage"):
    """评级运行窗口（上交所工作日，天数按规则：brokerage 年度10/季度3/新开户3；private-fund 10/3/5）；日历未维护的年份按周一至周五推算并注明。"""
    from rules import schedule

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
    from rules import in_force_until

    rid = rate.rulebook_id(rulebook, "brokerage")
    day = coerce.date(as_of, "日期") or _today()
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
    from rules import retention

    flags = dict(zip(retention.blocker_flags(), (
        order_today, repo_not_matured, repo_registration_not_revoked, ipo_funds_frozen,
        agreement_unfulfilled, registrar_refuses), strict=True))
    texts = {b.flag: b.text for b in retention.blockers()}
    found = retention.transfer_blockers(**{k: _yes(v, texts[k]) for k, v in flags.items()})
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
    from rules import retention

    t, c = _need_text(tier, "客户级别"), _need_text(client_type, "客户性质")
    left = _need_date(left_on, "转出日期")
    today = coerce.date(as_of, "统计日期") or _today()
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
    from rules import retention

    conds = retention.closing_conditions()
    values = (sh_designation_revoked, sz_transferred, interest_withdrawn, agreements_fulfilled,
              no_other_links)
    left = retention.closing_check(**{c.flag: _yes(v, c.text)
                                      for c, v in zip(conds, values, strict=True)})
    if not left:
        return "应及时销户：第十九条所列事项均已办理完毕"
    return "暂不能销户，尚未满足：" + "、".join(left) + "（第十九条）"


@excel_function()
@excel_arg("reason", doc="流失原因：003 第二十–二十八条原文（如 行业内竞争、佣金费率水平较高），或 其他")
@excel_arg("detail", doc="原因说明，可省略；原因为“其他”时必填")
@cells()
def LEAVING_REASON(reason, detail=None):
    """流失原因的记录文字（003 第三十条备忘录）：只接受制度原文列出的原因，返回原文写法；“其他”须写说明，记为“其他：说明”。"""
    from rules import retention

    return retention.record_leaving_reason(_need_text(reason, "流失原因"),
                                           coerce.text(detail, "原因说明"))


@excel_function()
@excel_arg("reason", doc="流失原因（制度原文，如 佣金费率水平较高；或 LEAVING_REASON 的结果）")
@cells()
def RETENTION_ADVICE(reason):
    """挽留应对要点（003 第二十–二十九条）：按流失原因给出营业部应采取的措施及条款。"""
    from rules import retention

    return retention.leaving_reason_response(_need_text(reason, "流失原因"))


CATALOGUE: tuple[str, ...] = (
    "CLIENT_TIER", "TIER_EXPLAIN", "QUARTER_TIER", "RISK_CLASS", "RISK_SCORE", "RISK_LEVEL",
    "CLIENT_CLASS", "SUITABLE", "SUITABILITY_NOTE", "FUND_RISK", "SERVICE_PACKAGE",
    "VISITS_PER_YEAR", "ASSET_TURNOVER_CLASS", "HOLDING_STYLE", "VALUE_SEGMENT", "RFM",
    "TRANSFER_APPROVAL", "REVIEW_DUE", "RERATING_WINDOW", "RULES_VERSION",
    # seed 003 retention (i17-fn)
    "TRANSFER_BLOCKERS", "FOLLOW_UP", "ACCOUNT_CLOSING", "LEAVING_REASON", "RETENTION_ADVICE",
)

__all__ = list(CATALOGUE)


# --------------------------------------------------------------------------- suitability 2017
# 证监会《证券期货投资者适当性管理办法》(2017) — rules/appropriateness.py, docs/suitability.md


def _regime():
    from rules import appropriateness

    return appropriateness.get_regime(as_of=_today())


def _money_arg(v: Any, field: str) -> float | None:
    x = coerce.number(v, field)
    if x is not None and x < 0:
        raise RuleInputError(f"{field}不能为负数：{show(x)}", field=field, value=v)
    return x


@excel_function()
@excel_arg("client_type", doc="客户性质：个人 / 机构 / 产品")
@excel_arg("financial_assets", doc="金融资产（元；机构为最近1年末），可写 500万；空 = 未提供")
@excel_arg("income", doc="个人最近3年年均收入（元），可省略")
@excel_arg("investment_years", doc="证券、基金、期货、黄金、外汇等投资经历（年），可省略")
@excel_arg("net_assets", doc="机构最近1年末净资产（元），可省略")
@excel_arg("category", doc="第八条第（一）–（三）项类别，如 金融机构、理财产品、养老基金、QFII；不属于时留空")
@excel_arg("work_years", doc="金融产品设计、投资、风险管理等相关工作经历（年），可省略")
@excel_arg("qualified", doc="是否为第（一）项机构的高管或持证从事金融业务的注册会计师、律师（TRUE/FALSE），可省略")
@excel_arg("request", doc="申请：申请普通（专业转普通）、申请专业（待公司评估）、批准专业（公司已同意转化），可省略")
@cells()
def INVESTOR_TYPE(client_type, financial_assets=None, income=None, investment_years=None,
                  net_assets=None, category=None, work_years=None, qualified=False, request=None):
    """投资者类别（证券期货投资者适当性管理办法第八条、第十一条）：普通投资者、专业投资者A（第（一）–（三）项）或专业投资者B（第（四）、（五）项），附条款。金额按分比较。"""
    from rules import appropriateness

    d = appropriateness.investor_type(
        _regime(), client_type=_need_text(client_type, "客户性质"),
        category=coerce.text(category, "专业投资者类别"),
        net_assets=_money_arg(net_assets, "净资产"),
        financial_assets=_money_arg(financial_assets, "金融资产"),
        income=_money_arg(income, "近三年年均收入"),
        investment_years=_money_arg(investment_years, "投资经历年限"),
        work_years=_money_arg(work_years, "金融相关工作年限"),
        qualified=bool(coerce.flag(qualified, "专业资格")),
        request=coerce.text(request, "投资者类别申请"))
    return fit(f"{d.label}（{d.clause}）")


@excel_function(volatile=True)  # as_of defaults to today: recalculated daily
@excel_arg("score", doc="风险测评问卷得分（默认 0–100 分；分数线为公司配置）")
@excel_arg("lowest", doc="是否属风险承受能力最低类别（不具有完全民事行为能力或不愿承受任何损失），TRUE/FALSE，可省略")
@excel_arg("assessed_on", doc="测评日期，可省略；超过有效期（公司设置，默认 2 年）返回 测评过期")
@excel_arg("as_of", doc="统计日期，可省略（默认今天：每次重算按当天）")
@cells()
def INVESTOR_LEVEL(score, lowest=False, assessed_on=None, as_of=None):
    """普通投资者风险承受能力等级：问卷得分 → C1–C5（默认每 20 分一档，公司可配置）；最低类别为 C1（最低类别）；给出测评日期时，过期的测评返回 测评过期。省略统计日期按今天算（易失函数，每次重算更新）。"""
    from rules import appropriateness

    low = bool(coerce.flag(lowest, "最低类别"))
    x = coerce.integer(score, "风险测评得分")
    if x is None and not low:
        raise RuleInputError("风险测评得分为空", field="风险测评得分", value=score, kind="na")
    rg = _regime()
    level = appropriateness.investor_level(x, low, rg).label
    done = coerce.date(assessed_on, "测评日期")
    if done is not None:
        day = coerce.date(as_of, "统计日期") or _today()
        if not appropriateness.assessment_status(done, day, rg).valid:
            return "测评过期"
    return level


@excel_function()
@excel_arg("investor_level", doc="投资者风险等级：C1–C5、C1（最低类别）或 专业投资者")
@excel_arg("product_level", doc="产品风险等级：R1–R5（或 低风险、中低风险、中风险、中高风险、高风险）")
@excel_arg("warned", doc="是否已作特别的书面风险警示并经客户确认（TRUE/FALSE），可省略")
@cells()
def PRODUCT_MATCH(investor_level, product_level, warned=False):
    """适当性匹配（办法第十八、十九、二十二条）：适当 / 需特别风险警示 / 可销售（已特别风险警示）/ 不得销售（最低类别高于 R1）。"""
    from rules import appropriateness

    return appropriateness.match(_need_text(investor_level, "投资者风险等级"),
                                 _need_text(product_level, "产品风险等级"),
                                 bool(coerce.flag(warned, "风险警示确认")), _regime()).label


CATALOGUE = (*CATALOGUE, "INVESTOR_TYPE", "INVESTOR_LEVEL", "PRODUCT_MATCH")
__all__ = list(CATALOGUE)
