"""Plain-Python tests of every catalogue function, per rulebook, expected values derived by hand
from /work/shared/spec/POLICY.md (the derivation is in the comment next to each case)."""

import datetime as dt
import math

import pytest

import udfs
from rules import EXAMPLE_PARAMETERS
from rules.functions import CATALOGUE


@pytest.fixture
def wealth_params(monkeypatch):
    """The example firm thresholds of rules/data/wealth/example-parameters.toml: 钻石 assets ≥ 1000万
    and contribution > 10万; 白金 ≥ 300万 and ≥ 3万; 黄金 ≥ 50万 and ≥ 5,000."""
    monkeypatch.setenv("CLIENT_RATING_PARAMS", str(EXAMPLE_PARAMETERS))


# ------------------------------------------------------------------------------ CLIENT_TIER

# R1 brokerage: VIP assets > 10,000,000; 核心 250,000 ≤ a < 10,000,000, or commission ≥ 5,000 and
# 100,000 ≤ a < 250,000; 潜力 100,000 ≤ a < 250,000, or 3,000 ≤ c < 5,000 and 10,000 ≤ a < 100,000;
# else 普通.
BROKERAGE = [
    (10_000_001, 0, "VIP客户"),      # > 10M
    (10_000_000, 0, "普通客户"),     # literal gap: not > 10M, not < 10M -> default
    (9_999_999, 0, "核心客户"),      # 250k ≤ a < 10M
    (250_000, 0, "核心客户"),        # 25万（含）
    (249_999, 5_000, "核心客户"),    # commission ≥ 5,000 and 10万 ≤ a < 25万
    (249_999, 4_999, "潜力客户"),    # 10万 ≤ a < 25万
    (100_000, 0, "潜力客户"),        # 10万（含）
    (99_999, 4_999, "潜力客户"),     # 3,000 ≤ c < 5,000 and 1万 ≤ a < 10万
    (99_999, 5_000, "普通客户"),     # non-monotone step of the literal text
    (10_000, 3_000, "潜力客户"),     # both lower bounds inclusive
    (9_999, 3_000, "普通客户"),      # assets below 1万
    (0, 0, "普通客户"),
]


@pytest.mark.parametrize(("assets", "commission", "tier"), BROKERAGE)
def test_client_tier_brokerage(assets, commission, tier):
    assert udfs.CLIENT_TIER(assets, commission) == tier
    assert udfs.CLIENT_TIER(float(assets), float(commission), "brokerage") == tier


# R2 private-fund: VIP assets > 5,000,000 or fee ≥ 50,000; 核心(A) 10,000 ≤ fee < 50,000;
# 核心(B) 500,000 ≤ assets < 5,000,000 and fee < 10,000; else 普通 (no 潜力 criteria).
PRIVATE_FUND = [
    (5_000_001, 0, "VIP客户"),
    (5_000_000, 0, "普通客户"),      # literal gap: not > 5M, not < 5M
    (0, 50_000, "VIP客户"),          # fee 5万（含）
    (0, 49_999, "核心客户"),         # A类核心
    (0, 10_000, "核心客户"),         # A类核心, lower bound inclusive
    (5_000_000, 10_000, "核心客户"),  # A类核心 rescues the gap
    (500_000, 9_999, "核心客户"),    # B类核心
    (499_999, 9_999, "普通客户"),
    (4_999_999, 0, "核心客户"),      # B类核心
]


@pytest.mark.parametrize(("assets", "fee", "tier"), PRIVATE_FUND)
def test_client_tier_private_fund(assets, fee, tier):
    assert udfs.CLIENT_TIER(assets, fee, "private-fund") == tier
    assert udfs.CLIENT_TIER(assets, fee, "私募") == tier  # Chinese alias of the rulebook


@pytest.mark.parametrize(("assets", "contribution", "tier"), [
    (10_000_000, 100_001, "钻石"),   # ≥ 1000万 and > 10万
    (10_000_000, 100_000, "白金"),   # contribution not > 10万 -> ≥ 300万 and ≥ 3万
    (3_000_000, 30_000, "白金"),
    (2_999_999, 1_000_000, "黄金"),  # ≥ 50万 and ≥ 5,000
    (500_000, 5_000, "黄金"),
    (500_000, 4_999, "普通"),
    (499_999, 1_000_000, "普通"),
])
def test_client_tier_wealth_with_firm_parameters(wealth_params, assets, contribution, tier):
    assert udfs.CLIENT_TIER(assets, contribution, "wealth") == tier


def test_client_tier_wealth_without_parameters_refuses(monkeypatch):
    monkeypatch.delenv("CLIENT_RATING_PARAMS", raising=False)
    out = udfs.CLIENT_TIER(20_000_000, 1_000_000, "wealth")
    assert out.startswith("#N/A 规则 wealth@2024.1 未设置阈值")
    assert out.endswith("CLIENT_RATING_PARAMS）")  # the whole message fits in a cell
    assert len(out) <= 255
    column = udfs.CLIENT_TIER([[1.0], [2.0]], [[0.0], [0.0]], "wealth")
    assert [r[0][:28] for r in column] == [out[:28]] * 2


