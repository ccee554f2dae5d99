"""The buttons of client-rating in Excel: which VBA macro each is, which Python it runs.

One table drives the ribbon of ``client_rating.xlam`` (addin/xlam.py), the add-in's VBA module
``ClientRating`` and the small VBA project of a macro-enabled branch workbook
(:func:`workbook_vba_project`, used by workbook/template.py for its 控制台 buttons). A workbook
button calls the add-in by the add-in's file name (``Application.Run
"'client_rating.xlam'!ClientRatingQuarterly"``), never by its own name, so branches may rename
their copies. The captions of the 控制台 buttons are workbook/console.py's (one table for the
sheet and the ribbon); the template gets the macros from here as an argument
(:data:`WORKBOOK_MACROS`), so workbook/ never imports addin/. This module imports nothing but
addin.vba and workbook.console (no xlwings, no Excel).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workbook.console import CAPTIONS

from .vba import Module, build_vba_project, vba_text

#: File name of the add-in; workbook buttons reach its macros through it.
ADDIN_FILENAME = "client_rating.xlam"
#: xlwings' PROJECT_NAME of the add-in: its config sheet is ``client_rating.conf`` and the
#: per-user config file ``%USERPROFILE%\.client_rating\client_rating.conf``.
XLWINGS_PROJECT_NAME = "client_rating"
#: The VBA module of the add-in holding the macros below and the ribbon callback.
ADDIN_MODULE = "ClientRating"
#: Written into the add-in's ClientRatingPing (the self-test reads it back).
ADDIN_BUILD = "build 2"
#: The VBA module of a macro-enabled branch workbook holding its button macros.
WORKBOOK_MODULE = "ClientRatingButtons"


@dataclass(frozen=True)
class Button:
    key: str  # 'quarterly' … as in workbook.console.BUTTONS
    label: str  # caption on the ribbon and on 控制台
    group: str  # ribbon group
    macro: str  # public Sub in the add-in's module ClientRating
    python: str | None  # what RunPython runs; None: 导入函数 (xlwings' UDF import)
    image: str  # imageMso of the ribbon button
    tip: str  # ribbon screen tip


def _rerate(mode: str | None) -> str:
    return f"import addin.excel; addin.excel.rerate_button({mode!r})"


BUTTONS: tuple[Button, ...] = (
    Button("quarterly", CAPTIONS["quarterly"], "重评级", "ClientRatingQuarterly", _rerate("quarterly"),
           "MacroPlay", "按季度重评级当前工作簿（就高不就低），期间与操作员取自控制台"),
    Button("annual", CAPTIONS["annual"], "重评级", "ClientRatingAnnual", _rerate("annual"),
           "MacroPlay", "年度评级：年度级别与当前级别按规则重算（可降级）"),
    Button("new-accounts", CAPTIONS["new-accounts"], "重评级", "ClientRatingNewAccounts", _rerate("new-accounts"),
           "MacroPlay", "只评级开户日期在控制台所填月份内的客户"),
    Button("console", "按控制台设置运行", "重评级", "ClientRatingConsole", _rerate(None),
           "MacroPlay", "按控制台所选的模式、期间、规则运行"),
    Button("audit", CAPTIONS["audit"], "审计", "ClientRatingAudit",
           "import addin.excel; addin.excel.audit_button()",
           "FileDocumentInspect", "审计：重算公式、查找被改写的公式与级别、核对变更记录哈希链与制度要求，结果写入“审计”工作表"),
    Button("import-functions", "导入函数", "函数", "ClientRatingImportFunctions", None,
           "FunctionWizard", "CLIENT_TIER 等函数已随加载项提供，无需导入。仅当公司在“UDF Modules”中"
                             "加入了自己的函数模块时使用：重新生成函数并保存加载项；需信任对 VBA 工程对象模型的访问"),
    Button("selftest", "自检", "函数", "ClientRatingSelftest",
           "import addin.selftest; addin.selftest.selftest_button()",
           "AcceptInvitation", "检查本机安装：加载项、函数与 Python 结果是否一致、按钮、保存后重新打开、"
                               "整列计算耗时；报告写入“自检”工作表和一个 JSON 文件，可发给 IT"),
)
BY_KEY = {b.key: b for b in BUTTONS}

_NO_WORKBOOK = "请先打开营业部工作簿，再点击客户分级按钮。"
_SAVE_FAILED = ("函数已导入，但加载项未能保存，Excel 重启后新导入的函数会丢失。请确认加载项文件未被占用、"
                "所在文件夹可写，然后再点一次“导入函数”。原因：")
_NO_ADDIN = ("未能运行客户分级加载项 client_rating.xlam 的宏。请先运行 client-rating addin install，"
             "按提示启用宏、重启 Excel，确认功能区有“客户分级”选项卡。")


def _text_function(name: str, text: str) -> list[str]:
    """A Private Function returning ``text``, built in short lines (VBA lines stop at 1023
    characters and ChrW(...) takes 12 per character)."""
    lines = [f"Private Function {name}() As String", "    Dim s As String"]
    lines += [f"    s = s & {vba_text(text[k:k + 16])}" for k in range(0, len(text), 16)]
    return [*lines, f"    {name} = s", "End Function"]


def ribbon_id(button: Button) -> str:
    """The id of a button in customUI.xml (ASCII, unique)."""
    return "cr" + button.macro.removeprefix("ClientRating")


def addin_module_source() -> str:
    """Body of the add-in's VBA module ``ClientRating`` (ribbon callback + one Sub a button)."""
    cases = "\n".join(f'        Case "{ribbon_id(b)}": {b.macro}' for b in BUTTONS)
    lines = [
        "' client-rating: ribbon callback (customUI/customUI.xml) and one macro per button.",
        "' Written by addin/buttons.py - change it there, not here.",
        "Option Explicit",
        "",
        "Public Sub OnRibbonAction(control As IRibbonControl)",
        "    Select Case control.ID",
        cases,
        "    End Select",
        "End Sub",
        "",
        *_text_function("NoWorkbookText", _NO_WORKBOOK),
        "",
        *_text_function("SaveFailedText", _SAVE_FAILED),
        "",
        "' What the self-test (client-rating addin selftest) asks first: that this add-in is",
        "' loaded, its VBA runs and which version of the build it is.",
        "Public Function ClientRatingPing() As String",
        f'    ClientRatingPing = "client-rating " & ThisWorkbook.Name & " {ADDIN_BUILD}"',
        "End Function",
        "",
        "Private Function HasWorkbook() As Boolean",
        "    HasWorkbook = Not ActiveWorkbook Is Nothing",
        "    If Not HasWorkbook Then MsgBox NoWorkbookText(), vbExclamation, \"client-rating\"",
        "End Function",
    ]
    for b in BUTTONS:
        lines += ["", f"Public Sub {b.macro}()", f"    ' {b.key}"]
        if b.python is None:
            lines += [
                "    ' only for a firm's own functions: the catalogue's wrappers are built into",
                "    ' this add-in (module xlwings_udfs). xlwings imports the modules of config",
                "    ' 'UDF Modules' again, replacing xlwings_udfs (needs trust in the VBA project)",
                "    ImportPythonUDFsToAddin",
                "    ' keep the imported functions across Excel restarts; a failed save is said",
                "    On Error GoTo save_failed",
                "    ThisWorkbook.Save",
                "    Exit Sub",
                "save_failed:",
                '    MsgBox SaveFailedText() & Err.Description, vbCritical, "client-rating"',
            ]
        else:
            if b.key != "selftest":  # (the self-test makes its own scratch workbooks)
                lines.append("    If Not HasWorkbook() Then Exit Sub")
            lines.append(f'    RunPython "{b.python}"')
        lines.append("End Sub")
    return "\n".join(lines) + "\n"


