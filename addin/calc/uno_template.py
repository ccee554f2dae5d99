"""Turn a branch workbook (.xlsx from ``workbook.template.new_workbook``) into a Calc workbook
(.ods) whose 控制台 buttons are push buttons bound to the extension's macros.

Run by a Python that has LibreOffice's ``uno`` (``addin.calc.template`` starts it; no project
code here): ``python3 uno_template.py REQUEST.json``. The request names soffice, the profile
folder, the pipe, the input and output files and the buttons ({"row", "col", "name", "caption",
"url", "tip", "note"}: 0-based cell of the caption, the macro's script URL, the tooltip, the text
for the cell right of it). It starts its own headless soffice on that profile, converts, and stops it.
"""

import contextlib
import json
import subprocess
import sys
import time

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.script import ScriptEventDescriptor


def props(**kw):
    out = []
    for k, v in kw.items():
        p = PropertyValue()
        p.Name, p.Value = k, v
        out.append(p)
    return tuple(out)


def connect(pipe, proc, timeout=120.0):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    end = time.time() + timeout
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception:
            if time.time() > end or proc.poll() is not None:
                raise
            time.sleep(0.2)


def add_buttons(doc, sheet_name, buttons):
    """Push buttons over the caption cells of ``sheet_name``, each bound (on 执行操作 /
    actionPerformed) to its macro, anchored to its cell; the note cell says what it does."""
    sheet = doc.Sheets.getByName(sheet_name)
    page = sheet.getDrawPage()
    forms = page.getForms()
    if forms.hasByName("客户分级"):
        form = forms.getByName("客户分级")
    else:
        form = doc.createInstance("com.sun.star.form.component.Form")
        forms.insertByIndex(forms.getCount(), form)
        form.Name = "客户分级"
    for b in buttons:
        cell = sheet.getCellByPosition(b["col"], b["row"])
        model = doc.createInstance("com.sun.star.form.component.CommandButton")
        model.Name = b["name"]
        model.Label = b["caption"]
        model.HelpText = b["tip"]
        shape = doc.createInstance("com.sun.star.drawing.ControlShape")
        shape.setPosition(cell.Position)
        shape.setSize(cell.Size)
        form.insertByIndex(form.getCount(), model)
        shape.setControl(model)
        page.add(shape)
        shape.Anchor = cell
        event = ScriptEventDescriptor()
        event.ListenerType = "XActionListener"
        event.EventMethod = "actionPerformed"
        event.ScriptType = "Script"
        event.ScriptCode = b["url"]
        form.registerScriptEvent(form.getCount() - 1, event)
        sheet.getCellByPosition(b["col"] + 1, b["row"]).setString(b["note"])


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        req = json.load(f)
    proc = subprocess.Popen(
        [req["soffice"], "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
         "--nolockcheck", f"-env:UserInstallation={req['profile_url']}",
         f"--accept=pipe,name={req['pipe']};urp;StarOffice.ComponentContext"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ctx = connect(req["pipe"], proc)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(req["input"]), "_blank", 0,
                                           props(Hidden=True))
        try:
            add_buttons(doc, req["sheet"], req["buttons"])
            doc.storeToURL(uno.systemPathToFileUrl(req["output"]), props(FilterName="calc8"))
        finally:
            doc.close(True)
        with contextlib.suppress(Exception):  # (the bridge goes down with the office)
            desktop.terminate()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
