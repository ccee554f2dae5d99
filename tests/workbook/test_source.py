"""The BookSource port (workbook/source.py): an engine that gives only ``label``,
``sheet_names`` and ``read_sheet`` — what a Calc or head-office table front end would write —
gets what the file engine gets, and a run on it plans the same cells, log rows and 汇总."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from workbook.job import plan_run, read_book, rerate
from workbook.schema import WorkbookError
from workbook.source import BookSource, ClientColumns, ColumnPick, FileSource
from workbook.source import read_book as read_source
from workbook.template import new_workbook
from workbook.xlsxio import SheetData, package, parallel, read_sheet, sheet_names

NOW = dt.datetime(2026, 10, 9, 10, 0, 0)
CLIENTS = [  # (a row without 客户编号 is rejected, not skipped)
    {"客户编号": "S1", "资产权益": 2e7, "开户日期": dt.date(2026, 8, 3)},
    {"客户名称": "乙", "资产权益": 120_000},
    {"客户编号": "S3", "资产权益": "25万", "当前级别": "VIP", "风险测评得分": 50},
    {"客户编号": "S4", "资产权益": -5, "当前级别": "潜力客户"},
]


class Sheets(BookSource):
    """A minimal engine: every sheet read whole, once (the defaults for the rest)."""

    label = None

    def __init__(self, path: Path) -> None:
        self.sheets = {n: read_sheet(path, n) for n in sheet_names(path)}
        self.asked: list[str] = []

    def sheet_names(self) -> list[str]:
        return list(self.sheets)

    def read_sheet(self, sheet: str, *, columns: ColumnPick | None = None,
                   hashed: ColumnPick | None = None,
                   formulas: ColumnPick | None = None) -> SheetData:
        self.asked.append(sheet)
        return self.sheets[sheet]


def _plan(book: Any, **kw: Any) -> Any:
    return plan_run(book, period="2026Q4", mode="quarterly", operator="测试",
                    now=dt.datetime(2027, 1, 6, 10, 0), path=Path("x.xlsx"), **kw)


def test_a_minimal_engine_reads_what_the_file_engine_reads(tmp_path: Path) -> None:
    path = new_workbook(tmp_path / "b.xlsx", clients=CLIENTS)
    rerate(path, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    mine, theirs = read_source(Sheets(path)), read_book(path)
    assert read_source(FileSource(path)).log == theirs.log
    # the file engine found the log's run rows without the rest; the minimal one read it whole
    assert (mine.log.n_rows, mine.log.runs) == (theirs.log.n_rows, theirs.log.runs)
    assert all(mine.log.rows[r] == theirs.log.rows[r] for r in theirs.log.rows)
    assert mine.summary_rows == theirs.summary_rows
    assert (mine.history_sheet, mine.summary_sheet) == ("变更记录", "汇总")
    a, b = _plan(mine), _plan(theirs)
    assert a.result.exit_code == b.result.exit_code == 3
    assert [r[:3] for r in a.result.rejections] == [r[:3] for r in b.result.rejections] == \
        [(3, "", "客户编号"), (5, "S4", "资产权益")]
    assert a.history_new == b.history_new and a.summary_rows == b.summary_rows
    assert a.headers == b.headers and a.columns.keys() == b.columns.keys()
    assert all(list(a.columns[c]) == list(b.columns[c]) for c in a.columns)


def test_no_client_sheet_is_said_naming_the_workbook(tmp_path: Path) -> None:
    path = new_workbook(tmp_path / "b.xlsx", clients=CLIENTS)
    src = Sheets(path)
    src.sheets = {"Notes": src.sheets["客户"]}
    with pytest.raises(WorkbookError) as e:
        read_source(src)
    assert e.value.message == "工作簿中没有“客户”工作表（也可命名为 Clients）。"
    src.label = "分支.xlsx"
    with pytest.raises(WorkbookError) as e:
        read_source(src)
    assert e.value.message == "工作簿 分支.xlsx 中没有“客户”工作表（也可命名为 Clients）。"


def test_optional_sheets_are_read_only_where_they_exist(tmp_path: Path) -> None:
    path = new_workbook(tmp_path / "b.xlsx", clients=CLIENTS)
    src = Sheets(path)
    book = read_source(src)
    assert book.transfers is None and book.purchases is None
    assert book.history_sheet == "变更记录" and book.log.n_rows <= 1  # the template's header
    assert src.asked.count("客户") == 1  # read whole once: not again for the row without an id


def test_a_file_is_opened_once_for_the_reading_of_a_run_and_closed_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``read_book(FileSource)`` opens the zip once and parses workbook.xml, the styles and
    the shared strings once for every sheet it reads and searches (客户, 客户 again with every
    column for the row without an id, 变更记录's run rows, 汇总), and has closed it when it
    returns: no handle is held while the run saves (issue 11)."""
    path = new_workbook(tmp_path / "b.xlsx", clients=CLIENTS)
    rerate(path, period="2026Q3", mode="quarterly", operator="测试", now=NOW)
    # the parent's side of the two read workers is counted too (a big 客户 as far as they know)
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    got: Counter = Counter()
    opened: list[zipfile.ZipFile] = []
    real_init, real_read = zipfile.ZipFile.__init__, package.read_xml_part

    def init(self: zipfile.ZipFile, *a: Any, **k: Any) -> None:
        got["open"] += 1
        opened.append(self)
        real_init(self, *a, **k)

    def read_xml_part(zf: zipfile.ZipFile, name: str) -> bytes:
        got[name.rsplit("/", 1)[-1]] += 1
        return real_read(zf, name)

    monkeypatch.setattr(zipfile.ZipFile, "__init__", init)
    monkeypatch.setattr(package, "read_xml_part", read_xml_part)
    data = read_source(FileSource(path))
    assert (got["open"], got["workbook.xml"], got["styles.xml"], got["sharedStrings.xml"]) == \
        (1, 1, 1, 1)
    assert all(zf.fp is None for zf in opened)  # closed before anything is written
    monkeypatch.undo()
    whole = read_source(Sheets(path))
    assert (data.log.n_rows, data.log.runs) == (whole.log.n_rows, whole.log.runs)
    assert data.summary_rows == whole.summary_rows
    got, pick = data.clients, ClientColumns()
    assert got.selected == pick.every(got.header) > pick.wanted(got.header)  # (2nd read)
    for c in sorted(got.selected - pick.basis(got.header)):
        assert got.columns[c - 1] == whole.clients.columns[c - 1], got.header[c - 1]
