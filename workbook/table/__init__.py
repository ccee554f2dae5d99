"""The head-office front end: rate a warehouse extract (Parquet or CSV; later Spark) with the
same validation, rulebooks and mode logic as a workbook run (docs/headoffice.md).

``source`` reads the extract in Arrow record batches as 客户 sheets; ``steps`` is the one
module that calls the job's steps on a batch; ``run`` is the local engine (``rate_table``).
"""

from .run import TableResult, rate_table

__all__ = ["TableResult", "rate_table"]
