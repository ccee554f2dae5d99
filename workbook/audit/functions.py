"""The Excel functions the audit recomputes cells with, and the cell coercion it shares with
them — the one module of the audit that names their homes: the bodies in
``rules.functions.catalogue`` (the Python each cell runs in Excel; ``udfs`` only registers them
with xlwings), the rulebook argument in ``rules.functions.rate``, coercion in ``rules.cells``.
The rest of the audit uses the names below, and never loads xlwings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rules import RuleError, cells
from rules.functions import CATALOGUE, catalogue, rate

#: The names of our Excel functions (``CLIENT_TIER``, ``RISK_CLASS``, …).
FUNCTION_NAMES: tuple[str, ...] = tuple(CATALOGUE)

decide = rate.decide
rulebook = rate.rulebook
rulebook_id = rate.rulebook_id
tier_rulebook = rate.tier_rulebook
parse_number = cells.parse_number
coerce_date = cells.date
flag = cells.flag
is_error_text = cells.is_error_text


def function(name: str) -> Callable[..., Any]:
    """Our Excel function ``name`` (the Python the cell runs in Excel)."""
    return getattr(catalogue, name)


def risk_class_decision(values: list[Any]) -> Any:
    """The decision of ``RISK_CLASS(score[, rulebook])`` for its argument values; None where
    they cannot be rated."""
    try:
        return decide(rulebook(values[1] if len(values) > 1 else None, "risk-class"), values[0])
    except RuleError:
        return None
