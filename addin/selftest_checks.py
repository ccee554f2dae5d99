"""The five checks of ``client-rating addin selftest`` (addin/selftest.py runs them and writes
the report): each a function of a :class:`Run` (the xlwings ``App`` and a scratch folder)
returning a :class:`CheckResult`, so that the test suite runs the same checks against its
in-memory Excel (tests/addin/memxl.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .buttons import ADDIN_BUILD, ADDIN_FILENAME, BY_KEY

if TYPE_CHECKING:
    from .port import WorkbookPort

OK, FAILED, SKIPPED = "通过", "失败", "跳过"
OPERATOR = "自检"

@dataclass
class CheckResult:
    key: str
    title: str
    status: str = OK
    detail: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """What the checks work with. ``run_macro(book, macro)`` runs a macro of the add-in with
    ``book`` active (default: ``app.macro("'client_rating.xlam'!NAME")()``, i.e. Excel runs
    the VBA); the ribbon's 自检 passes one calling the buttons' Python directly."""

    app: Any
    workdir: Path
    n_clients: int = 1000
    n_rows: int = 10_000
    today: dt.date = field(default_factory=dt.date.today)
    run_macro: Callable[[Any, str], Any] | None = None
    how_macros_run: str = "Excel 运行加载项的宏（Application.Run）"
    scratch: Any = None  # the functions' scratch workbook (check 2), saved by check 4
    expected: dict[tuple[int, int], Any] = field(default_factory=dict)

    def macro(self, book: Any, name: str) -> Any:
        book.activate()
        if self.run_macro is not None:
            return self.run_macro(book, name)
        return self.app.macro(f"'{ADDIN_FILENAME}'!{name}")()


# ------------------------------------------------------------------------------ helpers


def _same(a: Any, b: Any) -> bool:
    from workbook.audit import same

    a = None if a == "" else a
    b = None if b == "" else b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return abs((a - b).total_seconds()) < 1
    return same(a, b)


def _rows_of_file(path: Path, sheet: str) -> list[list[Any]]:
    from workbook.xlsxio import read_sheet

    d = read_sheet(path, sheet)
    return [[d.value(r, c) for c in range(1, d.n_cols + 1)] for r in range(1, d.n_rows + 1)]


def _diff(excel: list[list[Any]], headless: list[list[Any]], sheet: str,
          skip_cols: set[int] = frozenset()) -> list[str]:  # type: ignore[assignment]
    from workbook.xlsxio import col_letter

    out = []
    n_rows = max(len(excel), len(headless))
    for r in range(n_rows):
        a = excel[r] if r < len(excel) else []
        b = headless[r] if r < len(headless) else []
        for c in range(max(len(a), len(b))):
            if c + 1 in skip_cols:
                continue
            x = a[c] if c < len(a) else None
            y = b[c] if c < len(b) else None
            if not _same(x, y):
                out.append(f"{sheet}!{col_letter(c + 1)}{r + 1}：Excel {x!r}，命令行 {y!r}")
    return out


# ------------------------------------------------------------------------------ the checks


def check_addin(run: Run) -> CheckResult:
    res = CheckResult("addin", "加载项已加载、宏可运行")
    try:
        book = run.app.books[ADDIN_FILENAME]
    except Exception:
        res.status = FAILED
        res.detail = (f"Excel 中没有打开 {ADDIN_FILENAME}：请运行 client-rating addin install，"
                      "重启 Excel 后在功能区确认“客户分级”选项卡")
        return res
    res.data["fullname"] = book.fullname
    try:
        ping = run.app.macro(f"'{ADDIN_FILENAME}'!ClientRatingPing")()
    except Exception as e:
        res.status = FAILED
        res.detail = f"加载项的宏无法运行（宏被禁用或 VBA 未能编译）：{e}"
        return res
    res.data["ping"] = ping
    want = f"client-rating {ADDIN_FILENAME} {ADDIN_BUILD}"
    if ping != want:
        res.status = FAILED
        res.detail = f"加载项的版本不是本程序的（{ping!r}，应为 {want!r}）：请重新运行 client-rating addin install"
        return res
    res.detail = f"{book.fullname}；{ping}"
    return res


def _samples() -> dict[str, list[Any]]:
    """Inputs per catalogue function (cells of one row). A function not listed gets 1 for
    each argument without a default: its result is compared all the same."""
    d = dt.datetime
    return {
        "CLIENT_TIER": [250000.0, None], "TIER_EXPLAIN": [300000.0, 0.0],
        "QUARTER_TIER": ["普通客户", 300000.0, 0.0], "RISK_CLASS": [60.0],
        "RISK_SCORE": ["A", "A", "B", "B", "C", "C", "A", "A", "B", "A", "C", "B"],
        "RISK_LEVEL": [30.0], "CLIENT_CLASS": ["核心", "稳健"], "SUITABLE": ["稳健型", "高"],
        "SUITABILITY_NOTE": ["稳健型", "高"], "FUND_RISK": ["偏债型"],
        "SERVICE_PACKAGE": ["普通客户", d(2026, 3, 2), "brokerage", d(2026, 6, 30)],
        "VISITS_PER_YEAR": ["VIP客户", "private-fund"],
        "ASSET_TURNOVER_CLASS": [2000000.0, 4.2], "HOLDING_STYLE": [45.0],
        "VALUE_SEGMENT": ["低", "高"], "RFM": [5.0, 12.0, 8000.0],
        "TRANSFER_APPROVAL": ["核心客户", "个人"],
        "REVIEW_DUE": [d(2024, 3, 1), d(2026, 6, 30)], "RERATING_WINDOW": ["2026Q3"],
        "RULES_VERSION": ["brokerage", d(2026, 6, 30)],
    }


def _catalogue() -> list[str]:
    import udfs

    return list(udfs.__all__)


def _inputs_for(name: str, samples: dict[str, list[Any]]) -> list[Any]:
    import inspect

    import udfs

    if name in samples:
        return samples[name]
    sig = inspect.signature(getattr(udfs, name))
    return [1.0 for p in sig.parameters.values()
            if p.default is inspect.Parameter.empty and p.kind != p.VAR_POSITIONAL] or [1.0]


def _python_result(name: str, inputs: list[Any]) -> Any:
    import udfs
    from workbook.audit import shown

    got = getattr(udfs, name)(*[[[v]] for v in inputs])  # as xlwings passes cells (ndim=2)
    while isinstance(got, list) and len(got) == 1:
        got = got[0]
    return shown(got)


def check_functions(run: Run) -> CheckResult:
    """Row k of a scratch workbook: A = name, B = the formula, C… = its inputs."""
    from workbook.xlsxio import col_letter

    res = CheckResult("functions", "每个函数：Excel 结果与 Python 结果一致")
    samples = _samples()
    names = _catalogue()
    book = run.app.books.add()
    run.scratch = book
    sheet = book.sheets[0]
    sheet.range((1, 1)).value = [["函数", "结果", "输入…"]]
    for k, name in enumerate(names, start=2):
        inputs = _inputs_for(name, samples)
        sheet.range((k, 3)).value = [[("'" + v) if isinstance(v, str) else v for v in inputs]]
        refs = ",".join(f"{col_letter(3 + j)}{k}" for j in range(len(inputs)))
        sheet.range((k, 1)).value = name
        sheet.range((k, 2)).formula = f"={name}({refs})"
    run.app.calculate()
    for k, name in enumerate(names, start=2):
        got = sheet.range((k, 2)).value
        want = _python_result(name, _inputs_for(name, samples))
        run.expected[(k, 2)] = want
        if not _same(got, want):
            res.problems.append(f"{name}：Excel {got!r}，Python {want!r}")
    if res.problems:
        res.status = FAILED
        res.detail = f"{len(res.problems)} 个函数的结果不一致（或显示 #NAME?：函数未随加载项提供）"
    else:
        res.detail = f"{len(names)} 个函数全部一致"
    res.data["functions"] = len(names)
    return res


def _console_set(book: Any, values: dict[str, str]) -> None:
    sheet = book.sheets["控制台"]
    labels = sheet.range((1, 1), (30, 1)).value
    for r, label in enumerate(labels, start=1):
        if label in values:
            sheet.range((r, 2)).value = "'" + values[label]


def _periods(today: dt.date) -> list[tuple[str, str, str]]:
    """(button key, 模式 on 控制台, period) of the runs, in order: the last complete quarter,
    its last month (new accounts), its year (annual), then 按控制台设置运行 once more (the
    period is done: nothing is written, as in the headless job without --force)."""
    from rules.rerating import MODE_LABELS
    from workbook.demo import previous_quarter

    q = previous_quarter(today)
    year, n = int(q[:4]), int(q[-1])
    month = f"{year}-{3 * n:02d}"
    # (in the order of their data dates: a period earlier than one applied is refused)
    return [("quarterly", MODE_LABELS["quarterly"], q),
            ("new-accounts", MODE_LABELS["new-accounts"], month),
            ("annual", MODE_LABELS["annual"], str(year)),
            ("console", MODE_LABELS["quarterly"], q)]


def check_buttons(run: Run) -> CheckResult:
    from addin.xlwings_port import XlwingsPort
    from workbook.demo import make_demo_clients
    from workbook.template import new_workbook

    res = CheckResult("buttons", f"按钮：{run.n_clients} 位客户的工作簿，Excel 与命令行结果一致")
    src = run.workdir / "selftest-branch.xlsx"
    ref = run.workdir / "selftest-branch-headless.xlsx"
    new_workbook(src, clients=make_demo_clients(run.n_clients, 11, today=run.today),
                 as_of=run.today)
    shutil.copyfile(src, ref)
    book = run.app.books.open(str(src))
    port = XlwingsPort(book)
    app = run.app
    alerts = app.display_alerts
    app.display_alerts = False  # the buttons then show no message box (addin.excel._alert)
    try:
        for key, mode_label, period in _periods(run.today):
            res.problems += _rerate_button(run, book, port, ref, key, (mode_label, period),
                                           res.data)
        res.problems += _audit_button(run, book, port, ref, res.data)
    finally:
        with contextlib.suppress(Exception):
            app.display_alerts = alerts
        with contextlib.suppress(Exception):
            book.close()
    for key in ("import-functions", "selftest"):
        res.data[BY_KEY[key].label] = "未运行（导入函数会改写加载项；自检即本检查）"
    if res.problems:
        res.status = FAILED
        res.detail = f"{len(res.problems)} 处不一致"
    else:
        res.detail = ("季度、年度、新开户、按控制台设置运行、审计检查：结果与命令行一致"
                      f"（{run.how_macros_run}）")
    return res


def _press(run: Run, book: Any, key: str, data: dict[str, Any]) -> None:
    """Button ``key``'s macro run on ``book``, its seconds noted in ``data``."""
    b = BY_KEY[key]
    t0 = time.perf_counter()
    run.macro(book, b.macro)
    data[f"{b.label} 秒"] = round(time.perf_counter() - t0, 2)


