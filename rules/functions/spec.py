"""What the catalogue's functions share: their wizard texts (:class:`Spec`, :data:`SPECS`, filled
by :func:`excel_function` and :func:`excel_arg`), today's date and the readers of a required
cell (``need_text``, ``need_date``, ``need_number``: an empty cell is ``#N/A …为空``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rules import RuleInputError
from rules import cells as coerce

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Spec:
    """What Excel's function wizard shows of one function: volatile or not, one doc per argument
    (in the order of the signature); ``udfs`` turns it into ``xw.func`` / ``xw.arg``."""

    volatile: bool = False
    args: list[tuple[str, str]] = field(default_factory=list)


#: Function name -> its :class:`Spec`, filled by the decorators below.
SPECS: dict[str, Spec] = {}


def excel_function(*, volatile: bool = False) -> Callable[[F], F]:
    """Mark a catalogue function (``volatile``: recalculated on every recalculation)."""

    def deco(f: F) -> F:
        SPECS.setdefault(f.__name__, Spec()).volatile = volatile
        return f

    return deco


def excel_arg(name: str, doc: str) -> Callable[[F], F]:
    """The wizard's text of argument ``name`` (decorators apply bottom-up: prepend)."""

    def deco(f: F) -> F:
        SPECS.setdefault(f.__name__, Spec()).args.insert(0, (name, doc))
        return f

    return deco


DOC_RULEBOOK = ("规则编号，可省略（默认 brokerage 经纪业务；private-fund 私募基金；wealth 财富管理，"
                "也可写 经纪/私募/财富）")


def todays_date() -> dt.date:
    """Today (the functions' default date: those that use it are volatile)."""
    return dt.date.today()


def need_text(v: Any, field: str) -> str:
    s = coerce.text(v, field)
    if s is None:
        raise RuleInputError(f"{field}为空", field=field, value=v, kind="na")
    return s


def need_date(v: Any, field: str) -> dt.date:
    d = coerce.date(v, field)
    if d is None:
        raise RuleInputError(f"{field}为空", field=field, value=v, kind="na")
    return d


def need_number(v: Any, field: str) -> float:
    x = coerce.number(v, field)
    if x is None:
        raise RuleInputError(f"{field}为空", field=field, value=v, kind="na")
    return x
