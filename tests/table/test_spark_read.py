"""rate-table --engine spark (local[2]): how the input is read — a single Parquet file's schema
from its footer (no Spark job to infer it), Spark's own inference otherwise."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
from table_clients import NOW, PERIOD, clients, spark_jobs, write_parquet

from workbook.table import rate_table
from workbook.table.history import verify
from workbook.table.spark import footer_schema, rate_table_spark


def _unique(n: int) -> list[dict]:
    seen: set = set()
    return [r for r in clients(n) if not (r.get("客户编号") in seen or seen.add(r.get("客户编号")))]


def _rows(path) -> list[dict]:
    return pq.read_table(path).sort_by("行号").to_pylist()


def test_a_parquet_files_schema_is_its_footers_as_spark_infers_it(spark, tmp_path) -> None:
    src = write_parquet(clients(50), tmp_path / "c.parquet")
    assert footer_schema(src) == spark.read.parquet(str(src)).schema


def test_a_single_parquet_file_is_rated_in_two_spark_jobs(spark, tmp_path) -> None:
    """No job to infer the schema: the id pass, then the rating pass (no id met twice)."""
    rows = _unique(300)
    src = write_parquet(rows, tmp_path / "c.parquet", row_group_size=60)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "8k")
    res, jobs = spark_jobs(spark, "two-jobs", lambda: rate_table_spark(
        src, period=PERIOD, mode="quarterly", out=tmp_path / "out", operator="总部", now=NOW,
        spark=spark))
    assert len(jobs) == 2
    assert res.rows_in == len(rows) == res.decisions + res.rejected + res.blank
    assert verify(tmp_path / "out") == []


def test_other_column_types_are_left_to_spark_and_rated_as_locally(spark, tmp_path) -> None:
    """A column of a type Spark may read otherwise than pyarrow (a timestamp): Spark infers
    the schema itself, and the run gives the local engine's files."""
    t = pq.read_table(write_parquet(clients(120), tmp_path / "c0.parquet"))
    stamp = pa.array([dt.datetime(2026, 1, 1, 9, 30)] * t.num_rows, pa.timestamp("us"))
    src = tmp_path / "c.parquet"
    pq.write_table(t.append_column("导出时间", stamp), src, row_group_size=40)
    assert footer_schema(src) is None and footer_schema(tmp_path) is None
    local = rate_table(src, period=PERIOD, mode="quarterly", out=tmp_path / "local",
                       operator="总部", now=NOW, workers=1, batch_rows=50)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "4k")
    res = rate_table_spark(src, period=PERIOD, mode="quarterly", out=tmp_path / "spark",
                           operator="总部", now=NOW, spark=spark)
    for name in ("decisions.parquet", "rejections.parquet"):
        assert _rows(tmp_path / "spark" / name) == _rows(tmp_path / "local" / name)
    assert res.rows_in == local.rows_in == res.decisions + res.rejected + res.blank
