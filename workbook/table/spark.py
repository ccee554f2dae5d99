"""The Spark engine of ``rate-table``: the local engine's batch function (``run.rate_arrow``,
the job's steps on an Arrow batch) run by PySpark ``mapInArrow`` over a DataFrame read from the
same paths (Parquet, CSV as text) or from a table of the metastore (Hive).

Rows are numbered as the local engine numbers them (the input's order; the header counts as
row 1), from the row counts of the partitions before each one (one count, in the JVM); a
``groupBy`` finds the 客户编号 met more than once (their row numbers computed in the JVM: the
partition's start and ``monotonically_increasing_id``; a small map sent to the batch function),
and one ``mapInArrow`` rates each partition, numbering its rows from the partition's start.
Outputs are the local engine's, as Spark writes them (``decisions.parquet`` and
``rejections.parquet`` are directories of part files, in the input's order: one per partition);
the counts are one aggregation; summary.json, summary.xlsx and the history are written by the
driver.

On a cluster: build the wheel (``python -m build``), ship it to the executors
(``spark-submit --py-files client_rating-….whl`` or an environment with it installed) and run
``client-rating rate-table … --engine spark`` through ``spark-submit`` (docs/headoffice.md).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from rules.rerating import parse_mode

from ..schema import WorkbookError, column_map
from .run import (
    DECISION_SCHEMA,
    DECISIONS,
    REJECTION_SCHEMA,
    REJECTIONS,
    TableResult,
    applied_before,
    by_branch_counts,
    finish,
    rate_arrow,
)
from .source import pick_columns
from .steps import settle_run

ROW = "__行号"
KIND = "__kind"


def session(master: str | None = None) -> Any:
    """The active SparkSession, or a new one (``master``: local[2] in tests; spark-submit's
    otherwise). Arrow is enabled (the batch function works on Arrow batches)."""
    import sys

    from pyspark.sql import SparkSession

    # the Python workers of a local session: this interpreter (its packages), not python3
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    b = SparkSession.builder.appName("client-rating rate-table")
    if master:
        b = b.master(master)
    return (b.config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.session.timeZone", "UTC").getOrCreate())


def read_frame(spark: Any, source: str) -> Any:
    """A DataFrame of the input: a Parquet file or directory, a CSV file (every column as
    text, as the local engine reads it), or a table name of the metastore."""
    p = Path(source)
    if p.exists():
        if p.suffix.lower() in (".csv", ".txt"):
            return spark.read.csv(os.fspath(p), header=True, inferSchema=False,
                                  encoding="utf-8", escape='"', multiLine=True)
        return spark.read.parquet(os.fspath(p))
    if not spark.catalog.tableExists(source):
        raise WorkbookError(f"找不到输入 {source}（不是文件或目录，也不是 Spark/Hive 表）。")
    return spark.table(source)


def _out_schema() -> pa.Schema:
    """Decisions and rejections in one frame (a kind column says which)."""
    fields = [pa.field(KIND, pa.string())]
    fields += [pa.field(f"d_{f.name}", f.type) for f in DECISION_SCHEMA]
    fields += [pa.field(f"r_{f.name}", f.type) for f in REJECTION_SCHEMA]
    fields.append(pa.field("blank", pa.int64()))
    return pa.schema(fields)


def _combine(dec: pa.RecordBatch, rej: pa.RecordBatch, blank: int) -> pa.RecordBatch:
    schema = _out_schema()
    n_d, n_r = dec.num_rows, rej.num_rows
    cols: list[Any] = [pa.array(["D"] * n_d + ["R"] * n_r + (["B"] if blank else []))]
    extra = 1 if blank else 0
    for f in DECISION_SCHEMA:
        cols.append(pa.concat_arrays([dec.column(f.name),
                                      pa.nulls(n_r + extra, f.type)]))
    for f in REJECTION_SCHEMA:
        cols.append(pa.concat_arrays([pa.nulls(n_d, f.type), rej.column(f.name),
                                      pa.nulls(extra, f.type)]))
    cols.append(pa.array([None] * (n_d + n_r) + ([blank] if blank else []), pa.int64()))
    return pa.RecordBatch.from_arrays(cols, schema=schema)


def rate_table_spark(source: str | os.PathLike[str], *, period: str, mode: str,
                     out: str | os.PathLike[str], rulebook: str = "brokerage", operator: str,
                     now: dt.datetime | None = None, spark: Any = None,
                     force: bool = False) -> TableResult:
    """``rate_table`` on Spark (see module doc); the same files in ``out``."""
    from pyspark.sql import functions as F

    parse_mode(mode)
    now = (now or dt.datetime.now()).replace(microsecond=0)
    settings: dict[str, Any] = {"period": period, "mode": mode, "rulebook": rulebook,
                                "operator": operator, "now": now}
    spec = settle_run(**settings)
    done, backwards = applied_before(Path(out), spec, force)
    if done is not None:
        return done
    spark = spark or session()
    df = read_frame(spark, os.fspath(source))
    header = list(df.columns)
    cmap = column_map([h.strip() for h in header])
    if "client_id" not in cmap:
        raise WorkbookError(f"{source} 没有“客户编号”列（或 client_id）。")
    wanted, used = pick_columns(header)
    names = [header[c - 1] for c in wanted]
    used_at = [wanted.index(c) + 1 for c in used]  # (1-based in ``names``)
    df = df.select(*[F.col(f"`{n}`") for n in names])
    starts, rows_in = _partition_starts(df, F)
    duplicates = _duplicates(df, header[cmap["client_id"] - 1], starts, F)
    rated = df.mapInArrow(_rater(settings, names, used_at, duplicates, starts),
                          _spark_schema(_out_schema())).cache()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    res = TableResult(out_dir=out_dir, period=spec.period.label, mode=spec.mode,
                      rulebook_ref=spec.rulebook.ref, engine="spark", rows_in=rows_in,
                      backwards=backwards)
    try:
        _write_outputs(rated, out_dir, res, F)
    finally:
        for name in (DECISIONS, REJECTIONS):
            shutil.rmtree(out_dir / f".{name}.tmp", ignore_errors=True)
        rated.unpersist()
    finish(res, spec, operator, now, os.fspath(source))
    return res


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def _partition_starts(df: Any, F: Any) -> tuple[dict[int, int], int]:
    """The row number of each partition's first row (the input's order, the header being row
    1), from the row counts of the partitions before it; and the number of rows."""
    counts = dict(df.groupBy(F.spark_partition_id().alias("p")).count().collect())
    starts, at = {}, 2
    for p in range(df.rdd.getNumPartitions()):
        starts[p] = at
        at += counts.get(p, 0)
    return starts, at - 2


def _duplicates(df: Any, id_name: str, starts: dict[int, int], F: Any) -> dict[str, list[int]]:
    """客户编号 met more than once: id -> every row it is on (a groupBy; the row numbers from
    the partition's start and the position in it, in the JVM)."""
    first = F.create_map(*[F.lit(x) for p, k in starts.items() for x in (p, k)]) if starts \
        else F.create_map(F.lit(0), F.lit(2))
    pid = F.spark_partition_id()
    row = (F.element_at(first, pid) + F.monotonically_increasing_id()
           - F.shiftleft(pid.cast("long"), 33))
    cid = F.trim(F.col(f"`{id_name}`").cast("string"))
    dup_rows = (df.select(cid.alias("id"), row.alias(ROW))
                .where(F.col("id").isNotNull() & (F.col("id") != "") & ~F.col("id").startswith("#"))
                .groupBy("id").agg(F.count(F.lit(1)).alias("n"),
                                   F.sort_array(F.collect_list(ROW)).alias("rows"))
                .where("n > 1").collect())
    return {r["id"]: list(r["rows"]) for r in dup_rows}


def _rater(settings: dict[str, Any], names: list[str], used_at: list[int],
           duplicates: dict[str, list[int]], starts: dict[int, int]) -> Any:
    """The batch function on each partition's batches, rows numbered from its start."""
    def rate(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        k = starts.get(ctx.partitionId() if ctx is not None else 0, 2)
        sp = settle_run(**settings)
        hdr = list(names)
        for b in batches:
            dec, rej, blank = rate_arrow(b.select(hdr), k - 2, sp, hdr,
                                         list(range(1, len(hdr) + 1)), duplicates, used_at)
            k += b.num_rows
            yield _combine(dec, rej, blank)

    return rate


def _write_outputs(rated: Any, out_dir: Path, res: TableResult, F: Any) -> None:
    """decisions.parquet and rejections.parquet (part files sorted by 行号), the counts
    checked, then moved into place."""
    for name, kind, schema, prefix in ((DECISIONS, "D", DECISION_SCHEMA, "d_"),
                                       (REJECTIONS, "R", REJECTION_SCHEMA, "r_")):
        part = rated.where(F.col(KIND) == kind).select(
            *[F.col(f"`{prefix}{f.name}`").alias(f.name) for f in schema])  # (in order)
        part.write.mode("overwrite").parquet(os.fspath(out_dir / f".{name}.tmp"))
        res.files[name] = out_dir / name
    _spark_counts(res, rated, F)
    res.check_counts()
    for name in (DECISIONS, REJECTIONS):
        final = out_dir / name
        if final.exists():
            shutil.rmtree(final) if final.is_dir() else final.unlink()
        os.replace(out_dir / f".{name}.tmp", final)


def _arrow_fields(df: Any) -> list[tuple[str, pa.DataType]]:
    from pyspark.sql.pandas.types import to_arrow_schema

    return [(f.name, f.type) for f in to_arrow_schema(df.schema)]


def _spark_counts(res: TableResult, rated: Any, F: Any) -> None:
    """The run's counts in one aggregation over the rated rows."""
    keys = [KIND, "`d_在范围`", "`d_级别变动`", "`d_营业部`", "`d_原级别`", "`d_当前级别`"]
    got = rated.groupBy(*keys).agg(F.count(F.lit(1)).alias("n"),
                                   F.sum("blank").alias("b")).collect()
    res.decisions = sum(r["n"] for r in got if r[0] == "D")
    res.rejected = sum(r["n"] for r in got if r[0] == "R")
    res.blank = int(sum(r["b"] or 0 for r in got))
    counts: dict[tuple[str, str, str], int] = {}
    changed: dict[str, int] = {}
    for kind, scope, change, branch, before, after, n, _b in got:
        if kind != "D" or not scope:
            continue
        res.in_scope += n
        changed[change or ""] = changed.get(change or "", 0) + n
        key = (branch or "（未填营业部）", before or "无级别", after or "无级别")
        counts[key] = counts.get(key, 0) + n
    res.changed = changed
    res.by_branch = by_branch_counts(counts)
