"""Rows appended to a log sheet (``append_rows``): the old rows' compressed bytes copied, the
file read back whole by us, openpyxl and LibreOffice (in tests/workbook)."""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from xlsx_fixtures import LOG, openpyxl_log, part_info, sheet_rows

from workbook.xlsxio import XlsxError, append, patch_workbook
from workbook.xlsxio.append import final_segment
from workbook.xlsxio.zipwriter import crc32_strip, entry_data_offset


def _compressed(path: Path, info: zipfile.ZipInfo) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(entry_data_offset(fh, info))
        return fh.read(info.compress_size)


def _segment(path: Path) -> tuple[int, bytes, bytes, int, int] | None:
    with open(path, "rb") as fh:
        return final_segment(fh, part_info(path))


HEAD = ["记录类型", "运行编号", "说明"]


def test_crc32_strip_undoes_the_tail() -> None:
    for k in range(300):
        a, b = os.urandom(k * 13), os.urandom(k % 97)
        assert crc32_strip(zlib.crc32(a + b), b) == zlib.crc32(a)


def test_append_to_a_foreign_log_then_to_ours(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    src = openpyxl_log(tmp_path / "a.xlsx", [HEAD, ["运行", "R1", "x"], ["变更", "R1", "y"]],
                        styled_empty_rows=3)
    assert _segment(src) is None  # openpyxl: no flush point
    one = tmp_path / "b.xlsx"
    patch_workbook(src, one, append_rows={LOG: (4, [["运行", "R2", "=HYPERLINK(1)"],
                                                    ["变更", "R2", "z"]])})
    assert sheet_rows(one) == [HEAD, ["运行", "R1", "x"], ["变更", "R1", "y"],
                          ["运行", "R2", "=HYPERLINK(1)"], ["变更", "R2", "z"]]
    info = part_info(one)
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
    assert sheet_rows(two)[-3:] == [["运行", "R2", "=HYPERLINK(1)"], ["变更", "R2", "z"],
                               ["运行", "R3", "w"]]
    # the old rows' compressed bytes were copied, not inflated and deflated again
    old, new = _compressed(one, info), _compressed(two, part_info(two))
    assert new[: seg[0]] == old[: seg[0]]
    with zipfile.ZipFile(two) as zf:
        assert zf.testzip() is None
        full = zf.read(part_info(two).filename)
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
    assert sheet_rows(out) == [HEAD, ["运行", "R1", "x"]]
    patch_workbook(out, out, append_rows={LOG: (3, [["变更", "R1", "y"]])})
    assert sheet_rows(out) == [HEAD, ["运行", "R1", "x"], ["变更", "R1", "y"]]


@pytest.mark.parametrize("ours", [False, True], ids=["foreign", "ours"])
def test_append_where_rows_hold_values_is_refused_and_file_unchanged(tmp_path: Path,
                                                                      ours: bool) -> None:
    """Rows asked for where rows with values are (a caller that read an older file): refused,
    whether the part is streamed or ends with our flush point (its last row is checked)."""
    src = openpyxl_log(tmp_path / "a.xlsx", [HEAD, ["运行", "R1", "x"], ["变更", "R1", "y"]])
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
    assert sheet_rows(src) == [HEAD, ["运行", "R1", "x"], ["变更", "R1", "y"]]


def test_log_rows_written_column_wise_are_the_rows_written_cell_by_cell(tmp_path: Path) -> None:
    import random

    from workbook.xlsxio.append import rows_xml
    from workbook.xlsxio.cells import CellWriter as _CellWriter
    from workbook.xlsxio.cells import rows_xml as _rows_xml
    from workbook.xlsxio.styles import StylesEditor

    src = openpyxl_log(tmp_path / "s.xlsx", [HEAD])
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


