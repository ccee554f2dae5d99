"""The history of table runs: appended per run, idempotent, and edits found by audit-table."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from table_clients import NOW, PERIOD, clients, write_parquet

from addin.cli import main
from workbook.table import rate_table
from workbook.table.history import HISTORY, runs


@pytest.fixture
def rated(tmp_path):
    src = write_parquet(clients(300), tmp_path / "c.parquet")
    out = tmp_path / "out"
    first = rate_table(src, period=PERIOD, mode="quarterly", out=out, operator="总部", now=NOW)
    return src, out, first


def test_a_period_and_mode_done_is_not_done_again_unless_forced(rated, capsys) -> None:
    src, out, first = rated
    again = rate_table(src, period=PERIOD, mode="quarterly", out=out, operator="总部", now=NOW)
    assert again.already_applied == [first.history["run_id"]] and again.rows_in == 0
    assert len(runs(out / HISTORY)) == 1
    code = main(["rate-table", str(src), "--period", PERIOD, "--mode", "quarterly",
                 "--out", str(out), "--operator", "总部"])
    assert code == 0 and (f"{PERIOD} 的季度重评级已执行过（运行编号 {first.history['run_id']}），"
                          "本次未做任何更改。") in capsys.readouterr().out
    forced = rate_table(src, period=PERIOD, mode="quarterly", out=out, operator="总部",
                        now=NOW, force=True)
    assert forced.rows_in == 300
    hist = runs(out / HISTORY)
    assert [e.manifest["seq"] for e in hist] == [1, 2]
    assert hist[1].manifest["previous"] == hist[0].manifest["digest"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["历史摘要"] == hist[1].manifest["digest"]


def test_history_holds_the_runs_records(rated) -> None:
    _src, out, first = rated
    (entry,) = runs(out / HISTORY)
    t = pq.read_table(entry.path).to_pylist()
    kinds = [r["记录类型"] for r in t]
    assert kinds[0] == "运行" and kinds.count("拒绝") == first.rejected
    changed = [r for r in t if r["记录类型"] == "变更"]
    decs = pq.read_table(out / "decisions.parquet").to_pylist()
    assert len(changed) == sum(1 for d in decs if d["原级别"] != d["当前级别"])
    assert all(r["运行编号"] == first.history["run_id"] and r["评级期间"] == PERIOD for r in t)


def test_audit_table_clean_then_reports_an_edited_record(rated, capsys) -> None:
    src, out, _first = rated
    rate_table(src, period="2026Q4", mode="quarterly", out=out, operator="总部", now=NOW)
    assert main(["audit-table", str(out)]) == 0
    assert "评级历史完好：2 次运行" in capsys.readouterr().out
    first_run = runs(out / HISTORY)[0].path
    part = first_run / "part-00000.parquet"
    t = pq.read_table(part)
    reasons = t.column("原因").to_pylist()
    k = next(i for i, r in enumerate(t.column("记录类型").to_pylist()) if r == "变更")
    reasons[k] = reasons[k] + "（已核实）"
    pq.write_table(t.set_column(t.schema.get_field_index("原因"), "原因",
                                pa.array(reasons, pa.string())), part)
    assert main(["audit-table", str(out)]) == 1
    said = capsys.readouterr().out
    assert f"{first_run.name}/part-00000.parquet：记录被修改（摘要不符）" in said


def test_audit_table_reports_a_removed_run(rated, capsys) -> None:
    import shutil

    src, out, _first = rated
    rate_table(src, period="2026Q4", mode="quarterly", out=out, operator="总部", now=NOW)
    shutil.rmtree(runs(out / HISTORY)[0].path)
    assert main(["audit-table", str(out)]) == 1
    said = capsys.readouterr().out
    assert "所记前一次运行的摘要与实际不符" in said and "运行序号为 2，应为 1" in said
