"""The functions as xlwings sees them, checked on Linux through xlwings' own code.

Only the win32/COM modules are stubbed (and ctypes' Windows DLL loaders, for xlwings._xlwindows to
import). Then (a) the real ``xlwings.udfs`` decorators are applied to a fresh import of ``udfs``
and ``generate_vba_wrapper`` writes the VBA module "Import Functions" would import; (b) values
shaped like what COM hands over go through ``xlwings.conversion.read/write`` with each function's
declared options, exactly as ``call_udf`` does, with the Windows engine's own value cleaning
(error cells -> texts with ``err_to_str``, empty -> None, dates; None -> "" on the way back).

Not covered (needs Excel): COM itself, the VBA runtime, MacroOptions (Function Wizard texts),
spilling, recalculation.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import importlib
import io
import re
import sys
import types
from unittest import mock

import pytest

from rules.functions import CATALOGUE

MISSING = -2147352572  # what COM passes for an omitted optional argument (call_udf)
XL_ERRORS = {"#DIV/0!": -2146826281, "#N/A": -2146826246, "#VALUE!": -2146826273,
             "#REF!": -2146826265}


def _stub_modules() -> dict[str, types.ModuleType]:
    mods = {n: types.ModuleType(n) for n in (
        "pythoncom", "pywintypes", "win32api", "win32con", "win32gui", "win32process",
        "win32timezone", "win32com", "win32com.client")}
    mods["pywintypes"].TimeType = type("TimeType", (), {})
    mods["pywintypes"].com_error = type("com_error", (Exception,), {})
    mods["pywintypes"].error = type("error", (Exception,), {})
    mods["pywintypes"].IID = lambda s: s
    mods["pythoncom"].CoInitialize = lambda: None
    mods["pythoncom"].__file__ = "pythoncom.dll"
    for n in ("CDispatch", "CoClassBaseClass", "Dispatch", "DispatchBaseClass", "DispatchEx"):
        setattr(mods["win32com.client"], n, type(n, (), {}))
    mods["win32com"].client = mods["win32com.client"]
    return mods


@pytest.fixture(scope="module")
def xl():
    """(xlwings.udfs, xlwings.conversion, udfs decorated by the real xlwings.udfs decorators)."""
    import xlwings
    from xlwings import conversion
    from xlwings.main import Engine

    saved_modules = {k: v for k, v in sys.modules.items() if k == "udfs" or k.startswith("udfs.")}
    saved_attrs = {k: getattr(xlwings, k) for k in ("func", "arg", "ret")}
    saved_engines = (list(xlwings.engines.engines), dict(xlwings.engines.engines_by_name))
    with mock.patch.dict(sys.modules, _stub_modules()), \
            mock.patch.object(ctypes, "windll", mock.MagicMock(), create=True), \
            mock.patch.object(ctypes, "oledll", mock.MagicMock(), create=True), \
            mock.patch.object(ctypes, "PyDLL", mock.MagicMock()):
        xlwin = importlib.import_module("xlwings._xlwindows")
        xludfs = importlib.import_module("xlwings.udfs")
        # what `import xlwings` does on Windows: xw.func/arg/ret are the real decorators
        xlwings.func, xlwings.arg, xlwings.ret = xludfs.xlfunc, xludfs.xlarg, xludfs.xlret
        for k in saved_modules:
            del sys.modules[k]
        decorated = importlib.import_module("udfs")
    try:
        xlwings.engines.add(Engine(impl=xlwin.engine))
        yield xludfs, conversion, decorated
    finally:
        for k in list(sys.modules):
            if k == "udfs" or k.startswith("udfs."):
                del sys.modules[k]
        sys.modules.update(saved_modules)
        for k, v in saved_attrs.items():
            setattr(xlwings, k, v)
        xlwings.engines.engines[:] = saved_engines[0]
        xlwings.engines.engines_by_name.clear()
        xlwings.engines.engines_by_name.update(saved_engines[1])
        for attr in ("_xlwindows", "udfs"):
            if hasattr(xlwings, attr):
                delattr(xlwings, attr)


# ------------------------------------------------------------------------------ (a) VBA


@pytest.fixture(scope="module")
def vba(xl):
    xludfs, _, decorated = xl
    out = io.StringIO()
    xludfs.generate_vba_wrapper("udfs", decorated, out, types.SimpleNamespace(Name="客户.xlsm"))
    return out.getvalue()


def test_the_package_exports_exactly_the_catalogue(xl):
    _, _, decorated = xl
    public = {n for n in dir(decorated) if not n.startswith("_")}
    assert public == set(CATALOGUE)
    assert {n for n in dir(decorated) if hasattr(getattr(decorated, n), "__xlfunc__")} == set(CATALOGUE)


EXPECTED_SIGNATURES = {
    "CLIENT_TIER": "assets, revenue, Optional rulebook",
    "TIER_EXPLAIN": "assets, revenue, Optional rulebook",
    "QUARTER_TIER": "tier_in_force, assets, revenue, Optional rulebook",
    "RISK_CLASS": "score, Optional rulebook",
    "RISK_SCORE": "ParamArray answers()",
    "RISK_LEVEL": "score",
    "CLIENT_CLASS": "tier, risk_class",
    "SUITABLE": "risk_class, product_risk",
    "SUITABILITY_NOTE": "risk_class, product_risk",
    "FUND_RISK": "fund_type",
    "SERVICE_PACKAGE": "tier, Optional open_date, Optional rulebook, Optional as_of",
    "VISITS_PER_YEAR": "tier, Optional rulebook",
    "ASSET_TURNOVER_CLASS": "assets, turnover, Optional threshold",
    "HOLDING_STYLE": "avg_holding_days, Optional frequent_derivatives",
    "VALUE_SEGMENT": "current, future",
    "RFM": "recency_days, frequency, monetary, Optional style",
    "TRANSFER_APPROVAL": "tier, client_type",
    "REVIEW_DUE": "assessed_on, Optional as_of",
    "RERATING_WINDOW": "period, Optional rulebook",
    "RULES_VERSION": "Optional rulebook, Optional as_of",
    "TRANSFER_BLOCKERS": ("order_today, repo_not_matured, repo_registration_not_revoked, "
                          "ipo_funds_frozen, agreement_unfulfilled, Optional registrar_refuses"),
    "FOLLOW_UP": "tier, client_type, left_on, Optional as_of",
    "ACCOUNT_CLOSING": ("sh_designation_revoked, sz_transferred, interest_withdrawn, "
                        "agreements_fulfilled, no_other_links"),
    "LEAVING_REASON": "reason, Optional detail",
    "RETENTION_ADVICE": "reason",
    "INVESTOR_TYPE": "client_type, Optional financial_assets, Optional income, "
                     "Optional investment_years, Optional net_assets, Optional category, "
                     "Optional work_years, Optional qualified, Optional request",
    "INVESTOR_LEVEL": "score, Optional lowest, Optional assessed_on, Optional as_of",
    "PRODUCT_MATCH": "investor_level, product_level, Optional warned",
}


def test_every_function_becomes_a_vba_function(vba):
    assert set(EXPECTED_SIGNATURES) == set(CATALOGUE)
    for name, args in EXPECTED_SIGNATURES.items():
        assert f"Function {name}({args})" in vba, name
        assert f'{name} = XLPy.CallUDF("udfs", "{name}", ' in vba
    assert len(re.findall(r"^Function ", vba, re.M)) == len(CATALOGUE)


def test_function_wizard_texts(xl):
    _, _, decorated = xl
    for name in CATALOGUE:
        info = getattr(decorated, name).__xlfunc__
        assert info["category"] == "客户分级"
        doc = info["ret"]["doc"]
        assert 0 < len(doc) <= 255 and re.search(r"[\u4e00-\u9fff]", doc), name
        for arg in info["args"]:
            assert not arg["doc"].startswith("Positional argument"), (name, arg["name"])
            assert len(arg["doc"]) <= 255 and re.search(r"[\u4e00-\u9fff]", arg["doc"])
            assert arg["options"] == {"ndim": 2, "err_to_str": True}, (name, arg["name"])


# ------------------------------------------------------------------------------ (b) conversion


def call(xl, name, *excel_args):
    """Mirror of xlwings.udfs.call_udf for values (not COM ranges) and no async/dynamic caching."""
    _, conversion, decorated = xl
    func = getattr(decorated, name)
    args_info = func.__xlfunc__["args"]
    args = list(excel_args)
    for i, arg in enumerate(args):
        info = args_info[min(i, len(args_info) - 1)]
        if isinstance(arg, int) and arg == MISSING:
            args[i] = info.get("optional", None)
        else:
            args[i] = conversion.read(None, arg, info["options"])
    ret = func(*args)
    return conversion.write(ret, None, func.__xlfunc__["ret"]["options"])


def test_single_cells(xl):
    assert call(xl, "CLIENT_TIER", 250000.0, None, MISSING) == [["核心客户"]]
    assert call(xl, "CLIENT_TIER", 10000000.0, 0.0, MISSING) == [["普通客户"]]
    assert call(xl, "CLIENT_TIER", "25万", None, MISSING) == [["核心客户"]]
    assert call(xl, "CLIENT_TIER", -1.0, 0.0, MISSING) == [["#VALUE! 资产权益不能为负数：-1"]]
    assert call(xl, "CLIENT_TIER", 5000001.0, 0.0, "private-fund") == [["VIP客户"]]
    assert call(xl, "CLIENT_TIER", 5000001.0, 0.0, None) == [["核心客户"]]  # empty rulebook cell
    assert call(xl, "SUITABLE", "保守型", "高") == [[False]]
    assert call(xl, "VISITS_PER_YEAR", "VIP", "private-fund") == [[2]]
    assert call(xl, "RISK_CLASS", 76.0, MISSING) == [["进取型"]]


def test_error_cells_never_count_as_empty(xl):
    # without err_to_str, xlwings would hand #N/A in the commission cell as None = 0
    assert call(xl, "CLIENT_TIER", 300000.0, XL_ERRORS["#N/A"], MISSING) == [
        ["#N/A 上年度净佣金单元格为错误值：#N/A"]]
    assert call(xl, "CLIENT_TIER", XL_ERRORS["#DIV/0!"], 0.0, MISSING) == [
        ["#N/A 资产权益单元格为错误值：#DIV/0!"]]


def test_a_column_range(xl):
    assets = ((250000.0,), (None,), ("1,000,000",), (-1.0,), (True,), (XL_ERRORS["#REF!"],),
              (dt.datetime(2024, 1, 1),), (99999.0,))
    comm = ((0.0,), (0.0,), ("",), (0.0,), (0.0,), (0.0,), (0.0,), (5000.0,))
    assert call(xl, "CLIENT_TIER", assets, comm, MISSING) == [
        ["核心客户"], ["#N/A 资产权益为空"], ["核心客户"], ["#VALUE! 资产权益不能为负数：-1"],
        ["#VALUE! 资产权益不是数字：TRUE"], ["#N/A 资产权益单元格为错误值：#REF!"],
        ["#VALUE! 资产权益是日期，不是数字：2024-01-01"], ["普通客户"]]
    explained = call(xl, "TIER_EXPLAIN", assets[:1], comm[:1], "brokerage")
    assert explained == [["资产权益 250,000 元 ≥ 250,000 且 < 10,000,000 → 核心客户 (BRK-CORE-1, brokerage@2009.1)"]]
    assert call(xl, "QUARTER_TIER", (("VIP",), (None,)), ((300000.0,), (300000.0,)), 0.0, MISSING) \
        == [["VIP客户"], ["核心客户"]]


def test_dates_and_optional_arguments(xl):
    due = call(xl, "REVIEW_DUE", dt.datetime(2024, 1, 1), dt.datetime(2026, 1, 2))
    assert "已逾期 1 天" in due[0][0]
    assert call(xl, "SERVICE_PACKAGE", "普通", dt.datetime(2026, 1, 5), MISSING,
                dt.datetime(2026, 6, 30)) == [["财路通"]]
    assert call(xl, "RERATING_WINDOW", "2026Q3") == [["2026Q3 季度评级：2026-10-08 至 2026-10-12（3 个工作日）"]]
    assert call(xl, "RULES_VERSION", MISSING, MISSING) == [["brokerage@2009.1，2009-01-01 至 今 有效"]]
    assert call(xl, "HOLDING_STYLE", 200.0, True) == [["短线"]]
    assert call(xl, "ASSET_TURNOVER_CLASS", 5000000.0, 2.5, MISSING) == [["B+"]]


def test_retention_functions_through_xlwings(xl):
    # an empty cell arrives as None (= 否), an omitted optional argument as its default
    assert call(xl, "TRANSFER_BLOCKERS", "是", None, None, None, None, MISSING) == [
        ["不能办理：当天有委托（已成交或未成交）（第十六条第1项）"]]
    assert call(xl, "TRANSFER_BLOCKERS", False, False, False, False, False, True)[0][0].startswith(
        "不能办理：中国证券登记结算有限责任公司上海分公司认为不能撤销")
    assert call(xl, "TRANSFER_APPROVAL", "普通客户", "产品") == [
        ["柜台人员（或营业部指定人员） → 客户经理 → 营销总监 → 总经理（须提前一天预约）"]]
    assert call(xl, "FOLLOW_UP", "核心客户", "个人", dt.datetime(2026, 12, 2),
                dt.datetime(2026, 12, 3))[0][0].startswith("2026-12-06 前：转出当周内")
    assert call(xl, "LEAVING_REASON", "其他", MISSING)[0][0].startswith("#N/A 流失原因为“其他”时须写明")
    assert call(xl, "ACCOUNT_CLOSING", True, True, True, True, None) == [
        ["暂不能销户，尚未满足：无其他对应关系（第十九条）"]]


def test_param_array(xl):
    # RISK_SCORE(A2:L2) — one range — and RISK_SCORE(A2, B2, …) — twelve cells
    p12, p48 = "12分（风险承受力调查表）", "48分（风险承受力调查表）"
    assert call(xl, "RISK_SCORE", (tuple("EDEDCDCCEDCE"),)) == [[p48]]
    assert call(xl, "RISK_SCORE", *["A"] * 12) == [[p12]]
    assert call(xl, "RISK_SCORE", (tuple("A" * 12), tuple("EDEDCDCCEDCE"))) == [[p12], [p48]]
    assert call(xl, "RISK_LEVEL", 39.0) == [["高"]]
    assert call(xl, "RISK_LEVEL", p48) == [["高"]]
    assert call(xl, "RISK_CLASS", p48, MISSING)[0][0].startswith("#VALUE! 48分（风险承受力调查表） 是")
