"""The typed errors of rules/, and the root of every error of the product.

Every message is Chinese, for end users, and names the value. One root, as httpx's
``_exceptions.py`` has ``HTTPError``: a front end catches :class:`ClientRatingError` once and shows
``str(err)`` as one line; what went wrong is in the subclass::

    ClientRatingError
    ├── RuleError (also a ValueError)          rules/
    │   ├── RuleInputError                     a value a rule cannot rate
    │   └── RulebookError                      a rulebook that cannot be used
    │       └── ParameterMissingError          firm thresholds not set
    ├── WorkbookError                          workbook/schema.py: a workbook the job cannot use
    └── XlsxError                              workbook/xlsxio/errors.py: a file that cannot be read
                                               or written (WorkbookLockedError, UnsafeWorkbookError…)
"""

from __future__ import annotations

import math
from typing import Any


def show(value: Any) -> str:
    """A value as a user would recognise it in a message: numbers with thousands separators."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "无穷大" if value > 0 else "负无穷大"
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) >= 0.01 else repr(value)
    if value is None:
        return "（空）"
    return repr(value) if isinstance(value, str) else str(value)


def show_many(values: list[float]) -> list[str]:
    """``[show(v) for v in values]`` for floats, in one comprehension: the usual numbers
    (0.01 and more in size, finite) skip ``show``'s type checks (same text, tested)."""
    return [f"{v:,.2f}".rstrip("0").rstrip(".") if (v >= 0.01 or v <= -0.01) and v - v == 0
            else show(v) for v in values]


class ClientRatingError(Exception):
    """Root of every error of the product that has a message for the end user (``str(err)``,
    in Chinese): a front end catches this once, never a tuple of classes."""


class RuleError(ClientRatingError, ValueError):
    """Base of every error raised by rules/."""


class RuleInputError(RuleError):
    """An input value a rule cannot rate: never yields a tier.

    ``field`` is the input's Chinese label (资产权益 …), ``value`` the value received.
    ``kind`` is ``"value"`` for a bad value and ``"na"`` for a missing/unknown one, so that the
    Excel layer can prefix ``#VALUE!`` or ``#N/A``.
    """

    def __init__(self, message: str, *, field: str | None = None, value: Any = None,
                 kind: str = "value") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value
        self.kind = kind


class RulebookError(RuleError):
    """A rulebook (or its data file) that cannot be used: unknown, malformed, not in force."""


class ParameterMissingError(RulebookError):
    """A rulebook whose firm-specific parameters are not set yet (e.g. wealth thresholds)."""

    def __init__(self, message: str, missing: list[str]) -> None:
        super().__init__(message)
        self.missing = missing
