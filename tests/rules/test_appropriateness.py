"""Tests of rules.appropriateness: the 2017 suitability regime, derived by hand from the articles.

办法第八条第（四）项: 机构 净资产 ≥ 2000万 且 金融资产 ≥ 1000万 且 投资经历 ≥ 2 年;
第（五）项: 个人 (金融资产 ≥ 500万 或 近三年年均收入 ≥ 50万) 且 (投资经历 ≥ 2 年 或 工作经历 ≥ 2 年
或 高管/持证会计师律师); 第十一条: 第（四）/（五）项可选择成为普通投资者; 普通投资者申请转化:
机构 1000万/500万/1 年, 个人 300万 或 30万 收入, 1 年; 公司有权不同意.
第十八条: C1→R1, C2→R1–R2, C3→R1–R3, C4→R1–R4, C5→R1–R5; 第十九条: 高于等级须特别书面警示;
第二十二条第（五）项: 最低类别不得销售高于其风险承受能力（R1）的产品.
"""

from __future__ import annotations

import datetime as dt

import pytest

from rules import appropriateness as a
from rules.errors import RulebookError, RuleInputError
from rules.verify import check

D = dt.date
WAN = 10_000


@pytest.fixture(scope="module")
def rg():
    return a.get_regime(as_of=D(2026, 12, 1))


def person(rg, **kw):
    return a.investor_type(rg, client_type="个人", **kw)


def inst(rg, **kw):
    return a.investor_type(rg, client_type="机构", **kw)


# --------------------------------------------------------------------------- 第八条第（五）项


@pytest.mark.parametrize(("fin", "label"), [
    (500 * WAN - 0.01, a.ORDINARY), (4_999_999.994, a.ORDINARY), (4_999_999.995, a.PRO_B),
    (500 * WAN, a.PRO_B), (500 * WAN + 0.01, a.PRO_B)])
def test_individual_financial_assets_500wan_at_the_cent(rg, fin, label):
    d = person(rg, financial_assets=fin, investment_years=2)
    assert d.label == label
    assert "第八条第（五）项" in d.reason and "500万元" in d.reason


@pytest.mark.parametrize(("inc", "label"), [
    (499_999.99, a.ORDINARY), (500_000, a.PRO_B), (500_000.01, a.PRO_B)])
def test_individual_income_50wan_at_the_cent(rg, inc, label):
    assert person(rg, income=inc, work_years=2).label == label


@pytest.mark.parametrize(("inv", "work", "qualified", "label"), [
    (1.99, None, False, a.ORDINARY), (2, None, False, a.PRO_B), (None, 1.99, False, a.ORDINARY),
    (None, 2, False, a.PRO_B), (None, None, True, a.PRO_B), (0, 0, False, a.ORDINARY)])
def test_individual_experience_2_years_or_qualification(rg, inv, work, qualified, label):
    d = person(rg, financial_assets=600 * WAN, investment_years=inv, work_years=work,
               qualified=qualified)
    assert d.label == label


def test_individual_with_money_but_nothing_else_is_ordinary_with_the_figures(rg):
    d = person(rg, financial_assets=10_000_000)
    assert d.label == a.ORDINARY
    assert "投资经历未提供" in d.reason and "第十条" in d.clause and d.ref == "csrc-2017@2017.1"


# --------------------------------------------------------------------------- 第八条第（四）项


@pytest.mark.parametrize(("net", "fin", "years", "label"), [
    (2000 * WAN, 1000 * WAN, 2, a.PRO_B),
    (2000 * WAN - 0.01, 1000 * WAN, 2, a.ORDINARY),
    (2000 * WAN + 0.01, 1000 * WAN, 2, a.PRO_B),
    (2000 * WAN, 1000 * WAN - 0.01, 2, a.ORDINARY),
    (2000 * WAN, 1000 * WAN + 0.01, 2, a.PRO_B),
    (2000 * WAN, 1000 * WAN, 1.99, a.ORDINARY),
    (None, 1000 * WAN, 2, a.ORDINARY)])
