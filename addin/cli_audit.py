"""``client-rating audit FILE [--as-of DATE] [--report PATH.xlsx]`` — the auditor's toolkit.

Exit status: 0 no findings (提示 alone is informational), 1 findings (严重 or 警告; with
``--strict`` also 提示 and formula cells that could not be recomputed), 2 the file could not be
read or audited (missing, not a workbook, unsafe, no 客户 sheet) or the report could not be
written. The audited file is only read; ``--report`` writes a new workbook.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable

EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="审计工作簿：重算公式、核对当前级别与变更记录、检查制度执行")
    p.add_argument("file", help="被审计的工作簿（.xlsx / .xlsm），只读不改")
    p.add_argument("--as-of", default=None, metavar="DATE",
                   help="审计日期（默认今天），如 2026-11-21：问卷是否逾期、公式按哪天重算")
    p.add_argument("--report", default=None, metavar="PATH.xlsx",
                   help="另存审计报告为新的工作簿（发现清单带超链接到被审计文件的单元格，及汇总）")
    p.add_argument("--rulebook", default=None,
                   help="客户表所用的规则（默认取最近一次运行的规则版本，否则 brokerage）")
    p.add_argument("--max-rows", type=int, default=30, metavar="N",
                   help="屏幕上每个严重程度最多列出 N 条（默认 30；报告中全部列出）")
    p.add_argument("--strict", action="store_true",
                   help="提示和未能重算的公式也算作发现（退出码 1）")
    p.set_defaults(func=cmd_audit)


def _guard(fn: Callable[[], int]) -> int:
    """Product and file errors become one Chinese line on stderr and exit 2 (nothing was
    audited); so does a ValueError of the audit's own input checks (the date)."""
    from .cli_errors import guard

    return guard(fn, EXIT_UNREADABLE, also=(ValueError,))


def _as_of(text: str | None) -> dt.date | None:
    if text is None:
        return None
    from rules import cells

    d = cells.date(text, "审计日期")
    if d is None:
        raise ValueError("审计日期为空")
    return d


def cmd_audit(args: argparse.Namespace) -> int:
    from rich.console import Console

    from workbook.audit import audit_file
    from workbook.audit.report import print_audit, write_report

    width = None
    if not sys.stdout.isatty():
        cols = os.environ.get("COLUMNS", "")
        width = int(cols) if cols.isdigit() and int(cols) >= 60 else 200
    console = Console(soft_wrap=False, width=width)

    def run() -> int:
        as_of = _as_of(args.as_of)
        result = audit_file(args.file, as_of=as_of, rulebook=args.rulebook)
        print_audit(result, console, max_rows=max(args.max_rows, 0))
        if args.report:
            out = write_report(result, args.report, args.file)
            console.print(f"审计报告：{out}")
        if args.strict and (result.findings or result.not_checked):
            return EXIT_FINDINGS
        return EXIT_FINDINGS if result.has_findings else EXIT_OK

    return _guard(run)
