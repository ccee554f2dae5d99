"""``client-rating addin selftest``: prove an install in real Excel, in one command.

Python drives Excel through xlwings (COM on Windows), not through our VBA, and runs five
checks (addin/selftest_checks.py), each a function of a :class:`Run` (the xlwings ``App`` and
a scratch folder), so that the test suite runs the same checks against its in-memory Excel
(tests/addin/memxl.py):

1. ``addin``     the add-in is loaded and its VBA answers (``ClientRatingPing``, in the same
                 module as every ribbon macro);
2. ``functions`` each catalogue function written into a scratch workbook: Excel's result
                 equals the Python result for the same inputs;
3. ``buttons``   each re-rating button's macro and 审计检查 run on a generated 1,000-client
                 workbook; 客户 (and the 审计 findings) equal what the headless job and audit
                 produce on a copy of the same file;
4. ``save``      the scratch workbook saved and reopened: the stored formula texts are
                 recognised as our calls (every form Excel saves), links point at a
                 client_rating.xlam only, the values are unchanged after reopening;
5. ``array``     one ``=CLIENT_TIER(A2:A10001,B2:B10001)`` call timed, its 10,000 results
                 equal Python's.

The report (JSON plus a readable text) goes to a folder IT can send back. Where no Excel can
be started the command says so plainly and exits 2. The ribbon entry 自检 runs checks 1–5 in
the Excel it is clicked in (the buttons' Python called directly: a macro cannot be started
from Python while the add-in's own RunPython waits).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .buttons import ADDIN_FILENAME, BY_KEY
from .selftest_checks import (
    CHECKS,
    FAILED,
    OK,
    SKIPPED,
    CheckResult,
    Run,
    check_addin,
    check_array,
    check_buttons,
    check_functions,
    check_save,
)

EXIT_OK, EXIT_FAILED, EXIT_NO_EXCEL = 0, 1, 2
REPORT_NAME = "client-rating-selftest"


class NoExcel(RuntimeError):
    """Excel cannot be started on this machine (the message says why, in Chinese)."""


@dataclass
class Report:
    started: str
    machine: dict[str, str]
    how_macros_run: str
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        return all(c.status != FAILED for c in self.checks)

    def as_json(self) -> str:
        return json.dumps(dataclasses.asdict(self) | {"ok": self.ok}, ensure_ascii=False,
                          indent=2, default=str)

    def text(self) -> str:
        lines = [f"client-rating 安装自检 {self.started}",
                 "结论：" + ("全部通过" if self.ok else "有检查未通过（见下）"),
                 *(f"{k}：{v}" for k, v in self.machine.items()),
                 f"按钮的运行方式：{self.how_macros_run}", ""]
        for c in self.checks:
            lines.append(f"[{c.status}] {c.title}（{c.seconds:.1f} 秒）：{c.detail}")
            lines += [f"    - {p}" for p in c.problems[:20]]
            if len(c.problems) > 20:
                lines.append(f"    - ……另有 {len(c.problems) - 20} 条")
        return "\n".join(lines) + "\n"


def run_checks(run: Run, checks: tuple[Callable[[Run], CheckResult], ...] = CHECKS,
               progress: Callable[[str], None] | None = None) -> Report:
    """Run the checks on ``run.app``; a check that raises is a failed check (with the error),
    never the end of the others. The add-in check failing stops the rest (nothing else can
    work without it)."""
    started = dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")
    results: list[CheckResult] = []
    for check in checks:
        t0 = time.perf_counter()
        name = check.__name__.removeprefix("check_")
        if progress:
            progress(name)
        if results and results[0].key == "addin" and results[0].status == FAILED:
            results.append(CheckResult(name, name, SKIPPED, "加载项未能加载，未运行"))
            continue
        try:
            r = check(run)
        except Exception as e:  # reported, not raised: the report is what IT sends back
            r = CheckResult(name, name, FAILED, f"运行出错：{type(e).__name__}: {e}",
                            problems=traceback.format_exc().splitlines()[-6:])
        r.seconds = round(time.perf_counter() - t0, 2)
        results.append(r)
    return Report(started, _machine(run.app), run.how_macros_run, results)


def _machine(app: Any) -> dict[str, str]:
    import xlwings

    out = {"电脑": platform.node(), "系统": platform.platform(), "Python": sys.version.split()[0],
           "xlwings": xlwings.__version__}
    with contextlib.suppress(Exception):
        out["Excel"] = str(app.version)
    return out


def write_report(report: Report, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    j = folder / f"{REPORT_NAME}.json"
    t = folder / f"{REPORT_NAME}.txt"
    j.write_text(report.as_json(), encoding="utf-8")
    t.write_text(report.text(), encoding="utf-8")
    return j, t


# ------------------------------------------------------------------------------ entry points


def start_excel(addin: Path | None) -> Any:
    """A new, invisible Excel with the add-in opened (Excel started by a program loads no
    add-ins by itself). Raises :class:`NoExcel`."""
    if not sys.platform.startswith("win"):
        raise NoExcel(f"本机（{platform.system()}）无法启动 Excel：自检只能在安装了 Excel 的 Windows 电脑上运行。")
    try:
        import xlwings as xw

        app = xw.App(visible=False, add_book=False)
    except Exception as e:
        raise NoExcel(f"无法启动 Excel（{type(e).__name__}: {e}）：请确认本机已安装 Microsoft Excel。") \
            from None
    if addin is not None:
        try:
            app.books.open(str(addin))
        except Exception as e:
            with contextlib.suppress(Exception):
                app.quit()
            raise NoExcel(f"Excel 无法打开加载项 {addin}（{e}）") from None
    return app


def selftest(addin: Path | None, out: Path, *, n_clients: int = 1000, n_rows: int = 10_000,
             progress: Callable[[str], None] | None = None) -> tuple[Report, Path, Path]:
    """The console command: start Excel, run the checks, write the report, quit Excel."""
    app = start_excel(addin)
    work = Path(tempfile.mkdtemp(prefix="client-rating-selftest-"))
    try:
        run = Run(app, work, n_clients=n_clients, n_rows=n_rows)
        report = run_checks(run, progress=progress)
    finally:
        with contextlib.suppress(Exception):
            app.quit()
        shutil.rmtree(work, ignore_errors=True)
    j, t = write_report(report, out)
    return report, j, t


def _direct_macro(book: Any, name: str) -> Any:
    """A ribbon macro's Python, called in this process (what its RunPython would start)."""
    from . import excel

    b = next(b for b in BY_KEY.values() if b.macro == name)
    if b.key == "audit":
        return excel.run_audit(book)
    mode = {"console": None}.get(b.key, b.key)
    return excel.run_rerate(book, mode, confirm_rerun=False)


