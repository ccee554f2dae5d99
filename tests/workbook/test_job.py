"""The workbook contract and the re-rating job end to end on small generated workbooks."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from branch_files import plain_branch

from addin.buttons import WORKBOOK_MACROS
from workbook import history, summary
from workbook.demo import HYPERLINK_NAME, make_demo_clients, previous_quarter, run_demo
from workbook.job import rerate
from workbook.schema import WorkbookError
from workbook.template import new_workbook
from workbook.xlsxio import read_sheet

NOW = dt.datetime(2026, 10, 9, 10, 0, 0)


def _rows(path: Path, sheet: str) -> list[list]:
    d = read_sheet(path, sheet)
    return [[d.value(r, c) for c in range(1, d.n_cols + 1)] for r in range(1, d.n_rows + 1)]


def _by_id(path: Path, sheet: str = "客户") -> dict[str, dict]:
    d = read_sheet(path, sheet)
    out = {}
    for r in range(2, d.n_rows + 1):
        row = {h: d.value(r, c) for c, h in enumerate(d.header, start=1)}
        row["_row"] = r
        cid = row.get("客户编号") or row.get("client_id")
        out[str(cid)] = row
    return out




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
    {"客户编号": "C8", "资产权益": 120_000, "上年度净佣金": 6000, "当前级别": "五类"},
    {"客户编号": "C9", "资产权益": 1_000, "当前级别": "核心客户", "开户日期": dt.date(2026, 11, 2)},
]


@pytest.fixture()
def wb(tmp_path: Path) -> Path:
    return new_workbook(tmp_path / "branch.xlsx", clients=CLIENTS)


def test_quarterly_upgrade_only_overrides_and_rejections(wb: Path) -> None:
    before = _by_id(wb)
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    assert res.written and res.exit_code == 3
    after = _by_id(wb)
    assert after["C1"]["当前级别"] == "核心客户" and after["C1"]["级别变动"] == "升级"
    assert after["C2"]["当前级别"] == "VIP客户"  # "25万" -> 250,000 -> 核心, kept VIP
    assert after["C2"]["级别变动"] == "保留 (就高不就低)"
    assert after["C6"]["当前级别"] == "核心客户"  # base = 年度级别 when 当前级别 is empty
    assert after["C7"]["当前级别"] == "潜力客户" and after["C7"]["级别变动"] == "特别调整"
    assert after["C5"]["级别变动"] == "首次评级" and after["C5"]["当前级别"] == "VIP客户"
    assert after["C1"]["服务产品"] == "财富通" and after["C1"]["年拜访次数"] == 1
    assert after["C1"]["评级期间"] == "2026Q3" and after["C1"]["规则版本"] == "brokerage@2009.1"
    # rejected rows keep every cell
    for cid in ("C3", "C4", "C8"):
        assert after[cid] == before[cid], cid
    rej = {r[1]: r for r in res.rejections}
    assert set(rej) == {"C3", "C4", "C8"}
    row, _cid, col, val, why = rej["C3"]
    assert (row, col, val) == (4, "资产权益", -5.0)
    assert why == "第 4 行「资产权益」：不能为负数：-5"
    assert "调整审批人" in rej["C4"][4] and rej["C4"][2] == "特别调整级别"
    assert "五类" in rej["C8"][4] and rej["C8"][2] == "当前级别"
    # the name that looks like a formula stays text, with no formula
    d = read_sheet(wb, "客户")
    assert after["C5"]["客户名称"] == HYPERLINK_NAME
    assert (after["C5"]["_row"], d.header.index("客户名称") + 1) not in d.formulas
    assert res.before["无级别"] >= 1 and sum(res.after.values()) == len(CLIENTS)
    assert res.upgrades == 1 and res.kept == 3  # C2, C6, C9


def test_annual_may_go_down_and_writes_annual_tier(wb: Path) -> None:
    res = rerate(wb, period="2026", mode="annual", operator="测试", now=NOW)
    after = _by_id(wb)
    assert after["C2"]["当前级别"] == "核心客户" and after["C2"]["年度级别"] == "核心客户"
    assert after["C2"]["级别变动"] == "降级"
    assert after["C9"]["当前级别"] == "普通客户"
    assert res.change_counts["降级"] >= 2


def test_new_accounts_only_rows_opened_in_the_month(wb: Path) -> None:
    before = _by_id(wb)
    res = rerate(wb, period="2026-11", mode="new-accounts", operator="测试", now=NOW)
    after = _by_id(wb)
    assert res.n_in_scope == 1
    assert after["C9"]["当前级别"] == "核心客户"  # upgrade-only against its tier
    assert after["C9"]["评级期间"] == "2026-11"
    for cid in ("C1", "C2", "C5", "C6"):
        assert after[cid]["当前级别"] == before[cid]["当前级别"], cid
    assert res.rejections == []  # bad rows outside the month are not this run's business


def test_wrong_period_for_mode_is_refused(wb: Path) -> None:
    with pytest.raises(WorkbookError, match="不适用"):
        rerate(wb, period="2026", mode="quarterly", operator="x")


def test_dry_run_writes_nothing(wb: Path) -> None:
    data = wb.read_bytes()
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="测试", dry_run=True)
    assert not res.written and res.cells_written > 0
    assert wb.read_bytes() == data


def test_second_run_same_period_is_noop_unless_forced(wb: Path) -> None:
    rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    data = wb.read_bytes()
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="测试")
    assert res.already_applied and not res.written and res.exit_code == 0  # a no-op says so
    assert "已执行过" in res.message
    assert wb.read_bytes() == data
    tiers = {k: v["当前级别"] for k, v in _by_id(wb).items()}
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="测试", force=True)
    assert res.written
    assert {k: v["当前级别"] for k, v in _by_id(wb).items()} == tiers
    assert _by_id(wb)["C5"]["级别变动"] == "维持"  # was 首次评级, now the tier is held
    runs = history.applied_runs(_rows(wb, "变更记录"))
    assert len(runs) == 2


def test_headers_any_order_english_aliases_unknown_columns_kept(tmp_path: Path) -> None:
    header = ["备注栏", "commission", " client_id ", "assets", "current_tier", "其他"]
    rows = [["甲", 0, "A1", 300_000, "普通", "x"],
            ["乙", None, "A2", 20_000_000, None, "=SUM(1,2)"],
            ["丙", 100, "A3", "1,000,000", "核心客户", None]]
    p = plain_branch(tmp_path / "plain.xlsx", rows, header, notes_sheet=True)
    res = rerate(p, period="2026Q3", mode="quarterly", operator="t", now=NOW)
    assert res.exit_code == 0
    d = read_sheet(p, "客户")
    assert d.header[:6] == ["备注栏", "commission", "client_id", "assets", "current_tier", "其他"]
    for h in ("级别变动", "级别依据", "服务产品", "年拜访次数", "风险类别", "评级期间", "规则版本"):
        assert h in d.header, h
    assert "当前级别" not in d.header  # current_tier is the same column
    assert d.column("current_tier") == ["核心客户", "VIP客户", "核心客户"]
    assert d.column("其他") == ["x", "=SUM(1,2)", None]
    assert d.column("备注栏") == ["甲", "乙", "丙"]
    assert not d.formulas
    # 变更记录 and 汇总 were added, 汇总 with the template's native chart on the tier counts
    with zipfile.ZipFile(p) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1
        xml = z.read(charts[0]).decode()
    assert "汇总!$A$2:$A$5" in xml and "汇总!$B$2:$B$5" in xml and "汇总!$C$2:$C$5" in xml
    assert summary.CHART_TITLE in xml
    assert _rows(p, "备注") == [["不要动我"]]


def test_missing_client_id_column_is_a_clear_error(tmp_path: Path) -> None:
    p = plain_branch(tmp_path / "bad.xlsx", [[1.0]], ["资产权益"], notes_sheet=True)
    with pytest.raises(WorkbookError, match="客户编号"):
        rerate(p, period="2026Q3", mode="quarterly", operator="t")


def test_untouched_zip_entries_are_byte_identical(wb: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    rerate(wb, period="2026Q3", mode="quarterly", operator="t", out=out, now=NOW)
    with zipfile.ZipFile(wb) as a, zipfile.ZipFile(out) as b:
        ours = {"xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml",
                "xl/_rels/workbook.xml.rels", "xl/calcChain.xml"}
        sheets = {"xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml",
                  "xl/worksheets/sheet4.xml"}  # 客户, 变更记录, 汇总
        for name in a.namelist():
            if name in ours or name in sheets:
                continue
            assert a.read(name) == b.read(name), name
        assert "xl/charts/chart1.xml" in b.namelist()


def test_history_chain_verifies_and_detects_tampering(wb: Path) -> None:
    rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    rerate(wb, period="2026", mode="annual", operator="测试", now=NOW)
    rows = history.data_rows(_rows(wb, "变更记录"))
    tail = summary.read_tail(_rows(wb, "汇总"))
    assert tail and history.verify_chain(rows, tail) == []
    assert [r[0] for r in rows].count(history.RUN) == 2
    assert any(r[0] == history.REJECT and "不能为负数" in r[11] for r in rows)
    edited = [list(r) for r in rows]
    edited[2][11] += "（改）"
    assert [p[0] for p in history.verify_chain(edited)] == [4]
    deleted = rows[:2] + rows[3:]
    assert history.verify_chain(deleted)
    assert history.verify_chain(rows[:-1])  # the last run's count no longer matches
    assert history.verify_chain(rows[:-1], tail)
    swapped = [rows[0], rows[2], rows[1], *rows[3:]]
    assert history.verify_chain(swapped)
    inserted = [*rows[:2], list(rows[1]), *rows[2:]]
    assert history.verify_chain(inserted)


def test_demo_end_to_end(tmp_path: Path) -> None:
    res = run_demo(300, tmp_path, today=dt.date(2026, 11, 21), quiet=True,
                   macros=WORKBOOK_MACROS)
    assert res.written and res.period == "2026Q3" and res.exit_code == 3
    assert len(res.rejections) == 5
    # the risk score 120 is a secondary field: the row is rated, the field flagged (issue 17)
    assert [(f[2], f[3]) for f in res.flags] == [("风险测评得分", 120.0)]
    assert previous_quarter(dt.date(2026, 2, 1)) == "2025Q4"
    clients = make_demo_clients(300, 7, today=dt.date(2026, 11, 21))
    assert any(c.get("资产权益") == "25万" for c in clients)
    assert sum(c.get("上年度净佣金") is None for c in clients) > 10
    path = tmp_path / "demo-branch.xlsm"
    rows = _by_id(path)
    assert any(r["客户名称"] == HYPERLINK_NAME for r in rows.values())


def test_cli_rerate_exit_codes_and_errors(wb: Path, capsys: pytest.CaptureFixture) -> None:
    from addin.cli import main

    assert main(["rerate", str(wb), "--period", "2026Q3", "--mode", "quarterly",
                 "--operator", "t", "--dry-run"]) == 3
    assert main(["rerate", str(wb), "--period", "2026Q3", "--mode", "quarterly",
                 "--operator", "t"]) == 3
    assert main(["rerate", str(wb), "--period", "2026Q3", "--mode", "quarterly",
                 "--operator", "t"]) == 0  # already applied: a no-op that says so
    assert "已执行过" in capsys.readouterr().out
    assert main(["rerate", str(wb), "--period", "2026Q3", "--mode", "quarterly",
                 "--operator", "t", "--force"]) == 3
    assert main(["rerate", str(wb) + ".nope", "--period", "2026Q3", "--mode", "quarterly",
                 "--operator", "t"]) == 1
    err = capsys.readouterr().err
    assert "错误：" in err and "Traceback" not in err


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice (soffice) not on PATH")
def test_libreoffice_opens_demo_and_rerated_file(tmp_path: Path) -> None:
    blank = new_workbook(tmp_path / "blank.xlsx")
    run_demo(200, tmp_path, today=dt.date(2026, 11, 21), quiet=True,
             macros=WORKBOOK_MACROS)
    for f in (blank, tmp_path / "demo-branch.xlsm"):
        out = tmp_path / "pdf"
        subprocess.run([_soffice(), "--headless", "--convert-to", "pdf", "--outdir", str(out),
                        str(f)], check=True, timeout=180, capture_output=True)
        assert (out / (f.stem + ".pdf")).stat().st_size > 0


def test_files_load_in_openpyxl(tmp_path: Path) -> None:
    """A second reader parses the template, the re-rated demo and the appended sheets."""
    import openpyxl

    blank = new_workbook(tmp_path / "blank.xlsx")
    run_demo(120, tmp_path, today=dt.date(2026, 11, 21), quiet=True,
             macros=WORKBOOK_MACROS)
    for f in (blank, tmp_path / "demo-branch.xlsm"):
        wb = openpyxl.load_workbook(f)
        assert wb.sheetnames == ["控制台", "客户", "变更记录", "汇总", "规则"]
        wb.close()
    plain = plain_branch(tmp_path / "plain.xlsx", [["A", 1e6, 0]],
                         ["客户编号", "资产权益", "上年度净佣金"], notes_sheet=True)
    rerate(plain, period="2026Q3", mode="quarterly", operator="t", now=NOW)
    wb = openpyxl.load_workbook(plain)
    assert wb.sheetnames == ["客户", "备注", "变更记录", "汇总"]
    assert wb["客户"]["D2"].value == "核心客户"


def test_log_explains_every_tier_and_run_row_records_tier_digest(wb: Path) -> None:
    """After a run, every processed client's 当前级别 is either the computed tier (维持/升级 with
    no entry needed) or named by a 变更 row of the run — 保留 (kept above the computed tier)
    included — and the run row's 级别摘要 is the digest of the tiers the sheet shows."""
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    log = history.data_rows(_rows(wb, "变更记录"))
    h = history.HEADER
    changes = {r[h.index("客户编号")]: r for r in log if r[0] == history.CHANGE}
    assert {c: changes[c][h.index("级别变动")] for c in ("C2", "C6", "C9")} == \
        {"C2": "保留 (就高不就低)", "C6": "保留 (就高不就低)", "C9": "保留 (就高不就低)"}
    assert changes["C6"][h.index("变更后")] == "核心客户"
    run = next(r for r in log if r[0] == history.RUN)
    stats = history.stats_of(run[h.index("统计")])
    rows = _by_id(wb)
    ids = list(rows)
    tiers = [str(rows[c]["当前级别"] or "").strip() for c in ids]
    assert stats[history.TIER_DIGEST] == history.tier_digest(ids, tiers)
    assert int(stats["记录数"]) == len(log) - 1 and res.kept == 3
    # one typed-over tier changes the digest
    tiers[ids.index("C1")] = "VIP客户"
    assert stats[history.TIER_DIGEST] != history.tier_digest(ids, tiers)


