"""Rows appended to a log sheet (``append_rows``) and rows found without reading a sheet
(``find_rows``): checked against a full read of the same file."""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from workbook.xlsxio import XlsxError, append, patch_workbook, read_sheet
from workbook.xlsxio.append import final_segment
from workbook.xlsxio.findrows import find_rows
from workbook.xlsxio.zipwriter import crc32_strip, entry_data_offset

LOG = "变更记录"


def _rows(path: Path, sheet: str = LOG) -> list[list]:
    d = read_sheet(path, sheet)
    return [[d.value(r, c) for c in range(1, d.n_cols + 1)] for r in range(1, d.n_rows + 1)]


def _openpyxl_log(path: Path, rows: list[list], styled_empty_rows: int = 0) -> Path:
    """A log as another program writes it: shared strings, a <dimension>, no flush point."""
    wb = openpyxl.Workbook()
    wb.active.title = "客户"
    wb.active["A1"] = "客户编号"
    ws = wb.create_sheet(LOG)
    for row in rows:
        ws.append(row)
    for k in range(styled_empty_rows):  # rows Excel keeps for their format only
        ws.cell(len(rows) + 1 + k, 1).font = openpyxl.styles.Font(bold=True)
    wb.save(path)
    return path


def _part(path: Path, sheet: str = LOG) -> zipfile.ZipInfo:
    from workbook.xlsxio.package import read_workbook_info

    with zipfile.ZipFile(path) as zf:
        return zf.getinfo(read_workbook_info(zf).sheet(sheet).part)


def _compressed(path: Path, info: zipfile.ZipInfo) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(entry_data_offset(fh, info))
        return fh.read(info.compress_size)


def _segment(path: Path) -> tuple[int, bytes, bytes, int, int] | None:
    with open(path, "rb") as fh:
        return final_segment(fh, _part(path))


HEAD = ["记录类型", "运行编号", "说明"]


def test_crc32_strip_undoes_the_tail() -> None:
    for k in range(300):
        a, b = os.urandom(k * 13), os.urandom(k % 97)
        assert crc32_strip(zlib.crc32(a + b), b) == zlib.crc32(a)


def test_append_to_a_foreign_log_then_to_ours(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    src = _openpyxl_log(tmp_path / "a.xlsx", [HEAD, ["运行", "R1", "x"], ["变更", "R1", "y"]],
                        styled_empty_rows=3)
    assert _segment(src) is None  # openpyxl: no flush point
    one = tmp_path / "b.xlsx"
    patch_workbook(src, one, append_rows={LOG: (4, [["运行", "R2", "=HYPERLINK(1)"],
                                                    ["变更", "R2", "z"]])})
    assert _rows(one) == [HEAD, ["运行", "R1", "x"], ["变更", "R1", "y"],
                          ["运行", "R2", "=HYPERLINK(1)"], ["变更", "R2", "z"]]
    info = _part(one)
    with zipfile.ZipFile(one) as zf:
        xml = zf.read(info.filename)  # zipfile checks the CRC
        assert b"<dimension" not in xml  # dropped: it would go stale at the next append
        assert zf.read("xl/worksheets/sheet1.xml") == zipfile.ZipFile(src).read(
            "xl/worksheets/sheet1.xml")
    seg = _segment(one)  # the flush point is before the last row
    assert seg is not None and seg[1].startswith(b'<row r="5">') and seg[3] == 5
    assert seg[1][seg[4]:].startswith(b"</sheetData>")

    two = tmp_path / "c.xlsx"

    def no_stream(*_a: object) -> None:
        raise AssertionError("the old rows were inflated again")

    monkeypatch.setattr(append, "_streamed", no_stream)
    patch_workbook(one, two, append_rows={LOG: (6, [["运行", "R3", "w"]])})
    assert _rows(two)[-3:] == [["运行", "R2", "=HYPERLINK(1)"], ["变更", "R2", "z"],
                               ["运行", "R3", "w"]]
    # the old rows' compressed bytes were copied, not inflated and deflated again
    old, new = _compressed(one, info), _compressed(two, _part(two))
    assert new[: seg[0]] == old[: seg[0]]
    with zipfile.ZipFile(two) as zf:
        assert zf.testzip() is None
        full = zf.read(_part(two).filename)
    assert full.count(b"<row ") == 6 and full.endswith(b"</worksheet>")
    wb = openpyxl.load_workbook(two)  # another reader agrees
    assert [c.value for c in wb[LOG]["A"]][-1] == "运行"


def test_append_to_an_empty_sheet_writes_from_row_1(tmp_path: Path) -> None:
    src = tmp_path / "e.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    wb.add_worksheet("客户").write_string(0, 0, "客户编号")
    wb.add_worksheet(LOG)
    wb.close()
    out = tmp_path / "f.xlsx"
    patch_workbook(src, out, append_rows={LOG: (1, [HEAD, ["运行", "R1", "x"]])})
    assert _rows(out) == [HEAD, ["运行", "R1", "x"]]
    patch_workbook(out, out, append_rows={LOG: (3, [["变更", "R1", "y"]])})
    assert _rows(out) == [HEAD, ["运行", "R1", "x"], ["变更", "R1", "y"]]


@pytest.mark.parametrize("ours", [False, True], ids=["foreign", "ours"])
def test_append_where_rows_hold_values_is_refused_and_file_unchanged(tmp_path: Path,
                                                                      ours: bool) -> None:
    """Rows asked for where rows with values are (a caller that read an older file): refused,
    whether the part is streamed or ends with our flush point (its last row is checked)."""
    src = _openpyxl_log(tmp_path / "a.xlsx", [HEAD, ["运行", "R1", "x"], ["变更", "R1", "y"]])
    if ours:
        patch_workbook(src, src, append_rows={LOG: (4, [["变更", "R1", "z"]])})
        assert _segment(src) is not None
    before = src.read_bytes()
    with pytest.raises(XlsxError, match="第 3 行或其后已有内容"):
        patch_workbook(src, src, append_rows={LOG: (3, [["运行", "R2", "z"]])})
    assert src.read_bytes() == before


def test_new_log_sheet_is_ready_for_a_fast_append(tmp_path: Path) -> None:
    src = tmp_path / "n.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    wb.add_worksheet("客户").write_string(0, 0, "客户编号")
    wb.close()
    patch_workbook(src, src, add_sheets={LOG: [HEAD, ["运行", "R1", "x"]]},
                   append_rows={LOG: (1, [])})
    assert _segment(src) is not None
    patch_workbook(src, src, append_rows={LOG: (3, [["变更", "R1", "y"]])})
    assert _rows(src) == [HEAD, ["运行", "R1", "x"], ["变更", "R1", "y"]]


# ------------------------------------------------------------------------------ find_rows

def _big_log(path: Path, n: int, inline: bool) -> list[list]:
    """A log of n rows, a run row every 97 rows, '运行' also inside other cells and the
    shared-string index of '运行' as a number in column C (none of these may match)."""
    rows = [HEAD]
    for i in range(1, n + 1):
        kind = "运行" if i % 97 == 1 else "变更"
        rows.append([kind, f"R{i // 97}", "提前运行" if i % 5 == 0 else f"说明{i}" * 3])
    rows[7][2] = "运行"
    if inline:
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})  # inline strings
        wb.add_worksheet("客户").write_string(0, 0, "客户编号")
        ws = wb.add_worksheet(LOG)
        for r, row in enumerate(rows):
            ws.write_row(r, 0, row)
        wb.close()
    else:
        _openpyxl_log(path, rows)
    return rows


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "shared"])
def test_find_rows_matches_a_full_read(tmp_path: Path, inline: bool) -> None:
    path = tmp_path / "log.xlsx"
    rows = _big_log(path, 40_000, inline)  # several MB of XML: many chunks
    got = find_rows(path, LOG, col=1, text="运行", before=1, last=2)
    full = _rows(path)
    assert full == rows
    want = [r for r in range(2, len(full) + 1) if full[r - 1][0] == "运行"]
    assert got.complete and got.matches == want and got.n_rows == len(full)
    assert got.header == HEAD
    keep = {*want, *(r - 1 for r in want if r > 2), len(full) - 1, len(full)}
    assert got.rows == {r: full[r - 1] for r in sorted(keep)}


