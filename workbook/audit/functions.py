"""The Excel functions the audit recomputes cells with, and the cell coercion it shares with
them — the one module of the audit that imports ``udfs``.

``udfs._rate``, ``udfs._coerce`` and ``udfs._functions`` are private to ``udfs`` (and load
xlwings); issue 11 moves coercion and the function bodies into an xlwings-free home. The switch
is the import lines of this module: the rest of the audit uses the public names below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import udfs
from rules import RuleError
from udfs import _coerce, _rate
from udfs._functions import CATALOGUE

#: The names of our Excel functions (``CLIENT_TIER``, ``RISK_CLASS``, …).
FUNCTION_NAMES: tuple[str, ...] = tuple(CATALOGUE)

decide = _rate.decide
rulebook = _rate.rulebook
rulebook_id = _rate.rulebook_id
tier_rulebook = _rate.tier_rulebook
parse_number = _coerce.parse_number
coerce_date = _coerce.date
flag = _coerce.flag
is_error_text = _coerce.is_error_text


def function(name: str) -> Callable[..., Any]:
    """Our Excel function ``name`` (the Python the cell runs in Excel)."""
    return getattr(udfs, name)


def risk_class_decision(values: list[Any]) -> Any:
    """The decision of ``RISK_CLASS(score[, rulebook])`` for its argument values; None where
    they cannot be rated."""
    try:
        return decide(rulebook(values[1] if len(values) > 1 else None, "risk-class"), values[0])
    except RuleError:
        return None
