"""Issue 17, the rating path of the re-rating job: amounts at the cent, missing input columns,
error values as 客户编号, known gaps named at run time, header synonyms and units, every problem
of a row in one message, secondary fields flagged, the no-op rerun."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from branch_files import plain_branch

from addin.cli import main
from rules import EXAMPLE_PARAMETERS
from workbook.job import rerate
from workbook.schema import WorkbookError
from workbook.template import new_workbook
from workbook.xlsxio import SheetEdit, patch_workbook, read_sheet

NOW = dt.datetime(2026, 10, 9, 10, 0, 0)
EXCEL_SUM = 17188.1 + 67276.54 + 165535.36  # 250,000.00 元 to the cent; 249,999.99999999997


def _by_id(path: Path) -> dict[str, dict]:
    d = read_sheet(path, "客户")
    out = {}
    for r in range(2, d.n_rows + 1):
        row = {h: d.value(r, c) for c, h in enumerate(d.header, start=1)}
        out[str(row.get("客户编号") or row.get("客户号"))] = row
    return out


def _log(path: Path) -> list[dict]:
    d = read_sheet(path, "变更记录")
    return [{h: d.value(r, c) for c, h in enumerate(d.header, start=1)}
            for r in range(2, d.n_rows + 1)]


def _set(path: Path, cells: dict[tuple[int, int], object]) -> None:
    """Cells written with every digit (XlsxWriter writes 16 significant digits: 250000)."""
    patch_workbook(path, path, {"客户": SheetEdit(cells=cells)})


# ------------------------------------------------------------------------ cents in the job

def test_job_rates_a_cent_sum_at_the_boundary_and_logs_what_was_compared(tmp_path: Path):
    wb = plain_branch(tmp_path / "b.xlsx", [["A1", 1.0, 0.0], ["A2", 249_999.994, 0.0]],
                      ["客户编号", "资产权益", "上年度净佣金"])
    _set(wb, {(2, 2): EXCEL_SUM})
    assert read_sheet(wb, "客户").value(2, 2) == EXCEL_SUM < 250_000
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    after = _by_id(wb)
    assert after["A1"]["当前级别"] == "核心客户"
    assert after["A1"]["级别依据"].startswith("资产权益 250,000 元 ≥ 250,000 且 < 10,000,000")
    assert after["A2"]["当前级别"] == "潜力客户"
    assert after["A2"]["级别依据"].startswith("资产权益 249,999.99 元 ≥ 100,000 且 < 250,000")
    logged = {r["客户编号"]: r for r in _log(wb) if r["记录类型"] == "变更"}
    assert logged["A1"]["输入数据"] == "资产权益=250,000；上年度净佣金=0"
    assert res.exit_code == 0


# ----------------------------------------------------------------- missing input columns

def test_missing_commission_column_refuses_the_run(tmp_path: Path, capsys):
    wb = plain_branch(tmp_path / "b.xlsx", [["A1", 20_000_000.0], ["A2", 120_000.0]],
                      ["客户编号", "资产权益"])
    data = wb.read_bytes()
    with pytest.raises(WorkbookError) as e:
        rerate(wb, period="2026", mode="annual", operator="测试", now=NOW)
    assert "“上年度净佣金”" in e.value.message and "brokerage@2009.1" in e.value.message
    assert wb.read_bytes() == data
    code = main(["rerate", str(wb), "--period", "2026", "--mode", "annual", "--operator", "测试"])
    assert code == 1
    err = capsys.readouterr().err
    assert "缺少规则 brokerage@2009.1" in err and "上年度净佣金" in err
    assert wb.read_bytes() == data


def test_missing_contribution_column_refuses_a_wealth_run(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CLIENT_RATING_PARAMS", str(EXAMPLE_PARAMETERS))
    wb = plain_branch(tmp_path / "b.xlsx", [["A1", 20_000_000.0, 0.0]],
                      ["客户编号", "资产权益", "上年度净佣金"])
    data = wb.read_bytes()
    with pytest.raises(WorkbookError, match="“年贡献度”") as e:
        rerate(wb, period="2026", mode="annual", rulebook="wealth", operator="测试", now=NOW)
    assert "wealth@2024.1" in e.value.message
    assert wb.read_bytes() == data


def test_empty_commission_cells_still_count_as_zero(tmp_path: Path):
    wb = plain_branch(tmp_path / "b.xlsx", [["A1", 300_000.0, None], ["A2", 50_000.0, 3000.0]],
                      ["客户编号", "资产权益", "上年度净佣金"])
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    assert res.exit_code == 0 and not res.rejections
    assert _by_id(wb)["A1"]["当前级别"] == "核心客户"
    assert _by_id(wb)["A2"]["当前级别"] == "潜力客户"


@pytest.mark.parametrize("rulebook", ["brokerage", "private-fund", "wealth"])
def test_new_workbooks_have_every_column_their_rulebook_needs(tmp_path: Path, monkeypatch,
                                                              rulebook: str):
    monkeypatch.setenv("CLIENT_RATING_PARAMS", str(EXAMPLE_PARAMETERS))
    clients = [{"客户编号": "A1", "资产权益": 20_000_000, "日均资产": 20_000_000,
                "上年度净佣金": 0, "上年度管理费": 0, "年贡献度": 200_000}]
    wb = new_workbook(tmp_path / "b.xlsx", rulebook, clients)
    res = rerate(wb, period="2026", mode="annual", rulebook=rulebook, operator="测试", now=NOW)
    assert res.exit_code == 0 and res.written
    top = {"brokerage": "VIP客户", "private-fund": "VIP客户", "wealth": "钻石"}[rulebook]
    assert _by_id(wb)["A1"]["当前级别"] == top
