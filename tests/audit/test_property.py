"""Clean workbooks produced by the product give zero findings (严重/警告).

Random branches: the demo generator's clients (random size and seed) made policy-clean
(questionnaires younger than two years, no figures on a rule gap, overrides approved; the rows
the job rejects are kept or not), written by the template, then re-rated by the job in a random
subset of 2026Q3 quarterly → 2026-11 new accounts → 2026Q4 quarterly → 2026 annual. Between runs
and after the last one, staff work the way they do: figures updated (as Excel does, the formula
cells recalculate), questionnaires retaken, approved overrides set or withdrawn, new clients
appended at the bottom (values only, no formulas). None of that may give a 严重 or 警告 finding.

Allowed 提示 (informational, see docs/audit.md): a cached "" where RISK_CLASS of an empty score
gives an "#N/A …为空" text; rows the job rejects; a tier never rated because its row is always
rejected; figures changed since the last run (the digest proves the tier untouched); appended rows
without the column formulas, and the risk class the job wrote into them.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
from audit_fixtures import (
    AS_OF,
    TODAY,
    clean_clients,
    set_formula_xml,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import udfs
from workbook.audit import INFO, audit_file
from workbook.job import rerate
from workbook.template import new_workbook
from workbook.xlsxio import SheetEdit, col_letter, patch_workbook, read_sheet

RUNS = {
    "q3": ("2026Q3", "quarterly", dt.datetime(2026, 10, 9, 10, 0)),
    "m11": ("2026-11", "new-accounts", dt.datetime(2026, 12, 3, 9, 0)),
    "q4": ("2026Q4", "quarterly", dt.datetime(2027, 1, 5, 9, 0)),
    "a": ("2026", "annual", dt.datetime(2027, 1, 6, 9, 30)),
}
ORDER = ("q3", "m11", "q4", "a")
ALLOWED_INFO = {"formula_not_computed", "invalid_row", "invalid_field", "tier_never_rated",
                "figures_changed",
                "formula_missing", "overwritten_formula", "risk_class_missing",
                "risk_class_mismatch"}


def _staff_edits(path: Path, rng: np.random.Generator, n_edits: int, new_id: list[int],
                 append: bool) -> None:
    """Figures updated in Excel (formula caches recalculated), questionnaires retaken,
    approved overrides set or withdrawn, new accounts appended."""
    d = read_sheet(path, "客户")
    col = {h: c for c, h in enumerate(d.header, start=1)}
    ids = d.column("客户编号")
    rows = [r for r in range(2, d.n_rows + 1) if ids[r - 2] and ids.count(ids[r - 2]) == 1]
    cells: dict[tuple[int, int], object] = {}
    for _ in range(n_edits):
        r = int(rng.choice(rows))
        what = rng.integers(4)
        if what == 0:  # new figures: the value, and the cached 计算级别 Excel recomputes
            a = float(np.round(np.exp(rng.normal(np.log(300_000), 1.5)), 2))
            if a == 10_000_000.0:
                a += 1
            set_cells_rc(path, {(r, col["资产权益"]): a})
            f = d.formulas.get((r, col["计算级别"]))
            if f is not None:
                set_formula_xml(path, f"{col_letter(col['计算级别'])}{r}", None,
                                udfs.CLIENT_TIER(a, d.value(r, col["上年度净佣金"])))
        elif what == 1:  # a questionnaire retaken
            score = float(rng.integers(9, 101))
            set_cells_rc(path, {(r, col["风险测评得分"]): score,
                                (r, col["测评日期"]): AS_OF - dt.timedelta(days=3)})
            if d.formulas.get((r, col["风险类别"])) is not None:
                set_formula_xml(path, f"{col_letter(col['风险类别'])}{r}", None,
                                udfs.RISK_CLASS(score))
            else:  # a value column (today's template): the class of the new questionnaire
                set_cells_rc(path, {(r, col["风险类别"]): udfs.RISK_CLASS(score)})
        elif what == 2:  # an approved special adjustment
            set_cells_rc(path, {(r, col["特别调整级别"]): str(rng.choice(["VIP客户", "核心客户"])),
                             (r, col["调整审批人"]): "分管副总 王某",
                             (r, col["调整原因"]): "战略客户"})
        else:  # an adjustment withdrawn
            set_cells_rc(path, {(r, col["特别调整级别"]): None, (r, col["调整审批人"]): None})
    if append:  # two new accounts opened in November, typed in at the bottom
        n = d.n_rows
        for k in range(2):
            new_id[0] += 1
            r = n + 1 + k
            cells.update({(r, col["客户编号"]): f"XK{new_id[0]:05d}",
                          (r, col["开户日期"]): dt.datetime(2026, 11, 3 + k),
                          (r, col["资产权益"]): float(rng.integers(5_000, 3_000_000)),
                          (r, col["风险测评得分"]): float(rng.integers(9, 101)),
                          (r, col["测评日期"]): dt.datetime(2026, 11, 3 + k)})
    if cells:
        patch_workbook(path, path, {"客户": SheetEdit(cells=cells)})


def set_cells_rc(path: Path, cells: dict[tuple[int, int], object]) -> None:
    patch_workbook(path, path, {"客户": SheetEdit(cells=cells)})


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(n=st.integers(20, 70), seed=st.integers(0, 100_000),
       runs=st.lists(st.sampled_from(ORDER), min_size=1, max_size=4, unique=True),
       keep_bad=st.booleans(), edits=st.integers(0, 4), append=st.booleans(),
       layout=st.sampled_from(("values", "per-row")))
@example(n=20, seed=1613, runs=["m11", "q4"], keep_bad=False, edits=3, append=True,
         layout="per-row")  # a new account below per-row formulas (once got a 计算级别 value)
def test_product_made_branches_have_no_findings(n, seed, runs, keep_bad, edits, append, layout):
    runs = sorted(runs, key=ORDER.index)
    rng = np.random.default_rng(seed)
    new_id = [0]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "branch.xlsx"
        new_workbook(path, "brokerage", clean_clients(n, seed, keep_bad_rows=keep_bad),
                     as_of=TODAY, formulas=layout)
        for k, name in enumerate(runs):
            _staff_edits(path, rng, edits, new_id, append and name == "m11")
            period, mode, now = RUNS[name]
            rerate(path, period=period, mode=mode, operator="测试员", now=now,
                   force=k > 0 and rng.random() < 0.2)
        _staff_edits(path, rng, edits, new_id, False)
        res = audit_file(path, as_of=AS_OF)
    bad = [(f.severity, f.kind, f.address, f.explanation) for f in res.findings
           if f.severity != INFO]
    assert bad == [], bad
    assert {f.kind for f in res.findings} <= ALLOWED_INFO
    assert not res.not_checked and res.exit_code == 0
