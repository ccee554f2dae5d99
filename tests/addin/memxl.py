"""memxl: an in-memory xlwings engine, so the Excel front end can be tested on Linux.

Only the lowest layer is replaced: the engine "impl" objects that on Windows talk to Excel over
COM (``xlwings/_xlwindows.py``). Everything above them is xlwings' own code: ``xlwings.main``
Book/Sheet/Range/App/Chart, ``Range.options(...)`` and the ``xlwings.conversion`` pipelines.
It serves ``addin.xlwings_port.XlwingsPort`` (tests/addin/test_xlwings_port.py) and the
self-test's checks (addin/selftest_checks.py, tests/addin/test_selftest.py); the buttons' logic
is tested on a fake of its port (tests/addin/fakeport.py). Test code only (not shipped).

What it pins — how values cross between Excel and xlwings — each with its source
---------------------------------------------------------------------------------
* Reads: a number comes as float, text as str, a date cell as datetime, an empty cell as
  None; ``options(ndim=2)`` gives a list of row lists even for one cell (xlwings
  docs/converters.rst, "Default converter"). memxl answers ``Range.Value`` as COM does (a
  scalar for one cell, a tuple of row tuples for several) and the cleaning step mirrors
  ``_xlwindows.Engine.clean_value_data`` / ``_clean_value_data_element`` line by line.
* Errors: COM hands an error cell over as an int code; xlwings turns the seven classic ones
  into None, or their text with ``err_to_str=True``, and passes newer ones (#SPILL!, …) as raw
  ints (``_xlwindows.cell_errors``; test_memxl compares ``ERROR_CODES`` with that table).
* Dates: a datetime/date written is a date serial with a date format and reads back as a
  datetime, tzinfo dropped without conversion (``_xlwindows._datetime_to_com_time``;
  FIELD-NOTES.md); a number in a date-formatted cell reads as a datetime (``Range.Value``
  returns a Date for date-formatted cells).
* Writes: None and NaN become "" (``_xlwindows.Engine.prepare_xl_data_element``), which
  empties the cell; a 2-D list is one write of its shape from the anchor; xlwings itself
  chunks writes above 100,000 cells (``xlwings.main.Range.value``, ``max_cells_per_write``).
* Text: an entry starting with an apostrophe is text shown without it (Excel's quote prefix,
  ``Range.PrefixCharacter``); an entry starting with "=" is a formula. How Excel parses other
  entries (numbers, dates, TRUE, errors, a sign) is NOT modelled: such unquoted text is refused
  with NotImplementedError, so code under test must quote text (as XlwingsPort does).
* ``Range.Formula``: a str for one cell, a tuple of row tuples for several (xlwings passes it
  through untouched); "" for an empty cell, a constant as its text.
* ``"Sheet1" in book.sheets`` is always False on Windows (``main.Collection.__contains__`` asks
  the impl; ``_xlwindows.Sheets`` has none); memxl keeps that.

Kept as set, for tests to read back (not Excel behaviour): App settings, alerts, the status
bar, sheets (names unique case-insensitively), charts (type and source). The self-test needs,
beyond these, an add-in (``load_addin``: its macros run by ``app.macro``, its functions
calculated in formulas calling them, 2-D results spilled) and ``books.open`` / ``book.save``
of .xlsx files (through ``workbook.xlsxio.read_sheet`` and XlsxWriter). Not modelled: Excel's
parsing of entries, formula syntax and calculation beyond an add-in's functions, filling a
range with one value, formats other than dates, tables, names, geometry. Anything else raises
NotImplementedError. Nothing here was compared with a real Excel.

API
---
``new_book(sheets=None, name="Book1.xlsx", *, fullname=None, app=None)``: a real
``xlwings.Book``; ``sheets`` {name: rows from A1} planted as a saved workbook holds them (str is
text, "=…" a formula, ``XlError("#N/A")`` an error, dates as date cells).
``from_file(path, *, sheets=None, name=None, fullname=None, app=None)``: a Book holding a
file's worksheets as ``workbook.xlsxio.read_sheet`` reads them. ``activate()``: a context
making a fresh memxl engine xlwings' active one (``Book.activate`` needs it), restored after.
``cells(sheet)`` / ``cell(sheet, "B3")`` -> ``Cell(value, formula, prefix, number_format)``;
``to_rows(sheet, *, formulas=False)``; ``writes(sheet, kind=None)`` -> ``Write(kind, address,
row, column, nrows, ncols)``; ``alerts(app)``, ``queue_answers(app, "yes", …)`` (a yes/no box
without a queued answer raises AssertionError), ``status_history(app)``, ``charts(sheet)``;
``load_addin(app, name, *, functions, macros)``; ``ComError`` where Excel refuses a call.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import math
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import xlwings as xw
from xlwings import base_classes, utils

try:
    import numpy as np
except ImportError:  # pragma: no cover
    np = None
try:
    import pandas as pd
except ImportError:  # pragma: no cover
    pd = None

__all__ = [
    "Cell",
    "ComError",
    "Write",
    "XlError",
    "activate",
    "alerts",
    "cell",
    "cells",
    "charts",
    "from_file",
    "new_book",
    "queue_answers",
    "status_history",
    "to_rows",
    "writes",
]

MAX_ROWS = 1_048_576
MAX_COLS = 16_384

# COM's error codes (what _xlwindows.cell_errors maps back to text; -2146826288 + xlErrXxx - 2000)
ERROR_CODES = {
    "#DIV/0!": -2146826281,
    "#N/A": -2146826246,
    "#NAME?": -2146826259,
    "#NULL!": -2146826288,
    "#NUM!": -2146826252,
    "#REF!": -2146826265,
    "#VALUE!": -2146826273,
}
# newer errors: a cell can hold them (formula results), typing them gives text
EXTRA_ERROR_CODES = {
    "#SPILL!": -2146826243,
    "#CALC!": -2146826238,
    "#GETTING_DATA": -2146826245,
    "#FIELD!": -2146826239,
    "#BLOCKED!": -2146826241,
    "#CONNECT!": -2146826242,
    "#UNKNOWN!": -2146826240,
    "#BUSY!": -2146826237,
}
# what _xlwindows maps back to text (its cell_errors); kept identical on purpose
_WINDOWS_CELL_ERRORS = {code: text for text, code in ERROR_CODES.items()}

_OLE_EPOCH = dt.datetime(1899, 12, 30)
_SHORT_DATE = "yyyy/m/d"  # zh-CN default short date
_SHORT_DATETIME = "yyyy/m/d h:mm"


class ComError(Exception):
    """Excel refused the call (on Windows: ``pywintypes.com_error``, typically 0x800A03EC)."""

    hresult = -2146827284  # 0x800A03EC, VBA's "error 1004"


class XlError:
    """An error value held by a cell (``#N/A``...)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        t = str(text).upper()
        if t not in ERROR_CODES and t not in EXTRA_ERROR_CODES:
            raise ValueError(f"memxl: not an Excel error value: {text!r}")
        self.text = t

    @property
    def code(self) -> int:
        return ERROR_CODES.get(self.text) or EXTRA_ERROR_CODES[self.text]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, XlError) and other.text == self.text

    def __hash__(self) -> int:
        return hash(("XlError", self.text))

    def __repr__(self) -> str:
        return f"XlError({self.text!r})"