def test_institution_2000wan_1000wan_2_years(rg, net, fin, years, label):
    d = inst(rg, net_assets=net, financial_assets=fin, investment_years=years)
    assert d.label == label
    assert "第八条第（四）项" in d.reason


def test_product_client_is_rated_as_an_institution(rg):
    d = a.investor_type(rg, client_type="产品", net_assets=3e7, financial_assets=2e7,
                        investment_years=3)
    assert (d.label, d.code) == (a.PRO_B, "PRO-B-四")


# --------------------------------------------------------------------------- 第八条第（一）–（三）项


@pytest.mark.parametrize(("category", "item"), [
    ("金融机构", "一"), ("一", "一"), ("私募基金管理人", "一"), ("理财产品", "二"), ("2", "二"),
    ("QFII", "三"), ("rqfii", "三"), ("社会保障基金", "三"), ("慈善基金", "三")])
def test_category_a(rg, category, item):
    d = a.investor_type(rg, client_type="机构", category=category)
    assert d.label == a.PRO_A and d.clause == f"办法第八条第（{item}）项"


def test_category_a_cannot_elect_ordinary(rg):
    d = a.investor_type(rg, client_type="机构", category="金融机构", request="申请普通")
    assert d.label == a.PRO_A and "不适用" in d.reason


def test_an_individual_is_never_category_a(rg):
    with pytest.raises(RuleInputError) as e:
        a.investor_type(rg, client_type="个人", category="金融机构")
    assert e.value.field == "专业投资者类别" and "第（五）项" in e.value.message


def test_unknown_category_is_an_error_not_ordinary(rg):
    with pytest.raises(RuleInputError) as e:
        a.investor_type(rg, client_type="机构", category="大公司")
    assert e.value.field == "专业投资者类别" and "大公司" in e.value.message


# --------------------------------------------------------------------------- 第十一条 conversions


def test_professional_b_elects_ordinary(rg):
    d = person(rg, financial_assets=500 * WAN, investment_years=2, request="申请普通")
    assert d.label == a.ORDINARY and d.code == "CONV-TO-ORD" and "第十一条" in d.clause
    d = inst(rg, net_assets=2000 * WAN, financial_assets=1000 * WAN, investment_years=2,
             request="转为普通")
    assert d.label == a.ORDINARY


@pytest.mark.parametrize(("fin", "inc", "years", "eligible"), [
    (300 * WAN, None, 1, True), (300 * WAN - 0.01, None, 1, False),
    (None, 300_000, 1, True), (None, 299_999.99, 1, False), (300 * WAN, None, 0.99, False)])
def test_individual_conversion_thresholds(rg, fin, inc, years, eligible):
    pending = person(rg, financial_assets=fin, income=inc, investment_years=years,
                     request="申请专业")
    assert pending.label == a.ORDINARY  # the firm still assesses and may refuse (第十二条)
    assert pending.code == ("CONV-PENDING" if eligible else "CONV-REFUSED")
    approved = person(rg, financial_assets=fin, income=inc, investment_years=years,
                      request="批准专业")
    assert approved.label == (a.PRO_B if eligible else a.ORDINARY)


@pytest.mark.parametrize(("net", "fin", "years", "eligible"), [
    (1000 * WAN, 500 * WAN, 1, True), (1000 * WAN - 0.01, 500 * WAN, 1, False),
    (1000 * WAN, 500 * WAN - 0.01, 1, False), (1000 * WAN, 500 * WAN, 0.5, False)])
def test_institution_conversion_thresholds(rg, net, fin, years, eligible):
    d = inst(rg, net_assets=net, financial_assets=fin, investment_years=years, request="批准专业")
    assert d.label == (a.PRO_B if eligible else a.ORDINARY)
    assert "1000万元" in d.reason and "500万元" in d.reason


