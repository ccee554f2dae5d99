"""rate-table's runs in order, as a workbook's: a period and mode already in the history is a
no-op unless forced; a period earlier than one applied is refused (exit 2, nothing written)
with the workbook job's message, unless forced."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from table_clients import NOW, clients, write_parquet

from addin.cli import main
from workbook.run.periods import PeriodOrderError
from workbook.table import rate_table
from workbook.table.history import HISTORY, RUN_PART, runs


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return write_parquet(clients(120), tmp_path / "c.parquet")


def _rate(src: Path, out: Path, period: str, mode: str, **kw) -> object:
    return rate_table(src, period=period, mode=mode, out=out, operator="总部", now=NOW, **kw)


def _cli(src: Path, out: Path, period: str, mode: str, *more: str) -> int:
    return main(["rate-table", str(src), "--period", period, "--mode", mode, "--out", str(out),
                 "--operator", "总部", *more])


def test_an_earlier_period_is_refused_with_the_workbook_message(src: Path, tmp_path: Path,
                                                                 capsys) -> None:
    out = tmp_path / "out"
    first = _rate(src, out, "2026Q3", "quarterly")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code = _cli(src, out, "2026Q2", "quarterly")
    err = capsys.readouterr().err
    assert code == 2
    assert (f"评级期间不能倒退：已执行过季度重评级 2026Q3（数据截至 2026-09-30；运行时间 "
            f"{NOW.isoformat(sep=' ')}，运行编号 {first.history['run_id']}），本次季度重评级 2026Q2 "
            "的数据截至 2026-06-30，更早") in err
    assert "本次未做任何更改。如确需按该期间补跑，请加 --force。" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    with pytest.raises(PeriodOrderError):  # (annual 2025 after 2026Q3: the same clients)
        _rate(src, out, "2025", "annual")
    forced = _rate(src, out, "2026Q2", "quarterly", force=True)
    assert forced.rows_in == 120 and forced.period == "2026Q2"
    assert [e.manifest["评级期间"] for e in runs(out / HISTORY)] == ["2026Q3", "2026Q2"]
    capsys.readouterr()
    assert _cli(src, out, "2026Q1", "quarterly", "--force") in (0, 1)
    assert "警告：强制执行：已执行过季度重评级 2026Q3" in capsys.readouterr().err
    assert len(runs(out / HISTORY)) == 3


def test_the_same_data_date_and_a_missed_month_are_in_order(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _rate(src, out, "2026-11", "new-accounts")
    _rate(src, out, "2026-10", "new-accounts")  # (a missed month caught up: another month's
    _rate(src, out, "2026Q4", "quarterly")  # accounts), and the quarter that ends with it
    _rate(src, out, "2026", "annual")  # (the same data date as 2026Q4)
    with pytest.raises(PeriodOrderError, match="已执行过年度评级 2026"):
        _rate(src, out, "2026-09", "new-accounts")  # (rated by the annual run already)
    assert _rate(src, out, "2026-11", "new-accounts").already_applied  # (the same: a no-op)
    assert len(runs(out / HISTORY)) == 4


def test_a_period_and_mode_applied_is_a_noop_with_the_workbook_words(src: Path, tmp_path: Path,
                                                                    capsys) -> None:
    out = tmp_path / "out"
    first = _rate(src, out, "2026Q3", "quarterly")
    capsys.readouterr()
    assert _cli(src, out, "2026Q3", "quarterly") == 0
    said = capsys.readouterr().out
    assert said.strip() == (f"2026Q3 的季度重评级已执行过（运行编号 {first.history['run_id']}），"
                            "本次未做任何更改。如确需重跑，请加 --force。")
    assert len(runs(out / HISTORY)) == 1


def _run_stats(entry) -> dict:
    """The 统计 of a history run's 运行 row, as written in its Parquet part."""
    rows = pq.read_table(entry.path / RUN_PART).to_pylist()
    return json.loads(next(r["统计"] for r in rows if r["记录类型"] == "运行"))


