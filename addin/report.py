"""The result of a run as the console shows it (``client-rating rerate`` and ``demo``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from rules.errors import show
from rules.rerating import MODE_LABELS
from workbook.job import RunResult
from workbook.transfers import shown as transfers_shown


def print_result(res: RunResult, console: Console | None = None, *, max_rows: int = 12) -> None:
    """The run's summary as rich tables (``client-rating rerate`` and ``client-rating demo``)."""
    console = console or Console()
    t = Table(title=f"{MODE_LABELS.get(res.mode, res.mode)} {res.period} — {res.rulebook_ref}")
    t.add_column("级别")
    t.add_column("评级前", justify="right")
    t.add_column("评级后", justify="right")
    for k in res.before:
        t.add_row(k, str(res.before[k]), str(res.after.get(k, 0)))
    console.print(t)
    c = Table(title="级别变动")
    c.add_column("变动")
    c.add_column("客户数", justify="right")
    for k, v in res.change_counts.items():
        c.add_row(k, str(v))
    c.add_row("数据有误未处理", str(len(res.rejections)))
    console.print(c)
    if res.rejections:
        r = Table(title=f"被拒绝的行（共 {len(res.rejections)} 行，单元格保持原样）")
        for h in ("行", "客户编号", "列", "值", "原因"):
            r.add_column(h)
        for row, cid, col, val, why in res.rejections[:max_rows]:
            several = "、" in col and isinstance(val, str)  # (values already shown, joined by ；)
            r.add_row(str(row), cid, col, val if several else show(val), why)
        console.print(r)
    if res.gaps:
        g = Table(title=f"落在规则缺口的客户（共 {len(res.gaps)} 位，按兜底规则评级）")
        for h in ("行", "客户编号", "本次级别", "说明"):
            g.add_column(h)
        for row, cid, tier, what in res.gaps[:max_rows]:
            g.add_row(str(row), cid, tier, what)
        console.print(g)
        if len(res.gaps) > max_rows:
            console.print(f"……另有 {len(res.gaps) - max_rows} 位，全部见“汇总”。")
    if res.flags:
        f = Table(title=f"已评级、但有字段待更正（共 {len(res.flags)} 行，该字段的结果保持原样）")
        for h in ("行", "客户编号", "列", "值", "原因"):
            f.add_column(h)
        for row, cid, col, val, why in res.flags[:max_rows]:
            f.add_row(str(row), cid, col, show(val), why)
        console.print(f)
    if res.transfer_findings:
        tf = Table(title=f"“转销户”不合规（共 {len(res.transfer_findings)} 项，工作表未改动）")
        for h in ("行", "列", "值", "问题"):
            tf.add_column(h)
        for f in res.transfer_findings[:max_rows]:
            tf.add_row(str(f.row), f.column, "" if f.row == 1 else transfers_shown(f.value),
                       f.message)
        console.print(tf)
        if len(res.transfer_findings) > max_rows:
            console.print(f"……另有 {len(res.transfer_findings) - max_rows} 项")
    for w in res.warnings:
        console.print(f"[yellow]警告：{w}[/yellow]")
    console.print(res.message)
