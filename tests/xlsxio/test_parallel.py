"""One sheet read by several forked processes: the same SheetData as one pass."""

from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter
from xlsx_fixtures import part_info, strip_row_numbers

from workbook.xlsxio import XlsxBook, package, read_sheet


@pytest.mark.parametrize("workers", [2, 3])
def test_sheet_read_by_several_processes_is_the_sheet_read_in_one_pass(
        tmp_path: Path, workers: int) -> None:
    """Rows shared out by byte offset, joined back: the same SheetData as one pass (values,
    hashed column, formula places, n_rows), with sparse columns and a formula column."""
    from workbook.xlsxio.parallel import can_fork, start_read

    if not can_fork():
        pytest.skip("no fork here")
    path = tmp_path / "big.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("客户")
    ws.write_row(0, 0, ["客户编号", "资产权益", "级别依据", "计算级别", "备注", "稀疏"])
    for r in range(1, 30_001):
        ws.write_string(r, 0, f"C{r:06d}")
        ws.write_number(r, 1, r * 1.5)
        ws.write_string(r, 2, f"依据 {r} & <说明>" * 2)
        ws.write_formula(r, 3, f"=CLIENT_TIER(B{r + 1},0)", None, "核心客户")
        if r % 7 == 0:
            ws.write_string(r, 4, "备注")
        if r % 5000 == 0:
            ws.write_number(r, 5, r)
    ws.write_string(30_005, 4, "最后一行只有备注")  # a last row only in an unread column
    wb.close()
    kw = {"columns": lambda h: {1, 2, 3, 4, 6}, "hashed": {3}}
    one = read_sheet(path, "客户", formula_text=False, **kw)
    job = start_read(path, "客户", workers=workers, min_bytes=0, **kw)
    assert job is not None
    many = job.result()
    assert many is not None
    assert (many.n_rows, many.header, many.selected) == (one.n_rows, one.header, one.selected)
    assert many.n_rows == 30_006
    assert part_info(path, "客户").file_size > 3 * 2 * 1024 * 1024  # several chunks a worker
    for c in range(1, one.n_cols + 1):
        a, b = one.columns[c - 1], many.columns[c - 1]
        assert type(a) is type(b) and len(a) == len(b)
        if c != 5:  # (5 is not read)
            assert list(a) == list(b), c
        assert (one.formula_mask(c) == many.formula_mask(c)).all()


def _die(*_a: object) -> None:  # (module level: the pool pickles it by name)
    import os

    os._exit(9)


def test_a_worker_that_dies_means_one_pass_instead(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from workbook.xlsxio import parallel

    if not parallel.can_fork():
        pytest.skip("no fork here")
    path = tmp_path / "s.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("客户").write_row(0, 0, ["客户编号"])
    wb.close()

    monkeypatch.setattr(parallel, "_read_share", _die)
    job = parallel.start_read(path, "客户", workers=2, min_bytes=0)
    assert job is not None and job.result() is None


def test_unnumbered_rows_are_read_in_one_pass(tmp_path: Path) -> None:
    """A worker cannot place rows without numbers: the parent reads the sheet itself."""
    from workbook.xlsxio import parallel

    if not parallel.can_fork():
        pytest.skip("no fork here")
    path = tmp_path / "u.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("客户")
    for r in range(20_000):
        ws.write_row(r, 0, [f"C{r}", r * 1.5, "说明" * 20])
    wb.close()
    strip_row_numbers(path, part_info(path, "客户").filename)
    job = parallel.start_read(path, "客户", workers=2, min_bytes=0)
    assert job is not None and job.result() is None
    assert read_sheet(path, "客户").n_rows == 20_000


def test_workers_of_an_open_book_parse_nothing_of_it_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given an open ``XlsxBook``, the workers use the workbook info, shared strings and date
    styles the parent parsed (inherited at the fork) and read the part through a handle of
    their own: the same SheetData as one pass."""
    from workbook.xlsxio import parallel

    if not parallel.can_fork():
        pytest.skip("no fork here")
    path = tmp_path / "s.xlsx"
    wb = xlsxwriter.Workbook(str(path))  # (not constant_memory: shared strings)
    ws = wb.add_worksheet("客户")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, ["客户编号", "开户日期", "级别"])
    for r in range(1, 20_001):
        ws.write_string(r, 0, f"C{r:06d}")
        ws.write_number(r, 1, 45000 + r % 400, date_fmt)
        ws.write_string(r, 2, ("核心客户", "普通客户")[r % 2])
    wb.close()
    one = read_sheet(path, "客户", formula_text=False)
    with XlsxBook(path) as book:
        book.context()  # (parsed here: workbook info, strings, styles)

        def parsed_again(zf: object, name: str) -> bytes:
            raise AssertionError(f"{name} parsed again")

        monkeypatch.setattr(package, "read_xml_part", parsed_again)
        job = parallel.start_read(book, "客户", workers=2, min_bytes=0)
        assert job is not None
        many = job.result()
        assert not book.closed and book.zf.read("[Content_Types].xml")  # (its position intact)
    assert many is not None
    assert (many.n_rows, many.header) == (one.n_rows, one.header) == (20_001, one.header)
    assert many.columns == one.columns
    assert many.columns[1][0].year == 2023  # a date: the styles reached the workers
