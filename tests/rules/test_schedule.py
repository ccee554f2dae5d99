"""Tests of rules.schedule.

The 2026 SSE calendar used below, from the SSE notice of 2025-12-22 (《关于2026年全年休市安排的通知》,
also what exchange-calendars 4.13 encodes). Weekday closures in 2026:
  元旦 01-01 (Thu), 01-02 (Fri); 春节 02-16..02-20 (Mon–Fri), 02-23 (Mon); 清明 04-06 (Mon);
  劳动节 05-01 (Fri), 05-04 (Mon), 05-05 (Tue); 端午 06-19 (Fri); 中秋 09-25 (Fri);
  国庆 10-01 (Thu), 10-02 (Fri), 10-05..10-07 (Mon–Wed).
Make-up working Saturdays/Sundays of the State Council (01-04, 02-14, 02-28, 05-09, 09-20, 10-10)
are NOT trading days. 2026 has 261 weekdays (365 days, starts on a Thursday) - 19 closures = 242.
"""

from __future__ import annotations

import datetime as dt
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import schedule, version_in_force
from rules.errors import RulebookError, RuleInputError
from rules.schedule import (
    ExtraHolidays,
    TradingCalendar,
    in_window,
    is_working_day,
    load_extra_holidays,
    nth_working_day,
    parse_period,
    run_window,
    working_days,
)

D = date


# ----------------------------------------------------------------------------- parse_period


@pytest.mark.parametrize("text", ["2026Q4", "2026q4", "2026-Q4", "2026年第4季度", "2026年第四季度",
                                  " 2026Q4 ", "2026年4季度", "2026Ｑ4"])
def test_parse_quarter_forms(text):
    p = parse_period(text)
    assert (p.kind, p.year, p.number, p.label, p.mode) == ("quarter", 2026, 4, "2026Q4",
                                                             "quarterly")
    assert (p.start, p.end) == (D(2026, 10, 1), D(2026, 12, 31))


@pytest.mark.parametrize("text", ["2026", "2026年", 2026, " 2026 "])
def test_parse_year_forms(text):
    p = parse_period(text)
    assert (p.kind, p.year, p.number, p.label, p.mode) == ("year", 2026, None, "2026", "annual")
    assert (p.start, p.end) == (D(2026, 1, 1), D(2026, 12, 31))


@pytest.mark.parametrize("text", ["2026-11", "2026/11", "2026年11月", "2026-11 "])
def test_parse_month_forms(text):
    p = parse_period(text)
    assert (p.kind, p.year, p.number, p.label, p.mode) == ("month", 2026, 11, "2026-11",
                                                             "new-accounts")
    assert (p.start, p.end) == (D(2026, 11, 1), D(2026, 11, 30))


@pytest.mark.parametrize(("text", "end"), [
    ("2026Q1", D(2026, 3, 31)), ("2026Q2", D(2026, 6, 30)), ("2026Q3", D(2026, 9, 30)),
    ("2024-02", D(2024, 2, 29)), ("2026-02", D(2026, 2, 28)), ("2026-1", D(2026, 1, 31)),
])
def test_period_end_is_as_of_date(text, end):
    assert parse_period(text).end == end


@pytest.mark.parametrize(("bad", "shown"), [
    ("2026Q5", "2026Q5"), ("2026Q0", "2026Q0"), ("2026-13", "2026-13"), ("2026-00", "2026-00"),
    ("abc", "abc"), ("", "''"), ("26Q4", "26Q4"), ("2026Q4x", "2026Q4x"), ("1899", "1899"),
    (1899, "1899"), ("2026年13月", "2026年13月"),
])
def test_parse_invalid_names_the_value(bad, shown):
    with pytest.raises(RuleInputError) as e:
        parse_period(bad)
    assert shown in e.value.message
    assert e.value.field == "评级周期"


@pytest.mark.parametrize("bad", [True, 2026.0, None, D(2026, 1, 1), ["2026"]])
def test_parse_rejects_non_text(bad):
    with pytest.raises(RuleInputError, match="评级周期"):
        parse_period(bad)


# ----------------------------------------------------------------------------- working days