@pytest.mark.parametrize(("assets", "commission", "expected"), [
    ("25万", "", "核心客户"),             # text with 万; empty commission = 0
    ("25万", None, "核心客户"),
    (" 1,000,000 ", 0.0, "核心客户"),
    ("1001万", None, "VIP客户"),
    ("１０万", "５０００", "核心客户"),       # full-width: 100,000 and 5,000
    (-1, 0, "#VALUE! 资产权益不能为负数：-1"),
    (None, 0, "#N/A 资产权益为空"),
    ("", 0, "#N/A 资产权益为空"),
    (True, 0, "#VALUE! 资产权益不是数字：TRUE"),
    (dt.datetime(2024, 1, 1), 0, "#VALUE! 资产权益是日期，不是数字：2024-01-01"),
    ("abc", 0, "#VALUE! 资产权益不是数字：'abc'"),
    (100_000, -5, "#VALUE! 上年度净佣金不能为负数：-5"),
    (100_000, "#DIV/0!", "#N/A 上年度净佣金单元格为错误值：#DIV/0!"),
    (math.nan, 0, "#VALUE! 资产权益不是有效数字：NaN"),
])
def test_client_tier_real_cells(assets, commission, expected):
    assert udfs.CLIENT_TIER(assets, commission) == expected


def test_client_tier_infinite():
    assert udfs.CLIENT_TIER(math.inf, 0).startswith("#VALUE! 资产权益")  # wording is rules/'s


def test_client_tier_unknown_or_wrong_rulebook():
    assert udfs.CLIENT_TIER(1, 0, "nope").startswith("#N/A 未知的规则：'nope'")
    assert udfs.CLIENT_TIER(1, 0, "risk-class").startswith("#N/A 规则 risk-class 不是客户分级规则")
    assert udfs.CLIENT_TIER(1, 0, None) == "普通客户"  # empty rulebook cell -> default


def test_client_tier_column_with_per_cell_errors():
    assets = [[250_000.0], [None], ["25万"], [-1.0], [True], [10_000_000.0], [99_999.0]]
    comm = [[0.0], [0.0], [None], [0.0], [0.0], [None], [5_000.0]]
    assert udfs.CLIENT_TIER(assets, comm) == [
        ["核心客户"], ["#N/A 资产权益为空"], ["核心客户"], ["#VALUE! 资产权益不能为负数：-1"],
        ["#VALUE! 资产权益不是数字：TRUE"], ["普通客户"], ["普通客户"]]


def test_client_tier_vector_path_equals_scalar_path():
    cells_a = [250_000.0, 1e8, None, "x", -3.0, 99_999.0, "30万", 10_000.0, math.nan, False, 5e6]
    cells_c = [0.0, None, 0.0, 1.0, 0.0, 4_000.0, "", -1.0, 0.0, 0.0, "#N/A"]
    for rb in ("brokerage", "private-fund"):
        column = udfs.CLIENT_TIER([[a] for a in cells_a], [[c] for c in cells_c], rb)
        assert column == [[udfs.CLIENT_TIER(a, c, rb)] for a, c in zip(cells_a, cells_c, strict=True)]
        explained = udfs.TIER_EXPLAIN([[a] for a in cells_a], [[c] for c in cells_c], rb)
        assert explained == [[udfs.TIER_EXPLAIN(a, c, rb)] for a, c in zip(cells_a, cells_c, strict=True)]


def test_client_tier_2d_range_and_broadcasting():
    # a 2×2 block of assets with one commission for all, and a rulebook per row
    assert udfs.CLIENT_TIER([[250_000.0, 0.0], [5_000_001.0, -1.0]], 0.0) == [
        ["核心客户", "普通客户"], ["核心客户", "#VALUE! 资产权益不能为负数：-1"]]
    assert udfs.CLIENT_TIER([[5_000_001.0], [5_000_001.0]], [[0.0]],
                            [["brokerage"], ["private-fund"]]) == [["核心客户"], ["VIP客户"]]
    assert udfs.CLIENT_TIER([[1.0], [2.0]], [[0.0], [0.0]], [["brokerage"], ["nope"]])[1][0] \
        .startswith("#N/A 未知的规则")
    # a single cell given as [[v]] (ndim=2) shows a scalar, not a 1×1 array
    assert udfs.CLIENT_TIER([[250_000.0]], [[0.0]], [["brokerage"]]) == "核心客户"
    # mismatched ranges: one error for the call
    assert udfs.CLIENT_TIER([[1.0], [2.0], [3.0]], [[0.0], [0.0]]).startswith("#VALUE! 参数")


# ------------------------------------------------------------------------------ TIER_EXPLAIN

def test_tier_explain():
    assert udfs.TIER_EXPLAIN(300_000, None) == (
        "资产权益 300,000 元 ≥ 250,000 且 < 10,000,000 → 核心客户 (BRK-CORE-1, brokerage@2009.1)")
    gap = udfs.TIER_EXPLAIN(10_000_000, 0)
    assert "BRK-ORD-1" in gap and "普通客户" in gap and "brokerage@2009.1" in gap
    pf = udfs.TIER_EXPLAIN(0, 10_000, "private-fund")
    assert "PF-CORE-A" in pf and "A类核心" in pf and "private-fund@2024.1" in pf
    assert "10,000" in pf
    assert udfs.TIER_EXPLAIN(-1, 0) == "#VALUE! 资产权益不能为负数：-1"