def _rerate_button(run: Run, book: Any, port: WorkbookPort, ref: Path, key: str,
                   setting: tuple[str, str], data: dict[str, Any]) -> list[str]:
    """A re-rating button pressed in Excel (``setting``: 模式 and 评级期间 on 控制台) and the same
    run headless on ``ref``: the cells of 客户 where they differ."""
    from addin.port import PortSource, find
    from workbook.job import rerate

    mode_label, period = setting
    _console_set(book, {"模式": mode_label, "评级期间": period, "操作员": OPERATOR})
    _press(run, book, key, data)
    mode = {"console": "quarterly"}.get(key, key)
    rerate(ref, period=period, mode=mode, operator=OPERATOR)
    excel_rows = PortSource(port).read_rows(find(port, ("客户",)) or "客户")
    diff = _diff(excel_rows, _rows_of_file(ref, "客户"), "客户")
    return [f"{BY_KEY[key].label} {period}：{d}" for d in diff[:20]]


def _audit_button(run: Run, book: Any, port: WorkbookPort, ref: Path,
                  data: dict[str, Any]) -> list[str]:
    """审计检查 pressed in Excel and the audit of ``ref``: where the findings differ."""
    from addin.port import PortSource, find
    from workbook.audit import audit_file, findings_rows

    _press(run, book, "audit", data)
    sheet = find(port, ("审计",))
    headless = findings_rows(audit_file(ref))
    if sheet is None:
        return ["审计检查没有写出“审计”工作表"]
    rows = PortSource(port).read_rows(sheet)
    at = next((k for k, r in enumerate(rows) if r and r[0] == headless[0][0]), None)
    table = rows[at:at + len(headless)] if at is not None else []
    if len(table) != len(headless) or len(rows) - (at or 0) != len(headless):
        return [f"审计：Excel 列出 {len(rows) - (at or 0) - 1} 条，命令行 {len(headless) - 1} 条"]
    # (位置, column C, is a link in Excel)
    return [f"审计：{d}" for d in _diff(table, headless, "审计", skip_cols={3})[:20]]


