"""Rulebooks from cells: resolving the rulebook argument, rating one client and whole ranges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rules import (
    Batch,
    Decision,
    ParameterMissingError,
    Rulebook,
    RuleInputError,
    get_rulebook,
    rates_tiers,
    tier_rulebook_ids,
    version_in_force,
)
from rules import cells as coerce
from rules.rerating import quarter_tier
from rules.settings import snapshot

from .shape import Grid, error_text, fit, flat, grid_shape

#: Chinese names accepted for the rulebook argument.
ALIASES = {
    "经纪": "brokerage", "经纪业务": "brokerage", "证券经纪": "brokerage",
    "私募": "private-fund", "私募基金": "private-fund",
    "财富": "wealth", "财富管理": "wealth",
    "风险类别": "risk-class", "资产周转": "asset-turnover", "资产周转率": "asset-turnover",
}


def rulebook_id(v: Any, default: str) -> str:
    name = coerce.text(v, "规则")
    if name is None:
        return default
    return ALIASES.get(name, name)


def rulebook(v: Any, default: str, as_of: dt.date | None = None,
             parameters: dict[str, float] | None = None) -> Rulebook:
    return get_rulebook(rulebook_id(v, default), as_of, parameters)


def _memo(kind: str, v: Any, default: str, find: Callable[[Any, str], Rulebook]) -> Rulebook:
    """``find(v, default)`` kept in the memo of the settings in force (rules.settings) for an
    empty or text rulebook cell (errors are not kept: they are computed again)."""
    if v is not None and type(v) is not str:
        return find(v, default)
    return snapshot().recall((kind, v, default), find, v, default)


def rulebook_arg(v: Any, default: str) -> Rulebook:
    """:func:`rulebook` in force today for a cell's rulebook argument (memoised)."""
    return _memo("rulebook-arg", v, default, rulebook)


def labels_rulebook(v: Any, default: str) -> Rulebook:
    """A rulebook for its labels, services and visits only: thresholds a firm has not set yet
    (wealth "[X]") do not matter for those, so they are filled with 0 here, never used to rate."""
    return _memo("labels-arg", v, default, _labels_rulebook)


def _labels_rulebook(v: Any, default: str) -> Rulebook:
    rid = rulebook_id(v, default)
    try:
        return get_rulebook(rid)
    except ParameterMissingError:
        data, path = version_in_force(rid, dt.date.today())
        return Rulebook(data, {k: 0.0 for k in data.parameters}, path)


def tier_rulebook(v: Any, default: str = "brokerage") -> Rulebook:
    return _memo("tier-arg", v, default, _tier_rulebook)


def _tier_rulebook(v: Any, default: str) -> Rulebook:
    rb = rulebook(v, default)
    if not rates_tiers(rb.data):
        raise RuleInputError(f"规则 {rb.id} 不是客户分级规则（可用：{'、'.join(tier_rulebook_ids())}）",
                             field="规则", value=v, kind="na")
    return rb


def decide(rb: Rulebook, *cells: Any) -> Decision:
    """One client: each cell read as a number (text numbers, 万/亿), then the rulebook decides
    (an empty cell is 0 for ``empty_is_zero`` inputs and an error otherwise)."""
    if len(cells) != len(rb.inputs):  # e.g. RISK_CLASS(得分, "brokerage"): a tier rulebook
        need = "、".join(spec.label for spec in rb.inputs)
        raise RuleInputError(f"规则 {rb.ref} 的输入是 {need}（{len(rb.inputs)} 项），"
                             f"这个函数给的是 {len(cells)} 项：请用该规则对应的函数或规则编号",
                             field="规则编号", value=rb.id)
    values = [coerce.number(c, spec.label) for spec, c in zip(rb.inputs, cells, strict=True)]
    return rb.evaluate(*values)


def _column(rb: Rulebook, k: int, cells: list[Any]) -> tuple[np.ndarray, dict[int, RuleInputError]]:
    spec = rb.inputs[k]
    x, errors, empty = coerce.number_column(cells, spec.label)
    if empty:
        try:
            fill = rb.check_value(spec, None)  # 0 for empty_is_zero inputs, else an error
        except RuleInputError as e:
            errors.update(dict.fromkeys(empty, e))
        else:
            x[empty] = fill
    return x, errors


