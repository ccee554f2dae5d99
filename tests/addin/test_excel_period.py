"""控制台's 评级期间 as Excel hands it over, and a period earlier than one applied (issue 17),
through the buttons' Python on a fake of its port (tests/addin/fakeport.py). What Excel makes of
a typed entry is planted as Excel stores it (a date for ``2026-11``, 1905-07-18 for 2026 typed
into a date cell); these are Excel's documented entry rules, not checked in Excel here."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import fakeport

from addin import excel
from workbook import history
from workbook.template import new_workbook

CLIENTS = [
    {"客户编号": "C1", "资产权益": 300_000, "开户日期": dt.date(2025, 3, 1)},
    {"客户编号": "C2", "资产权益": 120_000, "上年度净佣金": 6000, "开户日期": dt.date(2026, 11, 2)},
]
JAN5 = dt.datetime(2027, 1, 5, 10, 0, 0)


@pytest.fixture()
def book(tmp_path: Path):
    return fakeport.from_file(new_workbook(tmp_path / "分行.xlsx", clients=CLIENTS))


def _type_period(book, value) -> None:
    """Put into 控制台's 评级期间 what Excel stores for an entry (``value`` as Excel made it)."""
    labels = [r[0] for r in book.values("控制台")]
    book.plant("控制台", [[value]], labels.index("评级期间") + 1, 2)


def _log_runs(book) -> list[list]:
    log = history.data_rows(book.values("变更记录"))
    return [r for r in log if r[0] == history.RUN]


def test_year_typed_as_a_number_is_the_annual_period(book) -> None:
    _type_period(book, 2026)
    assert excel.read_console(book)["period"] == "2026"
    plan = excel.run_rerate(book, "annual", now=JAN5)
    assert plan.result.written and plan.result.period == "2026"


def test_year_typed_into_a_cell_excel_made_a_date_is_the_year(book) -> None:
    # issue 17: "2026-11" typed first makes the cell a date cell; 2026 typed next reads as
    # 1905-07-18 (serial 2026) and the run said "评级周期 '1905-07' 的年份 1905 超出支持范围"
    # (typed "2026-11" is the date 2026-11-01 in Excel; 2026 typed next into that date cell
    # is serial 2026 shown as a date)
    _type_period(book, dt.datetime(2026, 11, 1))
    assert excel.read_console(book)["period"] == "2026-11"
    _type_period(book, dt.datetime(1905, 7, 18))
    assert excel.read_console(book)["period"] == "2026"
    plan = excel.run_rerate(book, "annual", now=JAN5)
    assert plan.result.written and plan.result.period == "2026"


def test_month_typed_as_text_becomes_a_date_and_is_the_month(book) -> None:
    _type_period(book, dt.datetime(2026, 11, 1))  # "2026-11" as Excel stores it
    plan = excel.run_rerate(book, "new-accounts", now=dt.datetime(2026, 12, 2, 10))
    assert plan.result.period == "2026-11" and plan.result.n_in_scope == 1  # C2 only


def test_a_day_is_not_a_period_and_the_dialog_says_so(book) -> None:
    _type_period(book, dt.datetime(2026, 11, 15))
    original = excel.caller
    excel.caller = lambda: book
    try:
        excel.rerate_button("new-accounts")
    finally:
        excel.caller = original
    (_, prompt, _, mode), = book.alerts
    assert mode == "critical"
    assert prompt.startswith("“控制台”的“评级期间”：评级周期不能是具体日期：2026-11-15")


def test_an_earlier_period_asks_and_no_writes_nothing(book) -> None:
    _type_period(book, "2026Q4")
    excel.run_rerate(book, "quarterly", now=JAN5)
    n_log = len(book.values("变更记录"))
    _type_period(book, "2026Q2")
    book.answers.append("no")
    assert excel.run_rerate(book, "quarterly", now=JAN5) is None
    prompt = book.alerts[-1][1]
    assert prompt.startswith("评级期间不能倒退：已执行过季度重评级 2026Q4（数据截至 2026-12-31；运行时间 "
                             "2027-01-05 10:00:00")
    assert "是否仍要执行" in prompt and "--force" not in prompt
    assert len(book.values("变更记录")) == n_log  # nothing written
    book.answers.append("yes")
    plan = excel.run_rerate(book, "quarterly", now=JAN5)
    assert plan.result.written
    runs = _log_runs(book)
    assert len(runs) == 2 and "期间倒退=强制执行" in runs[-1][history.HEADER.index("统计")]
    assert history.verify_chain(history.data_rows(book.values("变更记录"))) == []
