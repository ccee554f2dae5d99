"""Investor suitability under the 2017 办法 (证监会《证券期货投资者适当性管理办法》,
rules/appropriateness.py, docs/suitability.md): INVESTOR_TYPE, INVESTOR_LEVEL, PRODUCT_MATCH."""

from __future__ import annotations

from typing import Any

from rules import RuleInputError, appropriateness
from rules import cells as coerce
from rules.errors import show

from .shape import cells, fit
from .spec import excel_arg, excel_function, need_text, todays_date

# --------------------------------------------------------------------------- suitability 2017
# 证监会《证券期货投资者适当性管理办法》(2017) — rules/appropriateness.py, docs/suitability.md


def _regime():
    return appropriateness.get_regime()  # (in force today)


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
    d = appropriateness.investor_type(
        _regime(), client_type=need_text(client_type, "客户性质"),
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
    low = bool(coerce.flag(lowest, "最低类别"))
    x = coerce.integer(score, "风险测评得分")
    if x is None and not low:
        raise RuleInputError("风险测评得分为空", field="风险测评得分", value=score, kind="na")
    rg = _regime()
    level = appropriateness.investor_level(x, low, rg).label
    done = coerce.date(assessed_on, "测评日期")
    if done is not None:
        day = coerce.date(as_of, "统计日期") or todays_date()
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
    return appropriateness.match(need_text(investor_level, "投资者风险等级"),
                                 need_text(product_level, "产品风险等级"),
                                 bool(coerce.flag(warned, "风险警示确认")), _regime()).label
