"""The catalogue of Excel functions (xlwings classic UDFs). See docs/functions.md.

Every function takes cells or ranges (declared ``ndim=2``: a range arrives as a 2-D list, a single
cell as ``[[v]]``) and returns a scalar for single cells or a 2-D list of the broadcast shape.
``err_to_str=True`` makes an error cell arrive as its text (``"#DIV/0!"``), not as an empty cell,
so that an error never counts as 0. Bad input gives ``#VALUE! …`` / ``#N/A …`` texts (see
``_shape.error_text``). Do not annotate arguments: xlwings turns type hints into converters.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import xlwings as xw

from rules import RuleInputError, get_rulebook, version_in_force

from . import _coerce, _rate
from ._shape import as_grid, cells, fit, grid_shape, safe

CATEGORY = "客户分级"
#: Options of every argument: a range as a 2-D list; error cells as their text.
CELL = {"ndim": 2, "err_to_str": True}

DOC_RULEBOOK = ("规则编号，可省略（默认 brokerage 经纪业务；private-fund 私募基金；wealth 财富管理，"
                "也可写 经纪/私募/财富）")


def _today() -> dt.date:
    return dt.date.today()


def _need_text(v: Any, field: str) -> str:
    s = _coerce.text(v, field)
    if s is None:
        raise RuleInputError(f"{field}为空", field=field, value=v, kind="na")
    return s


def _need_date(v: Any, field: str) -> dt.date:
    d = _coerce.date(v, field)
    if d is None:
        raise RuleInputError(f"{field}为空", field=field, value=v, kind="na")
    return d


def _need_number(v: Any, field: str) -> float:
    x = _coerce.number(v, field)
    if x is None:
        raise RuleInputError(f"{field}为空", field=field, value=v, kind="na")
    return x


# --------------------------------------------------------------------------- tiers


def _tier_vector(finish: _rate.Finish, n_extra: int = 0):  # type: ignore[no-untyped-def]
    def vector(shape, *grids):  # type: ignore[no-untyped-def]
        extra, (assets, revenue, rulebook) = grids[:n_extra], grids[n_extra:]
        return _rate.rate_many(shape, rulebook, [assets, revenue], finish,
                               _rate.tier_rulebook, extra=extra)
    return vector


@xw.func(category=CATEGORY)
@xw.arg("assets", doc="资产（元）：经纪业务为资产权益，私募基金为日均资产；可写 25万、1,000,000", **CELL)
@xw.arg("revenue", doc="上年度净佣金（经纪业务）或上年度管理费（私募基金），元；空单元格按 0 计", **CELL)
@xw.arg("rulebook", doc=DOC_RULEBOOK, **CELL)
@cells(vector=_tier_vector(_rate.labels))
def CLIENT_TIER(assets, revenue, rulebook="brokerage"):
    """客户级别：按规则（默认 2009 年经纪业务标准）由资产与上年度净佣金/管理费得出 VIP客户、核心客户、潜力客户或普通客户。可整列计算。"""
    rb = _rate.tier_rulebook(rulebook)
    return _rate.decide(rb, assets, revenue).label


@xw.func(category=CATEGORY)
@xw.arg("assets", doc="资产（元）：经纪业务为资产权益，私募基金为日均资产", **CELL)
@xw.arg("revenue", doc="上年度净佣金或上年度管理费（元）；空单元格按 0 计", **CELL)
@xw.arg("rulebook", doc=DOC_RULEBOOK, **CELL)
@cells(vector=_tier_vector(_rate.reasons))
def TIER_EXPLAIN(assets, revenue, rulebook="brokerage"):
    """级别依据：命中的规则编号、实际数值与比较的边界、结果级别和规则版本（如 brokerage@2009.1）。"""
    rb = _rate.tier_rulebook(rulebook)
    return _rate.decide(rb, assets, revenue).reason


@xw.func(category=CATEGORY)
@xw.arg("tier_in_force", doc="现有级别（当前级别；空 = 首次评级）。可写 VIP/核心/潜力/普通 或 一类–四类", **CELL)
@xw.arg("assets", doc="资产（元），上季度末数据", **CELL)
@xw.arg("revenue", doc="上年度净佣金或管理费（元）；空单元格按 0 计", **CELL)
@xw.arg("rulebook", doc=DOC_RULEBOOK, **CELL)
@cells(vector=_tier_vector(_rate.upgraded, n_extra=1))
def QUARTER_TIER(tier_in_force, assets, revenue, rulebook="brokerage"):
    """季度评级结果：就高不就低——计算级别高于现有级别则升级，否则保留现有级别（财富分级规则可升可降）。"""
    rb = _rate.tier_rulebook(rulebook)
    computed = _rate.decide(rb, assets, revenue).label
    return _rate.upgrade_only(rb, computed, tier_in_force)


@xw.func(category=CATEGORY)
@xw.arg("score", doc="风险测评问卷得分，9–100 的整数", **CELL)
@xw.arg("rulebook", doc="规则编号，可省略（默认 risk-class）", **CELL)
@cells(vector=lambda shape, score, rulebook: _rate.rate_many(
    shape, rulebook, [score], _rate.labels, lambda v: _rate.rulebook(v, "risk-class")))
def RISK_CLASS(score, rulebook="risk-class"):
    """风险类别：问卷得分 9–40 保守型，41–75 稳健型，76–100 进取型（积极型）。"""
    rb = _rate.rulebook(rulebook, "risk-class")
    return _rate.decide(rb, score).label


# --------------------------------------------------------------------------- questionnaire


def _answers_score(answers: list[Any]) -> int:
    from rules import questionnaire

    for k, a in enumerate(answers, start=1):
        if _coerce.is_error_text(a):
            raise _coerce.error_cell(a, f"第{k}题答案")
    return questionnaire.score(answers)


@xw.func(category=CATEGORY)
@xw.arg("answers", doc="12 道题的答案（A–E 或 1–5；第 9 题多选可写 ACD），一个区域或逐个单元格", **CELL)
def RISK_SCORE(*answers):
    """风险承受力问卷总分（默认分值，须公司确认）。传入一个多行区域时每行为一位客户，逐行返回得分。"""
    grids = [as_grid(a) for a in answers]
    if len(grids) == 1 and grid_shape(grids[0])[0] > 1:
        return [[safe(_answers_score, list(row))] for row in grids[0]]
    flat = [v for g in grids for row in g for v in row]
    return safe(_answers_score, flat)


@xw.func(category=CATEGORY)
@xw.arg("score", doc="问卷总分（RISK_SCORE 的结果）", **CELL)
@cells()
def RISK_LEVEL(score):
    """风险承受力档次：问卷总分 → 极低 / 低 / 中 / 高（默认分数线，须公司确认）。"""
    from rules import questionnaire

    return questionnaire.level(_coerce.integer(score, "问卷总分"))


# --------------------------------------------------------------------------- suitability


@xw.func(category=CATEGORY)
@xw.arg("tier", doc="客户级别：VIP客户/核心客户/潜力客户/普通客户（或简称、一类–四类）", **CELL)
@xw.arg("risk_class", doc="风险类别：保守型/稳健型/进取型（积极型）", **CELL)
@cells()
def CLIENT_CLASS(tier, risk_class):
    """四级十二类：级别与风险类别组合，如 核心客户·稳健型。"""
    from rules import suitability

    return suitability.client_class(_need_text(tier, "客户级别"), _need_text(risk_class, "风险类别"))


@xw.func(category=CATEGORY)
@xw.arg("risk_class", doc="客户风险类别：保守型/稳健型/进取型", **CELL)
@xw.arg("product_risk", doc="产品风险等级：高/中/低", **CELL)
@cells()
def SUITABLE(risk_class, product_risk):
    """适当性：客户可否购买该风险等级的产品（保守型仅低；稳健型低、中；进取型全部）→ TRUE/FALSE。"""
    from rules import suitability

    return suitability.suitable(_need_text(risk_class, "风险类别"),
                                _need_text(product_risk, "产品风险等级"))


@xw.func(category=CATEGORY)
@xw.arg("risk_class", doc="客户风险类别：保守型/稳健型/进取型", **CELL)
@xw.arg("product_risk", doc="产品风险等级：高/中/低", **CELL)
@cells()
def SUITABILITY_NOTE(risk_class, product_risk):
    """适当性提示：匹配时简短说明；不匹配时给出须提示风险并留痕的警示文字（第十九条）。"""
    from rules import suitability

    return suitability.suitability_note(_need_text(risk_class, "风险类别"),
                                        _need_text(product_risk, "产品风险等级"))


@xw.func(category=CATEGORY)
@xw.arg("fund_type", doc="基金类型，如 股票型、偏债型、货币市场基金", **CELL)
@cells()
def FUND_RISK(fund_type):
    """基金风险等级：股票、指数、偏股、平衡、灵活配置 → 高；偏债、债券 → 中；短债、保本、货币 → 低。"""
    from rules import segments

    return segments.fund_risk(_need_text(fund_type, "基金类型"))


# --------------------------------------------------------------------------- services


@xw.func(category=CATEGORY)
@xw.arg("tier", doc="客户级别（VIP客户/核心客户/潜力客户/普通客户，或简称、一类–四类）", **CELL)
@xw.arg("open_date", doc="开户日期，可省略；当年开户的客户至少享受财路通", **CELL)
@xw.arg("rulebook", doc=DOC_RULEBOOK, **CELL)
@xw.arg("as_of", doc="统计日期，可省略（默认今天），用于判断是否当年开户", **CELL)
@cells()
def SERVICE_PACKAGE(tier, open_date=None, rulebook="brokerage", as_of=None):
    """服务产品：VIP客户 财务通；核心客户 财富通；潜力客户及当年开户 财路通；普通客户 基础服务。"""
    rb = _rate.labels_rulebook(rulebook, "brokerage")
    label = rb.normalize_label(_need_text(tier, "客户级别"), "客户级别")
    opened = _coerce.date(open_date, "开户日期")
    year = (_coerce.date(as_of, "统计日期") or _today()).year
    return rb.service_product(label, opened is not None and opened.year == year)


@xw.func(category=CATEGORY)
@xw.arg("tier", doc="客户级别（或简称、一类–四类；财富分级为 钻石/白金/黄金/普通）", **CELL)
@xw.arg("rulebook", doc=DOC_RULEBOOK, **CELL)
@cells()
def VISITS_PER_YEAR(tier, rulebook="brokerage"):
    """每年最少拜访/回访次数：经纪业务 VIP、核心 1 次；私募 VIP 2 次、核心 1 次；财富 钻石 12、白金 4、黄金 2、普通 1。"""
    rb = _rate.labels_rulebook(rulebook, "brokerage")
    return rb.visits_per_year(rb.normalize_label(_need_text(tier, "客户级别"), "客户级别"))


# --------------------------------------------------------------------------- segments


def _turnover_rulebook(threshold: Any):  # type: ignore[no-untyped-def]
    t = _coerce.number(threshold, "资产周转率分界")
    if t is None:
        return get_rulebook("asset-turnover")
    if not (t >= 0 and np.isfinite(t)):
        raise RuleInputError(f"资产周转率分界须为非负数：{t}", field="资产周转率分界", value=t)
    return get_rulebook("asset-turnover", parameters={"turnover_threshold": t})


@xw.func(category=CATEGORY)
@xw.arg("assets", doc="资产量（元）", **CELL)
@xw.arg("turnover", doc="资产周转率", **CELL)
@xw.arg("threshold", doc="周转率高/低分界，可省略（默认 3，文件参考值，每年按前三年平均调整）", **CELL)
@cells(vector=lambda shape, assets, turnover, threshold: _rate.rate_many(
    shape, threshold, [assets, turnover], _rate.labels, _turnover_rulebook))
def ASSET_TURNOVER_CLASS(assets, turnover, threshold=None):
    """资产量×资产周转率十一类 A+/B+/A/B/C/D/C-/D-/E/F/G（原文缺表，按重构默认表，须公司确认）。"""
    return _rate.decide(_turnover_rulebook(threshold), assets, turnover).label


@xw.func(category=CATEGORY)
@xw.arg("avg_holding_days", doc="平均持股/持基天数", **CELL)
@xw.arg("frequent_derivatives", doc="是否频繁交易股指期货、权证、融资融券（TRUE/FALSE），可省略", **CELL)
@cells()
def HOLDING_STYLE(avg_holding_days, frequent_derivatives=False):
    """操作习惯：持有不足 1 个月或频繁交易衍生品 → 短线；1–3 个月 → 波段；3 个月以上 → 价值（1 个月按 30 天）。"""
    from rules import segments

    days = _need_number(avg_holding_days, "平均持有天数")
    freq = _coerce.flag(frequent_derivatives, "频繁衍生品交易")
    return segments.holding_style(days, bool(freq))


@xw.func(category=CATEGORY)
@xw.arg("current", doc="当前价值高低：高/低（或 TRUE/FALSE）", **CELL)
@xw.arg("future", doc="未来价值高低：高/低（或 TRUE/FALSE）", **CELL)
@cells()
def VALUE_SEGMENT(current, future):
    """价值评估：高/高 黄金客户；低/高 明日之星；高/低 维护型；低/低 自由型。"""
    from rules import segments

    cur = _coerce.flag(current, "当前价值")
    fut = _coerce.flag(future, "未来价值")
    for name, v in (("当前价值", cur), ("未来价值", fut)):
        if v is None:
            raise RuleInputError(f"{name}为空", field=name, kind="na")
    return segments.value_segment(bool(cur), bool(fut))


@xw.func(category=CATEGORY)
@xw.arg("recency_days", doc="距最近一次交易的天数", **CELL)
@xw.arg("frequency", doc="近 12 个月交易次数", **CELL)
@xw.arg("monetary", doc="近 12 个月贡献（元）", **CELL)
@xw.arg("style", doc="代码格式，可省略：R5F3M4（默认）或 534", **CELL)
@cells()
def RFM(recency_days, frequency, monetary, style="R5F3M4"):
    """RFM 代码：R（≤7 天 5 分 … >120 天 1 分）、F、M 各 1–5 分，如 R5F3M4（F、M 档位为默认值）。"""
    from rules import segments

    r = _rate.decide(get_rulebook("rfm-recency"), recency_days).label
    f = _rate.decide(get_rulebook("rfm-frequency"), frequency).label
    m = _rate.decide(get_rulebook("rfm-monetary"), monetary).label
    # "534" typed into a cell arrives as the number 534
    if isinstance(style, float | int) and not isinstance(style, bool) and style == 534:
        s = "534"
    else:
        s = (_coerce.text(style, "RFM 格式") or "R5F3M4").upper()
    return segments.rfm_code(int(r), int(f), int(m), s)


# --------------------------------------------------------------------------- schedules


@xw.func(category=CATEGORY)
@xw.arg("tier", doc="客户级别（VIP客户/核心客户/潜力客户/普通客户）或 大客户/重要客户", **CELL)
@xw.arg("client_type", doc="客户性质：个人 / 机构 / 产品", **CELL)
@cells()
def TRANSFER_APPROVAL(tier, client_type):
    """转销户审批流程：普通客户 柜台与客户经理；大/重要客户 营销总监；机构及核心客户 营销总监→总经理（须提前一天预约）。"""
    from rules import retention

    t, c = _need_text(tier, "客户级别"), _need_text(client_type, "客户性质")
    chain = " → ".join(retention.approval_chain(t, c))
    return chain + ("（须提前一天预约）" if retention.appointment_required(t, c) else "")


@xw.func(category=CATEGORY)
@xw.arg("assessed_on", doc="风险测评日期", **CELL)
@xw.arg("as_of", doc="统计日期，可省略（默认今天）", **CELL)
@cells()
def REVIEW_DUE(assessed_on, as_of=None):
    """问卷复评：每两年重新评估一次，返回到期日、是否逾期及剩余天数的说明。"""
    from rules import suitability

    done = _need_date(assessed_on, "评估日期")
    today = _coerce.date(as_of, "统计日期") or _today()
    return suitability.reassessment_due(done, today).text_zh


@xw.func(category=CATEGORY)
@xw.arg("period", doc="评级周期：2026Q4（季度）、2026（年度）或 2026-11（新开户月份）", **CELL)
@xw.arg("rulebook", doc=DOC_RULEBOOK, **CELL)
@cells()
def RERATING_WINDOW(period, rulebook="brokerage"):
    """评级运行窗口（上交所工作日，天数按规则：brokerage 年度10/季度3/新开户3；private-fund 10/3/5）；日历未维护的年份按周一至周五推算并注明。"""
    from rules import schedule

    p = schedule.period_of_cell(period)
    rid = _rate.rulebook_id(rulebook, "brokerage")
    w = schedule.run_window(p, rid, assume_weekdays=True)
    kind = {"annual": "年度评级", "quarterly": "季度评级", "new-accounts": "新开户评级"}[p.mode]
    text = f"{p.label} {kind}：{w.first.isoformat()} 至 {w.last.isoformat()}（{len(w.days)} 个工作日）"
    return fit(f"{text}；注意：{w.note_zh}" if w.note_zh else text)


@xw.func(category=CATEGORY)
@xw.arg("rulebook", doc=DOC_RULEBOOK, **CELL)
@xw.arg("as_of", doc="日期，可省略（默认今天）", **CELL)
@cells()
def RULES_VERSION(rulebook="brokerage", as_of=None):
    """规则版本：在该日期生效的规则编号@版本及生效期间；含重构假设的规则会注明。"""
    rid = _rate.rulebook_id(rulebook, "brokerage")
    day = _coerce.date(as_of, "日期") or _today()
    data, _ = version_in_force(rid, day)
    to = data.effective_to.isoformat() if data.effective_to else "今"
    note = "（含重构假设，须公司确认）" if data.assumption else ""
    if data.example:
        note += "（示例参数）"
    return fit(f"{data.id}@{data.version}，{data.effective_from.isoformat()} 至 {to} 有效{note}")


CATALOGUE = (
    "CLIENT_TIER", "TIER_EXPLAIN", "QUARTER_TIER", "RISK_CLASS", "RISK_SCORE", "RISK_LEVEL",
    "CLIENT_CLASS", "SUITABLE", "SUITABILITY_NOTE", "FUND_RISK", "SERVICE_PACKAGE",
    "VISITS_PER_YEAR", "ASSET_TURNOVER_CLASS", "HOLDING_STYLE", "VALUE_SEGMENT", "RFM",
    "TRANSFER_APPROVAL", "REVIEW_DUE", "RERATING_WINDOW", "RULES_VERSION",
)

__all__ = list(CATALOGUE)