def test_progress_messages_match_the_progress_bar_steps(wb: Path) -> None:
    from workbook.job import PROGRESS_STEPS

    seen: list[str] = []
    rerate(wb, period="2026Q3", mode="quarterly", operator="t", now=NOW, progress=seen.append)
    assert len(seen) == PROGRESS_STEPS and seen[0] == "检查文件" and seen[-1] == "写入文件"


@pytest.mark.parametrize(("now", "said"), [
    (dt.datetime(2026, 10, 9, 10), None),  # in the window: 2026-10-08, 10-09, 10-12
    (dt.datetime(2026, 11, 21, 10), "不在 2026Q3 的运行窗口（2026-10-08 至 2026-10-12，上交所工作日）内：本次为补跑"),
    (dt.datetime(2026, 9, 15, 10), "评级期间 2026Q3 尚未结束（数据应截至 2026-09-30），本次为提前运行"),
])
def test_run_outside_the_policy_window_is_allowed_and_said(wb: Path, now, said) -> None:
    res = rerate(wb, period="2026Q3", mode="quarterly", operator="t", now=now, dry_run=True)
    timing = [w for w in res.warnings if "窗口" in w or "尚未结束" in w]
    assert timing == ([] if said is None else [next(w for w in timing if said in w)])
    assert res.exit_code == 3  # the run itself is not refused (C3's bad assets are)