def test_tier_explain_wealth(wealth_params):
    assert "WLT-DIA-1" in udfs.TIER_EXPLAIN(10_000_000, 100_001, "wealth")


# ------------------------------------------------------------------------------ QUARTER_TIER

@pytest.mark.parametrize(("held", "assets", "rev", "rb", "expected"), [
    ("VIP客户", 300_000, 0, "brokerage", "VIP客户"),   # computed 核心 lower: keep VIP (就高不就低)
    ("普通客户", 300_000, 0, "brokerage", "核心客户"),  # computed higher: upgrade
    ("二类", 100_000, 0, "brokerage", "核心客户"),      # held code 二类 = 核心 > computed 潜力
    ("潜力", 10_000_001, 0, "brokerage", "VIP客户"),
    (None, 100_000, 0, "brokerage", "潜力客户"),        # no tier in force: computed (首次评级)
    ("核心客户", 5_000_000, 0, "private-fund", "核心客户"),  # computed 普通 (gap): keep 核心
    ("普通", 0, 50_000, "private-fund", "VIP客户"),
])
def test_quarter_tier(held, assets, rev, rb, expected):
    assert udfs.QUARTER_TIER(held, assets, rev, rb) == expected


def test_quarter_tier_wealth_moves_down(wealth_params):
    # R5: tiers move up and down at each review, no upgrade-only rule
    assert udfs.QUARTER_TIER("钻石", 500_000, 5_000, "wealth") == "黄金"


def test_quarter_tier_errors_and_column():
    assert udfs.QUARTER_TIER("金牌", 300_000, 0).startswith("#N/A 未知的现有级别：'金牌'")
    assert udfs.QUARTER_TIER("VIP", -1, 0) == "#VALUE! 资产权益不能为负数：-1"
    held = [["VIP"], ["普通"], [None], ["金牌"], ["核心"]]
    assets = [[300_000.0], [300_000.0], [300_000.0], [300_000.0], [None]]
    out = udfs.QUARTER_TIER(held, assets, 0.0)
    assert out == [[udfs.QUARTER_TIER(h[0], a[0], 0.0)] for h, a in zip(held, assets, strict=True)]
    assert [r[0] for r in out[:3]] == ["VIP客户", "核心客户", "核心客户"]


# ------------------------------------------------------------------------------ RISK_CLASS

@pytest.mark.parametrize(("score", "expected"), [
    (9, "保守型"), (40, "保守型"), (41, "稳健型"), (75, "稳健型"), (76, "进取型"), (100, "进取型"),
    ("60", "稳健型"),
    (8, "#VALUE! 风险测评得分须在 9–100 之间：8"),
    (101, "#VALUE! 风险测评得分须在 9–100 之间：101"),
    (40.5, "#VALUE! 风险测评得分须为整数：40.5"),
    (None, "#N/A 风险测评得分为空"),
])
def test_risk_class(score, expected):
    assert udfs.RISK_CLASS(score) == expected


def test_risk_class_column():
    assert udfs.RISK_CLASS([[9.0], [8.0], [76.0]]) == [
        ["保守型"], ["#VALUE! 风险测评得分须在 9–100 之间：8"], ["进取型"]]


# ------------------------------------------------------------------------------ questionnaire

ALL_A = ["A"] * 12                                              # 12 × 1 point = 12
ALL_MAX = list("EDEDCDCCEDCE")                                 # 5+4+5+4+3+4+3+3+5+4+3+5 = 48


def _pts(n: int) -> str:  # RISK_SCORE's result carries its scale (seed 002's questionnaire)
    return f"{n}分（风险承受力调查表）"


def test_risk_score_and_level():
    assert udfs.RISK_SCORE(*ALL_A) == _pts(12)
    assert udfs.RISK_SCORE([ALL_MAX]) == _pts(48)                      # one row range A2:L2
    assert udfs.RISK_SCORE([ALL_A, ALL_MAX]) == [[_pts(12)], [_pts(48)]]  # one client per row
    # question 9 is multiple choice: ACD counts its highest option, D = 4 points -> 11 + 4
    assert udfs.RISK_SCORE(*ALL_A[:8], "ACD", *ALL_A[:3]) == _pts(15)
    assert udfs.RISK_SCORE(*ALL_A[:11], "ACD").startswith("#VALUE! 第12题的答案 'ACD' 无效")
    assert udfs.RISK_SCORE(*ALL_A[:11]).startswith("#VALUE! 问卷应有 12 个答案，收到 11 个")
    assert udfs.RISK_SCORE(*ALL_A[:10], "D", "A").startswith("#VALUE! 第11题的答案 'D' 无效")
    # default bands: 12–20 极低, 21–29 低, 30–38 中, 39–48 高
    assert [udfs.RISK_LEVEL(s) for s in (12, 20, 21, 29, 30, 38, 39, 48)] == \
        ["极低", "极低", "低", "低", "中", "中", "高", "高"]
    assert udfs.RISK_LEVEL(11).startswith("#VALUE! 问卷总分 11 超出可能范围 12–48")
    assert udfs.RISK_LEVEL(30.5) == "#VALUE! 问卷总分须为整数：30.5"
    assert udfs.RISK_LEVEL([[12.0], [48.0]]) == [["极低"], ["高"]]


