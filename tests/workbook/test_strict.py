"""Strict Open XML (issue 15): a workbook saved by Excel as "Strict Open XML Spreadsheet" is read,
re-rated, re-run and audited like its transitional twin; the parts we add are Strict too.

The two source files are the same workbook saved by Excel both ways (tests/data/README.md)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from branch_files import excel_branch

from workbook.audit import SEVERE, WARN, audit_file
from workbook.job import rerate
from workbook.xlsxio import patch_workbook, read_sheet, sheet_names
from workbook.xlsxio.package import read_workbook_info

NOW = dt.datetime(2026, 10, 9, 10, 0)
STRICT_MAIN = "http://purl.oclc.org/ooxml/spreadsheetml/main"
STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"
TRANSITIONAL = "schemas.openxmlformats.org/spreadsheetml/2006/main"

HEADER = ["客户编号", "资产权益", "上年度净佣金", "风险测评得分", "测评日期", "产品风险等级"]
ROWS = [
    ["S1", 300_000.0, 0.0, 20.0, dt.date(2026, 6, 1), "低"],
    ["S2", 20_000_000.0, None, 60.0, dt.date(2026, 6, 1), "中"],
    ["S3", 50_000.0, 4_000.0, 90.0, dt.date(2026, 6, 1), "高"],
    ["S4", 1_500.0, 6_000.0, 45.0, dt.date(2026, 6, 1), None],
]
SOURCES = ["SampleSS.strict.xlsx", "SampleSS.xlsx"]


def _parts(p: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(p) as z:
        return {n: z.read(n) for n in z.namelist()}


@pytest.mark.parametrize("source", SOURCES)
def test_excel_saved_workbook_is_read(tmp_path: Path, source: str) -> None:
    p = excel_branch(tmp_path / "b.xlsx", ROWS, HEADER, source=source)
    assert sheet_names(p) == ["客户", "Sheet Number 2", "Sheet3"]
    d = read_sheet(p, "客户")
    assert d.header == HEADER
    assert d.column("客户编号") == ["S1", "S2", "S3", "S4"]
    assert d.column("测评日期") == [dt.datetime(2026, 6, 1)] * 4
    other = read_sheet(p, "Sheet Number 2")
    assert other.value(7, 4) == 13 and other.value(1, 1) == "Start of 2nd sheet"
    with zipfile.ZipFile(p) as z:
        assert read_workbook_info(z).strict is source.endswith(".strict.xlsx")


@pytest.mark.parametrize("source", SOURCES)
def test_rerate_rerun_and_audit(tmp_path: Path, source: str) -> None:
    p = excel_branch(tmp_path / "b.xlsx", ROWS, HEADER, source=source)
    before = _parts(p)
    res = rerate(p, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    assert res.written and res.exit_code == 0, res.rejections
    assert sheet_names(p)[:3] == ["客户", "Sheet Number 2", "Sheet3"]
    assert {"变更记录", "汇总"} <= set(sheet_names(p))
    d = read_sheet(p, "客户")
    tiers = dict(zip(d.column("客户编号"), d.column("当前级别"), strict=True))
    # brokerage@2009.1: 2000万 -> VIP; 30万 -> 核心
    assert tiers["S2"] == "VIP客户" and tiers["S1"] == "核心客户"
    assert d.column("规则版本") == ["brokerage@2009.1"] * 4
    after = _parts(p)
    # the parts the job does not own are byte for byte the same
    for name in ("xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml", "xl/theme/theme1.xml",
                 "docProps/core.xml", "docProps/app.xml", "xl/sharedStrings.xml"):
        assert after[name] == before[name], name
    strict = source.endswith(".strict.xlsx")
    wb_xml = after["xl/workbook.xml"].decode()
    rels = after["xl/_rels/workbook.xml.rels"].decode()
    new_parts = [n for n in after if n not in before and n.endswith(".xml")]
    assert new_parts
    if strict:
        # nothing transitional was mixed into the Strict package
        assert 'conformance="strict"' in wb_xml and STRICT_MAIN in wb_xml
        assert "schemas.openxmlformats.org/officeDocument" not in wb_xml + rels
        for n in new_parts:
            assert "schemas.openxmlformats.org/drawingml" not in after[n].decode(), n
            assert TRANSITIONAL not in after[n].decode(), n
        assert any(STRICT_MAIN in after[n].decode() for n in new_parts)
    else:
        assert "purl.oclc.org" not in wb_xml + rels + "".join(after[n].decode()
                                                              for n in new_parts)
    # a second run of the same period is a no-op that leaves the file as it is
    again = rerate(p, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    assert not again.written and _parts(p) == after
    res = audit_file(p, as_of=dt.date(2026, 10, 9))
    assert {(f.kind, f.address) for f in res.findings if f.severity in (SEVERE, WARN)} == set()
    assert res.stats.get("clients", 4) == 4


def test_strict_and_transitional_give_the_same_tiers(tmp_path: Path) -> None:
    got = []
    for i, source in enumerate(SOURCES):
        p = excel_branch(tmp_path / f"b{i}.xlsx", ROWS, HEADER, source=source)
        rerate(p, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
        d = read_sheet(p, "客户")
        got.append([[d.value(r, c) for c in range(1, d.n_cols + 1)]
                    for r in range(1, d.n_rows + 1)])
        got.append([[v for v in row] for row in _log_rows(p)])
    assert got[0] == got[2] and got[1] == got[3]


def _log_rows(p: Path) -> list[list]:
    d = read_sheet(p, "变更记录")
    return [[d.value(r, c) for c in range(1, d.n_cols + 1)] for r in range(2, d.n_rows + 1)]


def test_cli_rerate_and_audit_on_strict(tmp_path: Path) -> None:
    import sys

    p = excel_branch(tmp_path / "b.xlsx", ROWS, HEADER)
    cmd = [sys.executable, "-c", "import sys; from addin.cli import main; sys.exit(main())"]
    r = subprocess.run([*cmd, "rerate", str(p), "--period", "2026Q3", "--mode", "quarterly",
                        "--operator", "测试员"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "没有" not in r.stderr
    r = subprocess.run([*cmd, "audit", str(p)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_calamine_reads_what_we_wrote(tmp_path: Path) -> None:
    from python_calamine import CalamineWorkbook

    p = excel_branch(tmp_path / "b.xlsx", ROWS, HEADER)
    rerate(p, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    wb = CalamineWorkbook.from_path(str(p))
    assert wb.sheet_names[:3] == ["客户", "Sheet Number 2", "Sheet3"]
    rows = wb.get_sheet_by_name("客户").to_python()
    ours = read_sheet(p, "客户")
    assert rows[0][: ours.n_cols] == ours.header
    assert [r[0] for r in rows[1:]] == ["S1", "S2", "S3", "S4"]
    tier = ours.header.index("当前级别")
    assert [r[tier] for r in rows[1:]] == ours.column("当前级别")
    log = wb.get_sheet_by_name("变更记录").to_python()
    assert [r[0] for r in log] == ["记录类型", "运行", "变更", "变更", "变更", "变更"]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_opens_the_strict_result(tmp_path: Path) -> None:
    p = excel_branch(tmp_path / "b.xlsx", ROWS, HEADER)
    rerate(p, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
    out = tmp_path / "csv"
    r = subprocess.run(["soffice", "--headless", "--convert-to", "csv:Text - txt - csv "
                        "(StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                        "--outdir", str(out), str(p)], capture_output=True, text=True,
                       timeout=180, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin",
                                        "LANG": "C.UTF-8"})
    assert r.returncode == 0, r.stderr
    clients = (out / "b-客户.csv").read_text("utf-8").splitlines()
    assert clients[0].startswith(",".join(HEADER) + ",当前级别")
    assert [line.split(",")[0] for line in clients[1:]] == ["S1", "S2", "S3", "S4"]
    assert "S2,20000000,,60,06/01/2026,中,VIP客户,首次评级" in clients[2]
    assert (out / "b-变更记录.csv").read_text("utf-8").count("\n变更,") == 4


def test_patch_cells_of_strict_sheet_keeps_strict(tmp_path: Path) -> None:
    p = excel_branch(tmp_path / "b.xlsx", ROWS, HEADER)
    from workbook.xlsxio import SheetEdit

    patch_workbook(p, p, {"客户": SheetEdit(cells={(2, 7): "改"})},
                   add_sheets={"新表": [["a", 1.0]]})
    assert read_sheet(p, "客户").value(2, 7) == "改"
    assert read_sheet(p, "新表").value(1, 2) == 1.0
    parts = _parts(p)
    assert STRICT_REL in parts["xl/workbook.xml"].decode()
    assert f"{STRICT_REL}/worksheet" in parts["xl/_rels/workbook.xml.rels"].decode()
    assert "calcChain" not in parts["xl/_rels/workbook.xml.rels"].decode()