def test_find_rows_on_a_sheet_with_header_only_or_empty(tmp_path: Path) -> None:
    path = _openpyxl_log(tmp_path / "h.xlsx", [HEAD])
    got = find_rows(path, LOG, col=1, text="运行")
    assert (got.n_rows, got.matches, got.rows, got.header) == (1, [], {}, HEAD)
    path = tmp_path / "e.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet(LOG)
    wb.close()
    got = find_rows(path, LOG, col=1, text="运行")
    assert (got.n_rows, got.matches, got.complete) == (0, [], True)


def test_log_rows_written_column_wise_are_the_rows_written_cell_by_cell(tmp_path: Path) -> None:
    import random

    from workbook.xlsxio.append import rows_xml
    from workbook.xlsxio.patch import _CellWriter, _rows_xml
    from workbook.xlsxio.styles import StylesEditor

    src = _openpyxl_log(tmp_path / "s.xlsx", [HEAD])
    with zipfile.ZipFile(src) as zf:
        styles = StylesEditor(zf, "xl/styles.xml")
    w = _CellWriter(styles, False)
    rng = random.Random(7)
    pieces = ["运行", "a&b", "<x>", " lead", "trail ", "两\n行", "_x0041_", "ctl\x01", "", None,
              "=HYPERLINK(1)", "普通"]
    for first in (1, 2, 57):
        for special in (True, False):
            pool = pieces if special else ["运行", "变更", "abc", "", None]
            rows = [[rng.choice(pool) for _ in range(rng.randint(0, 6))] for _ in range(40)]
            if first == 1:
                rows[0] = list(HEAD)
            assert rows_xml(rows, first, b"", w, lambda: 1) == \
                _rows_xml(rows, w, b"", {}, lambda: 1, start=first)


# ------------------------------------------------------------------------- parallel read

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
    assert _part(path, "客户").file_size > 3 * 2 * 1024 * 1024  # several chunks a worker
    for c in range(1, one.n_cols + 1):
        a, b = one.columns[c - 1], many.columns[c - 1]
        assert type(a) is type(b) and len(a) == len(b)
        if c != 5:  # (5 is not read)
            assert list(a) == list(b), c
        assert (one.formula_mask(c) == many.formula_mask(c)).all()
