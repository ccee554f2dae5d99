"""The Spark engine of ``rate-table``: the local engine's batch function (``run.rate_arrow``,
the job's steps on an Arrow batch) run by PySpark ``mapInArrow`` over a DataFrame read from the
same paths (Parquet, CSV as text) or from a table of the metastore (Hive).

Rows are numbered as the local engine numbers them (the input's order; the header counts as
row 1): a first ``mapInArrow`` gives each row its number from the row counts of the partitions
before it, a ``groupBy`` finds the 客户编号 met more than once (a small map broadcast to the
batch function), and the second ``mapInArrow`` rates. Outputs are the local engine's, as Spark
writes them (``decisions.parquet`` and ``rejections.parquet`` are directories of part files);
summary.json and summary.xlsx are written by the driver.

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
    done = applied_before(Path(out), spec, force)
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
    numbered = _numbered(df.select(*[F.col(f"`{n}`") for n in names])).cache()
    rows_in = numbered.count()
    duplicates = _duplicates(numbered, header[cmap["client_id"] - 1], F)
    rated = numbered.mapInArrow(_rater(settings, names, used_at, duplicates),
                                _spark_schema(_out_schema())).cache()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    res = TableResult(out_dir=out_dir, period=spec.period.label, mode=spec.mode,
                      rulebook_ref=spec.rulebook.ref, engine="spark", rows_in=rows_in)
    try:
        _write_outputs(rated, out_dir, res, F)
    finally:
        for name in (DECISIONS, REJECTIONS):
            shutil.rmtree(out_dir / f".{name}.tmp", ignore_errors=True)
        rated.unpersist()
        numbered.unpersist()
    finish(res, spec, operator, now, os.fspath(source))
    return res


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def _numbered(df: Any) -> Any:
    """The rows numbered in the input's order (the header being row 1): a ``mapInArrow``
    giving each row its number from the row counts of the partitions before it."""
    from pyspark.sql import functions as F

    counts = dict(df.groupBy(F.spark_partition_id().alias("p")).count().collect())
    starts, at = {}, 2
    for p in range(df.rdd.getNumPartitions()):
        starts[p] = at
        at += counts.get(p, 0)
    schema = pa.schema([*(pa.field(n, t) for n, t in _arrow_fields(df)),
                        pa.field(ROW, pa.int64())])

    def number(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        k = starts.get(ctx.partitionId() if ctx is not None else 0, 2)
        for b in batches:
            rows = pa.array(range(k, k + b.num_rows), pa.int64())
            k += b.num_rows
            yield pa.RecordBatch.from_arrays([*b.columns, rows], schema=schema)

    return df.mapInArrow(number, _spark_schema(schema))


def _duplicates(numbered: Any, id_name: str, F: Any) -> dict[str, list[int]]:
    """客户编号 met more than once: id -> every row it is on (a groupBy)."""
    cid = F.trim(F.col(f"`{id_name}`").cast("string"))
    dup_rows = (numbered.where(cid.isNotNull() & (cid != "") & ~cid.startswith("#"))
                .groupBy(cid.alias("id")).agg(F.count(F.lit(1)).alias("n"),
                                              F.sort_array(F.collect_list(ROW)).alias("rows"))
                .where("n > 1").collect())
    return {r["id"]: list(r["rows"]) for r in dup_rows}


def _rater(settings: dict[str, Any], names: list[str], used_at: list[int],
           duplicates: dict[str, list[int]]) -> Any:
    """The batch function on each run of consecutive rows of a partition."""
    def rate(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import numpy as np

        sp = settle_run(**settings)
        hdr = list(names)
        for b in batches:
            rows = b.column(ROW).to_numpy()
            cuts = np.flatnonzero(np.diff(rows) != 1) + 1
            for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(rows)], strict=True):
                part = b.slice(lo, hi - lo).select(hdr)
                dec, rej, blank = rate_arrow(part, int(rows[lo]) - 2, sp, hdr,
                                             list(range(1, len(hdr) + 1)), duplicates, used_at)
                yield _combine(dec, rej, blank)

    return rate


def _write_outputs(rated: Any, out_dir: Path, res: TableResult, F: Any) -> None:
    """decisions.parquet and rejections.parquet (part files sorted by 行号), the counts
    checked, then moved into place."""
    for name, kind, schema, prefix in ((DECISIONS, "D", DECISION_SCHEMA, "d_"),
                                       (REJECTIONS, "R", REJECTION_SCHEMA, "r_")):
        part = rated.where(F.col(KIND) == kind).select(
            *[F.col(f"`{prefix}{f.name}`").alias(f.name) for f in schema]).orderBy("行号")
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
    kinds = dict(rated.groupBy(KIND).count().collect())
    res.decisions, res.rejected = kinds.get("D", 0), kinds.get("R", 0)
    res.blank = int(rated.agg(F.sum("blank")).collect()[0][0] or 0)
    d = rated.where((F.col(KIND) == "D") & F.col("`d_在范围`"))
    res.in_scope = d.count()
    res.changed = {r[0] or "": r[1] for r in d.groupBy("`d_级别变动`").count().collect()}
    counts = {}
    for r in d.groupBy("`d_营业部`", "`d_原级别`", "`d_当前级别`").count().collect():
        counts[(r[0] or "（未填营业部）", r[1] or "无级别", r[2] or "无级别")] = r[3]
    res.by_branch = by_branch_counts(counts)
