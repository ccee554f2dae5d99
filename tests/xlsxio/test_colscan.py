"""The quick ways of the column-wise patch give what the general ones give: ``colscan``
locates the rows and cells of a plain piece exactly where colpatch's regular expressions do
(and refuses every piece they refuse), and ``colcells.cells`` builds a column's cells byte for
byte as the cell writer builds them one by one."""

from __future__ import annotations

import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from xlsx_fixtures import STYLES, count_outcomes, minimal_workbook

from workbook.xlsxio import SheetEdit, colpatch, colscan, patch_workbook
from workbook.xlsxio.cells import CellWriter
from workbook.xlsxio.colcells import cells
from workbook.xlsxio.rowpatch import Edits, RowPatcher
from workbook.xlsxio.sheetxml import col_letter
from workbook.xlsxio.styles import StylesEditor


def _sheet(rows: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
            f'.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>').encode()


def _writer(tmp_path: Path) -> CellWriter:
    src = minimal_workbook(tmp_path / "w.xlsx", _sheet(""), styles=STYLES)
    with zipfile.ZipFile(src) as zf:
        return CellWriter(StylesEditor(zf, "xl/styles.xml"), False)


# ----------------------------------------------------------------------------- cells


TEXTS = st.one_of(
    st.sampled_from(["", " ", "VIP客户", " lead", "trail ", "a&b<c>", "x_x0041_y", "tab\tz",
                     "ctl\x01", "cr\r", "两\n行", "\u3000全角", "全角\u3000", "nb\xa0", "\ufffe",
                     "\uffff!", "\u2028", "资产权益 312,679.73 元 ≥ 250,000 → 核心客户"]),
    st.text(max_size=8),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXTS, min_size=1, max_size=30), style=st.sampled_from([-1, 0, 2]),
       distinct=st.booleans())
def test_column_cells_are_the_cell_writers(tmp_path: Path, texts, style, distinct):
    """A column of texts of one style (every text different, as the reasons are, or repeated
    labels) is written as ``CellWriter.cell`` writes each cell -- also an empty text, one with
    spaces at its ends, control characters, U+FFFE, line breaks and entities."""
    if distinct:
        texts = list(dict.fromkeys(texts))
    digits = [str(r).encode() for r in range(2, len(texts) + 2)]
    got = cells(_writer(tmp_path), b"Q", digits, [style] * len(texts), texts)
    w = _writer(tmp_path)
    want = [w.cell(b"Q" + d, None if style < 0 else style, v) for d, v in zip(digits, texts, strict=True)]
    assert got == want


# ----------------------------------------------------------------------------- colscan

CELL = st.sampled_from([
    '<c r="{ref}"><v>1</v></c>', '<c r="{ref}" s="2"><v>2.5</v></c>', '<c r="{ref}" s="1"/>',
    '<c r="{ref}" t="inlineStr"><is><t>甲&amp;乙</t></is></c>', '<c r="{ref}"><f>A1</f></c>',
    '<c r="{ref}" t="s" s="2"><v>0</v></c>', '<c r="{ref}"/>',
])
# what a plain piece must not hold (each a case colscan refuses or must place exactly)
ODD = ("comment", "leading zero row", "leading zero cell", "text after tag", "4 letters",
       "beyond XFD", "other row", "no r", "self-closing row", "space in row tag", "empty row",
       "out of order", "rich", "cdata")


@st.composite
def pieces(draw):
    cols = sorted(draw(st.sets(st.integers(1, 30), min_size=1, max_size=6)))
    r0 = draw(st.integers(2, 99990))
    rows = []
    for r in range(r0, r0 + draw(st.integers(1, 12))):
        keep = [c for c in cols if draw(st.integers(0, 5))]
        cl = [draw(CELL).format(ref=f"{col_letter(c)}{r}") for c in keep]
        tag = f'<row r="{r}"' + (' spans="1:30"' if draw(st.booleans()) else "") + ">"
        if draw(st.integers(0, 3)) == 0:
            odd = draw(st.sampled_from(ODD))
            k = draw(st.integers(0, max(len(cl) - 1, 0)))
            if odd == "comment":
                cl.insert(k, "<!-- x -->")
            elif odd == "cdata":
                cl.insert(k, '<c r="A1" t="inlineStr"><is><t><![CDATA[<x>]]></t></is></c>')
            elif odd == "leading zero row":
                tag = tag.replace(f'r="{r}"', f'r="0{r}"')
            elif odd == "leading zero cell" and cl:
                cl[k] = cl[k].replace(f'{r}"', f'0{r}"', 1)
            elif odd == "text after tag" and cl:
                cl[k] = cl[k].replace(">", "> ", 1)
            elif odd == "4 letters" and cl:
                cl[k] = cl[k].replace('r="', 'r="AAAA', 1)
            elif odd == "beyond XFD" and cl:
                cl[k] = cl[k].replace('r="', 'r="XF', 1).replace('r="XF' + col_letter(keep[k]),
                                                                'r="XFZ', 1)
            elif odd == "other row" and cl:
                cl[k] = cl[k].replace(f'{r}"', f'{r + 1}"', 1)
            elif odd == "no r" and cl:
                cl[k] = cl[k].replace(f' r="{col_letter(keep[k])}{r}"', "", 1)
            elif odd == "self-closing row":
                rows.append(f'<row r="{r}"/>')
                continue
            elif odd == "space in row tag":
                tag = tag.replace("<row ", "<row  ")
            elif odd == "empty row":
                cl = []
            elif odd == "out of order":
                cl = cl[::-1] if len(cl) > 1 else [*cl, cl[0]] if cl else []
            elif odd == "rich" and cl:
                cl[k] = (f'<c r="{col_letter(keep[k])}{r}" t="inlineStr"><is><r><rPr><color '
                         'rgb="FFFF0000"/></rPr><t>red</t></r></is></c>')
        rows.append(tag + "".join(cl) + "</row>")
    edited = sorted(draw(st.sets(st.sampled_from([*cols, 31]), min_size=1, max_size=5)))
    return "".join(rows).encode(), edited


