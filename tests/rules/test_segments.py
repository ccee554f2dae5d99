"""Tests of rules.segments (seed 002 第八–十条; POLICY.md R3, R4). Expected values from the text:
短线 < 1 month (or frequent futures/warrants/margin), 波段 1–3 months, 价值 > 3 months, with the
documented assumption 1 month = 30 days: 29 -> 短线, 30 -> 波段, 90 -> 波段, 91 -> 价值.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.errors import RuleInputError
from rules.segments import (
    DAYS_PER_MONTH,
    HOLDING_STYLES,
    fund_risk,
    holding_style,
    rfm_code,
    value_segment,
)


def test_days_per_month_assumption():
    assert DAYS_PER_MONTH == 30


@pytest.mark.parametrize(("days", "style"), [
    (0, "短线"), (1, "短线"), (29, "短线"), (29.99, "短线"), (30, "波段"), (30.0, "波段"),
    (60, "波段"), (89.5, "波段"), (90, "波段"), (90.01, "价值"), (91, "价值"), (3650, "价值"),
    (np.float64(45.0), "波段"), (np.int64(91), "价值"),
])
def test_holding_style_boundaries(days, style):
    assert holding_style(days) == style


@pytest.mark.parametrize("days", [0, 29, 30, 90, 91, 1000])
def test_frequent_derivatives_is_always_short(days):
    assert holding_style(days, frequent_derivatives=True) == "短线"
    assert holding_style(days, True) == "短线"


def test_days_per_month_parameter():
    # with a 31-day month: 30 -> 短线, 31 -> 波段, 93 -> 波段, 94 -> 价值
    assert holding_style(30, days_per_month=31) == "短线"
    assert holding_style(31, days_per_month=31) == "波段"
    assert holding_style(93, days_per_month=31) == "波段"
    assert holding_style(94, days_per_month=31) == "价值"


@pytest.mark.parametrize(("bad", "shown", "kind"), [
    (-1, "-1", "value"), (-0.5, "-0.5", "value"), (float("inf"), "无穷大", "value"),
    (float("nan"), "NaN", "na"), ("30", "'30'", "value"), (None, "（空）", "value"),
    (True, "TRUE", "value"),
])
def test_holding_style_invalid_days(bad, shown, kind):
    with pytest.raises(RuleInputError) as e:
        holding_style(bad)
    assert shown in e.value.message
    assert e.value.kind == kind
    assert e.value.field == "平均持有天数"


@pytest.mark.parametrize("bad", ["是", 1, None, "TRUE"])
def test_holding_style_invalid_flag(bad):
    with pytest.raises(RuleInputError, match="频繁"):
        holding_style(10, bad)


@pytest.mark.parametrize("bad", [0, -30, float("nan")])
def test_holding_style_invalid_month(bad):
    with pytest.raises(RuleInputError, match="每月天数"):
        holding_style(10, days_per_month=bad)


@given(st.floats(0, 10_000), st.floats(0, 10_000))
def test_holding_style_monotone(a, b):
    lo, hi = sorted((a, b))
    assert HOLDING_STYLES.index(holding_style(lo)) <= HOLDING_STYLES.index(holding_style(hi))


# ----------------------------------------------------------------------------- value segment


@pytest.mark.parametrize(("cur", "fut", "seg"), [
    (True, True, "黄金客户"), (False, True, "明日之星"), (True, False, "维护型"),
    (False, False, "自由型"), ("高", "高", "黄金客户"), ("低", "高", "明日之星"),
    ("高", "低", "维护型"), ("低", "低", "自由型"), ("high", "low", "维护型"),
    (" HIGH ", "Low", "维护型"), ("low", True, "明日之星"),
])
def test_value_segment(cur, fut, seg):
    assert value_segment(cur, fut) == seg


@pytest.mark.parametrize(("cur", "fut", "shown", "field"), [
    ("中", "高", "'中'", "当前价值"), ("高", "medium", "'medium'", "未来价值"),
    (1, True, "1", "当前价值"), (True, None, "（空）", "未来价值"), ("", "高", "''", "当前价值"),
    ("是", "高", "'是'", "当前价值"),
])
def test_value_segment_invalid(cur, fut, shown, field):
    with pytest.raises(RuleInputError) as e:
        value_segment(cur, fut)
    assert shown in e.value.message
    assert e.value.field == field


# ----------------------------------------------------------------------------- fund risk


@pytest.mark.parametrize("name", [
    "股票型", "股票型基金", "标准股票型基金", "普通股票型", "指数型", "标准指数型基金", "增强指数型",
    "偏股型", "偏股型基金", "平衡型", "股债平衡型基金", "灵活配置型", "灵活配置型基金", " 股票型 ",
    "股票",
])
def test_fund_risk_high(name):
    assert fund_risk(name) == "高"


@pytest.mark.parametrize("name", ["偏债型", "偏债型基金", "标准债券型基金", "普通债券型", "债券型",
                                  "债券型基金"])
def test_fund_risk_medium(name):
    assert fund_risk(name) == "中"


@pytest.mark.parametrize("name", ["短债", "中短债型基金", "保本型", "保本型基金", "货币型",
                                  "货币型基金", "货币市场基金", "货币 市场 基金"])
def test_fund_risk_low(name):
    assert fund_risk(name) == "低"


@pytest.mark.parametrize("name", ["混合型", "QDII", "", "基金", "商品型", "股票型ETF联接"])
def test_fund_risk_unknown_is_na(name):
    with pytest.raises(RuleInputError) as e:
        fund_risk(name)
    assert repr(name) in e.value.message
    assert e.value.kind == "na"


@pytest.mark.parametrize("bad", [None, 1, True])
def test_fund_risk_non_text(bad):
    with pytest.raises(RuleInputError, match="基金类型"):
        fund_risk(bad)


# ----------------------------------------------------------------------------- RFM code


def test_rfm_code_styles():
    assert rfm_code(5, 3, 4) == "R5F3M4"
    assert rfm_code(5, 3, 4, style="R5F3M4") == "R5F3M4"
    assert rfm_code(5, 3, 4, style="534") == "534"
    assert rfm_code(1, 1, 1, "534") == "111"
    assert rfm_code(5.0, np.int64(5), 5) == "R5F5M5"


@pytest.mark.parametrize(("args", "shown", "field"), [
    ((0, 3, 4), "0", "R分"), ((6, 3, 4), "6", "R分"), ((5, 4.5, 4), "4.5", "F分"),
    ((5, 3, True), "TRUE", "M分"), ((5, 3, float("nan")), "NaN", "M分"), ((5, "3", 4), "'3'", "F分"),
    ((5, 3, None), "（空）", "M分"), ((-1, 3, 4), "-1", "R分"),
])
def test_rfm_code_invalid(args, shown, field):
    with pytest.raises(RuleInputError) as e:
        rfm_code(*args)
    assert shown in e.value.message
    assert e.value.field == field


def test_rfm_code_bad_style():
    with pytest.raises(RuleInputError, match="'R5-F3'"):
        rfm_code(5, 3, 4, style="R5-F3")
