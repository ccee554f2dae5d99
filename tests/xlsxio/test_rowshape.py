"""Pieces of rows of one shape, read by one pattern per row (``rowshape``): what the per-cell
reader gives, and a piece with any row of another shape (or anything else between its rows)
left to the other scans with the same result."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from test_fast_paths import CELL_KINDS, make_book, sheet_xml

from workbook.xlsxio import fastscan, reader, rowshape
from workbook.xlsxio.errors import CellRefError
from workbook.xlsxio.reader import read_sheet_zip

#: the kinds of cell a shape holds (not rich text, not ``<t xml:space=...>``)
SHAPED = [i for i, (_, content) in enumerate(CELL_KINDS)
          if "<r>" not in content and "xml:space" not in content]


def _rows(n: int, kinds: list[int]) -> list[tuple[int, list[tuple[int, int]]]]:
    """A header, then ``n`` rows of the same cells (column c of kind kinds[c - 1])."""
    head = (1, [(c, 10) for c in range(1, len(kinds) + 1)])
    return [head, *((r, list(enumerate(kinds, start=1))) for r in range(2, n + 2))]


@pytest.fixture()
def shaped(monkeypatch) -> dict[str, int]:
    """Counts the pieces read by a row's pattern (``took``) and those tried (``tried``)."""
    calls = {"took": 0, "tried": 0}
    real = fastscan.shape_scan

    def spy(scan, piece):
        ok = real(scan, piece)
        calls["tried"] += 1
        calls["took"] += ok
        return ok

    monkeypatch.setattr(fastscan, "shape_scan", spy)
    monkeypatch.setattr(reader, "PIECE", 3000)
    return calls


@pytest.mark.parametrize("ns", ["", "x"])
def test_rows_of_one_shape_are_read_by_their_pattern(tmp_path: Path, shaped, ns: str):
    """Every kind of cell a shape holds (numbers, dates, shared and inline texts with
    entities, booleans, errors, formulas with and without a value, empty styled cells): the
    per-cell reader's values and formulas; formula places alike without their texts."""
    p = make_book(tmp_path / "s.xlsx", sheet_xml(_rows(300, SHAPED), ns=ns))
    with zipfile.ZipFile(p) as zf:
        slow = read_sheet_zip(zf, "S", fast=False)
        fast = read_sheet_zip(zf, "S")
        places = read_sheet_zip(zf, "S", formula_text=False)
    assert fast == slow and slow.n_rows == 301
    assert shaped["took"] >= shaped["tried"] - 2 and shaped["took"] > 20
    assert places.columns == slow.columns
    assert places.formulas.items() <= slow.formulas.items()  # (the header's piece: cell by cell)
    assert len(places.formulas) < len(slow.formulas) // 10
    for c in range(1, slow.n_cols + 1):
        assert (places.formula_mask(c) == slow.formula_mask(c)).all()


def _swap(xml: bytes, old: bytes, new: bytes) -> bytes:
    assert xml.count(old) == 1, old
    return xml.replace(old, new)


# one row (or what is between two rows) unlike the others, in the middle of the sheet
ODD = {
    "a cell more": lambda x: _swap(x, b"</row><row r=\"151\"",
                                   b'<c r="Z150"><v>9</v></c></row><row r="151"'),
    "a cell less": lambda x: re.sub(rb'<c r="B150"[^>]*(?:/>|>.*?</c>)', b"", x, count=1),
    "another style": lambda x: _swap(x, b'<c r="A150">', b'<c r="A150" s="2">'),
    "a text for a number": lambda x: _swap(x, b'<c r="A150"><v>1.5</v>',
                                           b'<c r="A150" t="inlineStr"><is><t>1.5</t></is>'),
    "an empty value": lambda x: _swap(x, b'<c r="A150"><v>1.5</v>', b'<c r="A150"><v></v>'),
    "white space between rows": lambda x: x.replace(b"</row><row", b"</row>\n  <row"),
    "a cell between rows": lambda x: _swap(x, b"</row><row r=\"151\"",
                                           b'</row><c r="C150"><v>7</v></c><row r="151"'),
    "a row ended twice": lambda x: _swap(x, b"</row><row r=\"151\"",
                                         b'</row><c r="C150"><v>7</v></c></row><row r="151"'),
    "an empty row": lambda x: _swap(x, b"</row><row r=\"151\"", b'</row><row r="150"/><row r="151"'),
    "rows out of order": lambda x: _swap(x, b'<row r="151"', b'<row r="149"'),
    "a cell of another row": lambda x: _swap(x, b'<c r="B150"', b'<c r="B151"'),
}


@pytest.mark.parametrize("odd", list(ODD))
def test_a_piece_with_a_row_of_another_shape_is_read_by_the_other_scans(tmp_path: Path, shaped,
                                                                        odd: str):
    kinds = [0, 5, 10, 20, 26, 3]  # number, shared text, inline, formula, empty, date
    xml = ODD[odd](sheet_xml(_rows(300, kinds)))
    p = make_book(tmp_path / "o.xlsx", xml)
    with zipfile.ZipFile(p) as zf:
        try:
            slow = read_sheet_zip(zf, "S", fast=False)
        except CellRefError as exc:  # (the same error, the same message)
            with pytest.raises(CellRefError) as got:
                read_sheet_zip(zf, "S")
            assert str(got.value) == str(exc)
            return
        assert read_sheet_zip(zf, "S") == slow
    assert shaped["took"] > 10  # (the other pieces)


def test_a_sheet_of_mixed_rows_tries_the_pattern_now_and_then(tmp_path: Path, shaped,
                                                             monkeypatch):
    """Rows of two shapes in turn: no piece has one shape; after a few misses in a row the
    pattern is tried on one piece in 16 (mixed rows pay almost nothing for it)."""
    built = []
    real = rowshape.row_shape
    monkeypatch.setattr(rowshape, "row_shape", lambda scan, piece: built.append(1) or
                        real(scan, piece))
    rows = [(r, [(1, 0), (2, 10)] if r % 2 else [(1, 0), (3, 10)]) for r in range(2, 3000)]
    p = make_book(tmp_path / "m.xlsx", sheet_xml(rows))
    with zipfile.ZipFile(p) as zf:
        assert read_sheet_zip(zf, "S") == read_sheet_zip(zf, "S", fast=False)
    pieces = shaped["tried"]
    assert shaped["took"] == 0 and pieces > 100
    assert len(built) <= rowshape.MISSES + pieces // rowshape.RETRY + 1


def test_rows_of_one_shape_read_by_two_processes(tmp_path: Path):
    """The forked read workers (each its share of the rows) give the per-cell reader's values
    and formula places."""
    from workbook.xlsxio.parallel import can_fork, start_read

    if not can_fork():
        pytest.skip("no fork here")
    kinds = [0, 5, 10, 20, 26, 3, 33]
    p = make_book(tmp_path / "w.xlsx", sheet_xml(_rows(20_000, kinds)))
    with zipfile.ZipFile(p) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size > 3 * 2 * 1024 * 1024
        slow = read_sheet_zip(zf, "S", fast=False)
    job = start_read(p, "S", workers=2, min_bytes=0)
    assert job is not None
    many = job.result()
    assert many is not None
    assert (many.n_rows, many.header, many.columns) == (slow.n_rows, slow.header, slow.columns)
    for c in range(1, slow.n_cols + 1):
        assert (many.formula_mask(c) == slow.formula_mask(c)).all()