def test_risk_class_refuses_the_questionnaire_points_of_risk_score():
    # issue 17: all highest answers of seed 002's questionnaire -> 48 points, which RISK_CLASS
    # read as a seed 001 score 48 -> 稳健型. The two scales overlap (12–48 lies in 9–100).
    points = udfs.RISK_SCORE(*ALL_MAX)
    refused = udfs.RISK_CLASS(points)
    assert refused.startswith("#VALUE! 48分（风险承受力调查表） 是 RISK_SCORE 的风险承受力调查表问卷分"
                              "（002，12–48")
    assert "请用 RISK_LEVEL" in refused and "9–100" in refused
    assert udfs.RISK_LEVEL(points) == "高"  # the function that speaks that scale
    assert udfs.RISK_LEVEL(udfs.RISK_SCORE(*ALL_A)) == "极低"
    # whole columns: the same refusal per cell, a bare number is a seed 001 score
    assert udfs.RISK_CLASS([[points], [48.0], [" 30分(风险承受力调查表) "]]) == [
        [refused], ["稳健型"], [udfs.RISK_CLASS(" 30分(风险承受力调查表) ")]]
    assert udfs.RISK_CLASS(" 30分(风险承受力调查表) ").startswith("#VALUE! 30分(风险承受力调查表) 是")
    # the other way round: a 9–100 score outside 12–48 is named as such by RISK_LEVEL
    assert udfs.RISK_LEVEL(60) == ("#VALUE! 问卷总分 60 超出可能范围 12–48（9–100 分的风险测评得分属"
                                   "另一套问卷，对应 保守型/稳健型/进取型）")


# ------------------------------------------------------------------------------ suitability

def test_client_class():
    assert udfs.CLIENT_CLASS("核心", "稳健") == "核心客户·稳健型"
    assert udfs.CLIENT_CLASS("一类", "积极型") == "VIP客户·进取型"
    assert udfs.CLIENT_CLASS(None, "稳健型") == "#N/A 客户级别为空"
    assert udfs.CLIENT_CLASS("核心", "大胆").startswith("#N/A 风险类别 '大胆' 无法识别")
    assert udfs.CLIENT_CLASS([["VIP"], ["普通"]], "保守型") == [["VIP客户·保守型"], ["普通客户·保守型"]]


@pytest.mark.parametrize(("rc", "pr", "ok"), [
    # 第十九条: 保守型 -> low only; 稳健型 -> low, medium; 进取型 -> all
    ("保守型", "低", True), ("保守型", "中", False), ("保守型", "高", False),
    ("稳健型", "中", True), ("稳健型", "高", False), ("进取型", "高", True), ("积极型", "低", True),
])
def test_suitable(rc, pr, ok):
    assert udfs.SUITABLE(rc, pr) is ok
    note = udfs.SUITABILITY_NOTE(rc, pr)
    assert note.startswith("风险匹配" if ok else "风险不匹配")


def test_suitable_errors():
    assert udfs.SUITABLE("保守型", "R3").startswith("#N/A 产品风险等级 'R3' 无法识别")
    assert udfs.SUITABLE([["保守型"], ["进取型"]], "高") == [[False], [True]]
    assert udfs.SUITABLE("大胆", "高").startswith(
        "#N/A 客户风险类别 '大胆' 无法识别：应为 保守型、稳健型、进取型（001 第十九条），或风险承受能力 极低、低、中、高")


def test_suitable_for_seed_002_risk_tolerance_and_fund_risk():
    # issue 17: SUITABLE("极低","低") was refused. Seed 002 第八条: 极低/低/中/高 clients, 高/中/低
    # funds, "销售相应风险等级的基金产品"; the shipped matching: 极低、低 -> 低; 中 -> 低、中; 高 -> all
    levels, funds = ("极低", "低", "中", "高"), ("低", "中", "高")
    got = {lv: [udfs.SUITABLE(lv, f) for f in funds] for lv in levels}
    assert got == {"极低": [True, False, False], "低": [True, False, False],
                   "中": [True, True, False], "高": [True, True, True]}
    # straight from the questionnaire and the fund type
    lv = udfs.RISK_LEVEL(udfs.RISK_SCORE(*ALL_MAX))
    assert udfs.SUITABLE(lv, udfs.FUND_RISK("股票型")) is True
    assert udfs.SUITABLE(udfs.RISK_LEVEL(udfs.RISK_SCORE(*ALL_A)), udfs.FUND_RISK("偏债型")) is False
    assert udfs.SUITABILITY_NOTE("低", "高") == (
        "风险不匹配：风险承受能力低的客户仅适合低风险基金，拟购买高风险基金，"
        "应提供与其风险承受能力相适应的产品（002 第八条）")
    # where the matching is the shipped default rather than the text, the note says so
    assert udfs.SUITABILITY_NOTE("极低", "低") == (
        "风险匹配：风险承受能力极低的客户可购买低风险基金（002 第八条；默认匹配，须公司确认）")
    assert udfs.SUITABILITY_NOTE("高", "中").endswith("（002 第八条；默认匹配，须公司确认）")
    assert udfs.SUITABILITY_NOTE("中", "中") == "风险匹配：风险承受能力中的客户可购买中风险基金（002 第八条）"
    assert udfs.SUITABLE([["极低"], ["保守型"], ["高"]], "中") == [[False], [False], [True]]


