"""Amounts are money: compared with the rules' bounds at the cent, half-even, in the scalar path
(``evaluate``, the Excel functions) and the vectorised one (``evaluate_many``, the job) alike."""

from __future__ import annotations

import numpy as np
import pytest

import udfs
from rules import get_rulebook
from rules.money import to_cents, to_cents_array

EXCEL_SUM = 17188.1 + 67276.54 + 165535.36  # = 250,000.00 元 to the cent


def test_the_excel_sum_is_not_250000_in_binary():
    assert EXCEL_SUM != 250_000  # the premise of the defect (249,999.99999999997)
    assert EXCEL_SUM < 250_000


def test_scalar_rates_the_cent_sum_as_core_and_shows_what_was_compared():
    d = get_rulebook("brokerage").evaluate(EXCEL_SUM, 0)
    assert d.label == "核心客户"
    assert d.rule_id == "BRK-CORE-1"
    assert d.reason.startswith("资产权益 250,000 元 ≥ 250,000 且 < 10,000,000 → 核心客户")
    assert d.inputs["assets"] == 250_000.0


def test_vectorised_rates_the_cent_sum_as_core_and_shows_what_was_compared():
    b = get_rulebook("brokerage").evaluate_many([np.array([EXCEL_SUM, 249_999.994]),
                                                 np.array([0.0, 0.0])])
    assert b.labels.tolist() == ["核心客户", "潜力客户"]
    reasons = b.reasons()
    assert reasons[0].startswith("资产权益 250,000 元 ≥ 250,000")
    assert reasons[1].startswith("资产权益 249,999.99 元 ≥ 100,000 且 < 250,000")


def test_excel_functions_rate_the_cent_sum_as_core():
    assert udfs.CLIENT_TIER(EXCEL_SUM, 0) == "核心客户"
    assert "资产权益 250,000 元 ≥ 250,000" in udfs.TIER_EXPLAIN(EXCEL_SUM, 0)
    # commission at the cent too: 4,999.999999999999 is 5,000.00 元
    commission = 2213.06 + 2661.91 + 125.03
    assert commission < 5000
    assert udfs.CLIENT_TIER(120_000, commission) == "核心客户"


@pytest.mark.parametrize(("x", "cents"), [
    (0.125, 0.12), (0.135, 0.14), (0.145, 0.14), (2.675, 2.68), (1.015, 1.02), (1.005, 1.0),
    (249_999.995, 250_000.0), (249_999.985, 249_999.98), (9_999_999.995, 10_000_000.0),
    (-0.125, -0.12), (12_345.6789, 12_345.68), (3e12 + 0.125, 3e12 + 0.12), (7.0, 7.0),
])
def test_half_even_at_the_cent_of_the_number_as_written(x, cents):
    assert to_cents(x) == cents
    assert to_cents_array(np.array([x]))[0] == cents


def test_scalar_and_vectorised_rounding_agree():
    rng = np.random.default_rng(17)
    cents = rng.integers(0, 10**11, 20_000) / 100  # cent amounts
    halves = (rng.integers(0, 10**9, 20_000) * 10 + 5) / 1000  # x.xx5: the ties
    noisy = cents * (1 + rng.normal(0, 1e-15, cents.size))  # sums computed in binary
    x = np.concatenate([cents, halves, noisy, rng.uniform(0, 1e13, 5000), [np.nan, np.inf]])
    got = to_cents_array(x)
    want = np.array([to_cents(v) for v in x.tolist()])
    assert np.array_equal(got, want, equal_nan=True)
    np.testing.assert_array_equal(to_cents_array(cents), cents)  # idempotent on cent amounts


def test_a_column_of_cent_amounts_is_given_back_as_to_cents_gives_each():
    """A column whose every value is a cent amount already (an extract's, or the rules'
    second rounding) is taken as it is: the same values ``to_cents`` gives one by one —
    negative, -0.0, at every size up to where a float holds no cents, NaN and ±inf."""
    rng = np.random.default_rng(23)
    parts = [rng.integers(-10**k, 10**k, 3000) / 100 for k in range(1, 19)]
    edge = [0.0, -0.0, 0.01, -0.01, 0.1, 0.3, 2.68, 1.01, 249_999.99, 250_000.0, 1e9 + 0.01,
            1e13 + 0.5, 1e15 + 0.5, 2.0 ** 53, 1e20, -1e300, np.nan, np.inf, -np.inf]
    for x in (*parts, np.array(edge), np.concatenate(parts)):
        got = to_cents_array(x)
        assert got is not x
        want = np.array([to_cents(v) for v in x.tolist()])
        assert np.array_equal(got, want, equal_nan=True)
        assert np.array_equal(np.signbit(got), np.signbit(want))
    for mixed in ([1.005, 2.68, 0.1 + 0.2], [0.0078125, np.inf], [np.nan, 0.004, -np.inf]):
        x = np.array(mixed)  # (a value not at the cent beside others: each rounded)
        want = np.array([to_cents(v) for v in x.tolist()])
        assert np.array_equal(to_cents_array(x), want, equal_nan=True), mixed


def test_non_money_inputs_are_not_rounded():
    at = get_rulebook("asset-turnover")
    turnover = next(s for s in at.inputs if s.name == "turnover")
    assert not turnover.money
    assert at.inputs[0].money  # 资产量 in 元
    score = get_rulebook("risk-class").inputs[0]
    assert not score.money  # 分
    # a turnover just under the threshold stays under it (no cent rounding of a rate)
    threshold = at.parameters["turnover_threshold"]
    below = at.evaluate(2_000_000, threshold - 0.001)
    at_t = at.evaluate(2_000_000, threshold)
    assert below.label != at_t.label


def test_money_flag_comes_from_the_rulebook_data():
    from rules.model import InputSpec

    assert InputSpec(name="a", label="金额", unit="元").money
    assert not InputSpec(name="a", label="次数", unit="次").money
    assert InputSpec(name="a", label="金额", unit="", money=True).money
    assert not InputSpec(name="a", label="金额", unit="元", money=False).money
