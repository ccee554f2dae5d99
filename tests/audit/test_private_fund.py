"""The audit follows the workbook's rulebook: a private-fund branch (日均资产, 上年度管理费,
=CLIENT_TIER(H2,I2,"private-fund")) is recomputed and proven with private-fund@2024.1."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from audit_fixtures import set_cells

from workbook.audit import SEVERE, WARN, audit_file
from workbook.job import rerate
from workbook.template import new_workbook

ROWS = [(6e6, 0, "普通客户"), (5e6, 0, None), (1e6, 20_000, "VIP客户"), (100, 0, "核心客户"),
        (7e5, 0, None)]


def test_private_fund_branch(tmp_path: Path) -> None:
    clients = [{"客户编号": f"PF{k}", "日均资产": a, "上年度管理费": f, "风险测评得分": 50,
                "测评日期": dt.date(2026, 5, 1), "当前级别": t}
               for k, (a, f, t) in enumerate(ROWS)]
    p = new_workbook(tmp_path / "pf.xlsx", "private-fund", clients, as_of=dt.date(2026, 9, 1),
                     formulas="per-row")  # (the layout of earlier workbooks: formulas audited)
    rerate(p, period="2026Q3", mode="quarterly", rulebook="private-fund", operator="t",
           now=dt.datetime(2026, 10, 9))
    res = audit_file(p, as_of=dt.date(2026, 11, 21))
    assert res.rulebook == "private-fund@2024.1"
    assert res.stats["checked"] == res.stats["ours"] == 10
    bad = {(f.kind, f.address, f.rule) for f in res.findings if f.severity in (SEVERE, WARN)}
    assert bad == {("gap_figures", "客户!H3", "PF-ORD-1")}  # 日均资产 exactly 5,000,000
    set_cells(p, {"N6": "VIP客户"})  # PF4: 日均资产 700,000 -> B类核心
    res = audit_file(p, as_of=dt.date(2026, 11, 21))
    f = next(f for f in res.findings if f.address == "客户!N6")
    assert (f.kind, f.found, f.supported, f.rulebook) == (
        "tier_typed_over", "VIP客户", "核心客户", "private-fund@2024.1")
