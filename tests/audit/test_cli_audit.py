"""``client-rating audit``: exit status, output, the report workbook; the audited file is never
modified."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from audit_fixtures import AS_OF, build_branch, copy, row_of, set_cells

from addin.cli import main

ASOF = AS_OF.isoformat()


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_branch(tmp_path_factory.mktemp("cli") / "branch.xlsx", n=30, seed=4)


@pytest.fixture()
def tampered(clean: Path, tmp_path: Path) -> tuple[Path, int]:
    wb = copy(clean, tmp_path / "分行.xlsx")
    r = row_of(wb, "KH100008")
    set_cells(wb, {f"N{r}": "VIP客户", f"O{r + 1}": "VIP客户"})
    return wb, r


def test_clean_workbook_exits_0(clean: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["audit", str(clean), "--as-of", ASOF]) == 0
    out = capsys.readouterr().out
    assert "结论：未发现严重或警告级别的问题" in out and "哈希链完整" in out


def test_findings_exit_1_grouped_by_severity_with_addresses(
        tampered: tuple[Path, int], capsys: pytest.CaptureFixture) -> None:
    wb, r = tampered
    assert main(["audit", str(wb), "--as-of", ASOF]) == 1
    out = capsys.readouterr().out
    assert "[严重] 2 项" in out
    assert f"客户!N{r}" in out and f"客户!O{r + 1}" in out
    assert out.index("[严重]") < out.index("[提示]")
    assert "结论：发现问题" in out


def test_report_has_findings_links_and_summary_and_the_audited_file_is_untouched(
        tampered: tuple[Path, int], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    wb, r = tampered
    before = wb.read_bytes()
    stamp = os.stat(wb).st_mtime_ns
    report = tmp_path / "out" / "审计报告.xlsx"
    assert main(["audit", str(wb), "--as-of", ASOF, "--report", str(report)]) == 1
    assert wb.read_bytes() == before and os.stat(wb).st_mtime_ns == stamp
    assert f"审计报告：{report}" in capsys.readouterr().out
    book = openpyxl.load_workbook(report)
    assert book.sheetnames == ["审计发现", "汇总", "未检查公式"]
    ws = book["审计发现"]
    assert [c.value for c in ws[1]] == ["严重程度", "检查", "位置", "客户编号", "发现值", "应为",
                                        "说明", "规则编号", "规则版本"]
    rows = {row[2].value: row for row in ws.iter_rows(min_row=2)}
    typed = rows[f"客户!N{r}"]
    assert typed[0].value == "严重" and typed[3].value == "KH100008"
    assert (typed[4].value, typed[1].value) == ("VIP客户", "当前级别")
    # an external link to the audited file, relative to the report (Excel writes '\\')
    link = typed[2].hyperlink
    assert (link.target, link.location) == ("..\\分行.xlsx", f"'客户'!N{r}")
    assert rows[f"客户!O{r + 1}"][2].hyperlink.location == f"'客户'!O{r + 1}"
    summary = {row[0].value: row[1].value for row in book["汇总"].iter_rows()}
    assert summary["严重"] == "2" and summary["审计日期"] == ASOF
    assert summary["结论"] == "发现问题"
    assert not list(tmp_path.glob("out/.*.tmp"))


def test_strict_counts_information(clean: Path) -> None:
    assert main(["audit", str(clean), "--as-of", ASOF, "--strict"]) == 1  # rejected rows: 提示


def test_unreadable_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["audit", str(tmp_path / "nope.xlsx")]) == 2
    (tmp_path / "text.xlsx").write_text("not a workbook")
    assert main(["audit", str(tmp_path / "text.xlsx")]) == 2
    other = tmp_path / "other.xlsx"
    wb = xlsxwriter.Workbook(str(other))
    wb.add_worksheet("Sheet1").write(0, 0, "x")
    wb.close()
    assert main(["audit", str(other)]) == 2
    assert main(["audit", str(other), "--as-of", "明天"]) == 2
    err = capsys.readouterr().err
    assert err.count("错误：") == 4 and "Traceback" not in err
    assert "客户" in err


def test_report_onto_the_audited_file_is_refused(clean: Path, tmp_path: Path) -> None:
    wb = copy(clean, tmp_path / "b.xlsx")
    data = wb.read_bytes()
    assert main(["audit", str(wb), "--report", str(wb)]) == 2
    assert wb.read_bytes() == data


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice (soffice) not on PATH")
def test_libreoffice_opens_the_report(tampered: tuple[Path, int], tmp_path: Path) -> None:
    wb, r = tampered
    report = tmp_path / "report.xlsx"
    assert main(["audit", str(wb), "--as-of", ASOF, "--report", str(report)]) == 1
    out = tmp_path / "csv"
    subprocess.run([_soffice(), "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                    "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76",
                    "--outdir", str(out), str(report)],
                   check=True, timeout=180, capture_output=True)
    text = (out / "report.csv").read_text(encoding="utf-8")
    assert f"客户!N{r}" in text and "严重" in text
