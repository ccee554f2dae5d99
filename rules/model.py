"""Rulebooks as validated data: the pydantic schema of a rulebook file.

A rulebook file (TOML, under ``rules/data/rulebooks/<id>/<version>.toml``) says what a policy document says
as a decision table: inputs with their domain, ordered outputs (rank 0 is the highest tier), rules
with stable ids made of intervals with explicit open/closed bounds, a hit policy, and where it
comes from. Bounds may name a parameter (``"@turnover_threshold"``) whose value the rulebook (or a
firm's parameter file) supplies.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .money import is_money

Bound = float | str  # a number, or "@parameter"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    document: str
    article: str = ""
    seed: str = ""
    note: str = ""


class InputSpec(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    unit: str = ""
    min: float | None = 0.0
    max: float | None = None
    integer: bool = False
    empty_is_zero: bool = False
    # money: compared with the rules' bounds at the cent, rounded half-even (rules.money);
    # default: an input whose unit is 元
    money: bool = False
    # "increasing": raising this input never lowers the output ("decreasing": never raises it);
    # the verifier checks it
    monotone: Literal["increasing", "decreasing", "none"] = "increasing"
    # headers of columns whose larger value is this input when the sheet has no column of its
    # own (seed 001 第八条: 上年度或本年度日均客户资产 -> 上年日均资产, 本年日均资产)
    larger_of: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _money_from_unit(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("money") is None:
            return {**data, "money": is_money(str(data.get("unit") or ""))}
        return data


class OutputSpec(_Strict):
    label: str
    code: str = ""
    aliases: tuple[str, ...] = ()
    service: str = ""
    services: tuple[str, ...] = ()
    visits_per_year: int | None = None


class OverridePolicy(_Strict):
    """What the policy says of special adjustments (特别调整级别) beyond being approved and
    recorded: whether an annual rating keeps an override made before the year it rates ended."""

    annual_keeps: bool = False
    source: str = ""  # the clauses the setting rests on


class Interval(_Strict):
    """One input's allowed range: ``gt``/``ge`` below, ``lt``/``le`` above (open/closed)."""

    gt: Bound | None = None
    ge: Bound | None = None
    lt: Bound | None = None
    le: Bound | None = None

    @model_validator(mode="after")
    def _one_bound_per_side(self) -> Interval:
        if self.gt is not None and self.ge is not None:
            raise ValueError("下界只能给 gt 或 ge 之一")
        if self.lt is not None and self.le is not None:
            raise ValueError("上界只能给 lt 或 le 之一")
        if all(b is None for b in (self.gt, self.ge, self.lt, self.le)):
            raise ValueError("区间至少需要一个边界（gt/ge/lt/le）")
        for b in (self.gt, self.ge, self.lt, self.le):
            if isinstance(b, str) and not b.startswith("@"):
                raise ValueError(f"边界须为数字或 @参数名：{b!r}")
        return self


class Rule(_Strict):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
    output: str
    sub_class: str = ""
    when: dict[str, Interval] = Field(default_factory=dict)
    default: bool = False
    text: str = ""

    @model_validator(mode="after")
    def _default_has_no_condition(self) -> Rule:
        if self.default and self.when:
            raise ValueError("兜底规则（default = true）不能再带条件 when")
        if not self.default and not self.when:
            raise ValueError("规则须有条件 when，或标记为兜底规则 default = true")
        return self


class Parameter(_Strict):
    label: str
    unit: str = ""
    value: float | None = None
    assumption: bool = False
    note: str = ""


class WindowSpec(_Strict):
    """One mode's run window: the first ``days`` working days after the period, as a clause says."""

    days: int = Field(ge=1, le=20)
    source: str = Field(min_length=1)  # the clause, e.g. "第六条（二）3项：每个月的月初前三个工作日"


class RunSchedule(_Strict):
    """When a policy says to run each mode (rules.schedule.run_window). A mode the document does
    not schedule is left out; a rulebook without ``[schedule]`` has no run windows."""

    annual: WindowSpec | None = None
    quarterly: WindowSpec | None = None
    monthly: WindowSpec | None = None  # the new-accounts run


class RulebookFile(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: str
    title: str
    effective_from: dt.date
    effective_to: dt.date | None = None  # last day in force (inclusive); None = open
    source: Source
    hit_policy: Literal["FIRST", "UNIQUE", "ANY", "PRIORITY"] = "FIRST"
    upgrade_only: bool = True
    assumption: str = ""  # non-empty: parts of this rulebook are a reconstruction, said here
    example: bool = False  # demo parameters, never for production
    new_account_service: str = ""
    schedule: RunSchedule | None = None  # run windows of the document (rules.schedule)
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    rules: tuple[Rule, ...]
    # special adjustments (特别调整): does an annual rating keep them (rules.vocabulary for
    # the names, workbook.overrides for the dates)
    overrides: OverridePolicy = OverridePolicy()
    # seed 001 第六条: the job also writes 分级分类 (四级十二类, tier·risk class, 核心客户·稳健型)
    client_classes: bool = False

    @field_validator("outputs")
    @classmethod
    def _unique_outputs(cls, outputs: tuple[OutputSpec, ...]) -> tuple[OutputSpec, ...]:
        from .vocabulary import tier_key

        seen: set[str] = set()
        for o in outputs:  # (compared as cells are read: full-width, spaces and case aside)
            for name in (o.label, *o.aliases, *([o.code] if o.code else [])):
                if tier_key(name) in seen:
                    raise ValueError(f"输出标签或别名重复：{name}")
                seen.add(tier_key(name))
        return outputs

    @model_validator(mode="after")
    def _references(self) -> RulebookFile:
        from .vocabulary import tier_key

        inputs = {i.name for i in self.inputs}
        outputs = {o.label for o in self.outputs}
        names = {tier_key(n): o.label for o in self.outputs
                 for n in (o.label, *o.aliases, *([o.code] if o.code else []))}
        ids: set[str] = set()
        for r in self.rules:
            if r.id in ids:
                raise ValueError(f"规则编号重复：{r.id}")
            ids.add(r.id)
            if r.output not in outputs:
                raise ValueError(f"规则 {r.id} 的输出 {r.output!r} 不在 outputs 中")
            other = names.get(tier_key(r.sub_class)) if r.sub_class else None
            if other is not None and other != r.output:
                raise ValueError(f"规则 {r.id} 的细分类别 {r.sub_class!r} 已是{other}的名称")
            for name, iv in r.when.items():
                if name not in inputs:
                    raise ValueError(f"规则 {r.id} 的条件引用了未定义的输入 {name!r}")
                for b in (iv.gt, iv.ge, iv.lt, iv.le):
                    if isinstance(b, str) and b[1:] not in self.parameters:
                        raise ValueError(f"规则 {r.id} 引用了未定义的参数 {b!r}")
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to 早于 effective_from")
        return self
