"""级别依据 of a batch made in Arrow, on whole columns: the texts a workbook run writes
(``workbook.run.steps._basis`` with ``workbook.run.lazy.Reasons`` and ``rules`` ``Batch.reasons``),
built by concatenating columns instead of formatting one Python string per row.

A rule's reason is its template (``Rulebook.reason_template``: the clause, ``{}`` where each
figure shown goes) with each figure as ``rules.errors.show_many`` writes it. The figures are
formatted here from whole cents (thousands separators from a lookup table of 1,000 groups); a
figure that is not a whole number of cents below 10¹³ (or below 0.01 in size, not finite) is
left to ``show_many`` itself, so the text is the same for every value (tests/table/test_texts.py).
The rows the vectorised path does not cover — an override applied, an override's note, an input
read as the larger of two columns, a row no rule took — get the workbook run's own texts.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rules.errors import show_many
from rules.rerating import KEPT_UP, OVERRIDE

from ..run.lazy import Reasons
from ..summary import NO_TIER

#: group of three digits -> text: [0, 1000) nothing (a group the number does not reach),
#: [1000, 2000) the leading group as it is (7), [2000, 3000) a following group (,007)
_GROUPS = pa.array([""] * 1000 + [str(g) for g in range(1000)] + [f",{g:03d}" for g in range(1000)])
#: cents -> the decimals show_many keeps (.5, .05, .25; nothing for .00)
_CENTS = pa.array([("." + f"{c:02d}").rstrip("0") if c else "" for c in range(100)])
_SIGN = pa.array(["", "-"])


def show_numbers(values: np.ndarray) -> pa.Array:
    """``show_many(values)`` as an Arrow string array."""
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        a = np.abs(v)
        cents = np.rint(a * 100)
        fast = np.isfinite(v) & ((a >= 0.01) | (v == 0)) & (a < 1e13) & (cents / 100 == a)
    c = np.where(fast, cents, 0).astype(np.int64)
    whole, frac = np.divmod(c, 100)
    n_groups = 1 + sum((whole >= 10 ** (3 * j)).astype(np.int64) for j in range(1, 5))
    parts: list[Any] = [pc.take(_SIGN, (v < 0).astype(np.int8))]
    for j in range(4, -1, -1):
        g = (whole // 10 ** (3 * j)) % 1000
        kind = np.where(j >= n_groups, 0, np.where(j == n_groups - 1, 1, 2))
        parts.append(pc.take(_GROUPS, g + 1000 * kind))
    parts.append(pc.take(_CENTS, frac))
    out = pc.binary_join_element_wise(*parts, "")
    slow = np.flatnonzero(~fast)
    if len(slow):
        mask = np.zeros(len(v), bool)
        mask[slow] = True
        out = pc.replace_with_mask(out, pa.array(mask),
                                   pa.array(show_many(v[slow].tolist()), pa.string()))
    return out


def rule_reasons(batch: Any, rb: Any, rows: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """``batch.reasons(rows)`` for rows a rule took (``rule_index >= 0``), in Arrow, rule by
    rule: (the texts, the row of each)."""
    ri = batch.rule_index[rows]
    order = np.argsort(ri, kind="stable")
    sorted_ri = ri[order]
    cuts = np.flatnonzero(np.diff(sorted_ri)) + 1
    pieces = []
    for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(order)], strict=True):
        if lo == hi:
            continue
        these = rows[order[lo:hi]]
        template, shown = rb.reason_template(rb.rules[int(sorted_ri[lo])])
        args: list[Any] = []
        k = 0
        for literal, name, _spec, _conv in string.Formatter().parse(template):
            if literal:
                args.append(pa.scalar(literal))
            if name is not None:
                args.append(show_numbers(batch.values[shown[k]][these]))
                k += 1
        if k:
            pieces.append(pc.binary_join_element_wise(*args, ""))
        else:
            pieces.append(pa.array([template.replace("{{", "{").replace("}}", "}")] * len(these),
                                   pa.string()))
    texts = pa.concat_arrays(pieces) if len(pieces) != 1 else pieces[0]
    return (texts if pieces else pa.array([], pa.string())), rows[order]


def basis_column(rating: Any, dec: Any, spec: Any) -> tuple[pa.Array, np.ndarray]:
    """级别依据 of the rated rows as a workbook run writes them: (the texts, the index in
    ``dec.act`` of each — in no particular order: the caller takes them where they go)."""
    t, act, batch = rating.table, dec.act, rating.batch
    kinds = np.asarray(dec.kinds[act], dtype=object)
    label_of = [*spec.labels, NO_TIER]
    slow = (kinds == OVERRIDE) | (batch.rule_index[act] < 0)
    if t.larger_of:
        slow[:] = True
    if dec.review.notes:
        slow |= np.isin(act, np.fromiter(dec.review.notes, np.int64))
    kept = ~slow & (kinds == KEPT_UP)
    new_default = ~slow & ~kept & (rating.base[act] < 0) if spec.mode == "new-accounts" \
        else np.zeros(len(act), bool)
    plain = ~slow & ~kept & ~new_default
    pos = np.arange(len(act))
    texts, where = [], []
    for mask, how in ((plain, ""), (kept, "kept"), (new_default, "new")):
        js = pos[mask]
        if not len(js):
            continue
        calc, rows = rule_reasons(batch, spec.rulebook, act[js])
        j_of = np.searchsorted(act, rows)  # (act is sorted: the index in act of each row)
        if how == "kept":
            base = rating.base[rows]
            held = pc.take(pa.array(label_of), np.where(base >= 0, base, len(label_of) - 1))
            calc = pc.binary_join_element_wise(calc, "；就高不就低，保留", held, "")
        elif how == "new":
            calc = pc.binary_join_element_wise(f"新开户默认{spec.labels[-1]}，就高不就低：", calc, "")
        texts.append(calc)
        where.append(j_of)
    slow_j = pos[slow]
    if len(slow_j):
        texts.append(pa.array(_slow_basis(rating, dec, spec, slow_j, label_of), pa.string()))
        where.append(slow_j)
    if not texts:
        return pa.array([], pa.string()), np.zeros(0, np.int64)
    return pa.concat_arrays(texts), np.concatenate(where)


def _slow_basis(rating: Any, dec: Any, spec: Any, js: np.ndarray, label_of: list[str]
                ) -> list[str]:
    """The workbook run's own 级别依据 of the rated rows ``js`` (``steps._basis``)."""
    if not len(js):
        return []
    t, act = rating.table, dec.act
    reasoner = Reasons(rating.batch, list(t.larger_of.values()), dec.review.notes)
    out = []
    for j, calc in zip(js.tolist(), reasoner.reasons(act[js]), strict=True):
        i = int(act[j])
        kind = dec.kinds[i]
        if kind == OVERRIDE:
            label = label_of[int(dec.new_rank[i])]
            out.append(f"{dec.review.basis(t, i, label, spec.operator)}；按规则计算：{calc}")
        elif kind == KEPT_UP:
            out.append(f"{calc}；就高不就低，保留{label_of[int(rating.base[i])]}")
        elif spec.mode == "new-accounts" and rating.base[i] < 0:
            out.append(f"新开户默认{spec.labels[-1]}，就高不就低：{calc}")
        else:
            out.append(calc)
    return out