def test_individual_with_work_experience_may_convert(rg):
    d = person(rg, income=300_000, work_years=1, request="批准专业")
    assert (d.label, d.code) == (a.PRO_B, "CONV-TO-PRO")


@pytest.mark.parametrize(("kw", "field"), [
    ({"financial_assets": -1}, "金融资产"), ({"financial_assets": "很多"}, "金融资产"),
    ({"net_assets": float("nan")}, "净资产"), ({"request": "随便"}, "投资者类别申请")])
def test_bad_inputs_name_the_field(rg, kw, field):
    with pytest.raises(RuleInputError) as e:
        person(rg, **kw)
    assert e.value.field == field


def test_unknown_client_type(rg):
    with pytest.raises(RuleInputError) as e:
        a.investor_type(rg, client_type="外星人")
    assert e.value.field == "客户性质"


# --------------------------------------------------------------------------- C-levels


@pytest.mark.parametrize(("score", "level"), [
    (0, "C1"), (19, "C1"), (20, "C2"), (39, "C2"), (40, "C3"), (59, "C3"), (60, "C4"),
    (79, "C4"), (80, "C5"), (100, "C5")])
def test_default_bands(rg, score, level):
    d = a.investor_level(score, regime=rg)
    assert d.label == level and "investor-level@2017.1" in d.reason


@pytest.mark.parametrize("bad", [-1, 101, 50.5, None])
def test_score_outside_the_domain(rg, bad):
    with pytest.raises(RuleInputError):
        a.investor_level(bad, regime=rg)


def test_lowest_is_c1_whatever_the_score(rg):
    d = a.investor_level(95, True, rg)
    assert d.label == "C1（最低类别）" and "不愿承受任何投资损失" in d.reason and "C5" in d.reason
    assert a.investor_level(None, True, rg).label == "C1（最低类别）"


def test_firm_bands_from_parameters(monkeypatch, tmp_path):
    p = tmp_path / "firm.toml"
    p.write_text("[investor-level]\nc2_min = 33\nc3_min = 39\nc4_min = 44\nc5_min = 49\n",
                 encoding="utf-8")
    monkeypatch.setenv("CLIENT_RATING_PARAMS", str(p))
    rg = a.get_regime(as_of=D(2026, 12, 1))
    assert [a.investor_level(s, regime=rg).label for s in (32, 33, 38, 39, 44, 49)] == \
        ["C1", "C2", "C2", "C3", "C4", "C5"]


def test_levels_move_both_ways(rg):
    # 第二十一条: the latest valid assessment decides, up or down (no upgrade-only)
    assert rg.levels.upgrade_only is False
    assert a.investor_level(85, regime=rg).label == "C5"
    assert a.investor_level(25, regime=rg).label == "C2"


def test_band_gap_is_a_finding():
    from rules import get_rulebook

    rb = get_rulebook("investor-level", D(2026, 1, 1),
                      {"c2_min": 20, "c3_min": 50, "c4_min": 40, "c5_min": 80})
    kinds = {f.kind for f in check(rb)}
    assert "unreachable" in kinds or "gap" in kinds
    assert check(get_rulebook("investor-level", D(2026, 1, 1))) == []


# --------------------------------------------------------------------------- matching, 5 x 5


MAX = {"C1": 1, "C2": 2, "C3": 3, "C4": 4, "C5": 5}


@pytest.mark.parametrize("level", list(MAX))
@pytest.mark.parametrize("product", [1, 2, 3, 4, 5])
def test_every_cell_of_the_matching_table(rg, level, product):
    prod = f"R{product}"
    plain = a.match(level, prod, regime=rg)
    warned = a.match(level, prod, True, rg)
    if product <= MAX[level]:
        assert (plain.label, warned.label) == (a.SUITABLE, a.SUITABLE)
        assert "第十八条" in plain.reason
    else:
        assert plain.label == a.NEEDS_WARNING and "第十九条" in plain.reason
        assert warned.label == a.WARNED