@pytest.mark.parametrize(("d", "expected"), [
    (D(2026, 1, 1), False), (D(2026, 1, 2), False), (D(2026, 1, 4), False),  # 01-04 make-up Sunday
    (D(2026, 1, 5), True), (D(2026, 2, 13), True), (D(2026, 2, 14), False),
    (D(2026, 2, 16), False), (D(2026, 2, 23), False), (D(2026, 2, 24), True),
    (D(2026, 2, 28), False),  # make-up Saturday: exchange still closed
    (D(2026, 4, 6), False), (D(2026, 4, 7), True), (D(2026, 5, 1), False), (D(2026, 5, 5), False),
    (D(2026, 5, 6), True), (D(2026, 5, 9), False), (D(2026, 6, 19), False),
    (D(2026, 9, 24), True), (D(2026, 9, 25), False), (D(2026, 10, 7), False),
    (D(2026, 10, 8), True), (D(2026, 10, 10), False), (D(2026, 12, 31), True),
])
def test_is_working_day_2026(d, expected):
    assert is_working_day(d) is expected


def test_datetime_is_accepted_as_its_date():
    assert is_working_day(dt.datetime(2026, 10, 8, 15, 30)) is True


def test_2026_has_242_working_days():
    assert len(working_days(D(2026, 1, 1), D(2026, 12, 31))) == 242


def test_working_days_across_national_day():
    assert working_days(D(2026, 9, 24), D(2026, 10, 9)) == [
        D(2026, 9, 24), D(2026, 9, 28), D(2026, 9, 29), D(2026, 9, 30), D(2026, 10, 8),
        D(2026, 10, 9)]


def test_working_days_single_day_and_holiday_only_range():
    assert working_days(D(2026, 10, 8), D(2026, 10, 8)) == [D(2026, 10, 8)]
    assert working_days(D(2026, 10, 1), D(2026, 10, 7)) == []


def test_working_days_start_after_end():
    with pytest.raises(RuleInputError, match="2026-10-09"):
        working_days(D(2026, 10, 9), D(2026, 10, 8))


@pytest.mark.parametrize("bad", ["2026-10-08", 20261008, None, 1.5])
def test_non_date_rejected(bad):
    with pytest.raises(RuleInputError, match="不是日期"):
        is_working_day(bad)


def test_nth_working_day():
    assert nth_working_day(2026, 10, 1) == D(2026, 10, 8)
    assert nth_working_day(2026, 10, 3) == D(2026, 10, 12)
    # February 2026: 02-02..06 (5), 02-09..13 (10), 02-24..27 (14)
    assert nth_working_day(2026, 2, 14) == D(2026, 2, 27)
    with pytest.raises(RuleInputError, match="只有 14 个工作日"):
        nth_working_day(2026, 2, 15)


@pytest.mark.parametrize(("args", "shown"), [
    ((2026, 13, 1), "13"), ((2026, 0, 1), "0"), ((2026, 1, 0), "0"), ((2026, 1, 32), "32"),
    ((2026, 1, True), "TRUE"), ((2026, 1.0, 1), "1"),
])
def test_nth_working_day_invalid(args, shown):
    with pytest.raises(RuleInputError) as e:
        nth_working_day(*args)
    assert shown in e.value.message


# ----------------------------------------------------------------------------- coverage


def test_beyond_package_coverage_is_an_error_not_a_weekday():
    # 2027-01-04 is a Monday: a naive weekday calendar would call it a working day.
    with pytest.raises(RuleInputError) as e:
        is_working_day(D(2027, 1, 4))
    msg = e.value.message
    assert "交易日历只维护到 2026 年" in msg
    assert "2027-01-04" in msg
    assert "extra_holidays.toml" in msg
    assert "exchange-calendars" in msg


def test_before_calendar_start_is_an_error():
    with pytest.raises(RuleInputError, match="1999-12-31"):
        is_working_day(D(1999, 12, 31))


def test_range_ending_beyond_coverage_is_an_error():
    with pytest.raises(RuleInputError, match="2027-01-05"):
        working_days(D(2026, 12, 28), D(2027, 1, 5))


def test_shipped_extra_holidays_file_is_valid_and_invents_nothing():
    extra = load_extra_holidays()
    # No verified official 2027 SSE notice was found: the shipped file must not carry guesses.
    assert all(y.source for y in extra.years)
    assert all(y.holidays for y in extra.years)


