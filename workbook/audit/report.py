"""The audit's console report (rich) and the ``--report`` workbook (XlsxWriter, a new file).

The report workbook has three sheets: 审计发现 (one row per finding, the location a hyperlink to
the audited file's cell, e.g. ``external:branch.xlsx#'客户'!N7``), 汇总 (the summary and the counts
per check and severity) and 未检查公式 (formula cells the audit could not recompute). It is
written beside its destination and renamed into place; the audited file is only read.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import xlsxwriter
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .model import CHECKS, INFO, NOT_CHECKED, SEVERE, SEVERITIES, WARN, AuditResult
from .rows import FINDINGS_HEADER, findings_rows, overview, summary_rows

_STYLE = {SEVERE: "bold red", WARN: "yellow", INFO: "dim", NOT_CHECKED: "magenta"}
#: Excel keeps at most 65,530 hyperlinks per worksheet.
MAX_LINKS = 65_000


def _short(v: object, n: int = 60) -> str:
    s = "" if v is None else str(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def print_audit(result: AuditResult, console: Console | None = None, *, max_rows: int = 30) -> None:
    """Findings grouped by severity, with cell addresses; then what was not checked."""
    console = console or Console()
    s = result.stats
    head = f"审计：{result.path or '工作簿'}（审计日期 {result.as_of}，规则 {result.rulebook}）"
    console.print(Text(head, style="bold"))
    console.print(f"客户 {s.get('clients', 0)} 位；变更记录 {s.get('history_rows', 0)} 行、"
                  f"{s.get('runs', 0)} 次运行；调用本系统函数的公式 {s.get('ours', 0)} 个"
                  f"（已重算 {s.get('checked', 0)}，未检查 {s.get('not_checked', 0)}）")
    if result.findings:
        ov = Table(title="发现概览", title_justify="left")
        for h in ("检查", "类型", SEVERE, WARN, INFO):
            ov.add_column(h, justify="right" if h in SEVERITIES else "left")
        for chk, title, _kind, n_s, n_w, n_i in overview(result):
            ov.add_row(chk, title, *(Text(str(n), style=_STYLE[sev] if n else "dim")
                                     for sev, n in zip(SEVERITIES, (n_s, n_w, n_i), strict=True)))
        console.print(ov)
    rows = findings_rows(result)[1:]
    groups: dict[str, list[list[object]]] = {k: [] for k in (*SEVERITIES, NOT_CHECKED)}
    for r in rows:
        groups[str(r[0])].append(r)
    for sev in (*SEVERITIES, NOT_CHECKED):
        items = groups[sev]
        if not items:
            continue
        title = (f"[{sev}] {len(items)} 项" if sev != NOT_CHECKED
                 else f"[未检查] {len(items)} 个公式单元格无法重算（未视为通过）")
        t = Table(title=title, title_style=_STYLE[sev], title_justify="left", show_lines=False)
        for h in ("位置", "检查", "客户编号", "发现值", "应为", "说明"):
            t.add_column(h, overflow="fold", max_width=70 if h == "说明" else 24)
        limit = max_rows if sev in (SEVERE, WARN, NOT_CHECKED) else min(max_rows, 10)
        for r in items[:limit]:
            t.add_row(str(r[2]), str(r[1]), str(r[3]), _short(r[4], 24), _short(r[5], 24),
                      _short(r[6], 200))
        console.print(t)
        if len(items) > limit:
            console.print(f"  …另有 {len(items) - limit} 项（全部见 --report 报告）",
                          style=_STYLE[sev])
    for note in result.notes:
        console.print(f"[green]✓[/green] {note}")
    counts = "、".join(f"{sev} {result.count(sev)} 项" for sev in SEVERITIES)
    if result.has_findings:
        console.print(Text(f"结论：发现问题——{counts}。", style="bold red"))
    else:
        console.print(Text(f"结论：未发现严重或警告级别的问题（{counts}）。", style="bold green"))


def _link_target(audited: Path, report: Path) -> str:
    try:
        rel = os.path.relpath(audited.resolve(), report.resolve().parent)
    except ValueError:  # another drive (Windows)
        rel = str(audited.resolve())
    return rel.replace("\\", "/")


def write_report(result: AuditResult, report: str | os.PathLike[str],
                 audited: str | os.PathLike[str] | None = None) -> Path:
    """Write the report workbook at ``report`` (a new file; replaced atomically)."""
    report = Path(report)
    if audited is not None:
        a = Path(audited)
        if (a.exists() and report.exists() and os.path.samefile(a, report)) or \
                report.resolve() == a.resolve():
            raise ValueError("审计报告不能写到被审计的文件本身，请换一个文件名。")
    report.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{report.name}.", suffix=".tmp", dir=report.parent)
    os.close(fd)
    try:
        _write(result, Path(tmp), report, Path(audited) if audited else None)
        os.replace(tmp, report)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return report


def _write(result: AuditResult, tmp: Path, report: Path, audited: Path | None) -> None:
    rows = findings_rows(result)
    wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False,
                                        "constant_memory": len(rows) > 20_000})
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    target = _link_target(audited, report) if audited is not None else None
    _write_findings(wb, result, rows, bold, target)
    _write_summary(wb, result, bold)
    _write_not_checked(wb, result, bold)
    wb.close()


def _write_findings(wb: Any, result: AuditResult, rows: list[list[Any]], bold: Any,
                    target: str | None) -> None:
    """Sheet 审计发现: one row per finding, 位置 a link to the cell in the audited file."""
    fmt = {SEVERE: wb.add_format({"font_color": "#C00000", "bold": True}),
           WARN: wb.add_format({"font_color": "#9C5700"}),
           INFO: wb.add_format({"font_color": "#595959"}),
           NOT_CHECKED: wb.add_format({"font_color": "#7030A0"})}
    link = wb.add_format({"font_color": "#0563C1", "underline": 1})
    wrap = wb.add_format({"text_wrap": False})
    ws = wb.add_worksheet("审计发现")
    widths = [8, 10, 16, 12, 18, 18, 90, 12, 18]
    for c, h in enumerate(FINDINGS_HEADER):
        ws.write_string(0, c, h, bold)
        ws.set_column(c, c, widths[c])
    ws.freeze_panes(1, 0)
    locations = [f.link for f in result.findings] + [
        f"#'{nc.sheet}'!{nc.cell}" for nc in result.not_checked]
    for r, row in enumerate(rows[1:], start=1):
        sev = str(row[0])
        ws.write_string(r, 0, sev, fmt.get(sev))
        ws.write_string(r, 1, str(row[1]))
        loc = locations[r - 1]
        if target is not None and r <= MAX_LINKS:
            ws.write_url(r, 2, f"external:{target}{loc}", link, string=str(row[2]),
                         tip=f"打开 {target} 的 {row[2]}")
        else:
            ws.write_string(r, 2, str(row[2]))
        for c in range(3, len(row)):
            ws.write_string(r, c, str(row[c]), wrap)
    if len(rows) > 1:
        ws.autofilter(0, 0, len(rows) - 1, len(FINDINGS_HEADER) - 1)


def _write_summary(wb: Any, result: AuditResult, bold: Any) -> None:
    """Sheet 汇总: the summary rows, then the counts per check and severity."""
    wsum = wb.add_worksheet("汇总")
    wsum.set_column(0, 0, 22)
    wsum.set_column(1, 1, 100)
    srows = summary_rows(result)
    for r, row in enumerate(srows):
        for c, v in enumerate(row):
            wsum.write_string(r, c, str(v), bold if r == 0 else None)
    base = len(srows) + 1
    wsum.write_string(base, 0, "检查 \\ 严重程度", bold)
    for c, sev in enumerate(SEVERITIES, start=1):
        wsum.write_string(base, c, sev, bold)
    for k, chk in enumerate(CHECKS, start=1):
        wsum.write_string(base + k, 0, chk)
        for c, sev in enumerate(SEVERITIES, start=1):
            wsum.write_number(base + k, c, result.count(sev, chk))
    wsum.write_string(base + len(CHECKS) + 1, 0, "未检查的公式")
    wsum.write_number(base + len(CHECKS) + 1, 1, len(result.not_checked))


def _write_not_checked(wb: Any, result: AuditResult, bold: Any) -> None:
    """Sheet 未检查公式: 位置, 公式, 原因."""
    wn = wb.add_worksheet("未检查公式")
    for c, h in enumerate(("位置", "公式", "原因")):
        wn.write_string(0, c, h, bold)
    wn.set_column(0, 0, 16)
    wn.set_column(1, 1, 40)
    wn.set_column(2, 2, 70)
    for r, nc in enumerate(result.not_checked, start=1):
        wn.write_string(r, 0, nc.address)
        wn.write_string(r, 1, nc.formula)
        wn.write_string(r, 2, nc.reason)
