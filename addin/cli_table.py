"""``client-rating rate-table`` — rate a head office's clients from a warehouse extract
(Parquet or CSV) with the same rules, validation and modes as a workbook run
(docs/headoffice.md).

Exit status: 0 done (no row rejected), 1 done with rejected rows (listed in
``rejections.parquet``), 2 nothing done (bad settings, unreadable input; one Chinese line).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_OK, EXIT_REJECTED, EXIT_FATAL = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rate-table", help="总部：对数据仓库导出的客户表（Parquet/CSV）评级")
    p.add_argument("input", help="Parquet 文件或目录、CSV 文件（列名同“客户”工作表，中英文均可）")
    p.add_argument("--period", required=True, help="评级期间：2026Q3、2026、2026-11")
    p.add_argument("--mode", required=True, choices=("quarterly", "annual", "new-accounts"),
                   help="季度 / 年度 / 新开户评级")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="输出目录：decisions.parquet、rejections.parquet、summary.json/.xlsx")
    p.add_argument("--rulebook", default="brokerage", help="规则（默认 brokerage）")
    p.add_argument("--engine", default="local", choices=("local", "spark"),
                   help="local：本机流式处理（默认）；spark：PySpark")
    p.add_argument("--operator", required=True, help="操作员")
    p.add_argument("--workers", type=int, default=None, help="本机进程数（默认 1；2 个约快两成、内存约加倍）")
    p.add_argument("--force", action="store_true",
                   help="该评级期间和模式已评过（见输出目录的 history）时仍然重评")
    p.set_defaults(func=cmd_rate_table)

    a = sub.add_parser("audit-table", help="总部：核对 rate-table 输出目录的评级历史是否被改动")
    a.add_argument("dir", help="rate-table 的输出目录（含 history/）")
    a.set_defaults(func=cmd_audit_table)


def _guard(fn: Any) -> int:
    from rules.errors import RuleError
    from workbook.schema import WorkbookError

    try:
        return int(fn())
    except (WorkbookError, RuleError) as e:
        print(f"错误：{getattr(e, 'message', None) or e}", file=sys.stderr)
    except OSError as e:
        print(f"错误：读写文件失败：{e.strerror or e}（{e.filename or ''}）", file=sys.stderr)
    return EXIT_FATAL


def cmd_rate_table(args: argparse.Namespace) -> int:
    def run() -> int:
        from workbook.table import rate_table

        kw = {"period": args.period, "mode": args.mode, "out": args.out,
              "rulebook": args.rulebook, "operator": args.operator, "force": args.force}
        if args.engine == "spark":
            from workbook.table.spark import rate_table_spark

            res = rate_table_spark(args.input, **kw)
        else:
            with _progress() as say:
                res = rate_table(args.input, workers=args.workers, progress=say, **kw)
        if res.already_applied:
            print(f"评级期间 {res.period}（{res.mode}）已评过（运行 {'、'.join(res.already_applied)}），"
                  f"本次未做任何更改；如需重评请加 --force。")
            return EXIT_OK
        print(f"评级期间 {res.period}（{res.mode}，{res.rulebook_ref}，引擎 {res.engine}）：读入 "
              f"{res.rows_in} 行，本次评级 {res.in_scope} 位，拒绝 {res.rejected} 行。")
        for k, n in sorted(res.changed.items()):
            print(f"  {k or '（无变动）'}：{n}")
        for name, path in res.files.items():
            print(f"  {name}: {path}")
        return EXIT_REJECTED if res.rejected else EXIT_OK

    return _guard(run)


class _progress:
    """A progress bar on a terminal (rich); nothing otherwise."""

    def __enter__(self) -> Any:
        if not sys.stderr.isatty():
            self.bar = None
            return None
        from rich.progress import Progress

        self.bar = Progress(transient=True)
        self.bar.start()
        self.task = self.bar.add_task("评级", total=None)

        def say(done: int, total: int) -> None:
            self.bar.update(self.task, completed=done, total=total)  # type: ignore[union-attr]

        return say

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()


def cmd_audit_table(args: argparse.Namespace) -> int:
    """Exit 0: the history is as written; 1: edits found (listed); 2: no history."""
    def run() -> int:
        from pathlib import Path

        from workbook.table.history import HISTORY, runs, verify

        if not (Path(args.dir) / HISTORY).is_dir():
            print(f"错误：{args.dir} 中没有评级历史（{HISTORY}/）。", file=sys.stderr)
            return EXIT_FATAL
        found = verify(args.dir)
        n = len(runs(Path(args.dir) / HISTORY))
        if not found:
            print(f"评级历史完好：{n} 次运行，各数据文件摘要、Merkle 根与运行间的链接均相符。")
            return EXIT_OK
        print(f"评级历史被改动（{len(found)} 处）：")
        for f in found:
            print(f"  {f}")
        return EXIT_REJECTED

    return _guard(run)
