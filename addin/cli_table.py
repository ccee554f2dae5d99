"""``client-rating rate-table`` — rate a head office's clients from a warehouse extract
(Parquet or CSV) with the same rules, validation and modes as a workbook run
(docs/headoffice.md).

Exit status: 0 done (no row rejected), 1 done with rejected rows (listed in
``rejections.parquet``), 2 nothing done (bad settings, unreadable input; one Chinese line).
"""

from __future__ import annotations

import argparse
import os
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
    p.add_argument("--spark-read", default="auto", choices=("auto", "spark"),
                   help="spark 引擎读 Parquet 的方式：auto（默认，Parquet 文件或目录由各任务用 "
                        "pyarrow 按行组读取；CSV、Hive 表名等仍由 Spark 读）；spark（总由 Spark 读）")
    p.add_argument("--operator", required=True, help="操作员")
    p.add_argument("--workers", type=int, default=None,
                   help="本机评级进程数（默认：4 核及以上且不少于 100 万行时 2，否则 1；双核机器上 2 个并不更快）")
    p.add_argument("--force", action="store_true",
                   help="该评级期间和模式已评过（见输出目录的 history）时仍然重评")
    p.set_defaults(func=cmd_rate_table)

    push = sub.add_parser("push-branches", help="总部：把 rate-table 的评级决定写回各营业部的工作簿")
    push.add_argument("decisions", help="rate-table 的输出目录或其中的 decisions.parquet")
    push.add_argument("--workbooks", required=True, metavar="DIR",
                      help="各营业部工作簿所在的文件夹（按“客户”表的营业部列匹配，列为空时按文件名）")
    push.add_argument("--template", action="store_true",
                      help="没有工作簿的营业部按模板新建（需 --extract）")
    push.add_argument("--extract", default=None, metavar="INPUT",
                      help="rate-table 所评的总部数据（Parquet/CSV）：工作簿中没有的客户从中取整行添加")
    push.add_argument("--operator", default=None, help="操作员（默认当前登录用户，同 rerate）")
    push.add_argument("--dry-run", action="store_true", help="试运行：只报告，不写任何文件")
    push.add_argument("--force", action="store_true", help="工作簿已执行过该期间和模式时仍然写入")
    push.add_argument("--report", default=None, metavar="FILE",
                      help="报告 JSON 的路径（默认 DIR/push-report.json；试运行时默认不写）")
    push.add_argument("--mode", default=None, choices=("quarterly", "annual", "new-accounts"),
                      help="决定文件所属运行的模式（决定文件不在 rate-table 输出目录中时）")
    push.set_defaults(func=cmd_push_branches)

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
        if args.force:
            _say_forced(args)
        if args.engine == "spark":
            from workbook.table.spark import rate_table_spark

            res = rate_table_spark(args.input, read=args.spark_read, **kw)
        else:
            with _progress() as say:
                res = rate_table(args.input, workers=args.workers, progress=say, **kw)
        if res.already_applied:  # (the workbook job's words: workbook.run.write.outcome)
            from rules.rerating import MODE_LABELS

            print(f"{res.period} 的{MODE_LABELS[res.mode]}已执行过（运行编号 "
                  f"{res.already_applied[-1]}），本次未做任何更改。如确需重跑，请加 --force。")
            return EXIT_OK
        print(f"评级期间 {res.period}（{res.mode}，{res.rulebook_ref}，引擎 {res.engine}）：读入 "
              f"{res.rows_in} 行，本次评级 {res.in_scope} 位，拒绝 {res.rejected} 行。")
        for k, n in sorted(res.changed.items()):
            print(f"  {k or '（无变动）'}：{n}")
        for name, path in res.files.items():
            print(f"  {name}: {path}")
        return EXIT_REJECTED if res.rejected else EXIT_OK

    return _guard(_forced_order(run))


def _say_forced(args: argparse.Namespace) -> None:
    """A forced run of a period earlier than one in the history: said, as a workbook says it."""
    from pathlib import Path

    from workbook.table.history import HISTORY, check_order
    from workbook.table.steps import settle_run

    spec = settle_run(args.period, args.mode, args.rulebook, args.operator)
    why = check_order(Path(args.out) / HISTORY, spec, True)
    if why:
        print(f"警告：强制执行：{why}", file=sys.stderr)


