"""Issue 16: the full-recalculation verdict is reached while the file is written
(``RecalcCheck``: the clients' sheet judged from the text the patch inflates, by each process
patching a share of it, the other sheets in a thread) and is ``needs_full_recalc``'s."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from branch_files import edit_part, plant_shared

import workbook.xlsxio.patch as patch_mod
from workbook.audit import recalc_on_open
from workbook.demo import make_demo_clients
from workbook.job import rerate
from workbook.recalc import RecalcCheck, needs_full_recalc
from workbook.template import new_workbook
from workbook.xlsxio import SheetEdit, parpatch, patch_workbook, read_sheet
from workbook.xlsxio.package import read_workbook_info

NOW = dt.datetime(2026, 10, 9, 10, 0, 0)
CLIENTS = make_demo_clients(300, 7, today=dt.date(2026, 9, 20))


@pytest.fixture(params=["one pass", "shares"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The clients' sheet patched in one pass, or in 3 shares (checked to be)."""
    got: list[bool] = []
    if request.param == "shares":
        if not parpatch.can_fork() or parpatch.crc32_combine is None:
            pytest.skip("needs fork and zlib-ng")
        monkeypatch.setattr(parpatch, "MIN_BYTES", 0)
        monkeypatch.setattr(parpatch, "WORKERS", 3)
        monkeypatch.setattr(parpatch, "BLOCK", 4096)
        real = parpatch.write_parallel

        def spy(*args, **kw):
            got.append(real(*args, **kw))
            return got[-1]

        monkeypatch.setattr(patch_mod, "write_parallel", spy)
    yield request.param
    assert got == ([True] if request.param == "shares" else [])


def _part(path: Path, sheet: str) -> str:
    with zipfile.ZipFile(path) as zf:
        return read_workbook_info(zf).sheet(sheet).part


def _add_row(path: Path, sheet: str, cell: str) -> None:
    edit_part(path, _part(path, sheet),
              lambda xml: xml.replace("</sheetData>", f'<row r="900">{cell}</row></sheetData>'))


@pytest.mark.parametrize(("sheet", "cell", "needs"), [
    (None, None, False),  # no formula reads what the run writes
    ("控制台", '<c r="A900"><f>COUNTIF(客户!N:N,"核心客户")</f><v>0</v></c>', True),
    ("客户", '<c r="A900"><f>CLIENT_TIER(F900,G900)</f><v>0</v></c>', False),  # inputs only
    ("客户", '<c r="A900"><f>RISK_CLASS(N900)</f><v>0</v></c>', True),  # reads 当前级别
])
def test_the_flag_through_a_run(tmp_path: Path, mode: str, sheet: str | None,
                                cell: str | None, needs: bool) -> None:
    path = new_workbook(tmp_path / "b.xlsx", clients=CLIENTS)
    if sheet is not None and cell is not None:
        _add_row(path, sheet, cell)
    res = rerate(path, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    assert res.written
    assert recalc_on_open(path) is needs
    d = read_sheet(path, "客户")
    assert d.n_rows >= 301 and d.value(2, d.col_of("评级期间")) == "2026Q3"


@pytest.mark.parametrize(("master", "child_col", "needs"), [
    ("CLIENT_TIER(F2,G2)", "O", False),  # the child, in the last share, lacks its master
    ("CLIENT_TIER(F2,G2)", "T", True),
    ("RISK_CLASS(N2)", "O", True),
])
def test_a_shared_formula_split_across_shares(tmp_path: Path, mode: str, master: str,
                                              child_col: str, needs: bool) -> None:
    path = new_workbook(tmp_path / "s.xlsx", clients=CLIENTS)
    last = read_sheet(path, "客户").n_rows
    edit_part(path, _part(path, "客户"), plant_shared(master, child_col, last))
    assert needs_full_recalc(path, "客户", {14, 17}) is needs
    n = last - 1
    edit = SheetEdit(columns={14: ["核心客户"] * n, 17: ["依据"] * n})
    check = RecalcCheck(path, "客户", {14, 17})
    try:
        patch_workbook(path, tmp_path / "out.xlsx", {"客户": edit}, recalc_on_open=check)
    finally:
        check.close()
    assert recalc_on_open(tmp_path / "out.xlsx") is needs
    if child_col == "O" and not needs:  # a share met the child alone: judged again, alone
        assert check.unsure is (mode == "shares")
    with zipfile.ZipFile(tmp_path / "out.xlsx") as zf:
        assert zf.testzip() is None
    assert read_sheet(tmp_path / "out.xlsx", "客户").value(last, 14) == "核心客户"
