"""The Excel add-in ``client_rating.xlam``: ribbon tab 客户分级 and the VBA behind it.

Built like xlwings' own ``quickstart_addin_ribbon.xlam`` (``xlwings quickstart NAME --addin
--ribbon``): a macro-enabled add-in workbook (content type ``addin.macroEnabled.main``) with
``customUI/customUI.xml`` (related from ``_rels/.rels``), one hidden config sheet and a VBA
project holding exactly the xlwings modules that template holds — ``xlwings`` (the package's
``xlwings_custom_addin.bas``) and ``Dictionary`` (``addin/Dictionary.cls``) — plus ThisWorkbook,
the config sheet's module and our module ``ClientRating`` (addin/buttons.py) instead of the
template's ``RibbonMyAddin``.

xlwings reads a custom add-in's settings from a sheet named ``PROJECT_NAME & ".conf"`` in the
add-in (``GetConfig`` in the .bas: the active workbook's sheet first, then the add-in's, then
``%USERPROFILE%\\.client_rating\\client_rating.conf``). We set PROJECT_NAME to
``client_rating`` and write that sheet: ``UDF Modules`` = ``udfs`` and the interpreter.

The workbook parts are written by XlsxWriter (as an .xlsm with our vbaProject.bin and code
names), then the package is turned into an add-in: content type, customUI part, relationship.
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import quoteattr

from .buttons import (
    ADDIN_FILENAME,
    ADDIN_MODULE,
    BUTTONS,
    XLWINGS_PROJECT_NAME,
    addin_module_source,
    ribbon_id,
)
from .udf_wrappers import REGISTER_MODULE, macro_options_source, wrapper_source
from .vba import Module, build_vba_project

CONF_SHEET = XLWINGS_PROJECT_NAME + ".conf"
CONF_SHEET_CODE_NAME = "Sheet1"
VBA_PROJECT_NAME = "ClientRatingAddin"  # must differ from every module name
RIBBON_TAB = "客户分级"
GROUPS = ("重评级", "审计", "函数")  # 函数: 导入函数 (a firm's own functions) and 自检
#: The xlwings VBA files of quickstart_addin_ribbon.xlam, in the installed xlwings package.
XLWINGS_VBA_FILES = ("xlwings_custom_addin.bas", "addin/Dictionary.cls")

_CT_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_CT_XLAM = "application/vnd.ms-excel.addin.macroEnabled.main+xml"
_REL_UI = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"


class AddinError(RuntimeError):
    """The add-in cannot be built (xlwings files missing or of another version...)."""


def xlwings_dir() -> Path:
    import xlwings

    return Path(xlwings.__file__).parent


def xlwings_modules() -> list[Module]:
    """The xlwings VBA modules a custom add-in needs, from the installed xlwings package.

    ``PROJECT_NAME`` becomes ``client_rating``. Raises :class:`AddinError` when the files are
    missing or their version is not the installed xlwings' (the .bas names the xlwings DLL of
    its own version, which must be the one beside the interpreter).
    """
    import xlwings

    base = xlwings_dir()
    texts = {}
    for rel in XLWINGS_VBA_FILES:
        try:
            texts[rel] = (base / rel).read_text(encoding="cp1252")
        except OSError as e:
            raise AddinError(f"找不到 xlwings 的 VBA 文件 {base / rel}：{e.strerror}") from None
    bas = texts["xlwings_custom_addin.bas"]
    m = re.search(r'^Public Const XLWINGS_VERSION As String = "([^"]+)"', bas, re.M)
    if not m or m.group(1) != xlwings.__version__:
        raise AddinError(f"xlwings_custom_addin.bas 的版本（{m.group(1) if m else '未知'}）"
                         f"与已安装的 xlwings {xlwings.__version__} 不一致")
    const = 'Public Const PROJECT_NAME As String = "myaddin"'
    if bas.count(const) != 1:
        raise AddinError("xlwings_custom_addin.bas 中找不到 PROJECT_NAME 常量，xlwings 可能已改版")
    bas = bas.replace(const, f'Public Const PROJECT_NAME As String = "{XLWINGS_PROJECT_NAME}"')
    return [Module.from_export(bas), Module.from_export(texts["addin/Dictionary.cls"])]


EVENTS_CLASS = "ClientRatingEvents"  # Application events: a workbook opens
LINKS_MODULE = "ClientRatingLinks"  # repoint links to another user's client_rating.xlam

#: ThisWorkbook of the add-in: when it opens, the functions get their Function Wizard texts
#: (MacroOptions), links of the open workbooks are repointed, Application events are hooked.
THIS_WORKBOOK_SOURCE = f"""Option Explicit