@pytest.mark.parametrize(("fund", "level"), [
    ("股票型", "高"), ("指数型基金", "高"), ("灵活配置型", "高"), ("偏债型", "中"), ("普通债券型", "中"),
    ("短债型", "低"), ("保本型", "低"), ("货币市场基金", "低"),
])
def test_fund_risk(fund, level):
    assert udfs.FUND_RISK(fund) == level


def test_fund_risk_unknown():
    assert udfs.FUND_RISK("QDII").startswith("#N/A 基金类型 'QDII' 不在制度列出的类型中")
    assert udfs.FUND_RISK(None) == "#N/A 基金类型为空"


# ------------------------------------------------------------------------------ services

AS_OF = dt.date(2026, 6, 30)


@pytest.mark.parametrize(("tier", "opened", "product"), [
    ("VIP客户", None, "财务通"), ("核心", None, "财富通"), ("潜力客户", None, "财路通"),
    ("普通客户", None, "基础服务"),
    ("普通客户", "2026-01-05", "财路通"),        # opened in the current year -> 财路通
    ("普通客户", dt.datetime(2025, 12, 31), "基础服务"),
    ("核心客户", "2026-01-05", "财富通"),        # 财富通 already includes 财路通
    ("四类", 46027.0, "财路通"),                 # serial 46027 = 2026-01-05
])
def test_service_package_brokerage(tier, opened, product):
    assert udfs.SERVICE_PACKAGE(tier, opened, "brokerage", AS_OF) == product


def test_service_package_private_fund_and_errors():
    assert udfs.SERVICE_PACKAGE("VIP", None, "private-fund", AS_OF) == "VIP客户服务"
    assert udfs.SERVICE_PACKAGE("普通", "2026-01-05", "private-fund", AS_OF) == "产品服务"
    assert udfs.SERVICE_PACKAGE("金牌").startswith("#N/A 未知的客户级别：'金牌'")
    assert udfs.SERVICE_PACKAGE("VIP", "明天").startswith("#VALUE! 开户日期不是有效日期")


@pytest.mark.parametrize(("tier", "rb", "visits"), [
    ("VIP客户", "brokerage", 1), ("核心", "brokerage", 1), ("潜力", "brokerage", 0), ("普通", "brokerage", 0),
    ("VIP", "private-fund", 2), ("核心", "private-fund", 1), ("普通", "private-fund", 0),
    ("钻石", "wealth", 12), ("白金", "wealth", 4), ("黄金级", "wealth", 2), ("普通", "wealth", 1),
])
def test_visits_per_year(tier, rb, visits, monkeypatch):
    monkeypatch.delenv("CLIENT_RATING_PARAMS", raising=False)  # labels need no thresholds
    assert udfs.VISITS_PER_YEAR(tier, rb) == visits


# ------------------------------------------------------------------------------ segments

@pytest.mark.parametrize(("assets", "turnover", "cls"), [
    # reconstruction: high (≥ 3) / low turnover: ≥500万 A+/B+; 100–500万 A/B; 50–100万 C/D;
    # 10–50万 C-/D-; 1–10万 E/F; < 1万 G
    (5_000_000, 3, "A+"), (5_000_000, 2.99, "B+"), (4_999_999, 3, "A"), (1_000_000, 0, "B"),
    (999_999, 3, "C"), (500_000, 0, "D"), (499_999, 5, "C-"), (100_000, 0, "D-"),
    (99_999, 3, "E"), (10_000, 0, "F"), (9_999, 100, "G"), ("500万", "3", "A+"),
])
def test_asset_turnover_class(assets, turnover, cls):
    assert udfs.ASSET_TURNOVER_CLASS(assets, turnover) == cls


def test_asset_turnover_threshold_and_column():
    assert udfs.ASSET_TURNOVER_CLASS(5_000_000, 2.5, 2) == "A+"
    assert udfs.ASSET_TURNOVER_CLASS(5_000_000, 2.5) == "B+"
    assert udfs.ASSET_TURNOVER_CLASS([[5e6], [1e6], [-1.0]], [[3.0], [None], [0.0]]) == [
        ["A+"], ["#N/A 资产周转率为空"], ["#VALUE! 资产量不能为负数：-1"]]


# ------------------------------------------------------------------------------ retention (003)

