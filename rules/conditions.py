"""The compiled form of a rulebook's conditions: :class:`Cond` (one bound test of one input, scalar
and on whole columns) and :class:`CompiledRule` (a rule's conditions, its output and its text)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import show

INF = math.inf


@dataclass(frozen=True, slots=True)
class Cond:
    """``lo (<|<=) inputs[index] (<|<=) hi`` with resolved numeric bounds."""

    index: int
    lo: float
    lo_incl: bool
    hi: float
    hi_incl: bool

    def test(self, x: float) -> bool:
        if x < self.lo or (x == self.lo and not self.lo_incl):
            return False
        return not (x > self.hi or (x == self.hi and not self.hi_incl))

    def mask(self, x: np.ndarray) -> np.ndarray:
        m: np.ndarray | None = None
        if self.lo != -INF:
            m = (x >= self.lo) if self.lo_incl else (x > self.lo)
        if self.hi != INF:
            h = (x <= self.hi) if self.hi_incl else (x < self.hi)
            m = h if m is None else (m & h)
        return np.ones(x.shape, bool) if m is None else m

    def describe(self) -> str:
        parts = []
        if self.lo != -INF:
            parts.append(("≥ " if self.lo_incl else "> ") + show(self.lo))
        if self.hi != INF:
            parts.append(("≤ " if self.hi_incl else "< ") + show(self.hi))
        return " 且 ".join(parts)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    order: int
    output: int  # index into outputs (0 = highest rank)
    sub_class: str
    conds: tuple[Cond, ...]
    default: bool
    text: str

    def matches(self, values: Sequence[float]) -> bool:
        return all(c.test(values[c.index]) for c in self.conds)
