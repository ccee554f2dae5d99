"""Check 1 in detail: which formulas are recomputed, which are listed as not checked and why;
ranges and spill areas; other sheets; literals; omitted arguments; date-dependent functions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import xlsxwriter
from audit_fixtures import set_value_xml

import udfs
from workbook.audit import (
    INFO,
    SEVERE,
    Complex,
    Ref,
    audit_book,
    audit_file,
    calls_ours,
    parse,
    read_workbook,
    relative,
    same,
)
from workbook.grid import sheet_from_grid
from workbook.xlsxio import CellError

AS_OF = dt.date.today()


def test_relative_form_is_the_same_down_a_column() -> None:
    a = relative("CLIENT_TIER(F7,G7)", 7, 15)
    b = relative("CLIENT_TIER(F8,G8)", 8, 15)
    assert a == b
    assert a[1] == (Ref(None, 0, False, -9, False), Ref(None, 0, False, -8, False))
    assert relative("CLIENT_TIER(F9,G8)", 9, 15) != a
    skel, refs = relative("CLIENT_TIER('客 户'!$F$2:$F$9,客户!G2,\"A1\")", 3, 1)
    assert '"A1"' in skel and len(refs) == 2
    assert refs[0] == Ref("客 户", 2, True, 6, True, 9, True, 6, True)
    assert refs[1].sheet == "客户" and refs[1].at(3, 1) == (2, 7, 2, 7)
    assert relative("LOG10(A1)", 1, 1)[1] == (Ref(None, 0, False, 0, False),)


@pytest.mark.parametrize(("formula", "name", "args"), [
    ("CLIENT_TIER(F2,G2)", "CLIENT_TIER", ["ref", "ref"]),
    ("client_tier( F2 , G2 )", "CLIENT_TIER", ["ref", "ref"]),
    ("_xludf.CLIENT_TIER(F2,G2)", "CLIENT_TIER", ["ref", "ref"]),
    ('CLIENT_TIER(250000,"",\"private-fund\")', "CLIENT_TIER", ["lit", "lit", "lit"]),
    ("CLIENT_TIER(-1.5E3,)", "CLIENT_TIER", ["lit", "missing"]),
    ("SERVICE_PACKAGE(N2,E2,,\"2026-06-30\")", "SERVICE_PACKAGE",
     ["ref", "ref", "missing", "lit"]),
    ("RULES_VERSION()", "RULES_VERSION", []),
    ("SUITABLE(T2,TRUE)", "SUITABLE", ["ref", "lit"]),
])
def test_simple_calls_parse(formula: str, name: str, args: list[str]) -> None:
    call = parse(*relative(formula, 2, 15))
    assert call.name == name and [k for k, _ in call.args] == args


@pytest.mark.parametrize(("formula", "why"), [
    ('IF(F2="","",CLIENT_TIER(F2,G2))', "最外层是 IF"),
    ("CLIENT_TIER(F2*2,G2)", "含运算符"),
    ('CLIENT_TIER(F2,G2)&""', "不是单个函数调用"),
    ("CLIENT_TIER(SUM(F2),G2)", "嵌套函数"),
    ("CLIENT_TIER(资产,G2)", "名称"),
    ("CLIENT_TIER({1,2},G2)", "数组常量"),
])
def test_complex_formulas_are_refused_with_a_reason(formula: str, why: str) -> None:
    assert calls_ours(formula)
    with pytest.raises(Complex, match=why):
        parse(*relative(formula, 2, 15))


def test_other_formulas_are_not_ours() -> None:
    assert not calls_ours("SUM(A1:A3)") and not calls_ours("MY_CLIENT_TIER(A1)")
    assert calls_ours("1+client_tier(A1,B1)")


def test_value_comparison_follows_what_excel_caches() -> None:
    assert same(1.0, 1) and same("", None) and same(CellError("#N/A"), "#N/A")
    assert not same(True, 1.0) and not same("1", 1.0) and not same("核心客户", "核心")


def _book(path: Path) -> Path:
    """客户 with inputs, and a sheet 分析 with every kind of formula, cached as Excel would."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                         "strings_to_numbers": False})
    ws = wb.add_worksheet("客户")
    for c, h in enumerate(["客户编号", "资产权益", "上年度净佣金", "风险测评得分", "测评日期",
                           "当前级别"]):
        ws.write_string(0, c, h)
    data = [("K1", 300_000.0, 0.0, 30.0, dt.datetime(2024, 1, 1)),
            ("K2", 120_000.0, 6_000.0, 60.0, dt.datetime(2026, 1, 1)),
            ("K3", 20_000_000.0, None, 90.0, dt.datetime(2026, 6, 1))]
    for r, (cid, a, c, s, d) in enumerate(data, start=1):
        ws.write_string(r, 0, cid)
        ws.write_number(r, 1, a)
        if c is not None:
            ws.write_number(r, 2, c)
        ws.write_number(r, 3, s)
        ws.write_datetime(r, 4, d, wb.add_format({"num_format": "yyyy-mm-dd"}))
    x = wb.add_worksheet("分析")
    t = udfs.CLIENT_TIER
    cells = [
        ("A1", "CLIENT_TIER(客户!B2,客户!C2)", t(300_000.0, 0.0)),
        ("A2", "client_tier(客户!B3,客户!C3)", t(120_000.0, 6_000.0)),
        ("A3", 'CLIENT_TIER(250000,"")', "核心客户"),
        ("A4", "CLIENT_TIER(客户!B4,)", "VIP客户"),
        ("A5", 'IF(客户!B2="","",CLIENT_TIER(客户!B2,客户!C2))', "核心客户"),
        ("A6", "CLIENT_TIER(客户!B2*2,客户!C2)", "核心客户"),
        ("A7", "SUM(1,2)", 3),
        ("A8", "RULES_VERSION()", udfs.RULES_VERSION()),
        ("A9", "REVIEW_DUE(客户!E2)", "风险评估日 2024-01-01，应于 2026-01-01 前重新评估，尚余 9 天"),
        ("A10", "CLIENT_TIER(缺失!B2,0)", "核心客户"),
        ("A11", 'SUITABLE("稳健型","高")', False),
        ("A12", "VISITS_PER_YEAR(\"VIP\",\"private-fund\")", 2),
        ("A13", "TIER_EXPLAIN(客户!B3,客户!C3)", udfs.TIER_EXPLAIN(120_000.0, 6_000.0)),
        ("A14", "CLIENT_TIER(客户!B2,客户!C2)", "VIP客户"),  # an edited cache
    ]
    for addr, f, v in cells:
        x.write_formula(addr, "=" + f, None, v)
    x.write_array_formula("C1:C3", "{=CLIENT_TIER(客户!B2:B4,客户!C2:C4)}", None, "核心客户")
    wb.close()
    # the spill values Excel stores below the anchor (XlsxWriter writes 0 there)
    set_value_xml(path, "C2", t(120_000.0, 6_000.0), sheet="分析")
    set_value_xml(path, "C3", "普通客户", sheet="分析")  # wrong: 20,000,000 is VIP
    return path


