"""rate-table --engine spark (local[2]): a Parquet input read by the tasks themselves with
pyarrow (``--spark-read auto``, workbook/table/spark_read.py) gives the files of Spark's own
reader (``--spark-read spark``) and the local engine's row numbers, whatever the directory."""

from __future__ import annotations

import json

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from table_clients import NOW, PERIOD, clients, spark_jobs, to_arrow, write_parquet

from workbook.schema import WorkbookError
from workbook.table import rate_table
from workbook.table.history import HISTORY, runs, verify
from workbook.table.spark import rate_table_spark
from workbook.table.spark_read import plan


def _rows(path) -> list[dict]:
    return pq.read_table(path).sort_by("行号").to_pylist()


def _spark(src, out, spark, **kw):
    return rate_table_spark(src, period=PERIOD, mode="quarterly", out=out, operator="总部",
                            now=NOW, spark=spark, **kw)


def test_the_tasks_read_gives_the_files_of_sparks_reader(spark, tmp_path) -> None:
    """Four files of 100 rows: Spark's reader makes a partition of each, the tasks' read a
    stretch of each (2 × 2 cores) — the same parts, so the same files byte for byte: the
    decisions, rejections, summary and the history's part digests, Merkle root and digest."""
    rows = clients(400)
    src = tmp_path / "extract"
    src.mkdir()
    for k in range(4):
        write_parquet(rows[100 * k:100 * (k + 1)], src / f"part-{k}.parquet")
    assert [len(s) for s in plan(str(src), 2).stretches] == [1, 1, 1, 1]
    spark.conf.set("spark.sql.files.maxPartitionBytes", "128m")
    got = {how: _spark(src, tmp_path / how, spark, read=how) for how in ("auto", "spark")}
    assert got["auto"].rows_in == 400 == got["auto"].decisions + got["auto"].rejected
    assert got["auto"].summary() == got["spark"].summary()
    assert got["auto"].summary()["历史摘要"]
    for name in ("decisions.parquet", "rejections.parquet"):
        files = [sorted((tmp_path / how / name).glob("*.parquet")) for how in got]
        assert [f.name for f in files[0]] == [f.name for f in files[1]]
        assert [f.read_bytes() for f in files[0]] == [f.read_bytes() for f in files[1]]
    manifests = [runs(tmp_path / how / HISTORY)[0].manifest for how in got]
    assert manifests[0] == manifests[1] and len(manifests[0]["parts"]) > 1
    for how in got:
        assert json.loads((tmp_path / how / "summary.json").read_text("utf-8"))["历史摘要"] \
            == manifests[0]["digest"]
        assert verify(tmp_path / how) == []
    rej = _rows(tmp_path / "auto" / "rejections.parquet")
    assert any("重复" in r["原因"] for r in rej)


def test_a_hive_directory_of_many_files_is_numbered_as_the_local_engine(spark, tmp_path) -> None:
    """营业部=…/ folders (the branch read from the paths) holding 280 files of 1–3 rows, the
    larger ones last: Spark's own reader would number them in its order (by size); the tasks
    read them in the local engine's order, so every 行号 — and each rejection's row in its
    message — is the local engine's."""
    rows = clients(560)
    src = tmp_path / "extract"
    t = to_arrow(rows).drop_columns(["营业部"])  # (one schema for every file)
    at, k = 0, 0
    while at < len(rows):
        n = 1 + k % 3
        d = src / f"营业部=第{k % 2 + 1}营业部"
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(t.slice(at, n), d / f"part-{k:04d}.parquet")
        at, k = at + n, k + 1
    assert k > 256
    local = rate_table(src, period=PERIOD, mode="quarterly", out=tmp_path / "local",
                       operator="总部", now=NOW, workers=1)
    res = _spark(src, tmp_path / "spark", spark)
    assert res.rows_in == local.rows_in == 560 == res.decisions + res.rejected + res.blank
    for name in ("decisions.parquet", "rejections.parquet"):
        assert _rows(tmp_path / "spark" / name) == _rows(tmp_path / "local" / name)
    dec = pq.read_table(tmp_path / "spark" / "decisions.parquet")
    assert set(pc.unique(dec.column("营业部")).to_pylist()) == {"第1营业部", "第2营业部"}
    skip = {"引擎": "", "历史摘要": "", "前次摘要": ""}
    assert res.summary() | skip == local.summary() | skip