@pytest.mark.parametrize("product", [1, 2, 3, 4, 5])
def test_lowest_never_above_r1_even_warned(rg, product):
    for warned in (False, True):
        d = a.match("C1（最低类别）", f"R{product}", warned, rg)
        assert d.label == (a.SUITABLE if product == 1 else a.FORBIDDEN)
    assert "第二十二条第（五）项" in a.match("最低类别", "R2", True, rg).reason


@pytest.mark.parametrize(("text", "parsed"), [
    ("C3", ("C3", False, False)), ("c3级", ("C3", False, False)),
    ("C1（最低类别）", ("C1", True, False)), ("C1(最低)", ("C1", True, False)),
    ("最低类别", ("C1", True, False)), ("专业投资者B", ("", False, True))])
def test_parse_level(text, parsed):
    assert a.parse_level(text) == parsed


@pytest.mark.parametrize(("text", "code"), [("R3", "R3"), ("r5", "R5"), ("R2级", "R2"),
                                            ("中低风险", "R2"), ("高风险", "R5")])
def test_parse_product(text, code):
    assert a.parse_product(text) == code


@pytest.mark.parametrize("bad", ["R6", "中", "高", "", None, 3])
def test_unknown_product_level(bad):
    with pytest.raises(RuleInputError):
        a.parse_product(bad)


def test_professional_matches_everything(rg):
    assert a.match("专业投资者A", "R5", regime=rg).label == a.SUITABLE


# --------------------------------------------------------------------------- expiry


def test_expiry_default_two_years(rg):
    assert a.assessment_status(D(2024, 6, 30), D(2026, 6, 30), rg).valid
    late = a.assessment_status(D(2024, 6, 30), D(2026, 7, 1), rg)
    assert not late.valid and "过期" in late.reason and late.expires_on == D(2026, 6, 30)
    assert a.assessment_status(D(2024, 2, 29), D(2026, 2, 28), rg).valid
    assert not a.assessment_status(D(2024, 2, 29), D(2026, 3, 1), rg).valid


def test_expiry_is_a_firm_setting():
    rg3 = a.get_regime(as_of=D(2026, 12, 1), settings={"valid_years": 3})
    assert a.assessment_status(D(2024, 6, 30), D(2027, 6, 30), rg3).valid
    with pytest.raises(RulebookError):
        a.get_regime(settings={"valid_years": 0})
    with pytest.raises(RulebookError):
        a.get_regime(settings={"no_such": 1})


def test_assessment_after_as_of_is_an_error(rg):
    with pytest.raises(RuleInputError):
        a.assessment_status(D(2027, 1, 1), D(2026, 1, 1), rg)


# --------------------------------------------------------------------------- 2009 classes


def test_legacy_map_default_and_configured():
    rg = a.get_regime(as_of=D(2026, 12, 1))
    assert [a.legacy_level(c, rg).label for c in ("保守型", "稳健", "积极型")] == ["C1", "C3", "C5"]
    rg2 = a.get_regime(as_of=D(2026, 12, 1), settings={"legacy_balanced": 2})
    assert a.legacy_level("稳健型", rg2).label == "C2"


def test_regime_not_in_force_before_2017():
    with pytest.raises(RuleInputError):
        a.get_regime(as_of=D(2017, 6, 30))
    assert a.get_regime(as_of=D(2017, 7, 1)).ref == "csrc-2017@2017.1"


# --------------------------------------------------------------------------- rules check


