"""Tests of rules.suitability (seed 001 第六条, 第十一条, 第十九条; POLICY.md R2).
Expected values typed from the policy: 保守型 → 低 only; 稳健型 → 低, 中; 进取型 → all.
"""

from __future__ import annotations

import datetime as dt
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.errors import RulebookError, RuleInputError
from rules.suitability import (
    ALL_CLIENT_CLASSES,
    PRODUCT_RISKS,
    RISK_CLASSES,
    TOLERANCE_LEVELS,
    client_class,
    load_tolerance_funds,
    normalize_product_risk,
    normalize_risk_class,
    normalize_tier,
    reassessment_due,
    suitability_note,
    suitable,
)

D = date


def test_constants():
    assert RISK_CLASSES == ("保守型", "稳健型", "进取型")


@pytest.mark.parametrize(("text", "label"), [
    ("保守型", "保守型"), ("保守", "保守型"), (" 稳健型 ", "稳健型"), ("稳健", "稳健型"),
    ("进取型", "进取型"), ("积极型", "进取型"), ("积极", "进取型"), ("Conservative", "保守型"),
    ("balanced", "稳健型"), ("AGGRESSIVE", "进取型"), ("稳 健 型", "稳健型"),
])
def test_normalize_risk_class(text, label):
    assert normalize_risk_class(text) == label


@pytest.mark.parametrize("bad", ["激进型", "", "moderate", None, 1, "保守型客户"])
def test_normalize_risk_class_unknown(bad):
    with pytest.raises(RuleInputError) as e:
        normalize_risk_class(bad)
    assert e.value.kind == "na"
    assert e.value.field == "风险类别"


@pytest.mark.parametrize(("text", "label"), [
    ("低", "低"), ("低风险", "低"), ("LOW", "低"), ("中", "中"), ("中风险", "中"),
    ("medium", "中"), ("高", "高"), (" 高风险 ", "高"), ("High", "高"),
])
def test_normalize_product_risk(text, label):
    assert normalize_product_risk(text) == label


@pytest.mark.parametrize("bad", ["R1", "R3", "R5", "中高风险", "极高", "", None, 2])
def test_normalize_product_risk_rejects_unlisted(bad):
    with pytest.raises(RuleInputError) as e:
        normalize_product_risk(bad)
    assert e.value.kind == "na"


@pytest.mark.parametrize(("rc", "pr", "ok"), [
    ("保守型", "低", True), ("保守型", "中", False), ("保守型", "高", False),
    ("稳健型", "低", True), ("稳健型", "中", True), ("稳健型", "高", False),
    ("进取型", "低", True), ("进取型", "中", True), ("进取型", "高", True),
    ("积极型", "高风险", True), ("conservative", "medium", False),
])
def test_suitable_matrix(rc, pr, ok):
    assert suitable(rc, pr) is ok


@given(st.sampled_from(RISK_CLASSES), st.sampled_from(RISK_CLASSES),
       st.sampled_from(PRODUCT_RISKS), st.sampled_from(PRODUCT_RISKS))
def test_suitable_monotone(rc1, rc2, pr1, pr2):
    # a more risk-tolerant client is suitable for everything a less tolerant one is;
    # a lower-risk product is suitable whenever a higher-risk one is.
    if RISK_CLASSES.index(rc1) <= RISK_CLASSES.index(rc2) and suitable(rc1, pr1):
        assert suitable(rc2, pr1)
    if PRODUCT_RISKS.index(pr1) <= PRODUCT_RISKS.index(pr2) and suitable(rc1, pr2):
        assert suitable(rc1, pr1)


@given(st.sampled_from(TOLERANCE_LEVELS), st.sampled_from(TOLERANCE_LEVELS),
       st.sampled_from(PRODUCT_RISKS), st.sampled_from(PRODUCT_RISKS))
def test_seed_002_matching_is_monotone(a, b, pr1, pr2):
    if TOLERANCE_LEVELS.index(a) <= TOLERANCE_LEVELS.index(b) and suitable(a, pr1):
        assert suitable(b, pr1)
    if PRODUCT_RISKS.index(pr1) <= PRODUCT_RISKS.index(pr2) and suitable(a, pr2):
        assert suitable(a, pr1)


def test_seed_002_same_name_levels_correspond():
    # 第八条 "销售相应风险等级的基金产品": 低/中/高 clients may buy funds of their own level, no higher
    for lv in ("低", "中", "高"):
        assert suitable(lv, lv) and suitable(f"风险承受能力{lv}", lv)
    assert not suitable("低", "中") and not suitable("中", "高")


def test_seed_002_matching_file_is_validated(tmp_path):
    from rules.suitability import TOLERANCE_FUNDS_FILE

    text = TOLERANCE_FUNDS_FILE.read_text(encoding="utf-8")
    bad = tmp_path / "m.toml"
    bad.write_text(text.replace('level = "中"\nfunds = ["低", "中"]', 'level = "中"\nfunds = []'),
                   encoding="utf-8")
    with pytest.raises(RulebookError, match="中 档可购买的基金应不少于 低 档"):
        load_tolerance_funds(bad)
    bad.write_text(text.replace('funds = ["低"]\nassumption = ""', 'funds = ["R1"]\nassumption = ""'),
                   encoding="utf-8")
    with pytest.raises(RulebookError, match="levels"):
        load_tolerance_funds(bad)
    assert load_tolerance_funds().funds("极低") == ("低",)


def test_low_risk_always_suitable():
    assert all(suitable(rc, "低") for rc in RISK_CLASSES)