def test_transfer_approval_for_product_accounts():
    # issue 17: 产品 (WORKBOOK.md's third client type) failed. A product account is opened in the
    # product's name by its manager acting under a legal person's authorisation: the seed's 机构客户
    # procedure (003 第八条第2项), hence 营销总监 → 总经理 with an appointment a day ahead.
    top = "柜台人员（或营业部指定人员） → 客户经理 → 营销总监 → 总经理（须提前一天预约）"
    assert udfs.TRANSFER_APPROVAL("普通客户", "产品") == top
    assert udfs.TRANSFER_APPROVAL([["普通客户"], ["普通客户"]], [["产品"], ["个人"]]) == [
        [top], ["柜台人员（或营业部指定人员） → 客户经理"]]
    assert udfs.TRANSFER_APPROVAL("普通客户", "合伙").startswith("#N/A 客户类型 '合伙' 无法识别：应为 个人、机构 或 产品")


def test_transfer_blockers():
    assert udfs.TRANSFER_BLOCKERS(None, None, None, None, None) == "可以办理：第十六条所列不能办理的情形均不存在"
    assert udfs.TRANSFER_BLOCKERS("否", False, 0, "否", None, "否").startswith("可以办理")
    assert udfs.TRANSFER_BLOCKERS("是", None, None, True, None) == (
        "不能办理：当天有委托（已成交或未成交）（第十六条第1项）；新股申购资金未解冻（第十六条第4项）")
    assert udfs.TRANSFER_BLOCKERS("也许", None, None, None, None) == (
        "#VALUE! 当天有委托（已成交或未成交）应为 是/否（TRUE/FALSE）：'也许'")
    assert udfs.TRANSFER_BLOCKERS("#N/A", None, None, None, None).startswith("#N/A 当天有委托")
    assert udfs.TRANSFER_BLOCKERS([["是"], ["否"]], None, None, None, None) == [
        ["不能办理：当天有委托（已成交或未成交）（第十六条第1项）"],
        ["可以办理：第十六条所列不能办理的情形均不存在"]]


def test_follow_up():
    left = dt.date(2026, 12, 2)  # a Wednesday
    assert udfs.FOLLOW_UP("核心客户", "个人", left, left) == (
        "2026-12-02 前：填写《客户转销户工作备忘录》，记载转销户主要原因及联系电话（第三十条）（其后还有 13 步）")
    assert udfs.FOLLOW_UP("核心客户", "个人", left, "2026-12-03").startswith(
        "2026-12-06 前：转出当周内通过上门、电话或其他方式回访")
    assert udfs.FOLLOW_UP("重要客户", "个人", left, "2027-01-10") == (
        "2027-01-31 前：2027年1月内至少与客户交流一次（第三十一条）（其后还有 11 步）")
    assert udfs.FOLLOW_UP("普通客户", "产品", left, "2027-12-01").startswith(
        "2027-12-02 前：机构客户一年内至少上门回访一次")
    assert udfs.FOLLOW_UP("普通客户", "个人", left, "2026-12-03") == (
        "做好后续跟踪服务，定期回访（第三十条；制度未规定频次）")
    assert udfs.FOLLOW_UP("核心客户", "个人", left, "2028-01-01").startswith("回访计划各步期限均已过")
    assert udfs.FOLLOW_UP("核心客户", "个人", None) == "#N/A 转出日期为空"


def test_account_closing():
    assert udfs.ACCOUNT_CLOSING("是", "是", "是", "是", "是") == "应及时销户：第十九条所列事项均已办理完毕"
    assert udfs.ACCOUNT_CLOSING("是", None, "是", "否", True) == (
        "暂不能销户，尚未满足：已办理深圳转托管、与营业部签定的各种协议已履行完毕（第十九条）")


def test_leaving_reason_and_advice():
    assert udfs.LEAVING_REASON("行业内竞争") == "行业内竞争"
    assert udfs.LEAVING_REASON("住址搬迁、交通不便利") == "住址搬迁，交通不便利"
    assert udfs.LEAVING_REASON("其他", "家人要求") == "其他：家人要求"
    assert udfs.LEAVING_REASON("其他").startswith("#N/A 流失原因为“其他”时须写明具体原因")
    assert udfs.LEAVING_REASON("佣金太高").startswith("#N/A 流失原因 '佣金太高' 不是制度列出的原因")
    assert udfs.RETENTION_ADVICE("佣金费率水平较高").endswith("（第二十七条）")
    assert udfs.RETENTION_ADVICE(udfs.LEAVING_REASON("其他", "家人要求")).endswith("（第二十九条）")
    assert udfs.RETENTION_ADVICE("佣金太高").startswith("#N/A 流失原因 '佣金太高' 不是制度列出的原因")


@pytest.mark.parametrize(("days", "freq", "style"), [
    (29, False, "短线"), (30, False, "波段"), (90, None, "波段"), (91, False, "价值"),
    (200, True, "短线"), (200, "是", "短线"),
])
def test_holding_style(days, freq, style):
    assert udfs.HOLDING_STYLE(days, freq) == style


