"""Lossless headless read/patch of users' .xlsx/.xlsm workbooks.

Only the worksheet parts that change are rewritten (streamed); every other zip entry is copied
byte for byte; the result is written to a temp file and renamed over the destination.
"""

from .errors import CellError, UnsafeWorkbookError, WorkbookLockedError, XlsxError
from .reader import SheetData, read_sheet, sheet_names
from .safety import check_safe, lock_file_for
from .sheetxml import col_index, col_letter

__all__ = [
    "CellError",
    "SheetData",
    "UnsafeWorkbookError",
    "WorkbookLockedError",
    "XlsxError",
    "check_safe",
    "col_index",
    "col_letter",
    "lock_file_for",
    "read_sheet",
    "sheet_names",
]

from .chart import ChartSpec
from .patch import KEEP, SheetEdit, cleanup_temp_files, patch_workbook

__all__ += ["KEEP", "ChartSpec", "SheetEdit", "cleanup_temp_files", "patch_workbook"]
