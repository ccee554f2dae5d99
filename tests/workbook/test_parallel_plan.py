"""A run on a workbook whose 客户 is read by the two read workers (and whose 变更记录 is searched
by one of them while 客户 is checked and rated) is the run on the same workbook read in one
pass: the same tiers, rejections and their messages, log rows and 汇总 (issue 16)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import pytest

from workbook.job import plan_run, read_book, rerate
from workbook.template import new_workbook
from workbook.xlsxio import parallel, read_sheet, sheetxml
from workbook.xlsxio.package import read_workbook_info

N = 1200
MID = N // 2
BLOCK = 16 * 1024  # (chunks of 16 KB instead of 2 MB: a small sheet split by the workers)
KW: dict[str, Any] = {"period": "2026Q3", "mode": "quarterly", "operator": "测试",
                      "now": dt.datetime(2026, 10, 9, 10, 0)}


def _client(i: int) -> dict[str, Any]:
    row: dict[str, Any] = {"客户编号": f"P{i:05d}", "资产权益": 40_000.0 + 997.0 * (i % 600),
                           "上年度净佣金": float(i % 50) * 100, "风险测评得分": 20 + i % 70}
    near = abs(i - MID) <= 80
    if i in (3, N - 4) or (near and i % 9 == 0):  # rejected, in both halves and at the split
        row["资产权益"] = ("abc", -5.0)[i % 2]
    elif near and i % 9 == 1:  # a tier held above the computed one (就高不就低)
        row.update({"资产权益": 20_000.0, "当前级别": "VIP客户"})
    elif near and i % 9 == 2:  # 特别调整, applied
        row.update({"特别调整级别": "VIP客户", "调整审批人": "王总", "调整原因": "战略客户",
                    "调整日期": dt.date(2026, 9, 1)})
    elif near and i % 9 == 3:  # 特别调整 without its approver: rejected
        row["特别调整级别"] = "核心客户"
    return row


@pytest.fixture(scope="module")
def book_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clients = [_client(i) for i in range(1, N + 1)]
    clients[N - 11]["客户编号"] = clients[9]["客户编号"]  # a duplicate across the halves
    clients[MID + 1]["客户编号"] = clients[MID - 2]["客户编号"]  # and one at the split
    path = new_workbook(tmp_path_factory.mktemp("par") / "b.xlsx", clients=clients)
    rerate(path, period="2026Q2", mode="quarterly", operator="测试",
           now=dt.datetime(2026, 7, 8, 10, 0))  # (变更记录 has run rows to search)
    return path


def _second_worker_first_row(path: Path) -> int:
    """The first row the second of two workers reads (the chunks cut as the workers cut them)."""
    with zipfile.ZipFile(path) as zf:
        part = read_workbook_info(zf).sheet("客户").part
        size = zf.getinfo(part).file_size
        with sheetxml.SheetStream(zf, part, BLOCK) as stream:
            pos = len(stream.prefix)
            for chunk in stream.row_chunks():
                if pos >= size // 2:
                    return int(chunk.split(b'r="', 1)[1].split(b'"', 1)[0])
                pos += len(chunk)
    raise AssertionError("no second half")


def _plans(path: Path, monkeypatch: pytest.MonkeyPatch,
           shares: bool = True) -> tuple[Any, Any, Any]:
    serial = plan_run(read_book(path), **KW)
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(sheetxml.SheetStream.__init__, "__defaults__", (BLOCK,))
    joined: list[Any] = []
    real = parallel.ParallelRead.result
    monkeypatch.setattr(parallel.ParallelRead, "result",
                        lambda self: joined.append(real(self)) or joined[-1])
    book = read_book(path)
    assert joined and (joined[0] is not None or not shares)  # (客户 read by the two workers)
    pending = book.log_later
    par = plan_run(book, **KW)
    return serial, par, pending


def _same(a: Any, b: Any) -> None:
    ra, rb = a.result, b.result
    assert ra.rejections == rb.rejections and ra.flags == rb.flags
    assert list(ra.changes) == list(rb.changes) and ra.warnings == rb.warnings
    assert (ra.before, ra.after, ra.change_counts, ra.n_clients, ra.gaps) == \
        (rb.before, rb.after, rb.change_counts, rb.n_clients, rb.gaps)
    assert ra.cells_written == rb.cells_written and ra.exit_code == rb.exit_code
    assert sorted(a.columns) == sorted(b.columns)
    for c in a.columns:
        assert list(a.columns[c]) == list(b.columns[c]), c
    assert a.history_rows == b.history_rows and a.history_first_row == b.history_first_row
    assert a.summary_rows == b.summary_rows and a.writes == b.writes


def test_a_run_read_by_the_workers_is_the_run_read_in_one_pass(
        book_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not parallel.can_fork():
        pytest.skip("no fork here")
    split = _second_worker_first_row(book_path)
    assert abs(split - 1 - MID) < 60  # (the split row lies among the held tiers and 特别调整)
    serial, par, pending = _plans(book_path, monkeypatch)
    assert pending is not None  # (变更记录 was searched by a worker)
    _same(serial, par)
    rej = {r[1]: r for r in par.result.rejections}
    ids = read_sheet(book_path, "客户").columns[0]
    assert {ids[2], ids[N - 5], ids[9], ids[MID - 2]} <= set(rej)  # both halves, the split
    assert rej[ids[2]][4] == "第 4 行「资产权益」：不能为负数：-5"
    assert "「资产权益」" in rej[ids[N - 5]][4] and "abc" in rej[ids[N - 5]][4]
    counts = par.result.change_counts
    assert counts.get("特别调整", 0) > 0 and counts.get("保留 (就高不就低)", 0) > 0, counts


def _die(*_a: object) -> None:  # (module level: the pool pickles it by name)
    import os

    os._exit(9)


def test_a_log_search_whose_worker_died_is_done_by_the_run(
        book_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not parallel.can_fork():
        pytest.skip("no fork here")
    monkeypatch.setattr(parallel, "_find_share", _die)
    # (the other worker's share, if not done yet, is lost with the pool: 客户 in one pass)
    serial, par, pending = _plans(book_path, monkeypatch, shares=False)
    assert pending is not None
    _same(serial, par)
