"""级别依据 made in Arrow (workbook/table/texts.py) is the text a workbook run writes."""

from __future__ import annotations

import numpy as np

from rules.errors import show_many
from workbook.table.texts import show_numbers


def test_figures_as_show_many_writes_them() -> None:
    rng = np.random.default_rng(3)
    cents = np.round(np.exp(rng.normal(11, 3, 20_000)), 2)
    tricky = [0.0, -0.0, 0.01, 0.004, 0.005, -0.5, 0.125, 1 / 3, 2.675, 999.995, 1000.0,
              999_999.99, 1_000_000.0, 12_345_678_901.23, 9_999_999_999_999.99, 1e13, 1e15,
              1e16, -1_234_567.8, float("nan"), float("inf"), float("-inf"), 5e-324, 250_000.0,
              17188.1 + 67276.54 + 165535.36]
    values = np.concatenate([cents, -cents[:100], np.array(tricky)])
    assert show_numbers(values).to_pylist() == show_many(values.tolist())


def test_figures_of_every_width_as_show_many_writes_them() -> None:
    """Columns whose largest figure has 1 to 13 digits (the digits are made in 32-bit
    integers up to 9 digits, in 64-bit ones above), negatives and cents included."""
    rng = np.random.default_rng(5)
    for digits in range(1, 14):
        top = 10.0 ** digits - 0.01
        values = np.round(rng.uniform(-top, top, 2_000), 2)
        values[:3] = [top, -top, 0.0]
        assert show_numbers(values).to_pylist() == show_many(values.tolist()), digits
    assert show_numbers(np.zeros(0)).to_pylist() == []


def test_figures_written_in_chunks_as_show_many_writes_them() -> None:
    """A column longer than the chunk written at once (``_CHUNK``): the chunks' figures in
    order, those left to show_many (not at the cent, tiny, not finite, 10¹³ and more) in
    their places, negatives of every length."""
    from workbook.table.texts import _CHUNK

    rng = np.random.default_rng(9)
    n = 2 * _CHUNK + 123
    values = np.round(rng.uniform(-1e7, 1e7, n), 2)
    values[::97] = np.round(values[::97] / 1000, 0)
    odd = [np.nan, np.inf, 0.004, 1e13, 1 / 3, -0.0, 2e15, -5e12, -0.01, 999.995]
    values[5::1001] = np.resize(odd, len(values[5::1001]))
    assert show_numbers(values).to_pylist() == show_many(values.tolist())
    small = np.round(rng.uniform(0, 999, n), 2)  # (one group of digits: the widest 3)
    assert show_numbers(small).to_pylist() == show_many(small.tolist())


def test_a_coded_column_of_no_labels_is_all_empty() -> None:
    """A column coded over no labels (风险类别 of a batch where no row has a score) is every
    row empty; labels met twice or None are one entry of its dictionary, None a null."""
    import numpy as np

    from workbook.table.columns import coded

    got = coded((), np.full(3, -1))
    assert got.to_pylist() == [None, None, None] and len(got.dictionary) == 0
    got = coded(("甲", None, "乙", "甲"), np.array([3, 1, 2, -1, 0]))
    assert got.to_pylist() == ["甲", None, "乙", None, "甲"]
    assert got.dictionary.to_pylist() == ["甲", "乙"]
