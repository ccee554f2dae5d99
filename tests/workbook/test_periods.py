"""Periods of a re-rating run (issue 17): run windows by rulebook, periods out of order, the
annual run's accounts (opened by the data date), and periods read from cells."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from branch_files import plain_branch

from workbook import history
from workbook.job import PeriodOrderError, rerate
from workbook.template import new_workbook
from workbook.xlsxio import read_sheet

JAN5 = dt.datetime(2027, 1, 5, 10, 0, 0)
NOW = dt.datetime(2026, 10, 9, 10, 0, 0)

CLIENTS = [
    {"客户编号": "A1", "资产权益": 300_000, "开户日期": dt.date(2025, 3, 1)},
    {"客户编号": "A2", "资产权益": 50_000, "上年度净佣金": 4_000, "开户日期": dt.date(2026, 11, 3)},
    {"客户编号": "A3", "资产权益": 20_000_000},  # no 开户日期
]


@pytest.fixture()
def wb(tmp_path: Path) -> Path:
    return new_workbook(tmp_path / "branch.xlsx", clients=CLIENTS)


def _by_id(path: Path) -> dict[str, dict]:
    d = read_sheet(path, "客户")
    return {str(d.value(r, 1)): {h: d.value(r, c) for c, h in enumerate(d.header, start=1)}
            for r in range(2, d.n_rows + 1)}


def _runs(path: Path) -> list[list[str]]:
    d = read_sheet(path, "变更记录")
    rows = history.data_rows([[d.value(r, c) for c in range(1, d.n_cols + 1)]
                              for r in range(1, d.n_rows + 1)])
    return [r for r in rows if r[0] == history.RUN]


def _stats(run: list[str]) -> dict[str, str]:
    return history.stats_of(run[history.HEADER.index("统计")])


# ----------------------------------------------------------------------------- run windows


@pytest.mark.parametrize(("rulebook", "now", "late"), [
    # issue 17: new accounts of 2026-11 run on Saturday 2026-12-05
    ("private-fund", dt.datetime(2026, 12, 5, 10), None),  # window 12-01 .. 12-07: inside it
    ("brokerage", dt.datetime(2026, 12, 5, 10), "补跑"),  # window 12-01 .. 12-03: after it
    ("brokerage", dt.datetime(2026, 12, 3, 16), None),
    ("private-fund", dt.datetime(2026, 12, 8, 9), "补跑"),
])
def test_new_account_window_is_the_rulebooks_and_a_weekend_inside_it_is_on_time(
        tmp_path: Path, rulebook, now, late) -> None:
    clients = [{"客户编号": "N1", "资产权益": 300_000, "日均资产": 300_000,
                "开户日期": dt.date(2026, 11, 3)}]
    path = new_workbook(tmp_path / "b.xlsx", rulebook, clients=clients)
    res = rerate(path, period="2026-11", mode="new-accounts", rulebook=rulebook, operator="t",
                 now=now, dry_run=True)
    timing = [w for w in res.warnings if "窗口" in w]
    if late is None:
        assert timing == [], timing
    else:
        clause = {"brokerage": "brokerage@2009.1 第六条（二）3项：前 3 个工作日",
                  "private-fund": "private-fund@2024.1 第十条第3项：前 5 个工作日"}[rulebook]
        assert len(timing) == 1 and f"本次为{late}（{clause}）" in timing[0], timing
    assert not any("提前运行" in w for w in res.warnings)


def test_a_rulebook_without_run_times_is_not_timed_and_says_so(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CLIENT_RATING_PARAMS", str(Path(__file__).parents[2] / "rules" / "data"
                                                   / "rulebooks" / "wealth" / "example-parameters.toml"))
    path = plain_branch(tmp_path / "w.xlsx", [["W1", 100, 0]], ["客户编号", "资产规模", "年贡献度"])
    res = rerate(path, period="2026Q3", mode="quarterly", rulebook="wealth", operator="t",
                 now=NOW, dry_run=True)
    assert any(w.startswith("无法核对 2026Q3 的运行窗口：规则 wealth@2024.1") and "没有规定季度评级的运行时间" in w
               for w in res.warnings), res.warnings


# ----------------------------------------------------------------------------- out of order


def test_an_earlier_quarter_after_a_later_one_is_refused_unless_forced(wb: Path) -> None:
    first = rerate(wb, period="2026Q4", mode="quarterly", operator="张经理", now=JAN5)
    assert first.written
    data = wb.read_bytes()
    with pytest.raises(PeriodOrderError) as e:
        rerate(wb, period="2026Q2", mode="quarterly", operator="张经理",
               now=dt.datetime(2027, 1, 6, 9))
    msg = str(e.value)
    assert msg.startswith("评级期间不能倒退：已执行过季度重评级 2026Q4（数据截至 2026-12-31；运行时间 "
                          "2027-01-05 10:00:00，运行编号 " + first.run_id + "，变更记录第 2 行），"
                          "本次季度重评级 2026Q2 的数据截至 2026-06-30，更早")
    assert msg.endswith("本次未做任何更改。")
    assert wb.read_bytes() == data  # nothing written
    forced = rerate(wb, period="2026Q2", mode="quarterly", operator="张经理", force=True,
                    now=dt.datetime(2027, 1, 6, 9))
    assert forced.written
    assert any(w.startswith("强制执行：已执行过季度重评级 2026Q4") for w in forced.warnings)
    assert _stats(_runs(wb)[-1]).get("期间倒退") == "强制执行"
    assert _by_id(wb)["A1"]["评级期间"] == "2026Q2"


def test_the_audit_shows_each_forced_run(wb: Path) -> None:
    """The job refuses a rerun and an earlier period unless forced; the audit lists each forced
    run as a 提示 on its run row (an auditor sees the refusal was overridden), none otherwise."""
    from workbook.audit import INFO, audit_file

    rerate(wb, period="2026Q4", mode="quarterly", operator="张经理", now=JAN5)
    assert not [f for f in audit_file(wb).findings if f.kind.startswith("history_")]
    rerate(wb, period="2026Q4", mode="quarterly", operator="张经理", force=True,
           now=dt.datetime(2027, 1, 5, 11))
    rerate(wb, period="2026Q2", mode="quarterly", operator="张经理", force=True,
           now=dt.datetime(2027, 1, 6, 9))
    d = read_sheet(wb, "变更记录")
    run_rows = [r for r in range(2, d.n_rows + 1) if d.value(r, 1) == history.RUN]
    notes = [f for f in audit_file(wb).findings if f.kind.startswith("history_")]
    assert [(f.severity, f.kind, f.cell) for f in notes] == [
        (INFO, "history_forced_rerun", f"A{run_rows[1]}"),
        (INFO, "history_backwards_run", f"A{run_rows[2]}")]
    rerun, back = notes
    assert "2026Q4" in rerun.explanation and rerun.explanation.endswith("本次为强制重跑")
    assert "2026Q2" in back.explanation
    assert back.explanation.endswith("期间早于此前已执行的2026Q4，本次为强制执行")


@pytest.mark.parametrize(("first", "then", "refused"), [
    (("2026", "annual"), ("2025", "annual"), "已执行过年度评级 2026"),
    (("2026", "annual"), ("2026Q3", "quarterly"), "已执行过年度评级 2026"),
    (("2027Q1", "quarterly"), ("2026", "annual"), "已执行过季度重评级 2027Q1"),
    (("2026Q4", "quarterly"), ("2026-11", "new-accounts"), "已执行过季度重评级 2026Q4"),
    (("2026-11", "new-accounts"), ("2026Q3", "quarterly"), "已执行过新开户评级 2026-11"),
    # the same data date, or a later one: in order
    (("2026Q4", "quarterly"), ("2026", "annual"), None),
    (("2026", "annual"), ("2026Q4", "quarterly"), None),
    (("2026-12", "new-accounts"), ("2026Q4", "quarterly"), None),
    # a missed month of new accounts, caught up: other clients than the later month's
    (("2026-11", "new-accounts"), ("2026-10", "new-accounts"), None),
])
def test_what_counts_as_going_back(wb: Path, first, then, refused) -> None:
    rerate(wb, period=first[0], mode=first[1], operator="t", now=dt.datetime(2027, 4, 2, 10))
    if refused is None:
        res = rerate(wb, period=then[0], mode=then[1], operator="t", dry_run=True,
                     now=dt.datetime(2027, 4, 2, 11))
        assert not any("倒退" in w or "强制执行" in w for w in res.warnings)
        return
    with pytest.raises(PeriodOrderError, match=refused):
        rerate(wb, period=then[0], mode=then[1], operator="t", now=dt.datetime(2027, 4, 2, 11))


def test_a_missed_month_caught_up_is_a_late_run_not_a_refusal(wb: Path) -> None:
    rerate(wb, period="2026-11", mode="new-accounts", operator="t", now=dt.datetime(2026, 12, 2, 9))
    res = rerate(wb, period="2026-10", mode="new-accounts", operator="t",
                 now=dt.datetime(2026, 12, 2, 10), dry_run=True)
    assert any("本次为补跑" in w for w in res.warnings), res.warnings


def test_the_same_period_again_stays_a_no_op_even_after_a_later_one(wb: Path) -> None:
    rerate(wb, period="2026Q3", mode="quarterly", operator="t", now=dt.datetime(2026, 10, 9, 9))
    rerate(wb, period="2026Q4", mode="quarterly", operator="t", now=JAN5)
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="t", now=JAN5)
    assert res.already_applied and not res.written and res.exit_code == 0


def test_a_later_period_in_the_sheet_without_a_log_is_refused_too(tmp_path: Path) -> None:
    # 评级期间 says 2026Q4 although 变更记录 is gone (another copy of the book, a pasted list)
    path = plain_branch(tmp_path / "b.xlsx", [["C1", 300_000, 0, "核心客户", "2026Q4"],
                                              ["C2", 10_000, 0, "普通客户", "2026Q3"]],
                        ["客户编号", "资产权益", "上年度净佣金", "当前级别", "评级期间"])
    with pytest.raises(PeriodOrderError) as e:
        rerate(path, period="2026Q3", mode="quarterly", operator="t", now=dt.datetime(2026, 10, 9))
    assert "“客户”中 1 位本次要评级的客户的“评级期间”已是比 2026Q3（数据截至 2026-09-30）更晚的期间" \
           "（如第 2 行 C1：2026Q4）" in str(e.value)
    res = rerate(path, period="2026Q3", mode="quarterly", operator="t", force=True,
                 now=dt.datetime(2026, 10, 9))
    assert res.written and any(w.startswith("强制执行：“客户”中 1 位") for w in res.warnings)


def test_cli_refuses_an_earlier_period_and_says_how_to_force(wb: Path, capsys) -> None:
    from addin.cli import main

    base = ["rerate", str(wb), "--mode", "annual", "--operator", "t"]
    assert main([*base, "--period", "2026"]) == 0
    data = wb.read_bytes()
    capsys.readouterr()
    assert main([*base, "--period", "2025"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("错误：评级期间不能倒退：已执行过年度评级 2026（数据截至 2026-12-31；运行时间 ")
    assert "如确需按该期间补跑，请加 --force" in err and "Traceback" not in err
    assert wb.read_bytes() == data
    assert main([*base, "--period", "2025", "--force"]) == 0
    assert _by_id(wb)["A1"]["评级期间"] == "2025"


# ----------------------------------------------------------------------------- annual scope


@pytest.mark.parametrize(("rulebook", "clause"), [
    ("brokerage", "brokerage@2009.1 第六条（二）1项"),
    ("private-fund", "private-fund@2024.1 第十条第1项"),
])
def test_annual_run_rates_accounts_opened_by_the_data_date_only(tmp_path: Path, rulebook,
                                                                clause) -> None:
    clients = [
        {"客户编号": "Y1", "资产权益": 300_000, "日均资产": 600_000, "开户日期": dt.date(2026, 12, 31)},
        {"客户编号": "Y2", "资产权益": 20_000_000, "日均资产": 9_000_000,
         "开户日期": dt.date(2027, 1, 4), "当前级别": "普通客户"},
        {"客户编号": "Y3", "资产权益": 300_000, "日均资产": 600_000},  # no 开户日期: an old account
    ]
    path = new_workbook(tmp_path / "b.xlsx", rulebook, clients=clients)
    before = _by_id(path)
    res = rerate(path, period="2026", mode="annual", rulebook=rulebook, operator="t", now=JAN5)
    assert res.written and res.n_in_scope == 2
    row_y2 = next(r for r, cid, _ in res.opened_after if cid == "Y2")
    assert res.opened_after == [(row_y2, "Y2", dt.date(2027, 1, 4))]
    note = next(w for w in res.warnings if "开户日期晚于数据截止日" in w)
    assert note == (f"1 位客户的开户日期晚于数据截止日 2026-12-31，不参加 2026 年度评级（{clause}："
                    f"年度评级只评上一年度末的已开户客户），留给新开户评级，本次未改动："
                    f"第 {row_y2} 行 Y2（开户 2027-01-04）。")
    after = _by_id(path)
    # untouched: still 普通客户, no 年度级别 (columns the run added are empty on its row)
    assert {k: v for k, v in after["Y2"].items() if k in before["Y2"] or v is not None} \
        == before["Y2"]
    assert after["Y1"]["年度级别"] and after["Y3"]["年度级别"]
    log = read_sheet(path, "变更记录")
    assert "Y2" not in {log.value(r, history.HEADER.index("客户编号") + 1)
                        for r in range(2, log.n_rows + 1)}
    assert _stats(_runs(path)[-1])["开户晚于截止日"] == "1"
    # the new-accounts run of January 2027 rates it
    res = rerate(path, period="2027-01", mode="new-accounts", rulebook=rulebook, operator="t",
                 now=dt.datetime(2027, 2, 1, 10))
    assert _by_id(path)["Y2"]["当前级别"] == "VIP客户"


# ----------------------------------------------------------------------------- periods from cells


@pytest.mark.parametrize(("period", "mode", "label"), [
    (2026, "annual", "2026"), (2026.0, "annual", "2026"), ("2026.0", "annual", "2026"),
    (dt.datetime(1905, 7, 18), "annual", "2026"),  # 2026 typed into a date-formatted cell
    (dt.datetime(2026, 11, 1), "new-accounts", "2026-11"),  # "2026-11" turned into a date
])
def test_period_as_a_cell_holds_it(wb: Path, period, mode, label) -> None:
    res = rerate(wb, period=period, mode=mode, operator="t", now=JAN5, dry_run=True)
    assert res.period == label


def test_cli_period_as_a_number_text(wb: Path) -> None:
    from addin.cli import main

    assert main(["rerate", str(wb), "--period", "2026.0", "--mode", "annual", "--operator", "t",
                 "--dry-run"]) == 0
