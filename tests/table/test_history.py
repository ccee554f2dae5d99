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


def test_a_parts_digest_is_the_one_older_histories_hold() -> None:
    """A part's digest is sha256 of its rows as one Arrow IPC stream — the value written by the
    histories of earlier versions (pinned here), so that they still verify; and the stream
    itself, made and hashed as a whole."""
    from workbook.table.history import RECORD_SCHEMA, part_digest

    names = RECORD_SCHEMA.names
    rows = [{n: (f"{n}{k}" if (k + j) % 3 else None) for j, n in enumerate(names)}
            for k in range(7)]
    rows[2]["原因"] = "资产权益 1,234,567.89 元 ≥ 100 万元（第三条）"
    t = pa.concat_tables([pa.Table.from_pylist(rows[:3], schema=RECORD_SCHEMA),
                          pa.Table.from_pylist(rows[3:], schema=RECORD_SCHEMA)])
    assert t.column(0).num_chunks == 2
    got = part_digest(t)
    assert got == "effd2faaa29bce6c88530e9faa50a5b193663734aa721948b0914fa8017c4e2b"
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, RECORD_SCHEMA) as w:
        w.write_table(t.combine_chunks())
    import hashlib

    assert got == hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
    assert part_digest(t.slice(0, 0)) == (
        "f076d9e4e65f8dbfaa7b19e7a507a7dff9305f0a602bc9791863d21f0d484a8e")
    rows[5]["客户编号"] = "KH0"
    assert part_digest(pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)) != got


def _as_older_history(run_dir) -> None:
    """A run made as the histories before session 9 hold it: each part's sha256 over its rows
    (``part_digest``), no ``part_digest`` word in the manifest, the Merkle root and the
    manifest's digest taken again."""
    from workbook.table.history import MANIFEST, manifest_digest, merkle_root, part_digest

    m = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    for p in m["parts"]:
        p["sha256"] = part_digest(pq.read_table(run_dir / p["file"]))
    del m["part_digest"]
    m["merkle_root"] = merkle_root([p["sha256"] for p in m["parts"]])
    m["digest"] = manifest_digest(m)
    (run_dir / MANIFEST).write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")


def test_a_part_is_digested_over_its_file_and_an_older_history_still_verifies(
        rated, capsys) -> None:
    """A run's parts are digested over their files' bytes (its manifest says so): the same
    rows written again otherwise (another compression) are an edit too. A history written
    before, digested over its rows, still verifies, and an edit of its rows is still found."""
    import hashlib

    from workbook.table.history import RECORD_SCHEMA, verify

    _src, out, _first = rated
    (entry,) = runs(out / HISTORY)
    assert entry.manifest["part_digest"] == "file"
    for p in entry.manifest["parts"]:
        assert p["sha256"] == hashlib.sha256((entry.path / p["file"]).read_bytes()).hexdigest()
        assert pq.read_schema(entry.path / p["file"]).equals(RECORD_SCHEMA)  # (texts)
    part = entry.path / "part-r00000.parquet"
    t = pq.read_table(part)
    pq.write_table(t, part, compression="zstd")
    assert verify(out) == [f"{entry.path.name}/part-r00000.parquet：记录被修改（摘要不符）。"]
    pq.write_table(t.slice(1), part)
    assert verify(out) == [f"{entry.path.name}/part-r00000.parquet：记录被修改"
                           f"（行数 {t.num_rows} → {t.num_rows - 1}）（摘要不符）。"]
    pq.write_table(t, part, compression="zstd")
    _as_older_history(entry.path)
    assert verify(out) == [] and main(["audit-table", str(out)]) == 0
    capsys.readouterr()
    pq.write_table(t.slice(1), part)
    assert verify(out) == [f"{entry.path.name}/part-r00000.parquet：记录被修改"
                           f"（行数 {t.num_rows} → {t.num_rows - 1}）（摘要不符）。"]
