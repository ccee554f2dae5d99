"""``client-rating addin install [--dir DIR]``: build client_rating.xlam and install it.

On Windows the add-in goes to Excel's startup folder (``%APPDATA%\\Microsoft\\Excel\\XLSTART``),
which Excel opens at every start and trusts by default, configured for this interpreter; the
command then prints what the user still has to click. Elsewhere Excel does not run the add-in's
Python, so the file is only written (default ``out/addin``) and the command says so.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .buttons import ADDIN_FILENAME


class _Help(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups,
                                 "用法：" if prefix is None else prefix)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("addin", help="Excel 加载项 client_rating.xlam（功能区“客户分级”）",
                       description="Excel 加载项 client_rating.xlam：功能区“客户分级”选项卡与按钮。",
                       formatter_class=_Help, add_help=False)
    p.add_argument_group("选项").add_argument("-h", "--help", action="help", help="显示本帮助并退出")
    p.set_defaults(func=lambda args: _usage(p))
    asub = p.add_subparsers(dest="addin_command", metavar="install | selftest", title="命令")
    i = asub.add_parser(
        "install", help="生成加载项并安装到 Excel 启动文件夹（Windows）",
        formatter_class=_Help, add_help=False,
        description=(
            "生成 client_rating.xlam（功能区“客户分级”：季度重评级、年度评级、新开户评级、\n"
            "按控制台设置运行、审计检查、导入函数、自检；工作表函数随加载项提供），\n"
            "其中写入本 Python 解释器与 UDF 模块 udfs。\n"
            "Windows：复制到 %APPDATA%\\Microsoft\\Excel\\XLSTART，并列出需要在 Excel 中点击的步骤。\n"
            "其他系统：只生成文件（默认 out/addin），因为 Excel 不在本机运行。"))
    opts = i.add_argument_group("选项")
    opts.add_argument("-h", "--help", action="help", help="显示本帮助并退出")
    opts.add_argument("--dir", default=None, metavar="目录",
                      help="加载项写到此文件夹（Windows 默认 Excel 启动文件夹 XLSTART；"
                           "其他系统默认 out/addin）")
    i.set_defaults(func=cmd_install)
    t = asub.add_parser(
        "selftest", help="在本机 Excel 中检查安装（Windows），报告可发给 IT",
        formatter_class=_Help, add_help=False,
        description=(
            "启动 Excel（不可见），打开加载项，依次检查：加载项与宏、每个函数的结果与 Python 一致、\n"
            "各按钮在 1,000 位客户的工作簿上与命令行结果一致、保存后重新打开（公式、外部链接）、\n"
            "10,000 行整列计算的耗时。报告（JSON 与文字）写到 --out 文件夹。约 1–3 分钟。\n"
            "退出码：0 全部通过；1 有未通过的检查；2 本机无法启动 Excel。"))
    topts = t.add_argument_group("选项")
    topts.add_argument("-h", "--help", action="help", help="显示本帮助并退出")
    topts.add_argument("--addin", default=None, metavar="文件",
                       help="要检查的加载项（默认 Excel 启动文件夹 XLSTART 中的 client_rating.xlam）")
    topts.add_argument("--out", default=".", metavar="目录", help="报告写到此文件夹（默认当前文件夹）")
    topts.add_argument("--clients", type=int, default=1000, metavar="N",
                       help="按钮检查所用工作簿的客户数（默认 1000）")
    topts.add_argument("--rows", type=int, default=10_000, metavar="N",
                       help="整列计算检查的行数（默认 10000）")
    t.set_defaults(func=cmd_selftest)


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 2


def _platform() -> str:
    return sys.platform


def xlstart_dir() -> Path | None:
    """Excel's per-user startup folder on Windows, or None without APPDATA."""
    appdata = os.environ.get("APPDATA")
    return Path(appdata) / "Microsoft" / "Excel" / "XLSTART" if appdata else None


def cmd_install(args: argparse.Namespace) -> int:
    from .xlam import AddinError, addin_config, build_addin

    platform = _platform()
    windows = platform.startswith("win")
    if args.dir:
        folder = Path(args.dir)
    elif windows:
        found = xlstart_dir()
        if found is None:
            print("错误：没有 APPDATA 环境变量，找不到 Excel 启动文件夹（XLSTART）；"
                  "请用 --dir 指定目标文件夹。", file=sys.stderr)
            return 1
        folder = found
    else:
        folder = Path("out") / "addin"
    config = addin_config(platform=platform)
    try:
        path = build_addin(folder / ADDIN_FILENAME, config)
    except AddinError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 1
    except PermissionError:
        print(f"错误：无法写入 {folder / ADDIN_FILENAME}（文件被占用或无权限）；"
              "请先关闭 Excel 再安装。", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"错误：无法写入 {folder / ADDIN_FILENAME}：{e.strerror or e}", file=sys.stderr)
        return 1
    if windows:
        print(_windows_steps(path, config, in_xlstart=not args.dir))
    else:
        print(_elsewhere(path, platform))
    return 0


