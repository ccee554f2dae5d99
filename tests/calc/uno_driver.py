"""Drives a running headless LibreOffice over a UNO pipe (tests/calc/office.py starts both).

Run by a Python that has LibreOffice's ``uno`` module (the system's python3 on Debian), not the
project's: ``python3 uno_driver.py PIPE REQUEST.json RESULT.json``. No project code here: it
only puts values and formulas into Calc, recalculates, runs macros and reads cells back.
"""

import contextlib
import json
import sys
import time

import uno
from com.sun.star.beans import PropertyValue


def connect(pipe, timeout=60.0):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    end = time.time() + timeout
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception:
            if time.time() > end:
                raise
            time.sleep(0.2)


def props(**kw):
    out = []
    for k, v in kw.items():
        p = PropertyValue()
        p.Name, p.Value = k, v
        out.append(p)
    return tuple(out)


def desktop(ctx):
    return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)


def _errors(sheet):
    from com.sun.star.sheet.FormulaResult import ERROR

    out = {}
    ranges = sheet.queryFormulaCells(ERROR)
    for addr in ranges.getRangeAddresses():
        for r in range(addr.StartRow, addr.EndRow + 1):
            for c in range(addr.StartColumn, addr.EndColumn + 1):
                out[f"{r},{c}"] = sheet.getCellByPosition(c, r).getError()
    return out


def op_ping(ctx):
    return "pong"


def op_calc(ctx, values, formulas, formula_range, read_range, arrays=()):
    """A new Calc document: ``values`` (rows from A1; None = empty cell; {"f": "=…"} a formula;
    {"date": serial} a number formatted as a date),
    ``formulas`` into ``formula_range`` (one call), ``arrays`` ({"range", "formula"}: array
    formulas); recalculated; ``read_range`` read back (values, and error codes by "row,col")."""
    doc = desktop(ctx).loadComponentFromURL("private:factory/scalc", "_blank", 0,
                                            props(Hidden=True))
    try:
        sheet = doc.Sheets.getByIndex(0)
        n, w = len(values), max(len(r) for r in values)
        sheet.getCellRangeByPosition(0, 0, w - 1, n - 1).setDataArray(tuple(
            tuple("" if c is None or isinstance(c, dict) else c for c in row) for row in values))
        empty = []
        date_format = doc.NumberFormats.getStandardFormat(2, doc.CharLocale)  # NumberFormat.DATE
        for r, row in enumerate(values):
            for c, v in enumerate(row):
                if isinstance(v, dict) and "date" in v:
                    cell = sheet.getCellByPosition(c, r)
                    cell.setValue(v["date"])
                    cell.NumberFormat = date_format
                elif isinstance(v, dict):
                    sheet.getCellByPosition(c, r).setFormula(v["f"])
                elif v is None or v == "":
                    a = uno.createUnoStruct("com.sun.star.table.CellRangeAddress")
                    a.Sheet, a.StartColumn, a.StartRow, a.EndColumn, a.EndRow = 0, c, r, c, r
                    empty.append(a)
        if empty:  # (setDataArray leaves an empty text: make them empty cells, in one call)
            ranges = doc.createInstance("com.sun.star.sheet.SheetCellRanges")
            ranges.addRangeAddresses(tuple(empty), False)
            ranges.clearContents(1 | 2 | 4 | 16)  # VALUE | DATETIME | STRING | FORMULA
        if formulas:
            sheet.getCellRangeByName(formula_range).setFormulaArray(
                tuple(tuple(r) for r in formulas))
        for a in arrays:
            sheet.getCellRangeByName(a["range"]).setArrayFormula(a["formula"])
        doc.calculateAll()
        out = sheet.getCellRangeByName(read_range).getDataArray()
        return {"values": [list(r) for r in out], "errors": _errors(sheet),
                "formulas": [list(r) for r in
                             sheet.getCellRangeByName(read_range).getFormulaArray()[:2]]}
    finally:
        doc.close(True)


def op_macro(ctx, path, url, out, console=None, filter_name="Calc MS Excel 2007 XML"):
    """Open ``path``, type ``console`` ({label: value}) into column B of 控制台 next to the
    labels, run the macro ``url`` on it (given the document, as a button's event gives its
    control), save as ``out``."""
    doc = desktop(ctx).loadComponentFromURL(uno.systemPathToFileUrl(path), "_blank", 0,
                                            props(Hidden=True))
    try:
        if console:
            sheet = doc.Sheets.getByName("控制台")
            labels = [str(r[0]).strip() for r in sheet.getCellRangeByName("A1:A30").getDataArray()]
            for label, v in console.items():
                sheet.getCellByPosition(1, labels.index(label)).setString(v)
        doc.getScriptProvider().getScript(url).invoke((doc,), (), ())
        doc.storeToURL(uno.systemPathToFileUrl(out), props(FilterName=filter_name))
        return None
    finally:
        doc.close(True)


