"""The steps of a run (workbook/run/), one at a time, on small 客户 tables: what each step makes
of the rows is what the user then sees in the sheet, 变更记录 and 汇总.

Brokerage 2009.1 (seed 000 第六条): VIP客户 资产权益 > 1000万; 核心客户 25万–1000万, or 10万–25万
with 上年度净佣金 ≥ 5000; 潜力客户 10万–25万; 普通客户 otherwise. Risk class (风险测评得分):
进取型 76–100, 稳健型 41–75, 保守型 9–40.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from workbook import history, summary
from workbook.grid import sheet_from_grid
from workbook.run import write
from workbook.run.periods import PeriodOrderError
from workbook.run.plan import check_log
from workbook.run.result import EXIT_FATAL, EXIT_OK, EXIT_REJECTED, RunResult
from workbook.run.steps import apply_mode, evaluate, new_values, read_table, settle
from workbook.schema import WorkbookError
from workbook.source import BookData
from workbook.xlsxio import KEEP

NOW = dt.datetime(2026, 10, 9, 10, 0, 0, 123456)
HEADER = ["客户编号", "资产权益", "上年度净佣金", "当前级别", "风险测评得分", "开户日期"]
OLD = dt.datetime(2015, 3, 1)


def sheet(rows: list[list[Any]], header: list[str] = HEADER) -> Any:
    return sheet_from_grid("客户", [header, *rows])


def rated(rows: list[list[Any]], mode: str = "quarterly", period: str = "2026Q3",
          header: list[str] = HEADER, operator: str = "张三") -> tuple:
    spec = settle(period, mode, "brokerage", operator, NOW)
    table = read_table(sheet(rows, header), spec)
    rating = evaluate(table.t, spec)
    return spec, table, rating, apply_mode(rating, spec)


# ---------------------------------------------------------------------------------- settle

def test_settle_checks_the_period_kind_and_the_operator() -> None:
    spec = settle("2026Q3", "quarterly", "brokerage", " 张三 ", NOW)
    assert (spec.mode, spec.period.label, spec.operator) == ("quarterly", "2026Q3", "张三")
    assert spec.rulebook.ref == "brokerage@2009.1" and spec.now == NOW.replace(microsecond=0)
    assert spec.labels == ["VIP客户", "核心客户", "潜力客户", "普通客户"]
    assert settle(2026.0, "annual", "brokerage", "张三", NOW).period.label == "2026"
    with pytest.raises(WorkbookError, match="评级周期 2026 不适用于季度重评级：请填写季度（如 2026Q3）"):
        settle("2026", "quarterly", "brokerage", "张三", NOW)
    with pytest.raises(WorkbookError, match="请填写操作员"):
        settle("2026Q3", "quarterly", "brokerage", "  ", NOW)


# -------------------------------------------------------------------------------- evaluate

def test_evaluate_gives_the_rules_tier_the_risk_class_and_the_service_tables() -> None:
    _spec, table, rating, _dec = rated([
        ["C1", 20_000_000, 0, None, 80, OLD],     # > 1000万: VIP
        ["C2", 150_000, 6_000, None, 50, OLD],    # 10万–25万 with 净佣金 ≥ 5000: 核心
        ["C3", 150_000, 0, "核心客户", None, OLD],  # 10万–25万: 潜力 (holds 核心)
        ["C4", -5, 0, None, 30, OLD],             # rejected: no tier, no risk class
    ])
    labels = ["VIP客户", "核心客户", "潜力客户", "普通客户", None]
    assert [labels[r] for r in rating.computed] == ["VIP客户", "核心客户", "潜力客户", None]
    assert rating.held.tolist() == [-1, -1, 1, -1] and rating.ok.tolist() == [1, 1, 1, 0]
    assert rating.risk.tolist() == ["进取型", "稳健型", None, None]
    assert rating.risk_ref.startswith("risk-class@")
    assert "第 5 行「资产权益」" in table.t.rejected[3].reason
    # 服务产品 by [rank, opened this year], 年拜访次数 by rank (seed 000's table)
    assert rating.service[:4, 0].tolist() == ["财务通", "财富通", "财路通", "基础服务"]
    assert rating.visits.tolist() == [1.0, 1.0, 0.0, 0.0, None]


# ------------------------------------------------------------------------------ apply_mode

def test_quarterly_keeps_the_higher_tier_annual_takes_the_computed_one() -> None:
    rows = [["C1", 150_000, 0, "核心客户", None, OLD],   # computed 潜力, holds 核心
            ["C2", 300_000, 0, "潜力客户", None, OLD]]   # computed 核心: 升级
    _s, _t, _r, q = rated(rows)
    assert q.new_rank.tolist() == [1, 1] and q.kinds.tolist() == ["保留 (就高不就低)", "升级"]
    _s, _t, _r, a = rated(rows, mode="annual", period="2026")
    assert a.new_rank.tolist() == [2, 1] and a.kinds.tolist() == ["降级", "升级"]


def test_annual_scope_leaves_accounts_opened_after_the_data_date() -> None:
    _s, _t, _r, dec = rated([["C1", 300_000, 0, None, None, OLD],
                             ["C2", 300_000, 0, None, None, dt.datetime(2027, 1, 3)],
                             ["C3", 300_000, 0, None, None, None]], mode="annual", period="2026")
    assert dec.scope.tolist() == [True, False, True] and dec.act.tolist() == [0, 2]
    assert dec.opened_after == [(3, "C2", dt.date(2027, 1, 3))]
    assert dec.after_rank.tolist() == [1, -1, 1]  # C2 shows what it held (nothing)


def test_new_accounts_rate_the_month_and_report_an_unreadable_open_date() -> None:
    _s, table, _r, dec = rated([["C1", 300_000, 0, None, None, dt.datetime(2026, 9, 10)],
                                ["C2", 300_000, 0, None, None, OLD],
                                ["C3", 300_000, 0, None, None, "上月"]],
                               mode="new-accounts", period="2026-09")
    assert dec.scope.tolist() == [True, False, True] and dec.act.tolist() == [0]
    assert table.t.rejected[2].columns == ["开户日期"]  # in scope so that it is listed
    assert dec.new_rank.tolist()[0] == 1  # 核心客户 (25万–1000万)


def test_an_approved_override_wins_and_is_noted() -> None:
    header = [*HEADER, "特别调整级别", "调整审批人", "调整日期"]
    spec, _t, rating, dec = rated([["C1", 50_000, 0, None, None, OLD, "VIP客户", "王总",
                                    dt.datetime(2026, 9, 1)]], header=header)
    assert dec.new_rank.tolist() == [0] and dec.kinds.tolist() == ["特别调整"]
    assert rating.computed.tolist() == [3]  # the rules alone: 普通客户
    basis = new_values(rating, dec, spec).values["basis"][0]
    assert basis.startswith("特别调整为VIP客户（审批人：王总，调整日期：2026-09-01）；按规则计算：")


# ------------------------------------------------------------------------------ new_values

def test_new_values_are_the_cells_of_the_rated_rows() -> None:
    spec, _table, rating, dec = rated([["C1", 150_000, 0, "核心客户", 80, OLD],
                                      ["C2", -5, 0, None, None, OLD]])
    vals = new_values(rating, dec, spec)
    v = vals.values
    assert vals.keys[:8] == ["current_tier", "change", "basis", "service", "visits",
                             "risk_class", "period", "rulebook_ref"]
    assert (v["current_tier"], v["change"], v["risk_class"]) == (["核心客户"], ["保留 (就高不就低)"], ["进取型"])
    assert (v["service"], v["visits"], v["period"]) == (["财富通"], [1.0], ["2026Q3"])
    assert v["basis"][0].endswith("；就高不就低，保留核心客户")
    _s, _t, r_a, d_a = rated([["C1", 150_000, 0, "核心客户", 80, OLD]], mode="annual",
                             period="2026")
    annual = new_values(r_a, d_a, _s)
    assert annual.keys[0] == "annual_tier" and annual.values["annual_tier"] == ["潜力客户"]


# ---------------------------------------------------------------------------- diff_columns

def test_diff_columns_writes_only_changed_cells_never_a_formula_and_creates_columns() -> None:
    header = ["客户编号", "资产权益", "上年度净佣金", "当前级别", "风险类别"]
    grid = [header, ["C1", 300_000, 0, "核心客户", None],   # unchanged tier
            ["C2", 300_000, 0, "潜力客户", None],            # 升级
            ["C3", 20_000_000, 0, "普通客户", None]]         # 升级, but a formula in 当前级别
    spec = settle("2026Q3", "quarterly", "brokerage", "张三", NOW)
    table = read_table(sheet_from_grid("客户", grid, {(4, 4): "CLIENT_TIER(B4,C4)"}), spec)
    rating = evaluate(table.t, spec)
    dec = apply_mode(rating, spec)
    diff = write.diff_columns(table.data, table.t.cols, table.t.rows, dec.act,
                              new_values(rating, dec, spec))
    assert diff.columns[4] == [KEEP, "核心客户", KEEP]  # C3's formula cell left to Excel
    assert diff.changed["current_tier"].tolist() == [False, True, False]
    assert 5 not in diff.columns  # 风险类别: no score, nothing to write
    assert [diff.headers[c] for c in sorted(diff.headers)] == [
        "级别变动", "级别依据", "服务产品", "年拜访次数", "评级期间", "规则版本"]
    assert diff.cells_written == 6 + 1 + 6 * 3  # headers, C2's tier, 3 rows × 6 new columns


# --------------------------------------------------------------------- change rows, the log

def _through_log(rows: list[list[Any]], log: history.LogState | None = None) -> tuple:
    spec, table, rating, dec = rated(rows)
    vals = new_values(rating, dec, spec)
    diff = write.diff_columns(table.data, table.t.cols, table.t.rows, dec.act, vals)
    common = {"运行编号": "R1", "时间": "2026-10-09 10:00:00", "操作员": spec.operator,
              "模式": spec.mode, "评级期间": spec.period.label, "规则版本": spec.rulebook.ref}
    changes, rows_ = write.change_rows(rating, dec, vals, diff, spec, common)
    rejected = [table.t.rejected[i] for i in sorted(table.t.rejected)]
    rows_ += write.reject_rows(rejected, common)
    run_row = history.make_row(记录类型=history.RUN, **common, 统计=f"记录数={len(rows_)}")
    return changes, write.chain_log(log or history.LogState(), run_row, rows_)


def test_change_rows_log_what_changed_and_the_rejected_rows_hash_chained() -> None:
    changes, log = _through_log([["C1", 300_000, 0, "核心客户", None, OLD],  # unchanged: no row
                                 ["C2", 300_000, 0, "潜力客户", None, OLD],  # 升级
                                 ["C3", "abc", 0, None, None, OLD]])        # rejected
    assert [(c.row, c.client_id, c.before, c.after, c.change, c.rule_id) for c in changes] == \
        [(3, "C2", "潜力客户", "核心客户", "升级", "BRK-CORE-1")]
    kinds = [r[0] for r in log.new]
    assert kinds == [history.RUN, history.CHANGE, history.REJECT]
    assert log.new[1][history.HEADER.index("输入数据")] == "资产权益=300,000；上年度净佣金=0"
    assert log.new[2][history.HEADER.index("客户编号")] == "C3"
    assert log.first_row == 1 and log.rows[0] == list(history.HEADER)
    assert history.verify_chain(log.rows) == []
    # a second run chains onto the first one's last row, appended below it
    state = history.state_of(log.rows)
    _c, again = _through_log([["C2", 300_000, 0, "潜力客户", None, OLD]], state)
    assert again.first_row == len(log.rows) + 1 and again.rows is again.new
    assert history.verify_chain([*log.rows, *again.new]) == []


# ----------------------------------------------------------------------- summary, outcome

def _result(**kw: Any) -> RunResult:
    return RunResult(run_id="R1", path=None, out_path=None, period="2026Q3",  # type: ignore
                     mode="quarterly", rulebook_ref="brokerage@2009.1", operator="张三",
                     time="2026-10-09 10:00:00", **kw)


def test_summary_rows_hold_the_counts_and_the_runs_identity() -> None:
    spec = settle("2026Q3", "quarterly", "brokerage", "张三", NOW)
    res = _result(n_clients=3, n_in_scope=2,
                  before={"VIP客户": 0, "核心客户": 1, "潜力客户": 1, "普通客户": 0, "无级别": 1},
                  after={"VIP客户": 0, "核心客户": 2, "潜力客户": 0, "普通客户": 0, "无级别": 1},
                  change_counts={k: 0 for k in summary.CHANGE_ROWS} | {"升级": 1})
    rows = write.summary_rows(res, spec, 1, "abc123")
    assert rows[:3] == [["级别", "评级前", "评级后"], ["VIP客户", 0.0, 0.0], ["核心客户", 1.0, 2.0]]
    assert ["升级", 1.0] in rows and ["数据有误未处理", 1.0] in rows
    assert ["模式", "季度重评级（quarterly）"] in rows and ["操作员", "张三"] in rows
    assert summary.read_tail(rows) == "abc123"


def test_outcome_says_what_the_run_did_and_exits_accordingly() -> None:
    spec = settle("2026Q3", "quarterly", "brokerage", "张三", NOW)
    res = _result(n_clients=3, n_in_scope=2, cells_written=7,
                  rejections=[(4, "C3", "资产权益", "abc", "第 4 行…")])
    assert write.outcome(res, spec, [], 1) is True
    assert res.exit_code == EXIT_REJECTED
    assert res.message == "已完成季度重评级 2026Q3：处理 2 位客户，修改 7 个单元格，拒绝 1 行。"
    every = _result(n_clients=1, n_in_scope=0)
    assert write.outcome(every, spec, [], 1) is False and every.exit_code == EXIT_FATAL
    assert every.message == "所有客户行都有错误，未做任何更改。"
    again = _result(n_clients=1, n_in_scope=1, already_applied=True)
    assert write.outcome(again, spec, ["R0"], 0) is False and again.noop
    assert again.exit_code == EXIT_OK and "已执行过（运行编号 R0）" in again.message
    dry = settle("2026Q3", "quarterly", "brokerage", "张三", NOW, dry_run=True)
    trial = _result(n_clients=1, n_in_scope=1, cells_written=3)
    assert write.outcome(trial, dry, [], 0) is False
    assert trial.message == "试运行：将修改 3 个单元格，未写入文件。"


def test_check_log_refuses_a_period_earlier_than_one_applied() -> None:
    _c, log = _through_log([["C2", 300_000, 0, "潜力客户", None, OLD]])
    rows = [list(r) for r in log.rows]
    rows[1][history.HEADER.index("评级期间")] = "2026Q4"  # as if 2026Q4 had run
    rows = [rows[0], *history.chain("", [r[:history.N_FIELDS] for r in rows[1:]])]
    book = BookData(clients=sheet([]), history_sheet="变更记录", log=history.state_of(rows))
    with pytest.raises(PeriodOrderError, match="评级期间不能倒退：已执行过季度重评级 2026Q4"):
        check_log(book, settle("2026Q3", "quarterly", "brokerage", "张三", NOW))
    done, backwards, warnings = check_log(
        book, settle("2026Q3", "quarterly", "brokerage", "张三", NOW, force=True))
    assert done == [] and "2026Q4" in backwards and warnings == []
    done, backwards, _w = check_log(book, settle("2026Q4", "quarterly", "brokerage", "张三", NOW))
    assert done == ["R1"] and backwards == ""
