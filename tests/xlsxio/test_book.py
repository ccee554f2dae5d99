"""XlsxBook: one run opens the workbook once and parses workbook.xml and the shared strings
once, for reading 客户, finding the 变更记录 rows of a run and patching (issue 11). The
path-based functions give the same results as before."""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path

import pytest
import xlsxwriter

from workbook.xlsxio import (
    SheetEdit,
    XlsxBook,
    XlsxError,
    find_rows,
    package,
    patch_workbook,
    read_sheet,
    sheet_names,
)


def _book(path: Path) -> Path:
    """客户 and 变更记录 with shared strings (as Excel and XlsxWriter write them)."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("客户")
    ws.write_row(0, 0, ["客户编号", "资产权益", "年度级别"])
    for i in range(1, 21):
        ws.write_row(i, 0, [f"C{i:03d}", i * 1000.0, "普通客户"])
    log = wb.add_worksheet("变更记录")
    log.write_row(0, 0, ["运行编号", "客户编号", "新级别"])
    r = 1
    for run in ("R1", "R2"):
        for i in (3, 5):
            log.write_row(r, 0, [run, f"C{i:03d}", "核心客户"])
            r += 1
    wb.close()
    return path


@pytest.fixture()
def counts(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Counts zip opens of any file and parses of xl/workbook.xml and xl/sharedStrings.xml by
    the reading side (``package``: every reader of the workbook info or strings goes there)."""
    got: Counter = Counter()
    real_init = zipfile.ZipFile.__init__

    def init(self, file, *a, **k):
        got["open"] += 1
        real_init(self, file, *a, **k)

    real_read = package.read_xml_part

    def read_xml_part(zf, name):
        got[name.rsplit("/", 1)[-1]] += 1
        return real_read(zf, name)

    monkeypatch.setattr(zipfile.ZipFile, "__init__", init)
    monkeypatch.setattr(package, "read_xml_part", read_xml_part)
    return got


def _run_with_paths(p: Path) -> tuple:
    names = sheet_names(p)
    clients = read_sheet(p, "客户")
    found = find_rows(p, "变更记录", col=1, text="R2")
    patch_workbook(p, p, {"客户": SheetEdit(cells={(2, 3): "核心客户"})})
    return names, clients, found


def _run_with_book(p: Path) -> tuple:
    with XlsxBook(p) as book:
        names = sheet_names(book)
        clients = read_sheet(book, "客户")
        found = find_rows(book, "变更记录", col=1, text="R2")
        patch_workbook(book, p, {"客户": SheetEdit(cells={(2, 3): "核心客户"})})
        assert book.closed  # closed before the rename
    return names, clients, found


def test_one_book_opens_and_parses_once(tmp_path: Path, counts: Counter) -> None:
    a, b = _book(tmp_path / "a.xlsx"), _book(tmp_path / "b.xlsx")
    counts.clear()
    by_path = _run_with_paths(a)
    paths = dict(counts)
    counts.clear()
    by_book = _run_with_book(b)
    book = dict(counts)
    assert by_path == by_book
    assert read_sheet(a, "客户") == read_sheet(b, "客户")
    assert read_sheet(b, "客户").column(3)[0] == "核心客户"
    assert by_book[2].matches == [4, 5]
    # the figures the report gives (one run: names, read, find, patch)
    assert (paths["open"], paths["workbook.xml"], paths["sharedStrings.xml"]) == (4, 4, 2)
    assert (book["open"], book["workbook.xml"], book["sharedStrings.xml"]) == (1, 1, 1)


def test_patch_closes_the_book_on_error_too(tmp_path: Path) -> None:
    p = _book(tmp_path / "a.xlsx")
    before = p.read_bytes()
    book = XlsxBook(p)
    with pytest.raises(XlsxError):
        patch_workbook(book, p, {"没有这张表": SheetEdit(cells={(2, 1): 1.0})})
    assert book.closed
    assert p.read_bytes() == before
    assert not list(tmp_path.glob("*.xlsxio-tmp"))


def test_a_book_of_a_zip_is_left_open(tmp_path: Path) -> None:
    p = _book(tmp_path / "a.xlsx")
    with zipfile.ZipFile(p) as zf:
        book = XlsxBook.of_zip(zf)
        assert book.sheet_names() == ["客户", "变更记录"]
        book.close()
        assert not book.closed and zf.read("[Content_Types].xml")


def test_a_bad_file_is_refused_and_closed(tmp_path: Path) -> None:
    p = tmp_path / "x.xlsx"
    p.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(XlsxError, match="不是有效的 Excel 工作簿"):
        XlsxBook(p)
