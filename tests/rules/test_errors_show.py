"""``show_many`` is ``show`` for every float a reason can hold."""

from __future__ import annotations

import math

import numpy as np

from rules.errors import show, show_many


def test_show_many_is_show() -> None:
    rng = np.random.default_rng(3)
    edge = [0.0, -0.0, 0.01, -0.01, 0.009999, 0.005, 0.015, 1.0, 10.0, 100.0, 1234.5, 1e15,
            1e15 + 2, 9_999_999.995, 1e300, -1e-300, math.inf, -math.inf, math.nan, 5e-324]
    values = [*edge, *rng.lognormal(10, 5, 20_000).tolist(),
              *(-rng.lognormal(0, 3, 5_000)).tolist(), *np.round(rng.normal(0, 1e6, 5_000), 2)]
    assert show_many(values) == [show(v) for v in values]
    assert show_many([3, 1_234_567]) == ["3", "1,234,567"]
