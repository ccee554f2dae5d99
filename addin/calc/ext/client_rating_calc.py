"""客户分级: the catalogue functions as a LibreOffice Calc add-in (com.sun.star.sheet.AddIn).

This file runs inside LibreOffice's own Python. It holds no rating logic: every function is
``addin.calc.functions.call`` of the project, found through ``env.json`` (written into the
extension by ``client-rating calc install``: the project's folder and its environment's
site-packages). Without that environment every function shows one error text saying so.
The functions and their Function Wizard texts come from ``functions.json`` (made from the
catalogue when the extension is built); the interface ``org.clientrating.calc.XClientRating``
declaring them is in ``XClientRating.rdb`` (from ``XClientRating.idl``). See docs/calc.md.
"""

import json
import os
import sys

import unohelper
from com.sun.star.lang import Locale, XLocalizable, XServiceInfo, XServiceName
from com.sun.star.sheet import XAddIn
from org.clientrating.calc import XClientRating

IMPLEMENTATION = "org.clientrating.calc.ClientRating"
SERVICES = ("com.sun.star.sheet.AddIn",)
HERE = os.path.dirname(os.path.abspath(__file__))

with open(os.path.join(HERE, "functions.json"), encoding="utf-8") as _f:
    SPECS = {s["name"]: s for s in json.load(_f)}

sys.path.insert(0, os.path.join(HERE, "pythonpath"))  # (LibreOffice adds it too)
import client_rating_env  # noqa: E402  (the extension's own module: env.json)

_problem: list[str] = []


def adapter():
    """``addin.calc.functions`` of the project (None: the reason is in ``_problem``)."""
    problem = client_rating_env.activate(HERE)
    if problem:
        _problem[:] = [problem]
        return None
    from addin.calc import functions

    return functions


def _method(name):
    def call(self, *args):
        f = adapter()
        if f is None:
            return ((("#N/A " + _problem[0])[:255],),)
        try:
            result = f.call(name, args)
            return result if isinstance(result, tuple) else ((result,),)
        except Exception as e:  # the functions catch their own errors; this is a bug
            return ((f"#VALUE! 内部错误：{type(e).__name__}（{e}）"[:255],),)

    call.__name__ = name
    return call


class ClientRating(unohelper.Base, XClientRating, XAddIn, XServiceName, XServiceInfo,
                   XLocalizable):
    def __init__(self, ctx):
        self.ctx = ctx
        self.locale = Locale("zh", "CN", "")

    # XAddIn: names and Function Wizard texts
    def getProgrammaticFuntionName(self, display_name):  # (sic: the UNO method's spelling)
        name = display_name.upper()
        return name if name in SPECS else ""

    def getDisplayFunctionName(self, name):
        return name if name in SPECS else ""

    def getFunctionDescription(self, name):
        return SPECS[name]["description"] if name in SPECS else ""

    def _param(self, name, k):
        params = SPECS.get(name, {}).get("params", [])
        return params[k] if 0 <= k < len(params) else None

    def getDisplayArgumentName(self, name, k):
        p = self._param(name, k)
        return p["name"] if p else ""

    def getArgumentDescription(self, name, k):
        p = self._param(name, k)
        if not p:
            return ""
        return p["doc"] + ("（可省略）" if p["optional"] and "可省略" not in p["doc"] else "")

    def getProgrammaticCategoryName(self, name):
        return "Add-In"  # Calc knows only its fixed categories: 加载项 (Add-In)

    def getDisplayCategoryName(self, name):
        return "客户分级"

    # XServiceName, XServiceInfo, XLocalizable
    def getServiceName(self):
        return IMPLEMENTATION

    def getImplementationName(self):
        return IMPLEMENTATION

    def supportsService(self, name):
        return name in SERVICES

    def getSupportedServiceNames(self):
        return SERVICES

    def setLocale(self, locale):
        self.locale = locale

    def getLocale(self):
        return self.locale


for _name in SPECS:
    setattr(ClientRating, _name, _method(_name))

g_ImplementationHelper = unohelper.ImplementationHelper()
g_ImplementationHelper.addImplementation(ClientRating, IMPLEMENTATION, SERVICES)
