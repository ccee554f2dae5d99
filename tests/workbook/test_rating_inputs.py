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


# ------------------------------------------------------------- 客户编号 holding an error value

def _error_id_branch(path: Path) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                         "strings_to_numbers": False})
    ws = wb.add_worksheet("客户")
    ws.write_row(0, 0, ["客户编号", "资产权益", "上年度净佣金"])
    ws.write_formula(1, 0, "=#REF!", None, "#REF!")  # an error cell (t="e")
    ws.write_row(1, 1, [500_000.0, 0.0])
    ws.write_string(2, 0, "#N/A")  # the error as text (pasted values)
    ws.write_row(2, 1, [500_000.0, 0.0])
    ws.write_string(3, 0, "#VALUE! 参数错误")  # another function's error text
    ws.write_row(3, 1, [500_000.0, 0.0])
    ws.write_row(4, 0, ["OK1", 500_000.0, 0.0])
    wb.close()
    return path


def test_client_id_holding_an_error_value_is_rejected_never_rated_or_logged(tmp_path: Path):
    wb = _error_id_branch(tmp_path / "b.xlsx")
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    assert res.exit_code == 3
    got = {r[0]: r for r in res.rejections}
    assert sorted(got) == [2, 3, 4]
    assert got[2][1:4] == ("", "客户编号", got[2][3]) and str(got[2][3]) == "#REF!"
    assert got[2][4] == "第 2 行「客户编号」：单元格为错误值：#REF!（请更正该单元格）"
    assert got[3][3] == "#N/A" and "错误值：#N/A" in got[3][4]
    assert "错误值：#VALUE! 参数错误" in got[4][4]
    d = read_sheet(wb, "客户")
    tier_col = d.header.index("当前级别") + 1
    assert [d.value(r, tier_col) for r in range(2, 6)] == [None, None, None, "核心客户"]
    ids = {r["客户编号"] for r in _log(wb)}
    assert not any(i and i.startswith("#") for i in ids)
    assert ids >= {"OK1"}


def test_client_id_error_read_through_excel_is_rejected():
    from rules import get_rulebook
    from workbook.grid import sheet_from_grid
    from workbook.schema import validate

    grid = [["客户编号", "资产权益", "上年度净佣金"], ["#REF!", 1.0, 0.0], ["#N/A", 1.0, 0.0],
            ["A", 1.0, 0.0]]
    t = validate(sheet_from_grid("客户", grid), get_rulebook("brokerage"))
    assert sorted(t.rejected) == [0, 1]
    assert t.client_id == ["", "", "A"]
    assert "单元格为错误值：#REF!" in t.rejected[0].reason
    assert "重复" not in t.rejected[0].reason + t.rejected[1].reason


# ----------------------------------------------------------------- headers: synonyms, units

def test_header_synonym_and_unit_scale_the_values(tmp_path: Path):
    from workbook.audit import audit_file

    wb = plain_branch(tmp_path / "b.xlsx",
                      [["A1", 25.0, 0.0], ["A2", "9.5", 6000.0], ["A3", "25万", 0.0],
                       ["A4", 1001.0, 0.0]],
                      ["客户号", "资产权益（万元）", "上年度净佣金(元)"])
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    after = _by_id(wb)
    assert after["A1"]["当前级别"] == "核心客户"
    assert after["A1"]["级别依据"].startswith("资产权益 250,000 元 ≥ 250,000")
    assert after["A2"]["当前级别"] == "普通客户"  # 95,000 元, under 10万
    assert after["A4"]["当前级别"] == "VIP客户"  # 10,010,000 元
    # "25万" under a header that says 万元 is ambiguous: the row is rejected, not guessed
    [(row, cid, col, val, why)] = res.rejections
    assert (row, cid, col, val) == (4, "A3", "资产权益（万元）", "25万")
    assert "列标题已注明单位“万元”" in why
    logged = {r["客户编号"]: r for r in _log(wb) if r["记录类型"] == "变更"}
    assert logged["A1"]["输入数据"] == "资产权益=250,000；上年度净佣金=0"
    # the audit reads the sheet the same way: no tier it cannot prove
    found = audit_file(wb, as_of=dt.date(2026, 10, 9))
    assert not [f for f in found.findings if f.severity == "严重"]


