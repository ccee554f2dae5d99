"""The ONE place the Calc add-in reaches the catalogue functions (docs/calc.md).

Both the extension's UNO component (inside LibreOffice's Python) and the build (the IDL, the
Function Wizard texts) go through here, so moving the function bodies is a change of the two
imports below only. The catalogue is ``rules.functions`` (the plain bodies the xlwings UDFs of
``udfs`` register; no xlwings is imported), taking cells as 2-D lists exactly as xlwings hands
them over — ``ndim=2, err_to_str=True`` — and its ``SPECS`` (the wizard's argument texts).

Values between Calc and Python (``to_python`` / ``to_calc``). Calc hands a one-cell reference
to an add-in by its value, and an empty cell's value is the number 0 (``ScInterpreter::ScExternal``:
for ``any`` and ``sequence<sequence<any>>`` arguments alike); only a ``table::XCellRange``
argument lets the function see that the cell is empty — but Calc refuses a literal, a formula or
another function's result for it (Err:504). So each required argument is declared by what an
empty cell read as 0 would do (``CELL_ONLY``, checked in tests/calc/test_calc_empty.py):
- where 0 is a valid value that gives another answer than an empty cell (assets, days, counts),
  or a date's serial number would be taken as an amount (revenue), a ``XCellRange``: the
  function reads the cells itself — empty cells empty, date cells dates, error cells their
  Excel error texts, as xlwings gives them; such an argument must be a cell or a range;
- elsewhere (texts, scores, dates, answers, yes/no) a range ``sequence<sequence<any>>`` that
  takes values and nested calls too; a single 0 there is read as an empty cell (0 gives an
  error text there, or the empty cell's answer: never another answer).
An optional argument (declared ``any``, the only type Calc lets a formula leave out) arrives as a
float, a text, or rows for a range, and an omitted one as None (the Python default applies, as in
Excel); a single empty cell there is 0, as Calc gives it. An empty cell of a range arrives as ""
(made None here, as xlwings gives it). Calc never calls a value argument with an error cell (the
formula shows that error). A result goes back as a float or a text; TRUE/FALSE as 1/0; a date as
its serial number (Calc, like Excel, counts days from 1899-12-30); None as an empty text; a 2-D
list as a tuple of row tuples. See docs/calc.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rules.functions import (  # the catalogue: the one import (module doc)
    CATALOGUE,
    SPECS,
    catalogue,
)

EPOCH = dt.date(1899, 12, 30)  # day 0 of Calc's and Excel's serial dates

#: the required arguments where an empty cell read as 0, or a date cell read as its serial
#: number, could give another answer than the function gives for that cell: declared
#: ``table::XCellRange``, so the function sees the cell itself. For every other required
#: argument 0 gives an error text or the empty cell's answer, and a date's serial number an
#: error text or the date's answer (tests/calc/test_calc_empty.py).
CELL_ONLY: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "CLIENT_TIER": ("assets", "revenue"),
    "TIER_EXPLAIN": ("assets", "revenue"),
    "QUARTER_TIER": ("assets", "revenue"),
    "ASSET_TURNOVER_CLASS": ("assets", "turnover"),
    "HOLDING_STYLE": ("avg_holding_days",),
    "VALUE_SEGMENT": ("current", "future"),
    "RFM": ("recency_days", "frequency", "monetary"),
    "INVESTOR_LEVEL": ("score",),
}.items()}

#: Calc's error codes (``XCell.getError``) as the Excel error texts xlwings gives for them
CALC_ERRORS = {532: "#DIV/0!", 32767: "#N/A", 519: "#VALUE!", 524: "#REF!", 525: "#NAME?",
               503: "#NUM!", 502: "#NUM!", 504: "#VALUE!", 511: "#VALUE!", 522: "#VALUE!",
               523: "#NUM!", 526: "#NULL!", 527: "#VALUE!"}


def function(name: str) -> Callable[..., Any]:
    """The catalogue function ``name`` (cells in as 2-D lists, a value or 2-D list out)."""
    if name not in CATALOGUE:
        raise KeyError(name)
    return getattr(catalogue, name)


@dataclass(frozen=True)
class Param:
    name: str
    optional: bool
    varargs: bool
    doc: str
    cell_only: bool = False  # declared a cell range (CELL_ONLY): must be a cell or range


@dataclass(frozen=True)
class Spec:
    """One function as the add-in declares it: its parameters and Function Wizard texts."""

    name: str
    description: str
    params: tuple[Param, ...]

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "params": [vars(p) for p in self.params]}


def specs() -> list[Spec]:
    """Every catalogue function with its parameters (from its signature) and the Chinese texts
    the Excel add-in registers (the docstring; ``SPECS``: one text per argument)."""
    out = []
    for name in CATALOGUE:
        f = function(name)
        docs = dict(SPECS[name].args) if name in SPECS else {}
        params = tuple(Param(p.name, p.default is not inspect.Parameter.empty,
                             p.kind is inspect.Parameter.VAR_POSITIONAL, docs.get(p.name, ""),
                             p.name in CELL_ONLY.get(name, ()))
                       for p in inspect.signature(f).parameters.values())
        out.append(Spec(name, (f.__doc__ or "").strip(), params))
    return out


# ------------------------------------------------------------------------------ values

def to_python(v: Any, *, zero_is_empty: bool = False) -> Any:
    """A Calc argument as the function expects a cell argument: a 2-D list (a reference or an
    inline array), or a literal as 1×1. A cell range object (an ``XCellRange`` argument) is
    read here: empty cells None, error cells their Excel texts. ``zero_is_empty``: a single
    0 is an empty cell (an argument where 0 is never valid: module doc)."""
    if hasattr(v, "getDataArray"):
        return read_range(v)
    if isinstance(v, tuple):  # (an empty cell of a range arrives as "")
        if zero_is_empty and len(v) == 1 and len(v[0]) == 1 and _is_zero(v[0][0]):
            return [[None]]
        return [[None if x == "" else x for x in row] for row in v]
    return [[None if zero_is_empty and _is_zero(v) else v]]


def _is_zero(x: Any) -> bool:
    return isinstance(x, float) and x == 0.0


def read_range(rng: Any) -> list[list[Any]]:
    """A ``table::XCellRange`` as xlwings gives a range (``ndim=2, err_to_str=True``): numbers,
    texts, None for an empty cell (or an empty text), a date cell as a datetime, an error cell
    as its Excel error text."""
    rows: list[list[Any]] = [[None if x == "" or x is None else x for x in row]
                             for row in rng.getDataArray()]
    origin = rng.getRangeAddress()

    def cells(found: Any) -> list[tuple[int, int]]:
        return [(r - origin.StartRow, c - origin.StartColumn)
                for a in found.getRangeAddresses()
                for r in range(a.StartRow, a.EndRow + 1)
                for c in range(a.StartColumn, a.EndColumn + 1)]

    for r, c in cells(rng.queryContentCells(2)):  # CellFlags.DATETIME: date-formatted numbers
        if isinstance(rows[r][c], float):
            rows[r][c] = dt.datetime(1899, 12, 30) + dt.timedelta(days=rows[r][c])
    for r, c in cells(rng.queryFormulaCells(4)):  # FormulaResult.ERROR
        rows[r][c] = CALC_ERRORS.get(rng.getCellByPosition(c, r).getError(), "#VALUE!")
    return rows


def to_calc(v: Any) -> Any:
    """A result as Calc takes it from an ``any``: float, text, or a tuple of row tuples."""
    if isinstance(v, list | tuple):
        return tuple(tuple(_cell(x) for x in row) if isinstance(row, list | tuple)
                     else (_cell(row),) for row in v)
    return _cell(v)


def _cell(x: Any) -> Any:
    if x is None:
        return ""
    if isinstance(x, bool):  # (Calc has no logical values: TRUE is 1, as its own TRUE())
        return float(x)
    if isinstance(x, dt.datetime):
        return (x - dt.datetime(1899, 12, 30)).total_seconds() / 86400
    if isinstance(x, dt.date):
        return float((x - EPOCH).days)
    if isinstance(x, int | float):
        return float(x)
    if hasattr(x, "item"):  # numpy scalars
        return _cell(x.item())
    return str(x)


@functools.cache
def _signature(name: str) -> list[inspect.Parameter]:
    return list(inspect.signature(function(name)).parameters.values())


def call(name: str, args: tuple[Any, ...]) -> Any:
    """Calc's call of ``name``: arguments as Calc gave them (omitted ones None), the result as
    Calc takes it. An omitted optional argument takes the Python default (as xlwings gives it
    in Excel); a varargs parameter (``RISK_SCORE``) arrives as one tuple of arguments."""
    pos: list[Any] = []
    for p, v in zip(_signature(name), args, strict=False):
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            pos.extend(to_python(a, zero_is_empty=True) for a in (v or ()) if a is not None)
        elif v is None and p.default is not inspect.Parameter.empty:
            pos.append(p.default)
        else:
            required = p.default is inspect.Parameter.empty
            pos.append(to_python(v, zero_is_empty=required
                                 and p.name not in CELL_ONLY.get(name, ())))
    return to_calc(function(name)(*pos))