# A FICTITIOUS 2027 list, for testing the mechanism only (not official dates).
_FAKE_2027 = """
[[years]]
year = 2027
source = "测试用虚构数据"
holidays = [2027-01-01, 2027-01-04]
"""


@pytest.fixture
def fake_2027(tmp_path, monkeypatch):
    f = tmp_path / "extra.toml"
    f.write_text(_FAKE_2027, encoding="utf-8")
    cal = TradingCalendar(load_extra_holidays(f))
    monkeypatch.setattr(schedule, "trading_calendar", lambda: cal)
    return cal


def test_extra_year_extends_coverage(fake_2027):
    assert fake_2027.last_year == 2027
    assert is_working_day(D(2027, 1, 1)) is False
    assert is_working_day(D(2027, 1, 4)) is False
    assert is_working_day(D(2027, 1, 5)) is True
    assert is_working_day(D(2027, 1, 9)) is False  # Saturday
    # Q4 2026 window: first 3 working days of January 2027 (in the fictitious list: 5, 6, 7)
    w = run_window(parse_period("2026Q4"))
    assert w.days == (D(2027, 1, 5), D(2027, 1, 6), D(2027, 1, 7))
    with pytest.raises(RuleInputError, match="只维护到 2027 年"):
        is_working_day(D(2028, 1, 3))


@pytest.mark.parametrize(("body", "field"), [
    ('[[years]]\nyear = 2027\nsource = "x"\nholidays = []\n', "years.0.holidays"),
    ('[[years]]\nyear = 2027\nsource = "x"\nholidays = [2028-01-03]\n', "years.0"),
    ('[[years]]\nyear = 2027\nholidays = [2027-01-01]\n', "years.0.source"),
    ('[[years]]\nyear = 2027\nsource = "x"\nholidays = [2027-01-01]\nnote = 1\n', "years.0.note"),
    ('[[years]]\nyear = "abc"\nsource = "x"\nholidays = [2027-01-01]\n', "years.0.year"),
    ('[[years]]\nyear = 2027\nsource = "x"\nholidays = [2027-01-01]\n'
     '[[years]]\nyear = 2027\nsource = "y"\nholidays = [2027-01-04]\n', "years"),
])
def test_malformed_extra_file_names_file_and_field(tmp_path, body, field):
    f = tmp_path / "extra_holidays.toml"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(RulebookError) as e:
        load_extra_holidays(f)
    assert str(f) in str(e.value)
    assert field in str(e.value)


