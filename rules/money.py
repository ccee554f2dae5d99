"""Amounts are money: compared with the rules' bounds at the cent (0.01 元), rounded half-even.

A cell computed in Excel as ``=17188.1+67276.54+165535.36`` holds 249,999.99999999997 in binary
floating point, although every addend is a cent amount and the sum is 250,000.00 元 to the cent.
Comparing that float with the bound 250,000 would rate the client one tier too low; rounding to
the cent first (half-even, as banks round: 0.125 → 0.12, 0.135 → 0.14) compares what the user
sees. The decimal value rounded is the number as it is written (Python's shortest ``repr``, the
digits Excel shows), so ``1.015`` rounds to 1.02 although its binary value is 1.01499….

Which inputs are money is rulebook data: an input whose ``unit`` is 元 (or that says
``money = true``), see :class:`rules.model.InputSpec`. :func:`to_cents` (one value, the scalar
path: ``Rulebook.evaluate`` and the Excel functions) and :func:`to_cents_array` (whole columns:
``Rulebook.evaluate_many`` and the re-rating job) give the same result for every value; a test
checks it.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

#: Where ``x * 100`` may be too far from the decimal amount times 100 to decide the rounding
#: from the binary product (about 1e9 元; above it the decimal digits are used).
_FAST_LIMIT = 1e11
#: How close to a half cent the binary product may be before the decimal digits decide.
_HALF_MARGIN = 1e-4
_CENT = Decimal("0.01")


def _exact(x: float) -> float:
    return float(Decimal(repr(float(x))).quantize(_CENT, rounding=ROUND_HALF_EVEN))


def to_cents(x: float) -> float:
    """``x`` 元 rounded half-even to the cent (finite numbers; others are returned as they are)."""
    if x != x or x in (math.inf, -math.inf) or float(x).is_integer():
        return x
    y = x * 100.0
    if abs(y) < _FAST_LIMIT and abs(y - math.floor(y) - 0.5) >= _HALF_MARGIN:
        return round(y) / 100  # (round: the nearest integer; far from a tie, as the decimal's)
    return _exact(x)


def to_cents_array(a: np.ndarray) -> np.ndarray:
    """:func:`to_cents` of every element of a float array (a new array; NaN and ±inf kept)."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        y = a * 100.0
        out = np.rint(y) / 100.0
        if ((out == a) | ~np.isfinite(a)).all():
            # every value a cent amount already (or NaN, ±inf): to_cents gives each back —
            # the nearest integer of x·100 is no tie, and x's shortest repr has at most two
            # decimals (tests/rules/test_money.py checks the two ways agree)
            return a.copy()
        frac = y - np.floor(y)
        slow = np.isfinite(a) & ((np.abs(y) >= _FAST_LIMIT) | (np.abs(frac - 0.5) < _HALF_MARGIN))
    whole = np.isfinite(a) & (a == np.floor(np.where(np.isfinite(a), a, 0.0)))
    out = np.where(whole | ~np.isfinite(a), a, out)
    slow &= ~whole
    if slow.any():
        idx = np.flatnonzero(slow)
        out[idx] = [_exact(v) for v in a[idx].tolist()]
    return out


def is_money(unit: str) -> bool:
    """An input measured in 元 is money (compared at the cent)."""
    return unit.strip() == "元"