def op_controls(ctx, path, sheet):
    """The push buttons of ``sheet``: name, label and bound events (listener, method, script
    URL), and whether each script URL resolves to a macro that exists."""
    doc = desktop(ctx).loadComponentFromURL(uno.systemPathToFileUrl(path), "_blank", 0,
                                            props(Hidden=True))
    try:
        forms = doc.Sheets.getByName(sheet).getDrawPage().getForms()
        out = []
        for f in range(forms.getCount()):
            form = forms.getByIndex(f)
            for i in range(form.getCount()):
                model = form.getByIndex(i)
                events = [(e.ListenerType, e.EventMethod, e.ScriptType, e.ScriptCode)
                          for e in form.getScriptEvents(i)]
                out.append({"name": model.Name, "label": model.Label, "events": events,
                            "resolves": [_resolves(doc, e[3]) for e in events]})
        return out
    finally:
        doc.close(True)


def _resolves(doc, url):
    try:
        return doc.getScriptProvider().getScript(url) is not None
    except Exception as e:
        return f"{type(e).__name__}: {e}"


def op_steps(ctx, path, steps, hidden=True):
    """Open ``path`` (hidden) and run ``steps`` in order, each giving a result: {"console":
    {label: value}}; {"invoke": url, "args": [...]} (the macro given the document and args);
    {"dispatch": url} (as the menu entry does, on the document's frame); {"rows": sheet}
    (used rows); {"charts": sheet}; {"resolves": url}; {"save": path} (.xlsx). ``hidden``
    False: the document gets a window (headless: never shown), as a document opened by a user."""
    doc = desktop(ctx).loadComponentFromURL(uno.systemPathToFileUrl(path), "_blank", 0,
                                            props(Hidden=hidden, MacroExecutionMode=4))
    out = []
    try:
        for step in steps:
            kind, arg = next(iter(step.items()))
            if kind == "console":
                sheet = doc.Sheets.getByName("控制台")
                labels = [str(r[0]).strip()
                          for r in sheet.getCellRangeByName("A1:A30").getDataArray()]
                for label, v in arg.items():
                    sheet.getCellByPosition(1, labels.index(label)).setString(v)
                out.append(None)
            elif kind == "invoke":
                doc.getScriptProvider().getScript(arg).invoke(
                    (doc, *step.get("args", ())), (), ())
                out.append(None)
            elif kind == "dispatch":
                helper = ctx.ServiceManager.createInstanceWithContext(
                    "com.sun.star.frame.DispatchHelper", ctx)
                frame = doc.getCurrentController().getFrame()
                r = helper.executeDispatch(frame, arg, "_self", 0, ())
                out.append(bool(r.State) if r is not None else None)
            elif kind == "rows":
                s = doc.Sheets.getByName(arg) if doc.Sheets.hasByName(arg) else None
                if s is None:
                    out.append(None)
                    continue
                cursor = s.createCursor()
                cursor.gotoEndOfUsedArea(False)
                out.append(cursor.getRangeAddress().EndRow + 1)
            elif kind == "charts":
                out.append(doc.Sheets.getByName(arg).getCharts().getCount())
            elif kind == "resolves":
                out.append(_resolves(doc, arg))
            elif kind == "save":
                doc.storeToURL(uno.systemPathToFileUrl(arg),
                               props(FilterName="Calc MS Excel 2007 XML"))
                out.append(None)
        return out
    finally:
        doc.close(True)


def op_terminate(ctx):
    with contextlib.suppress(Exception):  # (the bridge goes down with the office)
        desktop(ctx).terminate()
    return None


def op_direct(ctx, name, args):
    obj = ctx.ServiceManager.createInstanceWithContext("org.clientrating.calc.ClientRating", ctx)
    args = [tuple(tuple(r) for r in a) if isinstance(a, list) else a for a in args]
    return repr(getattr(obj, name)(*args))


def main():
    pipe, req, res = sys.argv[1:4]
    with open(req, encoding="utf-8") as f:
        request = json.load(f)
    ctx = connect(pipe, request.pop("timeout", 60.0))
    op = globals()["op_" + request.pop("op")]
    try:
        result = {"ok": op(ctx, **request)}
    except Exception as e:
        import traceback

        result = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    with open(res, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False)


if __name__ == "__main__":
    main()

