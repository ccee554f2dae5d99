"""The worksheet functions' VBA wrappers, made by xlwings' own code when the add-in is built.

xlwings' *Import Functions* (``ImportPythonUDFsToAddin`` → ``xlwings.udfs.import_udfs``) writes a
VBA module ``xlwings_udfs`` with one ``Function NAME(args)`` per decorated function, imports it
into the add-in's VBA project (which needs *Trust access to the VBA project object model*) and
registers each function's description and category with ``Application.MacroOptions``. Here the
same module text is made on the build machine — ``import_udfs``'s header lines, then
``xlwings.udfs.generate_vba_wrapper`` for the module ``udfs`` with a workbook named
``client_rating.xlam`` — and built into the add-in, so that the functions arrive with it and no
trust setting is needed; :func:`macro_options_source` registers the descriptions when the
add-in opens (addin/xlam.py). Whatever is in the catalogue (the decorated public functions of
``udfs``) is wrapped: nothing here lists functions.

``xlwings.udfs`` imports pywin32 at import time. Where pywin32 is missing (Linux, macOS: the
add-in is only built there), those modules are stubbed while ``xlwings.udfs`` is imported and
``udfs`` is imported again under xlwings' real decorators; everything is restored afterwards.
Nothing of COM is called: ``generate_vba_wrapper`` only writes text.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .buttons import ADDIN_FILENAME
from .vba import vba_text

UDF_MODULE = "udfs"  # the config key "UDF Modules" of the add-in (addin/xlam.py)
WRAPPER_MODULE = "xlwings_udfs"  # the module name import_udfs gives the wrappers
REGISTER_MODULE = "ClientRatingFunctions"  # our module: MacroOptions for the Function Wizard
MAX_DOC = 255  # Excel's limit for MacroOptions texts (import_udfs cuts there too)


def _stub_win32() -> dict[str, types.ModuleType]:
    """Stand-ins for the pywin32 modules that ``xlwings.udfs`` imports (never called)."""
    mods = {n: types.ModuleType(n) for n in ("pythoncom", "pywintypes", "win32com",
                                             "win32com.client")}
    mods["pythoncom"].CoInitialize = lambda: None  # type: ignore[attr-defined]
    mods["pywintypes"].com_error = type("com_error", (Exception,), {})  # type: ignore[attr-defined]
    mods["win32com.client"].Dispatch = lambda *a, **k: None  # type: ignore[attr-defined]
    mods["win32com"].client = mods["win32com.client"]  # type: ignore[attr-defined]
    return mods


@contextlib.contextmanager
def decorated_udfs(module_name: str = UDF_MODULE) -> Iterator[tuple[Any, types.ModuleType]]:
    """``(xlwings.udfs, module)``: the UDF module as xlwings on Windows sees it (functions
    carrying ``__xlfunc__``). On Windows with pywin32 these are the modules already imported;
    elsewhere fresh imports under stubs, undone on exit."""
    import xlwings

    if getattr(xlwings, "has_pywin32", False):
        import xlwings.udfs as xludfs  # (Windows: the real thing)

        yield xludfs, importlib.import_module(module_name)
        return
    saved_mods = {k: v for k, v in sys.modules.items()
                  if k == module_name or k.startswith(module_name + ".") or k == "xlwings.udfs"}
    saved_attrs = {k: getattr(xlwings, k) for k in ("func", "arg", "ret") if hasattr(xlwings, k)}
    had_udfs_attr = hasattr(xlwings, "udfs")
    old_udfs_attr = getattr(xlwings, "udfs", None)
    stubs = {k: v for k, v in _stub_win32().items() if k not in sys.modules}
    try:
        sys.modules.update(stubs)
        sys.modules.pop("xlwings.udfs", None)
        xludfs = importlib.import_module("xlwings.udfs")
        for k, v in (("func", xludfs.xlfunc), ("arg", xludfs.xlarg), ("ret", xludfs.xlret)):
            setattr(xlwings, k, v)
        for k in saved_mods:
            if k != "xlwings.udfs":
                del sys.modules[k]
        yield xludfs, importlib.import_module(module_name)
    finally:
        for k in list(sys.modules):
            if k == module_name or k.startswith(module_name + ".") or k in stubs \
                    or k == "xlwings.udfs":
                del sys.modules[k]
        sys.modules.update(saved_mods)
        for k, v in saved_attrs.items():
            setattr(xlwings, k, v)
        if had_udfs_attr:
            setattr(xlwings, "udfs", old_udfs_attr)  # noqa: B010 (a module attribute mypy types)
        elif hasattr(xlwings, "udfs"):
            delattr(xlwings, "udfs")


def wrapper_source(module_name: str = UDF_MODULE, workbook_name: str = ADDIN_FILENAME) -> str:
    """The text of module ``xlwings_udfs`` exactly as ``import_udfs`` writes it for an add-in
    named ``workbook_name`` (``Attribute VB_Name`` line included)."""
    with decorated_udfs(module_name) as (xludfs, module):
        from xlwings.utils import VBAWriter

        out = io.StringIO()
        vba = VBAWriter(out)
        # the three header lines of xlwings.udfs.import_udfs, verbatim
        vba.writeln(f'Attribute VB_Name = "{WRAPPER_MODULE}"')
        vba.writeln("'Autogenerated code by xlwings - changes will be lost with next import!")
        vba.writeln("""#Const App = "Microsoft Excel" 'Adjust when using outside of Excel""")
        xludfs.generate_vba_wrapper(module_name, module, out,
                                    types.SimpleNamespace(Name=workbook_name))
        return out.getvalue()


