"""客户分级 buttons in LibreOffice Calc: the macros the 控制台 buttons and the 客户分级 menu and
toolbar run. Each runs ``addin.calc.button`` of the project (the same ``workbook.job.plan_run``
as the console command) on the document the macro was called from. See docs/calc.md.

Macro URL (for a button's 执行操作 event):
vnd.sun.star.script:client_rating.oxt|python|client_rating_button.py$rerate_button?language=Python&location=user:uno_packages
"""

import os

import uno


def _root():
    url = globals().get("__file__", "")
    if url.startswith("vnd.sun.star.expand:"):
        ctx = uno.getComponentContext()
        url = ctx.getByName("/singletons/com.sun.star.util.theMacroExpander").expandMacros(
            url[len("vnd.sun.star.expand:"):])
    path = uno.fileUrlToSystemPath(url) if url.startswith("file:") else url
    return os.path.dirname(os.path.dirname(os.path.abspath(path)))


def _run(mode):
    import sys

    sys.path.insert(0, os.path.join(_root(), "pythonpath"))
    import client_rating_env

    doc = XSCRIPTCONTEXT.getDocument()  # noqa: F821  (given by the script provider)
    problem = client_rating_env.activate(_root())
    if problem:
        _box(doc, problem)
        return
    from addin.calc.button import run_button

    run_button(doc, mode)


def _run_safe(mode):
    try:
        _run(mode)
    except Exception as e:  # (run_button shows its own errors; this is loading failing)
        _box(XSCRIPTCONTEXT.getDocument(), f"无法运行客户分级：{type(e).__name__}: {e}")  # noqa: F821


def _box(doc, text):
    frame = doc.getCurrentController().getFrame()
    window = frame.getContainerWindow()
    toolkit = window.getToolkit()
    from com.sun.star.awt.MessageBoxType import ERRORBOX

    toolkit.createMessageBox(window, ERRORBOX, 1, "客户分级", text).execute()


def rerate_button(*_args):
    """按控制台重评级: the mode chosen on 控制台."""
    _run_safe(None)


def rerate_quarterly(*_args):
    """季度重评级"""
    _run_safe("quarterly")


def rerate_annual(*_args):
    """年度评级"""
    _run_safe("annual")


def rerate_new_accounts(*_args):
    """新开户评级"""
    _run_safe("new-accounts")


g_exportedScripts = (rerate_button, rerate_quarterly, rerate_annual, rerate_new_accounts)
