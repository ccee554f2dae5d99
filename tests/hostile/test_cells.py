"""Attack corpus, the cells of 客户 (issue 15): text that looks like a formula, control
characters, NaN/inf, 1e308, booleans, error values, odd headers, huge strings, 16,384 columns,
the last row of a sheet, invalid cell references. Each case: a complete valid result (every
row kept, bad rows rejected by row/column/value and left as they were, never a tier for bad
input, nothing written as a formula) or a refusal with the file untouched."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from branch_files import plain_branch
from hostile_harness import assert_complete, assert_refused, rerate_cli

from rules import get_rulebook
from workbook.job import rerate
from workbook.xlsxio import read_sheet

NOW = dt.datetime(2026, 10, 9, 10, 0)
HEADER = ["客户编号", "客户名称", "资产权益", "上年度净佣金"]


def _rerate(p: Path):
    return rerate(p, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)


def _table(p: Path) -> dict[str, dict[str, Any]]:
    d = read_sheet(p, "客户")
    out = {}
    for r in range(2, d.n_rows + 1):
        out[str(d.value(r, 1))] = {h: d.value(r, c) for c, h in enumerate(d.header, start=1)}
    return out


def _expected(assets: float, commission: float) -> str:
    return get_rulebook("brokerage", dt.date(2026, 9, 30)).evaluate(assets, commission).label


FORMULA_LIKE = ["=1+1", "+1", "-1", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0",
                "=HYPERLINK(\"http://evil.invalid\",\"点我\")", "-2+3", "=+A1", "DDE(\"x\")"]


def test_formula_looking_text_stays_text(tmp_path: Path) -> None:
    rows = [[f"F{i}", text, 300_000.0, 0.0] for i, text in enumerate(FORMULA_LIKE)]
    rows += [[text, "名", 300_000.0, 0.0] for text in FORMULA_LIKE[:6]]  # as client ids too
    p = plain_branch(tmp_path / "f.xlsx", rows, HEADER)
    ids = read_sheet(p, "客户").column("客户编号")
    names = read_sheet(p, "客户").column("客户名称")
    assert names[:5] == FORMULA_LIKE[:5]  # (xlsxwriter stores CR as a bare CR: read as LF)
    code, _, err = rerate_cli(p)
    assert_complete(code, err, p, ids)
    d = read_sheet(p, "客户")
    assert not d.formulas
    assert d.column("客户名称") == names
    log = read_sheet(p, "变更记录")
    logged = set(log.column("客户编号"))
    assert {t.strip() for t in FORMULA_LIKE[:6]} <= logged | set(FORMULA_LIKE[:6])
    with zipfile.ZipFile(p) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(n) and b"<f " not in z.read(n), n


def test_control_characters(tmp_path: Path) -> None:
    texts = ["a\x01b", "\x1f", "x\x0bY", "tab\tin", "nl\nin", "\x7f", "\u200b零宽", "\ufeffBOM",
             "_x0041_", "\ud7ff"]
    rows = [[t, t, 300_000.0, 0.0] for t in texts]
    p = plain_branch(tmp_path / "c.xlsx", rows, HEADER)
    ids = read_sheet(p, "客户").column("客户编号")
    code, _, err = rerate_cli(p)
    assert_complete(code, err, p, ids)
    assert read_sheet(p, "客户").column("客户名称") == read_sheet(p, "客户").column("客户编号")
    # the log holds each id exactly as 客户 does (what is logged can be matched back)
    log = read_sheet(p, "变更记录")
    logged = {x for x in log.column("客户编号") if x is not None}
    assert logged and logged <= {str(i).strip() for i in ids} | set(ids)


def _raw_sheet(tmp_path: Path, cells_xml: list[str], *, header: list[str] = HEADER,
               extra: bytes = b"") -> Path:
    """A branch whose data rows are given as raw <row> XML (values Excel or a forger wrote)."""
    p = plain_branch(tmp_path / "raw.xlsx", [], header)
    with zipfile.ZipFile(p) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    rows = "".join(cells_xml).encode()
    sheet = sheet.replace(b"</row></sheetData>", b"</row>" + rows + b"</sheetData>" + extra)
    sheet = re.sub(rb"<dimension [^>]*/>", b"", sheet)
    parts["xl/worksheets/sheet1.xml"] = sheet
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    return p


def _row(r: int, cid: str, assets_xml: str) -> str:
    return (f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{cid}</t></is></c>'
            f'{assets_xml.replace("@", f"C{r}")}</row>')


BAD_AMOUNTS = {
    "nan-text": '<c r="@" t="inlineStr"><is><t>NaN</t></is></c>',
    "inf-text": '<c r="@" t="inlineStr"><is><t>inf</t></is></c>',
    "minus-inf-text": '<c r="@" t="inlineStr"><is><t>-Infinity</t></is></c>',
    "nan-number": '<c r="@"><v>NaN</v></c>',
    "inf-number": '<c r="@"><v>INF</v></c>',
    "overflow-text": '<c r="@" t="inlineStr"><is><t>1e9999</t></is></c>',
    "overflow-number": '<c r="@"><v>1e9999</v></c>',
    "bool-true": '<c r="@" t="b"><v>1</v></c>',
    "bool-false": '<c r="@" t="b"><v>0</v></c>',
    "error-na": '<c r="@" t="e"><v>#N/A</v></c>',
    "error-div0": '<c r="@" t="e"><v>#DIV/0!</v></c>',
    "error-text": '<c r="@" t="str"><f>1/0</f><v>#DIV/0!</v></c>',
    "negative": '<c r="@"><v>-5</v></c>',
    "date": '<c r="@" t="d"><v>2026-01-01</v></c>',
    "not-a-number": '<c r="@"><v>abc</v></c>',
}


@pytest.mark.parametrize("kind", sorted(BAD_AMOUNTS))
def test_bad_amount_is_rejected_never_tiered(tmp_path: Path, kind: str) -> None:
    rows = [_row(2, "OK1", '<c r="@"><v>300000</v></c>'), _row(3, "BAD", BAD_AMOUNTS[kind]),
            _row(4, "OK2", '<c r="@"><v>1e308</v></c>')]
    p = _raw_sheet(tmp_path, rows)
    before = p.read_bytes()
    try:
        ids = read_sheet(p, "客户").column("客户编号")
    except Exception as e:  # the reader refuses the cell: then the run must refuse the file
        from workbook.xlsxio import XlsxError

        assert isinstance(e, XlsxError), repr(e)
        code, _, err = rerate_cli(p)
        assert_refused(code, err, p, before)
        return
    old = _table(p)
    res = _rerate(p)
    assert res.exit_code == 3 and [r[1] for r in res.rejections] == ["BAD"]
    row, _cid, col, _value, reason = res.rejections[0]
    assert (row, col) == (3, "资产权益") and "第 3 行" in reason and "资产权益" in reason
    new = _table(p)
    assert [k for k in new] == ids
    assert repr({k: v for k, v in new["BAD"].items() if k in old["BAD"]}) == repr(old["BAD"])
    assert new["BAD"].get("当前级别") in (None, "")
    assert new["OK1"]["当前级别"] == _expected(300_000, 0)
    assert new["OK2"]["当前级别"] == _expected(1e308, 0) == "VIP客户"


def test_merged_duplicate_and_full_width_headers(tmp_path: Path) -> None:
    # merged header cells: the second column of the merge has no header (it is not a column)
    p = tmp_path / "merged.xlsx"
    wb = xlsxwriter.Workbook(str(p), {"strings_to_formulas": False})
    ws = wb.add_worksheet("客户")
    ws.write_string(0, 0, "客户编号")
    ws.merge_range("B1:C1", "资产权益")
    ws.write_string(0, 3, "上年度净佣金")
    ws.write_row(1, 0, ["M1", 300_000, 999, 0])
    wb.close()
    ids = read_sheet(p, "客户").column("客户编号")
    code, _, err = rerate_cli(p)
    assert_complete(code, err, p, ids)
    got = _table(p)["M1"]
    assert got["当前级别"] == _expected(300_000, 0)
    # two columns with the same header: which one holds the assets? refused, file untouched
    dup = plain_branch(tmp_path / "dup.xlsx", [["D1", 300_000.0, 20_000_000.0]],
                       ["客户编号", "资产权益", "资产权益"])
    before = dup.read_bytes()
    code, _, err = rerate_cli(dup)
    assert_refused(code, err, dup, before)
    assert "资产权益" in err and "B" in err and "C" in err
    dup2 = plain_branch(tmp_path / "dup2.xlsx", [["D1", 300_000.0, 20_000_000.0]],
                        ["客户编号", "资产权益", "assets"])  # the English alias: the same column
    before = dup2.read_bytes()
    code, _, err = rerate_cli(dup2)
    assert_refused(code, err, dup2, before)
    # full-width / padded headers: either understood or a clear refusal, never a wrong column
    fw = plain_branch(tmp_path / "fw.xlsx", [["W1", 300_000.0, 0.0]],
                      ["\u3000客户编号\u3000", "资产权益 ", "ＣＯＭＭＩＳＳＩＯＮ"])
    before = fw.read_bytes()
    code, _, err = rerate_cli(fw)
    if code in (1, 2):
        assert_refused(code, err, fw, before)
    else:
        assert_complete(code, err, fw, ["W1"])
        assert _table(fw)["W1"]["当前级别"] == _expected(300_000, 0)


def test_huge_strings(tmp_path: Path) -> None:
    big = "长" * 32_767  # Excel's limit for one cell
    rows = [["B1", big, 300_000.0, 0.0], ["B2", "x" * 32_000, 20_000_000.0, 0.0]]
    p = plain_branch(tmp_path / "big.xlsx", rows, HEADER)
    code, _, err = rerate_cli(p)
    assert_complete(code, err, p, ["B1", "B2"])
    assert _table(p)["B1"]["客户名称"] == big
    # a 200,000-character client id (more than Excel allows; written raw): kept whole
    p2 = _raw_sheet(tmp_path, [_row(2, "I" * 200_000, '<c r="@"><v>300000</v></c>')])
    code, _, err = rerate_cli(p2)
    assert_complete(code, err, p2, ["I" * 200_000])


def test_16384_columns(tmp_path: Path) -> None:
    """A 客户 sheet using every column up to XFD: the job's output columns do not fit; refused
    with a message naming the problem, the file untouched."""
    header = HEADER + [f"备注{i}" for i in range(16_384 - len(HEADER))]
    p = plain_branch(tmp_path / "wide.xlsx", [["W1", "n", 300_000.0, 0.0]], header)
    before = p.read_bytes()
    code, _, err = rerate_cli(p)
    assert_refused(code, err, p, before)
    assert "16384" in err and "XFD" in err


def test_last_row_of_a_sheet(tmp_path: Path) -> None:
    last = 1_048_576
    rows = [_row(2, "R2", '<c r="@"><v>300000</v></c>'),
            _row(last, "LAST", '<c r="@"><v>20000000</v></c>')]
    p = _raw_sheet(tmp_path, rows)
    code, _, err = rerate_cli(p)
    if code in (1, 2):
        assert_refused(code, err, p, None)
        return
    assert_complete(code, err, p, read_sheet(p, "客户").column("客户编号"))
    d = read_sheet(p, "客户")
    assert d.n_rows == last and d.value(last, 1) == "LAST"
    assert d.value(last, d.header.index("当前级别") + 1) == "VIP客户"


@pytest.mark.parametrize("ref", ["A0", "XFE2", "A1048577", "2A", "", "a2", "A-1", "A2:B3"])
def test_invalid_cell_references(tmp_path: Path, ref: str) -> None:
    row = (f'<row r="2"><c r="A2" t="inlineStr"><is><t>V1</t></is></c>'
           f'<c r="{ref}"><v>300000</v></c></row>')
    p = _raw_sheet(tmp_path, [row])
    before = p.read_bytes()
    code, out, err = rerate_cli(p)
    if code in (1, 2):
        # refused (or every row rejected: "未做任何更改" on the report), the file untouched
        assert_refused(code, err or "错误：" + out, p, before)
    else:
        # read as the next cell (a missing/odd r means "the next column", as Excel does) or
        # refused; never a tier from a value read in the wrong column
        assert_complete(code, err, p, ["V1"])
        got = _table(p)["V1"]
        assert got["当前级别"] in (None, "", _expected(300_000, 0))