def test_window_the_calendar_cannot_tell_is_counted_on_weekdays_and_said(wb: Path) -> None:
    # 2026Q4's window lies in January 2027, beyond the SSE holidays the calendar package knows:
    # counted Monday to Friday (01-01, 01-04, 01-05), with a warning that says so
    res = rerate(wb, period="2026Q4", mode="quarterly", operator="t",
                 now=dt.datetime(2027, 1, 6, 10), dry_run=True)
    assert "2026Q4 的运行窗口：交易日历未维护 2027 年的休市安排，窗口按周一至周五推算，未扣除法定节假日" \
        "（请在 rules/data/extra_holidays.toml 补录 2027 年休市日或升级 exchange-calendars）。" \
        in res.warnings, res.warnings
    assert any("不在 2026Q4 的运行窗口（2027-01-01 至 2027-01-05，上交所工作日）内：本次为补跑" in w
               for w in res.warnings), res.warnings
    assert not any(w.startswith("无法核对") for w in res.warnings)
    assert res.exit_code == 3
    on_time = rerate(wb, period="2026Q4", mode="quarterly", operator="t",
                     now=dt.datetime(2027, 1, 4, 10), dry_run=True)
    assert not any("不在" in w for w in on_time.warnings)
    assert any("交易日历未维护 2027 年" in w for w in on_time.warnings)


