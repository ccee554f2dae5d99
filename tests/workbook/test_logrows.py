"""变更记录 rows made a block at a time (``workbook.run.logrows``): a first run of a big branch
logs a row per client, so the rows are hashed in a first pass and made again when written.
The file must be the same as when every row is kept, the chain intact, and a block that came
out different the second time must stop the save with the file untouched."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

import pytest
from branch_files import plain_branch

from workbook import history
from workbook.demo import make_demo_clients
from workbook.job import rerate
from workbook.run import logrows
from workbook.template import new_workbook
from workbook.xlsxio import read_sheet

NOW = dt.datetime(2026, 7, 9, 10, 0, 0)


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _log(path: Path) -> list[list]:
    d = read_sheet(path, "变更记录")
    return [[d.value(r, c) for c in range(1, d.n_cols + 1)] for r in range(1, d.n_rows + 1)]


def _run(src: Path, dst: Path, monkeypatch: pytest.MonkeyPatch, *, block: int,
         keep: int) -> object:
    shutil.copyfile(src, dst)
    with monkeypatch.context() as m:
        m.setattr(logrows, "BLOCK", block)
        m.setattr(logrows, "KEEP_ROWS", keep)
        return rerate(dst, period="2026Q2", mode="quarterly", operator="测试", now=NOW)


@pytest.fixture()
def first(tmp_path: Path) -> Path:
    """A never-rated template workbook: its first run logs a 首次评级 row per client."""
    clients = make_demo_clients(120, seed=3, today=dt.date(2026, 7, 1))
    for c in clients:  # never rated: no tier yet
        c.pop("当前级别", None)
    return new_workbook(tmp_path / "new.xlsx", clients=clients)


def test_rows_made_again_when_written_give_the_same_file(first: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    kept = _run(first, tmp_path / "kept.xlsx", monkeypatch, block=5000, keep=10**9)
    made = _run(first, tmp_path / "made.xlsx", monkeypatch, block=7, keep=10)
    assert len(kept.changes) == len(made.changes) > 100  # a row per client
    assert list(kept.changes) == list(made.changes)
    a, b = _parts(tmp_path / "kept.xlsx"), _parts(tmp_path / "made.xlsx")
    assert a.keys() == b.keys()
    assert [n for n in a if a[n] != b[n]] == []  # every part, inflated, byte for byte
    rows = _log(tmp_path / "made.xlsx")
    assert history.verify_chain(rows) == []
    assert len(rows) == 1 + 1 + len(made.changes) + len(made.rejections)
    # the next run appends onto the streamed log, and the whole log still verifies
    again = rerate(tmp_path / "made.xlsx", period="2026Q3", mode="quarterly", operator="测试",
                   now=dt.datetime(2026, 10, 9, 10, 0))
    assert again.exit_code in (0, 3)
    assert history.verify_chain(_log(tmp_path / "made.xlsx")) == []


def test_a_new_log_sheet_is_streamed_the_same(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    header = ["客户编号", "资产权益", "上年度净佣金"]
    rows = [[f"C{i}", 10_000 * i, 100 * i] for i in range(1, 40)] + [["C99", "abc", 0]]
    src = plain_branch(tmp_path / "plain.xlsx", rows, header)  # no 变更记录 sheet
    kept = _run(src, tmp_path / "kept.xlsx", monkeypatch, block=5000, keep=10**9)
    made = _run(src, tmp_path / "made.xlsx", monkeypatch, block=4, keep=3)
    assert kept.exit_code == made.exit_code == 3  # (C99 rejected: its 拒绝 row is logged)
    a, b = _parts(tmp_path / "kept.xlsx"), _parts(tmp_path / "made.xlsx")
    assert [n for n in a if a.get(n) != b.get(n)] == []
    log = _log(tmp_path / "made.xlsx")
    assert log[0] == list(history.HEADER) and log[-1][0] == history.REJECT
    assert history.verify_chain(log) == []


def test_rows_that_come_out_different_stop_the_save(first: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work.xlsx"
    shutil.copyfile(first, work)
    before = work.read_bytes()
    real = logrows.ChangeRows.__init__
    calls = {"n": 0}

    def flaky(self, n, make, excel_rows, block=None):  # the second making of block 3 differs
        def again(a, b):
            rows = make(a, b)
            if a == 3 * logrows.BLOCK:
                calls["n"] += 1
                if calls["n"] == 2:
                    rows[0][history.HEADER.index("原因")] += "!"
            return rows
        real(self, n, again, excel_rows, block)

    monkeypatch.setattr(logrows, "BLOCK", 5)
    monkeypatch.setattr(logrows, "KEEP_ROWS", 10)
    monkeypatch.setattr(logrows.ChangeRows, "__init__", flaky)
    with pytest.raises(logrows.LogRowsError, match="未写入文件"):
        rerate(work, period="2026Q2", mode="quarterly", operator="测试", now=NOW)
    assert calls["n"] == 2 and work.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name != "new.xlsx"] == ["work.xlsx"]


def test_the_sequences_index_slice_and_compare_like_lists() -> None:
    made = []

    def make(a: int, b: int) -> list[list[str]]:
        made.append((a, b))
        return [[f"x{i}"] * history.N_FIELDS for i in range(a, b)]

    body = logrows.ChangeRows(11, make, __import__("numpy").arange(11) + 2, block=4)
    body += [["r"] * history.N_FIELDS]
    want = [[f"x{i}"] * history.N_FIELDS for i in range(11)] + [["r"] * history.N_FIELDS]
    assert len(body) == 12 and list(body) == want and body == want
    assert body[-1] == want[-1] and body[3:9] == want[3:9] and body[::5] == want[::5]
    chained = logrows.ChainedRows("t0", [["run"] * history.N_FIELDS], body, keep_rows=0)
    plain = history.chain("t0", [["run"] * history.N_FIELDS, *want])
    assert chained == plain and chained.tail == plain[-1][-1]
    assert chained[5] == plain[5] and chained[2:10] == plain[2:10]
    assert logrows.WithHeader(chained) == [list(history.HEADER), *plain]
    with pytest.raises(IndexError):
        chained[13]
    changes = logrows.Changes(body)
    assert len(changes) == 11 and changes[10].row == 12 and changes[10].client_id == "x10"
