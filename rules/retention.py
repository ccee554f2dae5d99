"""转销户与流失客户回访 —— account transfer/closing and retention (seed 003, POLICY.md R6).

* ``approval_chain``：谁审批转销户（第九条、第十条、第十七条），逐级累加：
  普通 → 柜台人员（或营业部指定人员）+ 客户经理；重要/中大客户 → + 营销总监；
  机构客户、核心客户 → + 营销总监、总经理，且须提前一天预约（第十八条，``appointment_required``）。
* 级别映射（**假设**，见 ``rules/data/retention.toml``）：VIP客户、核心客户 → 核心层级；
  潜力客户、普通客户 → 普通层级；“重要客户/中大客户”须明确写出；机构客户一律按核心层级。
* ``transfer_blockers``：第十六条列出的不能办理转销户的情形（原文六项，POLICY.md 摘要列了前五项；
  第 6 项“中国结算认为不能撤销/转托管”也一并收录）。
* ``follow_up_plan``：第三十–三十二条的回访计划。“当周”按自然周（周一至周日）计，
  “每月至少一次”默认列 12 个月（**假设**，数据文件 ``follow_up.monthly_months``）。
* ``LEAVING_REASONS``：第二十–二十八条的流失原因（外加“其他”），``leaving_reason_response`` 给出应对要点。
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rules._common import add_years, load_toml_model, month_end
from rules.errors import RuleInputError, show

DATA_FILE = Path(__file__).parent / "data" / "retention.toml"

Importance = Literal["普通", "重要", "核心"]
ClientType = Literal["个人", "机构"]
_IMPORTANCE_ORDER: tuple[str, ...] = ("普通", "重要", "核心")


class Chain(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    importance: Importance
    approvers: tuple[str, ...] = Field(min_length=1)
    appointment_days: int = Field(ge=0)
    clause: str = Field(min_length=1)


class Blocker(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    flag: str = Field(pattern=r"^[a-z_]+$")
    text: str = Field(min_length=1)
    clause: str = Field(min_length=1)


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str = Field(min_length=1)
    clause: str = Field(min_length=1)
    response: str = Field(min_length=1)


class FollowUpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    monthly_months: int = Field(ge=1, le=120)


class Meta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    source: str


class RetentionData(BaseModel):
    """retention.toml 的结构。"""

    model_config = ConfigDict(extra="forbid", frozen=True)
    meta: Meta
    chains: tuple[Chain, ...]
    importance_aliases: dict[str, Importance]
    client_type_aliases: dict[str, ClientType]
    blockers: tuple[Blocker, ...] = Field(min_length=1)
    follow_up: FollowUpConfig
    reasons: tuple[Reason, ...] = Field(min_length=1)

    @field_validator("chains")
    @classmethod
    def _three_levels(cls, chains: tuple[Chain, ...]) -> tuple[Chain, ...]:
        if tuple(c.importance for c in chains) != _IMPORTANCE_ORDER:
            raise ValueError("应依次给出 普通、重要、核心 三个层级")
        for lo, hi in itertools.pairwise(chains):
            if hi.approvers[: len(lo.approvers)] != lo.approvers:
                raise ValueError(f"{hi.importance} 层级的审批人应在 {lo.importance} 层级基础上增加")
        return chains

    @field_validator("blockers")
    @classmethod
    def _unique_flags(cls, blockers: tuple[Blocker, ...]) -> tuple[Blocker, ...]:
        flags = [b.flag for b in blockers]
        if len(set(flags)) != len(flags):
            raise ValueError(f"flag 重复：{flags}")
        return blockers


def load_retention(path: Path | str = DATA_FILE) -> RetentionData:
    """读取并校验 retention.toml；格式错误抛出 ``RulebookError``（指明文件与字段）。"""
    return load_toml_model(path, RetentionData, "转销户规则文件")


@functools.cache
def _data() -> RetentionData:
    return load_retention()


def _key(v: Any) -> str | None:
    if not isinstance(v, str):
        return None
    return "".join(unicodedata.normalize("NFKC", v).split()).lower()


def normalize_client_type(client_type: str) -> ClientType:
    """客户类型 → 个人 / 机构。无法识别抛出 ``RuleInputError``（kind="na"）。"""
    t = _data().client_type_aliases.get(_key(client_type) or "")
    if t is None:
        raise RuleInputError(f"客户类型 {show(client_type)} 无法识别：应为 个人 或 机构",
                             field="客户类型", value=client_type, kind="na")
    return t


def importance(tier_or_importance: str, client_type: str) -> Importance:
    """审批层级：普通 / 重要 / 核心。机构客户一律为核心（第十条、第十七条）。"""
    level = _data().importance_aliases.get(_key(tier_or_importance) or "")
    if level is None:
        raise RuleInputError(
            f"客户级别 {show(tier_or_importance)} 无法识别：应为 VIP客户、核心客户、潜力客户、"
            "普通客户，或 重要客户/中大客户", field="客户级别", value=tier_or_importance, kind="na")
    if normalize_client_type(client_type) == "机构":
        return "核心"
    return level


def _chain(tier_or_importance: str, client_type: str) -> Chain:
    level = importance(tier_or_importance, client_type)
    return next(c for c in _data().chains if c.importance == level)


def approval_chain(tier_or_importance: str, client_type: str) -> list[str]:
    """转销户的审批人，按审批顺序（第九条、第十条、第十七条）。

    普通客户 → ["柜台人员（或营业部指定人员）", "客户经理"]；重要/中大客户 → 再加 "营销总监"；
    VIP客户、核心客户、所有机构客户 → 再加 "营销总监"、"总经理"。
    """
    return list(_chain(tier_or_importance, client_type).approvers)


def appointment_required(tier_or_importance: str, client_type: str) -> bool:
    """是否须提前一天预约（第十八条：机构客户、核心客户实行转销户预约制）。"""
    return _chain(tier_or_importance, client_type).appointment_days > 0


def blocker_flags() -> tuple[str, ...]:
    """``transfer_blockers`` 接受的参数名。"""
    return tuple(b.flag for b in _data().blockers)


def transfer_blockers(**flags: bool) -> list[str]:
    """不能办理转销户的原因（第十六条），空列表表示没有阻碍。

    参数（均为 bool，未给出的按 False）：``order_today`` 当天有委托（成交或未成交）、
    ``repo_not_matured`` 国债回购未到期、``repo_registration_not_revoked`` 回购登记未撤销、
    ``ipo_funds_frozen`` 新股申购资金未解冻、``agreement_unfulfilled`` 与营业部的协议未履行完毕、
    ``registrar_refuses`` 中国结算认为不能撤销/转托管。未知参数名或非布尔值抛出 ``RuleInputError``。
    """
    known = {b.flag: b for b in _data().blockers}
    for name, value in flags.items():
        if name not in known:
            raise RuleInputError(
                f"转销户检查项 {show(name)} 无法识别：应为 {'、'.join(known)} 之一",
                field="转销户检查项", value=name, kind="na")
        if not isinstance(value, bool):
            raise RuleInputError(
                f"转销户检查项 {name}（{known[name].text}）的值 {show(value)} 无效：应为 TRUE 或 FALSE",
                field=known[name].text, value=value)
    return [f"不能办理转销户：{b.text}（{b.clause}）" for b in known.values() if flags.get(b.flag)]


# --------------------------------------------------------------------------- follow-up


@dataclass(frozen=True)
class FollowUpStep:
    """回访计划的一步：``due_by`` 最迟完成日（无具体期限时为 ``None``），``text_zh`` 说明。"""

    due_by: date | None
    text_zh: str






def follow_up_plan(tier: str, client_type: str, left_on: date) -> list[FollowUpStep]:
    """流失客户回访计划（第三十–三十二条），按时间排列。

    * 所有客户：当日填写《客户转销户工作备忘录》（第三十条）；
    * 机构、核心、重要客户：转出当周（自然周，至周日）回访一次，此后每月至少交流一次
      （第三十一条；默认列 12 个月，假设）；
    * 机构客户：一年内至少上门回访一次（第三十二条）；
    * 普通客户：原文只要求“做好后续跟踪服务，定期回访”（第三十条），无具体期限。
    """
    if isinstance(left_on, datetime):
        left_on = left_on.date()
    if not isinstance(left_on, date):
        raise RuleInputError(f"转出日期 {show(left_on)} 不是日期", field="转出日期", value=left_on)
    level = importance(tier, client_type)
    ctype = normalize_client_type(client_type)
    steps = [FollowUpStep(left_on, "填写《客户转销户工作备忘录》，记载转销户主要原因及联系电话"
                                   "（第三十条）")]
    if level == "普通":
        steps.append(FollowUpStep(None, "做好后续跟踪服务，定期回访（第三十条；制度未规定频次）"))
        return steps
    week_end = left_on + timedelta(days=6 - left_on.weekday())
    steps.append(FollowUpStep(
        week_end, "转出当周内通过上门、电话或其他方式回访：通报近期营销与服务活动、新产品与新业务，"
                  "问询客户近况，情感交流（第三十一条）"))
    y, m = left_on.year, left_on.month
    for _ in range(_data().follow_up.monthly_months):
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        steps.append(FollowUpStep(month_end(y, m),
                                  f"{y}年{m}月内至少与客户交流一次（第三十一条）"))
    if ctype == "机构":
        steps.append(FollowUpStep(add_years(left_on, 1),
                                  "机构客户一年内至少上门回访一次，并在日常加强联系（第三十二条）"))
    steps.sort(key=lambda s: s.due_by or date.max)
    return steps


def leaving_reason_response(reason: str) -> str:
    """某一流失原因的应对要点（第二十–二十九条）。原因须为 ``LEAVING_REASONS`` 之一。"""
    for r in _data().reasons:
        if _key(r.text) == _key(reason):
            return f"{r.response}（{r.clause}）"
    raise RuleInputError(f"流失原因 {show(reason)} 不在列表中：应为 {'、'.join(LEAVING_REASONS)} 之一",
                         field="流失原因", value=reason, kind="na")


#: 客户流失原因（第二十–二十八条，外加“其他”），记入《客户转销户工作备忘录》。
LEAVING_REASONS: list[str] = [r.text for r in _data().reasons]
