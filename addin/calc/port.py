"""``WorkbookPort`` (addin/port.py) over an open Calc document: the buttons of Calc run the very
logic of the Excel buttons (``addin.excel.run_rerate`` / ``run_audit``: the rerun question, the
summary box, 汇总's chart, the 审计 sheet) through this thin UNO layer.

Each operation is one UNO call or a few (``getDataArray`` of the used area, ``setDataArray`` of a
block, ``XTableCharts.addNewByName``). Headless (no visible window) no box is shown: a message is
kept in ``messages`` and a yes/no question is answered from ``answers`` (tests, scripts) or "no",
as Excel answers its own questions with its alerts off.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from addin.port import Formulas
from workbook.grid import formulas_from_grid
from workbook.xlsxio.errors import CellError

from .source import date_format, find_sheet, new_sheet, put_rows, read_grid, used_size

TITLE = "客户分级"
#: com.sun.star.awt.MessageBoxButtons / MessageBoxResults
BUTTONS_OK, BUTTONS_YES_NO, DEFAULT_BUTTON_NO = 1, 4, 0x30000
RESULT_YES = 2
CLEAR_ALL = 1 | 2 | 4 | 16  # VALUE | DATETIME | STRING | FORMULA (CellFlags)


class CalcPort:
    """The Calc document ``doc`` as a ``WorkbookPort``. ``answers``: the answers ("yes"/"no")
    to the yes/no questions to come, in order, used instead of a box (also with a window)."""

    def __init__(self, doc: Any, answers: Sequence[str] = ()) -> None:
        self.doc = doc
        url = doc.getURL()
        if url.startswith("file:"):
            import uno  # (inside LibreOffice: the document's file path)

            self.path = str(Path(uno.fileUrlToSystemPath(url)))
        else:
            self.path = doc.getTitle() if hasattr(doc, "getTitle") else "未保存的文档"
        self.answers = list(answers)
        self.messages: list[str] = []
        self._bar: Any = None
        self._locked = False
        self._auto: bool | None = None
        self._date: list[int] = []

    def _sheet(self, name: str) -> Any:
        return find_sheet(self.doc, (name,))

    # --- sheets
    def sheet_names(self) -> list[str]:
        return list(self.doc.Sheets.getElementNames())

    def add_sheet(self, name: str) -> str:
        return str(new_sheet(self.doc, name).Name)

    # --- reading
    def used_shape(self, sheet: str) -> tuple[int, int]:
        n_rows, n_cols = used_size(self._sheet(sheet))
        return max(n_rows, 1), max(n_cols, 1)

    def values(self, sheet: str) -> list[list[Any]]:
        """As xlwings gives them: error cells as their text (``#N/A``), dates as datetime."""
        return [[str(v) if isinstance(v, CellError) else v for v in row]
                for row in read_grid(self._sheet(sheet))]

    def formulas(self, sheet: str, columns: Sequence[int] | None = None) -> Formulas:
        s = self._sheet(sheet)
        n_rows, n_cols = used_size(s)
        if not n_rows:
            return {}
        if columns is None:
            return formulas_from_grid(
                s.getCellRangeByPosition(0, 0, n_cols - 1, n_rows - 1).getFormulaArray())
        out: Formulas = {}
        for c in columns:
            if n_rows >= 2:
                col = s.getCellRangeByPosition(c - 1, 1, c - 1, n_rows - 1)
                out.update(formulas_from_grid(col.getFormulaArray(), origin=(2, c)))
        return out

    # --- writing
    def write(self, sheet: str, row: int, col: int, rows: Sequence[Sequence[Any]]) -> None:
        put_rows(self._sheet(sheet), row, col, rows, self._date_key)

    def write_formulas(self, sheet: str, row: int, col: int,
                       rows: Sequence[Sequence[Any]]) -> None:
        s = self._sheet(sheet)
        for i, r in enumerate(rows):
            for k, v in enumerate(r):
                if isinstance(v, str) and v.startswith("="):
                    s.getCellByPosition(col - 1 + k, row - 1 + i).setFormula(v)
                else:
                    put_rows(s, row + i, col + k, [[v]], self._date_key)

    def clear(self, sheet: str) -> None:
        s = self._sheet(sheet)
        n_rows, n_cols = used_size(s)
        if n_rows:
            s.getCellRangeByPosition(0, 0, n_cols - 1, n_rows - 1).clearContents(CLEAR_ALL)

    def extend_tables(self, sheet: str, first_col: int, last_col: int) -> None:
        """Calc has no Excel Tables (a database range is not extended)."""

    def has_chart(self, sheet: str) -> bool:
        return bool(self._sheet(sheet).getCharts().getCount())

    def add_column_chart(self, sheet: str, last_row: int, last_col: int) -> None:
        """A column chart of A1:(last_row, last_col), first row and column as labels, right of
        the table (as the Excel button's and the template's)."""
        import uno

        s = self._sheet(sheet)
        area = uno.createUnoStruct("com.sun.star.table.CellRangeAddress")
        area.Sheet = s.getRangeAddress().Sheet
        area.StartColumn, area.StartRow, area.EndColumn, area.EndRow = 0, 0, last_col - 1, \
            last_row - 1
        rect = uno.createUnoStruct("com.sun.star.awt.Rectangle")
        left = s.getColumns().getByIndex(max(last_col, 4)).Position.X if last_col else 0
        rect.X, rect.Y, rect.Width, rect.Height = left + 500, 500, 16000, 9000
        name = "客户分级图表"
        charts = s.getCharts()
        charts.addNewByName(name, rect, (area,), True, True)
        diagram = charts.getByName(name).getEmbeddedObject()
        diagram.setDiagram(diagram.createInstance("com.sun.star.chart.BarDiagram"))
        diagram.getDiagram().Vertical = False  # (columns, as Excel's clustered column chart)
        diagram.HasMainTitle = True
        diagram.getTitle().String = "各级别客户数：评级前 / 评级后"

    def _date_key(self) -> int:
        if not self._date:
            self._date.append(date_format(self.doc))
        return self._date[0]

    # --- the application
    def _frame(self) -> Any:
        try:
            return self.doc.getCurrentController().getFrame()
        except Exception:
            return None

    def _window(self) -> Any:
        """The document's window when it is shown (None headless or hidden)."""
        frame = self._frame()
        try:
            window = frame.getContainerWindow() if frame is not None else None
            return window if window is not None and window.isVisible() else None
        except Exception:
            return None

    def status(self, text: str) -> None:
        """Progress in the document's status bar (``XStatusIndicator`` of its frame; nothing
        when there is no frame)."""
        if self._bar is None:
            frame = self._frame()
            try:
                self._bar = frame.createStatusIndicator() if frame is not None else False
                if self._bar:
                    self._bar.start(f"{TITLE}…", 0)
            except Exception:
                self._bar = False
        if self._bar:
            self._bar.setText(f"{TITLE}：{text}…")

    def alert(self, prompt: str, *, critical: bool = False, buttons: str = "ok") -> str | None:
        """A message box; a question ("yes_no") defaults to No. Queued ``answers`` first;
        without a shown window: None (the message kept in ``messages``; a question is "no")."""
        self.messages.append(prompt)
        if buttons == "yes_no" and self.answers:
            return self.answers.pop(0)
        window = self._window()
        if window is None:
            return None
        from com.sun.star.awt.MessageBoxType import ERRORBOX, INFOBOX, QUERYBOX  # (in LibreOffice)

        if buttons == "yes_no":
            box = window.getToolkit().createMessageBox(
                window, QUERYBOX, BUTTONS_YES_NO + DEFAULT_BUTTON_NO, TITLE, prompt)
            return "yes" if box.execute() == RESULT_YES else "no"
        window.getToolkit().createMessageBox(window, ERRORBOX if critical else INFOBOX,
                                             BUTTONS_OK, TITLE, prompt).execute()
        return "ok"

    def pause(self, *, calculation: bool = True) -> None:
        """Screen updates held (``lockControllers``) and automatic recalculation off."""
        if not self._locked:
            self.doc.lockControllers()
            self._locked = True
        if calculation and self._auto is None:
            self._auto = bool(self.doc.isAutomaticCalculationEnabled())
            self.doc.enableAutomaticCalculation(False)

    def restore(self) -> None:
        for step in (self._restore_calc, self._unlock, self._end_bar):
            with contextlib.suppress(Exception):  # (never hide the message shown after)
                step()

    def _restore_calc(self) -> None:
        if self._auto is not None:
            self.doc.enableAutomaticCalculation(self._auto)
            self._auto = None

    def _unlock(self) -> None:
        if self._locked:
            self._locked = False
            self.doc.unlockControllers()

    def _end_bar(self) -> None:
        if self._bar:
            self._bar.end()
        self._bar = None