def _windows_steps(path: Path, config: dict[str, str], *, in_xlstart: bool) -> str:
    import xlwings

    where = (f"已安装：{path}\n（Excel 启动文件夹 XLSTART：Excel 每次启动都会打开其中的文件。）"
             if in_xlstart else
             f"已生成：{path}\n（不在 Excel 启动文件夹中：请在 Excel 中 文件 → 选项 → 加载项 → "
             "管理“Excel 加载项” → 转到… → 浏览…，选择此文件并勾选。）")
    interp = config.get("Interpreter_Win", "")
    return "\n".join([
        where,
        f"Python 解释器：{interp}（该环境须已安装本项目与 xlwings {xlwings.__version__}；"
        "写在加载项的 client_rating.conf 工作表中，换环境后请重新运行本命令）",
        "",
        "接下来在 Excel 中：",
        "1. 关闭所有 Excel 窗口，再打开 Excel。",
        "2. 功能区最右侧出现“客户分级”选项卡：重评级（季度重评级、年度评级、新开户评级、"
        "按控制台设置运行）、审计（审计检查）、函数（导入函数、自检）。"
        "CLIENT_TIER 等工作表函数已随加载项提供，可直接使用，无需任何信任设置。",
        "3. 若没有该选项卡，或出现黄色“安全警告 宏已被禁用”：点击“启用内容”；仍不行时："
        "文件 → 选项 → 信任中心 → 信任中心设置… → 受信任位置 → 添加新位置…，"
        f"选择 {path.parent}，确定，再重启 Excel。",
        "   （英文版：File → Options → Trust Center → Trust Center Settings… → Trusted Locations）",
        "4. 打开营业部工作簿，在“控制台”工作表填写模式、评级期间、操作员，"
        "再点击“客户分级”选项卡或控制台上的按钮。",
        "5. 检查安装（可选，建议 IT 做一次）：client-rating addin selftest，"
        "把生成的两个报告文件发给 IT。",
        "",
        "仅当公司在加载项的 client_rating.conf 中加入了自己的函数模块时才需要“导入函数”："
        "文件 → 选项 → 信任中心 → 信任中心设置… → 宏设置 → 勾选“信任对 VBA 工程对象模型的访问”，"
        "确定；然后点击 客户分级 → 导入函数。",
        "   （英文版：Macro Settings → Trust access to the VBA project object model）",
        "",
        "按钮通过 xlwings 启动 Python 子进程；若点击后提示无法启动进程，可能是 Microsoft Defender "
        "规则“阻止 Office 应用程序创建子进程”所致，请联系 IT。",
    ])


def _elsewhere(path: Path, platform: str) -> str:
    lines = [f"已生成：{path}"]
    if platform == "darwin":
        lines += [
            "未安装：macOS 上没有自动安装。可在 Excel 中 工具 → Excel 加载项… → 浏览…，选择此文件。",
            "注意：xlwings 在 macOS 上不支持工作表函数（“导入函数”不可用），"
            "按钮（RunPython）需先运行 xlwings runpython install。",
        ]
    else:
        lines += [
            "未安装：Excel 不在本机运行，没有复制到 Excel 启动文件夹（XLSTART），"
            "也没有写入 Python 解释器路径。",
            "请在 Windows 电脑上、已安装本项目的 Python 环境中运行 client-rating addin install。",
        ]
    return "\n".join(lines)


def cmd_selftest(args: argparse.Namespace) -> int:
    from .selftest import EXIT_FAILED, EXIT_NO_EXCEL, EXIT_OK, NoExcel, default_addin_path, selftest

    if not _platform().startswith("win"):
        print(f"无法自检：本机（{_platform()}）没有 Microsoft Excel。自检须在安装了 Excel 的 Windows 电脑上、"
              "已安装本项目的 Python 环境中运行：client-rating addin selftest", file=sys.stderr)
        return EXIT_NO_EXCEL
    addin = Path(args.addin) if args.addin else default_addin_path()
    if addin is None or not addin.is_file():
        print(f"错误：找不到加载项 {addin or '（XLSTART 中没有 ' + ADDIN_FILENAME + '）'}；"
              "请先运行 client-rating addin install，或用 --addin 指定文件。", file=sys.stderr)
        return EXIT_FAILED
    print(f"自检：启动 Excel，打开 {addin} …", file=sys.stderr)
    try:
        report, j, t = selftest(addin, Path(args.out), n_clients=args.clients, n_rows=args.rows,
                                progress=lambda name: print(f"  检查 {name} …", file=sys.stderr))
    except NoExcel as e:
        print(f"无法自检：{e}", file=sys.stderr)
        return EXIT_NO_EXCEL
    print(report.text())
    print(f"报告：{t}\n      {j}\n请把这两个文件发给 IT。")
    return EXIT_OK if report.ok else EXIT_FAILED
