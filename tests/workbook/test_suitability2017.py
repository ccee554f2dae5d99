"""The 2017 suitability regime in the workbook: the re-rating fills 投资者类别 / 风险等级 /
适当性依据 when the firm selects it, checks 产品购买, and the audit lists the same purchases.
Expected values typed from the articles (docs/suitability.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import xlsxwriter
from branch_files import plain_book

from addin.cli import main
from workbook.audit import audit_file
from workbook.job import rerate
from workbook.xlsxio import read_sheet

NOW = dt.datetime(2026, 10, 9, 10, 0, 0)
D = dt.date
H = ["客户编号", "客户性质", "资产权益", "风险测评得分", "测评日期", "金融资产", "投资经历年限",
     "最低类别", "风险类别", "上年度净佣金"]
CLIENTS = [
    ["A1", "个人", 300_000, 55, D(2025, 3, 1), 5_000_000, 3, None, None, 0],       # B, C3
    ["A2", "个人", 300_000, 55, D(2024, 1, 1), None, None, None, None, 0],          # expired
    ["A3", "个人", 300_000, 90, D(2026, 1, 5), None, None, "是", None, 0],          # 最低类别
    ["A4", "机构", 300_000, None, D(2026, 1, 5), None, None, None, "稳健型", 0],    # 2009 → C3
    ["A5", "个人", 300_000, 25, D(2026, 1, 5), "很多", None, None, None, 0],        # bad cell
    ["A6", "个人", 300_000, 85, D(2026, 1, 5), 4_999_999.99, 5, None, None, 0],    # ordinary, C5
]
PURCHASE_HEADER = ["客户编号", "产品", "产品风险等级", "日期", "风险警示确认"]
PURCHASES = [
    ["A2", "基金甲", "R2", D(2026, 8, 1), None],    # 2: expired on the day of purchase
    ["A3", "债基", "R2", D(2026, 8, 1), "是"],      # 3: 最低类别 above R1, even warned
    ["A4", "股基", "R4", D(2026, 8, 1), "否"],      # 4: C3 above level, not warned
    ["A4", "股基", "R4", D(2026, 8, 1), "是"],      # 5: warned and confirmed: allowed
    ["A1", "股基", "R5", D(2026, 8, 1), None],      # 6: professional: allowed
    ["Z9", "股基", "R5", D(2026, 8, 1), None],      # 7: not a client
    ["A6", "股基", "R5", D(2026, 8, 1), None],      # 8: C5: suitable
    ["A3", "货基", "R1", D(2026, 8, 1), None],      # 9: 最低类别 R1: suitable
    ["A2", "货基", "R1", D(2025, 12, 1), None],     # 10: bought while the assessment was valid
]


def book(path: Path, clients: list[list], purchases: list[list] | None = PURCHASES) -> Path:
    sheets = [("客户", [H, *clients])]
    if purchases is not None:
        sheets.append(("产品购买", [PURCHASE_HEADER, *purchases]))
    return plain_book(path, sheets)


def by_id(path: Path) -> dict[str, dict]:
    d = read_sheet(path, "客户")
    return {d.value(r, 1): {h: d.value(r, c) for c, h in enumerate(d.header, 1)}
            for r in range(2, d.n_rows + 1)}


def history(path: Path) -> list[dict]:
    d = read_sheet(path, "变更记录")
    return [{h: d.value(r, c) for c, h in enumerate(d.header, 1)} for r in range(2, d.n_rows + 1)]


def run(path: Path, period: str = "2026Q3", **kw):
    return rerate(path, period=period, mode="quarterly", operator="测试", now=NOW, **kw)


def test_selected_regime_fills_type_level_and_basis(tmp_path: Path) -> None:
    p = book(tmp_path / "b.xlsx", CLIENTS)
    res = run(p, suitability="csrc-2017")
    assert res.exit_code == 0
    got = by_id(p)
    assert [got[c]["投资者类别"] for c in ("A1", "A2", "A3", "A4", "A6")] == \
        ["专业投资者B", "普通投资者", "普通投资者", "普通投资者", "普通投资者"]
    assert [got[c]["风险等级"] for c in ("A1", "A2", "A3", "A4", "A6")] == \
        ["C3", "测评过期", "C1（最低类别）", "C3", "C5"]
    assert "第八条第（五）项" in got["A1"]["适当性依据"] and "5,000,000元 ≥ 500万元" in \
        got["A1"]["适当性依据"]
    assert "4,999,999.99元 < 500万元" in got["A6"]["适当性依据"]
    assert "已于 2026-01-02 起过期" in got["A2"]["适当性依据"]
    # a row whose regime cell cannot be read keeps its cells and is listed with row/column/value
    assert got["A5"].get("投资者类别") is None and got["A5"].get("风险等级") is None
    assert "第 6 行「金融资产」：不是数字：'很多'" in res.warnings
    # the tier is rated as before
    assert {r["当前级别"] for r in got.values()} == {"核心客户"}


def test_history_shows_which_scheme_rated_each_row(tmp_path: Path) -> None:
    p = book(tmp_path / "b.xlsx", CLIENTS)
    run(p, suitability="csrc-2017")
    rows = history(p)
    assert "适当性规则=csrc-2017@2017.1" in rows[0]["统计"]
    why = {r["客户编号"]: r["原因"] for r in rows[1:]}
    assert "风险等级 （空）→C3（csrc-2017@2017.1，问卷得分）" in why["A1"]
    assert "风险等级 （空）→C3（csrc-2017@2017.1，2009 年风险类别对照）" in why["A4"]
    assert "风险等级 （空）→C1（最低类别）（csrc-2017@2017.1，最低类别）" in why["A3"]
    assert "投资者类别 （空）→专业投资者B（csrc-2017@2017.1）" in why["A1"]
    # the 2009 class keeps being rated by its own rulebook, and says so
    assert "风险类别 （空）→稳健型（risk-class@2024.1）" in why["A1"]


def test_levels_follow_the_latest_assessment_both_ways(tmp_path: Path) -> None:
    p = book(tmp_path / "b.xlsx", [["A6", "个人", 300_000, 85, D(2026, 1, 5), None, None, None,
                                    None]], None)
    run(p, suitability="csrc-2017")
    assert by_id(p)["A6"]["风险等级"] == "C5"
    q = book(tmp_path / "c.xlsx", [["A6", "个人", 300_000, 25, D(2026, 11, 5), None, None,
                                    None, None]], None)
    # the same client re-assessed lower: the next run writes C2 (no upgrade-only for levels)
    from workbook.job import plan_run, read_book

    book_data = read_book(p)
    fresh = read_book(q)
    book_data.clients.columns[3][0] = fresh.clients.columns[3][0]
    book_data.clients.columns[4][0] = fresh.clients.columns[4][0]
    plan = plan_run(book_data, period="2026Q4", mode="quarterly", operator="测试",
                    now=dt.datetime(2027, 1, 6, 9), suitability="csrc-2017")
    c = read_sheet(p, "客户").col_of("风险等级")
    assert plan.columns[c][0] == "C2"
    change = next(r for r in plan.history_new if r[7] == "A6")
    assert "风险等级 C5→C2（csrc-2017@2017.1，问卷得分）" in change[11]


def test_purchases_listed_with_their_rows(tmp_path: Path) -> None:
    p = book(tmp_path / "b.xlsx", CLIENTS)
    res = run(p, suitability="csrc-2017")
    listed = {f.row: f.kind for f in res.purchase_findings}
    assert listed == {2: "no_level", 3: "forbidden", 4: "unsuitable", 7: "unknown_client"}
    text = [w for w in res.warnings if w.startswith("产品购买第")]
    assert any(w.startswith("产品购买第 3 行：") and "不得销售" in w for w in text)
    assert any(w.startswith("产品购买第 4 行：") and "第十九条" in w for w in text)


def test_without_the_setting_nothing_changes(tmp_path: Path) -> None:
    p = book(tmp_path / "b.xlsx", CLIENTS)
    res = run(p)
    assert res.purchase_findings == [] and not any("产品购买" in w for w in res.warnings)
    header = read_sheet(p, "客户").header
    assert "投资者类别" not in header and "风险等级" not in header
    assert "适当性规则" not in history(p)[0]["统计"]


def test_missing_warning_column_lists_every_purchase_above_level(tmp_path: Path) -> None:
    wb_rows = [[r[0], r[1], r[2], r[3]] for r in PURCHASES]
    q = tmp_path / "c.xlsx"
    wb = xlsxwriter.Workbook(str(q))
    ws = wb.add_worksheet("客户")
    for r, row in enumerate([H, *CLIENTS]):
        for c, v in enumerate(row):
            if isinstance(v, dt.date):
                ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day))
            elif v is not None:
                ws.write(r, c, v)
    ws2 = wb.add_worksheet("产品购买")
    for r, row in enumerate([PURCHASE_HEADER[:4], *wb_rows]):
        for c, v in enumerate(row):
            if isinstance(v, dt.date):
                ws2.write_datetime(r, c, dt.datetime(v.year, v.month, v.day))
            else:
                ws2.write(r, c, v)
    wb.close()
    res = run(q, suitability="csrc-2017")
    rows = {f.row: f for f in res.purchase_findings}
    assert rows[5].kind == "unsuitable" and "没有“风险警示确认”列" in rows[5].reason


def test_firm_maps_the_2009_classes(tmp_path: Path, monkeypatch) -> None:
    params = tmp_path / "firm.toml"
    params.write_text("[csrc-2017]\nlegacy_balanced = 2\nvalid_years = 3\n", encoding="utf-8")
    monkeypatch.setenv("CLIENT_RATING_PARAMS", str(params))
    p = book(tmp_path / "b.xlsx", CLIENTS, None)
    run(p, suitability="csrc-2017")
    got = by_id(p)
    assert got["A4"]["风险等级"] == "C2"  # 稳健型 → C2 by the firm's table
    assert got["A2"]["风险等级"] == "C3"  # valid 3 years: 2024-01-01 is still valid in 2026Q3


def test_audit_lists_the_purchases_and_a_typed_over_level(tmp_path: Path) -> None:
    p = book(tmp_path / "b.xlsx", CLIENTS)
    run(p, suitability="csrc-2017")
    res = audit_file(p, as_of=D(2026, 10, 9))
    kinds = {(f.kind, f.cell) for f in res.findings if f.sheet == "产品购买"}
    assert kinds == {("purchase_no_level", "C2"), ("purchase_forbidden", "C3"),
                     ("purchase_unsuitable", "C4"), ("purchase_unknown_client", "A7")}
    assert not any(f.kind.endswith("_mismatch") for f in res.findings)
    # a level typed over after the run is found
    import openpyxl

    wb = openpyxl.load_workbook(p)
    ws = wb["客户"]
    col = [c.value for c in ws[1]].index("风险等级") + 1
    ws.cell(row=2, column=col, value="C5")
    wb.save(p)
    res = audit_file(p, as_of=D(2026, 10, 9))
    bad = [f for f in res.findings if f.kind == "risk_level_mismatch"]
    assert len(bad) == 1 and bad[0].client_id == "A1" and bad[0].supported == "C3"


def test_audit_checks_the_purchase_sheet_the_job_checks(tmp_path: Path) -> None:
    """A book with both 产品购买 and an English "Purchases" before it: the job reads 产品购买
    (the first of the names, as for every sheet), and so must the audit."""
    good = [["A6", "股基", "R5", D(2026, 8, 1), None]]
    p = plain_book(tmp_path / "b.xlsx", [("客户", [H, *CLIENTS]),
                                         ("Purchases", [PURCHASE_HEADER, *good]),
                                         ("产品购买", [PURCHASE_HEADER, *PURCHASES])])
    res = run(p, suitability="csrc-2017")
    assert {f.row for f in res.purchase_findings} == {2, 3, 4, 7}
    audit = audit_file(p, as_of=D(2026, 10, 9))
    sheets = {f.sheet for f in audit.findings if f.kind.startswith("purchase_")}
    assert sheets == {"产品购买"}


def test_cli_option(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    p = book(tmp_path / "b.xlsx", CLIENTS)
    code = main(["rerate", str(p), "--period", "2026Q3", "--mode", "quarterly", "--operator",
                 "测试", "--suitability", "csrc-2017", "--force"])
    out = capsys.readouterr()
    assert code == 0
    assert "产品购买第 3 行" in out.out + out.err
    assert main(["rerate", str(p), "--period", "2026Q3", "--mode", "quarterly", "--operator",
                 "测试", "--suitability", "nope", "--force"]) == 1
    assert "未知的适当性规则" in capsys.readouterr().err


def test_console_setting_in_excel_gives_what_the_headless_run_gives(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "addin"))
    import fakeport

    from addin import excel
    from workbook.template import new_workbook

    clients = [{"客户编号": "A1", "客户性质": "个人", "资产权益": 300_000, "风险测评得分": 85,
                "测评日期": D(2026, 1, 5)},
               {"客户编号": "A2", "客户性质": "机构", "资产权益": 300_000, "风险测评得分": 10,
                "测评日期": D(2023, 1, 5)}]
    branch = new_workbook(tmp_path / "分行.xlsx", clients=clients)
    assert "适当性规则" in [read_sheet(branch, "控制台").value(r, 1) for r in range(1, 9)]
    book = fakeport.from_file(branch, name="分行.xlsm")
    labels = [r[0] for r in book.values("控制台")]
    for label, v in (("评级期间", "2026Q3"), ("操作员", "张经理"), ("适当性规则", "csrc-2017")):
        book.plant("控制台", [[v]], labels.index(label) + 1, 2)
    plan = excel.run_rerate(book, "quarterly", now=NOW)
    assert plan.result.written
    rows = book.values("客户")
    header = [str(h) for h in rows[0]]
    got = {r[0]: dict(zip(header, r, strict=False)) for r in rows[1:] if r and r[0]}
    assert (got["A1"]["投资者类别"], got["A1"]["风险等级"]) == ("普通投资者", "C5")
    assert got["A2"]["风险等级"] == "测评过期"
    headless = tmp_path / "headless.xlsx"
    rerate(branch, period="2026Q3", mode="quarterly", operator="张经理", now=NOW,
           out=headless, suitability="csrc-2017")
    want = by_id(headless)
    for cid in ("A1", "A2"):
        for h in ("投资者类别", "风险等级", "适当性依据"):
            assert got[cid][h] == want[cid][h], (cid, h)
