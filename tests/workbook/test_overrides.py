"""Special adjustments (特别调整级别) with dates, expiry, the annual rating and self-approval
(issue 17 "Overrides"; workbook/overrides.py)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from branch_files import plain_branch

from rules import DEFAULT_RULEBOOK
from rules.registry import DATA_DIR
from workbook.audit import SEVERE, WARN, audit_file
from workbook.job import rerate
from workbook.xlsxio import read_sheet

HEADER = ["客户编号", "资产权益", "上年度净佣金", "当前级别", "特别调整级别", "调整审批人", "调整原因",
          "调整日期", "调整有效期至"]
Q3 = dt.datetime(2026, 10, 9, 10, 0)


def _table(path: Path) -> dict[str, dict]:
    d = read_sheet(path, "客户")
    return {str(d.value(r, 1)): {h: d.value(r, c) for c, h in enumerate(d.header, 1)}
            for r in range(2, d.n_rows + 1)}


def _log(path: Path) -> list[dict]:
    d = read_sheet(path, "变更记录")
    return [{h: d.value(r, c) for c, h in enumerate(d.header, 1)} for r in range(2, d.n_rows + 1)]


def test_self_approval_is_flagged_and_recorded(tmp_path: Path) -> None:
    rows = [["C1", 300_000, 0, None, "VIP", "张三", "大客户", dt.date(2026, 9, 1), None],
            ["C2", 300_000, 0, None, "VIP", "王总", None, dt.date(2026, 9, 1), None]]
    p = plain_branch(tmp_path / "b.xlsx", rows, HEADER)
    res = rerate(p, period="2026Q3", mode="quarterly", operator="张 三", now=Q3)
    assert [w for w in res.warnings if w.startswith("自我审批")] == [
        "自我审批：第 2 行 C1的特别调整审批人即本次操作员 张 三：特别调整须经审批并留痕，"
        "请由他人复核（已在级别依据和变更记录中注明）。"]
    got = _table(p)
    assert got["C1"]["当前级别"] == got["C2"]["当前级别"] == "VIP客户"  # flagged, not refused
    assert got["C1"]["级别依据"].startswith(
        "特别调整为VIP客户（审批人：张三，原因：大客户，调整日期：2026-09-01）；"
        "审批人即本次操作员 张 三（自我审批，须由他人复核）；按规则计算：")
    assert "自我审批" not in got["C2"]["级别依据"]
    log = {r["客户编号"]: r for r in _log(p) if r["记录类型"] == "变更"}
    assert "自我审批" in log["C1"]["原因"] and "自我审批" not in log["C2"]["原因"]
    audit = audit_file(p, as_of=dt.date(2026, 11, 21))  # the audit names it too
    assert [(f.severity, f.kind, f.client_id, f.found) for f in audit.findings
            if f.severity in (SEVERE, WARN)] == [(WARN, "override_self_approved", "C1", "张三")]


def test_dates_expiry_and_not_yet_in_force(tmp_path: Path) -> None:
    rows = [["D1", 300_000, 0, None, "VIP", "王总", None, None, None],                 # no date
            ["D2", 300_000, 0, "普通客户", "VIP", "王总", None, dt.date(2026, 1, 5),
             dt.date(2026, 6, 30)],                                                   # expired
            ["D3", 300_000, 0, None, "VIP", "王总", None, dt.date(2026, 10, 20), None],  # future
            ["D4", 300_000, 0, None, "VIP", "王总", None, dt.date(2026, 9, 1),
             dt.date(2026, 9, 30)],                                 # last day = data date: in force
            ["D5", 300_000, 0, None, "VIP", "王总", None, dt.date(2026, 9, 1),
             dt.date(2026, 8, 1)]]                                  # ends before it starts
    p = plain_branch(tmp_path / "b.xlsx", rows, HEADER)
    res = rerate(p, period="2026Q3", mode="quarterly", operator="李四", now=Q3)
    got = _table(p)
    assert {k: v["当前级别"] for k, v in got.items()} == {
        "D1": "VIP客户", "D2": "核心客户", "D3": "核心客户", "D4": "VIP客户", "D5": None}
    assert got["D1"]["调整日期"] == dt.datetime(2026, 10, 9)  # the run's date, written
    assert any("D1的特别调整没有调整日期，已记为本次运行日期 2026-10-09" in w for w in res.warnings)
    assert got["D2"]["级别依据"].startswith(
        "特别调整（VIP客户，审批人：王总，调整日期 2026-01-05）已于 2026-06-30 到期"
        "（本期数据截至 2026-09-30），本次未采用；资产权益 300,000 元")
    assert "尚未生效，本次未采用" in got["D3"]["级别依据"]
    warn = next(w for w in res.warnings if w.startswith("特别调整未采用 2 行"))
    assert "第 3 行 D2" in warn and "第 4 行 D3" in warn
    log = {r["客户编号"]: r for r in _log(p) if r["记录类型"] == "变更"}
    assert log["D2"]["级别变动"] == "升级" and "到期" in log["D2"]["原因"]  # logged
    assert log["D3"]["级别变动"] == "首次评级" and "尚未生效" in log["D3"]["原因"]
    assert "有效期至：2026-09-30" in log["D4"]["原因"]
    assert res.rejections[0][1] == "D5" and "早于调整日期" in res.rejections[0][4]
    audit = audit_file(p, as_of=dt.date(2026, 11, 21))
    assert not [f for f in audit.findings if f.severity == SEVERE]


def _annual_book(tmp_path: Path) -> Path:
    rows = [["A1", 300_000, 0, "VIP客户", "VIP", "王总", None, dt.date(2026, 5, 1), None],
            ["A2", 300_000, 0, "VIP客户", "VIP", "王总", None, dt.date(2027, 1, 4), None]]
    return plain_branch(tmp_path / "a.xlsx", rows, HEADER)


def test_annual_run_drops_overrides_made_before_the_year_ended(tmp_path: Path) -> None:
    p = _annual_book(tmp_path)
    res = rerate(p, period="2026", mode="annual", operator="李四", now=dt.datetime(2027, 1, 6, 9))
    got = _table(p)
    assert got["A1"]["当前级别"] == got["A1"]["年度级别"] == "核心客户"  # lapsed: rated afresh
    assert got["A2"]["当前级别"] == "VIP客户"  # made in the annual window, for this rating
    assert "A1：特别调整（VIP客户，审批人：王总，调整日期 2026-05-01）在 2026 年度评级时失效" \
        "（brokerage@2009.1：年度评级不沿用此前的特别调整），本次未采用" in " ".join(res.warnings)
    # nor is it applied by the runs after the annual one
    res = rerate(p, period="2027-01", mode="new-accounts", operator="李四",
                 now=dt.datetime(2027, 2, 3, 9))
    rerate(p, period="2027Q1", mode="quarterly", operator="李四", now=dt.datetime(2027, 4, 2, 9))
    got = _table(p)
    assert (got["A1"]["当前级别"], got["A2"]["当前级别"]) == ("核心客户", "VIP客户")
    audit = audit_file(p, as_of=dt.date(2027, 4, 10))
    assert not [f for f in audit.findings if f.severity == SEVERE]


def test_a_rulebook_that_keeps_overrides_at_the_annual_run(tmp_path: Path, monkeypatch) -> None:
    firm = tmp_path / "firm" / DEFAULT_RULEBOOK
    firm.mkdir(parents=True)
    text = (DATA_DIR / DEFAULT_RULEBOOK / "2009.1.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^version = .*$', 'version = "2026.1"', text)
    text = re.sub(r'(?m)^effective_from = .*$', "effective_from = 2026-01-01", text)
    text = text.replace("annual_keeps = false", "annual_keeps = true")
    (firm / "2026.1.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("CLIENT_RATING_RULES_DIR", str(firm.parent))
    p = _annual_book(tmp_path)
    res = rerate(p, period="2026", mode="annual", operator="李四", now=dt.datetime(2027, 1, 6, 9))
    assert res.rulebook_ref == "brokerage@2026.1"
    assert {k: v["当前级别"] for k, v in _table(p).items()} == {"A1": "VIP客户", "A2": "VIP客户"}
    assert not [w for w in res.warnings if "特别调整未采用" in w]


@pytest.mark.parametrize("until", ["2026-13-01", "明年"])
def test_a_bad_date_rejects_the_row(tmp_path: Path, until: str) -> None:
    p = plain_branch(tmp_path / "b.xlsx",
                     [["E1", 300_000, 0, None, "VIP", "王总", None, None, until]], HEADER)
    res = rerate(p, period="2026Q3", mode="quarterly", operator="李四", now=Q3)
    assert res.rejections[0][:3] == (2, "E1", "调整有效期至")
