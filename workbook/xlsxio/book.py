"""``XlsxBook``: one workbook file opened once for a run, the way python-calamine's
``CalamineWorkbook`` and openpyxl's reader (manifest -> strings -> workbook -> worksheets) work.

It holds the zip (opened after the safety checks: not an OLE/encrypted file, no zip bomb,
no duplicate or escaping entry names), and reads lazily, once each: the workbook info (sheets,
relationships, Strict or transitional namespaces, the 1904 flag), the shared strings and the
date styles. The reader (``read_sheet``), the row finder (``find_rows``), ``sheet_names`` and
the patcher (``patch_workbook``) take either a path (they then open a book of their own, as
before) or an ``XlsxBook``::

    with XlsxBook(path) as book:
        clients = read_sheet(book, "客户", columns=...)
        log = find_rows(book, "变更记录", col=1, text=run_id)
        patch_workbook(book, path, edits)      # closes the book before the rename

A book is not shared between threads or processes (the parallel reader opens the file in each
worker)."""

from __future__ import annotations

import os
import zipfile
from functools import cached_property
from pathlib import Path

from .errors import XlsxError
from .package import SheetInfo, WorkbookInfo, date_styles, read_workbook_info, shared_strings
from .safety import check_zip, open_zip
from .scan import CellContext


class XlsxBook:
    """An .xlsx/.xlsm file opened and checked once (see the module doc). ``XlsxBook(path)``
    opens and owns the zip (``close()``, or use it as a context manager);
    ``XlsxBook.of_zip(zf)`` wraps a zip the caller opened (and closes)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path: Path | None = Path(path)
        self.zf = open_zip(path)
        self._owned = True
        try:
            check_zip(self.zf)
        except BaseException:
            self.zf.close()
            raise

    @classmethod
    def of_zip(cls, zf: zipfile.ZipFile) -> XlsxBook:
        """A book over a zip already opened (and checked) by the caller, who closes it."""
        book = cls.__new__(cls)
        book.path = Path(zf.filename) if zf.filename else None
        book.zf = zf
        book._owned = False
        return book

    @cached_property
    def info(self) -> WorkbookInfo:
        """Sheets, relationships, namespaces and the 1904 flag (``xl/workbook.xml``, once)."""
        return read_workbook_info(self.zf)

    @cached_property
    def shared_strings(self) -> list[str]:
        """The shared string table, parsed on first use and kept."""
        return shared_strings(self.zf, self.info.sst_part)

    @cached_property
    def date_flags(self) -> list[bool]:
        """``date_flags[s]``: does cell style ``s`` show a date (styles.xml, once)."""
        return date_styles(self.zf, self.info.styles_part)

    def context(self) -> CellContext:
        """A fresh value context for one scan of a sheet (shared formulas are per scan)."""
        return CellContext(self.shared_strings, self.date_flags, self.info.date1904)

    def sheet(self, name: str) -> SheetInfo:
        """The worksheet ``name`` (Excel's case-insensitive match); a clear error when the
        workbook has no such sheet or its part is missing."""
        sh = self.info.sheet(name)
        if sh.part not in self.info.names:
            raise XlsxError(f"工作表“{sh.name}”的内容缺失（{sh.part}），文件可能已损坏。")
        return sh

    def sheet_names(self) -> list[str]:
        """Names of the worksheets, in workbook order (chart sheets are not listed)."""
        return [s.name for s in self.info.sheets]

    @property
    def closed(self) -> bool:
        return self.zf.fp is None

    def close(self) -> None:
        """Close the zip (when the book opened it). Idempotent."""
        if self._owned:
            self.zf.close()

    def __enter__(self) -> XlsxBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["XlsxBook"]
