"""The head-office front end: rate a warehouse extract (Parquet or CSV; later Spark) with the
same validation, rulebooks and mode logic as a workbook run (docs/headoffice.md).

``source`` reads the extract in Arrow record batches; ``fastcheck`` validates a batch on whole
columns (the job's ``schema.validate`` for the rows it is not sure of); ``steps`` runs the job's
steps on a batch, ``columns`` and ``texts`` make its output columns in Arrow; ``run`` is the
local engine (``rate_table``), ``spark`` the Spark one, ``history`` the runs' records.
"""

from .run import TableResult, rate_table

__all__ = ["TableResult", "rate_table"]
