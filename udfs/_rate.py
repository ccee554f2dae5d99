"""Deprecated home of the rulebook argument and range rating: :mod:`rules.functions.rate` now
(no xlwings). Kept as a re-export while workbook/ switches its imports; remove then."""

from rules.functions.rate import (
    ALIASES,
    decide,
    labels_rulebook,
    rate_many,
    rulebook,
    rulebook_id,
    tier_rulebook,
    upgrade_only,
)
from rules.registry import NOT_TIERS

__all__ = ["ALIASES", "NOT_TIERS", "decide", "labels_rulebook", "rate_many", "rulebook",
           "rulebook_id", "tier_rulebook", "upgrade_only"]
