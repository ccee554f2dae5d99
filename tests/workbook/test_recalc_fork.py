"""Issue 16: the full-recalculation verdict judged before the write — by a process forked when
the run begins and set going once 客户 is read (``workbook.recalc_fork``), from the columns
the formulas read (``recalc.profile``) — is ``needs_full_recalc``'s for every set of written
columns; a judge that fails or dies is judged again in-process; nothing is left behind."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from branch_files import edit_part, plant_shared

import workbook.recalc as recalc
import workbook.recalc_fork as recalc_fork
from workbook.audit import recalc_on_open
from workbook.demo import make_demo_clients
from workbook.job import rerate
from workbook.recalc import needs_full_recalc, profile, verdict
from workbook.template import new_workbook
from workbook.xlsxio import parpatch
from workbook.xlsxio.package import read_workbook_info

NOW = dt.datetime(2026, 10, 9, 10, 0, 0)
CLIENTS = make_demo_clients(300, 7, today=dt.date(2026, 9, 20))
#: column sets a run may write (14 当前级别, 16 级别变动, 17 级别依据, 21 评级期间, 22 规则版本),
#: and a few others (6 资产权益 and 7 上年度净佣金 are read by 计算级别, 11 风险测评得分 by 风险类别)
WRITTEN = [set(), {14}, {14, 16, 17, 21, 22}, {6}, {7}, {11}, {15}, {20}, {1, 2, 3}]


def _part(path: Path, sheet: str) -> str:
    with zipfile.ZipFile(path) as zf:
        return read_workbook_info(zf).sheet(sheet).part


def _cell(ref: str, body: str) -> Callable[[str], str]:
    """The formula ``body`` put in cell ``ref`` of 客户 (replacing what is there)."""
    def put(xml: str) -> str:
        return re.sub(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)',
                      f'<c r="{ref}"><f>{body}</f><v>0</v></c>', xml, count=1, flags=re.S)
    return put


def _row(cell: str) -> Callable[[str], str]:
    return lambda xml: xml.replace("</sheetData>", f'<row r="900">{cell}</row></sheetData>')


def _shared(master: str, child_col: str) -> Callable[[str], str]:
    return plant_shared(master, child_col, 301)


#: (sheet, edit of its XML): formulas of every kind the judge tells apart
VARIANTS: list[tuple[str | None, Callable[[str], str] | None]] = [
    (None, None),  # the template's: CLIENT_TIER(Fn,Gn) in O, RISK_CLASS(Kn) in T
    ("客户", _row('<c r="A900"><f>CLIENT_TIER(F900,G900)</f><v>0</v></c>')),
    ("客户", _row('<c r="A900"><f>RISK_CLASS(N900)</f><v>0</v></c>')),
    ("客户", _row('<c r="A900"><f>[1]!CLIENT_TIER(F900,G900)</f><v>0</v></c>')),
    ("客户", _row('<c r="A900"><f>CLIENT_TIER(F900,"a&amp;b")</f><v>0</v></c>')),
    ("客户", _row('<c r="A900"><f>SUM(F900:G900)</f><v>0</v></c>')),
    ("客户", _row('<c r="A900"><f></f><v>0</v></c>')),
    # down the column of one formula, one cell reading another column (after many pieces)
    ("客户", _cell("O250", "CLIENT_TIER(N250,G250)")),
    ("客户", _cell("O250", "CLIENT_TIER(F249,G249)")),  # another row, the same columns
    ("客户", _cell("T250", "RISK_CLASS(K2)")),
    ("客户", _cell("T250", "RISK_CLASS(250)")),  # a constant equal to the row number
    ("客户", _cell("O250", "客户!CLIENT_TIER(F250,G250)")),
    ("客户", _shared("CLIENT_TIER(F2,G2)", "O")),
    ("客户", _shared("CLIENT_TIER(F2,G2)", "T")),
    ("客户", _shared("RISK_CLASS(N2)", "O")),
    ("控制台", lambda xml: _row('<c r="A900"><f>COUNTIF(客户!N:N,"核心客户")</f></c>')(xml)),
]


def _formula_columns(xml: str) -> str:
    """计算级别 (O) and 风险类别 (T) as formulas down the column, as a branch may keep them
    (the template writes values)."""
    for col, body in (("O", "CLIENT_TIER(F{r},G{r})"), ("T", "RISK_CLASS(K{r})")):
        xml = re.sub(rf'<c r="{col}([0-9]+)"[^>]*?(?:/>|>.*?</c>)',
                     lambda m, col=col, body=body: m.group(0) if m.group(1) == "1" else
                     f'<c r="{col}{m.group(1)}"><f>{body.format(r=m.group(1))}</f><v>0</v></c>',
                     xml, flags=re.S)
    assert xml.count("<f>CLIENT_TIER(F") == 300 and xml.count("<f>RISK_CLASS(K") > 200
    return xml


def _book(tmp_path: Path, k: int) -> Path:
    path = new_workbook(tmp_path / f"b{k}.xlsx", clients=CLIENTS)
    edit_part(path, _part(path, "客户"), _formula_columns)
    sheet, edit = VARIANTS[k]
    if sheet is not None and edit is not None:
        edit_part(path, _part(path, sheet), edit)
    return path


@pytest.mark.parametrize("k", range(len(VARIANTS)))
@pytest.mark.parametrize("chunk", [1500, 1 << 22])
def test_the_profile_gives_needs_full_recalcs_verdict(tmp_path: Path, monkeypatch, k: int,
                                                      chunk: int) -> None:
    monkeypatch.setattr(recalc, "_CHUNK", chunk)  # (small: many pieces, the fast path taken)
    path = _book(tmp_path, k)
    found = profile(path, "客户")
    for written in WRITTEN:
        assert verdict(found, written) is needs_full_recalc(path, "客户", written), written


@pytest.mark.parametrize("k", range(len(VARIANTS)))
def test_pieces_of_known_formulas_skipped_in_bulk_give_the_same_verdict(
        tmp_path: Path, monkeypatch, k: int) -> None:
    """``_Sheet._all_known`` (a piece whose formulas are all those already judged, in one
    substitution) against the judge without it."""
    monkeypatch.setattr(recalc, "_CHUNK", 1500)
    path = _book(tmp_path, k)
    calls: list[bool] = []
    real = recalc._Sheet._all_known

    def spy(self, head: bytes) -> bool:
        calls.append(real(self, head))
        return calls[-1]

    monkeypatch.setattr(recalc._Sheet, "_all_known", spy)
    fast = [needs_full_recalc(path, "客户", w) for w in WRITTEN]
    assert any(calls) or VARIANTS[k][0] == "控制台"  # (taken; 控制台 is judged before 客户)
    monkeypatch.setattr(recalc, "_KNOWN_MAX", 0)
    assert fast == [needs_full_recalc(path, "客户", w) for w in WRITTEN]


def test_a_cell_unlike_its_column_is_not_skipped(tmp_path: Path, monkeypatch) -> None:
    """The bulk skip cannot hide a formula reading a written column mid-column."""
    monkeypatch.setattr(recalc, "_CHUNK", 1500)
    path = _book(tmp_path, 7)  # O250: CLIENT_TIER(N250,G250)
    assert needs_full_recalc(path, "客户", {14}) is True
    assert needs_full_recalc(path, "客户", {15}) is False


# ---------------------------------------------------------------- through a run (the fork)


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """The verdict judged by the forked process even for a small file (the answers it gave:
    None when it gave none)."""
    if not parpatch.can_fork():
        pytest.skip("needs fork")
    monkeypatch.setattr(recalc_fork, "FORK_BYTES", 0)
    got: list = []
    real = recalc_fork.EarlyRecalc.result

    def spy(self):
        got.append(real(self))
        return got[-1]

    monkeypatch.setattr(recalc_fork.EarlyRecalc, "result", spy)
    yield got
    assert multiprocessing.active_children() == []  # every judge ended and reaped


def _run(path: Path) -> bool:
    res = rerate(path, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    assert res.written
    return recalc_on_open(path)


@pytest.mark.parametrize("k", [0, 2, 3, 7, 12, 14, 15])
@pytest.mark.parametrize("shares", [False, True])
def test_the_flag_through_a_run_judged_by_the_fork(tmp_path: Path, monkeypatch, forked: list,
                                                   k: int, shares: bool) -> None:
    if shares:  # (客户 patched by 3 processes, as a big one is)
        if parpatch.crc32_combine is None:
            pytest.skip("needs zlib-ng")
        monkeypatch.setattr(parpatch, "MIN_BYTES", 0)
        monkeypatch.setattr(parpatch, "WORKERS", 3)
        monkeypatch.setattr(parpatch, "BLOCK", 4096)
    path = _book(tmp_path, k)
    alone = tmp_path / "alone.xlsx"
    alone.write_bytes(path.read_bytes())
    assert _run(path) is _run_without_fork(alone, monkeypatch)
    assert len(forked) == 1 and forked[0] is not None  # (the fork's answer was used)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone.xlsx", path.name]


def _run_without_fork(path: Path, monkeypatch: pytest.MonkeyPatch) -> bool:
    with monkeypatch.context() as m:
        m.setattr(recalc_fork, "FORK_BYTES", 1 << 62)
        return _run(path)


def _fails(path: str, sheet: str):
    raise RuntimeError("the judge failed")


def _dies(path: str, sheet: str):
    os._exit(3)


@pytest.mark.parametrize("how", [_fails, _dies, "another sheet", "no fork"])
@pytest.mark.parametrize("k", [0, 2, 14])
def test_a_judge_that_fails_is_judged_again_here(tmp_path: Path, monkeypatch, forked: list,
                                                 how, k: int) -> None:
    if how == "another sheet":
        real_go = recalc_fork.EarlyRecalc.go
        monkeypatch.setattr(recalc_fork.EarlyRecalc, "go",
                            lambda self, sheet: (real_go(self, "汇总"), setattr(self, "sheet",
                                                                               sheet)))
    elif how == "no fork":
        def no_fork(self):
            raise OSError("no more processes")

        monkeypatch.setattr(multiprocessing.get_context("fork").Process, "start", no_fork)
    else:
        monkeypatch.setattr(recalc_fork, "profile", how)
    path = _book(tmp_path, k)
    alone = tmp_path / "alone.xlsx"
    alone.write_bytes(path.read_bytes())
    assert _run(path) is _run_without_fork(alone, monkeypatch)
    assert forked == ([] if how == "no fork" else [None])  # (judged here)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone.xlsx", path.name]


def test_a_run_that_stops_ends_the_judge(tmp_path: Path, forked: list) -> None:
    """A run that writes nothing (a dry run never forks; one refused) leaves no process."""
    path = _book(tmp_path, 0)
    rerate(path, period="2026Q3", mode="quarterly", operator="测试员", now=NOW, dry_run=True)
    rerate(path, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    with pytest.raises(Exception, match="期间不能倒退"):
        rerate(path, period="2026Q2", mode="quarterly", operator="测试员", now=NOW)
    assert len(forked) == 1 and forked[0] is not None  # (the run that wrote)