def _link_targets(path: Path) -> list[str]:
    """The targets of the external links stored in a workbook file."""
    import re
    import zipfile

    out = []
    with zipfile.ZipFile(path) as zf:
        for n in zf.namelist():
            if re.fullmatch(r"xl/externalLinks/_rels/externalLink\d+\.xml\.rels", n):
                out += re.findall(r'Target="([^"]*)"', zf.read(n).decode("utf-8"))
    return out


def check_save(run: Run) -> CheckResult:
    from workbook.audit import calls_ours, parse, plain_form, relative
    from workbook.xlsxio import read_sheet, sheet_names

    res = CheckResult("save", "保存后重新打开：公式、外部链接、数值")
    book = run.scratch
    if book is None:
        res.status, res.detail = SKIPPED, "没有函数检查的工作簿"
        return res
    path = run.workdir / "selftest-functions.xlsx"
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    book.save(str(path))
    book.close()
    run.scratch = None
    first = sheet_names(path)[0]
    stored = read_sheet(path, first).formulas
    res.data["stored_formulas"] = {f"B{r}": f for (r, c), f in sorted(stored.items())[:3]}
    for (r, c), f in stored.items():
        plain = plain_form(f)
        try:
            ok = calls_ours(plain) and parse(*relative(plain, r, c)) is not None
        except Exception:
            ok = False
        if not ok:
            res.problems.append(f"B{r} 保存的公式 ={f} 无法识别为本系统函数")
    if len(stored) != len(run.expected):
        res.problems.append(f"保存了 {len(stored)} 个公式，应为 {len(run.expected)} 个")
    links = _link_targets(path)
    res.data["links"] = links
    foreign = [t for t in links
               if t.replace("\\", "/").rsplit("/", 1)[-1].lower() != ADDIN_FILENAME]
    if foreign:
        res.problems.append(f"外部链接指向其他文件：{foreign}")
    again = run.app.books.open(str(path))
    try:
        sheet = again.sheets[0]
        for (r, c), want in run.expected.items():
            f = sheet.range((r, c)).formula
            got = sheet.range((r, c)).value
            if not str(f).startswith("=") or "!" in str(f):
                res.problems.append(f"B{r} 重新打开后的公式为 {f}（应为 =函数名(…)，链接未指向本机加载项）")
            if not _same(got, want):
                res.problems.append(f"B{r} 重新打开后的值 {got!r}，应为 {want!r}")
    finally:
        again.close()
    if res.problems:
        res.status = FAILED
        res.detail = f"{len(res.problems)} 个问题"
    else:
        res.detail = (f"{len(stored)} 个公式保存为 "
                      f"{'、'.join(sorted({_form(f) for f in stored.values()}))} 形式，均可识别；"
                      f"外部链接 {len(links)} 个，均指向 {ADDIN_FILENAME}；重新打开后数值不变")
    return res


