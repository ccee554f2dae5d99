"""The re-rating button in Calc: its macro (run through UNO as the button runs it) on the demo
workbook leaves the same 客户 values, 变更记录 rows (time, run id and hashes aside) and 汇总 as
the headless job on a copy of the same file; the audit finds nothing severe on what Calc
saved, and the same as on the headless job's file."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

from workbook import history
from workbook.audit import audit_file
from workbook.demo import make_demo_clients
from workbook.job import rerate
from workbook.template import new_workbook
from workbook.xlsxio import read_sheet

MACRO = ("vnd.sun.star.script:client_rating.oxt|python|client_rating_button.py${}"
         "?language=Python&location=user:uno_packages")
TODAY = dt.date(2026, 10, 9)
VOLATILE = {"运行编号", "时间", "输入哈希", "哈希"}


def rows(path: Path, sheet: str) -> list[list[Any]]:
    d = read_sheet(path, sheet)
    return [[d.value(r, c) for c in range(1, d.n_cols + 1)] for r in range(1, d.n_rows + 1)]


def by_id(table: list[list[Any]]) -> dict[str, dict[str, Any]]:
    header = [str(h) for h in table[0]]
    return {str(r[0]): dict(zip(header, r, strict=False)) for r in table[1:] if r and r[0]}


def test_button_in_calc_equals_the_headless_job_on_the_demo_workbook(office: Any,
                                                                     tmp_path: Path) -> None:
    demo = new_workbook(tmp_path / "demo-branch.xlsx", "brokerage",
                        make_demo_clients(300, 7, today=TODAY))
    calc_in, headless = tmp_path / "calc.xlsx", tmp_path / "headless.xlsx"
    shutil.copyfile(demo, calc_in)
    shutil.copyfile(demo, headless)
    rerate(headless, period="2026Q3", mode="quarterly", operator="张经理")
    calc_out = tmp_path / "calc-out.xlsx"
    office.run("macro", path=str(calc_in), url=MACRO.format("rerate_quarterly"),
               out=str(calc_out), console={"评级期间": "2026Q3", "操作员": "张经理"})

    want, got = by_id(rows(headless, "客户")), by_id(rows(calc_out, "客户"))
    assert set(got) == set(want) and len(want) > 250
    diffs = [(cid, h, got[cid].get(h), v) for cid, row in want.items() for h, v in row.items()
             if got[cid].get(h) != v]
    assert not diffs, f"{len(diffs)} cells differ, e.g. {diffs[:5]}"

    def log(path: Path) -> list[list[Any]]:
        table = rows(path, "变更记录")
        keep = [k for k, h in enumerate(table[0]) if h not in VOLATILE]
        return [[r[k] for k in keep] for r in table]

    assert log(calc_out) == log(headless)
    assert len(log(calc_out)) > 2
    assert history.verify_chain(history.data_rows(rows(calc_out, "变更记录"))) == []
    def summary(path: Path) -> list[list[Any]]:  # (the run id and time rows aside)
        return [r for r in rows(path, "汇总") if not (r and str(r[0]) in VOLATILE | {"运行时间", "变更记录末行哈希"})]

    assert summary(calc_out) == summary(headless)
    assert len(summary(calc_out)) > 10
    # the audit: nothing severe, and exactly the findings it has on the headless job's file (the
    # demo's data-level warnings, e.g. overdue questionnaires, are in both)
    calc_audit, file_audit = audit_file(calc_out, as_of=TODAY), audit_file(headless, as_of=TODAY)
    assert calc_audit.count("严重") == 0, [f for f in calc_audit.findings if f.severity == "严重"][:3]
    assert [(f.severity, f.kind, f.sheet, f.cell) for f in calc_audit.findings] == \
        [(f.severity, f.kind, f.sheet, f.cell) for f in file_audit.findings]