def test_holding_style_errors():
    assert udfs.HOLDING_STYLE(None) == "#N/A 平均持有天数为空"
    # 高/低 is not a yes/no answer to "trades derivatives frequently?"
    assert udfs.HOLDING_STYLE(200, "高").startswith("#VALUE! 频繁衍生品交易应为")
    assert udfs.HOLDING_STYLE(200, "低").startswith("#VALUE! 频繁衍生品交易应为")
    assert udfs.HOLDING_STYLE(200, "否") == udfs.HOLDING_STYLE(200, False)
    assert udfs.HOLDING_STYLE(-1).startswith("#VALUE! 平均持有天数 -1 无效")


@pytest.mark.parametrize(("cur", "fut", "seg"), [
    ("高", "高", "黄金客户"), ("低", "高", "明日之星"), ("高", "低", "维护型"), ("低", "低", "自由型"),
    (True, False, "维护型"),
])
def test_value_segment(cur, fut, seg):
    assert udfs.VALUE_SEGMENT(cur, fut) == seg


def test_value_segment_errors():
    assert udfs.VALUE_SEGMENT(None, "高") == "#N/A 当前价值为空"
    assert udfs.VALUE_SEGMENT("中", "高").startswith("#VALUE! 当前价值应为")


@pytest.mark.parametrize(("r", "f", "m", "code"), [
    # R: ≤7 5; 8–30 4; 31–60 3; 61–120 2; > 120 1.  F default: ≥50 5; 20–49 4; 10–19 3; 3–9 2; <3 1.
    # M default: ≥5万 5; 1万–5万 4; 3千–1万 3; 5百–3千 2; < 5百 1.
    (7, 50, 50_000, "R5F5M5"), (8, 49, 49_999, "R4F4M4"), (30, 20, 10_000, "R4F4M4"),
    (31, 19, 9_999, "R3F3M3"), (60, 10, 3_000, "R3F3M3"), (61, 9, 2_999, "R2F2M2"),
    (120, 3, 500, "R2F2M2"), (121, 2, 499.99, "R1F1M1"),
])
def test_rfm(r, f, m, code):
    assert udfs.RFM(r, f, m) == code


def test_rfm_style_and_errors():
    assert udfs.RFM(31, 10, 3_000, "534") == "333"
    assert udfs.RFM(31, 10, 3_000, 534.0) == "333"   # "534" typed in a cell is a number
    assert udfs.RFM(-1, 10, 3_000).startswith("#VALUE! 距最近交易天数不能为负数")
    assert udfs.RFM(1.5, 10, 3_000).startswith("#VALUE! 距最近交易天数须为整数")


# ------------------------------------------------------------------------------ schedules

def test_transfer_approval():
    # R6: 普通客户 -> counter staff with the account manager; core/institutional -> 营销总监 then
    # 总经理 with an appointment at least one day ahead
    plain = udfs.TRANSFER_APPROVAL("普通客户", "个人")
    assert "客户经理" in plain and "营销总监" not in plain
    core = udfs.TRANSFER_APPROVAL("核心客户", "个人")
    assert core.index("营销总监") < core.index("总经理") and "提前一天预约" in core
    assert "总经理" in udfs.TRANSFER_APPROVAL("普通客户", "机构")
    assert udfs.TRANSFER_APPROVAL(None, "个人") == "#N/A 客户级别为空"


def test_review_due():
    # re-assessed every two years: due on the same day two years later; overdue after it
    assert "今日到期" in udfs.REVIEW_DUE("2024-01-01", "2026-01-01")
    late = udfs.REVIEW_DUE(dt.datetime(2024, 1, 1), dt.datetime(2026, 1, 2))
    assert "2026-01-01" in late and "已逾期 1 天" in late
    assert "尚余 1 天" in udfs.REVIEW_DUE(45292.0, "2025-12-31")   # serial 45292 = 2024-01-01
    assert udfs.REVIEW_DUE(None) == "#N/A 评估日期为空"
    assert udfs.REVIEW_DUE("2027-01-01", "2026-01-01").startswith("#VALUE! 评估日期 2027-01-01 晚于")


def test_rerating_window():
    # 2026Q3: first 3 SSE working days of October; 10-01..10-07 National Day holiday
    assert udfs.RERATING_WINDOW("2026Q3") == "2026Q3 季度评级：2026-10-08 至 2026-10-12（3 个工作日）"
    # "2026-11" typed into a cell becomes the date 2026-11-01: read as that month
    assert udfs.RERATING_WINDOW(dt.datetime(2026, 11, 1), "private-fund") == (
        "2026-11 新开户评级：2026-12-01 至 2026-12-07（5 个工作日）")
    assert udfs.RERATING_WINDOW("2026Q5").startswith("#VALUE! 评级周期 '2026Q5' 的季度 5 无效")
    assert udfs.RERATING_WINDOW(dt.datetime(2026, 11, 15)).startswith("#VALUE! 评级周期不能是具体日期")


