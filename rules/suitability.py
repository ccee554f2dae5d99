"""适当性 —— risk classes, product suitability, the 12 client classes, questionnaire re-assessment.

Seed 001（私募基金客户分类与服务分级实施细则）, POLICY.md R2:

* 风险类别（第五条/第三条）：保守型、稳健型、进取型（原表头写作“积极型”，与进取型为同一类别：
  输入两者皆可，输出统一为“进取型”）。
* 产品风险（第十九条第2项）：高、中、低三类。保守型 → 仅低；稳健型 → 低、中；进取型 → 全部。
  风险承受能力低的客户购买高风险产品须提示风险并留痕（第十九条第3项）。
  注：常见的 R1–R5 产品分级不在本制度中，这里 **不** 接受，以免隐含映射。
* 四级十二类（第六条）：VIP客户/核心客户/潜力客户/普通客户 × 三个风险类别，如“核心客户·稳健型”。
* 复评（第十一条第2项）：客户分类每两年评估一次；满两年当日到期（2 月 29 日的两年后取 2 月 28 日），
  超过即逾期。

Seed 002 第八条（POLICY.md R3）：风险承受能力 极低/低/中/高 的客户与 高/中/低 风险基金的匹配。
原文只写“销售相应风险等级的基金产品”：同名档次相应是推出的，其余（可否买更低风险、极低档买什么）
是配置 ``rules/data/risk-tolerance-funds.toml`` 中标明的假设。``suitable`` 与 ``suitability_note``
两套都接受：保守型/稳健型/进取型 按 001 第十九条，极低/低/中/高 按 002 第八条。
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rules._common import add_years, as_date, load_toml_model
from rules.errors import RuleInputError, show

if TYPE_CHECKING:
    from rules.engine import Rulebook

RISK_CLASSES: tuple[str, ...] = ("保守型", "稳健型", "进取型")
PRODUCT_RISKS: tuple[str, ...] = ("低", "中", "高")
TIERS: tuple[str, ...] = ("VIP客户", "核心客户", "潜力客户", "普通客户")

#: 第十九条：各风险类别可购买的最高产品风险。
_MAX_PRODUCT_RISK = {"保守型": "低", "稳健型": "中", "进取型": "高"}
_ALLOWED_TEXT = {"保守型": "低风险", "稳健型": "低、中风险", "进取型": "高、中、低风险"}

_RISK_ALIASES: dict[str, str] = {
    "保守型": "保守型", "保守": "保守型", "conservative": "保守型",
    "稳健型": "稳健型", "稳健": "稳健型", "balanced": "稳健型",
    "进取型": "进取型", "进取": "进取型", "积极型": "进取型", "积极": "进取型",
    "aggressive": "进取型",
}
_PRODUCT_ALIASES: dict[str, str] = {
    "低": "低", "低风险": "低", "low": "低",
    "中": "中", "中风险": "中", "medium": "中",
    "高": "高", "高风险": "高", "high": "高",
}
#: 四级十二类（第六条），按级别、再按风险类别排列。
ALL_CLIENT_CLASSES: tuple[str, ...] = tuple(f"{t}·{r}" for t in TIERS for r in RISK_CLASSES)


def _key(v: Any) -> str | None:
    if not isinstance(v, str):
        return None
    return "".join(unicodedata.normalize("NFKC", v).split()).lower()


def normalize_risk_class(text: str) -> str:
    """风险类别 → 保守型 / 稳健型 / 进取型。

    接受带或不带“型”、“积极型”（= 进取型）、英文 conservative/balanced/aggressive；
    前后空格与全角字符忽略。无法识别抛出 ``RuleInputError``（kind="na"）。
    """
    label = _RISK_ALIASES.get(_key(text) or "")
    if label is None:
        raise RuleInputError(
            f"风险类别 {show(text)} 无法识别：应为 保守型、稳健型、进取型（积极型）之一",
            field="风险类别", value=text, kind="na")
    return label


def normalize_product_risk(text: str) -> str:
    """产品风险等级 → 低 / 中 / 高（第十九条第2项）。

    接受 低/中/高、低风险/中风险/高风险、low/medium/high。R1–R5 等其他分级不在制度中，
    不接受（抛出 ``RuleInputError``，kind="na"）。
    """
    label = _PRODUCT_ALIASES.get(_key(text) or "")
    if label is None:
        raise RuleInputError(
            f"产品风险等级 {show(text)} 无法识别：应为 低、中、高（风险）之一",
            field="产品风险等级", value=text, kind="na")
    return label


# --------------------------------------------------------------------------- seed 002 第八条

TOLERANCE_LEVELS: tuple[str, ...] = ("极低", "低", "中", "高")
TOLERANCE_FUNDS_FILE = Path(__file__).parent / "data" / "risk-tolerance-funds.toml"
_TOLERANCE_ALIASES: dict[str, str] = {
    "极低": "极低", "风险承受能力极低": "极低", "低": "低", "风险承受能力低": "低",
    "中": "中", "风险承受能力中": "中", "高": "高", "风险承受能力高": "高",
}


class _ToleranceLevel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    level: Literal["极低", "低", "中", "高"]
    funds: tuple[Literal["低", "中", "高"], ...]
    assumption: str = ""


class _ToleranceMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    source: str
    clause: str = Field(min_length=1)


class ToleranceFunds(BaseModel):
    """risk-tolerance-funds.toml：每一档风险承受能力可购买的基金风险等级。"""

    model_config = ConfigDict(extra="forbid", frozen=True)
    meta: _ToleranceMeta
    levels: tuple[_ToleranceLevel, ...]

    @field_validator("levels")
    @classmethod
    def _ordered_and_growing(cls, levels: tuple[_ToleranceLevel, ...]
                             ) -> tuple[_ToleranceLevel, ...]:
        if tuple(x.level for x in levels) != TOLERANCE_LEVELS:
            raise ValueError(f"应依次给出 {'、'.join(TOLERANCE_LEVELS)} 四档")
        for lo, hi in itertools.pairwise(levels):
            if not set(lo.funds) <= set(hi.funds):
                raise ValueError(f"{hi.level} 档可购买的基金应不少于 {lo.level} 档")
        return levels

    def funds(self, level: str) -> tuple[str, ...]:
        got = next(x for x in self.levels if x.level == level).funds
        return tuple(p for p in PRODUCT_RISKS if p in got)

    def assumption(self, level: str) -> str:
        return next(x for x in self.levels if x.level == level).assumption


def load_tolerance_funds(path: Path | str = TOLERANCE_FUNDS_FILE) -> ToleranceFunds:
    """读取并校验匹配表；格式错误抛出 ``RulebookError``（指明文件与字段）。"""
    return load_toml_model(path, ToleranceFunds, "风险承受能力与基金匹配表")


@functools.cache
def _tolerance_funds() -> ToleranceFunds:
    return load_tolerance_funds()


def normalize_tolerance(text: str) -> str:
    """风险承受能力（002 第八条）→ 极低 / 低 / 中 / 高；无法识别抛出 ``RuleInputError``（kind="na"）。"""
    label = _TOLERANCE_ALIASES.get(_key(text) or "")
    if label is None:
        raise RuleInputError(f"风险承受能力 {show(text)} 无法识别：应为 极低、低、中、高 之一",
                             field="风险承受能力", value=text, kind="na")
    return label


def _client_risk(text: str) -> tuple[str, str]:
    """("001", 保守型/稳健型/进取型) or ("002", 极低/低/中/高)."""
    key = _key(text) or ""
    if key in _RISK_ALIASES:
        return "001", _RISK_ALIASES[key]
    if key in _TOLERANCE_ALIASES:
        return "002", _TOLERANCE_ALIASES[key]
    raise RuleInputError(
        f"客户风险类别 {show(text)} 无法识别：应为 保守型、稳健型、进取型（001 第十九条），"
        "或风险承受能力 极低、低、中、高（002 第八条）", field="风险类别", value=text, kind="na")


def _suitable(scale: str, rc: str, pr: str) -> bool:
    if scale == "002":
        return pr in _tolerance_funds().funds(rc)
    return PRODUCT_RISKS.index(pr) <= PRODUCT_RISKS.index(_MAX_PRODUCT_RISK[rc])


def suitable(risk_class: str, product_risk: str) -> bool:
    """客户风险类别是否适合该产品风险等级。

    001 第十九条第2项：保守型 → 仅低风险；稳健型 → 低、中风险；进取型 → 全部。
    002 第八条：风险承受能力 极低/低/中/高 → ``risk-tolerance-funds.toml`` 的匹配表（默认 极低、低 →
    低；中 → 低、中；高 → 全部，部分为假设）。
    """
    scale, rc = _client_risk(risk_class)
    return _suitable(scale, rc, normalize_product_risk(product_risk))


def _tolerance_note(level: str, pr: str) -> str:
    table = _tolerance_funds()
    clause = table.meta.clause
    allowed = table.funds(level)
    # the same-name level (and nothing higher) is the text's "相应风险等级"; a lower-risk fund
    # for a marked level, and anything for 极低, is the file's assumption
    assumed = bool(table.assumption(level)) and (
        level not in PRODUCT_RISKS or PRODUCT_RISKS.index(pr) < PRODUCT_RISKS.index(level))
    default = "；默认匹配，须公司确认" if assumed else ""
    if pr in allowed:
        return f"风险匹配：风险承受能力{level}的客户可购买{pr}风险基金（{clause}{default}）"
    only = f"仅适合{'、'.join(allowed)}风险基金" if allowed else "不宜购买基金"
    return (f"风险不匹配：风险承受能力{level}的客户{only}，拟购买{pr}风险基金，"
            f"应提供与其风险承受能力相适应的产品（{clause}{default}）")


def suitability_note(risk_class: str, product_risk: str) -> str:
    """适当性提示文字。不匹配时引用第十九条，要求提示风险并留痕；匹配时给出简短说明。
    风险承受能力 极低/低/中/高 引用 002 第八条，匹配表为默认值时注明。"""
    scale, rc = _client_risk(risk_class)
    pr = normalize_product_risk(product_risk)
    if scale == "002":
        return _tolerance_note(rc, pr)
    if _suitable(scale, rc, pr):
        return f"风险匹配：{rc}客户可购买{pr}风险产品（第十九条）"
    return (f"风险不匹配：{rc}客户仅适合{_ALLOWED_TEXT[rc]}产品，拟购买{pr}风险产品，"
            "须提示风险并留痕（第十九条）")


#: the rulebook whose tiers the 12 classes combine (seed 001 第六条、第八条)
CLASS_RULEBOOK = "private-fund"


def normalize_tier(text: str, rulebook: Rulebook | None = None) -> str:
    """客户级别 → VIP客户 / 核心客户 / 潜力客户 / 普通客户。

    The names are the rulebook's (``rules.vocabulary``): by default seed 001's (private-fund,
    the version in force today), whose 12 classes this module combines — short forms (VIP、核心、
    潜力、普通), codes (一类–四类, 一类客户), sub-classes (A类核心/B类核心), full-width forms
    (ＶＩＰ). Unknown text raises ``RuleInputError`` (kind "na").
    """
    from rules.registry import get_rulebook

    rb = rulebook or get_rulebook(CLASS_RULEBOOK)
    got = rb.vocabulary.lookup(text)
    if got is None:
        raise RuleInputError(
            f"客户级别 {show(text)} 无法识别：应为 {rb.vocabulary.describe()} 之一（{rb.ref}）",
            field="客户级别", value=text, kind="na")
    return got[0]


def client_class(tier_label: str, risk_class: str) -> str:
    """四级十二类（第六条）：如 ``client_class("核心", "稳健")`` → "核心客户·稳健型"。"""
    return f"{normalize_tier(tier_label)}·{normalize_risk_class(risk_class)}"


# --------------------------------------------------------------------------- re-assessment

#: 第十一条第2项：客户分类每两年进行一次后续评估。
REASSESS_YEARS = 2


@dataclass(frozen=True)
class ReassessmentStatus:
    """复评状态：``due_on`` 到期日；``overdue`` 是否已逾期；``days_left`` 剩余天数（逾期为负）。"""

    due_on: date
    overdue: bool
    days_left: int
    text_zh: str






def reassessment_due(assessed_on: date, as_of: date) -> ReassessmentStatus:
    """问卷复评是否到期（第十一条第2项，每两年一次）。

    到期日为评估日满两年的同一天（2 月 29 日 → 两年后的 2 月 28 日）；``as_of`` 晚于到期日即逾期，
    到期当日不算逾期。评估日晚于 ``as_of`` 抛出 ``RuleInputError``。
    """
    done = as_date(assessed_on, "评估日期")
    today = as_date(as_of, "统计日期")
    if done > today:
        raise RuleInputError(
            f"评估日期 {done.isoformat()} 晚于统计日期 {today.isoformat()}",
            field="评估日期", value=assessed_on)
    due = add_years(done, REASSESS_YEARS)
    left = (due - today).days
    overdue = left < 0
    head = f"风险评估日 {done.isoformat()}，应于 {due.isoformat()} 前重新评估"
    if overdue:
        tail = f"，已逾期 {-left} 天，须尽快重新评估"
    elif left == 0:
        tail = "，今日到期"
    else:
        tail = f"，尚余 {left} 天"
    return ReassessmentStatus(due, overdue, left,
                              f"{head}{tail}（第十一条：客户分类每两年进行一次后续评估）")
