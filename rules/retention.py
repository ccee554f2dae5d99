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
* ``LEAVING_REASONS``：第二十–二十八条的流失原因（原文措辞，外加“其他”），``leaving_reason_response``
  给出应对要点；``record_leaving_reason`` 只接受这些文字（“其他”须另写说明），供《客户转销户工作备忘录》。
* ``closing_check``：第十九条的销户条件（撤销指定交易、转托管、结息取款、协议履行完毕、无其他对应关系）。
* ``missing_approvers``：一笔转销户已签字的审批人中缺了谁（第九、十、十七条）。
* 客户性质“产品”（产品户）按机构客户办理：原文只分个人与机构，产品户由管理人凭法人授权委托书办理
  （第八条第2项），见 ``rules/data/retention.toml`` ``[client_type_aliases]``。
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
    closing_conditions: tuple[Blocker, ...] = Field(min_length=1)
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

    @field_validator("blockers", "closing_conditions")
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
    """客户类型 → 个人 / 机构（产品户按机构，见模块说明）。无法识别抛出 ``RuleInputError``（kind="na"）。"""
    t = _data().client_type_aliases.get(_key(client_type) or "")
    if t is None:
        raise RuleInputError(f"客户类型 {show(client_type)} 无法识别：应为 个人、机构 或 产品",
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


def approval_clause(tier_or_importance: str, client_type: str) -> str:
    """The clauses of the approval chain (e.g. "第十条、第十七条、第十八条")."""
    return _chain(tier_or_importance, client_type).clause


def appointment_required(tier_or_importance: str, client_type: str) -> bool:
    """是否须提前一天预约（第十八条：机构客户、核心客户实行转销户预约制）。"""
    return _chain(tier_or_importance, client_type).appointment_days > 0


def blockers() -> tuple[Blocker, ...]:
    """第十六条的六种情形（flag、原文、条款），按原文顺序。"""
    return _data().blockers


def closing_conditions() -> tuple[Blocker, ...]:
    """第十九条的销户条件（flag、原文、条款），按原文顺序。"""
    return _data().closing_conditions


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
    _check_flags(known, flags, "转销户检查项")
    return [f"不能办理转销户：{b.text}（{b.clause}）" for b in known.values() if flags.get(b.flag)]


def _check_flags(known: dict[str, Any], flags: dict[str, Any], what: str) -> None:
    """Every flag is one of ``known`` (items with a ``text``) and a bool, else a RuleInputError
    naming ``what`` (转销户检查项, 销户条件), the flag and its text."""
    for name, value in flags.items():
        if name not in known:
            raise RuleInputError(
                f"{what} {show(name)} 无法识别：应为 {'、'.join(known)} 之一",
                field=what, value=name, kind="na")
        if not isinstance(value, bool):
            raise RuleInputError(
                f"{what} {name}（{known[name].text}）的值 {show(value)} 无效：应为 TRUE 或 FALSE",
                field=known[name].text, value=value)


def missing_approvers(tier_or_importance: str, client_type: str, signed: Any) -> list[str]:
    """审批链中尚未签字的审批人（按审批顺序），空列表表示审批齐全（第九、十、十七条）。

    ``signed``：已签字的审批人，``approval_chain`` 中的名称（“柜台人员（或营业部指定人员）”也可写
    “柜台人员”或“营业部指定人员”）。多签（如普通客户由总经理签字）不算错。
    """
    have = {_APPROVER_ALIASES.get(_key(x) or "", x) for x in signed}
    return [a for a in approval_chain(tier_or_importance, client_type) if a not in have]


_APPROVER_ALIASES = {"柜台人员": "柜台人员（或营业部指定人员）",
                     "营业部指定人员": "柜台人员（或营业部指定人员）",
                     "柜台人员（或营业部指定人员）": "柜台人员（或营业部指定人员）"}
_APPROVER_ALIASES = {_key(k) or k: v for k, v in _APPROVER_ALIASES.items()}


def closing_flags() -> tuple[str, ...]:
    """``closing_check`` 接受的参数名。"""
    return tuple(c.flag for c in _data().closing_conditions)


def closing_check(**flags: bool) -> list[str]:
    """第十九条的销户条件中尚未满足的（原文措辞），空列表表示应及时销户。

    参数（bool，未给出的按 False = 尚未办理）：``sh_designation_revoked`` 已办理上海撤销指定交易、
    ``sz_transferred`` 已办理深圳转托管、``interest_withdrawn`` 已办理资金结息取款、
    ``agreements_fulfilled`` 与营业部签定的各种协议已履行完毕、``no_other_links`` 无其他对应关系。
    """
    known = {c.flag: c for c in _data().closing_conditions}
    _check_flags(known, flags, "销户条件")
    return [c.text for c in known.values() if not flags.get(c.flag)]


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
    """某一流失原因的应对要点（第二十–二十九条）。原因须为 ``LEAVING_REASONS`` 之一，
    或 ``record_leaving_reason`` 记录的写法（“其他：说明”、“原因（说明）”）。"""
    key = _reason_key(reason)
    if key is not None:
        key = key.split(":", 1)[0] if key.startswith(OTHER_REASON) else key.split("(", 1)[0]
    for r in _data().reasons:
        if _reason_key(r.text) == key:
            return f"{r.response}（{r.clause}）"
    raise _unlisted(reason)


def _unlisted(reason: Any) -> RuleInputError:
    return RuleInputError(
        f"流失原因 {show(reason)} 不是制度列出的原因（003 第二十–二十八条原文，如“行业内竞争”"
        "“佣金费率水平较高”）：请照原文填写，或填“其他”并写明说明",
        field="流失原因", value=reason, kind="na")


OTHER_REASON = "其他"
_SEPARATORS = str.maketrans({",": "、", "，": "、", ";": "、", "；": "、"})


def _reason_key(v: Any) -> str | None:
    k = _key(v)
    return None if k is None else k.translate(_SEPARATORS)


def record_leaving_reason(reason: Any, detail: Any = None) -> str:
    """流失原因的记录文字（《客户转销户工作备忘录》，第三十条）：只接受 ``LEAVING_REASONS`` 的原文措辞
    （空格、全角/半角、顿号与逗号不区分），返回原文写法；“其他”须有说明，记为“其他：说明”
    （说明也可直接写在原因里：“其他：家人要求”）。列出的原因再写说明时记为“原因（说明）”。
    """
    if not isinstance(reason, str) or not reason.strip():
        raise RuleInputError("流失原因为空", field="流失原因", value=reason, kind="na")
    text = reason.strip()
    note = detail.strip() if isinstance(detail, str) else ""
    if detail is not None and not isinstance(detail, str):
        raise RuleInputError(f"原因说明应为文字：{show(detail)}", field="原因说明", value=detail)
    head, sep, rest = unicodedata.normalize("NFKC", text).partition(":")
    if sep and _key(head) == OTHER_REASON:
        if note:
            raise RuleInputError(f"流失原因 {show(reason)} 已含说明，原因说明应留空",
                                 field="原因说明", value=detail)
        text, note = OTHER_REASON, rest.strip()
    key = _reason_key(text)
    for r in _data().reasons:
        if _reason_key(r.text) == key:
            if r.text == OTHER_REASON:
                if not note:
                    raise RuleInputError("流失原因为“其他”时须写明具体原因（原因说明）",
                                         field="原因说明", value=detail, kind="na")
                return f"{OTHER_REASON}：{note}"
            return f"{r.text}（{note}）" if note else r.text
    raise _unlisted(reason)


#: 客户流失原因（第二十–二十八条原文措辞，外加“其他”），记入《客户转销户工作备忘录》。
LEAVING_REASONS: list[str] = [r.text for r in _data().reasons]
