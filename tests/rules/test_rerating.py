"""Upgrade-only (就高不就低) and the three run modes, as WORKBOOK.md states them."""

from __future__ import annotations

import numpy as np
import pytest

from rules import RuleInputError, get_rulebook
from rules.rerating import apply_mode, parse_mode, quarter_tier

VIP, CORE, POT, ORD, NONE = 0, 1, 2, 3, -1


def _run(mode, computed, base, override=None, rid="brokerage"):
    rb = get_rulebook(rid, parameters=None if rid != "wealth" else {
        "diamond_assets": 1, "diamond_contribution": 1, "platinum_assets": 1,
        "platinum_contribution": 1, "gold_assets": 1, "gold_contribution": 1})
    o = apply_mode(rb, mode, np.array(computed), np.array(base),
                   None if override is None else np.array(override))
    return list(o.rank), list(o.change)


def test_quarterly_never_lowers():
    ranks, changes = _run("quarterly", [VIP, ORD, CORE, POT], [CORE, CORE, CORE, NONE])
    assert ranks == [VIP, CORE, CORE, POT]
    assert changes == ["升级", "保留 (就高不就低)", "维持", "首次评级"]


def test_annual_may_lower():
    ranks, changes = _run("annual", [ORD, VIP], [CORE, CORE])
    assert ranks == [ORD, VIP] and changes == ["降级", "升级"]


def test_new_accounts_default_ordinary_then_upgrade_only():
    ranks, changes = _run("new-accounts", [ORD, POT, ORD], [NONE, NONE, CORE])
    assert ranks == [ORD, POT, CORE]
    assert changes == ["首次评级", "首次评级", "保留 (就高不就低)"]


def test_override_wins_and_rejected_rows_keep_their_tier():
    ranks, changes = _run("quarterly", [VIP, NONE, NONE], [ORD, POT, NONE], [ORD, NONE, CORE])
    assert ranks == [ORD, POT, CORE]
    assert changes == ["特别调整", "", "特别调整"]


def test_policy_without_upgrade_only_moves_both_ways_in_every_mode():
    ranks, changes = _run("quarterly", [3], [0], rid="wealth")
    assert ranks == [3] and changes == ["降级"]


def test_quarter_tier_scalar():
    rb = get_rulebook()
    assert quarter_tier(rb, "核心", "普通客户") == ("核心客户", "保留 (就高不就低)")
    assert quarter_tier(rb, "普通客户", "VIP客户") == ("VIP客户", "升级")
    assert quarter_tier(rb, None, "潜力客户") == ("潜力客户", "首次评级")
    with pytest.raises(RuleInputError, match="未知的级别"):
        quarter_tier(rb, "金牌", "普通客户")


@pytest.mark.parametrize(("text", "mode"), [("quarterly", "quarterly"), ("季度", "quarterly"),
                                            ("年度", "annual"), ("新开户", "new-accounts")])
def test_parse_mode(text, mode):
    assert parse_mode(text) == mode
