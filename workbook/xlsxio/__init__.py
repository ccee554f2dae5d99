"""Lossless headless read/patch of users' .xlsx/.xlsm workbooks.

Only the worksheet parts that change are rewritten (streamed); every other zip entry is copied
byte for byte; the result is written to a temp file and renamed over the destination.
"""

from .book import XlsxBook
from .errors import CellError, UnsafeWorkbookError, WorkbookLockedError, XlsxError
from .reader import SheetData, read_sheet, sheet_names
from .safety import check_safe, lock_file_for
from .sheetxml import col_index, col_letter

__all__ = [
    "CellError",
    "SheetData",
    "UnsafeWorkbookError",
    "WorkbookLockedError",
    "XlsxBook",
    "XlsxError",
    "check_safe",
    "col_index",
    "col_letter",
    "lock_file_for",
    "read_sheet",
    "sheet_names",
]

from .chart import ChartSpec
from .findrows import FoundRows, find_rows
from .patch import KEEP, SheetEdit, cleanup_temp_files, patch_workbook

__all__ += ["KEEP", "ChartSpec", "FoundRows", "SheetEdit", "cleanup_temp_files", "find_rows",
            "patch_workbook"]
