"""Every rule of every shipped rulebook at and around its boundaries.

Expected values are derived by hand from the policy text (POLICY.md and the seeds), written out
here as tables — never computed by the code under test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from rules import (
    EXAMPLE_PARAMETERS,
    ParameterMissingError,
    RuleInputError,
    get_rulebook,
    load_parameter_file,
)

# R1 brokerage, seed 000 第三条: VIP > 1000万; 核心 25万(含)–1000万, or 佣金 ≥ 5000 and 10万(含)–25万;
# 潜力 10万(含)–25万, or 3000 ≤ 佣金 < 5000 and 1万(含)–10万; 普通 everything else.
BROKERAGE = [
    # assets, commission, label, rule
    (10_000_000.01, 0, "VIP客户", "BRK-VIP-1"),
    (10_000_001, 0, "VIP客户", "BRK-VIP-1"),
    (10_000_000, 0, "普通客户", "BRK-ORD-1"),  # literal gap: neither > 1000万 nor < 1000万
    (10_000_000, 1_000_000, "普通客户", "BRK-ORD-1"),
    (9_999_999.99, 0, "核心客户", "BRK-CORE-1"),
    (250_000, 0, "核心客户", "BRK-CORE-1"),
    (249_999.99, 0, "潜力客户", "BRK-POT-1"),
    (249_999.99, 5_000, "核心客户", "BRK-CORE-2"),
    (249_999.99, 4_999.99, "潜力客户", "BRK-POT-1"),
    (100_000, 5_000, "核心客户", "BRK-CORE-2"),
    (100_000, 4_999.99, "潜力客户", "BRK-POT-1"),
    (100_000, 0, "潜力客户", "BRK-POT-1"),
    (99_999.99, 5_000, "普通客户", "BRK-ORD-1"),  # 佣金 ≥ 5000 but assets < 10万: no rule
    (99_999.99, 4_999.99, "潜力客户", "BRK-POT-2"),
    (99_999.99, 3_000, "潜力客户", "BRK-POT-2"),
    (99_999.99, 2_999.99, "普通客户", "BRK-ORD-1"),
    (10_000, 3_000, "潜力客户", "BRK-POT-2"),
    (9_999.99, 3_000, "普通客户", "BRK-ORD-1"),
    (55_000, 5_000, "普通客户", "BRK-ORD-1"),  # non-monotone step of the literal text
    (0, 0, "普通客户", "BRK-ORD-1"),
]


@pytest.mark.parametrize(("assets", "commission", "label", "rule"), BROKERAGE)
def test_brokerage_tiers(assets, commission, label, rule):
    d = get_rulebook("brokerage", dt.date(2026, 12, 31)).evaluate(assets, commission)
    assert (d.label, d.rule_id, d.rulebook_ref) == (label, rule, "brokerage@2009.1")


def test_brokerage_codes_services_visits():
    rb = get_rulebook("brokerage")
    # seed 000 第三条 codes; 第四、五条 products; 第四条 visits ≥ 1/yr for VIP and 核心
    assert [(o.label, o.code, o.service, o.visits_per_year) for o in rb.outputs] == [
        ("VIP客户", "一类", "财务通", 1), ("核心客户", "二类", "财富通", 1),
        ("潜力客户", "三类", "财路通", 0), ("普通客户", "四类", "基础服务", 0)]
    assert rb.service_product("普通客户", opened_this_year=True) == "财路通"
    assert rb.service_product("普通客户") == "基础服务"
    assert rb.service_product("核心客户", opened_this_year=True) == "财富通"


def test_reason_names_numbers_bounds_rule_and_version():
    d = get_rulebook("brokerage").evaluate(assets=300_000, commission=0)
    assert d.reason == ("资产权益 300,000 元 ≥ 250,000 且 < 10,000,000 → 核心客户 "
                        "(BRK-CORE-1, brokerage@2009.1)")
    d = get_rulebook("brokerage").evaluate(150_000, 6_000)
    assert "资产权益 150,000 元 ≥ 100,000 且 < 250,000" in d.reason
    assert "上年度净佣金 6,000 元 ≥ 5,000" in d.reason
    d = get_rulebook("brokerage").evaluate(10_000_000, 0)
    assert d.reason.startswith("资产权益 10,000,000 元，上年度净佣金 0 元，不满足")
    assert d.reason.endswith("→ 普通客户 (BRK-ORD-1, brokerage@2009.1)")


# R2 private-fund, seed 001 第八条: VIP 日均资产 > 500万 or 管理费 ≥ 5万; A类核心 1万(含) ≤ 管理费 < 5万;
# B类核心 50万(含) ≤ 日均资产 < 500万 and 管理费 < 1万; 普通 everything else.
PRIVATE_FUND = [
    (5_000_000.01, 0, "VIP客户", "", "PF-VIP-1"),
    (5_000_000, 0, "普通客户", "", "PF-ORD-1"),  # literal gap
    (5_000_000, 9_999.99, "普通客户", "", "PF-ORD-1"),
    (5_000_000, 10_000, "核心客户", "A类核心", "PF-CORE-A"),
    (0, 50_000, "VIP客户", "", "PF-VIP-2"),
    (0, 49_999.99, "核心客户", "A类核心", "PF-CORE-A"),
    (0, 10_000, "核心客户", "A类核心", "PF-CORE-A"),
    (0, 9_999.99, "普通客户", "", "PF-ORD-1"),
    (4_999_999.99, 9_999.99, "核心客户", "B类核心", "PF-CORE-B"),
    (500_000, 0, "核心客户", "B类核心", "PF-CORE-B"),
    (499_999.99, 0, "普通客户", "", "PF-ORD-1"),
]


@pytest.mark.parametrize(("assets", "fee", "label", "sub", "rule"), PRIVATE_FUND)
def test_private_fund_tiers(assets, fee, label, sub, rule):
    d = get_rulebook("private-fund").evaluate(assets, fee)
    assert (d.label, d.sub_class, d.rule_id) == (label, sub, rule)


def test_private_fund_service_matrix_and_visits():
    rb = get_rulebook("private-fund")
    # 第十八条 / 附件对照表: VIP ≥ 2 visits, 核心 ≥ 1; 普通 product service only
    assert rb.visits_per_year("VIP客户") == 2
    assert rb.visits_per_year("核心客户") == 1
    assert rb.visits_per_year("普通客户") == 0
    assert rb.output("普通客户").services == ("产品服务",)
    core = rb.output("核心客户").services
    assert {"免费研究资讯", "专属客户经理"} <= set(core)
    vip = rb.output("VIP客户").services
    assert set(core) < set(vip) and "定制服务" in vip


# seed 001 第五条 table: 保守型 9–40, 稳健型 41–75, 积极(进取)型 76–100
@pytest.mark.parametrize(("score", "label"), [
    (9, "保守型"), (40, "保守型"), (41, "稳健型"), (75, "稳健型"), (76, "进取型"), (100, "进取型")])
def test_risk_class(score, label):
    assert get_rulebook("risk-class").evaluate(score).label == label


@pytest.mark.parametrize(("score", "text"), [
    (8, "须在 9–100 之间：8"), (101, "须在 9–100 之间：101"), (40.5, "须为整数：40.5"),
    (float("nan"), "NaN"), (None, "为空")])
def test_risk_class_rejects(score, text):
    with pytest.raises(RuleInputError, match=text):
        get_rulebook("risk-class").evaluate(score)


def test_risk_class_accepts_jijixing_as_input():
    assert get_rulebook("risk-class").normalize_label("积极型") == "进取型"


# R3 reconstructed default (POLICY.md): high/low turnover (threshold 3, inclusive "≥") per band
ASSET_TURNOVER = [
    (5_000_000, 3, "A+"), (5_000_000, 2.99, "B+"), (4_999_999.99, 3, "A"), (1_000_000, 2.99, "B"),
    (999_999.99, 3, "C"), (500_000, 0, "D"), (499_999.99, 3, "C-"), (100_000, 1, "D-"),
    (99_999.99, 3, "E"), (10_000, 0, "F"), (9_999.99, 100, "G"), (0, 0, "G")]


@pytest.mark.parametrize(("assets", "turnover", "label"), ASSET_TURNOVER)
def test_asset_turnover(assets, turnover, label):
    rb = get_rulebook("asset-turnover")
    assert rb.evaluate(assets, turnover).label == label
    assert rb.assumption  # the table is a reconstruction and says so


def test_asset_turnover_threshold_is_a_parameter():
    rb = get_rulebook("asset-turnover", parameters={"turnover_threshold": 5})
    assert rb.evaluate(2_000_000, 4).label == "B"
    assert rb.evaluate(2_000_000, 5).label == "A"


def test_wealth_refuses_without_thresholds_and_names_them():
    with pytest.raises(ParameterMissingError) as e:
        get_rulebook("wealth")
    assert "diamond_assets" in str(e.value) and "CLIENT_RATING_PARAMS" in str(e.value)
    assert len(str(e.value)) <= 255  # shown whole in an Excel cell
    assert set(e.value.missing) == {"diamond_assets", "diamond_contribution", "platinum_assets",
                                    "platinum_contribution", "gold_assets", "gold_contribution"}


def test_wealth_with_example_parameters():
    params = load_parameter_file(EXAMPLE_PARAMETERS)["wealth"]
    rb = get_rulebook("wealth", parameters=params)
    # example: 钻石 ≥ 1000万 and > 10万; 白金 ≥ 300万 and ≥ 3万; 黄金 ≥ 50万 and ≥ 5000
    assert rb.evaluate(10_000_000, 100_000.01).label == "钻石"
    assert rb.evaluate(10_000_000, 100_000).label == "白金"  # 贡献 must exceed (超过)
    assert rb.evaluate(3_000_000, 30_000).label == "白金"
    assert rb.evaluate(2_999_999, 30_000).label == "黄金"
    assert rb.evaluate(500_000, 4_999).label == "普通"
    assert [rb.visits_per_year(t) for t in ("钻石", "白金", "黄金", "普通")] == [12, 4, 2, 1]
    assert rb.upgrade_only is False


# R4: R ≤7 → 5; 8–30 → 4; 31–60 → 3; 61–120 → 2; > 120 → 1
@pytest.mark.parametrize(("days", "score"), [
    (0, "5"), (7, "5"), (8, "4"), (30, "4"), (31, "3"), (60, "3"), (61, "2"), (120, "2"),
    (121, "1"), (1000, "1")])
def test_rfm_recency(days, score):
    assert get_rulebook("rfm-recency").evaluate(days).label == score


@pytest.mark.parametrize(("rid", "value", "score"), [
    ("rfm-frequency", 50, "5"), ("rfm-frequency", 49, "4"), ("rfm-frequency", 20, "4"),
    ("rfm-frequency", 19, "3"), ("rfm-frequency", 10, "3"), ("rfm-frequency", 9, "2"),
    ("rfm-frequency", 3, "2"), ("rfm-frequency", 2, "1"), ("rfm-frequency", 0, "1"),
    ("rfm-monetary", 50_000, "5"), ("rfm-monetary", 49_999.99, "4"), ("rfm-monetary", 10_000, "4"),
    ("rfm-monetary", 9_999.99, "3"), ("rfm-monetary", 3_000, "3"), ("rfm-monetary", 2_999.99, "2"),
    ("rfm-monetary", 500, "2"), ("rfm-monetary", 499.99, "1")])
def test_rfm_frequency_monetary_defaults(rid, value, score):
    rb = get_rulebook(rid)
    assert rb.evaluate(value).label == score
    assert rb.assumption  # shipped defaults, marked


@pytest.mark.parametrize(("value", "message"), [
    (-1, "资产权益不能为负数：-1"), (float("inf"), "资产权益不是有限数字：无穷大"),
    (float("nan"), "资产权益不是有效数字：NaN"), ("25万", "资产权益不是数字：'25万'"),
    (True, "资产权益不是数字：TRUE"), (None, "资产权益为空")])
def test_invalid_inputs_never_give_a_tier(value, message):
    with pytest.raises(RuleInputError) as e:
        get_rulebook("brokerage").evaluate(value, 0)
    assert e.value.message == message


def test_empty_commission_counts_as_zero_but_negative_is_rejected():
    rb = get_rulebook("brokerage")
    assert rb.evaluate(300_000, None).label == "核心客户"
    with pytest.raises(RuleInputError, match=r"上年度净佣金不能为负数：-0\.01"):
        rb.evaluate(300_000, -0.01)


def test_labels_short_forms_and_codes():
    rb = get_rulebook("brokerage")
    for text in ("核心客户", "核心", " 核心 ", "二类"):
        assert rb.normalize_label(text) == "核心客户"
    assert rb.normalize_label("vip") == "VIP客户"
    with pytest.raises(RuleInputError, match="未知的级别：'金牌'") as e:
        rb.normalize_label("金牌")
    assert e.value.kind == "na"


def test_unknown_rulebook():
    with pytest.raises(RuleInputError, match="未知的规则：'nope'"):
        get_rulebook("nope")


def test_which_rulebooks_rate_tiers_has_one_answer():
    from rules import rates_tiers, tier_rulebook_ids, versions

    assert tier_rulebook_ids() == ["brokerage", "private-fund", "wealth"]
    assert not rates_tiers(versions("asset-turnover")[-1])  # two inputs, but not a tier
    assert not rates_tiers(versions("risk-class")[-1])


def test_every_toml_data_file_is_read_by_one_reader_with_one_message(tmp_path):
    import pytest

    from rules import RulebookError, load_file, load_parameter_file

    bad = tmp_path / "bad.toml"
    bad.write_text("id = [", encoding="utf-8")
    for load, what in ((load_file, "规则文件"), (load_parameter_file, "参数文件")):
        with pytest.raises(RulebookError) as e:
            load(bad)
        assert str(e.value).startswith(f"无法读取{what} {bad}：不是有效的 TOML")
