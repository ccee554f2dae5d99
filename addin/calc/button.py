"""The buttons in Calc (the macros of ``ext/python/client_rating_button.py`` call ``run_button``
and ``run_audit_button``): the Excel buttons' own logic — ``addin.excel.run_rerate`` (the same
``workbook.job.plan_run`` as the console command; a rerun or an earlier period asked yes/no,
default no; the summary box; 汇总's chart) and ``addin.excel.run_audit`` (the sheet 审计) — on
the document the button belongs to, through ``addin.calc.port.CalcPort``. Errors become a
dialog, never a traceback (the details go to a log file)."""

from __future__ import annotations

import datetime as dt
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from addin import excel
from rules.errors import RuleError
from workbook.job import BookData, Plan
from workbook.schema import WorkbookError
from workbook.xlsxio import XlsxError

from .port import CalcPort

LOG_PATH = Path(tempfile.gettempdir()) / "client-rating-calc.log"
#: the messages of the last run (also those no box could show: headless)
last_message: list[str] = []


def read_book(doc: Any) -> BookData:
    """What a run needs from the document (``workbook.source.read_book`` through the port)."""
    return excel.read_book(CalcPort(doc))


def read_console(doc: Any) -> dict[str, str]:
    """The run settings on 控制台 (labels in column A, values in column B); {} without it."""
    return excel.read_console(CalcPort(doc))


def run_rerate(doc: Any, mode: str | None = None, *, now: dt.datetime | None = None,
               answers: Sequence[str] = ()) -> Plan | None:
    """The re-rating of the document, as the Excel button's (``answers``: to its yes/no
    questions, instead of a box)."""
    port = CalcPort(doc, answers)
    try:
        return excel.run_rerate(port, mode, now=now)
    finally:
        last_message[:] = port.messages
        port.restore()


def _guard(doc: Any, action: Callable[[CalcPort], Any], answers: Sequence[str]) -> None:
    port = CalcPort(doc, answers)
    try:
        action(port)
    except (WorkbookError, XlsxError, RuleError) as e:
        port.alert(f"{getattr(e, 'message', None) or e}", critical=True)
    except Exception as e:
        try:
            with LOG_PATH.open("a", encoding="utf-8") as f:
                f.write(f"--- {dt.datetime.now().isoformat(sep=' ')}\n{traceback.format_exc()}\n")
        except OSError:
            pass
        port.alert(f"内部错误：{type(e).__name__}: {e}\n\n详细信息已写入 {LOG_PATH}，请联系技术支持。"
                   "\n如已有单元格被改动，请不要保存：关闭文档（不保存）后重新打开。", critical=True)
    finally:
        last_message[:] = port.messages
        port.restore()


def run_button(doc: Any, mode: str | None = None, answers: Sequence[str] = ()) -> None:
    """What a re-rating button or menu entry runs: errors become a dialog, never a traceback."""
    _guard(doc, lambda port: excel.run_rerate(port, mode), answers)


def run_audit_button(doc: Any) -> None:
    """审计检查: the audit of the document, its findings on the sheet 审计, a box with counts."""
    _guard(doc, excel.run_audit, ())
