"""Upgrade-only (就高不就低) and the modes of a re-rating run, on whole columns of tier ranks.

Ranks are output indexes of a rulebook: 0 is the highest tier, -1 means "none" (no tier held,
or the row was rejected). Pure and vectorised: the workbook job and the Excel function
QUARTER_TIER use the same rules (WORKBOOK.md, "Modes of a re-rating run").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .engine import Rulebook
from .errors import RuleInputError, show

Mode = Literal["quarterly", "annual", "new-accounts"]
MODES: tuple[Mode, ...] = ("quarterly", "annual", "new-accounts")
MODE_LABELS = {"quarterly": "季度重评级", "annual": "年度评级", "new-accounts": "新开户评级"}

UPGRADE, KEEP, KEPT_UP, DOWNGRADE, FIRST, OVERRIDE = (
    "升级", "维持", "保留 (就高不就低)", "降级", "首次评级", "特别调整")
CHANGE_KINDS = (UPGRADE, KEEP, KEPT_UP, DOWNGRADE, FIRST, OVERRIDE)


def parse_mode(text: str) -> Mode:
    t = str(text).strip().lower()
    aliases = {"quarterly": "quarterly", "季度": "quarterly", "季度重评级": "quarterly",
               "annual": "annual", "年度": "annual", "年度评级": "annual",
               "new-accounts": "new-accounts", "新开户": "new-accounts", "新开户评级": "new-accounts",
               "monthly": "new-accounts"}
    if t in aliases:
        return aliases[t]  # type: ignore[return-value]
    raise RuleInputError(f"未知的评级模式：{show(text)}（可用：quarterly 季度、annual 年度、new-accounts 新开户）",
                         field="模式", value=text, kind="na")


@dataclass(frozen=True)
class Outcome:
    """New rank per row and the kind of change (one of CHANGE_KINDS, '' where rejected)."""

    rank: np.ndarray
    change: np.ndarray  # object array of str
    code: np.ndarray  # the same as indices into CHANGE_KINDS (-1: ''), for a caller that keeps codes


def apply_mode(rb: Rulebook, mode: Mode, computed: np.ndarray, base: np.ndarray,
               override: np.ndarray | None = None) -> Outcome:
    """The tier in force after a run.

    - ``quarterly``: the higher of ``base`` (当前级别, else 年度级别) and ``computed``; never lower.
    - ``annual``: ``computed`` (may go down).
    - ``new-accounts``: base defaults to the lowest tier (普通客户), then upgrade-only.
    A rulebook whose policy moves tiers both ways (``upgrade_only = false``, e.g. wealth) is rated
    like ``annual`` in every mode. A valid ``override`` (>= 0) wins in every mode (特别调整).
    Rows with ``computed < 0`` (rejected) keep ``base`` and get change ''.
    """
    computed = np.asarray(computed, np.int32)
    base = np.asarray(base, np.int32)
    lowest = len(rb.outputs) - 1
    base_eff = np.where(base >= 0, base, lowest) if mode == "new-accounts" else base
    upgrade_only = rb.upgrade_only and mode != "annual"
    has_base = base_eff >= 0
    if upgrade_only:
        new = np.where(has_base, np.minimum(base_eff, computed), computed)
    else:
        new = computed.copy()
    code = np.full(len(computed), -1, np.int8)
    code[computed < base_eff] = CHANGE_KINDS.index(UPGRADE)
    code[computed == base_eff] = CHANGE_KINDS.index(KEEP)
    code[(computed > base_eff) & has_base] = CHANGE_KINDS.index(
        KEPT_UP if upgrade_only else DOWNGRADE)
    code[base < 0] = CHANGE_KINDS.index(FIRST)
    if override is not None:
        override = np.asarray(override, np.int32)
        has_override = override >= 0
        new = np.where(has_override, override, new)
        code[has_override] = CHANGE_KINDS.index(OVERRIDE)
    rejected = computed < 0
    if override is not None:
        rejected &= ~has_override
    new = np.where(rejected, base, new)
    code[rejected] = -1
    return Outcome(new, _KIND_TEXTS[code], code)


#: CHANGE_KINDS by code, '' at -1 (the last)
_KIND_TEXTS = np.array([*CHANGE_KINDS, ""], dtype=object)


def quarter_tier(rb: Rulebook, tier_in_force: str | None, computed_label: str) -> tuple[str, str]:
    """Scalar 就高不就低 for one client: (tier after the quarterly run, kind of change)."""
    computed = np.array([rb.rank(computed_label)])
    base = np.array([rb.rank(tier_in_force) if tier_in_force not in (None, "") else -1])
    out = apply_mode(rb, "quarterly", computed, base)
    return rb.outputs[int(out.rank[0])].label, str(out.change[0])
