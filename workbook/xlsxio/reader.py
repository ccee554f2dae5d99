"""One-pass streaming reader of a worksheet: cached values, dates, errors and formulas."""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from functools import lru_cache

from .book import XlsxBook
from .fastscan import SheetScan
from .sheetxml import (
    ROW_R_RE,
    SheetStream,
    no_gc,
    row_pieces,
)
from .values import ColumnNotReadError as ColumnNotReadError
from .values import ColumnSelection as ColumnSelection
from .values import HashedColumn as HashedColumn
from .values import SheetData as SheetData
from .values import UnreadColumn as UnreadColumn
from .values import Value as Value
from .values import datetime_to_serial as datetime_to_serial
from .values import serial_to_datetime as serial_to_datetime


def sheet_names(path: str | os.PathLike[str] | XlsxBook) -> list[str]:
    """Names of the worksheets, in workbook order (chart sheets are not listed)."""
    if isinstance(path, XlsxBook):
        return path.sheet_names()
    with XlsxBook(path) as book:
        return book.sheet_names()


def read_sheet(path: str | os.PathLike[str] | XlsxBook, sheet: str, *,
               columns: ColumnSelection = None, formula_text: bool = True,
               hashed: ColumnSelection = None) -> SheetData:
    """Read one worksheet in one streaming pass (see SheetData).

    ``columns``: read only these 1-based columns (a set), or those a function of the header
    returns (called once row 1 is read, with the trimmed header texts). Cells of the other
    columns are skipped without making values: they count for ``n_rows`` (a row holding only
    such a cell is still a row) but their values are not converted (nor checked), their
    formulas are not kept, and their column is an ``UnreadColumn`` (``SheetData.selected``).

    ``formula_text=False``: formula cells are noted by place (``SheetData.formula_places``,
    ``formula_mask``) without their text, for a caller that only needs to leave them alone.
    ``hashed``: columns (set or function of the header, as ``columns``) whose values are
    kept as ``hash(value)`` only (a ``HashedColumn``).

    ``path`` may be an open ``XlsxBook`` (its workbook info and shared strings are read once
    for every sheet read, row search and patch of the run)."""
    if isinstance(path, XlsxBook):
        return read_book_sheet(path, sheet, columns=columns, formula_text=formula_text,
                               hashed=hashed)
    with XlsxBook(path) as book:
        return read_book_sheet(book, sheet, columns=columns, formula_text=formula_text,
                               hashed=hashed)


def as_selection(cols: Iterable[int]) -> frozenset[int]:
    out = frozenset(cols)
    for c in out:
        if not isinstance(c, int) or isinstance(c, bool) or not 1 <= c <= 16384:
            raise ValueError(f"bad column number in columns=: {c!r}")
    return out


def read_sheet_zip(zf: zipfile.ZipFile, sheet: str, *, fast: bool = True,
                   columns: ColumnSelection = None, formula_text: bool = True,
                   hashed: ColumnSelection = None) -> SheetData:
    """``fast=False`` uses only the per-cell scanner (the reference the fast path is tested
    against). ``columns``: see ``read_sheet``."""
    return read_book_sheet(XlsxBook.of_zip(zf), sheet, fast=fast, columns=columns,
                           formula_text=formula_text, hashed=hashed)


def read_book_sheet(book: XlsxBook, sheet: str, *, fast: bool = True,
                    columns: ColumnSelection = None, formula_text: bool = True,
                    hashed: ColumnSelection = None) -> SheetData:
    """``read_sheet`` on an open book (see ``read_sheet_zip`` for ``fast``)."""
    zf = book.zf
    sh = book.sheet(sheet)
    ctx = book.context()
    decide = columns if callable(columns) else None
    decide_hashed = hashed if callable(hashed) else None
    with SheetStream(zf, sh.part) as stream, no_gc():
        scan = SheetScan(ctx, stream.ns)
        scan.sheet = sh.name
        scan.formula_text = formula_text
        if columns is not None and decide is None:
            scan.select = as_selection(columns)  # type: ignore[arg-type]
        if hashed is not None and decide_hashed is None:
            scan.hashed = as_selection(hashed)  # type: ignore[arg-type]
        for chunk in stream.row_chunks():
            if decide is not None or decide_hashed is not None:  # row 1 alone, then decide
                head, chunk = split_header(chunk, stream.ns)
                if head:
                    scan.slow(head)
                if decide is not None:
                    scan.select = as_selection(decide(scan.header_texts()))
                if decide_hashed is not None:
                    scan.hashed = as_selection(decide_hashed(scan.header_texts()))
                decide = decide_hashed = None
                if not chunk:
                    continue
            if fast:
                for piece in split_rows(chunk, scan.end_row):
                    if not scan.fast(piece):
                        scan.slow(piece)
            else:
                scan.slow(chunk)
        if decide is not None:  # no rows at all
            scan.select = as_selection(decide(scan.header_texts()))
        if decide_hashed is not None:
            scan.hashed = as_selection(decide_hashed(scan.header_texts()))
    return scan.result(sh.name)


@lru_cache(maxsize=8)
def first_row_re(ns: bytes) -> re.Pattern[bytes]:
    p = re.escape(ns)
    return re.compile(b"<" + p + rb"row\b([^>]*?)(?:/>|>.*?</" + p + rb"row>)", re.S)


def split_header(chunk: bytes, ns: bytes) -> tuple[bytes, bytes]:
    """(row 1, the rest) when the chunk's first row is row 1, else (b"", chunk)."""
    m = first_row_re(ns).search(chunk)
    if m is None:
        return b"", chunk
    rm = ROW_R_RE.search(m.group(1))
    if rm is not None and int(rm.group(1)) != 1:
        return b"", chunk
    return chunk[: m.end()], chunk[m.end() :]


#: Row chunks are scanned in pieces of about this size (regular expressions run faster on
#: data that fits the CPU cache).
PIECE = 512 * 1024


def split_rows(chunk: bytes, end_row: bytes) -> Iterator[bytes]:
    return row_pieces(chunk, end_row, PIECE)  # (PIECE read at each call: tests shrink it)