@pytest.mark.parametrize(("header", "name", "unit"), [
    ("资产权益（万元）", "资产权益", "万元"), ("资产权益 (万元)", "资产权益", "万元"),
    ("资产权益万元", "资产权益", "万元"), ("资产权益（元）", "资产权益", "元"),
    ("资产权益\n[亿元]", "资产权益", "亿元"), ("客户号", "客户编号", ""),
    ("上年度净佣金", "上年度净佣金", ""), ("ＣＬＩＥＮＴ＿ＩＤ", "CLIENT_ID", ""),
])
def test_header_names_and_units(header: str, name: str, unit: str):
    from workbook.headers import header_name, split_unit

    assert header_name(header) == name
    assert split_unit(header)[1] == unit


def test_a_unit_on_a_column_that_is_not_money_is_refused(tmp_path: Path):
    wb = plain_branch(tmp_path / "b.xlsx", [["A1", 50.0, 1.0, 0.0]],
                      ["客户编号", "风险测评得分（万元）", "资产权益", "上年度净佣金"])
    with pytest.raises(WorkbookError, match=r"风险测评得分（万元）.*不是金额"):
        rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)


# ---------------------------------------------------- every problem; secondary fields flagged

def test_one_message_lists_every_problem_of_a_row(tmp_path: Path):
    wb = plain_branch(tmp_path / "b.xlsx",
                      [["A1", -5.0, "abc", "五类", "85分"], ["A2", 300_000.0, 0.0, None, 50.0]],
                      ["客户编号", "资产权益", "上年度净佣金", "当前级别", "风险测评得分"])
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    [(row, cid, cols, vals, why)] = res.rejections
    assert (row, cid) == (2, "A1")
    assert cols == "资产权益、上年度净佣金、当前级别、风险测评得分"
    assert why == ("第 2 行「资产权益」：不能为负数：-5；「上年度净佣金」：不是数字：'abc'；"
                   "「当前级别」：未知的级别：'五类'（brokerage@2009.1 可用：VIP客户、核心客户、潜力客户、"
                   "普通客户）；「风险测评得分」：不是数字：'85分'（未评定风险类别）")
    assert vals == "-5；'abc'；'五类'；'85分'"
    [logged] = [r for r in _log(wb) if r["记录类型"] == "拒绝"]
    assert logged["原因"] == why
    assert logged["输入数据"] == "资产权益=-5；上年度净佣金='abc'；当前级别='五类'；风险测评得分='85分'"
    assert res.flags == []


def test_a_bad_secondary_field_is_flagged_and_the_tier_still_rated(tmp_path: Path):
    wb = plain_branch(tmp_path / "b.xlsx",
                      [["A1", 300_000.0, 0.0, "85分", "稳健型"], ["A2", 300_000.0, 0.0, 120.0, None],
                       ["A3", 300_000.0, 0.0, 80.0, None]],
                      ["客户编号", "资产权益", "上年度净佣金", "风险测评得分", "风险类别"])
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    assert res.rejections == [] and res.exit_code == 0
    after = _by_id(wb)
    assert [after[c]["当前级别"] for c in ("A1", "A2", "A3")] == ["核心客户"] * 3
    assert after["A1"]["风险类别"] == "稳健型"  # left as it was
    assert after["A2"]["风险类别"] is None
    assert after["A3"]["风险类别"] == "进取型"
    assert [f[:4] for f in res.flags] == [(2, "A1", "风险测评得分", "85分"),
                                          (3, "A2", "风险测评得分", 120.0)]
    assert res.flags[0][4] == "第 2 行「风险测评得分」：不是数字：'85分'（未评定风险类别）"
    assert "须在 9–100 之间：120" in res.flags[1][4]


# --------------------------------------------------------------- known gaps named at run time

def _summary_rows(path: Path) -> list[list]:
    d = read_sheet(path, "汇总")
    return [[d.value(r, c) for c in range(1, d.n_cols + 1)] for r in range(1, d.n_rows + 1)]