def _firm_regime(tmp_path, monkeypatch, edit):
    """A firm directory with a later csrc-2017 version whose text ``edit`` changed."""
    src = (a.DATA_DIR / "csrc-2017" / "2017.1.toml").read_text(encoding="utf-8")
    text = edit(src.replace('version = "2017.1"', 'version = "2026.1"')
                .replace("effective_from = 2017-07-01", "effective_from = 2026-01-01"))
    folder = tmp_path / "suitability" / "csrc-2017"
    folder.mkdir(parents=True)
    (folder / "2026.1.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("CLIENT_RATING_RULES_DIR", str(tmp_path))


def test_shipped_regime_has_no_findings(capsys):
    from addin.cli import main
    from rules.verify import check_regime

    assert check_regime(a.get_regime(as_of=D(2026, 12, 1))) == []
    assert main(["rules", "check", "--rulebook", "csrc-2017"]) == 0
    assert "未发现问题" in capsys.readouterr().out


def test_broken_firm_regime_is_reported(tmp_path, monkeypatch, capsys):
    from addin.cli import main

    _firm_regime(tmp_path, monkeypatch, lambda s: s.replace(
        "income_min = 300_000", "income_min = 600_000").replace('C3 = "R3"', 'C3 = "R1"')
        .replace('"稳健型" = "C3"', '"稳健型" = "C5"').replace('"进取型" = "C5"', '"进取型" = "C4"')
        .replace('lowest_max = "R1"', 'lowest_max = "R2"'))
    assert main(["rules", "check", "--rulebook", "csrc-2017", "--as-of", "2026-06-30"]) == 1
    out = capsys.readouterr().out
    assert "个人转化为专业投资者的门槛 income_min = 600,000 高于成为专业投资者的门槛 500,000" in out
    assert "C4 只可购买至 R4" not in out and "C3 只可购买至 R1，低于 C2 的 R2" in out
    assert "最低类别可购买至 R2，高于 C1 的 R1" in out
    assert "进取型 → C4 低于 稳健型 → C5" in out
    assert "版本 2017.1" in out  # the shipped version has no end date: overlap of versions


def test_rules_list_and_show_the_regime(capsys):
    from addin.cli import main

    assert main(["rules", "list"]) == 0
    assert "csrc-2017" in capsys.readouterr().out
    assert main(["rules", "show", "csrc-2017"]) == 0
    out = capsys.readouterr().out
    assert "20,000,000" in out and "C1（最低类别）" in out and "办法第十九条" in out


def test_rules_check_reports_firm_bands_out_of_order(tmp_path, capsys):
    from addin.cli import main

    p = tmp_path / "firm.toml"
    p.write_text("[investor-level]\nc2_min = 20\nc3_min = 60\nc4_min = 40\nc5_min = 80\n",
                 encoding="utf-8")
    assert main(["rules", "check", "--rulebook", "investor-level", "--params", str(p)]) == 1
    out = capsys.readouterr().out
    assert "investor-level@2017.1" in out and ("规则缺口" in out or "不可达" in out)
    assert main(["rules", "check", "--rulebook", "investor-level"]) == 0


def test_a_firm_regime_file_never_replaces_a_shipped_version(tmp_path, monkeypatch):
    """As for the tier rulebooks (docs/rules.md): csrc-2017@2017.1 names one text. A firm copy
    under the same version with another content is refused naming both files (before, it
    silently replaced the shipped text); an identical copy is ignored."""
    src = (a.DATA_DIR / "csrc-2017" / "2017.1.toml").read_text(encoding="utf-8")
    for name, text in (("same", src), ("edited", src.replace("income_min = 300_000",
                                                             "income_min = 600_000"))):
        folder = tmp_path / name / "suitability" / "csrc-2017"
        folder.mkdir(parents=True)
        (folder / "copy.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("CLIENT_RATING_RULES_DIR", str(tmp_path / "same"))
    rg = a.get_regime(as_of=D(2026, 12, 1))
    assert rg.ref == "csrc-2017@2017.1" and rg.path.name == "2017.1.toml"  # the shipped file
    monkeypatch.setenv("CLIENT_RATING_RULES_DIR", str(tmp_path / "edited"))
    with pytest.raises(RulebookError, match=r"适当性规则 csrc-2017@2017\.1 有两个内容不同的文件.*copy\.toml"):
        a.get_regime(as_of=D(2026, 12, 1))