def test_a_directory_is_rated_in_two_spark_jobs(spark, tmp_path) -> None:
    """The tasks read the files (the driver reads their footers): the id pass and the rating
    pass (no id met twice); a large row group is cut between tasks on a batch."""
    seen: set = set()
    rows = [r for r in clients(300) if not (r.get("客户编号") in seen or seen.add(r.get("客户编号")))]
    rows = rows[:280]
    src = tmp_path / "extract"
    src.mkdir()
    write_parquet(rows[:200], src / "a.parquet", row_group_size=200)
    write_parquet(rows[200:], src / "b.parquet")
    pl = plan(str(src), 2, batch_rows=50)
    a, b = (str((src / f).resolve()) for f in ("a.parquet", "b.parquet"))
    # (cuts wanted at 70, 140, 210: on the nearest batch of a row group, 50, 150, 200)
    assert pl.starts == [2, 52, 152, 202] and pl.stretches == [
        [(a, 0, 0, 50)], [(a, 0, 50, 100)], [(a, 0, 150, 50)], [(b, 0, 0, 80)]]
    res, jobs = spark_jobs(spark, "dir-two-jobs", lambda: _spark(src, tmp_path / "out", spark))
    assert len(jobs) == 2
    assert res.rows_in == len(rows) == res.decisions + res.rejected + res.blank
    assert verify(tmp_path / "out") == []


@pytest.mark.parametrize("read", ["auto", "spark"])
def test_a_single_file_is_rated_in_two_spark_jobs_by_either_read(spark, tmp_path, read) -> None:
    """The tasks' read and Spark's (the schema from the footer): the id pass, the rating."""
    seen: set = set()
    rows = [r for r in clients(200) if not (r.get("客户编号") in seen or seen.add(r.get("客户编号")))]
    src = write_parquet(rows, tmp_path / "c.parquet", row_group_size=60)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "8k")
    res, jobs = spark_jobs(spark, f"file-{read}",
                           lambda: _spark(src, tmp_path / "out", spark, read=read))
    assert len(jobs) == 2
    assert res.rows_in == len(rows) == res.decisions + res.rejected + res.blank


def test_a_stretch_cut_inside_a_row_group_is_read_whole(tmp_path) -> None:
    """Cuts on batches inside row groups: every row read once, in order, by the stretches."""
    rows = clients(300)
    src = write_parquet(rows, tmp_path / "c.parquet", row_group_size=130)
    pl = plan(str(src), 3, batch_rows=20)
    assert len(pl.stretches) == 6 and pl.rows == 300
    ids = [v for k in range(6) for b in pl.batches(k, ["客户编号"], 20)
           for v in b.column(0).to_pylist()]
    assert ids == pq.read_table(src).column("客户编号").to_pylist()
    assert pl.starts == [2 + sum(p[3] for s in pl.stretches[:k] for p in s) for k in range(6)]


def test_csv_and_an_unknown_read_are_left_to_spark(spark, tmp_path) -> None:
    (tmp_path / "c.csv").write_text("客户编号\nKH1\n", encoding="utf-8")
    assert plan(str(tmp_path / "c.csv"), 2) is None
    assert plan("warehouse.clients", 2) is None
    with pytest.raises(WorkbookError, match="spark-read"):
        _spark(tmp_path / "c.csv", tmp_path / "out", spark, read="arrow")


def test_the_command_passes_spark_read_on(spark, tmp_path, capsys, monkeypatch) -> None:
    """``rate-table --engine spark --spark-read spark|auto``: the same decisions either way."""
    import workbook.table.spark as engine
    from addin.cli import main

    src = write_parquet(clients(120), tmp_path / "c.parquet")
    asked = []
    run = engine.rate_table_spark
    monkeypatch.setattr(engine, "rate_table_spark",
                        lambda *a, **kw: asked.append(kw["read"]) or run(*a, spark=spark, **kw))
    for how in ("spark", "auto"):
        code = main(["rate-table", str(src), "--period", PERIOD, "--mode", "quarterly",
                     "--out", str(tmp_path / how), "--operator", "总部", "--engine", "spark",
                     "--spark-read", how])
        assert code in (0, 1) and "引擎 spark" in capsys.readouterr().out
    assert asked == ["spark", "auto"]
    assert _rows(tmp_path / "spark" / "decisions.parquet") == \
        _rows(tmp_path / "auto" / "decisions.parquet")