def test_the_1000wan_gap_is_named_at_run_time_in_the_result_cli_and_summary(tmp_path: Path,
                                                                          capsys):
    wb = plain_branch(tmp_path / "b.xlsx",
                      [["G1", 10_000_000.0, 0.0, "VIP客户"], ["G2", 1.0, 50_000.0, None],
                       ["N1", 10_000_000.01, 0.0, None], ["N2", 9_999_999.99, 0.0, None]],
                      ["客户编号", "资产权益", "上年度净佣金", "年度级别"])
    _set(wb, {(3, 2): 9_999_999.995})  # 10,000,000.00 元 at the cent (half-even)
    code = main(["rerate", str(wb), "--period", "2026", "--mode", "annual", "--operator", "测试"])
    assert code == 0
    out = capsys.readouterr().out
    assert "落在规则缺口的客户" in out and "G1" in out and "G2" in out
    after = _by_id(wb)
    assert after["G1"]["当前级别"] == "普通客户" and after["N1"]["当前级别"] == "VIP客户"
    rows = _summary_rows(wb)
    title = next(k for k, r in enumerate(rows) if r and str(r[0]).startswith("落在规则缺口的客户"))
    listed = rows[title + 2:title + 4]
    assert [r[1] for r in listed] == ["G1", "G2"]
    assert [r[2] for r in listed] == ["普通客户", "普通客户"]
    what = listed[0][3]
    assert what.startswith("资产权益 10,000,000 元，上年度净佣金 0 元 落在规则缺口")
    assert "BRK-VIP-1「客户资产权益大于1000万元」" in what
    assert "BRK-CORE-1「客户资产权益大于25万元（含）小于1000万元」" in what
    assert "只落入兜底规则 BRK-ORD-1（普通客户）" in what and "brokerage@2009.1" in what
    assert what.endswith("本次为 普通客户（降级）")
    assert len(rows) == title + 4  # N1, N2 are not in a gap


def test_a_gap_client_kept_by_upgrade_only_is_named_with_the_outcome(tmp_path: Path):
    wb = plain_branch(tmp_path / "b.xlsx", [["G1", 10_000_000.0, 0.0, "VIP客户"]],
                      ["客户编号", "资产权益", "上年度净佣金", "当前级别"])
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    [(row, cid, tier, what)] = res.gaps
    assert (row, cid, tier) == (2, "G1", "VIP客户")
    assert what.endswith("本次为 VIP客户（保留 (就高不就低)）")
    assert any("已知缺口" in w for w in res.warnings)


def test_the_private_fund_500wan_gap_is_named(tmp_path: Path):
    wb = plain_branch(tmp_path / "b.xlsx", [["P1", 5_000_000.0, 0.0], ["P2", 5_000_000.0, 20_000.0]],
                      ["客户编号", "日均资产", "上年度管理费"])
    res = rerate(wb, period="2026", mode="annual", rulebook="private-fund", operator="测试",
                 now=NOW)
    assert [(g[1], g[2]) for g in res.gaps] == [("P1", "普通客户")]
    assert "PF-VIP-1「上年度或本年度日均客户资产大于500万元」" in res.gaps[0][3]


# ------------------------------------------------------------------------ the no-op rerun

def test_a_noop_rerun_says_so_without_the_result_tables(tmp_path: Path, capsys):
    wb = plain_branch(tmp_path / "b.xlsx", [["A1", 300_000.0, 0.0]],
                      ["客户编号", "资产权益", "上年度净佣金"])
    args = ["rerate", str(wb), "--period", "2026Q3", "--mode", "quarterly", "--operator", "测试"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "级别变动" in first and "评级前" in first  # a real run prints its tables
    data = wb.read_bytes()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "已执行过" in out and "--force" in out
    assert "级别变动" not in out and "评级前" not in out and "被拒绝" not in out
    assert "补跑" not in out  # (nothing ran: no word about when it ran)
    assert out.count("\n") == 1  # one line: nothing changed, and how to force it
    assert wb.read_bytes() == data
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="测试")
    assert res.noop and "--force" not in res.message  # the front ends say how to force


def test_a_row_no_rule_covers_lists_its_flagged_field_too(tmp_path: Path, monkeypatch):
    """A firm rulebook with a true gap (no catch-all): the engine rejects the row, and the one
    message still names the bad risk score of the same row."""
    import shutil

    from rules.registry import DATA_DIR

    d = tmp_path / "rules" / "brokerage"
    shutil.copytree(DATA_DIR / "brokerage", d)
    f = next(d.glob("2*.toml"))
    text = f.read_text(encoding="utf-8")
    assert "default = true" in text
    f.write_text(text.replace("default = true", "when.assets = { lt = 10_000 }"), encoding="utf-8")
    from shipped_rules import use_as_shipped

    use_as_shipped(monkeypatch, tmp_path / "rules")
    wb = plain_branch(tmp_path / "b.xlsx", [["A1", 50_000.0, 0.0, "85分"]],
                      ["客户编号", "资产权益", "上年度净佣金", "风险测评得分"])
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    [(_row, _cid, cols, _vals, why)] = res.rejections
    assert "规则缺口" in why and "「风险测评得分」：不是数字：'85分'" in why
    assert cols.endswith("、风险测评得分") and res.flags == []
