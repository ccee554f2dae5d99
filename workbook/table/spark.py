"""The Spark engine of ``rate-table``: the local engine's batch function (``run.rate_arrow``,
the job's steps on an Arrow batch) run by PySpark ``mapInArrow`` over a DataFrame read from the
same paths (Parquet, CSV as text) or from a table of the metastore (Hive).

The input is read twice, the rating runs once:

1. one aggregation in the JVM (``_layout``): the rows of each partition — so each partition's
   first row number is known (the input's order; the header counts as row 1) — and the
   客户编号 met more than once with every row they are on (a 64-bit hash of the id grouped
   first; only hashes met twice are grouped again by the id itself);
2. one ``mapInArrow`` pass (``spark_task``): each partition rated batch by batch, its rows
   numbered from its start, and its decisions, rejections and history records written by the
   task itself with pyarrow, as the local engine writes them (``decisions.parquet`` and
   ``rejections.parquet`` are directories of part files, one per partition, in the input's
   order; history parts digested as they are written); the task returns only its counts and
   its history parts' digests. Nothing of the rated rows goes back to the JVM, nothing is
   cached, nothing is computed twice.

The driver adds the partitions' counts up, checks rows in = decisions + rejections + blank
rows, moves the files into place, and writes the history's 运行 part and manifest and the
summary. The session's settings: ``spark_conf``.

On a cluster: build the wheel (``python -m build``), ship it to the executors
(``spark-submit --py-files client_rating-….whl`` or an environment with it installed) and run
``client-rating rate-table … --engine spark`` through ``spark-submit`` (docs/headoffice.md);
``--out`` must be a path the driver and the executors both see (they write the parts).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

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
    run_common,
    write_summary,
)
from .source import pick_columns
from .spark_conf import configure
from .spark_task import RESULT_SCHEMA, rate_partitions
from .steps import settle_run


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
    return configure(b, master).getOrCreate()


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
    starts, rows_in, duplicates = _layout(df, header[cmap["client_id"] - 1], F)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    res = TableResult(out_dir=out_dir, period=spec.period.label, mode=spec.mode,
                      rulebook_ref=spec.rulebook.ref, engine="spark", rows_in=rows_in,
                      backwards=backwards)
    from .history import HistoryWriter

    hist = HistoryWriter(out_dir, run_common(spec, operator, now, os.fspath(source)))
    tmp = {k: out_dir / f".{k}.tmp" for k in (DECISIONS, REJECTIONS)}
    try:
        for d in tmp.values():
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir()
        dirs = {"decisions": os.fspath(tmp[DECISIONS].resolve()),
                "rejections": os.fspath(tmp[REJECTIONS].resolve()),
                "history": os.fspath(hist.tmp.resolve())}
        rate = rate_partitions(settings, names, used_at, duplicates, starts, dirs, hist.common)
        got = df.mapInArrow(rate, _spark_schema(RESULT_SCHEMA)).collect()
        _add_up(res, [json.loads(r[0]) for r in got], hist)
        res.check_counts()
        _put_in_place(tmp, hist.tmp, out_dir, res)
        res.history = hist.close(res.summary())
    except BaseException:
        hist.discard()
        raise
    finally:
        for d in tmp.values():
            shutil.rmtree(d, ignore_errors=True)
    write_summary(res, spec.labels)
    return res


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def _layout(df: Any, id_name: str, F: Any
            ) -> tuple[dict[int, int], int, dict[str, list[int]]]:
    """Before rating, in the JVM: the row number of each partition's first row (the input's
    order, the header being row 1: the row counts of the partitions before it), the number of
    rows, and the 客户编号 met more than once with every row they are on.

    One aggregation over the input counts each row under its partition (key kind 0) and under
    a 64-bit hash of its 客户编号 (kind 1: fixed-width keys, no strings in the aggregation).
    Only if some hash is met twice (a duplicate — or two ids of one hash) are the rows of
    those hashes grouped by their 客户编号 itself, with their places
    (``monotonically_increasing_id``: the partition in the upper bits, the position below)."""
    cid = F.trim(F.col(f"`{id_name}`").cast("string"))
    placed = df.select(F.spark_partition_id().cast("long").alias("p"),
                       F.monotonically_increasing_id().alias("at"),
                       F.when(cid.isNotNull() & (cid != "") & ~cid.startswith("#"), cid)
                       .alias("id"))
    placed = placed.withColumn("h", F.when(F.col("id").isNotNull(), F.xxhash64("id")))
    keys = F.array(F.struct(F.lit(0).alias("k"), F.col("p").alias("v")),
                   F.struct(F.lit(1).alias("k"), F.col("h").alias("v")))
    got = (placed.select(F.inline(keys)).where(F.col("v").isNotNull())
           .groupBy("k", "v").agg(F.count(F.lit(1)).alias("n"))
           .where((F.col("k") == 0) | (F.col("n") > 1)).collect())
    counts = {r["v"]: r["n"] for r in got if r["k"] == 0}
    starts, row = {}, 2
    for p in range(df.rdd.getNumPartitions()):
        starts[p] = row
        row += counts.get(p, 0)
    hashes = [r["v"] for r in got if r["k"] == 1]
    return starts, row - 2, (_duplicates(placed, hashes, starts, F) if hashes else {})


def _duplicates(placed: Any, hashes: list[int], starts: dict[int, int],
                F: Any) -> dict[str, list[int]]:
    """The 客户编号 of these hashes met more than once: id -> its row numbers."""
    spark = placed.sparkSession
    which = spark.createDataFrame([(h,) for h in hashes], "h long")
    got = (placed.join(F.broadcast(which), "h").groupBy("id")
           .agg(F.collect_list("at").alias("at")).where(F.size("at") > 1).collect())
    return {r["id"]: sorted(starts[a >> 33] + (a & (2**33 - 1)) for a in r["at"])
            for r in got}


def _add_up(res: TableResult, got: list[dict[str, Any]], hist: Any) -> None:
    """The run's counts and history parts from the partitions' results (one per partition:
    a task run twice gives the same result)."""
    parts = {r["partition"]: r for r in got}
    rows = sum(r["rows_in"] for r in parts.values())
    if rows != res.rows_in:
        raise WorkbookError(f"行数不符：读入 {res.rows_in} 行，评级 {rows} 行；本次输出作废。")
    counts: dict[tuple[str, str, str], int] = {}
    for _p, r in sorted(parts.items()):
        res.decisions += r["decisions"]
        res.rejected += r["rejected"]
        res.blank += r["blank"]
        res.in_scope += r["in_scope"]
        for k, n in r["changed"].items():
            res.changed[k] = res.changed.get(k, 0) + n
        for br, before, after, n in r["counts"]:
            counts[(br, before, after)] = counts.get((br, before, after), 0) + n
        hist.parts[""] += r["changes"]
        hist.parts["r"] += r["rejects"]
    res.by_branch = by_branch_counts(counts)


def _put_in_place(tmp: dict[str, Path], hist_tmp: Path, out_dir: Path,
                  res: TableResult) -> None:
    """Leftovers of failed task attempts removed (hidden files); decisions.parquet and
    rejections.parquet (directories of parts, one file at least) moved into place."""
    for d in (*tmp.values(), hist_tmp):
        for f in d.glob(".*.tmp"):
            f.unlink()
    for name, schema in ((DECISIONS, DECISION_SCHEMA), (REJECTIONS, REJECTION_SCHEMA)):
        if not any(tmp[name].glob("*.parquet")):
            pq.write_table(schema.empty_table(), tmp[name] / "part-00000.parquet")
        final = out_dir / name
        if final.exists():
            shutil.rmtree(final) if final.is_dir() else final.unlink()
        os.replace(tmp[name], final)
        res.files[name] = final