def _forced_order(run: Any) -> Any:
    """A period earlier than one in the history: refused with the workbook job's words and
    how to go on anyway (exit 2, nothing done)."""
    def wrapped() -> int:
        from workbook.run.periods import PeriodOrderError

        try:
            return int(run())
        except PeriodOrderError as e:
            raise PeriodOrderError(f"{e}如确需按该期间补跑，请加 --force。") from None

    return wrapped


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
    """Exit 0: the history is as written; 1: edits found (listed); 2: no history. Runs that
    went back to an earlier period (forced) are listed as information, whatever the exit."""
    def run() -> int:
        from pathlib import Path

        from workbook.table.history import HISTORY, forced_runs, runs, verify

        if not (Path(args.dir) / HISTORY).is_dir():
            print(f"错误：{args.dir} 中没有评级历史（{HISTORY}/）。", file=sys.stderr)
            return EXIT_FATAL
        found = verify(args.dir)
        n = len(runs(Path(args.dir) / HISTORY))
        if not found:
            print(f"评级历史完好：{n} 次运行，各数据文件摘要、Merkle 根与运行间的链接均相符。")
        else:
            print(f"评级历史被改动（{len(found)} 处）：")
            for f in found:
                print(f"  {f}")
        for note in forced_runs(args.dir):
            print(f"说明：{note}")
        return EXIT_REJECTED if found else EXIT_OK

    return _guard(run)


def cmd_push_branches(args: argparse.Namespace) -> int:
    """Exit 0 every branch written (or nothing to do: pushed already); 3 written, but some
    clients not (listed); 1 a branch's workbook not written at all (listed); 2 nothing done."""
    def run() -> int:
        import json
        from pathlib import Path

        from workbook.push import push_branches

        rep = push_branches(args.decisions, args.workbooks, operator=_operator(args.operator),
                            force=args.force, dry_run=args.dry_run, template=args.template,
                            extract=args.extract, mode=args.mode)
        print_push(rep)
        out = args.report or (None if args.dry_run else Path(args.workbooks) / "push-report.json")
        if out is not None:
            Path(out).write_text(json.dumps(rep.as_json(), ensure_ascii=False, indent=2),
                                 encoding="utf-8")
            print(f"报告：{out}")
        return rep.exit_code

    return _guard(run)


def _operator(given: str | None) -> str:
    """The operator: as given, else the login name (as ``rerate``); "" is refused later."""
    if given:
        return given
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): asked for explicitly then
        return ""


def print_push(rep: Any) -> None:
    """The report as a table: one line per 营业部, then what was not written and why."""
    from rich.console import Console
    from rich.table import Table

    d = rep.decisions
    console = Console(soft_wrap=False, highlight=False, markup=False,
                      width=None if sys.stdout.isatty() else 160)
    console.print(f"总部决定 {d.path}（{d.period}，{d.mode}，{d.rulebook_ref}，"
                  f"sha256:{d.digest[:16]}）")
    t = Table(show_lines=False)
    for h in ("营业部", "状态", "决定", "写入", "变更", "单元格", "新增", "未添加", "未改动", "不符",
              "拒绝", "特别调整优先", "工作簿"):
        t.add_column(h)
    for b in rep.branches:
        t.add_row(b.branch, b.status, str(b.decided), str(b.written), str(b.changed),
                  str(b.cells), str(len(b.added)), str(len(b.not_in_workbook)),
                  str(len(b.not_decided)), str(len(b.conflicts)), str(len(b.rejected)),
                  str(len(b.overridden)), os.path.basename(b.workbook))
    console.print(t)
    for b in rep.branches:
        shown = [*b.conflicts[:5], *([f"工作簿中没有、未添加的客户 {len(b.not_in_workbook)} 位：" +
                                      "、".join(b.not_in_workbook[:5])] if b.not_in_workbook else [])]
        if b.exit_code or shown or b.warnings:
            console.print(f"{b.branch}：{b.message}")
            for line in shown:
                console.print(f"  {line}")
            for w in b.warnings[:3]:
                console.print(f"  警告：{w[:300]}")
    for path, why in rep.refused.items():
        console.print(f"未匹配：{path}：{why}")

