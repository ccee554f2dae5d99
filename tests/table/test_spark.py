"""rate-table --engine spark (local[2]): the same files as the local engine."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from table_clients import NOW, PERIOD, clients, spark_jobs, write_csv, write_parquet

from workbook.table import rate_table
from workbook.table.history import BACKWARDS, HISTORY, run_stats, runs, verify
from workbook.table.spark import rate_table_spark
from workbook.table.spark_conf import local_cores


def _rows(path) -> list[dict]:
    return pq.read_table(path).sort_by("行号").to_pylist()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_spark_gives_the_local_engines_files(spark, tmp_path, fmt: str) -> None:
    rows = clients(400)
    src = (write_parquet(rows, tmp_path / "c.parquet", row_group_size=150) if fmt == "parquet"
           else write_csv(rows, tmp_path / "c.csv"))
    local = rate_table(src, period=PERIOD, mode="quarterly", out=tmp_path / "local",
                       operator="总部", now=NOW, workers=1, batch_rows=120)
    # (several partitions, so that rows are numbered across them)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "8k")
    res = rate_table_spark(src, period=PERIOD, mode="quarterly", out=tmp_path / "spark",
                           operator="总部", now=NOW, spark=spark)
    assert res.rows_in == 400 == res.decisions + res.rejected
    for name in ("decisions.parquet", "rejections.parquet"):
        assert _rows(tmp_path / "spark" / name) == _rows(tmp_path / "local" / name)
    skip = {"引擎": "", "历史摘要": "", "前次摘要": ""}  # (the run ids differ: the engine)
    assert res.summary() | skip == local.summary() | skip
    # the same history records, but for the run's id and statistics
    recs = [[{k: v for k, v in r.items() if k not in ("运行编号", "统计")}
             for r in pq.read_table(runs(tmp_path / d / HISTORY)[0].path).to_pylist()]
            for d in ("spark", "local")]
    assert recs[0] == recs[1] and len(recs[0]) > 1
    assert BACKWARDS not in run_stats(runs(tmp_path / "spark" / HISTORY)[0])  # (in order)
    assert any("重复" in r["原因"] for r in _rows(tmp_path / "spark" / "rejections.parquet"))


def test_a_forced_earlier_period_on_spark_is_marked(spark, tmp_path) -> None:
    src = write_parquet(clients(60), tmp_path / "c.parquet")
    out = tmp_path / "out"
    rate_table(src, period="2026Q3", mode="quarterly", out=out, operator="总部", now=NOW)
    res = rate_table_spark(src, period="2026Q2", mode="quarterly", out=out, operator="总部",
                           now=NOW, spark=spark, force=True)
    assert res.rows_in == 60 and res.summary()["期间倒退"] == "强制执行"
    hist = runs(out / HISTORY)
    assert [e.manifest["评级期间"] for e in hist] == ["2026Q3", "2026Q2"]
    assert [run_stats(e).get("期间倒退") for e in hist] == [None, "强制执行"]



def test_a_forced_rerun_on_spark_is_marked(spark, tmp_path) -> None:
    src = write_parquet(clients(60), tmp_path / "c.parquet")
    out = tmp_path / "out"
    rate_table(src, period=PERIOD, mode="quarterly", out=out, operator="总部", now=NOW)
    res = rate_table_spark(src, period=PERIOD, mode="quarterly", out=out, operator="总部",
                           now=NOW, spark=spark, force=True)
    assert res.summary()["强制重跑"] == "是" and "期间倒退" not in res.summary()
    assert [run_stats(e).get("强制重跑") for e in runs(out / HISTORY)] == [None, "是"]

def test_spark_reads_and_rates_its_input_once(spark, tmp_path) -> None:
    """One aggregation before rating, then one pass that rates and writes every output
    (decisions, rejections, history, counts): the rating is not run again per output."""
    seen: set = set()
    rows = [r for r in clients(300) if not (r.get("客户编号") in seen or seen.add(r.get("客户编号")))]
    src = write_parquet(rows, tmp_path / "c.parquet", row_group_size=60)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "8k")
    res, jobs = spark_jobs(spark, "rate-once", lambda: rate_table_spark(
        src, period=PERIOD, mode="quarterly", out=tmp_path / "out", operator="总部", now=NOW,
        spark=spark))
    # the input's schema, the aggregation (its two stages may be two jobs), the rating pass
    assert 1 <= len(jobs) <= 4, sorted(jobs)
    assert res.rows_in == len(rows) == res.decisions + res.rejected + res.blank
    assert pq.read_table(tmp_path / "out" / "decisions.parquet").num_rows == res.decisions
    assert verify(tmp_path / "out") == []


@pytest.mark.parametrize(("master", "cores"), [("local[2]", 2), ("local", 1),
                                               ("local[3,2]", 3), ("yarn", 0), (None, 0)])
def test_local_masters_cores(master, cores) -> None:
    assert local_cores(master) == cores


def test_spark_finds_duplicates_of_numeric_ids_as_the_local_engine(spark, tmp_path) -> None:
    """A 客户编号 column of numbers (a warehouse's bigint/double): 100005.0 is read as 100005,
    so a duplicate across partitions is rejected on both rows, as by the local engine."""
    rows = clients(120)
    for k, r in enumerate(rows):
        r["客户编号"] = float(100_000 + k)
    rows[100]["客户编号"] = rows[5]["客户编号"]
    src = write_parquet(rows, tmp_path / "c.parquet", row_group_size=40)
    local = rate_table(src, period=PERIOD, mode="quarterly", out=tmp_path / "local",
                       operator="总部", now=NOW, workers=1, batch_rows=50)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "4k")
    res = rate_table_spark(src, period=PERIOD, mode="quarterly", out=tmp_path / "spark",
                           operator="总部", now=NOW, spark=spark)
    rej = _rows(tmp_path / "spark" / "rejections.parquet")
    assert {r["行号"] for r in rej if "重复" in r["原因"]} == {7, 102}
    assert rej == _rows(tmp_path / "local" / "rejections.parquet")
    assert res.rejected == local.rejected


def test_a_directory_of_files_is_numbered_as_the_local_engine_numbers_it(spark, tmp_path) -> None:
    """Two Parquet files whose sizes are in the other order than their names: Spark packs
    files by size, the local engine reads them in name order; 行号 (and so the rejections'
    row numbers) must be the same for both engines."""
    rows = clients(300)
    src = tmp_path / "extract"
    src.mkdir()
    write_parquet(rows[:40], src / "part-a.parquet")  # (small, first by name)
    write_parquet(rows[40:], src / "part-b.parquet")
    local = rate_table(src, period=PERIOD, mode="quarterly", out=tmp_path / "local",
                       operator="总部", now=NOW, workers=1)
    res = rate_table_spark(src, period=PERIOD, mode="quarterly", out=tmp_path / "spark",
                           operator="总部", now=NOW, spark=spark)
    assert res.rows_in == local.rows_in == 300
    for name in ("decisions.parquet", "rejections.parquet"):
        assert _rows(tmp_path / "spark" / name) == _rows(tmp_path / "local" / name)
