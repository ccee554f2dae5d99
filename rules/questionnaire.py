"""风险承受力问卷 —— the 12-question 《客户投资风险承受力评估调查表》 (seed 002 第八条、附件1).

客户填写问卷，按加总分把“对投资风险的适应度”分为 **极低 / 低 / 中 / 高** 四档（POLICY.md R3）。

**默认分值，须由公司合规部门确认替换。** 原文只有题目和选项，没有分值与分数线；
``rules/data/questionnaire/risk-tolerance-2010.toml`` 中的分值（A=1、B=2 …，第 9 题多选取最高分）
和分档（12–20 极低、21–29 低、30–38 中、39–48 高）是随产品附带的默认值，文件以
``[meta] points_are_defaults = true`` 标明。

答案写法：选项字母 "A"–"E"（不区分大小写、可含全角）或从 1 开始的选项序号；
第 9 题（多选）可写 "ACD"、"A,C,D"、"A、C" 或 ``["A", "C"]``。
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rules._common import load_toml_model
from rules.errors import RulebookError, RuleInputError, show

DEFAULT_ID = "risk-tolerance-2010"
DATA_DIR = Path(__file__).parent / "data" / "questionnaire"
LEVELS: tuple[str, ...] = ("极低", "低", "中", "高")

_ID_RE = re.compile(r"[a-z0-9][a-z0-9.-]*")
_SPLIT_RE = re.compile(r"[\s,，、/;；+]+")


class Option(BaseModel):
    """一个选项：字母、文字、分值（默认分值）。"""

    model_config = ConfigDict(extra="forbid", frozen=True)
    letter: str = Field(pattern=r"^[A-Z]$")
    text: str = Field(min_length=1)
    points: int = Field(ge=0)


class Question(BaseModel):
    """一道题。``multiple`` 为真时是多选题。"""

    model_config = ConfigDict(extra="forbid", frozen=True)
    number: int = Field(ge=1)
    text: str = Field(min_length=1)
    multiple: bool = False
    options: tuple[Option, ...] = Field(min_length=2)

    @field_validator("options")
    @classmethod
    def _letters_in_order(cls, options: tuple[Option, ...]) -> tuple[Option, ...]:
        letters = [o.letter for o in options]
        expected = [chr(ord("A") + i) for i in range(len(letters))]
        if letters != expected:
            raise ValueError(f"选项字母应依次为 {''.join(expected)}，实际为 {''.join(letters)}")
        return options


class Band(BaseModel):
    """一档：总分 ``min``–``max``（含两端）→ ``level``。"""

    model_config = ConfigDict(extra="forbid", frozen=True)
    level: Literal["极低", "低", "中", "高"]
    min: int
    max: int

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.min > self.max:
            raise ValueError(f"min {self.min} 大于 max {self.max}")
        return self


class Meta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str
    source: str
    points_are_defaults: bool
    multi_select_rule: Literal["max", "sum"] = "max"
    note: str = ""


class Questionnaire(BaseModel):
    """整份问卷：题目、分值与分档，加载时校验分档无缝覆盖全部可能的总分。"""

    model_config = ConfigDict(extra="forbid", frozen=True)
    meta: Meta
    questions: tuple[Question, ...] = Field(min_length=1)
    bands: tuple[Band, ...] = Field(min_length=1)

    def question_range(self, q: Question) -> tuple[int, int]:
        pts = [o.points for o in q.options]
        if q.multiple and self.meta.multi_select_rule == "sum":
            return min(pts), sum(pts)
        return min(pts), max(pts)

    @property
    def min_score(self) -> int:
        return sum(self.question_range(q)[0] for q in self.questions)

    @property
    def max_score(self) -> int:
        return sum(self.question_range(q)[1] for q in self.questions)

    @model_validator(mode="after")
    def _consistent(self) -> Questionnaire:
        numbers_ = [q.number for q in self.questions]
        if numbers_ != list(range(1, len(numbers_) + 1)):
            raise ValueError(f"questions 题号应为 1–{len(numbers_)} 依次排列，实际为 {numbers_}")
        if tuple(b.level for b in self.bands) != LEVELS:
            raise ValueError(f"bands 应依次为 {'、'.join(LEVELS)} 四档")
        if self.bands[0].min != self.min_score or self.bands[-1].max != self.max_score:
            raise ValueError(
                f"bands 应覆盖全部可能的总分 {self.min_score}–{self.max_score}，"
                f"实际为 {self.bands[0].min}–{self.bands[-1].max}")
        for lo, hi in itertools.pairwise(self.bands):
            if hi.min != lo.max + 1:
                raise ValueError(f"bands {lo.level}（至 {lo.max}）与 {hi.level}（自 {hi.min}）"
                                 "之间有缺口或重叠")
        return self


@functools.cache
def load_questionnaire(id: str = DEFAULT_ID) -> Questionnaire:
    """加载并校验问卷 ``rules/data/questionnaire/<id>.toml``（只加载一次）。

    文件不存在或格式错误时抛出 ``RulebookError``，消息指明文件与字段。
    """
    if not isinstance(id, str) or not _ID_RE.fullmatch(id):
        raise RulebookError(f"问卷编号 {show(id)} 无效")
    path = DATA_DIR / f"{id}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in DATA_DIR.glob("*.toml"))
        raise RulebookError(f"找不到问卷 {id}（{path}）；现有问卷：{'、'.join(known) or '无'}")
    return _parse(path)


def _parse(path: Path) -> Questionnaire:
    q = load_toml_model(path, Questionnaire, "问卷文件")
    if q.meta.id != path.stem:
        raise RulebookError(f"问卷文件 {path} 的字段 meta.id 为 {q.meta.id!r}，应与文件名一致")
    return q


def questions(id: str = DEFAULT_ID) -> tuple[Question, ...]:
    """全部题目（含选项文字与分值），供界面显示。"""
    return load_questionnaire(id).questions


# --------------------------------------------------------------------------- scoring


def _bad(q: Question, answer: Any, why: str = "") -> RuleInputError:
    last = q.options[-1].letter
    hint = why or f"应为 A–{last}（或 1–{len(q.options)}）"
    return RuleInputError(f"第{q.number}题的答案 {show(answer)} 无效：{hint}",
                          field=f"第{q.number}题", value=answer)


def _one(q: Question, token: Any, original: Any) -> int:
    """单个选项 → 0 起的下标。"""
    if isinstance(token, bool):
        raise _bad(q, original)
    if isinstance(token, float):
        if not math.isfinite(token) or not token.is_integer():
            raise _bad(q, original)
        token = int(token)
    if isinstance(token, numbers.Integral):
        n = int(token)
        if 1 <= n <= len(q.options):
            return n - 1
        raise _bad(q, original)
    if isinstance(token, str):
        t = unicodedata.normalize("NFKC", token).strip().upper()
        if t.isdigit():
            return _one(q, int(t), original)
        if len(t) == 1 and "A" <= t <= q.options[-1].letter:
            return ord(t) - ord("A")
    raise _bad(q, original)


def _tokens(q: Question, answer: Any) -> list[Any]:
    if isinstance(answer, str):
        t = unicodedata.normalize("NFKC", answer).strip()
        if not t:
            raise _bad(q, answer, "未作答")
        parts = [p for p in _SPLIT_RE.split(t) if p]
        if len(parts) == 1 and parts[0].isalpha():
            parts = list(parts[0])  # "ACD"
        return parts
    if isinstance(answer, (list, tuple, set, frozenset)):
        if not answer:
            raise _bad(q, answer, "未作答")
        return sorted(answer, key=str) if isinstance(answer, (set, frozenset)) else list(answer)
    if answer is None:
        raise _bad(q, answer, "未作答")
    return [answer]


def _question_points(quest: Questionnaire, q: Question, answer: Any) -> int:
    idx = [_one(q, tok, answer) for tok in _tokens(q, answer)]
    if not q.multiple and len(idx) > 1:
        raise _bad(q, answer, "该题为单选题，只能选一个选项")
    if len(set(idx)) != len(idx):
        raise _bad(q, answer, "同一选项重复选择")
    pts = [q.options[i].points for i in idx]
    return sum(pts) if quest.meta.multi_select_rule == "sum" else max(pts)


def score(answers: Sequence[str | int], id: str = DEFAULT_ID) -> int:
    """问卷总分（默认分值）。``answers`` 须恰好 12 个，依题号顺序。

    无效答案抛出 ``RuleInputError``，消息指明题号和答案，如“第3题的答案 'F' 无效”。
    """
    quest = load_questionnaire(id)
    n = len(quest.questions)
    if isinstance(answers, (str, bytes)) or not isinstance(answers, Sequence):
        raise RuleInputError(
            f"问卷答案 {show(answers)} 无效：应为 {n} 个答案组成的列表，如 ['A', 'C', …]",
            field="问卷答案", value=answers)
    if len(answers) != n:
        raise RuleInputError(f"问卷应有 {n} 个答案，收到 {len(answers)} 个",
                             field="问卷答案", value=len(answers))
    return sum(_question_points(quest, q, a) for q, a in zip(quest.questions, answers, strict=True))


# --------------------------------------------------------------------------- the scale

#: 本问卷总分的“量纲”名称。RISK_SCORE 的结果带此标记（如 "30分（风险承受力调查表）"），以免被当作
#: seed 001 的风险测评得分（9–100，保守型/稳健型/进取型）：两者数值范围重叠（12–48 在 9–100 之内），
#: 单看数字无法区分。
SCALE_NAME = "风险承受力调查表"
_TAGGED_RE = re.compile(r"([+-]?\d+)分\(" + SCALE_NAME + r"\)")


def tagged(points: int) -> str:
    """问卷总分连同其量纲，如 ``tagged(30)`` → "30分（风险承受力调查表）"。"""
    return f"{points}分（{SCALE_NAME}）"


def untag(v: Any) -> int | None:
    """``tagged`` 的结果 → 总分；其他值（数字、别的文字）→ ``None``。全角/半角括号、空格均可。"""
    if not isinstance(v, str):
        return None
    m = _TAGGED_RE.fullmatch("".join(unicodedata.normalize("NFKC", v).split()))
    return int(m.group(1)) if m else None


def level(score: int | str | None, id: str = DEFAULT_ID) -> str:
    """总分 → 风险承受力 极低/低/中/高（默认分数线）。不可能出现的总分抛出 ``RuleInputError``。

    ``score`` 为整数，或 ``tagged`` 的结果（"30分（风险承受力调查表）"）。
    """
    quest = load_questionnaire(id)
    tagged_points = untag(score)
    v: Any = score if tagged_points is None else tagged_points
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise RuleInputError(f"问卷总分 {show(score)} 无效：应为整数", field="问卷总分",
                             value=score)
    points = int(v)
    for band in quest.bands:
        if band.min <= points <= band.max:
            return band.level
    raise RuleInputError(
        f"问卷总分 {show(score)} 超出可能范围 {quest.min_score}–{quest.max_score}"
        "（9–100 分的风险测评得分属另一套问卷，对应 保守型/稳健型/进取型）",
        field="问卷总分", value=score)
