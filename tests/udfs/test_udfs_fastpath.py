"""The scalar fast path of the Excel functions gives what the array path gives (issue 16).

A call whose arguments are all single cells skips the binding and broadcasting of ranges
(rules/functions/shape.py). For every catalogue function, a good argument tuple and the same with
each argument replaced by a bad, empty, odd-text or Excel-error cell are called four ways — as
bare scalars, as ``[[v]]`` cells (what xlwings hands over), through the general path of the
wrapper (the binding and 1×1 broadcast every call took before), and as one row of a column
range (the array path: the vectorised tier functions, cell by cell for the others) — and must
give the same value.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math

import pytest

from rules.functions import CATALOGUE, catalogue

#: one good tuple per function (all arguments, optional ones too)
GOOD: dict[str, tuple] = {
    "CLIENT_TIER": (300_000.0, 1_000.0, "brokerage"),
    "TIER_EXPLAIN": (300_000.0, 1_000.0, "私募"),
    "QUARTER_TIER": ("潜力客户", 300_000.0, 1_000.0, "brokerage"),
    "RISK_CLASS": (55.0, "risk-class"),
    "RISK_LEVEL": ("30分（风险承受力调查表）",),
    "CLIENT_CLASS": ("核心客户", "稳健型"),
    "SUITABLE": ("稳健型", "中"),
    "SUITABILITY_NOTE": ("保守型", "高"),
    "FUND_RISK": ("偏债型",),
    "SERVICE_PACKAGE": ("核心客户", dt.datetime(2026, 3, 1), "brokerage", dt.datetime(2026, 6, 30)),
    "VISITS_PER_YEAR": ("VIP客户", "private-fund"),
    "ASSET_TURNOVER_CLASS": (2_000_000.0, 4.0, 3.0),
    "HOLDING_STYLE": (45.0, False),
    "VALUE_SEGMENT": ("高", "低"),
    "RFM": (10.0, 12.0, 50_000.0, "R5F3M4"),
    "TRANSFER_APPROVAL": ("核心客户", "个人"),
    "REVIEW_DUE": (dt.datetime(2025, 6, 30), dt.datetime(2026, 6, 30)),
    "RERATING_WINDOW": ("2026Q3", "brokerage"),
    "RULES_VERSION": ("brokerage", dt.datetime(2026, 6, 30)),
    "TRANSFER_BLOCKERS": (False, False, False, True, False, False),
    "FOLLOW_UP": ("核心客户", "个人", dt.datetime(2026, 3, 4), dt.datetime(2026, 3, 5)),
    "ACCOUNT_CLOSING": (True, True, False, True, True),
    "LEAVING_REASON": ("佣金费率水平较高", None),
    "RETENTION_ADVICE": ("佣金费率水平较高",),
    "INVESTOR_TYPE": ("个人", 6_000_000.0, None, 3.0, None, None, None, False, None),
    "INVESTOR_LEVEL": (55.0, False, dt.datetime(2025, 6, 30), dt.datetime(2026, 6, 30)),
    "PRODUCT_MATCH": ("C3", "R4", False),
}

#: cells that are bad, empty, odd texts or Excel errors
ODD = [None, "", "   ", True, False, 0.0, -1.0, 1e300, math.inf, 42, "１２３", "1,000,000",
       "２５万", "3%", "abc", "#N/A", "#DIV/0!", "#VALUE! 资产权益不是数字", "ＶＩＰ", "核心",
       "C1（最低类别）", "2026Q4", "2024-03-31", "2024年3月31日", dt.datetime(2024, 3, 31),
       dt.date(2024, 1, 1), "x" * 300]


def _tuples(name: str) -> list[tuple]:
    good = GOOD[name]
    out = [good]
    for k in range(len(good)):
        out += [(*good[:k], v, *good[k + 1:]) for v in ODD]
    return out


def _same(a, b) -> bool:
    return type(a) is type(b) and (a == b or (a != a and b != b))


def test_every_function_has_cases():
    assert set(GOOD) == set(CATALOGUE) - {"RISK_SCORE"}
    for name, good in GOOD.items():
        params = inspect.signature(getattr(catalogue, name)).parameters
        assert len(good) == len(params), name  # every argument, so each is varied


@pytest.mark.parametrize("name", sorted(GOOD))
def test_fast_path_equals_general_and_array_paths(name):
    f = getattr(catalogue, name)
    tuples = _tuples(name)
    fast = [f(*t) for t in tuples]
    for t, got in zip(tuples, fast, strict=True):
        assert not isinstance(got, list), (name, t, got)  # single cells: a single value
        cells = f(*[[[v]] for v in t])
        assert _same(cells, got), (name, t, cells, got)
        general = f.general(list(t))  # the binding and 1×1 broadcast of before
        assert _same(general, got), (name, t, general, got)
    # the array path: every tuple one row of column ranges
    columns = [[[t[k]] for t in tuples] for k in range(len(tuples[0]))]
    rows = f(*columns)
    assert len(rows) == len(tuples)
    for t, row, got in zip(tuples, rows, fast, strict=True):
        assert _same(row[0], got), (name, t, row[0], got)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_omitted_optional_arguments_are_their_defaults(name):
    f = getattr(catalogue, name)
    params = list(inspect.signature(f).parameters.values())
    required = [p for p in params if p.default is p.empty]
    good = GOOD[name]
    full = good[:len(required)] + tuple(p.default for p in params[len(required):])
    assert _same(f(*good[:len(required)]), f(*full))
    assert _same(f(*[[[v]] for v in good[:len(required)]]), f(*full))


def test_risk_score_cells_and_rows_agree():
    answers = ["A", "B", "C", "D", "A", "B", "C", "A", "ACD", "B", "C", "D"]
    bad = ["A", "#N/A", *answers[2:]]
    one = catalogue.RISK_SCORE(*[[[a]] for a in answers])
    assert one == catalogue.RISK_SCORE(*answers) == catalogue.RISK_SCORE([answers])
    err = catalogue.RISK_SCORE(*[[[a]] for a in bad])
    assert err.startswith("#N/A") and err == catalogue.RISK_SCORE(*bad)
    assert catalogue.RISK_SCORE([answers, bad]) == [[one], [err]]


def test_wrong_number_of_arguments_is_the_message_of_before():
    got = catalogue.CLIENT_TIER(1.0)
    assert got == "#VALUE! 参数个数不对：missing a required argument: 'revenue'"
    got = catalogue.HOLDING_STYLE(1.0, False, 3)
    assert got == "#VALUE! 参数个数不对：too many positional arguments"
