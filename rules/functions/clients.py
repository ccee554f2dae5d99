"""Client classes, suitability (2009 seeds), services and segments: CLIENT_CLASS, SUITABLE,
SUITABILITY_NOTE, FUND_RISK, SERVICE_PACKAGE, VISITS_PER_YEAR, ASSET_TURNOVER_CLASS,
HOLDING_STYLE, VALUE_SEGMENT, RFM (docs/functions.md)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rules import RuleInputError, get_rulebook, segments, suitability
from rules import cells as coerce

from . import rate
from .shape import cells
from .spec import DOC_RULEBOOK, excel_arg, excel_function, need_number, need_text, todays_date

# --------------------------------------------------------------------------- suitability


@excel_function()
@excel_arg("tier", doc="客户级别：VIP客户/核心客户/潜力客户/普通客户（或简称、一类–四类）")
@excel_arg("risk_class", doc="风险类别：保守型/稳健型/进取型（积极型）")
@cells()
def CLIENT_CLASS(tier, risk_class):
    """四级十二类：级别与风险类别组合，如 核心客户·稳健型。"""
    return suitability.client_class(need_text(tier, "客户级别"), need_text(risk_class, "风险类别"))


DOC_CLIENT_RISK = ("客户风险类别：保守型/稳健型/进取型（001 第十九条），或风险承受能力 极低/低/中/高"
                   "（002 第八条，RISK_LEVEL 的结果）")


@excel_function()
@excel_arg("risk_class", doc=DOC_CLIENT_RISK)
@excel_arg("product_risk", doc="产品（基金）风险等级：高/中/低，如 FUND_RISK 的结果")
@cells()
def SUITABLE(risk_class, product_risk):
    """适当性 → TRUE/FALSE。001：保守型仅低；稳健型低、中；进取型全部。002：极低、低 → 低风险基金；中 → 低、中；高 → 全部（同名档次相应出自原文，其余为默认匹配，须公司确认）。"""
    return suitability.suitable(need_text(risk_class, "风险类别"),
                                need_text(product_risk, "产品风险等级"))


@excel_function()
@excel_arg("risk_class", doc=DOC_CLIENT_RISK)
@excel_arg("product_risk", doc="产品（基金）风险等级：高/中/低")
@cells()
def SUITABILITY_NOTE(risk_class, product_risk):
    """适当性提示：匹配时简短说明；不匹配时给出警示文字（001 第十九条：须提示风险并留痕；002 第八条：应提供相适应的产品，默认匹配处注明）。"""
    return suitability.suitability_note(need_text(risk_class, "风险类别"),
                                        need_text(product_risk, "产品风险等级"))


@excel_function()
@excel_arg("fund_type", doc="基金类型，如 股票型、偏债型、货币市场基金")
@cells()
def FUND_RISK(fund_type):
    """基金风险等级：股票、指数、偏股、平衡、灵活配置 → 高；偏债、债券 → 中；短债、保本、货币 → 低。"""
    return segments.fund_risk(need_text(fund_type, "基金类型"))


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
    label = rb.normalize_label(need_text(tier, "客户级别"), "客户级别")
    opened = coerce.date(open_date, "开户日期")
    year = (coerce.date(as_of, "统计日期") or todays_date()).year
    return rb.service_product(label, opened is not None and opened.year == year)


@excel_function()
@excel_arg("tier", doc="客户级别（或简称、一类–四类；财富分级为 钻石/白金/黄金/普通）")
@excel_arg("rulebook", doc=DOC_RULEBOOK)
@cells()
def VISITS_PER_YEAR(tier, rulebook="brokerage"):
    """每年最少拜访/回访次数：经纪业务 VIP、核心 1 次；私募 VIP 2 次、核心 1 次；财富 钻石 12、白金 4、黄金 2、普通 1。"""
    rb = rate.labels_rulebook(rulebook, "brokerage")
    return rb.visits_per_year(rb.normalize_label(need_text(tier, "客户级别"), "客户级别"))


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
    days = need_number(avg_holding_days, "平均持有天数")
    freq = coerce.flag(frequent_derivatives, "频繁衍生品交易")
    return segments.holding_style(days, bool(freq))


@excel_function()
@excel_arg("current", doc="当前价值高低：高/低（或 TRUE/FALSE）")
@excel_arg("future", doc="未来价值高低：高/低（或 TRUE/FALSE）")
@cells()
def VALUE_SEGMENT(current, future):
    """价值评估：高/高 黄金客户；低/高 明日之星；高/低 维护型；低/低 自由型。"""
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
    r = rate.decide(get_rulebook("rfm-recency"), recency_days).label
    f = rate.decide(get_rulebook("rfm-frequency"), frequency).label
    m = rate.decide(get_rulebook("rfm-monetary"), monetary).label
    # "534" typed into a cell arrives as the number 534
    if isinstance(style, float | int) and not isinstance(style, bool) and style == 534:
        s = "534"
    else:
        s = (coerce.text(style, "RFM 格式") or "R5F3M4").upper()
    return segments.rfm_code(int(r), int(f), int(m), s)