' client-rating: written by addin/xlam.py - change it there, not here.
Private appEvents As {EVENTS_CLASS}

Private Sub Workbook_Open()
    On Error Resume Next
    {REGISTER_MODULE}.RegisterFunctions
    Set appEvents = New {EVENTS_CLASS}
    Set appEvents.App = Application
    Dim wb As Workbook
    For Each wb In Application.Workbooks
        {LINKS_MODULE}.RepointLinks wb
    Next wb
End Sub
"""

EVENTS_SOURCE = f"""Option Explicit

' client-rating: Application events of the add-in (hooked in ThisWorkbook.Workbook_Open).
Public WithEvents App As Application

Private Sub App_WorkbookOpen(ByVal Wb As Workbook)
    {LINKS_MODULE}.RepointLinks Wb
End Sub
"""

LINKS_SOURCE = f"""' client-rating: a formula calling a function of this add-in is saved by Excel with the
' add-in's path ('C:\\Users\\<user>\\...\\client_rating.xlam'!CLIENT_TIER(...)). On another PC that
' path is another user's: repoint every such link at this add-in, silently.
' Written by addin/xlam.py - change it there, not here.
Option Explicit

Private Const ADDIN_FILE As String = "{ADDIN_FILENAME}"

Public Function RepointLinks(ByVal Wb As Workbook) As Long
    ' returns how many links were repointed
    Dim links As Variant, k As Long, n As Long, wasSaved As Boolean
    On Error GoTo done
    If Wb Is Nothing Then Exit Function
    If Wb Is ThisWorkbook Or Wb.IsAddin Then Exit Function
    links = Wb.LinkSources(xlExcelLinks)
    If IsEmpty(links) Then Exit Function
    wasSaved = Wb.Saved
    For k = LBound(links) To UBound(links)
        If IsOurAddin(CStr(links(k))) Then
            If StrComp(CStr(links(k)), ThisWorkbook.FullName, vbTextCompare) <> 0 Then
                Wb.ChangeLink Name:=CStr(links(k)), NewName:=ThisWorkbook.FullName, _
                    Type:=xlExcelLinks
                n = n + 1
            End If
        End If
    Next k
    ' only the path of our own add-in changed: do not ask "save changes?" for it
    If n > 0 And wasSaved Then Wb.Saved = True
done:
    RepointLinks = n
End Function

Public Function IsOurAddin(ByVal path As String) As Boolean
    Dim p As Long, fileName As String
    p = InStrRev(path, "\\")
    If InStrRev(path, "/") > p Then p = InStrRev(path, "/")
    fileName = Mid$(path, p + 1)
    IsOurAddin = StrComp(fileName, ADDIN_FILE, vbTextCompare) = 0 _
        Or StrComp(fileName, ThisWorkbook.Name, vbTextCompare) = 0
End Function
"""


def addin_modules() -> list[Module]:
    """All VBA modules of the add-in, in project order: the document modules, xlwings' own,
    the functions' wrappers (xlwings' generate_vba_wrapper, module ``xlwings_udfs``) and their
    Function Wizard texts, the link repointing, and the ribbon's macros."""
    return [Module.document("ThisWorkbook", THIS_WORKBOOK_SOURCE, workbook=True),
            Module.document(CONF_SHEET_CODE_NAME),
            *xlwings_modules(),
            Module.from_export(wrapper_source()),
            Module.standard(REGISTER_MODULE, macro_options_source()),
            Module.class_module(EVENTS_CLASS, EVENTS_SOURCE),
            Module.standard(LINKS_MODULE, LINKS_SOURCE),
            Module.standard(ADDIN_MODULE, addin_module_source())]


