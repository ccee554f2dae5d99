"""One vocabulary of tier names per rulebook (rules.vocabulary), used by the job's validation, the
Excel functions, suitability.normalize_tier and the audit alike (issue 15 "Tier vocabularies
disagree", issue 17 "QUARTER_TIER("A类核心", …) fails")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from branch_files import plain_branch

import udfs
from rules import EXAMPLE_PARAMETERS, RuleInputError, get_rulebook
from rules.suitability import client_class, normalize_tier
from workbook.audit import SEVERE, WARN, audit_file
from workbook.job import rerate
from workbook.xlsxio import SheetEdit, patch_workbook


def set_cells(path: Path, cells: dict[tuple[int, int], str]) -> None:
    patch_workbook(path, path, {"客户": SheetEdit(cells=cells)})


PF = get_rulebook("private-fund", dt.date(2026, 9, 30))
BRK = get_rulebook("brokerage", dt.date(2026, 9, 30))


@pytest.mark.parametrize(("text", "label", "sub"), [
    ("VIP客户", "VIP客户", ""), ("ＶＩＰ", "VIP客户", ""), (" vip ", "VIP客户", ""),
    ("一类", "VIP客户", ""), ("一类客户", "VIP客户", ""), ("VIP客户（一类）", "VIP客户", ""),
    ("核心", "核心客户", ""), ("二类", "核心客户", ""),
    ("A类核心", "核心客户", "A类核心"), ("ａ类核心", "核心客户", "A类核心"),
    ("B类核心客户", "核心客户", "B类核心"), ("普 通", "普通客户", ""),
])
def test_private_fund_names(text: str, label: str, sub: str) -> None:
    assert PF.tier_of(text) == (label, sub)
    assert PF.normalize_label(text) == label
    assert normalize_tier(text) == label  # suitability reads seed 001's names


def test_sub_classes_belong_to_their_rulebook() -> None:
    assert BRK.normalize_label("ＶＩＰ") == "VIP客户"
    with pytest.raises(RuleInputError) as e:
        BRK.normalize_label("A类核心")
    assert "brokerage@2009.1" in e.value.message and e.value.kind == "na"
    assert PF.vocabulary.describe() == "VIP客户、核心客户（A类核心、B类核心）、潜力客户、普通客户"
    with pytest.raises(RuleInputError) as e:
        normalize_tier("金牌")
    assert "A类核心" in e.value.message and "private-fund@" in e.value.message


def test_excel_functions_use_the_rulebook_names() -> None:
    # held A类核心 = 核心客户; computed (日均资产 300,000, fee 0) 普通客户 -> kept 核心客户
    assert udfs.QUARTER_TIER("A类核心", 300_000, 0, "private-fund") == "核心客户"
    assert udfs.QUARTER_TIER("ＶＩＰ", 300_000, 0) == "VIP客户"
    assert udfs.QUARTER_TIER("A类核心", 300_000, 0).startswith("#N/A 未知的现有级别：'A类核心'")
    assert udfs.CLIENT_CLASS("ＶＩＰ", "稳健") == "VIP客户·稳健型"
    assert udfs.CLIENT_CLASS("A类核心", "保守型") == "核心客户·保守型"
    assert client_class("B类核心客户", "积极型") == "核心客户·进取型"
    assert udfs.SERVICE_PACKAGE("ＶＩＰ") == "财务通"


def test_job_accepts_what_client_class_accepts(tmp_path: Path) -> None:
    header = ["客户编号", "日均资产", "上年度管理费", "当前级别", "特别调整级别", "调整审批人"]
    rows = [["P1", 300_000, 0, "ＶＩＰ", None, None],       # kept VIP (就高不就低)
            ["P2", 300_000, 0, "A类核心", None, None],      # kept 核心客户
            ["P3", 300_000, 0, None, "ｖｉｐ", "王总"],      # override VIP
            ["P4", 300_000, 0, "金牌", None, None]]         # unknown: rejected
    p = plain_branch(tmp_path / "pf.xlsx", rows, header)
    for text in ("ＶＩＰ", "A类核心"):  # CLIENT_CLASS takes them …
        assert not udfs.CLIENT_CLASS(text, "稳健").startswith("#")
    res = rerate(p, period="2026Q3", mode="quarterly", rulebook="private-fund", operator="t",
                 now=dt.datetime(2026, 10, 9))
    assert [r[1] for r in res.rejections] == ["P4"]  # … and so does the job
    assert "A类核心" in res.rejections[0][4]  # the message lists the names it knows
    after = {c.client_id: c.after for c in res.changes}
    assert after == {"P1": "VIP客户", "P2": "核心客户", "P3": "VIP客户"}


def test_audit_compares_tiers_in_the_runs_rulebook(tmp_path: Path, monkeypatch) -> None:
    # wealth names 钻石 also 钻石级: a tier cell written 钻石级 is the logged 钻石 (an alias,
    # not a tier typed over — the run's 级别摘要 still says the cell was edited); the brokerage
    # names have no A类核心.
    monkeypatch.setenv("CLIENT_RATING_PARAMS", str(EXAMPLE_PARAMETERS))
    header = ["客户编号", "资产规模", "年贡献度", "当前级别"]
    p = plain_branch(tmp_path / "w.xlsx", [["W1", 2e7, 2e5, None], ["W2", 1e6, 6e3, None]],
                     header)
    rerate(p, period="2026Q3", mode="quarterly", rulebook="wealth", operator="t",
           now=dt.datetime(2026, 10, 9))
    set_cells(p, {(2, 4): "钻石级"})
    res = audit_file(p, as_of=dt.date(2026, 11, 21))
    assert [(f.kind, f.severity) for f in res.findings if f.address == "客户!D2"] == [
        ("tier_alias", "提示")]

    header = ["客户编号", "资产权益", "上年度净佣金", "当前级别"]
    p = plain_branch(tmp_path / "b.xlsx", [["B1", 300_000, 0, None]], header)
    rerate(p, period="2026Q3", mode="quarterly", operator="t", now=dt.datetime(2026, 10, 9))
    set_cells(p, {(2, 4): "A类核心"})
    res = audit_file(p, as_of=dt.date(2026, 11, 21))
    assert "tier_alias" not in [f.kind for f in res.findings if f.address == "客户!D2"]
    assert [f for f in res.findings if f.address == "客户!D2" and f.severity in (SEVERE, WARN)]