def _form(f: str) -> str:
    if f.startswith("["):
        return "[n]!名称"
    if f.startswith("'"):
        return "'路径'!名称"
    if f.lower().startswith("_xludf."):
        return "_xludf.名称"
    return "名称"


def check_array(run: Run) -> CheckResult:
    import numpy as np

    import udfs

    res = CheckResult("array", f"整列计算：一个公式 {run.n_rows:,} 行")
    n = run.n_rows
    rng = np.random.default_rng(5)
    assets = np.exp(rng.normal(np.log(300_000), 1.4, n)).round(2)
    commission = rng.integers(0, 20_000, n).astype(float)
    book = run.app.books.add()
    try:
        sheet = book.sheets[0]
        sheet.range((1, 1)).value = [["资产权益", "上年度净佣金", "计算级别"]]
        sheet.range((2, 1)).value = np.column_stack([assets, commission]).tolist()
        t0 = time.perf_counter()
        formula = f"=CLIENT_TIER(A2:A{n + 1},B2:B{n + 1})"
        try:  # Excel 365: one formula, spilling
            sheet.range((2, 3)).formula2 = formula
        except Exception:  # older Excel: an array formula over the whole column
            sheet.range((2, 3), (n + 1, 3)).formula_array = formula
            res.data["legacy_array"] = True
        run.app.calculate()
        got = sheet.range((2, 3), (n + 1, 3)).options(ndim=1).value
        seconds = time.perf_counter() - t0
        want = udfs.CLIENT_TIER([[a] for a in assets.tolist()], [[c] for c in commission.tolist()])
        want = [w[0] for w in want]
        bad = [k for k in range(n) if got[k] != want[k]]
        res.data["seconds"] = round(seconds, 2)
        if bad:
            res.status = FAILED
            k = bad[0]
            res.problems.append(f"第 {k + 2} 行：Excel {got[k]!r}，Python {want[k]!r}"
                                f"（共 {len(bad)} 行不一致；未溢出时多为旧版 Excel 不支持动态数组）")
            res.detail = f"{len(bad)} 行不一致"
        else:
            res.detail = f"{n:,} 行一次计算 {seconds:.1f} 秒，结果与 Python 一致"
    finally:
        with contextlib.suppress(Exception):
            book.close()
    return res


CHECKS: tuple[Callable[[Run], CheckResult], ...] = (
    check_addin, check_functions, check_buttons, check_save, check_array)