def custom_ui_xml() -> str:
    """customUI/customUI.xml: tab 客户分级 with groups 重评级, 审计, 函数."""
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
           '<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui">',
           "  <ribbon>", "    <tabs>",
           f'      <tab id="clientRatingTab" label={quoteattr(RIBBON_TAB)}>']
    for k, group in enumerate(GROUPS):
        out.append(f'        <group id="crGroup{k + 1}" label={quoteattr(group)}>')
        for b in BUTTONS:
            if b.group == group:
                out.append(
                    f'          <button id="{ribbon_id(b)}" label={quoteattr(b.label)} size="large"'
                    f' imageMso="{b.image}" screentip={quoteattr(b.label)}'
                    f' supertip={quoteattr(b.tip)} onAction="{ADDIN_MODULE}.OnRibbonAction"/>')
        out.append("        </group>")
    out += ["      </tab>", "    </tabs>", "  </ribbon>", "</customUI>"]
    return "\n".join(out) + "\n"


def addin_config(*, platform: str | None = None, executable: str | None = None,
                 udf_modules: str = "udfs") -> dict[str, str]:
    """The xlwings settings for the add-in's ``client_rating.conf`` sheet.

    On Windows ``Interpreter_Win`` is pythonw.exe beside ``executable`` when it exists (no
    console window), else ``executable``; on macOS ``Interpreter_Mac``. On other systems no
    interpreter is written (Excel does not run there; set it on the Windows machine). When the
    package is not installed in site-packages (a source checkout), its folder goes to PYTHONPATH.
    """
    platform = platform or sys.platform
    executable = executable or sys.executable
    config: dict[str, str] = {}
    if platform.startswith("win"):
        exe = Path(executable)
        pythonw = exe.with_name("pythonw.exe")
        config["Interpreter_Win"] = str(pythonw if pythonw.is_file() else exe)
    elif platform == "darwin":
        config["Interpreter_Mac"] = executable
    config["UDF Modules"] = udf_modules
    root = Path(__file__).resolve().parent.parent
    if (platform.startswith("win") or platform == "darwin") and \
            root.name not in ("site-packages", "dist-packages"):
        config["PYTHONPATH"] = str(root)
    return config


def _to_addin(xlsm: bytes, ui: str) -> bytes:
    """Turn XlsxWriter's .xlsm package into an add-in with a ribbon."""
    src = zipfile.ZipFile(io.BytesIO(xlsm))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                text = data.decode("utf-8")
                if _CT_XLSM not in text:
                    raise AddinError("XlsxWriter 的输出中没有启用宏的工作簿内容类型")
                data = text.replace(_CT_XLSM, _CT_XLAM).encode("utf-8")
            elif info.filename == "_rels/.rels":
                text = data.decode("utf-8")
                rel = (f'<Relationship Id="rIdCustomUI" Type="{_REL_UI}" '
                       'Target="customUI/customUI.xml"/>')
                data = text.replace("</Relationships>", rel + "</Relationships>").encode("utf-8")
            dst.writestr(info, data)
        dst.writestr("customUI/customUI.xml", ui.encode("utf-8"))
    return out.getvalue()


def build_addin(path: str | os.PathLike[str], config: Mapping[str, str] | None = None) -> Path:
    """Write ``client_rating.xlam`` to ``path`` (a file, or a folder to put it in).

    ``config``: the rows of the add-in's ``client_rating.conf`` sheet (xlwings settings), by
    default :func:`addin_config` for this interpreter. The file is replaced atomically.
    """
    import xlsxwriter

    path = Path(path)
    if path.is_dir():
        path = path / ADDIN_FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    config = dict(addin_config() if config is None else config)
    modules = addin_modules()
    vba = build_vba_project(modules, name=VBA_PROJECT_NAME)

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False,
                                   "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_vba_name("ThisWorkbook")
    wb.set_properties({"title": "client-rating 客户分级加载项",
                       "comments": "Built by client-rating (addin/xlam.py); settings in sheet "
                                   f"{CONF_SHEET}"})
    ws = wb.add_worksheet(CONF_SHEET)
    ws.set_vba_name(CONF_SHEET_CODE_NAME)
    ws.set_column(0, 0, 18)
    ws.set_column(1, 1, 60)
    for r, (key, value) in enumerate(config.items()):
        ws.write_string(r, 0, key)
        ws.write_string(r, 1, value)
    wb.add_vba_project(io.BytesIO(vba), is_stream=True)
    wb.close()
    data = _to_addin(buf.getvalue(), custom_ui_xml())

    fd, tmp = tempfile.mkstemp(prefix=".client_rating-", suffix=".xlam.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; an add-in is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
