"""The port a front end reads a workbook through (``BookSource``), and the one ``read_book``.

A run needs the same things of a workbook whatever holds it — a file, a book open in Excel, and
later a LibreOffice Calc document or a head-office table: the sheets 客户 (only the columns a
run uses), 变更记录 (what ``history.LogState`` holds), 汇总, and the optional 转销户 and 产品购买.
Which sheets, which columns, when to read 客户 again with every contract column, how the log
is found: that logic is here, once, in ``read_book(source) -> BookData``. An engine only says
how to get a sheet's cells (pandas' ``BaseExcelReader`` with its engines is the model):

==================  =========================================================================
engine              where
==================  =========================================================================
``FileSource``      here: an .xlsx/.xlsm file (``workbook.xlsxio``; 客户 parsed by two
                    processes while the log is searched, 级别依据 read as hashes, the log's run
                    rows found without parsing the rest)
``PortSource``      ``addin/port.py``: an open workbook through the Excel port (xlwings: one
                    call a sheet)
==================  =========================================================================

What an engine must give, and what it may skip (``BookSource``'s methods say it again):

* ``label`` — how a message names the workbook (``工作簿 {label} 中没有…``); None: ``工作簿中``.
* ``sheet_names()`` — every sheet's name, in the book's order. Required.
* ``read_sheet(sheet, columns=, hashed=, formulas=)`` — a ``SheetData`` (values by column,
  ``header``, ``n_rows``, the places of formula cells). Required. Each pick is a function of
  the trimmed header texts of row 1 returning 1-based columns, or None:
  ``columns`` the columns the caller will read (an engine may read more: every column —
  ``SheetData.selected`` None says it did); ``hashed`` columns whose values the caller only
  compares (an engine may keep ``hash(value)`` — ``HashedColumn`` — or the values);
  ``formulas`` the columns whose formula cells the caller must leave alone (an engine must
  give at least their places, ``SheetData.formula_mask``; it may give more, or the texts).
* ``read_rows(sheet)`` — the sheet's values as rows from A1 (for 变更记录 and 汇总). The
  default builds them from ``read_sheet``; an engine with a cheaper whole-sheet read overrides.
* ``start_read(sheet, …)`` — begin reading a sheet (same picks) while the caller reads others;
  the handle's ``result()`` gives the ``SheetData``, ``cancel()`` drops it. The default reads
  when ``result()`` is called; an engine may start work at once (``FileSource``: processes).
* ``find_rows(sheet, col=, text=, before=, last=)`` — the rows whose cell in column ``col`` is
  ``text``, the ``before`` rows before each and the last ``last`` rows, as
  ``xlsxio.findrows.FoundRows``; None when the engine cannot search (the default): the whole
  sheet is then read with ``read_rows``. Used for 变更记录's run rows.
* ``reading()`` — a context manager: ``read_book`` reads everything inside it. The default does
  nothing; ``FileSource`` opens the file once here (one ``XlsxBook``) and closes it at the end.

Errors: an engine raises ``WorkbookError`` / ``XlsxError`` with a Chinese message (a sheet that
cannot be read); ``read_book`` raises ``WorkbookError`` when there is no 客户.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Protocol

from rules import rulebook_ids, versions

from . import history
from . import suitability2017 as suit17
from .headers import header_name
from .schema import (
    CLIENT_SHEET_NAMES,
    HISTORY_SHEET_NAMES,
    INPUT_FALLBACK,
    OUTPUT_BY_KEY,
    SUMMARY_SHEET_NAMES,
    WorkbookError,
    column_map,
    pair_key,
    pick_sheet,
)
from .suitability2017 import PURCHASE_SHEET_NAMES
from .transfers import TRANSFER_SHEET_NAMES
from .xlsxio import SheetData, XlsxBook

#: which columns (1-based) of a sheet, decided from the trimmed header texts of row 1
ColumnPick = Callable[[list[str]], Collection[int]]


class BookData:
    """What a run reads from a workbook, whichever front end (file or open Excel book) read it:
    the 客户 sheet, what it needs of 变更记录 (``history.LogState``) and the rows of 汇总 (the
    sheet names are None where a sheet does not exist); ``transfers``: the optional sheet 转销户
    (``workbook.transfers``), ``purchases``: 产品购买 (``suitability2017``), where they exist.

    ``log_later``: how to finish reading ``log`` while an engine still searches 变更记录 (a big
    file: a read worker searches it while the run checks and rates 客户); ``log`` waits for it
    when first asked for."""

    def __init__(self, clients: SheetData, history_sheet: str | None = None,
                 log: history.LogState | None = None, summary_sheet: str | None = None,
                 summary_rows: list[list[Any]] | None = None,
                 transfers: SheetData | None = None, purchases: SheetData | None = None, *,
                 log_later: Callable[[], history.LogState] | None = None) -> None:
        self.clients, self.history_sheet = clients, history_sheet
        self._log = history.LogState() if log is None else log
        self.log_later = log_later
        self.summary_sheet = summary_sheet
        self.summary_rows = [] if summary_rows is None else summary_rows
        self.transfers, self.purchases = transfers, purchases

    @property
    def log(self) -> history.LogState:
        """What the run needs of 变更记录 (waits for an engine still searching it)."""
        if self.log_later is not None:
            later, self.log_later = self.log_later, None
            self._log = later()
        return self._log

    @log.setter
    def log(self, state: history.LogState) -> None:
        self.log_later = None
        self._log = state


class PendingSheet(Protocol):
    """A sheet being read (``BookSource.start_read``)."""

    def result(self) -> SheetData: ...

    def cancel(self) -> None: ...


class _Deferred:
    """A read done when its result is asked for (the default ``start_read``)."""

    def __init__(self, read: Callable[[], SheetData]) -> None:
        self._read = read

    def result(self) -> SheetData:
        return self._read()

    def cancel(self) -> None:
        pass


class BookSource(Protocol):
    """The port a front end reads a workbook through (see the module doc). An engine subclasses
    it to take the defaults of the methods it may skip (``read_rows``, ``start_read``,
    ``find_rows``) and implements ``label``, ``sheet_names`` and ``read_sheet``."""

    label: str | None

    def sheet_names(self) -> list[str]:
        """Every sheet's name, in the book's order."""
        ...

    def read_sheet(self, sheet: str, *, columns: ColumnPick | None = None,
                   hashed: ColumnPick | None = None,
                   formulas: ColumnPick | None = None) -> SheetData:
        """The sheet as ``SheetData``; ``columns`` None: every column. See the module doc for
        what an engine may read more of than asked."""
        ...

    def read_rows(self, sheet: str) -> list[list[Any]]:
        """The sheet's values as rows from A1 (rows of equal length; ``[]`` rows where a row
        is empty and the sheet has no columns)."""
        return rows_of(self.read_sheet(sheet))

    def start_read(self, sheet: str, *, columns: ColumnPick | None = None,
                   hashed: ColumnPick | None = None,
                   formulas: ColumnPick | None = None) -> PendingSheet:
        """Begin ``read_sheet`` (same arguments); the default reads when asked for the result."""
        return _Deferred(lambda: self.read_sheet(sheet, columns=columns, hashed=hashed,
                                                 formulas=formulas))

    def find_rows(self, sheet: str, *, col: int, text: str, before: int = 1,
                  last: int = 2) -> Any | None:
        """``xlsxio.findrows.FoundRows`` of the rows whose column ``col`` holds ``text``; None
        (the default): this engine cannot search, the caller reads the whole sheet."""
        return None

    def reading(self) -> AbstractContextManager[object]:
        """The span of one run's reading: ``read_book`` reads every sheet inside it. An engine
        over a file opens it once here and closes it at the end (``FileSource``: one
        ``XlsxBook``); the default does nothing."""
        return nullcontext()


def rows_of(data: SheetData) -> list[list[Any]]:
    """A sheet already read as rows from A1 (header row first)."""
    from .xlsxio.sheetxml import no_gc

    if not data.n_cols:
        return [[] for _ in range(data.n_rows)]
    with no_gc():  # 1M new lists: the cyclic GC would walk the whole heap (5.5 s -> 0.6 s)
        return [list(data.header_values), *map(list, zip(*data.columns, strict=True))]


# ----------------------------------------------------------------- the columns of 客户 a run uses

class ClientColumns:
    """Which columns of 客户 a run reads: 客户编号, the tiers, overrides, 开户日期 and 风险测评得分,
    the output columns, and every column headed like an input (label or name) of any rulebook
    or standing for one (``schema.INPUT_FALLBACK``), so that ``validate`` finds the inputs of
    whichever rulebook the run uses; ``every`` adds the other contract columns (read only when
    a row has no 客户编号). 级别依据 is ``hashed`` (whether it changes is all a run needs of it);
    ``formulas`` are the columns a run writes (their formula cells are left alone)."""

    def __init__(self) -> None:
        specs = [spec for rid in rulebook_ids() for v in versions(rid) for spec in v.inputs]
        self.labels = {header_name(x).casefold() for spec in specs
                       for x in (spec.label, spec.name)} | suit17.headers_read()
        self.used_keys = {"client_id", "open_date", "risk_score", "annual_tier", "current_tier",
                          "override_tier", "override_approver", "override_reason",
                          "override_date", "override_until",
                          *INPUT_FALLBACK.values(), *OUTPUT_BY_KEY, "computed_tier"}
        # (上年日均资产, 本年日均资产: an input read as the larger of two columns)
        self.pair_keys = {pair_key(h) for spec in specs for h in spec.larger_of}

    def inputs(self, header: list[str]) -> set[int]:
        return {c for c, h in enumerate(header, 1)
                if header_name(h).casefold() in self.labels or pair_key(h) in self.pair_keys}

    def wanted(self, header: list[str]) -> set[int]:
        """The columns a run uses."""
        cols = column_map(header)
        return {c for k, c in cols.items() if k in self.used_keys} | self.inputs(header)

    def every(self, header: list[str]) -> set[int]:
        """And the other contract columns."""
        return set(column_map(header).values()) | self.inputs(header)

    @staticmethod
    def basis(header: list[str]) -> set[int]:
        c = column_map(header).get("basis")
        return set() if c is None else {c}

    @staticmethod
    def formulas(header: list[str]) -> list[int]:
        """The columns a run writes (their formula cells must be left alone)."""
        cols = column_map(header)
        ours = suit17.find_columns(header, {k: (h,) for k, h in suit17.OUTPUT_HEADERS.items()})
        return sorted({c for k, c in cols.items()
                       if k in OUTPUT_BY_KEY or k in ("annual_tier", "computed_tier")}
                      | set(ours.values()))


def _read_clients(source: BookSource, sheet: str, pending: PendingSheet,
                  pick: ClientColumns) -> SheetData:
    """客户 in the columns a run uses; again with every contract column when some row has no
    客户编号 (so that such a row is kept, and rejected, if anything else is on it, as
    ``validate`` decides) — unless the engine read every column already."""
    data = pending.result()
    c = column_map(data.header).get("client_id")
    ids = data.columns[c - 1] if c is not None else []
    if data.selected is not None and (None in ids or "" in ids):
        data = source.read_sheet(sheet, columns=pick.every, hashed=pick.basis,
                                 formulas=pick.formulas)
    return data


#: what ``read_log`` searches 变更记录 for: the run rows, the row before each, the last rows
LOG_ROWS: dict[str, Any] = {"col": 1, "text": history.RUN, "before": 1, "last": 2}


def read_log(source: BookSource, sheet: str, found: Any | None = None) -> history.LogState:
    """What a run needs of 变更记录: the run rows, the row before each and the last rows, where
    the engine can find them (``find_rows``; ``found``: found already); the whole sheet when
    it cannot, or when they cannot be found on their own (rows without numbers, a first row
    that is not our header)."""
    if found is None:
        found = source.find_rows(sheet, **LOG_ROWS)
    if found is None or not found.complete or (
            found.header and [history.cell_text(v) for v in found.header]
            [:len(history.HEADER)] != list(history.HEADER)):
        return history.state_of(source.read_rows(sheet))
    width = len(history.HEADER)
    texts = {r: ([history.cell_text(v) for v in vals] + [""] * width)[:width]
             for r, vals in found.rows.items()}
    return history.LogState(n_rows=found.n_rows, runs=found.matches, rows=texts)


def read_book(source: BookSource) -> BookData:
    """Read what a run needs from a workbook through its engine (see the module doc): 客户 in
    the columns a run uses (started first: an engine may read it while the log is searched),
    变更记录's ``LogState``, 汇总's rows, and 转销户 and 产品购买 whole where they exist. All of
    it inside ``source.reading()`` (a file is opened once, and closed before anything is
    written)."""
    with source.reading():
        return _read_book(source)


def _read_book(source: BookSource) -> BookData:
    names = source.sheet_names()
    sheet = pick_sheet(names, CLIENT_SHEET_NAMES)
    if sheet is None:
        where = f"工作簿 {source.label} 中" if source.label else "工作簿中"
        raise WorkbookError(f"{where}没有“客户”工作表（也可命名为 Clients）。")
    hist_name = pick_sheet(names, HISTORY_SHEET_NAMES)
    sum_name = pick_sheet(names, SUMMARY_SHEET_NAMES)
    pick = ClientColumns()
    pending = source.start_read(sheet, columns=pick.wanted, hashed=pick.basis,
                                formulas=pick.formulas)
    try:
        log_later = _start_log(source, hist_name, pending) if hist_name else None
        summary_rows = source.read_rows(sum_name) if sum_name else []
    except BaseException:
        pending.cancel()
        raise
    tr_name = pick_sheet(names, TRANSFER_SHEET_NAMES)
    buy = pick_sheet(names, PURCHASE_SHEET_NAMES)
    return BookData(clients=_read_clients(source, sheet, pending, pick), history_sheet=hist_name,
                    log_later=log_later, summary_sheet=sum_name, summary_rows=summary_rows,
                    transfers=source.read_sheet(tr_name) if tr_name else None,
                    purchases=source.read_sheet(buy) if buy else None)


def _start_log(source: BookSource, sheet: str,
               pending: PendingSheet) -> Callable[[], history.LogState]:
    """``read_log`` now, or, where the engine reading 客户 can search 变更记录 on the side
    (``FileSource``'s read workers: ``find_rows_later``), started now and finished when the
    run first asks for ``BookData.log`` (the other core searches while 客户 is checked and
    rated). The same ``LogState`` either way (a worker that died: searched here then)."""
    later = getattr(pending, "find_rows_later", None)
    search = later(sheet, **LOG_ROWS) if later is not None else None
    if search is None:
        state = read_log(source, sheet)
        return lambda: state
    return lambda: read_log(source, sheet, search.result())


# ------------------------------------------------------------------------------- the file engine

class _FileRead:
    """``FileSource.start_read``: two processes parsing a big sheet, or a read in one pass
    when that is not worth it (a small part) or the workers gave up."""

    def __init__(self, source: FileSource, sheet: str, kw: dict[str, Any]) -> None:
        from .xlsxio.parallel import start_read

        self.source, self.sheet, self.kw = source, sheet, kw
        # parsing holds the GIL: threads would take turns, processes do not
        self.started = start_read(source.file(), sheet, columns=kw["columns"],
                                  hashed=kw["hashed"], workers=2)

    def result(self) -> SheetData:
        data = self.started.result() if self.started is not None else None
        return data if data is not None else self.source.read_sheet(self.sheet, **self.kw)

    def cancel(self) -> None:
        if self.started is not None:
            self.started.cancel()

    def find_rows_later(self, sheet: str, **how: Any) -> Any | None:
        """``find_rows(sheet, **how)`` handed to the first read worker done with its rows
        (``ParallelRead.find_rows``: its ``result()`` is the ``FoundRows``, or None when the
        worker died); None when 客户 is read in one pass (search now)."""
        return None if self.started is None else self.started.find_rows(sheet, **how)


class FileSource(BookSource):
    """An .xlsx/.xlsm file (``workbook.xlsxio``). ``read_sheet`` with a column pick reads only
    those columns and keeps formula cells by place (every column read: values and formula
    texts); hashed columns as ``hash(value)``; a big 客户 (64 MB of XML or more) is parsed by two
    processes (``start_read``); ``find_rows`` searches a sheet's XML for a text without parsing
    the other rows.

    Inside ``reading()`` (``read_book`` reads in it) the file is one ``XlsxBook``: the zip is
    opened and checked once, ``workbook.xml``, the styles and the shared strings parsed once
    for every sheet read and search; it is closed when ``reading()`` ends, so no handle is held
    while the run saves (on Windows an open file cannot be replaced). Outside it, each call
    opens the file for itself."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path
        self.label: str | None = os.fspath(path)
        self._book: XlsxBook | None = None

    @contextmanager
    def reading(self) -> Iterator[XlsxBook]:
        if self._book is not None:  # (already inside: the same book)
            yield self._book
            return
        with XlsxBook(self.path) as book:
            self._book = book
            try:
                yield book
            finally:
                self._book = None

    def file(self) -> str | os.PathLike[str] | XlsxBook:
        """What the ``xlsxio`` calls are given: the open book inside ``reading()``, else the
        path."""
        return self.path if self._book is None else self._book

    def sheet_names(self) -> list[str]:
        from .xlsxio import sheet_names

        return list(sheet_names(self.file()))

    def read_sheet(self, sheet: str, *, columns: ColumnPick | None = None,
                   hashed: ColumnPick | None = None,
                   formulas: ColumnPick | None = None) -> SheetData:
        from .xlsxio import read_sheet

        if columns is None and hashed is None:
            return read_sheet(self.file(), sheet)
        # (formula cells of every column read are kept by place: more than ``formulas``)
        return read_sheet(self.file(), sheet, columns=columns, hashed=hashed,
                          formula_text=False)

    def start_read(self, sheet: str, *, columns: ColumnPick | None = None,
                   hashed: ColumnPick | None = None,
                   formulas: ColumnPick | None = None) -> PendingSheet:
        return _FileRead(self, sheet, {"columns": columns, "hashed": hashed,
                                       "formulas": formulas})

    def find_rows(self, sheet: str, *, col: int, text: str, before: int = 1,
                  last: int = 2) -> Any | None:
        from .xlsxio.findrows import find_rows

        return find_rows(self.file(), sheet, col=col, text=text, before=before, last=last)
