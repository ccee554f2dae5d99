"""Every catalogue function called with hostile arguments (issue 15): it returns a value or an
error text beginning with '#' — never raises, never an internal error, never a tier (or class,
or any rulebook's output) for bad input. Parametrised over ``udfs.__all__``, so functions added
to the catalogue later are covered without touching this file."""

from __future__ import annotations

import datetime as dt
import inspect
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

import udfs
from rules import get_rulebook, rulebook_ids

FUNCTIONS = sorted(udfs.__all__)

#: Values no function may raise on.
HOSTILE: dict[str, Any] = {
    "None": None, "empty": "", "space": "   ", "1e9999": "1e9999", "fullwidth-10wan": "１０万",
    "-0": "-0", "NaN": "NaN", "nan-float": float("nan"), "inf-float": float("inf"),
    "1e308": 1e308, "true": True, "false": False, "datetime": dt.datetime(2024, 3, 31, 10, 0),
    "date": dt.date(2024, 3, 31), "Decimal": Decimal("250000.005"), "Decimal-nan": Decimal("NaN"),
    "np-array-2d": np.array([[1.0, 2.0], [3.0, 4.0]]), "np-array-0d": np.array(5.0),
    "np-float": np.float64(300000), "np-int": np.int64(7), "np-bool": np.bool_(True),
    "nested": [[[1, 2]], [[3]]], "ragged": [[1, 2], [3]], "empty-list": [],
    "huge-list": [["NaN"] * 60 for _ in range(60)], "error-text": "#DIV/0!",
    "formula": "=1+1", "control": "\x01\x02", "long-text": "长" * 5000, "object": object(),
    "bytes": b"VIP", "negative": -1.0, "tuple": (1, 2), "dict": {"a": 1},
}

#: Values that are bad input for every argument: a function answering with a tier (or any
#: rulebook's output label) for them answers wrongly.
BAD = ["1e9999", "NaN", "nan-float", "inf-float", "true", "Decimal-nan", "error-text",
       "control", "object", "dict", "bytes", "huge-list", "nested"]


def _labels() -> set[str]:
    out: set[str] = set()
    for rid in rulebook_ids():
        try:
            rb = get_rulebook(rid, dt.date(2026, 9, 30))
        except Exception:  # a rulebook not in force on that day, or needing parameters
            continue
        out |= {o.label for o in rb.outputs if len(o.label) > 1}  # not RFM's bare "5"
    return out


LABELS = _labels()


def _cells(result: Any) -> list[Any]:
    if isinstance(result, list):
        return [c for row in result for c in (row if isinstance(row, list) else [row])]
    return [result]


def _call(name: str, args: list[Any]) -> Any:
    f = getattr(udfs, name)
    try:
        return f(*args)
    except Exception as e:  # the assertion message names the function and the arguments
        pytest.fail(f"{name}{tuple(args)!r:.200} raised {type(e).__name__}: {e}")


def _check(name: str, result: Any) -> None:
    for c in _cells(result):
        assert c is None or isinstance(c, str | int | float | bool | dt.date), (name, c)
        if isinstance(c, float):
            assert math.isfinite(c), (name, result)
        if isinstance(c, str):
            assert "内部错误" not in c, (name, c)
            assert len(c) <= 255, (name, c)


def _arity(name: str) -> int:
    return len(inspect.signature(getattr(udfs, name)).parameters)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_value_in_every_position(name: str, kind: str) -> None:
    n = _arity(name)
    for k in range(n):
        args = [None] * k + [HOSTILE[kind]]  # the others omitted (their defaults) or empty
        _check(name, _call(name, args))
    _check(name, _call(name, [HOSTILE[kind]] * n))


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("kind", BAD)
def test_bad_input_never_gets_a_tier(name: str, kind: str) -> None:
    result = _call(name, [HOSTILE[kind]] * _arity(name))
    for c in _cells(result):
        assert not (isinstance(c, str) and c.strip() in LABELS), (name, kind, c)
        if isinstance(c, str) and c.startswith("#"):
            assert c.split(" ", 1)[0] in ("#VALUE!", "#N/A", "#NUM!", "#REF!"), (name, c)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_too_many_and_too_few_arguments(name: str) -> None:
    n = _arity(name)
    r = _call(name, [1.0] * (n + 3))
    assert isinstance(r, str) and r.startswith("#"), (name, r)
    _check(name, _call(name, []))


def test_catalogue_is_what_is_covered() -> None:
    from rules.functions import CATALOGUE

    assert set(CATALOGUE) <= set(FUNCTIONS) and len(FUNCTIONS) >= 20
    assert {"VIP客户", "核心客户", "保守型"} <= LABELS