def test_formula_cells_recomputed_or_listed(tmp_path: Path) -> None:
    res = audit_file(_book(tmp_path / "f.xlsx"), as_of=AS_OF)
    by = {(f.kind, f.address): f for f in res.findings}
    nc = {n.address: n.reason for n in res.not_checked}
    assert set(nc) == {"分析!A5", "分析!A6", "分析!A10"}
    assert "最外层是 IF" in nc["分析!A5"] and "不存在" in nc["分析!A10"]
    assert res.stats["ours"] == 14 and res.stats["other_formulas"] == 1
    assert res.stats["checked"] == 11 and res.stats["spill_cells"] == 2
    f = by[("formula_mismatch", "分析!A14")]
    assert f.severity == SEVERE and (f.found, f.supported) == ("VIP客户", "核心客户")
    assert f.rule == "BRK-CORE-1" and f.rulebook == "brokerage@2009.1"
    assert udfs.TIER_EXPLAIN(300_000.0, 0.0) in f.explanation
    spill = by[("formula_mismatch", "分析!C3")]
    assert spill.supported == "VIP客户" and "溢出区域" in spill.explanation
    dated = by[("formula_date_dependent", "分析!A9")]
    assert dated.severity == INFO
    mismatches = {a for k, a in by if k.startswith("formula_") and by[(k, a)].severity != INFO}
    assert mismatches == {"分析!A14", "分析!C3"}


