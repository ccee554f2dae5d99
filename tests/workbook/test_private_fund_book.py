"""Seed 001 in the workbook (issue 17 "Missing from the seeds"): 日均资产 as the larger of last
year's and this year's daily average (第八条), the A/B core sub-class and the 12 classes
(第六条) in the job's columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from branch_files import plain_branch

from workbook.audit import SEVERE, WARN, audit_file
from workbook.job import rerate
from workbook.schema import WorkbookError
from workbook.xlsxio import SheetEdit, patch_workbook, read_sheet

NOW = dt.datetime(2026, 10, 9, 10, 0)


def _table(path: Path) -> dict[str, dict]:
    d = read_sheet(path, "客户")
    return {str(d.value(r, 1)): {h: d.value(r, c) for c, h in enumerate(d.header, 1)}
            for r in range(2, d.n_rows + 1)}


def test_daily_assets_are_the_larger_of_two_years(tmp_path: Path) -> None:
    header = ["客户编号", "上年日均资产", "本年日均资产", "上年度管理费"]
    rows = [["P1", 600_000, 450_000, 0],          # 600,000 (last year): B类核心
            ["P2", None, 6_000_000, 0],           # this year only: VIP
            ["P3", 450_000, "60万", 0],            # 600,000 (this year)
            ["P4", 450_000, 450_000, 0],          # equal: 普通
            ["P5", None, None, 0],                # no figure: rejected
            ["P6", -5, 700_000, 0]]               # a bad figure rejects the row
    p = plain_branch(tmp_path / "pf.xlsx", rows, header)
    res = rerate(p, period="2026Q3", mode="quarterly", rulebook="private-fund", operator="t",
                 now=NOW)
    got = _table(p)
    assert {k: v["当前级别"] for k, v in got.items()} == {
        "P1": "核心客户", "P2": "VIP客户", "P3": "核心客户", "P4": "普通客户", "P5": None,
        "P6": None}
    assert got["P1"]["级别依据"].startswith(
        "日均资产取上年日均资产 600,000 元与本年日均资产 450,000 元中的较大者（上年日均资产）；"
        "日均资产 600,000 元 ≥ 500,000")
    assert got["P2"]["级别依据"].startswith(
        "日均资产取本年日均资产 6,000,000 元（上年日均资产为空）；日均资产 6,000,000 元 > 5,000,000")
    assert "（本年日均资产）" in got["P3"]["级别依据"]
    assert "（两者相等）" in got["P4"]["级别依据"]
    rejected = {r[1]: r for r in res.rejections}
    assert rejected["P5"][2] == "上年日均资产"
    assert rejected["P5"][4] == (
        "第 6 行「上年日均资产」：与「本年日均资产」均为空（必填：日均资产取两者中的较大者）")
    assert rejected["P6"][4] == "第 7 行「上年日均资产」：不能为负数：-5"
    log = {c.client_id: c for c in res.changes}
    assert log["P1"].reason.startswith("日均资产取上年日均资产 600,000 元")
    # the audit reads the sheet the same way: every tier proven, nothing unexplained
    audit = audit_file(p, as_of=dt.date(2026, 11, 21))
    assert not [f for f in audit.findings if f.severity in (SEVERE, WARN)]


def test_the_two_columns_as_headers_vary_and_the_single_column_still_works(tmp_path: Path) -> None:
    p = plain_branch(tmp_path / "a.xlsx", [["P1", 450_000, 600_000, 0]],
                     ["客户编号", " 上年度日均资产 ", "本年度日均资产", "上年度管理费"])
    rerate(p, period="2026Q3", mode="quarterly", rulebook="private-fund", operator="t", now=NOW)
    assert _table(p)["P1"]["当前级别"] == "核心客户"
    p = plain_branch(tmp_path / "u.xlsx", [["P1", 45, 60, 0]],  # a unit in the header scales
                     ["客户编号", "上年日均资产（万元）", "本年日均资产（万元）", "上年度管理费"])
    rerate(p, period="2026Q3", mode="quarterly", rulebook="private-fund", operator="t", now=NOW)
    assert _table(p)["P1"]["级别依据"].startswith(
        "日均资产取上年日均资产（万元） 450,000 元与本年日均资产（万元） 600,000 元中的较大者")
    p = plain_branch(tmp_path / "b.xlsx", [["P1", 600_000, 0]], ["客户编号", "日均资产", "上年度管理费"])
    rerate(p, period="2026Q3", mode="quarterly", rulebook="private-fund", operator="t", now=NOW)
    assert _table(p)["P1"]["当前级别"] == "核心客户"
    assert _table(p)["P1"]["级别依据"].startswith("日均资产 600,000 元")


def test_both_forms_or_half_of_one_refuse_the_run(tmp_path: Path) -> None:
    p = plain_branch(tmp_path / "a.xlsx", [["P1", 1, 2, 3, 0]],
                     ["客户编号", "日均资产", "上年日均资产", "本年日均资产", "上年度管理费"])
    before = p.read_bytes()
    with pytest.raises(WorkbookError, match="既有“日均资产”列，又有“上年日均资产”“本年日均资产”列"):
        rerate(p, period="2026Q3", mode="quarterly", rulebook="private-fund", operator="t",
               now=NOW)
    p2 = plain_branch(tmp_path / "b.xlsx", [["P1", 2, 0]], ["客户编号", "本年日均资产", "上年度管理费"])
    with pytest.raises(WorkbookError, match="“日均资产”（或“上年日均资产”与“本年日均资产”两列）"):
        rerate(p2, period="2026Q3", mode="quarterly", rulebook="private-fund", operator="t",
               now=NOW)
    assert p.read_bytes() == before


def test_core_sub_class_and_twelve_classes_are_written(tmp_path: Path) -> None:
    header = ["客户编号", "日均资产", "上年度管理费", "风险测评得分", "当前级别", "特别调整级别",
              "调整审批人"]
    rows = [["A", 100_000, 20_000, 50, None, None, None],        # A类核心 (fee)
            ["B", 600_000, 0, 80, None, None, None],             # B类核心 (assets)
            ["V", 6_000_000, 0, 30, None, None, None],           # VIP: no sub-class
            ["K", 100_000, 0, None, "A类核心", None, None],       # computed 普通, kept A类核心
            ["O", 100_000, 0, 50, None, "B类核心", "王总"]]        # override names B类核心
    p = plain_branch(tmp_path / "pf.xlsx", rows, header)
    rerate(p, period="2026Q3", mode="quarterly", rulebook="private-fund", operator="t", now=NOW)
    got = _table(p)
    assert {k: (v["当前级别"], v["细分类别"], v["分级分类"]) for k, v in got.items()} == {
        "A": ("核心客户", "A类核心", "核心客户·稳健型"),
        "B": ("核心客户", "B类核心", "核心客户·进取型"),
        "V": ("VIP客户", None, "VIP客户·保守型"),
        "K": ("核心客户", "A类核心", None),  # no score: no class
        "O": ("核心客户", "B类核心", "核心客户·稳健型"),
    }
    # B moves up to VIP: its sub-class goes; upgrade-only ranks: A类 and B类 are one tier
    patch_workbook(p, p, {"客户": SheetEdit(cells={(3, 2): 7_000_000, (2, 3): 0})})
    rerate(p, period="2026Q4", mode="quarterly", rulebook="private-fund", operator="t",
           now=dt.datetime(2027, 1, 5, 10))
    got = _table(p)
    assert (got["B"]["当前级别"], got["B"]["细分类别"], got["B"]["分级分类"]) == (
        "VIP客户", None, "VIP客户·进取型")
    # A: fee 0 now computes 普通客户: kept 核心客户 (就高不就低), its A类核心 kept with it
    assert (got["A"]["当前级别"], got["A"]["细分类别"], got["A"]["级别变动"]) == (
        "核心客户", "A类核心", "保留 (就高不就低)")


def test_brokerage_writes_neither_column(tmp_path: Path) -> None:
    p = plain_branch(tmp_path / "b.xlsx", [["C1", 300_000, 0, 50]],
                     ["客户编号", "资产权益", "上年度净佣金", "风险测评得分"])
    rerate(p, period="2026Q3", mode="quarterly", operator="t", now=NOW)
    header = read_sheet(p, "客户").header
    assert "细分类别" not in header and "分级分类" not in header
