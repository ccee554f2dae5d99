"""客户分级 buttons in LibreOffice Calc: the macros the 控制台 buttons and the 客户分级 menu and
toolbar run. Each runs ``addin.calc.button`` of the project (the same ``workbook.job.plan_run``
as the console command, the same audit as ``client-rating audit``) on the document the macro
was called from. A caller (a script, a test) may pass the document and the answers to the
yes/no questions ("yes"/"no" texts) as the arguments. See docs/calc.md.

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


def _document(args=()):
    """The document to run on: given (a caller passing it), the one of the button's event
    (its control's model, up the parents to the document), else the current one (menu and
    toolbar), else the only spreadsheet open (a hidden document has no current one)."""
    for a in args:
        if isinstance(a, str):
            continue
        if hasattr(a, "Sheets"):
            return a
        node = getattr(getattr(a, "Source", None), "Model", None)
        for _ in range(8):
            if node is None:
                break
            if hasattr(node, "Sheets"):
                return node
            node = getattr(node, "Parent", None)
    context = globals()["XSCRIPTCONTEXT"]  # (given by the script provider)
    doc = context.getDocument()
    if doc is not None and hasattr(doc, "Sheets"):
        return doc
    found = context.getDesktop().getComponents().createEnumeration()
    sheets = []
    while found.hasMoreElements():
        c = found.nextElement()
        if hasattr(c, "Sheets"):
            sheets.append(c)
    return sheets[0] if len(sheets) == 1 else None


def _run(mode, args):
    import sys

    sys.path.insert(0, os.path.join(_root(), "pythonpath"))
    import client_rating_env

    doc = _document(args)
    if doc is None:
        return  # (no spreadsheet to run on)
    problem = client_rating_env.activate(_root())
    if problem:
        _box(doc, problem)
        return
    from addin.calc.button import run_audit_button, run_button

    if mode == "audit":
        run_audit_button(doc)
    else:
        run_button(doc, mode, [a for a in args if a in ("yes", "no")])


def _run_safe(mode, args):
    try:
        _run(mode, args)
    except Exception as e:  # (run_button shows its own errors; this is loading failing)
        _box(_document(args), f"无法运行客户分级：{type(e).__name__}: {e}")


def _box(doc, text):
    """An error box on the document's window (nothing without one: headless)."""
    try:
        frame = doc.getCurrentController().getFrame()
        window = frame.getContainerWindow()
        if not window.isVisible():
            return
        from com.sun.star.awt.MessageBoxType import ERRORBOX

        window.getToolkit().createMessageBox(window, ERRORBOX, 1, "客户分级", text).execute()
    except Exception:  # (no document, no window: nothing to show it on)
        pass


def rerate_button(*args):
    """按控制台重评级: the mode chosen on 控制台."""
    _run_safe(None, args)


def rerate_quarterly(*args):
    """季度重评级"""
    _run_safe("quarterly", args)


def rerate_annual(*args):
    """年度评级"""
    _run_safe("annual", args)


def rerate_new_accounts(*args):
    """新开户评级"""
    _run_safe("new-accounts", args)


def audit(*args):
    """审计检查"""
    _run_safe("audit", args)


g_exportedScripts = (rerate_button, rerate_quarterly, rerate_annual, rerate_new_accounts, audit)
