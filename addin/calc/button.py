"""The re-rating button in Calc (the macros of ``ext/python/client_rating_button.py`` call
``run_button``): the same ``workbook.job.plan_run`` as the console command and the Excel button,
on the document the button belongs to, with the settings on 控制台, progress in the status bar
and a dialog with the summary (``addin.excel.summary_text``). Errors become a dialog, never a
traceback (the details go to a log file)."""

from __future__ import annotations

import datetime as dt
import tempfile
import traceback
from pathlib import Path
from typing import Any

from addin.excel import (
    CONSOLE_FIELDS,
    CONSOLE_SHEET_NAMES,
    console_period,
    console_settings,
    summary_text,
)
from rules.errors import RuleError
from workbook.job import BookData, PeriodOrderError, Plan, plan_run
from workbook.schema import WorkbookError
from workbook.source import read_book as read_source
from workbook.xlsxio import XlsxError

from .source import EPOCH, CalcSource, find_sheet, write_plan

TITLE = "客户分级"  # (the dialogs' and the status bar's title, as in Excel)
LOG_PATH = Path(tempfile.gettempdir()) / "client-rating-calc.log"
#: the last dialog's text (also when no dialog can be shown: headless)
last_message: list[str] = []


def read_book(doc: Any) -> BookData:
    """What a run needs from the document: ``workbook.source.read_book`` through ``CalcSource``."""
    return read_source(CalcSource(doc))


def read_console(doc: Any) -> dict[str, str]:
    """The run settings on 控制台 (labels in column A, values in column B); {} without it."""
    sheet = find_sheet(doc, CONSOLE_SHEET_NAMES)
    if sheet is None:
        return {}
    out: dict[str, str] = {}
    for k, (label, value) in enumerate(sheet.getCellRangeByName("A1:B30").getDataArray()):
        label = str(label).strip()
        if label not in CONSOLE_FIELDS or value in (None, ""):
            continue
        field = CONSOLE_FIELDS[label]
        if field == "period":  # a number, or a date-formatted cell (2026-11 typed in Calc)
            cell = sheet.getCellByPosition(1, k)
            is_date = isinstance(value, float) and cell.getType().value == "VALUE" and \
                sheet.getCellRangeByPosition(1, k, 1, k).queryContentCells(2).getCount() > 0
            out["period"] = console_period(EPOCH + dt.timedelta(days=value) if is_date else value)
            continue
        out[field] = str(int(value)) if isinstance(value, float) and value.is_integer() \
            else str(value).strip()
    return out


def _status(doc: Any) -> Any:
    """The document window's status bar (None headless or without a window)."""
    try:
        bar = doc.getCurrentController().getFrame().createStatusIndicator()
        bar.start(f"{TITLE}…", 0)
        return bar
    except Exception:
        return None


def _dialog(doc: Any, text: str, *, error: bool = False) -> None:
    last_message[:] = [text]
    try:
        window = doc.getCurrentController().getFrame().getContainerWindow()
        from com.sun.star.awt.MessageBoxType import ERRORBOX, INFOBOX  # (inside LibreOffice)

        box = window.getToolkit().createMessageBox(window, ERRORBOX if error else INFOBOX, 1,
                                                   TITLE, text)
        box.execute()  # (headless: returns at once)
    except Exception:  # no window: the text stays in last_message
        pass


def run_rerate(doc: Any, mode: str | None = None, *, now: dt.datetime | None = None) -> Plan | None:
    """The re-rating of the document: settings from 控制台, the job's plan, written back.
    (An earlier period than one applied, or a period already applied, is refused with the
    job's message: Calc's dialog cannot ask yes/no here — run the console command with
    --force for that.)"""
    console = read_console(doc)
    m, period, rulebook, operator = console_settings(console, mode)
    if not operator:
        raise WorkbookError("请在“控制台”的“操作员”中填写姓名。")
    bar = _status(doc)

    def say(msg: str) -> None:
        if bar is not None:
            bar.setText(f"{TITLE}：{msg}…")

    try:
        say("读取工作簿")
        data = read_book(doc)
        url = doc.getURL()
        path = Path(url[7:]) if url.startswith("file://") else None
        try:
            p = plan_run(data, period=period, mode=m, rulebook=rulebook,
                         operator=operator, now=now, path=path, progress=say,
                         suitability=console.get("suitability") or None)
        except PeriodOrderError as e:
            raise WorkbookError(str(e)) from None
        res = p.result
        if not p.writes:
            _dialog(doc, res.message, error=res.exit_code == 1)
            return p
        write_plan(doc, p, data.clients, say)
        res.written = True
        _dialog(doc, summary_text(p))
        return p
    finally:
        if bar is not None:
            bar.end()


def run_button(doc: Any, mode: str | None = None) -> None:
    """What a button or menu entry runs: errors become a dialog, never a traceback."""
    try:
        run_rerate(doc, mode)
    except (WorkbookError, XlsxError, RuleError) as e:
        _dialog(doc, f"{getattr(e, 'message', None) or e}", error=True)
    except Exception as e:
        try:
            with LOG_PATH.open("a", encoding="utf-8") as f:
                f.write(f"--- {dt.datetime.now().isoformat(sep=' ')}\n{traceback.format_exc()}\n")
        except OSError:
            pass
        _dialog(doc, f"内部错误：{type(e).__name__}: {e}\n\n详细信息已写入 {LOG_PATH}，请联系技术支持。"
                     "\n如已有单元格被改动，请不要保存：关闭文档（不保存）后重新打开。", error=True)