def test_a_forced_earlier_period_is_marked_and_audit_table_reports_it(src: Path, tmp_path: Path,
                                                                      capsys) -> None:
    out = tmp_path / "out"
    _rate(src, out, "2026Q3", "quarterly")
    _rate(src, out, "2026Q3", "quarterly", force=True)  # (the same period again: not back)
    forced = _rate(src, out, "2026Q2", "quarterly", force=True)
    hist = runs(out / HISTORY)
    assert [_run_stats(e).get("期间倒退") for e in hist] == [None, None, "强制执行"]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["期间倒退"] == "强制执行"
    capsys.readouterr()
    assert main(["audit-table", str(out)]) == 0  # (information, not an edit)
    said = capsys.readouterr().out
    assert "评级历史完好：3 次运行" in said
    notes = [line for line in said.splitlines() if line.startswith("说明：")]
    assert notes == [f"说明：{hist[1].path.name}：运行 {hist[1].manifest['run_id']}（2026Q3）强制重跑："
                     "同一评级期间、同一模式此前已执行过。",
                     f"说明：{hist[2].path.name}：运行 {forced.history['run_id']}（2026Q2）强制执行："
                     f"已执行过季度重评级 2026Q3（数据截至 2026-09-30；运行时间 "
                     f"{NOW.isoformat(sep=' ')}，运行编号 {hist[1].manifest['run_id']}），本次季度重评级 "
                     "2026Q2 的数据截至 2026-06-30，更早：执行会把按较新数据评出的级别和“评级期间”改回 "
                     "2026Q2。"]


def test_runs_in_order_are_not_marked(src: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    _rate(src, out, "2026Q2", "quarterly")
    _rate(src, out, "2026Q3", "quarterly", force=True)  # (forced, but in order)
    _rate(src, out, "2026-10", "new-accounts")
    assert [_run_stats(e).get("期间倒退") for e in runs(out / HISTORY)] == [None, None, None]
    assert "期间倒退" not in json.loads((out / "summary.json").read_text(encoding="utf-8"))
    capsys.readouterr()
    assert main(["audit-table", str(out)]) == 0
    assert "说明：" not in capsys.readouterr().out


def test_audit_table_names_an_unmarked_backwards_run(src: Path, tmp_path: Path, monkeypatch,
                                                      capsys) -> None:
    """A history written before forced runs were marked: the run that went back is listed,
    saying its 统计 lacks the mark."""
    import workbook.table.history as history

    out = tmp_path / "out"
    _rate(src, out, "2026Q3", "quarterly")
    monkeypatch.setattr(history, "BACKWARDS", "（旧版本不记）")  # (the run row as written then)
    _rate(src, out, "2026Q2", "quarterly", force=True)
    monkeypatch.undo()
    assert "期间倒退" not in _run_stats(runs(out / HISTORY)[1])
    capsys.readouterr()
    assert main(["audit-table", str(out)]) == 0
    (note,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("说明：")]
    assert "（2026Q2）的评级期间倒退，统计中未记“期间倒退=强制执行”：已执行过季度重评级 2026Q3" in note


def test_a_forced_rerun_is_marked_as_a_workbook_run_is(src: Path, tmp_path: Path,
                                                       capsys) -> None:
    """The same period and mode forced again: its run row's 统计 says 强制重跑=是 (the workbook
    job's key and value), summary.json too, and audit-table lists it; the first run has none."""
    out = tmp_path / "out"
    _rate(src, out, "2026Q3", "quarterly")
    _rate(src, out, "2026Q3", "quarterly", force=True)
    assert [_run_stats(e).get("强制重跑") for e in runs(out / HISTORY)] == [None, "是"]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["强制重跑"] == "是"
    capsys.readouterr()
    assert main(["audit-table", str(out)]) == 0
    notes = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("说明：")]
    assert len(notes) == 1 and notes[0].endswith("强制重跑：同一评级期间、同一模式此前已执行过。")
