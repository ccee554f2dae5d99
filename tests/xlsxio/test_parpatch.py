"""Issue 16: a big edited sheet patched and deflated by several processes (``parpatch``) gives
the very XML one pass gives, in a valid zip every reader opens; a worker that fails leaves no
file; shares that do not join up are patched again in one pass."""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest

import workbook.xlsxio.patch as patch_mod
from workbook.demo import make_demo_clients
from workbook.template import new_workbook
from workbook.xlsxio import KEEP, SheetEdit, XlsxError, parpatch, patch_workbook, read_sheet
from workbook.xlsxio.package import read_workbook_info

pytestmark = pytest.mark.skipif(not parpatch.can_fork() or parpatch.crc32_combine is None,
                                reason="needs fork and zlib-ng")


@pytest.fixture(scope="module")
def branch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("par")
    clients = make_demo_clients(600, 7, today=dt.date(2026, 9, 20))
    return new_workbook(tmp / "branch.xlsx", clients=clients)


def _edits(path: Path, extra: list | None = None) -> dict[str, SheetEdit]:
    d = read_sheet(path, "客户")
    n = d.n_rows - 1
    cols = {d.col_of("当前级别"): [f"级别{i % 5}" if i % 3 else KEEP for i in range(n)],
            d.n_cols + 1: extra or [float(i) / 4 if i % 7 else "文本&<>" for i in range(n)]}
    return {"客户": SheetEdit(cells={(1, d.n_cols + 1): "新列"}, columns=cols)}


@pytest.fixture()
def shares(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every edited part in 3 shares of 4 KB chunks; what ``write_parallel`` returned."""
    monkeypatch.setattr(parpatch, "MIN_BYTES", 0)
    monkeypatch.setattr(parpatch, "WORKERS", 3)
    monkeypatch.setattr(parpatch, "BLOCK", 4096)
    got: list[bool] = []
    real = parpatch.write_parallel

    def spy(*args, **kw):
        got.append(real(*args, **kw))
        return got[-1]

    monkeypatch.setattr(patch_mod, "write_parallel", spy)
    return got


def _serial(src: Path, dst: Path, edits: dict[str, SheetEdit]) -> None:
    old = parpatch.MIN_BYTES
    parpatch.MIN_BYTES = 1 << 62
    try:
        patch_workbook(src, dst, edits)
    finally:
        parpatch.MIN_BYTES = old


def _part(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return read_workbook_info(zf).sheet("客户").part


def _same_part(a: Path, b: Path) -> None:
    part = _part(a)
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        assert za.testzip() is None and zb.testzip() is None
        assert za.read(part) == zb.read(part)
        assert za.getinfo(part).CRC == zb.getinfo(part).CRC


def test_shares_give_the_xml_of_one_pass(branch: Path, tmp_path: Path,
                                         shares: list[bool]) -> None:
    edits = _edits(branch)
    _serial(branch, tmp_path / "one.xlsx", edits)
    assert shares == [False]  # (the spy saw the serial call say no)
    patch_workbook(branch, tmp_path / "par.xlsx", edits)
    assert shares == [False, True]
    _same_part(tmp_path / "one.xlsx", tmp_path / "par.xlsx")
    with zipfile.ZipFile(tmp_path / "par.xlsx") as zf:
        raw = zf.read(_part(branch))
    assert raw.count(b"<row ") == 601 and "文本&amp;&lt;&gt;".encode() in raw
    d = read_sheet(tmp_path / "par.xlsx", "客户")
    col = d.col_of("新列")
    assert d.value(9, col) == "文本&<>" and d.value(10, col) == 2.0
    assert d.value(4, d.col_of("当前级别")) == "级别2"
    ws = openpyxl.load_workbook(tmp_path / "par.xlsx", read_only=True)["客户"]
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 601 and rows[0][col - 1] == "新列" and rows[8][col - 1] == "文本&<>"
    calamine = pytest.importorskip("python_calamine")
    cal = calamine.CalamineWorkbook.from_path(str(tmp_path / "par.xlsx"))
    crows = cal.get_sheet_by_name("客户").to_python()
    assert len(crows) == 601 and crows[8][col - 1] == "文本&<>" and crows[9][col - 1] == 2.0


def test_shares_that_do_not_join_up_are_patched_in_one_pass(branch: Path, tmp_path: Path,
                                                            shares: list[bool]) -> None:
    """Dates into cells without a date style add a style in a worker: the parent cannot use
    that share, drops the entry and patches the part alone -- same XML, same styles."""
    n = read_sheet(branch, "客户").n_rows - 1
    edits = _edits(branch, [dt.date(2026, 9, 1) + dt.timedelta(days=i) for i in range(n)])
    _serial(branch, tmp_path / "one.xlsx", edits)
    patch_workbook(branch, tmp_path / "par.xlsx", edits)
    assert shares == [False, False]
    _same_part(tmp_path / "one.xlsx", tmp_path / "par.xlsx")
    d = read_sheet(tmp_path / "par.xlsx", "客户")
    assert d.value(5, d.col_of("新列")) == dt.datetime(2026, 9, 4)


def _raise_in_worker() -> None:
    raise MemoryError("worker out of memory")


def _die_in_worker() -> None:
    os._exit(9)  # as if killed (out of memory)


@pytest.mark.parametrize(("in_worker", "error", "message"), [
    (_raise_in_worker, MemoryError, "worker out of memory"),  # its exception comes through
    (_die_in_worker, XlsxError, "后台进程意外退出"),  # a Chinese message
])
def test_a_failing_or_killed_worker_fails_the_save_and_leaves_the_file_untouched(
        branch: Path, tmp_path: Path, shares: list[bool], monkeypatch: pytest.MonkeyPatch,
        in_worker, error, message) -> None:
    path = tmp_path / "b.xlsx"
    path.write_bytes(branch.read_bytes())
    before = path.read_bytes()
    parent = os.getpid()
    real = patch_mod.patch_chunk

    def failing(pt, chunk, last):
        if os.getpid() != parent:
            in_worker()
        return real(pt, chunk, last)

    monkeypatch.setattr(patch_mod, "patch_chunk", failing)
    with pytest.raises(error, match=message):
        patch_workbook(path, path, _edits(path))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.xlsx"]  # no temp file left