@dataclass(frozen=True)
class FunctionDoc:
    """What import_udfs registers with MacroOptions for one function."""

    name: str
    description: str
    category: str
    arguments: tuple[str, ...]
    volatile: bool


def function_docs(module_name: str = UDF_MODULE) -> list[FunctionDoc]:
    """Description, category and argument texts of every wrapped function, cut at 255
    characters as ``import_udfs`` cuts them (arguments bound by VBA, e.g. ``caller``, skipped)."""
    with decorated_udfs(module_name) as (_, module):
        out = []
        for attr in dir(module):
            f = getattr(module, attr)
            info = getattr(f, "__xlfunc__", None)
            if info is None:
                continue
            out.append(FunctionDoc(
                info["name"], (info["ret"]["doc"] or "")[:MAX_DOC], info["category"] or "",
                tuple((a["doc"] or "")[:MAX_DOC] for a in info["args"] if not a["vba"]),
                bool(info["volatile"])))
        return out


def _text_lines(var: str, text: str) -> list[str]:
    """``var = <text>`` in lines VBA accepts (ChrW expressions; no line over 1023 chars)."""
    lines = [f"    {var} = \"\""]
    for k in range(0, len(text), 16):
        lines.append(f"    {var} = {var} & {vba_text(text[k:k + 16])}")
    return lines


def macro_options_source(docs: list[FunctionDoc] | None = None) -> str:
    """Body of module ``ClientRatingFunctions``: ``RegisterFunctions`` gives each function its
    Chinese description, category and argument texts in the Function Wizard, as import_udfs
    does, without touching the VBA project (no trust setting). Called from
    ``Workbook_Open`` of the add-in; a function Excel refuses is skipped, never fatal."""
    docs = function_docs() if docs is None else docs
    lines = [
        "' client-rating: Function Wizard texts of the worksheet functions (module xlwings_udfs).",
        "' Written by addin/udf_wrappers.py from the udfs catalogue - change it there, not here.",
        "Option Explicit",
        "",
        "Public Function RegisterFunctions() As Long",
        "    ' returns how many functions Excel refused (0: all registered)",
        "    Dim failed As Long",
    ]
    for k, d in enumerate(docs):
        lines.append(f"    If Not RegisterOne(\"{d.name}\", Description{k}(), Category{k}(), "
                     f"Arguments{k}()) Then failed = failed + 1")
    lines += [
        "    ThisWorkbook.Saved = True",
        "    RegisterFunctions = failed",
        "End Function",
        "",
        "Private Function RegisterOne(ByVal fname As String, ByVal descr As String, _",
        "                             ByVal category As String, ByVal args As Variant) As Boolean",
        "    On Error GoTo failed",
        "    If UBound(args) >= LBound(args) Then",
        "        Application.MacroOptions Macro:=\"'\" & ThisWorkbook.Name & \"'!\" & fname, _",
        "            Description:=descr, Category:=category, ArgumentDescriptions:=args",
        "    Else",
        "        Application.MacroOptions Macro:=\"'\" & ThisWorkbook.Name & \"'!\" & fname, _",
        "            Description:=descr, Category:=category",
        "    End If",
        "    RegisterOne = True",
        "    Exit Function",
        "failed:",
        "    RegisterOne = False",
        "End Function",
    ]
    for k, d in enumerate(docs):
        lines += ["", f"Private Function Description{k}() As String", "    Dim s As String",
                  *_text_lines("s", d.description), f"    Description{k} = s", "End Function"]
        lines += ["", f"Private Function Category{k}() As String", "    Dim s As String",
                  *_text_lines("s", d.category), f"    Category{k} = s", "End Function"]
        lines += ["", f"Private Function Arguments{k}() As Variant"]
        if d.arguments:
            lines += [f"    Dim a({len(d.arguments) - 1}) As String", "    Dim s As String"]
            for j, text in enumerate(d.arguments):
                lines += [*_text_lines("s", text), f"    a({j}) = s"]
            lines.append(f"    Arguments{k} = a")
        else:
            lines.append(f"    Arguments{k} = Array()")
        lines.append("End Function")
    return "\n".join(lines) + "\n"
