"""The decision columns of a batch, in Arrow: what ``workbook.run.steps.new_values`` gives a
workbook run (当前级别, 级别变动, 级别依据, 服务产品, 年拜访次数, 风险类别, 评级期间, 规则版本), made
from the same rating and decision (``steps.evaluate``, ``steps.apply_mode``) as whole columns —
small tables of labels taken by index, no Python string per row (级别依据: ``texts``).

The columns of few values (``CODED_COLUMNS``: 原级别, 当前级别, 级别变动, 规则编号, 服务产品,
风险类别, 评级期间, 规则版本) are Arrow dictionary arrays: an index a row into a table of the run's labels (``coded``), never the texts
themselves — Parquet then writes that table as the column's dictionary instead of hashing every
value (``run.BATCH_SCHEMA``; the file's columns are texts as before).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rules.rerating import CHANGE_KINDS

from ..summary import NO_TIER
from .texts import basis_column

#: the type of a decision column given as indices into a table of labels, and those columns
CODED = pa.dictionary(pa.int32(), pa.string())
CODED_COLUMNS = ("原级别", "当前级别", "级别变动", "规则编号", "服务产品", "风险类别", "评级期间",
                 "规则版本")


@lru_cache(maxsize=64)
def label_table(labels: tuple[Any, ...]) -> tuple[pa.Array, np.ndarray]:
    """The distinct texts of ``labels`` in order (the dictionary of a coded column: no null,
    no value twice), and where each label is in it (-1: None)."""
    distinct = list(dict.fromkeys(v for v in labels if v is not None))
    at = {v: k for k, v in enumerate(distinct)}
    where = np.array([at.get(v, -1) if v is not None else -1 for v in labels], np.int32)
    return pa.array(distinct, pa.string()), where


def coded(labels: tuple[Any, ...], idx: np.ndarray) -> pa.DictionaryArray:
    """``labels[idx]`` as a dictionary array (index -1, or a None label: null)."""
    table, where = label_table(labels)
    codes = (np.where(idx >= 0, where[np.maximum(idx, 0)], -1).astype(np.int32, copy=False)
             if len(where) else np.full(len(idx), -1, np.int32))
    nulls = codes < 0
    return pa.DictionaryArray.from_arrays(
        pa.array(codes, mask=nulls if nulls.any() else None), table)


def _spread(values: pa.Array, at: np.ndarray, rated: np.ndarray) -> pa.Array:
    """``values`` (one per rated row) at the kept rows that are rated, null elsewhere
    (``values`` as they are when every kept row is rated, in order: a quarterly run's)."""
    if len(values) == len(at) and rated.all() and (at == np.arange(len(at))).all():
        return values
    idx = pa.array(np.where(rated, at, 0), pa.int64(), mask=~rated)
    return pc.take(values, idx) if len(values) else pa.nulls(len(at), values.type)


def _labels(table: list[Any], idx: np.ndarray, type_: pa.DataType | None = None) -> pa.Array:
    return pc.take(pa.array(table, type_ or pa.string()), idx)


def decision_columns(rating: Any, dec: Any, spec: Any, offset: int) -> dict[str, Any]:
    """The decisions of the rows not rejected (``rating.ok``), by column; 营业部 as positions
    in the batch (the caller takes the texts)."""
    t = rating.table
    keep = np.flatnonzero(rating.ok)
    act = dec.act
    pos = np.full(len(t), -1, np.int64)
    pos[act] = np.arange(len(act))
    at = pos[keep]
    rated = at >= 0
    labels = tuple(spec.labels)
    n_lab = len(labels)
    held = rating.held[keep]
    # 原级别: the tier held (null: none); 当前级别: the rated rows' tier after (无级别 for
    # none), the others' as held
    tiers = (*labels, NO_TIER)
    before_i = np.where(held >= 0, held, -1)
    after_rank = dec.after_rank[keep]
    after_i = np.where(rated, np.where(after_rank >= 0, after_rank, n_lab), before_i)
    rank_act = dec.new_rank[act]
    rank_i = np.where(rank_act >= 0, rank_act, n_lab)  # (-1: the tables' last row)
    opened = _opened(t, act, spec.period.end.year)
    service = tuple(rating.service.ravel().tolist())  # [rank, opened this year], flattened
    kinds = dec.kind_codes[act].astype(np.int64) + 1  # (of the rated rows: in KIND_LABELS)
    rules = spec.rulebook.rules
    rule_at = np.where(rating.computed[keep] >= 0, rating.batch.rule_index[keep], -1)
    return {
        "行号": pa.array(t.rows[keep].astype(np.int64) + offset),
        "客户编号": pc.take(getattr(t, "id_arrow", None) or pa.array(t.client_id, pa.string()),
                        keep),
        "营业部": (t.rows - 2)[keep],  # (positions in the batch: the caller takes the texts)
        "原级别": coded(tiers, before_i),
        "当前级别": coded(tiers, after_i),
        "级别变动": coded(KIND_LABELS, _at_kept(kinds, at, rated, 0)),
        "规则编号": coded(tuple(r.id for r in rules), rule_at),
        "级别依据": _basis(rating, dec, spec, at, rated),
        "服务产品": coded(service, _at_kept(rank_i * 2 + opened, at, rated, -1)),
        "年拜访次数": _spread(_labels(rating.visits.tolist(), rank_i, pa.float64()), at, rated),
        "风险类别": coded(rating.risk_labels, _at_kept(rating.risk_codes[act], at, rated, -1)),
        "评级期间": coded((spec.period.label,), np.where(rated, 0, -1)),
        "规则版本": coded((spec.rulebook.ref,), np.where(rated, 0, -1)),
        "在范围": pa.array(dec.scope[keep]),
    }


#: 级别变动's labels: '' (a row not rated) and the kinds of change, by ``kind_codes`` + 1
KIND_LABELS = ("", *CHANGE_KINDS)


def _at_kept(values: np.ndarray, at: np.ndarray, rated: np.ndarray, fill: int) -> np.ndarray:
    """``values`` (one per rated row) at the kept rows that are rated (``at``: their rated
    row), ``fill`` elsewhere."""
    if not len(values):
        return np.full(len(rated), fill, np.int64)
    return np.where(rated, values[np.where(rated, at, 0)], fill)


def _basis(rating: Any, dec: Any, spec: Any, at: np.ndarray, rated: np.ndarray) -> pa.Array:
    """级别依据 at the kept rows that are rated (one take from the texts as made)."""
    texts, js = basis_column(rating, dec, spec)
    if not len(texts):
        return pa.nulls(len(at), pa.string())
    where = np.zeros(len(dec.act), np.int64)
    where[js] = np.arange(len(js))
    idx = pa.array(np.where(rated, where[np.where(rated, at, 0)], 0), pa.int64(), mask=~rated)
    return pc.take(texts, idx)


def _opened(t: Any, act: np.ndarray, year: int) -> np.ndarray:
    """1 where the rated row's account was opened in ``year`` (服务产品 of a new account)."""
    years = getattr(t, "open_year", None)
    if years is not None:
        return (np.asarray(years)[act] == year).astype(np.int64)
    od = t.open_date
    return np.fromiter((od[i] is not None and od[i].year == year for i in act.tolist()),
                       np.int64, count=len(act))