def test_rerating_window_is_the_rulebooks():
    # seed 000 第六条（二）3项: new accounts in the first 3 working days; seed 001 第十条第3项: 5
    assert udfs.RERATING_WINDOW("2026-11") == "2026-11 新开户评级：2026-12-01 至 2026-12-03（3 个工作日）"
    assert udfs.RERATING_WINDOW("2026-11", "brokerage") == udfs.RERATING_WINDOW("2026-11")
    assert udfs.RERATING_WINDOW("2026-11", "私募") == (
        "2026-11 新开户评级：2026-12-01 至 2026-12-07（5 个工作日）")
    assert udfs.RERATING_WINDOW("2026Q3", "wealth").startswith(
        "#N/A 规则 wealth@2024.1（财富管理客户服务管理制度）没有规定季度评级的运行时间")


@pytest.mark.parametrize(("period", "window"), [
    ("2026Q4", "2026Q4 季度评级：2027-01-01 至 2027-01-05（3 个工作日）"),
    ("2026", "2026 年度评级：2027-01-01 至 2027-01-14（10 个工作日）"),
    ("2026-12", "2026-12 新开户评级：2027-01-01 至 2027-01-05（3 个工作日）"),
])
def test_rerating_window_beyond_the_calendar_is_an_answer_with_a_warning(period, window):
    # issue 17: these gave "#VALUE! 交易日历只维护到 2026 年"
    got = udfs.RERATING_WINDOW(period)
    assert got.startswith(window + "；注意：交易日历未维护 2027 年的休市安排，窗口按周一至周五推算")
    assert "未扣除法定节假日" in got and "extra_holidays.toml" in got
    assert not got.startswith("#")


@pytest.mark.parametrize("cell", [2026, 2026.0, dt.datetime(1905, 7, 18)])
def test_rerating_window_year_as_a_number(cell):
    # 2026 typed into a cell: the number 2026, or the date 1905-07-18 in a date-formatted cell
    assert udfs.RERATING_WINDOW(cell, "private-fund") == udfs.RERATING_WINDOW("2026", "private-fund")
    assert udfs.RERATING_WINDOW(cell).startswith("2026 年度评级：")


def test_rules_version():
    assert udfs.RULES_VERSION() == "brokerage@2009.1，2009-01-01 至 今 有效"
    assert udfs.RULES_VERSION("private-fund", "2026-06-30") == "private-fund@2024.1，2009-01-01 至 今 有效"
    assert "含重构假设" in udfs.RULES_VERSION("asset-turnover")
    assert udfs.RULES_VERSION("wealth").startswith("wealth@2024.1")  # even without thresholds
    assert udfs.RULES_VERSION("nope").startswith("#N/A 未知的规则")
    assert udfs.RULES_VERSION("brokerage", "2008-12-31").startswith("#N/A 规则 brokerage 在 2008-12-31 没有生效的版本")


# ------------------------------------------------------------------------------ never a traceback

WEIRD = [None, True, "", "x" * 400, math.nan, -math.inf, -1.0, 1e300, "#REF!", object(),
         dt.datetime(1900, 1, 1), [[None, 1.0]], [[1.0], ["x"]]]


@pytest.mark.parametrize("name", CATALOGUE)
def test_never_raises_and_fits_a_cell(name):
    f = getattr(udfs, name)
    import inspect
    n = len([p for p in inspect.signature(f).parameters.values()
             if p.default is inspect.Parameter.empty and p.kind is not p.VAR_POSITIONAL]) or 1
    for v in WEIRD:
        out = f(*([v] * n))
        values = [c for row in out for c in row] if isinstance(out, list) else [out]
        for c in values:
            assert isinstance(c, str | bool | int | float), (name, v, c)
            assert not isinstance(c, str) or len(c) <= 255
            assert not isinstance(c, str) or "Traceback" not in c


def test_quarter_tier_is_the_jobs_rule_an_unknown_tier_in_force_is_never_rated(monkeypatch):
    # one home for 就高不就低 (rules.rerating): a rulebook that moves both ways (wealth) rates
    # the computed tier, but an unknown 现有级别 is bad input there too, as in the job
    from rules import EXAMPLE_PARAMETERS

    monkeypatch.setenv("CLIENT_RATING_PARAMS", str(EXAMPLE_PARAMETERS))
    assert udfs.QUARTER_TIER("钻石", 10, 0, "wealth") == "普通"  # may go down
    assert udfs.QUARTER_TIER("垃圾", 1e7, 1e5, "wealth").startswith("#N/A 未知的现有级别：'垃圾'")
    assert udfs.QUARTER_TIER("普通客户", 300_000, 0) == "核心客户"
    assert udfs.QUARTER_TIER("VIP客户", 300_000, 0) == "VIP客户"  # kept up


def test_risk_class_with_a_tier_rulebook_says_so_not_an_internal_error() -> None:
    """RISK_CLASS(得分, "brokerage"): the rulebook rates two inputs, the function gives one — a
    message naming the rulebook and its inputs, never '内部错误' and never a class."""
    from rules.functions import catalogue

    for got in (catalogue.RISK_CLASS(50, "brokerage"),
                *[r[0] for r in catalogue.RISK_CLASS([[50], [80]], "brokerage")]):
        assert got.startswith("#VALUE! 规则 brokerage@") and "资产权益" in got, got
        assert "内部错误" not in got
