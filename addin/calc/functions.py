"""The ONE place the Calc add-in reaches the catalogue functions (docs/calc.md).

Both the extension's UNO component (inside LibreOffice's Python) and the build (the IDL, the
Function Wizard texts) go through here, so moving the function bodies is a change of the two
imports below only. The catalogue is ``rules.functions`` (the plain bodies the xlwings UDFs of
``udfs`` register; no xlwings is imported), taking cells as 2-D lists exactly as xlwings hands
them over — ``ndim=2, err_to_str=True`` — and its ``SPECS`` (the wizard's argument texts).

Values between Calc and Python (``to_python`` / ``to_calc``): Calc hands a required argument
(declared a range) as a tuple of row tuples — the 2-D shape xlwings gives with ``ndim=2`` — and
an optional one (declared ``any``) as a float, a text, or rows for a range; an omitted optional
argument arrives as None and the Python default applies (as in Excel). Calc gives an empty cell
of a range as "" (made None here, as xlwings gives it) but a single empty cell as the number 0
(its rule for one-cell references: ``ScInterpreter::ScExternal``), and never calls the function
with an error cell (the formula shows that error). See docs/calc.md. A
result goes back as a float or a text; TRUE/FALSE as 1/0; a date as its serial number (Calc, like Excel, counts
days from 1899-12-30); None as an empty text; a 2-D list as a tuple of row tuples.
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


def function(name: str) -> Callable[..., Any]:
    """The catalogue function ``name`` (cells in as 2-D lists, a value or 2-D list out)."""
    if name not in CATALOGUE:
        raise KeyError(name)
    return getattr(catalogue, name)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Param:
    name: str
    optional: bool
    varargs: bool
    doc: str


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
                             p.kind is inspect.Parameter.VAR_POSITIONAL, docs.get(p.name, ""))
                       for p in inspect.signature(f).parameters.values())
        out.append(Spec(name, (f.__doc__ or "").strip(), params))
    return out


# ------------------------------------------------------------------------------ values

def to_python(v: Any) -> Any:
    """A Calc argument as the function expects a cell argument: a 2-D list (a reference or an
    inline array), or a literal as 1×1."""
    if isinstance(v, tuple):  # (an empty cell of a range arrives as "")
        return [[None if x == "" else x for x in row] for row in v]
    return [[v]]


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
            pos.extend(to_python(a) for a in (v or ()) if a is not None)
        elif v is None and p.default is not inspect.Parameter.empty:
            pos.append(p.default)
        else:
            pos.append(to_python(v))
    return to_calc(function(name)(*pos))