Finish = Callable[[Rulebook, Batch, list[list[Any]]], np.ndarray]


def rate_many(shape: tuple[int, int], rulebook_grid: Grid, inputs: Sequence[Grid],
              finish: Finish, resolve: Callable[[Any], Rulebook],
              extra: Sequence[Grid] = ()) -> list[list[Any]]:
    """Rate a whole range with :meth:`Rulebook.evaluate_many`, one group per distinct rulebook.

    ``finish(rb, batch, extra_cells)`` turns the batch into one result per row (object array);
    rejected rows get their error text, the same as the scalar path gives.
    """
    rows, cols = shape
    n = rows * cols
    columns = [flat(g, shape) for g in inputs]
    extras = [flat(g, shape) for g in extra]
    if grid_shape(rulebook_grid) == (1, 1):
        groups: dict[Any, list[int] | None] = {_key(rulebook_grid[0][0]): None}
        first = {_key(rulebook_grid[0][0]): rulebook_grid[0][0]}
    else:
        lists: dict[Any, list[int]] = {}
        first = {}
        for i, v in enumerate(flat(rulebook_grid, shape)):
            k = _key(v)
            lists.setdefault(k, []).append(i)
            first.setdefault(k, v)
        groups = dict(lists)
    out = np.empty(n, dtype=object)
    for key, idx in groups.items():
        where = slice(None) if idx is None else idx
        try:
            rb = resolve(first[key])
        except Exception as failed:
            out[where] = error_text(failed)
            continue
        sub = columns if idx is None else [[c[i] for i in idx] for c in columns]
        sub_extra = extras if idx is None else [[c[i] for i in idx] for c in extras]
        arrays: list[np.ndarray] = []
        errors: dict[int, RuleInputError] = {}
        for k, cells in enumerate(sub):
            x, errs = _column(rb, k, cells)
            arrays.append(x)
            for i, err in errs.items():
                errors.setdefault(i, err)
        batch = rb.evaluate_many(arrays)
        for i, err in batch.errors.items():
            errors.setdefault(i, err)
        res = finish(rb, batch, sub_extra)
        for i, err in errors.items():
            res[i] = error_text(err)
        out[where] = res
    return out.reshape(rows, cols).tolist()


def _key(v: Any) -> Any:
    """Cells that name the same rulebook (or threshold). Typed: FALSE and 0, TRUE and 1 are equal
    in Python but not the same cell (FALSE is no threshold; 0 is one)."""
    return v.strip().lower() if isinstance(v, str) else (type(v), v)


def labels(rb: Rulebook, batch: Batch, extra: list[list[Any]]) -> np.ndarray:
    return batch.labels.copy()


def reasons(rb: Rulebook, batch: Batch, extra: list[list[Any]]) -> np.ndarray:
    out = np.empty(len(batch), dtype=object)
    for i in np.flatnonzero(batch.ok):
        out[i] = fit(batch.reason(int(i)))
    return out


def upgrade_only(rb: Rulebook, computed: str, held: Any) -> str:
    """The tier in force after a quarterly rating: 就高不就低 when the rulebook says so — the
    job's rule itself (:func:`rules.rerating.quarter_tier`), for one cell."""
    label = coerce.text(held, "现有级别")
    tier = None if label is None else rb.normalize_label(label, "现有级别")
    return quarter_tier(rb, tier, computed)[0]


def upgraded(rb: Rulebook, batch: Batch, extra: list[list[Any]]) -> np.ndarray:
    held = extra[0]
    out = batch.labels.copy()
    cache: dict[Any, Any] = {}
    for i in np.flatnonzero(batch.ok):
        key = (type(held[i]), held[i], out[i])  # (typed: FALSE is not 0)
        if key not in cache:
            try:
                cache[key] = upgrade_only(rb, out[i], held[i])
            except Exception as e:
                cache[key] = error_text(e)
        out[i] = cache[key]
    return out
