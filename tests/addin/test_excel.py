"""The buttons' logic (addin/excel.py) on a fake of its port (tests/addin/fakeport.py): the
headless job and the button must leave the same tiers, log and summary. How the xlwings
implementation of the port hands values to and from Excel is tested in test_xlwings_port.py.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import fakeport

from addin import excel, xlwings_port
from workbook import history
from workbook.demo import HYPERLINK_NAME
from workbook.job import rerate
from workbook.template import new_workbook
from workbook.xlsxio import read_sheet

NOW = dt.datetime(2026, 10, 9, 10, 0, 0)

CLIENTS = [
    {"客户编号": "C1", "资产权益": 300_000, "上年度净佣金": 0, "当前级别": "普通客户",
     "风险测评得分": 50},
    {"客户编号": "C2", "资产权益": "25万", "当前级别": "VIP"},
    {"客户编号": "C3", "资产权益": -5, "当前级别": "潜力客户"},
    {"客户编号": "C4", "资产权益": 5e6, "特别调整级别": "VIP"},
    {"客户编号": "C5", "客户名称": HYPERLINK_NAME, "资产权益": 2e7,
     "开户日期": dt.date(2026, 8, 3)},
    {"客户编号": "C6", "资产权益": 50_000, "年度级别": "核心客户"},
    {"客户编号": "C7", "资产权益": 1_000_000, "特别调整级别": "潜力客户", "调整审批人": "王总"},
    {"客户编号": "000123", "资产权益": 120_000, "上年度净佣金": 6000, "开户日期": dt.date(2026, 11, 2)},
]


def _console(book, **values) -> None:
    """Fill 控制台 column B next to its labels, as a branch manager types them."""
    labels = [r[0] for r in book.values("控制台")]
    for label, v in values.items():
        book.plant("控制台", [[v]], labels.index(label) + 1, 2)


@pytest.fixture()
def branch(tmp_path: Path) -> Path:
    return new_workbook(tmp_path / "分行.xlsx", clients=CLIENTS)


def _book(path: Path):
    return fakeport.from_file(path, name="任意改名的分行副本.xlsm")


def _press(book, mode: str | None = "quarterly", **kw):
    """What a button does after xw.Book.caller(): run, errors to a dialog, state restored."""
    original = excel.caller
    excel.caller = lambda: book
    try:
        excel.rerate_button(mode)
    finally:
        excel.caller = original


def _rows(book, sheet: str) -> list[list]:
    return book.values(sheet)


def _by_id(rows: list[list]) -> dict[str, dict]:
    header = [str(h) for h in rows[0]]
    return {str(r[0]): dict(zip(header, r, strict=False)) for r in rows[1:] if r and r[0]}


def test_button_and_headless_job_leave_the_same_tiers_log_and_summary(branch: Path,
                                                                     tmp_path: Path) -> None:
    book = _book(branch)
    _console(book, 评级期间="2026Q3", 操作员="张经理")
    plan = excel.run_rerate(book, "quarterly", now=NOW)
    assert plan.result.written and plan.result.exit_code == 3  # C3 rejected, the rest written

    headless = tmp_path / "headless.xlsx"
    rerate(branch, period="2026Q3", mode="quarterly", operator="张经理", now=NOW, out=headless)

    def file_rows(sheet: str) -> list[list]:
        d = read_sheet(headless, sheet)
        return [[d.value(r, c) for c in range(1, d.n_cols + 1)] for r in range(1, d.n_rows + 1)]

    want, got = _by_id(file_rows("客户")), _by_id(_rows(book, "客户"))
    assert set(got) == set(want)
    for cid, row in want.items():
        for h in ("当前级别", "级别变动", "级别依据", "服务产品", "年拜访次数", "评级期间", "规则版本"):
            assert got[cid][h] == row[h], (cid, h)
    # same log, row for row, hash for hash (same inputs -> same run id and input hash)
    assert _rows(book, "变更记录") == file_rows("变更记录")
    assert history.verify_chain(history.data_rows(_rows(book, "变更记录"))) == []
    assert [r[:3] for r in _rows(book, "汇总")[:6]] == [r[:3] for r in file_rows("汇总")[:6]]


def test_text_stays_text_and_formulas_stay(branch: Path) -> None:
    book = _book(branch)
    sheet = "客户"
    before = dict(book.formula_cells[sheet])
    _console(book, 评级期间="2026-11", 操作员="张经理")
    excel.run_rerate(book, "new-accounts", now=NOW)
    rows = _by_id(_rows(book, sheet))
    header = [str(h) for h in _rows(book, sheet)[0]]
    period_col = header.index("评级期间") + 1
    r = next(k for k, row in enumerate(_rows(book, sheet), start=1) if row[0] == "000123")
    # written as text (XlwingsPort keeps text text in Excel: test_xlwings_port.py)
    assert book.sheets[sheet][(r, period_col)] == "2026-11"
    assert (r, period_col) not in book.formula_cells[sheet]
    assert rows["000123"]["当前级别"] == "核心客户"  # 净佣金 6,000 ≥ 5,000 (BRK-CORE-2)
    assert str(rows["000123"]["规则版本"]) == "brokerage@2009.1"
    assert rows["C5"]["客户名称"] == HYPERLINK_NAME  # untouched text, not a formula
    # the formula columns keep their formulas
    assert book.formula_cells[sheet] == before  # (a run never writes a formula cell)


def test_each_output_column_is_one_write_and_progress_is_shown(branch: Path) -> None:
    book = _book(branch)
    _console(book, 评级期间="2026Q3", 操作员="张经理")
    _press(book, "quarterly")
    writes = book.writes("客户", "value")
    cols = [w.column for w in writes if w.row > 1]
    assert len(cols) == len(set(cols)), writes  # no column written twice
    assert all(w.ncols == 1 for w in writes)
    status = book.status_history
    assert any("读取" in s for s in status if isinstance(s, str))
    assert status[-1] is False  # Excel gets its status bar back
    (_, prompt, buttons, mode), = book.alerts
    assert mode == "info" and buttons == "ok"
    assert "季度重评级 2026Q3 已完成" in prompt
    assert "数据有误、未处理 2 行" in prompt and "第 4 行「资产权益」：不能为负数：-5" in prompt
    assert "“调整审批人”为空" in prompt
    assert "变更记录”第" in prompt  # where to see every reason
    assert book.calculation == "automatic" and book.screen_updating


def test_second_press_asks_before_running_again(branch: Path) -> None:
    book = _book(branch)
    _console(book, 评级期间="2026Q3", 操作员="张经理")
    excel.run_rerate(book, "quarterly", now=NOW)
    n_log = len(_rows(book, "变更记录"))
    book.answers.append("no")
    _press(book, "quarterly")
    assert len(_rows(book, "变更记录")) == n_log  # nothing written
    assert "已执行过" in book.alerts[-1][1]
    book.answers.append("yes")
    _press(book, "quarterly")
    log = history.data_rows(_rows(book, "变更记录"))
    runs = [r for r in log if r[0] == history.RUN]
    assert len(runs) == 2 and "强制重跑=是" in runs[-1][history.HEADER.index("统计")]
    assert history.verify_chain(log) == []


def test_mode_from_console_and_errors_become_dialogs(branch: Path) -> None:
    book = _book(branch)
    _press(book, None)  # no period on 控制台
    (_, prompt, _, mode), = book.alerts
    assert mode == "critical" and "评级期间" in prompt and "Traceback" not in prompt
    _console(book, 模式="年度评级", 评级期间="2026Q3", 操作员="张经理")
    _press(book, None)
    prompt = book.alerts[-1][1]
    assert "2026Q3 不适用于年度评级" in prompt
    _console(book, 评级期间="2026")
    _press(book, None)
    assert "年度评级 2026 已完成" in book.alerts[-1][1]


def test_unexpected_error_is_logged_not_shown_as_traceback(branch: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    book = _book(branch)
    _console(book, 评级期间="2026Q3", 操作员="张经理")
    monkeypatch.setattr(excel, "LOG_PATH", tmp_path / "err.log")

    def boom(*a, **k):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(excel, "plan_run", boom)
    _press(book, "quarterly")
    (_, prompt, _, mode), = book.alerts
    assert mode == "critical" and "内部错误" in prompt and str(tmp_path / "err.log") in prompt
    assert "Traceback" not in prompt
    assert "ZeroDivisionError" in (tmp_path / "err.log").read_text(encoding="utf-8")
    assert book.status_history[-1] is False


def test_plain_workbook_gets_history_summary_and_chart() -> None:
    book = fakeport.FakeBook({"客户": [["客户编号", "资产权益", "上年度净佣金", "当前级别"],
                                   ["A1", 300_000.0, 0.0, "普通客户"],
                                   ["A2", 20_000_000.0, None, None]],
                           "控制台": [["模式", "季度重评级"], ["评级期间", "2026Q3"],
                                   ["操作员", "李"]]}, path="plain.xlsx")
    _press(book, None)
    assert book.alerts[-1][3] == "info"
    names = book.sheet_names()
    assert "变更记录" in names and "汇总" in names
    assert book.charts["汇总"] == [(5, 3)]  # A1:C5: tiers x before/after
    log = history.data_rows(_rows(book, "变更记录"))
    assert [r[0] for r in log] == [history.RUN, history.CHANGE, history.CHANGE]
    assert _by_id(_rows(book, "客户"))["A2"]["当前级别"] == "VIP客户"


def test_segments_cut_around_formula_and_error_cells() -> None:
    from workbook.xlsxio import KEEP
    from workbook.xlsxio.errors import CellError

    K = KEEP
    values = [K, "a", K, "b", K, "c", "d", K]
    old = ["x", "y", "z", "w", CellError("#N/A"), "v", "u", "t"]
    # row offset 2 holds a formula: the run stops before it; the error cell at 4 too
    assert excel._segments(values, old, {2}) == [(1, ["a"]), (3, ["b"]), (5, ["c", "d"])]
    assert excel._segments([K, K], ["x", "y"], set()) == []
    # written through Excel, text keeps its quote prefix ("'a" stays the text a)
    assert [xlwings_port.excel_value(v) for v in ("a", "", 3.0)] == ["'a", None, 3.0]


def test_audit_button_writes_findings_with_links_and_catches_a_typed_over_tier(
        branch: Path) -> None:
    from workbook.audit import audit_file

    book = _book(branch)
    _console(book, 评级期间="2026Q3", 操作员="张经理")
    excel.run_rerate(book, "quarterly", now=NOW)
    sheet = "客户"
    header = [str(h) for h in _rows(book, sheet)[0]]
    col = header.index("当前级别") + 1
    row = next(k for k, r in enumerate(_rows(book, sheet), start=1) if r[0] == "C1")
    book.plant(sheet, [["VIP客户"]], row, col)  # typed over by hand after the run
    original = excel.caller
    excel.caller = lambda: book
    try:
        excel.audit_button()
    finally:
        excel.caller = original
    (_, prompt, _, mode) = book.alerts[-1]
    assert mode == "critical" and "发现问题" in prompt and "“审计”工作表" in prompt
    rows = _rows(book, "审计")
    first = next(k for k, r in enumerate(rows) if r[0] == "严重程度")
    addr = f"客户!{chr(64 + col)}{row}"
    k = next(k for k, r in enumerate(rows) if k > first and r[3] == "C1" and r[1] == "当前级别")
    assert rows[k][0] == "严重" and rows[k][4] == "VIP客户" and rows[k][5] == "核心客户"
    # 位置 is a link to the cell (Excel shows its text; the fake does not calculate formulas)
    assert book.formula_cells["审计"][(k + 1, 3)] == f'=HYPERLINK("#\'客户\'!{chr(64 + col)}{row}","{addr}")'
    # the same file audited headless (without the typed-over cell) has no such finding
    headless = audit_file(branch)
    assert not any(f.client_id == "C1" and f.address == addr for f in headless.findings)
    # pressing again replaces the sheet's content, it does not pile up
    excel.caller = lambda: book
    try:
        excel.audit_button()
    finally:
        excel.caller = original
    assert len(_rows(book, "审计")) == len(rows)


def test_the_button_lists_transfer_findings_of_sheet_转销户() -> None:
    header = ["客户编号", "客户级别", "客户性质", "办理日期", "预约日期", "当天有委托", "国债回购未到期",
              "国债回购登记未撤销", "新股申购资金未解冻", "协议未履行完毕", "柜台人员", "客户经理",
              "营销总监", "总经理", "流失原因", "原因说明"]
    row = ["T1", "核心客户", "个人", dt.datetime(2026, 9, 2), dt.datetime(2026, 9, 1), "是", "否", "否",
           "否", "否", "张", "李", "王", None, "行业内竞争", None]
    book = fakeport.FakeBook({"客户": [["客户编号", "资产权益", "上年度净佣金"], ["A1", 300_000.0, 0.0]],
                           "转销户": [header, row],
                           "控制台": [["模式", "季度重评级"], ["评级期间", "2026Q3"],
                                   ["操作员", "李"]]}, path="plain.xlsx")
    _press(book, None)
    message = book.alerts[-1][1]
    assert "“转销户”工作表有 2 项不符合 003《营业部客户流失应对规范》：转销户 第 2 行 当天有委托='是'" in message
    assert _rows(book, "转销户")[1][5] == "是"  # nothing written there