def workbook_macro(key: str) -> str:
    """Name of the Sub in a branch workbook that the 控制台 button ``key`` is bound to."""
    b = BY_KEY[key]
    return b.macro.removeprefix("ClientRating") + "Button"


def workbook_module_source(keys: Sequence[str]) -> str:
    """Body of a branch workbook's module: one Sub per button, each calling the add-in."""
    lines = [
        f"' client-rating: the buttons on the control sheet run macros of the add-in {ADDIN_FILENAME}",
        "' (installed by: client-rating addin install). Nothing here depends on this file's name.",
        "' Written by addin/buttons.py - change it there, not here.",
        "Option Explicit",
        "",
        f'Private Const ADDIN_FILE As String = "{ADDIN_FILENAME}"',
        "",
        *_text_function("NoAddinText", _NO_ADDIN),
        "",
        "Private Sub CallAddin(ByVal macroName As String)",
        "    On Error GoTo failed",
        "    Application.Run \"'\" & ADDIN_FILE & \"'!\" & macroName",
        "    Exit Sub",
        "failed:",
        '    MsgBox NoAddinText() & vbLf & vbLf & Err.Description, vbExclamation, "client-rating"',
        "End Sub",
    ]
    for key in keys:
        b = BY_KEY[key]
        lines += ["", f"Public Sub {workbook_macro(key)}()", f'    CallAddin "{b.macro}"', "End Sub"]
    return "\n".join(lines) + "\n"


def workbook_vba_project(sheet_code_names: Sequence[str], keys: Sequence[str], *,
                         workbook_code_name: str = "ThisWorkbook") -> bytes:
    """``vbaProject.bin`` for a branch workbook: ThisWorkbook, one document module per sheet
    (code names as set with XlsxWriter's ``set_vba_name``) and the button module."""
    modules = [Module.document(workbook_code_name, workbook=True),
               *(Module.document(n) for n in sheet_code_names),
               Module.standard(WORKBOOK_MODULE, workbook_module_source(keys))]
    return build_vba_project(modules, name="ClientRatingWorkbook")


class WorkbookMacros:
    """The add-in's side of a macro-enabled branch workbook's buttons
    (:class:`workbook.console.ButtonMacros`, passed to ``workbook.template.new_workbook``)."""

    def macro(self, key: str) -> str:
        return workbook_macro(key)

    def vba_project(self, sheet_code_names: Sequence[str], keys: Sequence[str]) -> bytes:
        return workbook_vba_project(sheet_code_names, keys)


WORKBOOK_MACROS = WorkbookMacros()
