"""Issue 10: a new workbook and a re-rated one hold values, not per-row calls of our functions;
a full recalculation on open is asked for only when a formula may read what a run wrote; a PC
without the add-in (here: LibreOffice, which does not know our functions) shows the values."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from branch_files import edit_part

import udfs
from workbook.audit import calls_ours, recalc_on_open
from workbook.demo import make_demo_clients
from workbook.job import rerate
from workbook.template import new_workbook
from workbook.xlsxio import SheetEdit, col_letter, patch_workbook, read_sheet
from workbook.xlsxio.package import read_workbook_info

NOW = dt.datetime(2026, 10, 9, 10, 0, 0)
CLIENTS = make_demo_clients(24, 7, today=dt.date(2026, 9, 20))


def _all_formulas(path: Path) -> dict[tuple[str, int, int], str]:
    with zipfile.ZipFile(path) as zf:
        names = [s.name for s in read_workbook_info(zf).sheets]
    return {(n, r, c): f for n in names for (r, c), f in read_sheet(path, n).formulas.items()}


def _column(path: Path, header: str) -> list:
    d = read_sheet(path, "客户")
    return list(d.column(header))


@pytest.fixture()
def wb(tmp_path: Path) -> Path:
    return new_workbook(tmp_path / "branch.xlsx", clients=CLIENTS)


def test_new_workbook_holds_values_and_asks_for_no_recalculation(wb: Path) -> None:
    assert not [f for f in _all_formulas(wb).values() if calls_ours(f)]
    assert _all_formulas(wb) == {}
    assert not recalc_on_open(wb)
    d = read_sheet(wb, "客户")
    for r in range(2, d.n_rows + 1):
        a, c = d.value(r, d.col_of("资产权益")), d.value(r, d.col_of("上年度净佣金"))
        assert d.value(r, d.col_of("计算级别")) == udfs.CLIENT_TIER(a, c)
        risk = udfs.RISK_CLASS(d.value(r, d.col_of("风险测评得分")))
        assert d.value(r, d.col_of("风险类别")) == (None if risk.startswith("#") else risk)


def test_rerated_workbook_keeps_values_and_updates_the_computed_tier(wb: Path) -> None:
    d = read_sheet(wb, "客户")
    ids = list(d.column("客户编号"))
    r = ids.index("KH100003") + 2
    a_col = d.col_of("资产权益")
    patch_workbook(wb, wb, {"客户": SheetEdit(cells={(r, a_col): 20_000_000.0})},
                   recalc_on_open=False)  # (typed in Excel, then saved)
    rerate(wb, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    assert _all_formulas(wb) == {}
    assert not recalc_on_open(wb)  # nothing reads what the run wrote
    d = read_sheet(wb, "客户")
    assert d.value(r, d.col_of("计算级别")) == "VIP客户" == udfs.CLIENT_TIER(20_000_000, 0)
    assert d.value(r, d.col_of("当前级别")) == "VIP客户"


def test_a_formula_reading_what_the_run_wrote_asks_for_recalculation(wb: Path) -> None:
    d = read_sheet(wb, "客户")
    n = d.col_of("当前级别")
    with zipfile.ZipFile(wb) as zf:
        part = read_workbook_info(zf).sheet("控制台").part
    edit_part(wb, part, lambda x: x.replace(
        "</sheetData>",
        f'<row r="20"><c r="A20"><f>COUNTIF(客户!{col_letter(n)}2:{col_letter(n)}30,"VIP客户")'
        "</f><v>0</v></c></row></sheetData>", 1))
    rerate(wb, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    assert recalc_on_open(wb)


def _saved_by_excel(path: Path, form: str) -> None:
    """The per-row layout of earlier workbooks after Excel saved it: no fullCalcOnLoad left
    (Excel clears it when it saves), each call of ours in ``form``."""
    with zipfile.ZipFile(path) as zf:
        info = read_workbook_info(zf)
        wb_part, part = info.workbook_part, info.sheet("客户").part
    edit_part(path, wb_part, lambda x: re.sub(r'\sfullCalcOnLoad="1"', "", x))
    edit_part(path, part, lambda x: re.sub(r"<f>(CLIENT_TIER|RISK_CLASS)\(",
                                            lambda m: f"<f>{form}{m.group(1)}(", x))


FORMS = {"plain": "", "link part": "[1]!", "_xludf": "_xludf.",
         "path": "'C:\\Users\\wang\\AppData\\Roaming\\Microsoft\\Excel\\XLSTART\\"
                 "client_rating.xlam'!"}


@pytest.mark.parametrize("form", list(FORMS))
def test_the_job_reads_our_calls_in_every_saved_form(tmp_path: Path, form: str) -> None:
    path = new_workbook(tmp_path / "old.xlsx", clients=CLIENTS, formulas="per-row")
    _saved_by_excel(path, FORMS[form])
    assert not recalc_on_open(path)
    before = _all_formulas(path)
    assert before and all(f.startswith(FORMS[form]) for f in before.values())
    rerate(path, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    assert not recalc_on_open(path)  # they read 资产权益/净佣金/得分 only, which runs never write
    assert _all_formulas(path) == before  # and a run never writes a formula cell


def test_a_foreign_call_in_saved_form_still_asks_for_recalculation(tmp_path: Path) -> None:
    path = new_workbook(tmp_path / "old.xlsx", clients=CLIENTS, formulas="per-row")
    _saved_by_excel(path, "[1]!")
    with zipfile.ZipFile(path) as zf:
        part = read_workbook_info(zf).sheet("客户").part
    # a function of another add-in over 当前级别 (column N), which the run writes
    edit_part(path, part, lambda x: x.replace("<f>[1]!RISK_CLASS(K2)", "<f>[1]!MY_TOTAL(N2)", 1))
    rerate(path, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    assert recalc_on_open(path)


# ------------------------------------------------------------------------------ LibreOffice


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


_ALWAYS_RECALC = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def _as_csv(files: list[Path], out: Path, profile: Path, *, recalc: bool) -> dict[str, list]:
    """Sheet 客户 of each file as LibreOffice shows it, converted to CSV. ``recalc``: the
    profile recalculates every formula on load (a PC where our functions are unknown and
    everything is recalculated), else LibreOffice's default (cached values are shown)."""
    import csv

    if recalc:
        (profile / "user").mkdir(parents=True, exist_ok=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_ALWAYS_RECALC, "utf-8")
    subprocess.run([_soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                    "--outdir", str(out), *map(str, files)],
                   check=True, timeout=240, capture_output=True)
    got = {}
    for f in files:
        with open(out / f"{f.stem}-客户.csv", encoding="utf-8", newline="") as fh:
            got[f.stem] = list(csv.reader(fh))
    return got


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice (soffice) not on PATH")
def test_libreoffice_shows_the_values_not_name_errors(tmp_path: Path) -> None:
    new = new_workbook(tmp_path / "new.xlsx", clients=CLIENTS)
    rerated = new_workbook(tmp_path / "rerated.xlsx", clients=CLIENTS)
    rerate(rerated, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    old = new_workbook(tmp_path / "old.xlsx", clients=CLIENTS, formulas="per-row")
    files = [new, rerated, old]
    for recalc in (False, True):
        shown = _as_csv(files, tmp_path / f"csv{recalc}", tmp_path / f"lo{recalc}", recalc=recalc)
        for f in (new, rerated):
            rows = shown[f.stem]
            header = rows[0]
            d = read_sheet(f, "客户")
            for h in ("计算级别", "风险类别", "当前级别", "服务产品"):
                k = header.index(h)
                want = ["" if v is None else str(v) for v in d.column(h)]
                assert [r[k] for r in rows[1:]] == want, (f.stem, h, recalc)
            assert not any("#NAME?" in cell for r in rows for cell in r)
        k = shown["rerated"][0].index("当前级别")
        assert {r[k] for r in shown["rerated"][1:]} >= {"VIP客户", "普通客户"}
        # the earlier layout: values only where nothing is recalculated
        old_rows = shown["old"]
        k = old_rows[0].index("计算级别")
        assert any(r[k] == "#NAME?" for r in old_rows[1:]) == recalc


def test_a_run_writes_the_computed_tier_only_where_the_column_is(tmp_path: Path) -> None:
    from branch_files import plain_branch

    header = ["客户编号", "资产权益", "上年度净佣金"]
    path = plain_branch(tmp_path / "plain.xlsx", [["A1", 300_000.0, 0.0], ["A2", 50.0, 0.0]],
                        header)
    rerate(path, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    assert "计算级别" not in read_sheet(path, "客户").header  # never created
    path = plain_branch(tmp_path / "with.xlsx", [["A1", 300_000.0, 0.0, "旧值"]],
                        [*header, "计算级别"])
    rerate(path, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    assert _column(path, "计算级别") == ["核心客户"]


def test_a_column_of_formulas_gets_no_computed_tier_value(tmp_path: Path) -> None:
    """The earlier per-row layout: 计算级别 holds =CLIENT_TIER(…) on every client row. A client
    typed in at the bottom (no formula there) is rated, but its 计算级别 is left to Excel: a
    value written there would not follow the figures, and the audit would take it for a
    formula typed over."""
    from workbook.audit import audit_file

    path = new_workbook(tmp_path / "old.xlsx", clients=CLIENTS, formulas="per-row")
    d = read_sheet(path, "客户")
    r = d.n_rows + 1
    patch_workbook(path, path, {"客户": SheetEdit(cells={
        (r, d.col_of("客户编号")): "XK00001", (r, d.col_of("资产权益")): 600_000.0})})
    res = rerate(path, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    assert res.written
    d = read_sheet(path, "客户")
    assert d.value(r, d.col_of("当前级别")) == "核心客户"
    assert d.value(r, d.col_of("计算级别")) is None and (r, d.col_of("计算级别")) not in d.formulas
    patch_workbook(path, path, {"客户": SheetEdit(cells={(r, d.col_of("资产权益")): 50_000.0})})
    res = audit_file(path, as_of=NOW.date())
    assert not [f for f in res.findings if f.kind == "overwritten_formula"], res.findings


@pytest.mark.parametrize(("master", "child_col", "needs"), [
    ("CLIENT_TIER(F2,G2)", "O", False),  # a column of our call over inputs, as Excel shares it
    ("CLIENT_TIER(F2,G2)", "T", True),  # shared across columns: another column reads others
    ("RISK_CLASS(N2)", "O", True),  # reads 当前级别 (N), which the run writes
])
def test_shared_formulas(tmp_path: Path, master: str, child_col: str, needs: bool) -> None:
    from workbook.recalc import needs_full_recalc

    path = new_workbook(tmp_path / "s.xlsx", clients=CLIENTS)
    with zipfile.ZipFile(path) as zf:
        part = read_workbook_info(zf).sheet("客户").part

    def plant(xml: str) -> str:
        xml = re.sub(r'<c r="O2"[^>]*?(?:/>|>.*?</c>)',
                     f'<c r="O2" t="str"><f t="shared" ref="O2:{child_col}3" si="0">{master}'
                     "</f><v>x</v></c>", xml, count=1, flags=re.S)
        return re.sub(rf'<c r="{child_col}3"[^>]*?(?:/>|>.*?</c>)',
                      f'<c r="{child_col}3" t="str"><f t="shared" si="0"/><v>x</v></c>', xml,
                      count=1, flags=re.S)

    edit_part(path, part, plant)
    from workbook.xlsxio import col_index

    planted = read_sheet(path, "客户").formulas
    assert (2, 15) in planted and (3, col_index(child_col)) in planted
    assert needs_full_recalc(path, "客户", {14, 17}) is needs


@pytest.mark.parametrize(("odd", "needs"), [
    (None, False),  # a column of our call over inputs the run does not write
    ("CLIENT_TIER(D{r},B{r})", True),  # one row reads 当前级别 (D), which the run writes
    ("CLIENT_TIER(B{r},C{r})+1", True),  # another operator
    ("CLIENT_TIER(B{r},'客户'!C{r})", False),  # the sheet named: judged cell by cell
    ('IF(B{r}&"x"="",1,CLIENT_TIER(B{r},C{r}))', True),  # an entity in the XML
])
def test_plain_formulas_judged_in_bulk(tmp_path: Path, odd: str | None, needs: bool) -> None:
    """XlsxWriter's form (``<c r="E7"><f>…</f>``) is judged a distinct formula at a time; the
    verdict is the cell-by-cell one, wherever the odd formula is among 3,000 rows."""
    import xlsxwriter

    from workbook.recalc import _CHUNK, needs_full_recalc

    path = tmp_path / "plain.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("客户")
    for c, h in enumerate(["客户编号", "资产权益", "上年度净佣金", "当前级别", "计算级别"]):
        ws.write_string(0, c, h)
    n = 3000
    for r in range(2, n + 2):
        ws.write_string(r - 1, 0, f"C{r}" + "x" * 2000)  # (pieces of _CHUNK: several)
        ws.write_number(r - 1, 1, 1000.0 * r)
        ws.write_number(r - 1, 2, 10.0)
        f = odd if odd is not None and r == n - 7 else "CLIENT_TIER(B{r},C{r})"
        ws.write_formula(r - 1, 4, "=" + f.format(r=r), None, "")
    wb.close()
    assert path.stat().st_size > 0 and n * 2000 > 1.2 * _CHUNK
    assert needs_full_recalc(path, "客户", {4}) is needs
    assert needs_full_recalc(path, "客户", {2}) is True  # (资产权益 written: every row reads it)
