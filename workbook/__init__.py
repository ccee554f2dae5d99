"""Branch workbooks: the 客户 contract, the re-rating job, history, summary, template, demo.

``workbook.xlsxio`` (lossless file I/O) stands alone; the names below are imported lazily so
that importing the file layer does not pull in rules/ and udfs/.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "rerate": "workbook.job",
    "RunResult": "workbook.job",
    "read_clients": "workbook.schema",
    "WorkbookError": "workbook.schema",
    "verify_chain": "workbook.history",
    "new_workbook": "workbook.template",
    "BUTTONS": "workbook.template",
    "make_demo_clients": "workbook.demo",
    "run_demo": "workbook.demo",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'workbook' has no attribute {name!r}")
