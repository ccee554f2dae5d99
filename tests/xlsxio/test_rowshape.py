"""Pieces of rows of one shape, read by one pattern per row (``rowshape``): what the per-cell
reader gives, and a piece with any row of another shape (or anything else between its rows)
left to the other scans with the same result."""

from __future__ import annotations

import re
import zipfile
from itertools import pairwise
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
    monkeypatch.setattr(rowshape, "row_shape", lambda *args: built.append(1) or real(*args))
    rows = [(r, [(1, 0), (2, 10)] if r % 2 else [(1, 0), (3, 10)]) for r in range(2, 3000)]
    p = make_book(tmp_path / "m.xlsx", sheet_xml(rows))
    with zipfile.ZipFile(p) as zf:
        assert read_sheet_zip(zf, "S") == read_sheet_zip(zf, "S", fast=False)
    pieces = shaped["tried"]
    assert shaped["took"] == 0 and pieces > 100
    # (a shape from a piece's first row, and from its second when the first's does not fit)
    assert len(built) <= 2 * (rowshape.MISSES + pieces // rowshape.RETRY + 1)


def _read_by_two_workers(p: Path) -> int:
    """The sheet S of a file of over 6 MB of XML read by two forked read workers: the per-cell
    reader's values and formula places; its number of columns."""
    from workbook.xlsxio.parallel import start_read

    with zipfile.ZipFile(p) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size > 3 * 2 * 1024 * 1024
        slow = read_sheet_zip(zf, "S", fast=False)
    job = start_read(p, "S", workers=2, min_bytes=0)
    assert job is not None
    many = job.result()
    assert many is not None
    assert (many.n_rows, many.header, many.columns) == (slow.n_rows, slow.header, slow.columns)
    assert many.n_cols == slow.n_cols
    for c in range(1, slow.n_cols + 1):
        assert (many.formula_mask(c) == slow.formula_mask(c)).all()
    return slow.n_cols


def test_rows_of_one_shape_read_by_two_processes(tmp_path: Path):
    """The forked read workers (each its share of the rows) give the per-cell reader's values
    and formula places."""
    from workbook.xlsxio.parallel import can_fork

    if not can_fork():
        pytest.skip("no fork here")
    kinds = [0, 5, 10, 20, 26, 3, 33]
    p = make_book(tmp_path / "w.xlsx", sheet_xml(_rows(20_000, kinds)))
    _read_by_two_workers(p)


# ---------------------------------------------------------------- pieces of mixed rows
#: the cells of a regular row: number, shared text, inline text, formula, empty, date
MIXED = [0, 5, 10, 20, 26, 3]
#: rows of other shapes: a cell more (a 特别调整 typed), a cell less (omitted when empty),
#: another style, two cells more
ODD_ROWS = {
    "more": lambda cells: [*cells, (8, 0)],
    "less": lambda cells: [cell for cell in cells if cell[0] != 2],
    "style": lambda cells: [(1, 2), *cells[1:]],
    "two more": lambda cells: [*cells, (8, 1), (9, 10)],
}


def _mixed_rows(n: int, odd: dict[int, str]) -> list[tuple[int, list[tuple[int, int]]]]:
    """``_rows(n, MIXED)`` with the rows of ``odd`` (row -> ``ODD_ROWS`` key) of other shapes."""
    return [(r, ODD_ROWS[odd[r]](cells) if r in odd else cells) for r, cells in _rows(n, MIXED)]


@pytest.fixture()
def cut(monkeypatch) -> dict[str, list]:
    """Pieces of 60 rows (rows 2-61, 62-121...: row 1 alone; by their tags, whatever their
    numbers), and what read each piece:
    ``shape``: shape_scan's answer per piece; ``gaps``: the column-wise scan's answer per gap
    of a piece read by shapes; ``slow``: the gaps read cell by cell."""
    seen: dict[str, list] = {"shape": [], "gaps": [], "slow": []}

    def split(chunk: bytes, end_row: bytes):
        tags = [m.start() for m in re.finditer(b"<row[ >/]", chunk)]
        cuts = [0, *tags[1::60], len(chunk)]
        return [chunk[a:b] for a, b in pairwise(cuts)]

    real_shape, real_apply = fastscan.shape_scan, rowshape._apply

    def shape(scan, piece):
        ok = real_shape(scan, piece)
        seen["shape"].append(ok)
        return ok

    def apply(scan, plan):
        columnwise, slow = scan.columnwise, scan.slow

        def cols(gap):
            ok = columnwise(gap)
            seen["gaps"].append(ok)
            return ok

        scan.columnwise = cols
        scan.slow = lambda gap: seen["slow"].append(gap) or slow(gap)
        try:
            real_apply(scan, plan)
        finally:
            del scan.columnwise, scan.slow

    monkeypatch.setattr(reader, "split_rows", split)
    monkeypatch.setattr(fastscan, "shape_scan", shape)
    monkeypatch.setattr(rowshape, "_apply", apply)
    return seen


def _same_as_per_cell(path: Path) -> None:
    """The reader gives the per-cell reader's values, formulas, formula places and sizes,
    with all columns, some columns, formulas as places only."""
    with zipfile.ZipFile(path) as zf:
        slow = read_sheet_zip(zf, "S", fast=False)
        assert read_sheet_zip(zf, "S") == slow
        some = read_sheet_zip(zf, "S", columns=[1, 4, 8])
        assert some == read_sheet_zip(zf, "S", fast=False, columns=[1, 4, 8])
        places = read_sheet_zip(zf, "S", formula_text=False)  # (the per-cell reader: texts)
    for got in (some, places):
        assert (got.n_rows, got.n_cols) == (slow.n_rows, slow.n_cols)
    assert places.columns == slow.columns
    assert places.formulas.items() <= slow.formulas.items()
    for c in range(1, slow.n_cols + 1):
        assert (places.formula_mask(c) == slow.formula_mask(c)).all()


@pytest.mark.parametrize(("where", "odd"), [
    ("a piece's first row", {62: "more", 122: "less"}),
    ("the middle", {90: "more", 150: "style", 151: "less"}),
    ("a piece's last row", {121: "more", 181: "two more"}),
    ("several in a row", {r: "more" for r in range(70, 76)} | {r: "less" for r in range(76, 80)}),
    ("first and last rows of the sheet", {2: "less", 241: "more"}),
])
def test_rows_of_other_shapes_read_between_runs_of_a_shape(tmp_path: Path, cut, where, odd):
    """A few rows of other shapes in a piece: the piece is still read by the shape (its other
    rows by the column-wise scan), with the per-cell reader's result."""
    p = make_book(tmp_path / "m.xlsx", sheet_xml(_mixed_rows(240, odd)))
    _same_as_per_cell(p)
    pieces = len(cut["shape"]) // 3  # (three reads; row 1 alone in the first piece)
    assert cut["shape"][:pieces] == [False] + [True] * (pieces - 1), where
    assert cut["gaps"] and all(cut["gaps"]) and not cut["slow"]


def test_a_piece_of_another_shape_gets_its_own(tmp_path: Path, cut):
    """Every row of a piece of another shape than the last piece's (a cell more), rows of two
    shapes in turn in the next: the first read by its own shape, the second as before."""
    odd = {r: "more" for r in range(62, 122)} | {r: "less" for r in range(122, 182, 2)}
    p = make_book(tmp_path / "e.xlsx", sheet_xml(_mixed_rows(240, odd)))
    _same_as_per_cell(p)
    assert cut["shape"][:5] == [False, True, True, False, True]


@pytest.mark.parametrize("bad", ["no reference", "a column twice"])
def test_a_row_the_column_wise_scan_declines_is_read_cell_by_cell(tmp_path: Path, cut, bad):
    """A row between runs with a cell without its reference (Excel writes one; other writers
    do not) or a column twice: read by the per-cell scanner, the runs around it by shape."""
    xml = sheet_xml(_mixed_rows(240, {100: "more", 150: "less"}))
    if bad == "no reference":
        xml = _swap(xml, b'<c r="H100">', b"<c>")
    else:
        xml = _swap(xml, b'<c r="H100">', b'<c r="A100">')
    p = make_book(tmp_path / "d.xlsx", xml)
    _same_as_per_cell(p)
    pieces = len(cut["shape"]) // 3
    assert cut["shape"][:pieces] == [False] + [True] * (pieces - 1)
    assert False in cut["gaps"] and len(cut["slow"]) == 3
    assert all(b'<row r="100"' in gap for gap in cut["slow"])


@pytest.mark.parametrize("bad", [
    (b'<c r="H100">', b'<c r="H101">'),  # a cell naming another row
    (b'<c r="H100">', b'<c r="XFE100">'),  # a column beyond XFD
    (b'<c r="A160">', b'<c r="A161">'),
])
def test_a_bad_cell_between_runs_the_same_error(tmp_path: Path, cut, bad):
    """A bad cell in a row of another shape: the per-cell reader's error (row and column
    named)."""
    xml = _swap(sheet_xml(_mixed_rows(240, {100: "more", 160: "less"})), *bad)
    p = make_book(tmp_path / "b.xlsx", xml)
    with zipfile.ZipFile(p) as zf:
        with pytest.raises(CellRefError) as want:
            read_sheet_zip(zf, "S", fast=False)
        with pytest.raises(CellRefError) as got:
            read_sheet_zip(zf, "S")
    assert str(got.value) == str(want.value)
    assert bad[1][6:-2].rstrip(b"0123456789").decode() in str(got.value)


def test_mixed_rows_read_by_two_processes(tmp_path: Path):
    """One row in 100 with a cell more, one in 100 with a cell less: the forked read workers
    give the per-cell reader's values and formula places (and one process reads by shapes)."""
    from workbook.xlsxio.parallel import can_fork

    if not can_fork():
        pytest.skip("no fork here")
    odd = {r: "more" for r in range(37, 20_000, 100)} | {r: "less" for r in range(81, 20_000,
                                                                                  100)}
    rows = [(r, [*cells, (7, 33)] if r > 1 else cells)
            for r, cells in _mixed_rows(20_000, odd)]
    p = make_book(tmp_path / "w.xlsx", sheet_xml(rows))
    assert _read_by_two_workers(p) == 8


@pytest.mark.parametrize("back", [100, 121, 62])
def test_a_piece_going_back_to_rows_read_is_read_as_before(tmp_path: Path, cut, back: int):
    """A piece whose first row is one already read (row 122 written as ``back``, after a piece
    ending on a run of the shape, a row of another shape in it): the per-cell reader's result
    (the later cells win), not rows appended after the others."""
    xml = _swap(sheet_xml(_mixed_rows(240, {70: "more"})), b'<row r="122"',
                b'<row r="%d"' % back)
    xml = xml.replace(b'r="A122"', b'r="A%d"' % back).replace(b'r="B122"', b'r="B%d"' % back)
    for col in b"CDEF":
        xml = xml.replace(b'r="%c122"' % col, b'r="%c%d"' % (col, back))
    p = make_book(tmp_path / "g.xlsx", xml)
    with zipfile.ZipFile(p) as zf:
        slow = read_sheet_zip(zf, "S", fast=False)
        assert read_sheet_zip(zf, "S") == slow
    assert cut["shape"][:5] == [False, True, True, False, True] and cut["gaps"]


def test_a_piece_holding_row_1_is_read_as_before(tmp_path: Path, cut, monkeypatch):
    """Row 1 with the rows after it in one piece (a worker's first piece): read cell by cell
    as before, its formulas kept as texts even when only their places are asked for."""
    def split(chunk: bytes, end_row: bytes):
        tags = [m.start() for m in re.finditer(b"<row[ >/]", chunk)]
        cuts = [0, *tags[60::60], len(chunk)]
        return [chunk[a:b] for a, b in pairwise(cuts)]

    monkeypatch.setattr(reader, "split_rows", split)
    p = make_book(tmp_path / "h.xlsx", sheet_xml(_mixed_rows(240, {30: "more"})))
    with zipfile.ZipFile(p) as zf:
        slow = read_sheet_zip(zf, "S", fast=False)
        places = read_sheet_zip(zf, "S", formula_text=False)
    assert cut["shape"][:2] == [False, True]
    assert places.columns == slow.columns
    assert {k: v for k, v in slow.formulas.items() if k[0] < 61} == places.formulas
