"""The settings of the Spark engine's session (``spark.session``), and why.

The run is two Spark jobs for a Parquet input the tasks read with pyarrow (``spark_read``; the
settings of Spark's Parquet reader below matter only with ``--spark-read spark``, a CSV or a
table) and for a single Parquet file Spark reads (its schema read from its footer on the
driver, ``spark.footer_schema``; otherwise a third, Spark's own, infers it): one pass over the
客户编号 column (rows per partition and the ids' hashes, collected as Arrow: ``spark._layout``;
a second one only when an id is met twice), and one ``mapInArrow`` pass that rates and writes
every partition (``spark_task``). What matters for it:

* ``spark.sql.execution.arrow.maxRecordsPerBatch``: the rows of each Arrow batch handed to the
  Python worker — the local engine's batch (131,072) instead of Spark's 10,000, so the batch
  function's fixed costs are paid 13 times less often (measured: 2.5 s per million rows at
  10,000 against 1.6–2.0 s at 32,768–131,072, in one process);
* ``spark.sql.shuffle.partitions``: the one aggregation's partitions; Spark's 200 are for a
  cluster — on a local master, two per core (adaptive execution coalesces them anyway);
* ``spark.python.worker.reuse`` (Spark's default, kept explicit): one Python worker per core
  for the whole run, not one per task (the rulebook is loaded once per worker and task);
* on a local master, the JVM compiles with its quick compiler only
  (``-XX:TieredStopAtLevel=1`` in ``spark.driver.extraJavaOptions``): the JVM of a run of a
  minute spends much of its CPU compiling with the optimising one, on the cores that rate —
  measured on this machine at 3M clients: the JVM's CPU 39 s → 32 s, of which the session's
  start 10.7 s → 5.2 s (one run each, load 8–9);
* on a local master, the parallel collector (``-XX:+UseParallelGC``) instead of G1: the heap
  holds nothing long-lived (batches come and go), and G1's concurrent work and barriers cost
  CPU on the two cores that rate — measured at 3M clients: the JVM's CPU 25.1 / 26.1 s (G1)
  → 21.7 s (parallel), 22.3 s (serial), one run each, load 2–4;
* on a local master, no web UI (``spark.ui.enabled``: its web server's start is about 1 s of
  the session's — 8.1 / 6.3 s with it, 5.8 / 5.4 s without, load 4); the console's progress
  bar stays; a cluster's session (``spark-submit``) keeps its UI;
* left as Spark sets them, measured or weighed: ``spark.sql.parquet.columnarReaderBatchSize``
  (4,096 / 16,384 / 32,768 rows: the JVM's CPU 20.6 / 19.7 / 21.7 s at 3M, within the noise),
  the vectorised Parquet reader (on by default: ``explain()`` shows ``Batched: true`` and a
  ``ReadSchema`` of the columns read only); ``spark.sql.execution.arrow.useLargeVarTypes``
  stays off (the id hashes read 32-bit text offsets); ``spark.sql.files.maxPartitionBytes``
  (a Parquet row group is never split: more partitions than row groups are empty);
* ``spark.driver.memory`` is left to Spark (1 GB; set it with ``spark-submit
  --driver-memory``): nothing of the rated rows is kept or cached in the JVM.
"""

from __future__ import annotations

import os
import re
from typing import Any

from .source import BATCH_ROWS


def configure(builder: Any, master: str | None) -> Any:
    """``builder`` with the engine's settings (a local master: its shuffle partitions)."""
    b = (builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(BATCH_ROWS))
         .config("spark.python.worker.reuse", "true"))
    cores = local_cores(master)
    if cores:
        b = (b.config("spark.sql.shuffle.partitions", str(2 * cores))
             .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseParallelGC")
             .config("spark.ui.enabled", "false"))
    return b


def local_cores(master: str | None) -> int:
    """The cores of a local master (``local``, ``local[2]``, ``local[*]``), else 0."""
    m = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master or "")
    if m is None:
        return 0
    n = m.group(1)
    return int(n) if n and n != "*" else (os.cpu_count() or 1) if n else 1
