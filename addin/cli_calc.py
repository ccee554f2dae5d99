"""``client-rating calc install``: build the LibreOffice Calc extension client_rating.oxt and
install it with ``unopkg`` (docs/calc.md).

The extension records this Python environment (the project's folder and site-packages) in its
``env.json``: the functions and the button run the project's code inside LibreOffice's own
Python from there. Run it again after moving or rebuilding the environment.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calc", help="LibreOffice Calc 扩展 client_rating.oxt（函数与重评级按钮）",
                       description="LibreOffice Calc 扩展：客户分级函数（=CLIENT_TIER(…) 等）与重评级按钮。")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
    csub = p.add_subparsers(dest="calc_command", metavar="install|template")
    i = csub.add_parser(
        "install", help="生成 client_rating.oxt 并用 unopkg 安装到 LibreOffice",
        description=("生成 client_rating.oxt（Calc 加载项函数、“客户分级”菜单与工具栏、控制台按钮宏），"
                     "其中记录本 Python 环境，然后用 unopkg 安装。安装后请重新启动 LibreOffice。"))
    i.add_argument("--out", default="out/calc", metavar="目录", help="扩展文件写到此文件夹（默认 out/calc）")
    i.add_argument("--profile", default=None, metavar="目录",
                   help="安装到此 LibreOffice 用户配置文件夹（默认当前用户的配置）")
    i.add_argument("--shared", action="store_true", help="为本机所有用户安装（unopkg --shared，需管理员权限）")
    i.add_argument("--build-only", action="store_true", help="只生成 .oxt，不安装")
    i.set_defaults(func=cmd_install)
    t = csub.add_parser(
        "template", help="生成 Calc 用的客户工作簿（.ods，控制台按钮已绑定扩展的宏）",
        description="按模板新建客户工作簿并由 LibreOffice 另存为 .ods：控制台的按钮绑定已安装扩展的宏。")
    t.add_argument("path", metavar="文件.ods")
    t.add_argument("--rulebook", default="brokerage", help="规则（默认 brokerage）")
    t.add_argument("--demo", type=int, default=0, metavar="N", help="写入 N 位演示客户（默认不写）")
    t.add_argument("--shared", action="store_true",
                   help="按钮指向为所有用户安装的扩展（calc install --shared）")
    t.set_defaults(func=cmd_template)


def cmd_install(args: argparse.Namespace) -> int:
    from workbook.schema import WorkbookError

    from .calc import build

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        oxt = build.build_oxt(out)
        print(f"已生成 {oxt}")
        if args.build_only:
            print(f"安装：unopkg add {oxt}（或 LibreOffice：工具 → 扩展管理器 → 添加）。")
            return 0
        build.install(oxt, args.profile, shared=args.shared)
    except WorkbookError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 1
    print("已安装到 LibreOffice。请重新启动 LibreOffice，然后在 Calc 中输入 =CLIENT_TIER(F2;G2)；"
          "重评级：菜单“客户分级”或工具栏按钮。")
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    from workbook.schema import WorkbookError

    from .calc.template import make_template

    clients = None
    if args.demo:
        from workbook.demo import make_demo_clients

        clients = make_demo_clients(args.demo)
    try:
        out = make_template(args.path, args.rulebook, clients,
                            location="share" if args.shared else "user")
    except WorkbookError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 1
    print(f"已生成 {out}：在 Calc 中打开，填写控制台的评级期间与操作员后点击按钮。")
    return 0
