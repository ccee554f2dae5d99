"""The console command ``client-rating``: rules, re-rating, demo, audit, add-in setup.

Every sub-command returns an exit status; errors of the product become one clear Chinese
message on stderr (exit 1), never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Command groups, each a module with ``register(subparsers)``; a group that cannot be imported
# (not built yet, or a missing optional dependency) is left out with a note on --help.
COMMAND_MODULES = ("addin.cli_rules", "addin.cli_workbook", "addin.cli_audit", "addin.cli_addin",
                   "addin.cli_table", "addin.cli_calc")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="client-rating",
        description="客户分级：按公司制度对客户分级分类（规则、重评级、演示、审计、Excel 加载项）。")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    missing = []
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as e:  # the module, or a dependency of it, cannot be imported
            missing.append(f"{name}（{type(e).__name__}: {e}）")
            continue
        module.register(sub)
    if missing:
        parser.epilog = ("注意：以下命令组无法加载，其命令暂不可用：" + "；".join(missing)
                         + "。请检查安装（pip install -e .）。")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from rules.errors import ClientRatingError

    try:
        return int(args.func(args) or 0)
    except ClientRatingError as e:  # (commands guard their own; this is the last net)
        print(f"错误：{e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
