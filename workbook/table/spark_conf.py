"""The settings of the Spark engine's session (``spark.session``), and why.

The run is three Spark jobs: the input's schema, one pass over the 客户编号 column (rows per
partition and the ids' hashes: ``spark._layout``; a second one only when an id is met twice),
and one ``mapInArrow`` pass that rates and writes every partition (``spark_task``). What
matters for it:

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
             .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseParallelGC"))
    return b


def local_cores(master: str | None) -> int:
    """The cores of a local master (``local``, ``local[2]``, ``local[*]``), else 0."""
    m = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master or "")
    if m is None:
        return 0
    n = m.group(1)
    return int(n) if n and n != "*" else (os.cpu_count() or 1) if n else 1
