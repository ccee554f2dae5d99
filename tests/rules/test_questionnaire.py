"""Tests of rules.questionnaire (seed 002 附件1, 12 questions; points and bands are shipped defaults).

Hand-derived figures, from the default points A=1, B=2, … (question 9: highest selected option):
option counts per question 5,4,5,4,3,4,3,3,5,4,3,5 -> all-A = 12, all-last = 48.
Default bands: 12–20 极低, 21–29 低, 30–38 中, 39–48 高.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import questionnaire as qn
from rules.errors import RulebookError, RuleInputError
from rules.questionnaire import level, load_questionnaire, questions, score

OPTION_COUNTS = (5, 4, 5, 4, 3, 4, 3, 3, 5, 4, 3, 5)
ALL_A = ["A"] * 12
ALL_LAST = ["E", "D", "E", "D", "C", "D", "C", "C", "E", "D", "C", "E"]


def test_twelve_questions_as_in_the_seed():
    qs = questions()
    assert len(qs) == 12
    assert tuple(len(q.options) for q in qs) == OPTION_COUNTS
    assert [q.number for q in qs] == list(range(1, 13))
    # key phrases of the seed text, question by question
    phrases = ["闲散资金", "家庭总金融资产", "投资经验", "投资决策需要多长时间", "3种投资",
               "内幕消息", "上涨了20%", "下跌20%", "咨询信息服务", "投资基金的目的",
               "投资基金会亏损", "基金净值下跌"]
    for q, phrase in zip(qs, phrases, strict=True):
        assert phrase in q.text
    assert [o.text for o in qs[0].options] == ["储蓄", "债券", "基金", "股票", "期货"]
    assert qs[4].options[2].text == "可能全部亏损，可能赚300%"
    assert qs[11].options[4].text == "在大势调整时增加投资"
    assert [q.multiple for q in qs] == [False] * 8 + [True] + [False] * 3


def test_points_are_marked_as_defaults():
    meta = load_questionnaire().meta
    assert meta.points_are_defaults is True
    assert "合规部门确认替换" in meta.note
    assert "默认分值" in (qn.__doc__ or "")
    text = (qn.DATA_DIR / "risk-tolerance-2010.toml").read_text(encoding="utf-8")
    assert "默认分值，须由公司合规部门确认替换" in text


def test_score_extremes():
    assert score(ALL_A) == 12
    assert score(ALL_LAST) == 48
    assert score([1] * 12) == 12
    assert score(list(OPTION_COUNTS)) == 48


def test_score_mixed_forms():
    # a,b,3,Ｄ,'1',2,3,1 -> 1+2+3+4+1+2+3+1 = 17; q9 A、C -> 3; B c e -> 2+3+5; total 30
    answers = ["a", "b", 3, "Ｄ", "1", 2, 3, 1, "A、C", "B", "c", "e"]
    assert score(answers) == 30
    assert score(tuple(answers)) == 30
    assert score([np.int64(1)] * 12) == 12
    assert score([1.0] * 12) == 12


@pytest.mark.parametrize(("q9", "points"), [
    ("A", 1), ("ACD", 4), ("A,C,D", 4), ("a c", 3), (["A", "E"], 5), ((2, 3), 3), ({1, 2}, 2),
    ("B/D", 4), (5, 5),
])
def test_multi_select_takes_the_highest(q9, points):
    answers = ["A"] * 8 + [q9] + ["A"] * 3
    assert score(answers) == 11 + points


@pytest.mark.parametrize(("n", "bad", "shown"), [
    (1, "F", "'F'"), (1, 6, "6"), (1, 0, "0"), (1, -1, "-1"), (2, "E", "'E'"), (2, 5, "5"),
    (5, "D", "'D'"), (12, "Z", "'Z'"), (3, "AB", "'AB'"), (4, "", "''"), (6, None, "（空）"),
    (7, True, "TRUE"), (8, 1.5, "1.5"), (8, float("nan"), "NaN"), (9, "AA", "'AA'"),
    (9, "AF", "'AF'"), (9, [], "[]"), (10, "A1", "'A1'"), (11, "中", "'中'"), (1, "10", "'10'"),
])
def test_invalid_answer_names_question_and_answer(n, bad, shown):
    answers: list = ["A"] * 12
    answers[n - 1] = bad
    with pytest.raises(RuleInputError) as e:
        score(answers)
    assert f"第{n}题" in e.value.message
    assert shown in e.value.message
    assert e.value.field == f"第{n}题"


@pytest.mark.parametrize(("answers", "shown"), [
    (["A"] * 11, "收到 11 个"), (["A"] * 13, "收到 13 个"), ([], "收到 0 个"),
    ("AAAAAAAAAAAA", "'AAAAAAAAAAAA'"), (None, "（空）"), (12, "12"),
])
def test_wrong_answer_count_or_shape(answers, shown):
    with pytest.raises(RuleInputError) as e:
        score(answers)
    assert shown in e.value.message


@pytest.mark.parametrize(("s", "expected"), [
    (12, "极低"), (20, "极低"), (21, "低"), (29, "低"), (30, "中"), (38, "中"), (39, "高"),
    (48, "高"), (30.0, "中"), (np.int32(25), "低"),
])
def test_level_band_edges(s, expected):
    assert level(s) == expected


@pytest.mark.parametrize(("bad", "shown"), [
    (11, "11"), (49, "49"), (0, "0"), (-5, "-5"), (30.5, "30.5"), (float("nan"), "NaN"),
    (float("inf"), "无穷大"), (True, "TRUE"), ("30", "'30'"), (None, "（空）"),
])
def test_level_invalid(bad, shown):
    with pytest.raises(RuleInputError) as e:
        level(bad)
    assert shown in e.value.message


@given(st.tuples(*[st.integers(1, k) for k in OPTION_COUNTS]))
def test_score_in_range_and_monotone(ans):
    s = score(list(ans))
    assert 12 <= s <= 48
    assert level(s) in ("极低", "低", "中", "高")
    # raising any single answer by one option never lowers the score
    for i, k in enumerate(OPTION_COUNTS):
        if ans[i] < k:
            up = list(ans)
            up[i] += 1
            assert score(up) >= s


def test_unknown_questionnaire():
    with pytest.raises(RulebookError, match="nope"):
        load_questionnaire("nope")
    with pytest.raises(RulebookError, match=r"\.\./x"):
        load_questionnaire("../x")


# ----------------------------------------------------------------------------- malformed files

SHIPPED = (qn.DATA_DIR / "risk-tolerance-2010.toml").read_text(encoding="utf-8")


def _write(tmp_path, text, name="risk-tolerance-2010"):
    f = tmp_path / f"{name}.toml"
    f.write_text(text, encoding="utf-8")
    return f


@pytest.mark.parametrize(("old", "new", "field"), [
    ("min = 21", "min = 22", "bands"),                       # gap between 极低 and 低
    ("max = 48", "max = 47", "bands"),                       # does not reach the max score
    ('level = "高"', 'level = "很高"', "bands.3.level"),
    ('{ letter = "B", text = "债券", points = 2 }', '{ letter = "C", text = "债券", points = 2 }',
     "questions.0.options"),
    ('{ letter = "A", text = "储蓄", points = 1 }', '{ letter = "A", text = "储蓄", points = -1 }',
     "questions.0.options.0.points"),
    ('{ letter = "A", text = "储蓄", points = 1 }', '{ letter = "A", text = "储蓄" }',
     "questions.0.options.0.points"),
    ("number = 12", "number = 13", "questions"),
    ("points_are_defaults = true", 'points_are_defaults = "maybe"', "meta.points_are_defaults"),
])
def test_malformed_file_names_file_and_field(tmp_path, old, new, field):
    assert old in SHIPPED
    f = _write(tmp_path, SHIPPED.replace(old, new, 1))
    with pytest.raises(RulebookError) as e:
        qn._parse(f)
    assert str(f) in str(e.value)
    assert field in str(e.value)


def test_id_must_match_file_name(tmp_path):
    f = _write(tmp_path, SHIPPED, name="other")
    with pytest.raises(RulebookError, match=r"meta\.id"):
        qn._parse(f)


def test_not_toml(tmp_path):
    f = _write(tmp_path, "[meta\n")
    with pytest.raises(RulebookError, match="TOML"):
        qn._parse(f)