def test_extra_file_not_toml(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("years = [", encoding="utf-8")
    with pytest.raises(RulebookError, match=r"bad\.toml"):
        load_extra_holidays(f)


def test_extra_file_missing(tmp_path):
    with pytest.raises(RulebookError, match=r"nope\.toml"):
        load_extra_holidays(tmp_path / "nope.toml")


def test_empty_extra_file_is_empty():
    assert ExtraHolidays().years == []


# ----------------------------------------------------------------------------- run windows


def test_quarter_window_skips_national_day():
    # 2026Q3 -> first 3 working days of October 2026; 10-01..10-07 closed (10-03/04 weekend).
    w = run_window(parse_period("2026Q3"), "private-fund")
    assert w.days == (D(2026, 10, 8), D(2026, 10, 9), D(2026, 10, 12))
    assert (w.first, w.last) == (D(2026, 10, 8), D(2026, 10, 12))
    assert "第十条第2项" in w.rule_text_zh and "private-fund@2024.1" in w.rule_text_zh
    assert "2026-09-30" in w.rule_text_zh
    assert w.assumed_years == () and w.note_zh == ""


@pytest.mark.parametrize(("period", "days"), [
    # 2025Q4 -> January 2026: 01-01/02 closed, 01-03/04 weekend -> 5, 6, 7
    ("2025Q4", (D(2026, 1, 5), D(2026, 1, 6), D(2026, 1, 7))),
    ("2026Q1", (D(2026, 4, 1), D(2026, 4, 2), D(2026, 4, 3))),
    ("2026Q2", (D(2026, 7, 1), D(2026, 7, 2), D(2026, 7, 3))),
])
def test_quarter_windows(period, days):
    assert run_window(parse_period(period)).days == days


def test_annual_window_first_ten_working_days_of_next_year():
    # 2025 annual -> January 2026: 5–9, 12–16
    w = run_window(parse_period("2025"), "private-fund")
    assert w.days == tuple(D(2026, 1, d) for d in (5, 6, 7, 8, 9, 12, 13, 14, 15, 16))
    assert "前十个工作日" in w.rule_text_zh and "第十条第1项" in w.rule_text_zh
    # seed 000 says the same for brokerage, in its own clause
    b = run_window(parse_period("2025"))
    assert b.days == w.days and "第六条（二）1项" in b.rule_text_zh


@pytest.mark.parametrize(("period", "days"), [
    ("2026-01", (2, 3, 4, 5, 6)),          # February 2026
    ("2026-04", (6, 7, 8, 11, 12)),        # May 2026: 05-01, 04, 05 closed; 05-09 make-up Sat closed
    ("2026-09", (8, 9, 12, 13, 14)),       # October 2026
    ("2026-11", (1, 2, 3, 4, 7)),          # December 2026
])
def test_new_account_windows(period, days):
    p = parse_period(period)
    nxt_month = p.end.month % 12 + 1
    w = run_window(p, "private-fund")  # seed 001 第十条第3项: the first five working days
    assert w.days == tuple(D(p.end.year, nxt_month, d) for d in days)
    assert "前五个工作日" in w.rule_text_zh
    # seed 000 第六条（二）3项: the first three working days of the month
    b = run_window(p, "brokerage")
    assert b.days == w.days[:3]
    assert "前三个工作日" in b.rule_text_zh and "第六条（二）3项" in b.rule_text_zh


def test_windows_beyond_coverage_raise():
    for text in ("2026Q4", "2026", "2026-12"):
        with pytest.raises(RuleInputError, match="只维护到 2026 年"):
            run_window(parse_period(text))


def test_run_window_needs_a_period():
    with pytest.raises(RuleInputError, match="2026Q3"):
        run_window("2026Q3")


def test_in_window():
    p = parse_period("2026Q3")
    assert in_window(p, D(2026, 10, 8))
    assert in_window(p, D(2026, 10, 12))
    assert not in_window(p, D(2026, 10, 10))  # Saturday inside the span
    assert not in_window(p, D(2026, 10, 13))
    assert not in_window(p, D(2026, 9, 30))
    assert in_window(p, dt.datetime(2026, 10, 9, 9, 0))


_PRIVATE_FUND = version_in_force("private-fund", D(2026, 1, 1))[0]


@given(st.integers(2001, 2026), st.integers(1, 12))
def test_month_window_properties(year, month):
    p = parse_period(f"{year}-{month:02d}")
    if p.end.year + (p.end.month == 12) > 2026:
        return
    w = run_window(p, _PRIVATE_FUND)  # (the file itself: no version is in force before 2009)
    assert len(w.days) == 5
    assert all(d.weekday() < 5 for d in w.days)
    assert list(w.days) == sorted(w.days)
    assert all(d > p.end for d in w.days)
    # nothing skipped: every working day between as-of and window end is in the window
    assert list(w.days) == working_days(p.end + dt.timedelta(days=1), w.last)


# ----------------------------------------------------------------------------- windows by rulebook


def test_window_lengths_are_the_rulebooks_data():
    from rules import version_in_force

    data, _ = version_in_force("brokerage", D(2026, 11, 30))
    assert (data.schedule.annual.days, data.schedule.quarterly.days,
            data.schedule.monthly.days) == (10, 3, 3)
    assert data.schedule.monthly.source.startswith("第六条（二）3项")
    pf, _ = version_in_force("private-fund", D(2026, 11, 30))
    assert (pf.schedule.annual.days, pf.schedule.quarterly.days, pf.schedule.monthly.days) \
        == (10, 3, 5)
    assert pf.schedule.monthly.source.startswith("第十条第3项")
    # a version with other numbers (a firm's own rulebook file) gets its own window: not code
    firm = data.model_copy(update={"schedule": data.schedule.model_copy(update={
        "monthly": data.schedule.monthly.model_copy(update={"days": 4, "source": "第九条"})})})
    w = run_window(parse_period("2026-11"), firm)
    assert w.days == (D(2026, 12, 1), D(2026, 12, 2), D(2026, 12, 3), D(2026, 12, 4))
    assert "第九条" in w.rule_text_zh


def test_a_rulebook_without_run_times_has_no_window():
    with pytest.raises(RuleInputError) as e:
        run_window(parse_period("2026Q3"), "wealth")
    assert e.value.kind == "na"
    assert "wealth@2024.1" in e.value.message and "没有规定季度评级的运行时间" in e.value.message


def test_saturday_between_window_days_is_inside_the_span():
    # issue 17: a new-accounts run on Saturday 2026-12-05 for 2026-11
    p = parse_period("2026-11")
    five = run_window(p, "private-fund")  # 12-01 .. 12-07 (seed 001: five working days)
    assert five.covers(D(2026, 12, 5)) and five.covers(D(2026, 12, 6))
    assert not in_window(p, D(2026, 12, 5), "private-fund")  # (not a working day itself)
    assert not five.covers(D(2026, 11, 30)) and not five.covers(D(2026, 12, 8))
    three = run_window(p, "brokerage")  # 12-01 .. 12-03 (seed 000: three working days)
    assert not three.covers(D(2026, 12, 5))


# ----------------------------------------------------------------------------- years not maintained


@pytest.mark.parametrize(("text", "days"), [
    ("2026Q4", (D(2027, 1, 1), D(2027, 1, 4), D(2027, 1, 5))),
    ("2026-12", (D(2027, 1, 1), D(2027, 1, 4), D(2027, 1, 5))),
    ("2026", tuple(D(2027, 1, d) for d in (1, 4, 5, 6, 7, 8, 11, 12, 13, 14))),
])
def test_a_year_not_maintained_falls_back_to_weekdays_with_a_note(text, days):
    w = run_window(parse_period(text), assume_weekdays=True)
    assert w.days == days
    assert w.assumed_years == (2027,)
    assert "交易日历未维护 2027 年" in w.note_zh and "周一至周五" in w.note_zh
    assert "未扣除法定节假日" in w.note_zh and "extra_holidays.toml" in w.note_zh
    with pytest.raises(RuleInputError, match="只维护到 2026 年"):  # strict unless asked
        run_window(parse_period(text))


def test_a_year_added_to_the_holiday_file_is_used_not_assumed(fake_2027):
    w = run_window(parse_period("2026Q4"), assume_weekdays=True)
    assert w.days == (D(2027, 1, 5), D(2027, 1, 6), D(2027, 1, 7))
    assert w.assumed_years == () and w.note_zh == ""


# ----------------------------------------------------------------------------- periods in cells


@pytest.mark.parametrize(("value", "label"), [
    (2026, "2026"), (2026.0, "2026"), ("2026.0", "2026"), ("2026Q4", "2026Q4"),
    (dt.datetime(2026, 11, 1), "2026-11"), (D(2026, 11, 1), "2026-11"),
    # 2026 typed into a date-formatted cell: serial 2026 = 1905-07-18
    (dt.datetime(1905, 7, 18), "2026"), (D(1905, 7, 18), "2026"),
])
def test_period_of_cell(value, label):
    assert schedule.period_of_cell(value).label == label


@pytest.mark.parametrize(("value", "shown"), [
    (dt.datetime(2026, 11, 15), "不能是具体日期：2026-11-15"),
    (dt.datetime(2026, 11, 1, 9, 30), "不能是具体日期"),
    (2026.5, "2026.5"), (float("nan"), "NaN"), (float("inf"), "无穷大"), (True, "TRUE"),
    (None, "为空"), ("  ", "为空"), (1899.0, "1899"),
])
def test_period_of_cell_refuses(value, shown):
    with pytest.raises(RuleInputError) as e:
        schedule.period_of_cell(value)
    assert shown in e.value.message


@pytest.mark.parametrize(("rulebook", "line"), [
    ("brokerage", "运行窗口：年度评级前 10 个工作日（第六条（二）1项）；季度评级前 3 个工作日（第六条（二）2项）；"
                  "新开户评级前 3 个工作日（第六条（二）3项）"),
    ("private-fund", "运行窗口：年度评级前 10 个工作日（第十条第1项）；季度评级前 3 个工作日（第十条第2项）；"
                     "新开户评级前 5 个工作日（第十条第3项）"),
    ("asset-turnover", "运行窗口：制度未规定（不核对运行日期）"),
])
def test_rules_show_names_the_run_windows(rulebook, line, capsys):
    from addin.cli import main

    assert main(["rules", "show", rulebook]) == 0
    assert line in capsys.readouterr().out.replace("\n", "")