class Cell(NamedTuple):
    value: Any
    formula: str | None = None
    prefix: bool = False
    number_format: str = "General"


class Write(NamedTuple):
    kind: str
    address: str
    row: int
    column: int
    nrows: int
    ncols: int


# ---------------------------------------------------------------------------------------------
# "not implemented" with a name: base_classes stubs raise a bare NotImplementedError()


class _NoApi:
    """Stands for the native COM object: truthy (xlwings tests ``rng.api``), but unusable."""

    def __init__(self, what: str) -> None:
        self._what = what

    def __bool__(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(
            f"memxl: {self._what}.api.{name}: there is no COM object in memxl; use the "
            "xlwings API")

    def __repr__(self) -> str:
        return f"<memxl: no COM object for {self._what}>"


# ---------------------------------------------------------------------------------------------
# values: serials, date formats, Excel's parsing of entered text


def _to_serial(d: dt.datetime) -> float:
    delta = d - _OLE_EPOCH
    return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400


def _from_serial(x: float) -> dt.datetime:
    return _OLE_EPOCH + dt.timedelta(milliseconds=round(x * 86_400_000))


def _is_date(fmt: str) -> bool:
    """A cell's number format is a date format (the only formats memxl sets: a date written)."""
    return fmt in (_SHORT_DATE, _SHORT_DATETIME)


#: unquoted text that Excel's entry parsing may turn into something else (a number, a date or
#: time, TRUE/FALSE, an error, a formula by its sign): refused rather than modelled
_EXCEL_MAY_PARSE = re.compile(
    r"\s*([-+#]|(true|false)\s*$|[\d.,:/%$¥￥()\s年月日]*\d[\d.,:/%$¥￥()\s年月日-]*$)", re.I)

class _Content:
    """One non-empty cell: value (float/str/bool/XlError/None), formula, quote prefix."""

    __slots__ = ("formula", "prefix", "value")

    def __init__(self, value: Any, formula: str | None = None, prefix: bool = False) -> None:
        self.value = value
        self.formula = formula
        self.prefix = prefix


def _format_number(x: float) -> str:
    """A number as Range.Formula gives it (general format, up to 15 significant digits)."""
    if x == 0:
        return "0"
    s = f"{x:.15g}"
    if "e" in s:
        mant, exp = s.split("e")
        return f"{mant}E{exp[0]}{exp[1:].rjust(2, '0')}"
    return s


def _format_date(d: dt.datetime) -> str:
    s = f"{d.month}/{d.day}/{d.year}"
    if d.time() != dt.time():
        s += f" {d.hour % 12 or 12}:{d.minute:02d}:{d.second:02d} {'PM' if d.hour >= 12 else 'AM'}"
    return s


# ---------------------------------------------------------------------------------------------
# the engine (value cleaning mirrors xlwings/_xlwindows.py)

_time_types = (dt.date, dt.datetime)


def _clean_value_data_element(value: Any, datetime_builder: Any, empty_as: Any,
                              number_builder: Any, err_to_str: bool) -> Any:
    # == _xlwindows._clean_value_data_element (pywintypes.TimeType -> datetime here)
    if value in ("", None):
        return empty_as
    elif isinstance(value, _time_types):
        return datetime_builder(
            month=value.month, day=value.day, year=value.year, hour=value.hour,
            minute=value.minute, second=value.second, microsecond=value.microsecond,
            tzinfo=None)
    elif number_builder is not None and isinstance(value, float):
        value = number_builder(value)
    elif isinstance(value, int) and value in _WINDOWS_CELL_ERRORS:
        if err_to_str:
            return _WINDOWS_CELL_ERRORS[value]
        else:
            return None
    return value


def _datetime_to_com_time(d: Any) -> Any:
    # == _xlwindows._datetime_to_com_time, minus the pywintypes UTC tzinfo
    if pd is not None and isinstance(d, type(pd.NaT)):
        return ""
    if type(d) is dt.date:
        d = dt.datetime(d.year, d.month, d.day)
    if pd is not None and isinstance(d, pd.Timestamp):
        d = d.to_pydatetime()
    return d.replace(tzinfo=None)


class _Engine:
    """The engine impl: ``xlwings.main.Engine(impl=_Engine())``."""

    def __init__(self) -> None:
        self._apps = _Apps(self)

    @property
    def apps(self) -> _Apps:
        return self._apps

    @property
    def name(self) -> str:
        return "memxl"

    @property
    def type(self) -> str:
        return "desktop"  # like _xlwindows: scalar writes are not chunked

    @staticmethod
    def prepare_xl_data_element(x: Any, date_format: Any) -> Any:
        # == _xlwindows.Engine.prepare_xl_data_element
        if isinstance(x, _time_types):
            return _datetime_to_com_time(x)
        elif (pd is not None and not isinstance(x, (list, tuple, dict)) and pd.isna(x)) or (
                np is not None and isinstance(x, (np.floating, float)) and np.isnan(x)):
            return ""
        elif np is not None and isinstance(x, np.number):
            return float(x)
        elif x is None:
            return ""
        else:
            return x

    @staticmethod
    def clean_value_data(data: Any, datetime_builder: Any, empty_as: Any, number_builder: Any,
                         err_to_str: bool) -> list[list[Any]]:
        return [[_clean_value_data_element(c, datetime_builder, empty_as, number_builder,
                                           err_to_str) for c in row] for row in data]


class _Apps(base_classes.Apps):
    def __init__(self, engine: _Engine) -> None:
        self.engine = engine
        self._apps: list[_App] = []

    def keys(self) -> list[int]:
        return [a.pid for a in self._apps]

    def add(self, spec: Any = None, add_book: Any = True, xl: Any = None,
            visible: Any = None) -> _App:
        app = _App(self.engine)
        self._apps.insert(0, app)
        if add_book:
            app.books.add()
        return app

    def __iter__(self) -> Iterator[_App]:
        return iter(list(self._apps))

    def __len__(self) -> int:
        return len(self._apps)

    def __getitem__(self, pid: int) -> _App:
        for a in self._apps:
            if a.pid == pid:
                return a
        raise KeyError("Could not find an Excel instance with this PID.")


_PIDS = itertools.count(90001)

_BUTTON_ANSWERS = {None: ("ok",), "ok": ("ok",), "ok_cancel": ("ok", "cancel"),
                   "yes_no": ("yes", "no"), "yes_no_cancel": ("yes", "no", "cancel")}
_ALERT_MODES = ("info", "critical")
_CALCULATIONS = ("automatic", "manual", "semiautomatic")


def _contents(name: str, com: str) -> property:
    """A range's ``value`` or ``formula``: read from the sheet's COM view ``com`` and written
    through ``_write``, each logged under ``name`` (nothing for an empty range)."""

    def get(self: Any) -> Any:
        if self._empty():
            return None
        return self._read(getattr(self.sheet, com))

    def put(self: Any, data: Any) -> None:
        if self._empty():
            return
        self._log(name)
        self._write(data)

    return property(get, put)


def _stored(name: str) -> property:
    """A setting the impl just keeps (in ``_<name>``): xlwings' base classes declare it as a
    property, so a plain attribute would not do."""
    attr = "_" + name
    return property(lambda self: getattr(self, attr),
                    lambda self, value: setattr(self, attr, value))


def _flag(name: str) -> property:
    """An App setting Excel keeps as a boolean."""
    attr = "_" + name
    return property(lambda self: getattr(self, attr),
                    lambda self, value: setattr(self, attr, bool(value)))


class _App(base_classes.App):
    def __init__(self, engine: _Engine) -> None:
        self._engine = engine
        self._pid = next(_PIDS)
        self._books = _Books(self)
        self._status_bar: Any = False
        self._screen_updating = True
        self._display_alerts = True
        self._calculation = "automatic"
        self.status_history: list[Any] = []
        self.alerts: list[tuple[str, str, str | None, str | None]] = []
        self.answers: list[str] = []
        self.macros: dict[str, Any] = {}  # "'book.xlam'!Name" -> callable (load_addin)
        self.functions: dict[str, Any] = {}  # NAME -> Python function (load_addin)
        self.addins: list[_Book] = []

    @property
    def engine(self) -> _Engine:
        return self._engine

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def version(self) -> str:
        return "16.0"

    @property
    def books(self) -> _Books:
        return self._books

    def activate(self, steal_focus: bool = False) -> None:
        pass

    @property
    def status_bar(self) -> Any:
        return self._status_bar

    @status_bar.setter
    def status_bar(self, value: Any) -> None:
        self.status_history.append(value)
        self._status_bar = value

    screen_updating = _flag("screen_updating")
    display_alerts = _flag("display_alerts")

    @property
    def calculation(self) -> str:
        return self._calculation

    @calculation.setter
    def calculation(self, value: str) -> None:
        if value not in _CALCULATIONS:  # _xlwindows: calculation_s2i[value]
            raise KeyError(value)
        self._calculation = value

    def calculate(self) -> None:
        for book in self._books:
            for sheet in book.sheets:
                _recalculate(sheet)

    def run(self, macro: str, args: Any) -> Any:
        """Application.Run: a macro of an add-in loaded with ``load_addin``."""
        fn = self.macros.get(macro) or next(
            (f for k, f in self.macros.items() if k.casefold() == macro.casefold()), None)
        if fn is None:  # Excel's error 1004 "Cannot run the macro ..."
            raise ComError(f"Cannot run the macro {macro!r}. The macro may not be available "
                           "in this workbook or all macros may be disabled.")
        return fn(*args)

    def alert(self, prompt: Any, title: Any, buttons: Any, mode: Any, callback: Any) -> str:
        if buttons not in _BUTTON_ANSWERS:
            raise KeyError(buttons)  # _xlwindows: buttons_dict[buttons]
        if mode and mode not in _ALERT_MODES:
            raise KeyError(mode)
        prompt = "" if prompt is None else prompt
        title = "" if title is None else title
        if not isinstance(prompt, str) or not isinstance(title, str):
            raise TypeError("win32api.MessageBox needs str prompt and title, got "
                            f"{type(prompt).__name__} and {type(title).__name__}")
        self.alerts.append((title, prompt, buttons, mode))
        allowed = _BUTTON_ANSWERS[buttons]
        if self.answers:
            answer = self.answers.pop(0)
            if answer not in allowed:
                raise AssertionError(f"memxl: queued answer {answer!r} is not a button of "
                                     f"a {buttons!r} alert {prompt!r}")
            return answer
        if allowed == ("ok",):
            return "ok"
        raise AssertionError(f"memxl: alert {title!r}/{prompt!r} asks {buttons!r} but no answer "
                             "is queued: call memxl.queue_answers(app, ...)")


class _Books(base_classes.Books):
    def __init__(self, app: _App) -> None:
        self.app = app
        self._books: list[_Book] = []
        self._active: _Book | None = None

    @property
    def active(self) -> _Book | None:
        return self._active

    def __call__(self, name_or_index: int | str) -> _Book:
        # (an add-in is found by name, as Workbooks("x.xlam"), but not enumerated)
        for b in [*self._books, *self.app.addins]:
            if b.name.casefold() == str(name_or_index).casefold():
                return b
        raise KeyError(name_or_index)  # _xlwindows turns the com_error into KeyError

    def __len__(self) -> int:
        return len(self._books)

    def __iter__(self) -> Iterator[_Book]:
        return iter(list(self._books))

    def add(self) -> _Book:
        n = 1
        names = {b.name.casefold() for b in self._books}
        while f"book{n}" in names:
            n += 1
        return self._new(f"Book{n}", None, ["Sheet1"])

    def _new(self, name: str, fullname: str | None, sheet_names: Iterable[str]) -> _Book:
        if any(b.name.casefold() == name.casefold() for b in self._books):
            raise ComError(f"memxl: a workbook named {name!r} is already open in this app")
        book = _Book(self.app, name, fullname or name)
        for s in sheet_names:
            book.sheets._append(s)
        if not book.sheets._sheets:
            book.sheets._append("Sheet1")
        book.sheets._active = book.sheets._sheets[0]
        self._books.append(book)
        self._active = book
        return book

    def open(self, fullname: Any = None, *args: Any, **kwargs: Any) -> _Book:
        """Workbooks.Open of an .xlsx/.xlsm file: what ``memxl.from_file`` holds of it."""
        if not str(fullname).lower().endswith((".xlsx", ".xlsm")):
            raise NotImplementedError("memxl opens only .xlsx/.xlsm files "
                                      "(as memxl.from_file(path) reads them)")
        return from_file(fullname, app=xw.App(impl=self.app)).impl


class _Book(base_classes.Book):
    def __init__(self, app: _App, name: str, fullname: str) -> None:
        self._app = app
        self._name = name
        self._fullname = fullname
        self._sheets = _Sheets(self)

    @property
    def name(self) -> str:
        return self._name

    @property
    def fullname(self) -> str:
        return self._fullname

    @property
    def sheets(self) -> _Sheets:
        return self._sheets

    @property
    def app(self) -> _App:
        return self._app

    def activate(self) -> None:
        self._app.books._active = self

    def close(self) -> None:
        books = self._app.books
        if self in books._books:
            books._books.remove(self)
        if books._active is self:
            books._active = books._books[-1] if books._books else None

    def save(self, path: Any = None, password: Any = None) -> None:
        """SaveAs an .xlsx (values, formulas with their cached values, date formats), written
        by XlsxWriter; the book takes the file's name."""
        if path is None or not str(path).lower().endswith(".xlsx") or password:
            raise NotImplementedError("memxl saves only as .xlsx to a given path")
        _save_xlsx(self, os.fspath(path))
        self._fullname = os.path.abspath(os.fspath(path))
        self._name = os.path.basename(self._fullname)


class _Sheets(base_classes.Sheets):
    # No __contains__ on purpose: like _xlwindows.Sheets, so `"x" in book.sheets` is False.
    def __init__(self, book: _Book) -> None:
        self.book = book
        self._sheets: list[_Sheet] = []
        self._active: _Sheet | None = None

    @property
    def active(self) -> _Sheet | None:
        return self._active

    def __call__(self, name_or_index: int | str) -> _Sheet:
        if isinstance(name_or_index, int) and not isinstance(name_or_index, bool):
            if 1 <= name_or_index <= len(self._sheets):
                return self._sheets[name_or_index - 1]
        elif isinstance(name_or_index, str):
            for s in self._sheets:
                if s.name.casefold() == name_or_index.casefold():
                    return s
        # _xlwindows does not catch the com_error here (unlike Books and Charts)
        raise ComError(f"memxl: no sheet {name_or_index!r} in {self.book.name} "
                       "(Excel: Invalid index)")

    def __len__(self) -> int:
        return len(self._sheets)

    def __iter__(self) -> Iterator[_Sheet]:
        return iter(list(self._sheets))

    def _check_name(self, name: Any, sheet: _Sheet | None = None) -> str:
        if not isinstance(name, str) or not name:
            raise ComError(f"memxl: sheet name must be text, got {name!r}")
        for s in self._sheets:
            if s is not sheet and s.name.casefold() == name.casefold():
                raise ComError(f"memxl: a sheet named {name!r} already exists")
        return name

    def _append(self, name: str) -> _Sheet:
        sheet = _Sheet(self.book, self._check_name(name))
        self._sheets.append(sheet)
        return sheet

    def add(self, before: _Sheet | None = None, after: _Sheet | None = None,
            name: str | None = None) -> _Sheet:
        if name is None or after is None or before is not None:
            raise NotImplementedError("memxl: only sheets.add(name, after=sheet)")
        sheet = _Sheet(self.book, self._check_name(name))
        self._sheets.insert(self._sheets.index(after) + 1, sheet)
        self._active = sheet
        return sheet


class _Sheet(base_classes.Sheet):
    def __init__(self, book: _Book, name: str) -> None:
        self._book = book
        self._name = name
        self.store: dict[tuple[int, int], _Content] = {}
        self.formats: dict[tuple[int, int], str] = {}  # per-cell number formats (dates)
        self.write_log: list[Write] = []
        self._charts: list[_Chart] = []
        self._chart_counter = 0

    # --- identity
    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = self._book.sheets._check_name(value, self)

    @property
    def book(self) -> _Book:
        return self._book

    # --- ranges
    def range(self, arg1: Any, arg2: Any = None) -> _Range:
        if isinstance(arg1, tuple) and len(arg1) == 4:  # (row, col, nrows, ncols): chunking
            return _Range(self, *arg1)
        r1, c1, r2, c2 = self._box(arg1)
        if arg2 is not None:
            a1, b1, a2, b2 = self._box(arg2)
            r1, c1, r2, c2 = min(r1, a1), min(c1, b1), max(r2, a2), max(c2, b2)
        return _Range(self, r1, c1, r2 - r1 + 1, c2 - c1 + 1)

    def _box(self, arg: Any) -> tuple[int, int, int, int]:
        if isinstance(arg, _Range):
            return arg._box()
        if isinstance(arg, str):
            return self._parse_address(arg)
        if isinstance(arg, tuple) and len(arg) == 2:
            if 0 in arg:
                raise IndexError("Attempted to access 0-based Range. "
                                 "xlwings/Excel Ranges are 1-based.")
            return arg[0], arg[1], arg[0], arg[1]
        raise NotImplementedError(f"memxl: range argument {arg!r}")

    def _parse_address(self, address: str) -> tuple[int, int, int, int]:
        a = address.replace("$", "").strip()
        try:
            t1, t2 = utils.a1_to_tuples(a)
        except Exception:
            t1, t2 = (None, None), None
        if t1 is None or t1[0] is None or t1[1] is None or (t2 is not None and None in t2):
            raise NotImplementedError(f"memxl: {address!r} is not an A1 address")
        t2 = t2 or t1
        return (min(t1[0], t2[0]), min(t1[1], t2[1]), max(t1[0], t2[0]), max(t1[1], t2[1]))

    @property
    def used_range(self) -> _Range:
        keys = list(self.store)
        keys += [k for k, f in self.formats.items() if f != "General"]
        if not keys:
            return _Range(self, 1, 1, 1, 1)
        r1 = min(k[0] for k in keys)
        r2 = max(k[0] for k in keys)
        c1 = min(k[1] for k in keys)
        c2 = max(k[1] for k in keys)
        return _Range(self, r1, c1, r2 - r1 + 1, c2 - c1 + 1)

    @property
    def charts(self) -> _Charts:
        return _Charts(self)

    # --- cell storage
    def fmt(self, r: int, c: int) -> str:
        return self.formats.get((r, c), "General")

    def keys_in(self, r1: int, c1: int, r2: int, c2: int) -> list[tuple[int, int]]:
        n = (r2 - r1 + 1) * (c2 - c1 + 1)
        if n <= len(self.store):
            return [(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
                    if (r, c) in self.store]
        return [k for k in self.store if r1 <= k[0] <= r2 and c1 <= k[1] <= c2]

    def com_value(self, r: int, c: int) -> Any:
        """What COM's Range.Value gives for one cell."""
        content = self.store.get((r, c))
        if content is None:
            return None
        v = content.value
        if isinstance(v, float):
            if _is_date(self.fmt(r, c)):
                return _from_serial(v)
            return v
        if isinstance(v, XlError):
            return v.code
        return v

    def com_formula(self, r: int, c: int) -> str:
        """What COM's Range.Formula gives for one cell."""
        content = self.store.get((r, c))
        if content is None:
            return ""
        if content.formula is not None:
            return content.formula
        v = content.value
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, float):
            if _is_date(self.fmt(r, c)):
                return _format_date(_from_serial(v))
            return _format_number(v)
        if isinstance(v, XlError):
            return v.text
        return "" if v is None else str(v)

    def enter(self, r: int, c: int, x: Any) -> None:
        """Store one value as Excel does when it is assigned to Range.Value/Formula."""
        key = (r, c)
        if x is None or (isinstance(x, str) and x == ""):
            self.store.pop(key, None)
            return
        if isinstance(x, bool) or (np is not None and isinstance(x, np.bool_)):
            self.store[key] = _Content(bool(x))
            return
        if isinstance(x, int | float | decimal.Decimal):
            v = float(x)
            if math.isnan(v) or math.isinf(v):
                raise NotImplementedError(f"memxl: writing {x!r} to a cell is not modelled "
                                          "(Excel has no NaN/infinity)")
            self.store[key] = _Content(v)
            return
        if isinstance(x, dt.datetime | dt.date):
            d = _datetime_to_com_time(x)
            if d == "":
                self.store.pop(key, None)
                return
            if not _is_date(self.fmt(r, c)):
                self.formats[key] = _SHORT_DATE if d.time() == dt.time() else _SHORT_DATETIME
            self.store[key] = _Content(_to_serial(d))
            return
        if not isinstance(x, str):
            raise TypeError(f"memxl: COM cannot convert {type(x).__name__} ({x!r}) to a cell "
                            "value")
        self._enter_text(r, c, x)

    def _enter_text(self, r: int, c: int, s: str) -> None:
        key = (r, c)
        if s[0] == "'":  # Excel's quote prefix: the rest is text, shown as typed
            self.store[key] = _Content(s[1:], prefix=True)
            return
        if s[0] == "=":
            self.store[key] = _Content(None, formula=s)
            return
        if _EXCEL_MAY_PARSE.match(s):  # (memxl does not model how Excel parses an entry)
            raise NotImplementedError(
                f"memxl: Excel may turn the entry {s!r} into a number, date, bool or error; "
                "write text with a leading apostrophe, other values as Python values")
        self.store[key] = _Content(s)

    def plant(self, r: int, c: int, x: Any, formula: str | None = None) -> None:
        """Store a value as an existing workbook holds it: text is never parsed, a str starting
        with "=" is a formula (or pass ``formula`` with ``x`` as its cached value)."""
        key = (r, c)
        tx = type(x)
        if formula is None and (
            (tx is float and math.isfinite(x)) or (tx is str and x and x[0] != "=")
        ):
            self.store[key] = _Content(x)  # the common cases, fast
            return
        if formula is None and isinstance(x, str) and x.startswith("="):
            formula, x = x, None
        if x is None or (isinstance(x, str) and x == "" and formula is None):
            if formula is None:
                self.store.pop(key, None)
            else:
                self.store[key] = _Content(None, formula=formula)
            return
        if isinstance(x, XlError | str | bool):
            v = x
        elif isinstance(x, int | float | decimal.Decimal):
            v = float(x)
            if math.isnan(v) or math.isinf(v):
                raise ValueError(f"memxl: a cell cannot hold {x!r}")
        elif isinstance(x, dt.datetime | dt.date):
            d = _datetime_to_com_time(x)
            if not _is_date(self.fmt(r, c)):
                self.formats[key] = _SHORT_DATE if d.time() == dt.time() else _SHORT_DATETIME
            v = _to_serial(d)
        else:
            raise TypeError(f"memxl: cannot plant {type(x).__name__} ({x!r}) in a cell")
        self.store[key] = _Content(v, formula=formula)


class _Range(base_classes.Range):
    def __init__(self, sheet: _Sheet, row: int, column: int, nrows: int, ncols: int) -> None:
        if row < 1 or column < 1 or (nrows and row + nrows - 1 > MAX_ROWS) \
                or (ncols and column + ncols - 1 > MAX_COLS):
            raise ComError(f"memxl: range ({row}, {column}) {nrows}x{ncols} is outside the "
                           "sheet")
        self.sheet = sheet
        self._row = row
        self._col = column
        self._nrows = nrows
        self._ncols = ncols
        self.options: dict[str, Any] = {}

    def _box(self) -> tuple[int, int, int, int]:
        return (self._row, self._col, self._row + max(self._nrows, 1) - 1,
                self._col + max(self._ncols, 1) - 1)

    def _empty(self) -> bool:
        return not (self._nrows and self._ncols)

    # --- geometry
    @property
    def api(self) -> _NoApi | None:
        return None if self._empty() else _NoApi("Range")

    @property
    def row(self) -> int:
        return self._row

    @property
    def column(self) -> int:
        return self._col

    @property
    def shape(self) -> tuple[int, int]:
        return self._nrows, self._ncols

    def get_address(self, row_absolute: bool = True, col_absolute: bool = True,
                    external: bool = False) -> str:
        if external:
            raise NotImplementedError("memxl: external addresses")
        rp = "$" if row_absolute else ""
        cp = "$" if col_absolute else ""
        r1, c1, r2, c2 = self._box()
        a = f"{cp}{utils.col_name(c1)}{rp}{r1}"
        if (r1, c1) != (r2, c2):
            a += f":{cp}{utils.col_name(c2)}{rp}{r2}"
        return a

    @property
    def address(self) -> str:
        return self.get_address(True, True, False)

    def __call__(self, row: int, col: int) -> _Range:  # (xlwings' resize uses it)
        return _Range(self.sheet, self._row + row - 1, self._col + col - 1, 1, 1)

    def _log(self, kind: str) -> None:
        self.sheet.write_log.append(Write(kind, self.address, self._row, self._col, self._nrows,
                                          self._ncols))

    # --- values
    def _read(self, get: Any) -> Any:
        if (self._nrows, self._ncols) == (1, 1):
            return get(self._row, self._col)
        cols = range(self._col, self._col + self._ncols)
        return tuple(tuple(get(r, c) for c in cols)
                     for r in range(self._row, self._row + self._nrows))

    raw_value = _contents("value", "com_value")

    def _write(self, data: Any) -> None:
        sheet = self.sheet
        if isinstance(data, list | tuple):
            rows = list(data)
            if rows and not isinstance(rows[0], list | tuple):
                rows = [rows]  # a 1-D array is a row for COM
            shape = (len(rows), len(rows[0]) if rows else 0)
            if shape != (self._nrows, self._ncols) or any(len(r) != shape[1] for r in rows):
                raise NotImplementedError(
                    f"memxl: writing a {shape[0]}x{shape[1]} array into {self.address} "
                    f"({self._nrows}x{self._ncols}) is not modelled")
            for i, row in enumerate(rows):
                for j, x in enumerate(row):
                    sheet.enter(self._row + i, self._col + j, x)
            self._after_write()
            return
        if data is None or (isinstance(data, str) and data == ""):
            for k in sheet.keys_in(*self._box()):
                del sheet.store[k]
            return
        if (self._nrows, self._ncols) != (1, 1):
            raise NotImplementedError(f"memxl: one value into {self.address} (Excel fills the "
                                      "range, adjusting formulas) is not modelled")
        sheet.enter(self._row, self._col, data)
        self._after_write()

    def _after_write(self) -> None:
        app = self.sheet.book.app
        if app.functions and app.calculation == "automatic":
            _recalculate(self.sheet)

    formula = _contents("formula", "com_formula")
    formula2 = property(formula.fget, _contents("formula2", "com_formula").fset)  # (read as formula)

    def clear_contents(self) -> None:
        if self._empty():
            return
        self._log("clear_contents")
        for k in self.sheet.keys_in(*self._box()):
            del self.sheet.store[k]

# ---------------------------------------------------------------------------------------------
# charts


class _Charts(base_classes.Collection, base_classes.Charts):
    def __init__(self, sheet: _Sheet) -> None:
        self.sheet = sheet

    def __len__(self) -> int:
        return len(self.sheet._charts)

    def add(self, left: float, top: float, width: float, height: float, chart_type: Any = None,
            source: Any = None, plot_by: Any = None, name: Any = None, anchor: Any = None,
            style: Any = 227) -> _Chart:
        if source is not None or name is not None or anchor is not None:
            raise NotImplementedError("memxl: charts.add(left, top, width, height[, type])")
        self.sheet._chart_counter += 1
        chart = _Chart(self.sheet, f"Chart {self.sheet._chart_counter}")
        self.sheet._charts.append(chart)
        if chart_type is not None:
            chart.chart_type = chart_type
        return chart


class _Chart(base_classes.Chart):
    def __init__(self, sheet: _Sheet, name: str) -> None:
        self._sheet = sheet
        self._name = name
        self._type = "column_clustered"
        self._source: str | None = None

    name = _stored("name")
    chart_type = _stored("type")

    def set_source_data(self, rng: _Range, plot_by: str | None = None) -> None:
        self._source = f"{rng.sheet.name}!{rng.address}"

    def info(self) -> dict[str, Any]:
        return {"name": self._name, "chart_type": self._type, "source": self._source}


# ---------------------------------------------------------------------------------------------
# public helpers


def _impl(obj: Any, cls: type, what: str) -> Any:
    impl = getattr(obj, "impl", obj)
    if isinstance(impl, cls):
        return impl
    if cls is _App and isinstance(impl, _Book):
        return impl.app
    raise TypeError(f"memxl: expected a memxl {what}, got {obj!r}")


def _sheet(sheet: Any) -> _Sheet:
    return _impl(sheet, _Sheet, "sheet")


def _app(app: Any) -> _App:
    return _impl(app, _App, "app (or book)")


@contextmanager
def activate() -> Iterator[Any]:
    """Register a fresh memxl engine as ``xlwings.engines.active``; restore everything after."""
    engines = xw.engines
    saved = (list(engines.engines), dict(engines.engines_by_name), engines.active)
    impl = _Engine()
    engine = xw.main.Engine(impl=impl)
    engines.add(engine)
    engines.active = engine
    try:
        yield engine
    finally:
        engines.engines[:] = saved[0]
        engines.engines_by_name.clear()
        engines.engines_by_name.update(saved[1])
        engines.active = saved[2]


def _app_for(app: Any) -> _App:
    if app is not None:
        return _app(app)
    active = xw.engines.active
    if active is not None and isinstance(active.impl, _Engine):
        apps = active.impl.apps
        return next(iter(apps)) if len(apps) else apps.add(add_book=False)
    return _App(_Engine())  # a private engine: nothing registered anywhere


def new_book(sheets: dict[str, Any] | Iterable[tuple[str, Any]] | None = None,
             name: str = "Book1.xlsx", *, fullname: str | None = None, app: Any = None,
             ) -> xw.Book:
    """A real xlwings Book on a memxl App (see the module docstring)."""
    items = list(sheets.items() if isinstance(sheets, dict) else (sheets or []))
    a = _app_for(app)
    book = a.books._new(name, fullname, [n for n, _ in items])
    for sheet_name, rows in items:
        s = book.sheets(sheet_name)
        for i, row in enumerate(rows or [], start=1):
            for j, x in enumerate(row, start=1):
                s.plant(i, j, x)
    return xw.Book(impl=book)


def from_file(path: str | os.PathLike[str], *, sheets: Iterable[str] | None = None,
              name: str | None = None, fullname: str | None = None, app: Any = None) -> xw.Book:
    """A Book with the worksheets of a workbook file, read by ``workbook.xlsxio.read_sheet``."""
    from workbook.xlsxio import CellError, read_sheet, sheet_names

    names = list(sheets) if sheets is not None else sheet_names(path)
    a = _app_for(app)
    book = a.books._new(name or os.path.basename(os.fspath(path)),
                        fullname or os.path.abspath(os.fspath(path)), names)
    for sheet_name in names:
        data = read_sheet(path, sheet_name)
        s = book.sheets(sheet_name)

        def put(r: int, c: int, v: Any, s: _Sheet = s, data: Any = data) -> None:
            if isinstance(v, CellError):
                t = v.text.upper()
                v = XlError(t) if t in ERROR_CODES or t in EXTRA_ERROR_CODES else v.text
            f = data.formulas.get((r, c))
            if f is None and isinstance(v, str) and v.startswith("="):
                s.store[(r, c)] = _Content(v, prefix=True)  # text in the file stays text
                return
            s.plant(r, c, v, formula=None if f is None else "=" + f)

        for c, v in enumerate(data.header_values, start=1):
            put(1, c, v)
        for c, col in enumerate(data.columns, start=1):
            for i, v in enumerate(col):
                put(i + 2, c, v)
    return xw.Book(impl=book)


def cells(sheet: Any) -> dict[tuple[int, int], Cell]:
    """Stored contents: {(row, col): Cell} for every non-empty cell."""
    s = _sheet(sheet)
    return {k: _cell(s, *k) for k in sorted(s.store)}


def _cell(s: _Sheet, r: int, c: int) -> Cell:
    content = s.store.get((r, c))
    fmt = s.fmt(r, c)
    if content is None:
        return Cell(None, None, False, fmt)
    v = content.value
    if isinstance(v, float) and _is_date(fmt):
        v = _from_serial(v)
    return Cell(v, content.formula, content.prefix, fmt)


def cell(sheet: Any, address: str) -> Cell:
    s = _sheet(sheet)
    r, c, _, _ = s._parse_address(address)
    return _cell(s, r, c)


def to_rows(sheet: Any, *, formulas: bool = False) -> list[list[Any]]:
    """Values from A1 to the used range's last cell (errors as text, empty as None)."""
    s = _sheet(sheet)
    if not s.store:
        return []
    used = s.used_range
    r2, c2 = used.row + used.shape[0] - 1, used.column + used.shape[1] - 1
    out = []
    for r in range(1, r2 + 1):
        row = []
        for c in range(1, c2 + 1):
            content = s.store.get((r, c))
            if content is None:
                row.append(None)
            elif formulas and content.formula is not None:
                row.append(content.formula)
            else:
                v = _cell(s, r, c).value
                row.append(v.text if isinstance(v, XlError) else v)
        out.append(row)
    return out


def writes(sheet: Any, kind: str | None = None) -> list[Write]:
    log = _sheet(sheet).write_log
    return [w for w in log if kind is None or w.kind == kind]


def alerts(app: Any) -> list[tuple[str, str, str | None, str | None]]:
    return list(_app(app).alerts)


def queue_answers(app: Any, *answers: str) -> None:
    _app(app).answers.extend(answers)


def status_history(app: Any) -> list[Any]:
    return list(_app(app).status_history)


def charts(sheet: Any) -> list[dict[str, Any]]:
    return [ch.info() for ch in _sheet(sheet)._charts]


def load_addin(app: Any, name: str = "client_rating.xlam", *,
               functions: dict[str, Any] | None = None,
               macros: dict[str, Any] | None = None) -> xw.Book:
    """An add-in loaded into ``app``: found by name (``app.books[name]``) but not enumerated,
    as Excel's Workbooks; ``macros`` {Name: callable} run by ``app.macro("'name'!Name")``;
    ``functions`` {NAME: Python function} calculated in formulas ``=NAME(refs)`` (also in the
    forms Excel saves: ``[1]!NAME(``, ``'path\\name'!NAME(``, ``_xludf.NAME(``) as xlwings
    calls a UDF declared ``ndim=2, err_to_str=True``: each argument (a cell or a range of the
    same sheet: what the self-test writes) a 2-D list; a 2-D result spills.
    Recalculation: on every write in automatic mode, and ``app.calculate()``."""
    a = _app(app)
    book = _Book(a, name, name)
    book.sheets._append("Sheet1")
    a.addins.append(book)
    a.functions.update({k.upper(): f for k, f in (functions or {}).items()})
    a.macros.update({f"'{name}'!{k}": f for k, f in (macros or {}).items()})
    return xw.Book(impl=book)


_FN_CALL = re.compile(r"\s*([A-Za-z_][\w.]*)\s*\((.*)\)\s*", re.S)
_ERROR_TEXTS = {code: text for text, code in {**ERROR_CODES, **EXTRA_ERROR_CODES}.items()}


def _arg_value(sheet: _Sheet, a: str) -> list[list[Any]]:
    """A reference argument as xlwings hands it to the UDF (2-D, errors as their text)."""
    r1, c1, r2, c2 = sheet._parse_address(a)

    def cell(r: int, c: int) -> Any:
        v = sheet.com_value(r, c)
        return _ERROR_TEXTS[v] if isinstance(v, int) and not isinstance(v, bool) else v

    return [[cell(r, c) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]


def _result_value(v: Any) -> Any:
    if np is not None and isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool | str):
        return v
    if isinstance(v, int | float):
        return float(v)
    return None if v is None else str(v)


def _evaluate(sheet: _Sheet, r: int, c: int, spills: dict[tuple[int, int], tuple[int, int]]
              ) -> None:
    from workbook.audit import plain_form

    content = sheet.store[(r, c)]
    app = sheet.book.app
    m = _FN_CALL.fullmatch(plain_form(content.formula[1:]))
    if m is None or m.group(1).upper() not in app.functions:
        return  # not one of the add-in's functions: not calculated (see module doc)
    result = app.functions[m.group(1).upper()](
        *[_arg_value(sheet, a) for a in m.group(2).split(",")])
    n, k = spills.pop((r, c), (1, 1))
    for rr, cc in [(r + i, c + j) for i in range(n) for j in range(k)][1:]:
        sheet.store.pop((rr, cc), None)  # the previous spill
    if isinstance(result, list):
        for i, row in enumerate(result):
            for j, v in enumerate(row):
                if (i, j) != (0, 0):
                    sheet.store[(r + i, c + j)] = _Content(_result_value(v))
        spills[(r, c)] = (len(result), len(result[0]))
        result = result[0][0]
    content.value = _result_value(result)


def _recalculate(sheet: _Sheet) -> None:
    """Calculate every formula cell of ``sheet`` that calls an add-in function."""
    if not sheet.book.app.functions:
        return
    spills = sheet.__dict__.setdefault("_spills", {})
    for key in sorted(k for k, v in sheet.store.items() if v.formula is not None):
        _evaluate(sheet, *key, spills)


def _save_xlsx(book: _Book, path: str) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(path, {"strings_to_formulas": False, "strings_to_numbers": False,
                                    "strings_to_urls": False})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for sheet in book.sheets:
        ws = wb.add_worksheet(sheet.name)
        for (r, c), content in sorted(sheet.store.items()):
            v = content.value
            if isinstance(v, XlError):
                raise NotImplementedError("memxl: saving error values is not modelled")
            if content.formula is not None:
                ws.write_formula(r - 1, c - 1, content.formula, None, "" if v is None else v)
            elif isinstance(v, bool):
                ws.write_boolean(r - 1, c - 1, v)
            elif isinstance(v, float) and _is_date(sheet.fmt(r, c)):
                ws.write_datetime(r - 1, c - 1, _from_serial(v), date_fmt)
            elif isinstance(v, float):
                ws.write_number(r - 1, c - 1, v)
            elif v is not None:
                ws.write_string(r - 1, c - 1, str(v))
    wb.close()