def test_the_excel_front_end_gives_the_same_audit(tmp_path: Path) -> None:
    """sheet_from_grid over what xlwings reads (values with errors as text, .formula) gives
    the same result as the file reader."""
    from audit_fixtures import build_branch, set_cells

    path = build_branch(tmp_path / "b.xlsx", n=30, seed=9)
    set_cells(path, {"N5": "VIP客户", "O6": "普通客户"})
    sheets = read_workbook(path)
    grids = {}
    for name, d in sheets.items():
        values = [[d.value(r, c) for c in range(1, d.n_cols + 1)] for r in range(1, d.n_rows + 1)]
        values = [[v.text if isinstance(v, CellError) else v for v in row] for row in values]
        formulas = [["=" + d.formulas[(r, c)] if (r, c) in d.formulas else values[r - 1][c - 1]
                     for c in range(1, d.n_cols + 1)] for r in range(1, d.n_rows + 1)]
        grids[name] = sheet_from_grid(name, values, formulas)
    a = audit_book(sheets, as_of=dt.date(2027, 1, 10))
    b = audit_book(grids, as_of=dt.date(2027, 1, 10))
    assert [(f.kind, f.address, f.severity) for f in a.findings] == \
        [(f.kind, f.address, f.severity) for f in b.findings]
    assert {(f.kind, f.address) for f in a.findings if f.severity == SEVERE} >= {
        ("tier_typed_over", "客户!N5"), ("overwritten_formula", "客户!O6")}


def test_spill_cells_reported_with_the_anchors_formula(tmp_path: Path) -> None:
    """The open workbook may report the anchor's formula for every cell of a spill area: those
    cells are compared with the array's values, not recomputed as formulas of their own."""
    sheets = read_workbook(_book(tmp_path / "f.xlsx"))
    x = sheets["分析"]
    f = x.formulas[(1, 3)]
    x.formulas[(2, 3)] = x.formulas[(3, 3)] = f
    res = audit_book(sheets, as_of=AS_OF)
    spill = [g for g in res.findings if g.address.startswith("分析!C")]
    assert [(g.kind, g.address, g.supported) for g in spill] == [
        ("formula_mismatch", "分析!C3", "VIP客户")]
    assert res.stats["ours"] == 16 and res.stats["checked"] == 13


def test_formulas_reading_job_written_cells_after_a_headless_run(tmp_path: Path) -> None:
    """A run outside Excel writes 当前级别 but cannot recalculate formulas that read it; the file
    says "recalculate on open". Such a stale cache is a 警告 until Excel has saved the file."""
    import re
    import zipfile

    from workbook.job import rerate

    p = tmp_path / "v.xlsx"
    wb = xlsxwriter.Workbook(str(p), {"strings_to_formulas": False})
    ws = wb.add_worksheet("客户")
    for c, h in enumerate(["客户编号", "资产权益", "当前级别", "年拜访", "上年度净佣金"]):
        ws.write_string(0, c, h)
    ws.write_row(1, 0, ["P1", 300_000.0, "普通客户"])
    ws.write_number(1, 4, 0.0)
    ws.write_formula(1, 3, "=VISITS_PER_YEAR(C2)", None, udfs.VISITS_PER_YEAR("普通客户"))
    wb.close()
    rerate(p, period="2026Q3", mode="quarterly", operator="t", now=dt.datetime(2026, 10, 9))
    res = audit_file(p, as_of=AS_OF)
    f = next(f for f in res.findings if f.address == "客户!D2")
    assert (f.kind, f.severity, f.found, f.supported) == ("formula_stale_after_run", "警告", 0, 1)
    # once Excel has saved the file (no recalculation pending), the same cache is 严重
    saved = tmp_path / "saved.xlsx"
    with zipfile.ZipFile(p) as src, zipfile.ZipFile(saved, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/workbook.xml":
                data = re.sub(rb'\s*fullCalcOnLoad="1"', b"", data)
            dst.writestr(info, data)
    f = next(f for f in audit_file(saved, as_of=AS_OF).findings if f.address == "客户!D2")
    assert (f.kind, f.severity) == ("formula_mismatch", SEVERE)