def selftest_button(*, n_clients: int = 1000, n_rows: int = 10_000) -> None:
    """自检 on the ribbon: the checks in this Excel; the report in a new workbook's sheet 自检
    and as files in the temp folder."""
    from . import excel, xlwings_port

    book = excel.caller()
    app = book.app
    work = Path(tempfile.mkdtemp(prefix="client-rating-selftest-"))
    run = Run(app, work, n_clients=n_clients, n_rows=n_rows, run_macro=_direct_macro,
              how_macros_run="自检按钮：在本 Excel 中直接调用按钮的 Python（未经 VBA 宏）")
    report = run_checks(run, progress=lambda name: xlwings_port.status(app, f"自检：{name}"))
    j, t = write_report(report, Path(tempfile.gettempdir()))
    out = app.books.add()
    sheet = out.sheets[0]
    sheet.name = "自检"
    sheet.range((1, 1)).value = [[xlwings_port.excel_value(line)] for line in report.text().splitlines()]
    xlwings_port.restore(app)
    app.alert(("自检全部通过。" if report.ok else "自检有未通过的项目。") +
              f"\n报告：{t}\n{j}\n（请把这两个文件发给 IT）", title=xlwings_port.TITLE,
              mode="info" if report.ok else "critical")
    shutil.rmtree(work, ignore_errors=True)


def default_addin_path() -> Path | None:
    from .cli_addin import xlstart_dir

    d = xlstart_dir()
    p = d / ADDIN_FILENAME if d else None
    return p if p is not None and p.is_file() else None


__all__ = ["CHECKS", "FAILED", "OK", "SKIPPED", "CheckResult", "NoExcel", "Report", "Run",
           "check_addin", "check_array", "check_buttons", "check_functions", "check_save",
           "run_checks", "selftest", "selftest_button", "write_report"]