def _regex_plan(pt: RowPatcher, piece: bytes, cols: list) -> tuple | None:
    tags = colpatch._rowtag_re(b"").findall(piece)
    if not tags or b"" in tags or piece.count(b"</row><row") != len(tags) - 1:
        return None
    if colpatch._odd_re(b"").search(piece):
        return None
    try:
        rows = colpatch._locate_rows(pt, piece, tags)
        found = rows and colpatch._locate_cells(pt, piece, tags, rows, cols)
    except ValueError:
        return None
    return (rows, found) if found else None


def _odd_piece(row5: str) -> tuple[bytes, list[int]]:
    return (row5 + '<row r="6"><c r="A6"><v>1</v></c><c r="B6"><v>2</v></c></row>').encode(), [1, 2]


@settings(max_examples=500, deadline=None)
@given(case=pieces())
@example(case=_odd_piece('<row r="5" x="a>b"><c r="A5"><v>1</v></c></row>'))
@example(case=_odd_piece('<row r="5"><x/><c r="A5"><v>1</v></c></row>'))
@example(case=(b'<row r="5"><c r="A5"><v>1</v></c></row><row r="6"><c r="A6"><v>1</v></row>', [1]))
@example(case=_odd_piece('<row r="5"><c r="A5" t="x>"><v>1</v></c></row>'))
@example(case=_odd_piece('<row r="5"><c r="A5"><v>1</v></c><c r="B5"/>x</row>'))
def test_plain_pieces_located_as_the_regular_expressions_do(case):
    """Where colscan locates a piece, colpatch's regular expressions find the same rows (start,
    end, number, attributes, first and last column) and the same edited cells (column, row,
    style, start, end); where they refuse a piece, colscan does too."""
    piece, edited = case
    pt = RowPatcher(types.SimpleNamespace(ns=b"", prefix=b""), Edits(SheetEdit()), None, True)
    cols = [(c, [], np.zeros(0, bool)) for c in edited]
    sc = colscan.scan(piece)
    plain = colpatch._locate_plain(sc, piece, cols) if sc is not None else None
    regex = _regex_plan(pt, piece, cols)
    if sc is not None:  # (patch_piece takes the rows' numbers from it)
        assert sc.tags == colpatch._rowtag_re(b"").findall(piece)
        assert sc.numbers.tolist() == list(map(int, sc.tags))
    if plain is None:
        return
    assert regex is not None
    for got, want in zip(plain, regex, strict=True):
        for name in got.__dataclass_fields__:
            a, b = getattr(got, name), getattr(want, name)
            assert list(a) == list(b), name


REGULAR = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}" t="inlineStr"><is><t>x{r}'
                  f"</t></is></c></row>" for r in range(1, 60))


@pytest.mark.parametrize("odd", ["<!-- note -->", '<row r="07"><c r="A7"><v>1</v></c></row>',
                                 '<row r="7"><c r="A07"><v>1</v></c></row>'])
def test_pieces_colscan_refuses_patched_as_row_by_row(tmp_path: Path, monkeypatch, odd):
    """A comment, a row or a cell numbered with a leading zero: written as the per-row code
    writes them (colscan leaves such pieces to the regular expressions or to that code)."""
    monkeypatch.setattr(colpatch, "PIECE", 300)
    rows = REGULAR.replace('<row r="7">', odd + '<row r="7">', 1) if odd.startswith("<!") else \
        REGULAR.replace(REGULAR[REGULAR.index('<row r="7">'):REGULAR.index('<row r="8">')], odd)
    src = minimal_workbook(tmp_path / "s.xlsx", _sheet(rows), styles=STYLES)
    edit = SheetEdit(columns={2: [f"新{i}" for i in range(58)], 3: [float(i) for i in range(58)]})
    patch_workbook(src, tmp_path / "fast.xlsx", {"S": edit})
    patch_workbook(src, tmp_path / "slow.xlsx", {"S": edit}, _fast=False)
    assert (tmp_path / "fast.xlsx").read_bytes() == (tmp_path / "slow.xlsx").read_bytes()


def test_a_plain_sheet_is_located_by_colscan(tmp_path: Path, monkeypatch):
    """The pieces of a sheet as our writer writes it go the quick way (and give the bytes of
    the per-row code)."""
    monkeypatch.setattr(colpatch, "PIECE", 300)
    src = minimal_workbook(tmp_path / "s.xlsx", _sheet(REGULAR), styles=STYLES)
    calls = count_outcomes(monkeypatch, colpatch, "_locate_plain", "plain", "other")
    edit = SheetEdit(columns={2: [f"新{i}" for i in range(58)], 3: [float(i) for i in range(58)]})
    patch_workbook(src, tmp_path / "fast.xlsx", {"S": edit})
    patch_workbook(src, tmp_path / "slow.xlsx", {"S": edit}, _fast=False)
    assert calls["plain"] > 10 and calls["other"] == 0
    assert (tmp_path / "fast.xlsx").read_bytes() == (tmp_path / "slow.xlsx").read_bytes()