def test_suitability_note_unsuitable():
    assert suitability_note("保守型", "高") == (
        "风险不匹配：保守型客户仅适合低风险产品，拟购买高风险产品，须提示风险并留痕（第十九条）")
    assert suitability_note("稳健", "高风险") == (
        "风险不匹配：稳健型客户仅适合低、中风险产品，拟购买高风险产品，须提示风险并留痕（第十九条）")
    assert "第十九条" in suitability_note("保守型", "中")


def test_suitability_note_ok():
    note = suitability_note("积极型", "高")
    assert note.startswith("风险匹配") and "进取型" in note and "不匹配" not in note


@pytest.mark.parametrize(("rc", "pr", "shown"), [("激进", "高", "'激进'"), ("保守型", "R4", "'R4'")])
def test_suitable_invalid(rc, pr, shown):
    for fn in (suitable, suitability_note):
        with pytest.raises(RuleInputError) as e:
            fn(rc, pr)
        assert shown in e.value.message


# ----------------------------------------------------------------------------- 12 classes


def test_all_client_classes():
    assert len(ALL_CLIENT_CLASSES) == 12
    assert len(set(ALL_CLIENT_CLASSES)) == 12
    assert ALL_CLIENT_CLASSES[0] == "VIP客户·保守型"
    assert ALL_CLIENT_CLASSES[-1] == "普通客户·进取型"
    assert "核心客户·稳健型" in ALL_CLIENT_CLASSES
    assert "潜力客户·进取型" in ALL_CLIENT_CLASSES


@pytest.mark.parametrize(("tier", "rc", "expected"), [
    ("核心客户", "稳健型", "核心客户·稳健型"), ("核心", "稳健", "核心客户·稳健型"),
    ("VIP", "积极型", "VIP客户·进取型"), ("vip客户", "保守", "VIP客户·保守型"),
    ("一类", "保守型", "VIP客户·保守型"), ("二类", "进取型", "核心客户·进取型"),
    ("三类", "稳健型", "潜力客户·稳健型"), ("四类", "保守型", "普通客户·保守型"),
    ("潜力", "aggressive", "潜力客户·进取型"), ("普通", "balanced", "普通客户·稳健型"),
    ("A类核心", "稳健型", "核心客户·稳健型"), ("B类核心", "保守型", "核心客户·保守型"),
])
def test_client_class(tier, rc, expected):
    assert client_class(tier, rc) == expected
    assert expected in ALL_CLIENT_CLASSES


@pytest.mark.parametrize(("tier", "rc", "shown", "field"), [
    ("钻石", "稳健型", "'钻石'", "客户级别"), ("五类", "稳健型", "'五类'", "客户级别"),
    ("核心客户", "激进型", "'激进型'", "风险类别"), (None, "稳健型", "（空）", "客户级别"),
])
def test_client_class_invalid(tier, rc, shown, field):
    with pytest.raises(RuleInputError) as e:
        client_class(tier, rc)
    assert shown in e.value.message
    assert e.value.field == field
    assert e.value.kind == "na"


def test_normalize_tier():
    assert normalize_tier(" VIP ") == "VIP客户"


# ----------------------------------------------------------------------------- re-assessment


def test_reassessment_not_yet_due():
    s = reassessment_due(D(2024, 11, 21), D(2026, 11, 1))
    assert s.due_on == D(2026, 11, 21)
    assert s.overdue is False
    assert s.days_left == 20
    assert "2026-11-21" in s.text_zh and "尚余 20 天" in s.text_zh and "第十一条" in s.text_zh


def test_reassessment_due_today_is_not_overdue():
    s = reassessment_due(D(2024, 11, 21), D(2026, 11, 21))
    assert (s.overdue, s.days_left) == (False, 0)
    assert "今日到期" in s.text_zh


def test_reassessment_one_day_late():
    s = reassessment_due(D(2024, 11, 21), D(2026, 11, 22))
    assert (s.overdue, s.days_left) == (True, -1)
    assert "已逾期 1 天" in s.text_zh


def test_reassessment_same_day():
    s = reassessment_due(D(2026, 3, 1), D(2026, 3, 1))
    assert s.due_on == D(2028, 3, 1)
    assert s.days_left == 731  # 2026-03-01 -> 2028-03-01 spans 2028-02-29


def test_reassessment_feb_29():
    s = reassessment_due(D(2024, 2, 29), D(2026, 2, 28))
    assert s.due_on == D(2026, 2, 28)
    assert (s.overdue, s.days_left) == (False, 0)
    assert reassessment_due(D(2024, 2, 29), D(2026, 3, 1)).overdue is True


def test_reassessment_accepts_datetimes():
    s = reassessment_due(dt.datetime(2024, 1, 10, 9), dt.datetime(2025, 1, 10, 18))
    assert s.due_on == D(2026, 1, 10)


def test_reassessment_future_assessment_is_an_error():
    with pytest.raises(RuleInputError) as e:
        reassessment_due(D(2026, 12, 1), D(2026, 11, 21))
    assert "2026-12-01" in e.value.message and "2026-11-21" in e.value.message


@pytest.mark.parametrize(("a", "b", "shown"), [
    ("2024-01-01", D(2026, 1, 1), "'2024-01-01'"), (D(2024, 1, 1), None, "（空）"),
    (45000, D(2026, 1, 1), "45,000"),
])
def test_reassessment_non_dates(a, b, shown):
    with pytest.raises(RuleInputError) as e:
        reassessment_due(a, b)
    assert shown in e.value.message


@given(st.dates(D(2000, 1, 1), D(2090, 12, 31)), st.integers(0, 2000))
def test_reassessment_properties(done, delta):
    as_of = done + dt.timedelta(days=delta)
    s = reassessment_due(done, as_of)
    assert s.days_left == (s.due_on - as_of).days
    assert s.overdue == (as_of > s.due_on)
    assert 729 <= (s.due_on - done).days <= 731
