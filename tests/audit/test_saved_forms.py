"""Issue 10: the audit recomputes calls of our functions in every form Excel saves them in —
``[1]!CLIENT_TIER(`` (external-link part), ``'C:\\…\\client_rating.xlam'!CLIENT_TIER(`` (the
add-in's path, as Excel returns the formula when that add-in is not loaded),
``_xludf.CLIENT_TIER(`` and plain — and finds a wrong cached value in each form."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from audit_fixtures import AS_OF, build_branch, copy, letter, row_of, set_formula_xml

from workbook.audit import SEVERE, WARN, audit_file, explain_cell, plain_form
from workbook.xlsxio import read_sheet
from workbook.xlsxio.package import read_workbook_info

FORMS = {
    "plain": "",
    "link part": "[1]!",
    "_xludf": "_xludf.",
    "path": "'C:\\Users\\li.ming\\AppData\\Roaming\\Microsoft\\Excel\\XLSTART\\client_rating.xlam'!",
    "bare file": "client_rating.xlam!",
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_branch(tmp_path_factory.mktemp("forms") / "branch.xlsx", n=16, seed=3)


def _in_form(path: Path, prefix: str) -> None:
    with zipfile.ZipFile(path) as zf:
        part = read_workbook_info(zf).sheet("客户").part
        items = [(i, zf.read(i.filename)) for i in zf.infolist()]
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            if info.filename == part:
                text = data.decode("utf-8")
                text = re.sub(r"<f>(CLIENT_TIER|RISK_CLASS)\(",
                              lambda m: f"<f>{prefix.replace('&', '&amp;')}{m.group(1)}(", text)
                data = text.encode("utf-8")
            out.writestr(info, data)
    tmp.replace(path)


def _serious(res) -> set[tuple[str, str]]:
    return {(f.kind, f.address) for f in res.findings if f.severity in (SEVERE, WARN)}


@pytest.mark.parametrize("form", list(FORMS))
def test_audit_recomputes_each_saved_form(base: Path, tmp_path: Path, form: str) -> None:
    clean = audit_file(base, as_of=AS_OF)
    wb = copy(base, tmp_path / "b.xlsx")
    _in_form(wb, FORMS[form])
    formulas = read_sheet(wb, "客户").formulas
    assert formulas and all(f.startswith(FORMS[form]) for f in formulas.values())
    res = audit_file(wb, as_of=AS_OF)
    assert res.stats["ours"] == clean.stats["ours"] == len(formulas)
    assert res.stats["not_checked"] == 0 and not res.not_checked
    assert res.stats["checked"] == len(formulas)
    assert _serious(res) == _serious(clean)
    # a cached value that is not the function's result is found, in this form too
    cid = "KH100004"
    r, o = row_of(wb, cid), letter(wb, "计算级别")
    shown = read_sheet(wb, "客户").value(r, read_sheet(wb, "客户").col_of("计算级别"))
    wrong = "VIP客户" if shown != "VIP客户" else "普通客户"
    set_formula_xml(wb, f"{o}{r}", None, wrong)
    res = audit_file(wb, as_of=AS_OF)
    assert ("formula_mismatch", f"客户!{o}{r}") in _serious(res)
    cell = explain_cell({n: read_sheet(wb, n) for n in ("客户",)}, f"客户!{o}{r}", as_of=AS_OF)
    assert cell.status == "mismatch" and cell.cached == wrong


def test_plain_form_leaves_text_and_other_functions_alone() -> None:
    assert plain_form("[1]!CLIENT_TIER(F2,G2)") == "CLIENT_TIER(F2,G2)"
    assert plain_form("'C:\\a b\\client_rating.xlam'!RISK_CLASS(K2)") == "RISK_CLASS(K2)"
    assert plain_form("_xludf.RISK_CLASS(K2)") == "RISK_CLASS(K2)"
    assert plain_form('IF(A1="[1]!CLIENT_TIER(x)",[2]!CLIENT_TIER(F2,G2),0)') == \
        'IF(A1="[1]!CLIENT_TIER(x)",CLIENT_TIER(F2,G2),0)'
    assert plain_form("[1]!MY_FUNC(F2)") == "[1]!MY_FUNC(F2)"
    assert plain_form("'客户'!F2+1") == "'客户'!F2+1"
    assert plain_form("SUM('x.xlsx'!CLIENT_TIERS)") == "SUM('x.xlsx'!CLIENT_TIERS)"