def test_run_checks_the_log_rows_it_reads(wb: Path) -> None:
    """A run reads only the run rows, the row before each and the last rows of 变更记录; on
    those it sees an edited run row, rows deleted or inserted between runs, and a cut tail."""
    from workbook.job import read_book

    rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    rerate(wb, period="2026", mode="annual", operator="测试", now=NOW)
    rows = _rows(wb, "变更记录")
    tail = summary.read_tail(_rows(wb, "汇总"))
    full = history.state_of(rows)
    log = read_book(wb).log
    assert (log.n_rows, log.runs) == (full.n_rows, full.runs) == (len(rows), log.runs)
    assert len(log.runs) == 2 and all(log.rows[r] == full.rows[r] for r in log.rows)
    assert set(log.rows) == {*log.runs, *(r - 1 for r in log.runs[1:]), len(rows) - 1, len(rows)}
    assert log.problems(tail) == [] and log.tail == tail
    second = log.runs[1]

    def problems(rows: list[list], tail: str | None = None) -> list[tuple[int, str]]:
        return history.state_of(rows).problems(tail)

    edited = [list(r) for r in rows]
    edited[second - 1][5] = "2025"  # the period of the second run
    assert problems(edited) == [(second, history._HASH_MISMATCH)]
    deleted = rows[:3] + rows[4:]  # a row of the first run
    assert (2, "该次运行缺少 1 行记录（已被删除）") in problems(deleted)
    inserted = [*rows[:3], list(rows[2]), *rows[3:]]
    assert (2, "该次运行多出 1 行记录（被插入）") in problems(inserted)
    cut = rows[:-1]
    assert (len(rows), history._TAIL_MISMATCH) in problems(cut, tail)
    assert (second, "该次运行缺少 1 行记录（已被删除）") in problems(cut, tail)

    # in a file: an edited run row is reported by the next run (a warning; the run goes on)
    from workbook.xlsxio import SheetEdit, patch_workbook

    patch_workbook(wb, wb, {"变更记录": SheetEdit(cells={(second, 6): "2025"})})
    res = rerate(wb, period="2026Q4", mode="quarterly", operator="测试",
                 now=dt.datetime(2027, 1, 8, 10, 0))
    assert f"变更记录第 {second} 行：{history._HASH_MISMATCH}" in res.warnings
    assert res.written


