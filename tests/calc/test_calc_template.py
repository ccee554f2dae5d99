"""The Calc workbook of ``client-rating calc template``: its 控制台 buttons are bound to macros of
the installed extension that exist; the 客户分级 menu's commands exist and, dispatched on the
document as the menu does, run the job; a rerun asks (default no); 汇总 gets its chart; the audit
of what Calc saved finds nothing severe."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path
from typing import Any

from test_calc_button import by_id, rows

from addin.calc import build
from addin.calc.template import MACROS, macro_url, make_template
from workbook.audit import audit_file
from workbook.console import BUTTONS
from workbook.demo import make_demo_clients
from workbook.job import rerate
from workbook.template import new_workbook

TODAY = dt.date(2026, 10, 9)
CONSOLE = {"评级期间": "2026Q3", "操作员": "张经理"}


def menu() -> dict[str, str]:
    """The 客户分级 menu of the extension's Addons.xcu: title → command URL."""
    text = (build.EXT / "Addons.xcu").read_text(encoding="utf-8")
    found = re.findall(r'<node oor:name="m\d+".*?<value>([^<]+)</value>.*?'
                       r'<value xml:lang="zh-CN">([^<]+)</value>', text, re.S)
    return {title: url.replace("&amp;", "&") for url, title in found}


def test_the_template_buttons_are_bound_to_macros_that_exist(office: Any, tmp_path: Path) -> None:
    ods = make_template(tmp_path / "branch.ods", "brokerage", make_demo_clients(20, 3, today=TODAY))
    controls = office.run("controls", path=str(ods), sheet="控制台")
    assert [c["label"] for c in controls] == [caption for caption, _k in BUTTONS]
    for c, (_caption, key) in zip(controls, BUTTONS, strict=True):
        assert c["events"] == [["XActionListener", "actionPerformed", "Script",
                                macro_url(MACROS[key])]]
        assert c["resolves"] == [True], c
    # a URL naming no macro does not resolve (the check can fail)
    assert office.run("steps", path=str(ods), steps=[
        {"resolves": macro_url("no_such_macro")}])[0] is not True
    with zipfile.ZipFile(build.build_oxt(tmp_path)) as z:
        assert "python/client_rating_button.py" in z.namelist()


def test_the_menu_runs_the_job_a_rerun_asks_and_summary_gets_a_chart(office: Any,
                                                                       tmp_path: Path) -> None:
    clients = make_demo_clients(150, 5, today=TODAY)
    ods = make_template(tmp_path / "branch.ods", "brokerage", clients)
    headless = new_workbook(tmp_path / "headless.xlsx", "brokerage", clients)
    rerate(headless, period="2026Q3", mode="quarterly", operator="张经理")
    entries = menu()
    assert set(entries) == {"按控制台重评级", "季度重评级", "年度评级", "新开户评级", "审计检查"}
    out = tmp_path / "calc-out.xlsx"
    quarterly = macro_url(MACROS["quarterly"])
    got = office.run("steps", path=str(ods), steps=[
        *({"resolves": url} for url in entries.values()),
        {"console": CONSOLE},
        {"dispatch": entries["季度重评级"]},   # the menu entry, as clicked
        {"rows": "变更记录"},
        {"invoke": quarterly, "args": ["no"]},  # the same period again: asked, answered no
        {"rows": "变更记录"},
        {"invoke": quarterly},                  # no answer given, no window: no
        {"rows": "变更记录"},
        {"charts": "汇总"},
        {"save": str(out)},
        {"invoke": quarterly, "args": ["yes"]},  # yes: run again, logged as forced
        {"rows": "变更记录"},
        {"charts": "汇总"},
        {"dispatch": entries["审计检查"]},
        {"rows": "审计"},
    ])
    n = len(entries)
    assert got[:n] == [True] * n
    ran, logged, after_no, after_none, charts = got[n + 1], got[n + 2], got[n + 4], got[n + 6], \
        got[n + 7]
    after_yes, charts_again, audit_ran, audit_rows = got[n + 10], got[n + 11], got[n + 12], got[n + 13]
    assert ran is True and audit_ran is True
    assert logged > 2 and after_no == logged and after_none == logged
    assert after_yes > logged
    assert charts == 1 and charts_again == 1
    assert audit_rows and audit_rows > 3
    # what the menu's run wrote equals the headless job's on the same clients
    want, have = by_id(rows(headless, "客户")), by_id(rows(out, "客户"))
    assert set(have) == set(want) and len(want) > 100
    diffs = [(cid, h, have[cid].get(h), v) for cid, row in want.items() for h, v in row.items()
             if have[cid].get(h) != v]
    assert not diffs, f"{len(diffs)} cells differ, e.g. {diffs[:5]}"
    # 汇总's chart is in the file Calc saved, and the audit of that file finds nothing severe
    with zipfile.ZipFile(out) as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())
    result = audit_file(out, as_of=TODAY)
    assert result.count("严重") == 0, [f for f in result.findings if f.severity == "严重"][:3]
