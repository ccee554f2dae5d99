"""A cell whose reference names another row than the ``<row r>`` it sits in (issue 15's last
gap): read by its column letters only, ``<c r="A0">`` in row 3 would pass for row 3's client
id. The reader refuses the sheet, naming it and the cell, in the per-cell scanner and in the
column-wise fast scan alike."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from xlsx_fixtures import minimal_workbook

from workbook.xlsxio import XlsxError, read_sheet
from workbook.xlsxio.findrows import find_rows
from workbook.xlsxio.reader import read_sheet_zip

NS = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'


def _sheet(bad_row: int, bad_ref: bytes, n: int = 40) -> bytes:
    rows = [b'<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c>'
            b'<c r="B1" t="inlineStr"><is><t>amount</t></is></c></row>']
    for r in range(2, n + 2):
        a = bad_ref if r == bad_row else b"A%d" % r
        rows.append(b'<row r="%d"><c r="%s" t="inlineStr"><is><t>C%d</t></is></c>'
                    b'<c r="B%d"><v>%d</v></c></row>' % (r, a, r, r, r * 10))
    return NS + b"".join(rows) + b"</sheetData></worksheet>"


def _all_columns(header: list[str]) -> range:
    return range(1, len(header) + 1)


@pytest.mark.parametrize("bad_ref", [b"A0", b"A2", b"A99"])
def test_a_cell_naming_another_row_is_refused(tmp_path: Path, bad_ref: bytes) -> None:
    p = minimal_workbook(tmp_path / "bad.xlsx", _sheet(17, bad_ref))
    ref = bad_ref.decode()
    # per-cell scanner (the header's chunk), fast scan (header split off), reference scanner
    for read in (lambda: read_sheet(p, "S"),
                 lambda: read_sheet(p, "S", columns=_all_columns),
                 lambda: read_sheet(p, "S", hashed=_all_columns)):
        with pytest.raises(XlsxError) as exc:
            read()
        msg = str(exc.value)
        assert "“S”" in msg and ref in msg and "第 17 行" in msg, msg
    with zipfile.ZipFile(p) as zf, pytest.raises(XlsxError, match=ref):
        read_sheet_zip(zf, "S", fast=False)


def test_the_row_finder_refuses_it_too(tmp_path: Path) -> None:
    p = minimal_workbook(tmp_path / "bad.xlsx", _sheet(5, b"A0", n=6))
    with pytest.raises(XlsxError, match="A0"):
        find_rows(p, "S", col=1, text="C5")


def test_references_that_agree_are_read(tmp_path: Path) -> None:
    """The same sheet with every reference right (and one with a leading zero, which names
    the same row) reads as before, in both scanners."""
    p = minimal_workbook(tmp_path / "ok.xlsx", _sheet(17, b"A017"))
    sd = read_sheet(p, "S", columns=_all_columns)
    assert sd.n_rows == 41
    assert sd.column(1)[:3] == ["C2", "C3", "C4"] and sd.column(1)[15] == "C17"
    assert sd.column(2)[-1] == 410.0
    with zipfile.ZipFile(p) as zf:
        assert read_sheet_zip(zf, "S", fast=False) == read_sheet(p, "S")
