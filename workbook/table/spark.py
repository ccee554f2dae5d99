"""The Spark engine of ``rate-table``: the local engine's batch function (``run.rate_arrow``,
the job's steps on an Arrow batch) run by PySpark ``mapInArrow``.

Its input: a Parquet file or directory the driver sees is read by the tasks themselves with
pyarrow (``spark_read``: the driver cuts the footers' row groups into stretches, in the local
engine's order; the Spark jobs run on an RDD of the stretches' numbers) — the default,
``read="auto"`` (``--spark-read auto``); otherwise (CSV, a table of the metastore (Hive), a
path the driver does not see, files whose column types differ) and with ``read="spark"``, a
DataFrame read by Spark from the same paths (Parquet, CSV as text) or the table.

The input is read twice, the rating runs once:

1. one pass over the 客户编号 column (``_layout``): the rows of each partition — so each
   partition's first row number is known (the input's order; the header counts as row 1) — and the
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
``--out`` must be a path the driver and the executors both see (they write the parts), and so
must a Parquet input the tasks read (else ``--spark-read spark``: Spark's reader, its URIs).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from rules.rerating import parse_mode

from ..schema import WorkbookError, column_map
from .idhash import met_twice
from .run import (
    DECISION_SCHEMA,
    DECISIONS,
    REJECTION_SCHEMA,
    REJECTIONS,
    TableResult,
    applied_before,
    by_branch_counts,
    forced_rerun,
    run_common,
    write_summary,
)
from .source import pick_columns
from .spark_conf import configure
from .spark_task import (
    FOUND_SCHEMA,
    HASHES_SCHEMA,
    RESULT_SCHEMA,
    find_ids,
    hash_ids,
    rate_partitions,
)
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
        files = files_in_order(p) if p.is_dir() else []
        if 1 < len(files) <= MAX_UNION:
            frames = [_parquet(spark, f) for f in files]
            return functools.reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True),
                                    frames)
        return _parquet(spark, p)
    if not spark.catalog.tableExists(source):
        raise WorkbookError(f"找不到输入 {source}（不是文件或目录，也不是 Spark/Hive 表）。")
    return spark.table(source)


#: With Spark's reader (``--spark-read spark``, or files whose column types differ): up to
#: this many files, a directory is read file by file and joined in the local engine's order (a
#: union of one DataFrame per file); beyond, Spark reads the directory itself (its 行号 then
#: follow Spark's order: docs/headoffice.md). The tasks' own read (``spark_read``) has no limit.
MAX_UNION = 256


def _parquet(spark: Any, p: Path) -> Any:
    schema = footer_schema(p)
    reader = spark.read if schema is None else spark.read.schema(schema)
    return reader.parquet(os.fspath(p))


def files_in_order(p: Path) -> list[Path]:
    """The Parquet files of a directory in the order the local engine reads them (pyarrow's
    dataset listing), to be read one by one and joined in that order: Spark's own listing
    packs files into partitions largest first, so its rows — and their 行号 — would come in
    another order. ``[]`` (Spark reads the directory itself) when the directory names Hive
    partition keys (``营业部=…/``): their columns come from the paths, not the files."""
    import pyarrow.dataset as pads

    try:
        ds = pads.dataset(p, format="parquet", partitioning="hive")
        if ds.schema.names != pads.dataset(p, format="parquet").schema.names:
            return []
    except (OSError, pa.ArrowException):
        return []
    return [Path(f) for f in ds.files]


SAFE_TYPES = (pa.types.is_string, pa.types.is_int32, pa.types.is_int64, pa.types.is_float64,
              pa.types.is_float32, pa.types.is_boolean, pa.types.is_date32)


def footer_schema(path: Path) -> Any:
    """The Spark schema of one Parquet file read from its footer on the driver, so that Spark
    does not start a job to infer it — only for a single file whose every column is of a type
    that Spark infers the same way (text, whole and decimal numbers in int32/64 or floats,
    booleans, dates); anything else (a directory, other types, a footer pyarrow cannot read):
    ``None``, Spark infers it."""
    if not path.is_file():
        return None
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException):
        return None
    if not all(any(ok(f.type) for ok in SAFE_TYPES) for f in schema):
        return None
    return _spark_schema(schema)


def rate_table_spark(source: str | os.PathLike[str], *, period: str, mode: str,
                     out: str | os.PathLike[str], rulebook: str = "brokerage", operator: str,
                     now: dt.datetime | None = None, spark: Any = None,
                     force: bool = False, read: str = "auto") -> TableResult:
    """``rate_table`` on Spark (see module doc); the same files in ``out``. ``read``: "auto"
    (a Parquet input the driver sees is read by the tasks with pyarrow: ``spark_read``),
    "spark" (Spark's reader always)."""
    if read not in READS:
        raise WorkbookError(f"--spark-read 只能是 {'、'.join(READS)}：{read}")
    parse_mode(mode)
    now = (now or dt.datetime.now()).replace(microsecond=0)
    settings: dict[str, Any] = {"period": period, "mode": mode, "rulebook": rulebook,
                                "operator": operator, "now": now}
    spec = settle_run(**settings)
    done, backwards = applied_before(Path(out), spec, force)
    if done is not None:
        return done
    spark = spark or session()
    inp = _Input(spark, os.fspath(source), read)
    starts, rows_in, duplicates = inp.layout()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    res = TableResult(out_dir=out_dir, period=spec.period.label, mode=spec.mode,
                      rulebook_ref=spec.rulebook.ref, engine="spark", rows_in=rows_in,
                      backwards=backwards, rerun=force and forced_rerun(out_dir, spec))
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
        rate = rate_partitions(settings, inp.names, inp.used_at, duplicates, starts, dirs,
                               hist.common, inp.plan)
        got = inp.run(inp.frame, rate, RESULT_SCHEMA)
        _add_up(res, [json.loads(r["result"]) for r in got], hist)
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


#: ``--spark-read``: "auto" (the tasks read a Parquet input with pyarrow where they can),
#: "spark" (Spark's reader).
READS = ("auto", "spark")


class _Input:
    """The run's input as the Spark job sees it: the stretches of a Parquet input the tasks
    read themselves (``plan``: ``spark_read``), or a DataFrame read by Spark (``plan`` None);
    the columns read (``names``) and, 1-based among them, those a run uses."""

    def __init__(self, spark: Any, source: str, read: str) -> None:
        from pyspark.sql import functions as F

        from .spark_read import plan

        self.spark, self.source = spark, source
        self.plan = plan(source, spark.sparkContext.defaultParallelism) if read == "auto" \
            else None
        df: Any = None if self.plan is not None else read_frame(spark, source)
        header = self.plan.header if self.plan is not None else list(df.columns)
        cmap = column_map([h.strip() for h in header])
        if "client_id" not in cmap:
            raise WorkbookError(f"{source} 没有“客户编号”列（或 client_id）。")
        self.id_name = header[cmap["client_id"] - 1]
        wanted, used = pick_columns(header)
        self.names = [header[c - 1] for c in wanted]
        self.used_at = [wanted.index(c) + 1 for c in used]  # (1-based in ``names``)
        self.frame: Any = None if df is None else df.select(*[F.col(f"`{n}`") for n in self.names])

    def run(self, frame: Any, fn: Any, schema: pa.Schema) -> list[dict[str, Any]]:
        """The rows ``fn`` gives on each partition of ``frame`` (``mapInArrow``) or, with the
        tasks' read, on each stretch of the plan: then an RDD of the stretches' numbers, one
        per partition, whose tasks call ``fn`` (the RDD API: no query to plan and compile in
        the JVM for a frame of a few numbers — measured: 2.2 CPU-s of the JVM less a run)."""
        if self.plan is None:
            return frame.mapInArrow(fn, _spark_schema(schema)).toArrow().to_pylist()
        n = len(self.plan.stretches)

        def task(ks: Iterator[int]) -> Iterator[dict[str, Any]]:
            for b in fn(ks):
                yield from b.to_pylist()

        return self.spark.sparkContext.parallelize(range(n), n).mapPartitions(task).collect()

    def layout(self) -> tuple[dict[int, int], int, dict[str, list[int]]]:
        """(each partition's first row number, the rows, the 客户编号 met more than once)."""
        if self.plan is None:
            from pyspark.sql import functions as F

            ids = self.frame.select(F.col(f"`{self.id_name}`"))
            return _layout(functools.partial(self.run, ids), ids.rdd.getNumPartitions(),
                           hash_ids(), find_ids)
        pl, name = self.plan, self.id_name
        starts, rows, dups = _layout(functools.partial(self.run, None), len(pl.stretches),
                                     hash_ids(pl, name), lambda again: find_ids(again, pl, name))
        if rows != pl.rows or starts != dict(enumerate(pl.starts)):
            raise WorkbookError(f"行数不符：{self.source} 的文件尾记 {pl.rows} 行，读到 {rows} 行；"
                                "本次未做任何更改。")
        return starts, rows, dups


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def _layout(run: Any, n_parts: int, hasher: Any, finder: Any
            ) -> tuple[dict[int, int], int, dict[str, list[int]]]:
    """Before rating, over the 客户编号 column only (``run(fn, schema)``: ``fn``'s rows on a
    frame of it, or on the stretches the tasks read; ``hasher``/``finder``:
    ``spark_task.hash_ids``/``find_ids``):
    the row number of each partition's first row (the input's order, the header being row 1:
    the rows of the partitions before it), the number of rows, and the 客户编号 met more than
    once with every row they are on — as the local engine finds them
    (``source.duplicate_ids``): each task hashes its ids (8 bytes a row, sent to the driver,
    sorted there); only when two hashes are equal are the rows of those hashes read again,
    their ids compared themselves."""
    import numpy as np

    # (collected as Arrow: the hashes' bytes are not turned into Python rows by the JVM)
    got = run(hasher, HASHES_SCHEMA)
    got.sort(key=lambda r: r["p"])
    counts = {r["p"]: r["n"] for r in got}
    starts, row = {}, 2
    for p in range(n_parts):
        starts[p] = row
        row += counts.get(p, 0)
    hashes = np.concatenate([np.frombuffer(r["h"], np.uint64) for r in got]
                            or [np.zeros(0, np.uint64)])
    again = met_twice(np.sort(hashes[hashes != 0]))  # (0: no id, or an error value)
    del hashes
    if not len(again):
        return starts, row - 2, {}
    seen: dict[str, list[int]] = {}
    for r in run(finder(again), FOUND_SCHEMA):
        seen.setdefault(r["id"], []).append(starts[r["p"]] + r["at"])
    return starts, row - 2, {k: sorted(v) for k, v in seen.items() if len(v) > 1}


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
