"""``client-rating rerate FILE …``, ``client-rating demo``, ``client-rating new-workbook PATH``.

Exit status of ``rerate``: 0 every row processed (or the period was already applied: a no-op
that says so), 3 some rows rejected (listed), 1 nothing written (unreadable file, wrong
period…). Errors are one Chinese line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rerate", help="对工作簿执行重评级（季度 / 年度 / 新开户）")
    p.add_argument("file", help="工作簿文件（.xlsx / .xlsm）")
    p.add_argument("--period", required=True, help="评级期间：2026Q3、2026 或 2026-11")
    p.add_argument("--mode", required=True, choices=("quarterly", "annual", "new-accounts"),
                   help="quarterly 季度重评级；annual 年度评级；new-accounts 新开户评级")
    p.add_argument("--rulebook", default="brokerage", help="规则（默认 brokerage）")
    p.add_argument("--operator", default=None, help="操作员（默认当前登录用户）")
    p.add_argument("--dry-run", action="store_true", help="试运行：只报告，不写文件")
    p.add_argument("--force", action="store_true", help="该期间已执行过时仍重跑")
    p.add_argument("--out", default=None, help="写到另一个文件（默认覆盖原文件）")
    p.add_argument("--suitability", default=None, metavar="REGIME",
                   help="适当性规则，如 csrc-2017：另填投资者类别、风险等级并核对“产品购买”（默认不启用）")
    p.set_defaults(func=cmd_rerate)

    d = sub.add_parser("demo", help="生成演示工作簿并执行上一完整季度的重评级")
    d.add_argument("--clients", type=int, default=2000, help="客户数（默认 2000）")
    d.add_argument("--out", default="out", help="输出目录（默认 out）")
    d.add_argument("--seed", type=int, default=7, help=argparse.SUPPRESS)
    d.set_defaults(func=cmd_demo)

    n = sub.add_parser("new-workbook", help="按模板新建空白客户工作簿")
    n.add_argument("path")
    n.add_argument("--rulebook", default="brokerage")
    n.set_defaults(func=cmd_new_workbook)


def _console() -> Console:
    return Console(soft_wrap=False, highlight=False, width=None if sys.stdout.isatty() else 160)


def _guard(fn: Callable[[], int]) -> int:
    """Run a command; product and file errors become one Chinese line on stderr and exit 1."""
    from .cli_errors import guard

    return guard(fn, 1)


def cmd_rerate(args: argparse.Namespace) -> int:
    from workbook.job import PROGRESS_STEPS

    from .report import print_result

    console = _console()
    operator = args.operator
    if not operator:
        try:
            operator = getpass.getuser()
        except Exception:  # no login name (containers): ask for it explicitly
            operator = ""

    def run() -> int:
        if console.is_terminal:  # a progress bar over the job's steps, with the current step
            with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                          console=console, transient=True) as bar:
                task = bar.add_task("重评级", total=PROGRESS_STEPS)

                def progress(msg: str) -> None:
                    bar.update(task, advance=1, description=msg)

                res = _rerate(args, operator, progress)
        else:
            res = _rerate(args, operator, None)
        if res.noop:  # nothing changed: say so, and how to force, without the tables
            for w in res.warnings:  # (a damaged log still matters; the run's timing does not)
                if w.startswith("变更记录"):
                    console.print(f"[yellow]警告：{w}[/yellow]")
            console.print(f"{res.message}如确需重跑，请加 --force（会在变更记录中记为强制重跑）。")
            return res.exit_code
        print_result(res, console)
        if res.written:
            console.print(f"已写入：{res.out_path}")
        return res.exit_code

    return _guard(run)


def _rerate(args: argparse.Namespace, operator: str, progress: Callable[[str], None] | None):
    from workbook.job import PeriodOrderError, rerate

    try:
        return rerate(args.file, period=args.period, mode=args.mode, rulebook=args.rulebook,
                      operator=operator, dry_run=args.dry_run, force=args.force, out=args.out,
                      progress=progress, suitability=args.suitability)
    except PeriodOrderError as e:  # (how to go on anyway is this front end's to say)
        raise PeriodOrderError(f"{e}如确需按该期间补跑，请加 --force（变更记录会记下“期间倒退=强制执行”）。") \
            from None


def cmd_demo(args: argparse.Namespace) -> int:
    from workbook.demo import run_demo

    from .buttons import WORKBOOK_MACROS
    from .report import print_result

    def run() -> int:
        console = _console()
        res = run_demo(args.clients, args.out, seed=args.seed, console=console,
                       macros=WORKBOOK_MACROS)
        print_result(res, console)
        console.print(f"文件：{res.out_path.resolve()}（工作表：客户、变更记录、汇总（含图表）、规则、控制台）")
        return 0 if res.written else 1

    return _guard(run)


def cmd_new_workbook(args: argparse.Namespace) -> int:
    from workbook.template import new_workbook

    from .buttons import WORKBOOK_MACROS

    def run() -> int:
        path = new_workbook(args.path, args.rulebook, macros=WORKBOOK_MACROS)
        print(f"已新建：{path}")
        return 0

    return _guard(run)