def test_file_changed_after_reading_is_not_overwritten(wb: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from workbook import job

    real = job.read_book

    def read_then_someone_saves(path: Path) -> job.BookData:
        book = real(path)
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        return book

    monkeypatch.setattr(job, "read_book", read_then_someone_saves)
    before = wb.read_bytes()
    with pytest.raises(WorkbookError, match="在读取后被修改过"):
        rerate(wb, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    assert wb.read_bytes() == before


def test_validate_converts_each_distinct_cell_once_but_keeps_true_apart_from_one() -> None:
    """validate converts each distinct cell of a column once; True and 1.0 are equal in Python
    and must still be told apart (TRUE is not a date, 1 is 1900-01-01)."""
    from rules import get_rulebook
    from workbook.grid import sheet_from_grid
    from workbook.schema import validate

    header = ["客户编号", "开户日期", "资产权益", "当前级别", "风险测评得分", "上年度净佣金"]
    grid = [header,
            ["A", 1.0, 100.0, "核心", 50.0, 0.0],
            ["B", True, 100.0, "核心客户", True, 0.0],
            ["C", 1.0, 100.0, "黄金客户", 101.0, 0.0],
            ["D", dt.datetime(2026, 8, 1), 100.0, None, "60", 0.0]]
    t = validate(sheet_from_grid("客户", grid), get_rulebook("brokerage", dt.date(2026, 9, 30)))
    assert t.open_date[0] == dt.date(1900, 1, 1) and t.open_date[3] == dt.date(2026, 8, 1)
    assert sorted(t.rejected) == [1, 2]
    assert t.rejected[1].column == "开户日期" and "TRUE" in t.rejected[1].reason
    assert t.rejected[2].column == "当前级别" and "黄金客户" in t.rejected[2].reason
    assert t.current.tolist() == [1, 1, -1, -1]
    assert t.risk_score[0] == 50.0 and t.risk_score[3] == 60.0 and np.isnan(t.risk_score[2])


def test_row_with_a_name_but_no_id_is_rejected_not_skipped(tmp_path: Path) -> None:
    """A run reads only the columns it uses, unless a row has no 客户编号: then the other
    contract columns decide whether the row is there (rejected) or blank (skipped)."""
    path = plain_branch(tmp_path / "n.xlsx",
                        [["C1", "甲", 300_000, 0], [None, "乙", None, None],
                         [None, None, None, None], ["C2", "丙", 6_000_000, 0]],
                        ["客户编号", "客户名称", "资产权益", "上年度净佣金"], notes_sheet=True)
    res = rerate(path, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    # every problem of the row: no 客户编号, and 资产权益 empty (issue 17)
    assert res.exit_code == 3 and [r[:3] for r in res.rejections] == [(3, "", "客户编号、资产权益")]
    assert res.rejections[0][4] == "第 3 行「客户编号」：为空；「资产权益」：为空（必填）"
    assert res.n_clients == 3  # C1, the row of 乙, C2 (row 4 is blank)
    tiers = _by_id(path)
    assert tiers["C2"]["当前级别"] == "核心客户" and tiers["C2"]["客户名称"] == "丙"


def test_tier_digest_is_the_sha256_of_the_sorted_pairs() -> None:
    """tier_digest sorts in numpy; the digest stays the one of the sorted (id, tier) pairs."""
    import hashlib
    import random

    rng = random.Random(5)
    ids = [rng.choice(["C", "c", "客", "C1", "", "Ä"]) + str(rng.randint(0, 50)) for _ in range(3000)]
    tiers = [rng.choice(["VIP客户", "核心客户", "", "普通客户", "潜力客户"]) for _ in ids]
    ids[7], tiers[7] = "Z\x00", "核心客户"  # a NUL: sorted in Python

    def reference(ids: list[str], tiers: list[str]) -> str:
        h = hashlib.sha256()
        for c, t in sorted((c, t) for c, t in zip(ids, tiers, strict=True) if t):
            h.update(f"{c}\x1f{t}\n".encode())
        return h.hexdigest()

    assert history.tier_digest(ids, tiers) == reference(ids, tiers)
    assert history.tier_digest(ids[8:], tiers[8:]) == reference(ids[8:], tiers[8:])
    assert history.tier_digest([], []) == reference([], [])
    long_ids = [*ids[8:], "L" * 500]  # one long id: sorted in Python too
    assert history.tier_digest(long_ids, [*tiers[8:], "核心客户"]) == \
        reference(long_ids, [*tiers[8:], "核心客户"])


def test_basis_made_when_written_is_the_basis_made_at_once(wb: Path, tmp_path: Path) -> None:
    """A file run makes 级别依据 lazily (only hashes of the old ones read, the new ones made as
    the patch reaches them); a run on fully read values makes them as a list. Same cells."""
    from workbook.job import BookData, LazyColumn, plan_run, read_book
    from workbook.xlsxio import KEEP, SheetEdit, patch_workbook

    rerate(wb, period="2026Q2", mode="quarterly", operator="测试", now=NOW)
    data = read_sheet(wb, "客户")  # this quarter's figures typed in
    a = data.col_of("资产权益")
    moved = [v * 1.1 if isinstance(v, float) else v for v in data.columns[a - 1]]
    patch_workbook(wb, wb, {"客户": SheetEdit(columns={a: moved})})
    other = tmp_path / "other.xlsx"
    shutil.copyfile(wb, other)
    kw = {"period": "2026Q3", "mode": "quarterly", "operator": "测试",
          "now": dt.datetime(2026, 10, 9, 10, 0)}
    lazy = plan_run(read_book(wb), **kw)
    eager = plan_run(BookData(clients=read_sheet(wb, "客户"), history_sheet="变更记录",
                              log=read_book(wb).log), **kw)
    c = read_sheet(wb, "客户").col_of("级别依据")
    assert isinstance(lazy.columns[c], LazyColumn) and isinstance(eager.columns[c], list)
    col = lazy.columns[c]
    assert list(col) == eager.columns[c] and len(col) == len(eager.columns[c])
    assert col.count(KEEP) == eager.columns[c].count(KEEP)
    for sl in (slice(0, 3), slice(2, 5), slice(1, None, 2), slice(-3, None)):
        assert col[sl] == eager.columns[c][sl]
    assert [col[i] for i in range(len(col))] == eager.columns[c]
    assert lazy.result.cells_written == eager.result.cells_written
    res = rerate(other, **kw)
    written = read_sheet(other, "客户").columns[c - 1]
    assert [w for w, v in zip(written, eager.columns[c], strict=True) if v is not KEEP] == \
        [v for v in eager.columns[c] if v is not KEEP]
    assert res.cells_written == eager.result.cells_written


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice (soffice) not on PATH")
def test_libreoffice_reads_a_log_appended_twice(tmp_path: Path) -> None:
    """After two runs the log part is an old deflate stream with new rows spliced on: LibreOffice
    reads every row of it back (converted to .xlsx by it, then read here)."""
    run_demo(150, tmp_path, today=dt.date(2026, 11, 21), quiet=True,
             macros=WORKBOOK_MACROS)
    path = tmp_path / "demo-branch.xlsm"
    res = rerate(path, period="2026Q4", mode="quarterly", operator="测试",
                 now=dt.datetime(2027, 1, 8, 10, 0))
    assert res.written
    ours = _rows(path, "变更记录")
    assert [r[0] for r in ours].count(history.RUN) >= 2
    out = tmp_path / "lo"
    subprocess.run([_soffice(), "--headless", "--convert-to", "xlsx", "--outdir", str(out),
                    str(path)], check=True, timeout=180, capture_output=True)
    theirs = _rows(out / "demo-branch.xlsx", "变更记录")
    assert theirs == ours


def test_chain_fast_path_is_row_hash() -> None:
    """history.chain joins texts as they are; any other row goes through canonical()."""
    rows = [history.make_row(记录类型=history.RUN, 原因="季度重评级", 统计="记录数=2"),
            history.make_row(记录类型=history.CHANGE, 客户编号="C1", 原因="a\x1fb"),
            [history.REJECT, None, 3.0, "x"],  # short, not texts
            [*history.make_row(记录类型=history.CHANGE, 客户编号="C2"), "stale hash"]]
    got = history.chain("prev", rows)
    prev = "prev"
    for r, g in zip(rows, got, strict=True):
        fields = [history.cell_text(v) for v in r[:history.N_FIELDS]]
        fields += [""] * (history.N_FIELDS - len(fields))
        prev = history.row_hash(prev, fields)
        assert g == [*fields, prev]
    copies = [list(r) for r in rows]
    assert history.chain("prev", copies, in_place=True) == got
    assert len(copies[0]) == history.N_FIELDS + 1  # a row of texts got its hash appended
    assert copies[2] == rows[2]  # the others are copied, as without in_place


def test_risk_score_checked_with_the_rulebook_of_the_period_not_of_today(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """风险测评得分 is checked against the risk-class version in force at the period's end,
    the one the job rates with — not the one in force on the day it runs."""
    from rules.registry import DATA_DIR

    d = tmp_path / "rules" / "risk-class"
    shutil.copytree(DATA_DIR / "risk-class", d)
    text = (d / "2024.1.toml").read_text(encoding="utf-8")
    (d / "2024.1.toml").write_text(text.replace(
        "effective_from = 2009-01-01", "effective_from = 2009-01-01\neffective_to = 2025-12-31"),
        encoding="utf-8")
    (d / "2026.1.toml").write_text(text.replace('version = "2024.1"', 'version = "2026.1"')
                                   .replace("effective_from = 2009-01-01",
                                            "effective_from = 2026-01-01")
                                   .replace("min = 9\n", "min = 30\n"), encoding="utf-8")
    from shipped_rules import use_as_shipped

    use_as_shipped(monkeypatch, tmp_path / "rules")
    p = plain_branch(tmp_path / "b.xlsx", [["R1", 300_000.0, 0.0, 20.0]],
                     ["客户编号", "资产权益", "上年度净佣金", "风险测评得分"])
    res = rerate(p, period="2025Q4", mode="quarterly", operator="t",
                 now=dt.datetime(2026, 1, 9, 10, 0))
    assert res.exit_code == 0 and not res.rejections  # 20 is a valid score in 2025
    assert _by_id(p)["R1"]["风险类别"] == "保守型"
