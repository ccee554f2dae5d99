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


def show_numbers(values: np.ndarray) -> pa.Array:
    """``show_many(values)`` as an Arrow string array. Each figure that is a whole number of
    cents is written into a row of a byte matrix (sign, digits and thousands separators
    right-aligned, then the decimals show_many keeps: .5, .05, .25, none for .00), with a
    mask of the bytes it uses; the masked bytes in row order are the texts' bytes. The others
    are left to ``show_many``."""
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    with np.errstate(invalid="ignore", over="ignore"):
        a = np.abs(v)
        cents = np.rint(a * 100)
        fast = np.isfinite(v) & ((a >= 0.01) | (v == 0)) & (a < 1e13) & (cents / 100 == a)
    c = np.where(fast, cents, 0).astype(np.int64)
    whole, frac = c // 100, c % 100
    n_dig = len(str(int(whole.max()))) if n else 1
    width = 1 + n_dig + (n_dig - 1) // 3 + 3
    chars = np.empty((n, width), np.uint8)
    used = np.empty((n, width), bool)
    neg = v < 0
    chars[:, 0], used[:, 0] = ord("-"), neg
    lengths = neg.astype(np.int32) + 1
    w: np.ndarray[Any, Any] = whole.astype(np.uint32 if n_dig <= 9 else np.uint64)
    col = width - 4
    for k in range(n_dig):
        more = whole >= 10 ** k
        if k and k % 3 == 0:
            chars[:, col], used[:, col] = ord(","), more
            lengths += more
            col -= 1
        rest = w // 10
        np.add(w - rest * 10, ord("0"), out=chars[:, col], casting="unsafe")
        used[:, col] = more if k else True
        lengths += more if k else 0
        w = rest
        col -= 1
    d1, d2 = frac // 10, frac % 10
    chars[:, -3], used[:, -3] = ord("."), frac > 0
    chars[:, -2], used[:, -2] = d1.astype(np.uint8) + ord("0"), frac > 0
    chars[:, -1], used[:, -1] = d2.astype(np.uint8) + ord("0"), d2 > 0
    lengths += 2 * (frac > 0) + (d2 > 0)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    out = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars[used]),
                                      null_count=0)
    slow = np.flatnonzero(~fast)
    if len(slow):
        mask = np.zeros(n, bool)
        mask[slow] = True
        out = pc.replace_with_mask(out, pa.array(mask),
                                   pa.array(show_many(v[slow].tolist()), pa.string()))
    return out


#: texts put around a reason: (table of texts before, index of each row's; table after, index)
Around = tuple[pa.Array | None, np.ndarray, pa.Array | None, np.ndarray]


def rule_reasons(batch: Any, rb: Any, rows: np.ndarray,
                 around: Around | None = None) -> tuple[pa.Array, np.ndarray]:
    """``batch.reasons(rows)`` for rows a rule took (``rule_index >= 0``), in Arrow, rule by
    rule: (the texts, the order of ``rows`` they are in). ``around``: a text put before and
    one after each row's reason (taken from small tables, by row), joined in the same pass."""
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
        if around is not None and around[0] is not None:
            args.append(pc.take(around[0], around[1][order[lo:hi]]))
        k = 0
        for literal, name, _spec, _conv in string.Formatter().parse(template):
            if literal:
                args.append(pa.scalar(literal))
            if name is not None:
                args.append(show_numbers(batch.values[shown[k]][these]))
                k += 1
        if around is not None and around[2] is not None:
            args.append(pc.take(around[2], around[3][order[lo:hi]]))
        if k or around is not None:
            pieces.append(pc.binary_join_element_wise(*args, ""))
        else:
            pieces.append(pc.take(pa.array([template.replace("{{", "{").replace("}}", "}")],
                                           pa.string()), np.zeros(hi - lo, np.int64)))
    texts = pa.concat_arrays(pieces) if len(pieces) != 1 else pieces[0]
    return (texts if pieces else pa.array([], pa.string())), order


def basis_column(rating: Any, dec: Any, spec: Any, kinds: pa.Array | None = None
                 ) -> tuple[pa.Array, np.ndarray]:
    """级别依据 of the rated rows as a workbook run writes them: (the texts, the index in
    ``dec.act`` of each — in no particular order: the caller takes them where they go).
    ``kinds``: 级别变动 of the rated rows as Arrow, if made already. A rule's reason is
    joined with what goes before it (a new account's default) and after it (the tier kept by
    就高不就低) in one pass."""
    t, act, batch = rating.table, dec.act, rating.batch
    if kinds is None:
        kinds = pa.array(np.asarray(dec.kinds[act], dtype=object), pa.string())
    label_of = [*spec.labels, NO_TIER]
    slow = _is(kinds, OVERRIDE) | (batch.rule_index[act] < 0)
    if t.larger_of:
        slow[:] = True
    if dec.review.notes:
        slow |= np.isin(act, np.fromiter(dec.review.notes, np.int64))
    pos = np.arange(len(act))
    texts, where = [], []
    js = pos[~slow]
    if len(js):
        around = _around(rating, dec, spec, kinds, js, label_of)
        calc, order = rule_reasons(batch, spec.rulebook, act[js], around)
        texts.append(calc)
        where.append(js[order])
    slow_j = pos[slow]
    if len(slow_j):
        texts.append(pa.array(_slow_basis(rating, dec, spec, slow_j, label_of), pa.string()))
        where.append(slow_j)
    if not texts:
        return pa.array([], pa.string()), np.zeros(0, np.int64)
    return pa.concat_arrays(texts) if len(texts) > 1 else texts[0], np.concatenate(where)


def _is(kinds: pa.Array, kind: str) -> np.ndarray:
    return pc.fill_null(pc.equal(kinds, kind), False).to_numpy(zero_copy_only=False)


def _around(rating: Any, dec: Any, spec: Any, kinds: pa.Array, js: np.ndarray,
            label_of: list[str]) -> Around | None:
    """What goes before and after the reason of the rated rows ``js`` (``steps._basis``):
    新开户默认…，就高不就低： before (a new-accounts run's account with no tier held),
    ；就高不就低，保留… after (the tier 就高不就低 keeps); None when neither occurs."""
    base = rating.base[dec.act[js]]
    kept = _is(kinds, KEPT_UP)[js]
    new = (base < 0) & ~kept if spec.mode == "new-accounts" else np.zeros(len(js), bool)
    if not kept.any() and not new.any():
        return None
    held = np.where(base >= 0, base, len(label_of) - 1) + 1
    return (pa.array(["", f"新开户默认{spec.labels[-1]}，就高不就低："]) if new.any() else None,
            new.astype(np.int8),
            pa.array(["", *(f"；就高不就低，保留{label}" for label in label_of)])
            if kept.any() else None, np.where(kept, held, 0))


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
