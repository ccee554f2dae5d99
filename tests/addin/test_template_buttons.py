"""Buttons of the branch workbook template: a .xlsm gets form buttons and a VBA project whose
macros call the add-in by the add-in's file name; a .xlsx stays macro-free."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import warnings
import zipfile
from pathlib import Path

import pytest

from addin import buttons
from workbook.template import BUTTONS, new_workbook

with warnings.catch_warnings():  # oletools 0.60 uses pyparsing names deprecated in 3.x
    warnings.simplefilter("ignore")
    from oletools.olevba import VBA_Parser

SHEETS = ["控制台", "客户", "变更记录", "汇总", "规则"]


@pytest.fixture(scope="module")
def xlsm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_workbook(tmp_path_factory.mktemp("tpl") / "营业部A.xlsm", macros=buttons.WORKBOOK_MACROS,
                        clients=[{"客户编号": "C1", "资产权益": 300_000, "当前级别": "普通客户"}])


def _modules(path: Path) -> dict[str, str]:
    parser = VBA_Parser(str(path))
    return {name.rsplit(".", 1)[0]: code for _, _, name, code in parser.extract_macros()}


def test_buttons_list() -> None:
    assert BUTTONS == [("季度重评级", "quarterly"), ("年度评级", "annual"),
                       ("新开户评级", "new-accounts"), ("审计检查", "audit")]
    for caption, key in BUTTONS:
        assert buttons.BY_KEY[key].label == caption  # ribbon and sheet say the same


def test_xlsm_has_buttons_bound_to_its_macros(xlsm: Path) -> None:
    with zipfile.ZipFile(xlsm) as z:
        names = z.namelist()
        assert "xl/vbaProject.bin" in names
        workbook = z.read("xl/workbook.xml").decode()
        vml = z.read("xl/drawings/vmlDrawing1.vml").decode()
        sheet1 = z.read("xl/worksheets/sheet1.xml").decode()
        codes = [re.search(r'<sheetPr[^>]*codeName="(\w+)"', z.read(
            f"xl/worksheets/sheet{k}.xml").decode()).group(1) for k in range(1, 6)]
    assert '<workbookPr codeName="ThisWorkbook"' in workbook
    assert "<legacyDrawing" in sheet1  # the buttons are on 控制台
    assert codes == [f"Sheet{k}" for k in range(1, 6)]
    macros = re.findall(r"<x:FmlaMacro>\[0\]!(\w+)</x:FmlaMacro>", vml)
    assert macros == [buttons.workbook_macro(key) for _, key in BUTTONS]
    for caption, _ in BUTTONS:
        assert f">{caption}</font>" in vml

    mods = _modules(xlsm)
    assert set(mods) == {"ThisWorkbook", *codes, buttons.WORKBOOK_MODULE}
    source = mods[buttons.WORKBOOK_MODULE]
    addin_source = buttons.addin_module_source()
    for (_, key), macro in zip(BUTTONS, macros, strict=True):
        body = re.search(rf"Public Sub {macro}\(\)\r\n(.*?)End Sub", source, re.S).group(1)
        target = buttons.BY_KEY[key].macro
        assert body.strip() == f'CallAddin "{target}"'
        assert f"Public Sub {target}()" in addin_source  # the add-in has that macro
    assert "Application.Run \"'\" & ADDIN_FILE & \"'!\" & macroName" in source
    assert 'Private Const ADDIN_FILE As String = "client_rating.xlam"' in source
    # nothing depends on the workbook's own name
    assert "ThisWorkbook.Name" not in source and "营业部" not in source
    assert "ActiveWorkbook.Name" not in source


def test_xlsx_stays_macro_free(tmp_path: Path) -> None:
    path = new_workbook(tmp_path / "plain.xlsx")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        strings = z.read("xl/sharedStrings.xml").decode()
        types = z.read("[Content_Types].xml").decode()
    assert not any("vba" in n.lower() or n.endswith(".vml") for n in names)
    assert "macroEnabled" not in types
    assert "本文件不含宏，请用功能区“客户分级”选项卡的“季度重评级”" in strings


def test_rerating_keeps_macros_and_buttons(xlsm: Path, tmp_path: Path) -> None:
    from workbook.job import rerate

    copy = tmp_path / "copy.xlsm"
    shutil.copy(xlsm, copy)
    before = zipfile.ZipFile(copy)
    kept = {n: before.read(n) for n in ("xl/vbaProject.bin", "xl/drawings/vmlDrawing1.vml")}
    before.close()
    rerate(copy, period="2026Q3", mode="quarterly", operator="t",
           now=dt.datetime(2026, 10, 9, 10, 0))
    with zipfile.ZipFile(copy) as z:
        for name, data in kept.items():
            assert z.read(name) == data, name
        assert "macroEnabled" in z.read("[Content_Types].xml").decode()


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice (soffice) not on PATH")
def test_libreoffice_opens_xlsm_and_binds_buttons(xlsm: Path, tmp_path: Path) -> None:
    out = tmp_path / "ods"
    subprocess.run([_soffice(), f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                    "--headless", "--convert-to", "ods", "--outdir", str(out), str(xlsm)],
                   check=True, timeout=180, capture_output=True)
    ods = out / (xlsm.stem + ".ods")
    with zipfile.ZipFile(ods) as z:
        basic = {n.split("/")[-1] for n in z.namelist() if n.startswith("Basic/ClientRatingWorkbook/")}
        module = z.read(f"Basic/ClientRatingWorkbook/{buttons.WORKBOOK_MODULE}.xml").decode()
        content = z.read("content.xml").decode()
    assert {f"{buttons.WORKBOOK_MODULE}.xml", "ThisWorkbook.xml", "Sheet1.xml"} <= basic
    assert "Private Sub CallAddin(ByVal macroName As String)" in module
    labels = re.findall(r'<form:button [^>]*form:label="([^"]+)"', content)
    assert labels == [caption for caption, _ in BUTTONS]
    bound = re.findall(r"vnd\.sun\.star\.script:ClientRatingWorkbook\.ClientRatingButtons\.(\w+)\?",
                       content)
    assert bound == [buttons.workbook_macro(key) for _, key in BUTTONS]


def test_the_console_command_makes_a_xlsm_with_the_add_in_macros(tmp_path: Path) -> None:
    from addin.cli import main

    path = tmp_path / "营业部B.xlsm"
    assert main(["new-workbook", str(path)]) == 0
    assert set(_modules(path)) >= {buttons.WORKBOOK_MODULE}


def test_a_xlsm_without_the_add_in_macros_is_refused_not_written(tmp_path: Path) -> None:
    # workbook/ does not import addin/: the macros come as an argument, and a .xlsm needs them
    with pytest.raises(ValueError, match="macros"):
        new_workbook(tmp_path / "x.xlsm")
    assert not (tmp_path / "x.xlsm").exists()
