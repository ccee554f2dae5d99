"""Client tiers and risk: CLIENT_TIER, TIER_EXPLAIN, QUARTER_TIER, RISK_CLASS, and the 002
questionnaire's RISK_SCORE, RISK_LEVEL (docs/functions.md). Do not annotate the functions'
arguments: xlwings turns type hints into converters."""

from __future__ import annotations

from typing import Any

from rules import RuleInputError, questionnaire
from rules import cells as coerce

from . import rate
from .shape import as_grid, cells, error_text, flat, grid_shape, safe
from .spec import DOC_RULEBOOK, excel_arg, excel_function

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
    rb = rate.rulebook_arg(rulebook, "risk-class")
    return rate.decide(rb, score).label


# --------------------------------------------------------------------------- questionnaire


def _answers_score(answers: list[Any]) -> str:
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
    points = questionnaire.untag(score)
    return questionnaire.level(coerce.integer(score, "问卷总分") if points is None else points)
