"""TIER_EXPLAIN and RULES_VERSION, called as Excel calls them, agree with what the audit reports
for the same cell.

The functions are called through xlwings' own machinery (the real ``xlwings.udfs`` decorators
and ``xlwings.conversion`` with the Windows engine's value cleaning, win32 stubbed) — the
harness of tests/udfs/test_udfs_xlwings.py, reused here — with the values of the cells the
formula refers to.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from audit_fixtures import AS_OF, build_branch, copy, row_of, set_formula_xml

from workbook.audit import audit_file, explain_cell, read_workbook
from workbook.xlsxio import read_sheet

_HARNESS = Path(__file__).parents[1] / "udfs" / "test_udfs_xlwings.py"
_spec = importlib.util.spec_from_file_location("udfs_xlwings_harness", _HARNESS)
assert _spec is not None and _spec.loader is not None
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
xl = _mod.xl  # the module-scoped fixture: udfs decorated by the real xlwings.udfs
call, MISSING = _mod.call, _mod.MISSING


@pytest.fixture(scope="module")
def branch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_branch(tmp_path_factory.mktemp("agree") / "branch.xlsx", n=30, seed=21)


def _inputs(path: Path, r: int) -> tuple[object, object]:
    d = read_sheet(path, "客户")
    return d.value(r, d.col_of("资产权益")), d.value(r, d.col_of("上年度净佣金"))


def test_tier_cells_agree_with_excel_functions(xl, branch: Path) -> None:
    sheets = read_workbook(branch)
    d = sheets["客户"]
    o = d.col_of("计算级别")
    for r in range(2, 14):
        a, c = _inputs(branch, r)
        cell = explain_cell(sheets, f"客户!O{r}", as_of=AS_OF)
        assert o == 15 and cell.formula == f"=CLIENT_TIER(F{r},G{r})"
        tier = call(xl, "CLIENT_TIER", a, c, MISSING)[0][0]
        reason = call(xl, "TIER_EXPLAIN", a, c, MISSING)[0][0]
        version = call(xl, "RULES_VERSION", MISSING, MISSING)[0][0]
        assert cell.status == "ok" and cell.cached == cell.computed == tier
        if tier.startswith("#"):
            assert reason == tier and cell.rule == ""
            continue
        assert cell.reason == reason
        assert cell.version == version
        assert cell.rulebook == version.split("，")[0] == "brokerage@2009.1"
        assert f"({cell.rule}, {cell.rulebook})" in reason


def test_risk_class_cells_agree_with_excel_functions(xl, branch: Path) -> None:
    sheets = read_workbook(branch)
    d = sheets["客户"]
    k = d.col_of("风险测评得分")
    for r in range(2, 10):
        cell = explain_cell(sheets, f"客户!T{r}", as_of=AS_OF)
        score = d.value(r, k)
        got = call(xl, "RISK_CLASS", score, MISSING)[0][0]
        assert cell.computed == got
        assert cell.version == call(xl, "RULES_VERSION", "risk-class", MISSING)[0][0]
        if score is not None:
            assert cell.rulebook == cell.version.split("，")[0] and cell.rule.startswith("RISK-")


def test_a_finding_names_what_the_excel_functions_say(xl, branch: Path, tmp_path: Path) -> None:
    wb = copy(branch, tmp_path / "t.xlsx")
    cid = "KH100004"
    r = row_of(wb, cid)
    a, c = _inputs(wb, r)
    tier = call(xl, "CLIENT_TIER", a, c, MISSING)[0][0]
    fake = "VIP客户" if tier != "VIP客户" else "普通客户"
    set_formula_xml(wb, f"O{r}", None, fake)
    res = audit_file(wb, as_of=AS_OF)
    f = next(f for f in res.findings if f.address == f"客户!O{r}")
    assert (f.found, f.supported) == (fake, tier)
    reason = call(xl, "TIER_EXPLAIN", a, c, MISSING)[0][0]
    assert reason in f.explanation
    assert f.rulebook == call(xl, "RULES_VERSION", MISSING, MISSING)[0][0].split("，")[0]
    assert f"({f.rule}, {f.rulebook})" in reason
    cell = explain_cell(read_workbook(wb), f"客户!O{r}", as_of=AS_OF)
    assert cell.status == "mismatch" and (cell.rule, cell.rulebook) == (f.rule, f.rulebook)
