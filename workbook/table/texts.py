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
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rules.errors import show_many
from rules.rerating import CHANGE_KINDS, KEPT_UP, OVERRIDE

from ..run.lazy import Reasons
from ..summary import NO_TIER


def _words(texts: list[str]) -> np.ndarray:
    return np.frombuffer("".join(texts).encode("ascii"), np.uint32)


#: a group of three digits (0–999) as a 4-byte word, by what it is in a figure: (0) a group
#: after the first: a thousands separator and the three digits; (1) the first: its digits
#: from the first not 0 (or a lone 0), spaces before; (2) none: spaces
_GROUP_WORDS = _words([f",{g:03d}" for g in range(1000)] + [f"{g:>4d}" for g in range(1000)]
                      + ["    "] * 1000)
#: by cents (0–99): the decimals show_many keeps (.5, .05, .25; none for .00), spaces after
_DECIMAL_WORDS = _words([f".{c:02d}".rstrip("0").rstrip(".").ljust(4) for c in range(100)])


def show_numbers(values: np.ndarray) -> pa.Array:
    """``show_many(values)`` as an Arrow string array. Each figure that is a whole number of
    cents is written into a row of a byte matrix of 4-byte words from two tables — its
    groups of three digits (thousands separators, the first group's digits right-aligned
    after spaces), then its decimals (.5, .05, .25, none for .00; spaces after), a minus
    before the first digit — ``_CHUNK`` rows at a time, and the spaces around trimmed by
    Arrow. The others are left to ``show_many``."""
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    with np.errstate(invalid="ignore"):
        top = np.max(np.abs(v), where=np.abs(v) < 1e13, initial=0.0)
    n_groups = (len(str(int(top))) + 2) // 3
    chars = np.empty((n, 4 * n_groups + 4), np.uint8)
    fast = np.empty(n, bool)
    for lo in range(0, n, _CHUNK):  # (a chunk's arrays stay in the caches)
        fast[lo:lo + _CHUNK] = _write_figures(v[lo:lo + _CHUNK], chars[lo:lo + _CHUNK],
                                              n_groups)
    width = chars.shape[1]
    out = pc.ascii_trim(pa.StringArray.from_buffers(
        n, pa.py_buffer(np.arange(0, (n + 1) * width, width, dtype=np.int32)),
        pa.py_buffer(chars)), " ")
    slow = np.flatnonzero(~fast)
    if len(slow):
        mask = np.zeros(n, bool)
        mask[slow] = True
        out = pc.replace_with_mask(out, pa.array(mask),
                                   pa.array(show_many(v[slow].tolist()), pa.string()))
    return out


def _write_figures(v: np.ndarray, chars: np.ndarray, n_groups: int) -> np.ndarray:
    """Write the figures ``v`` that are whole numbers of cents below 10¹³ into the rows of
    ``chars`` (``show_numbers``); where they are."""
    with np.errstate(invalid="ignore", over="ignore"):
        a = np.abs(v)
        cents = np.rint(a * 100)
        fast = (a < 1e13) & (cents / 100 == a)  # (so 0, or 0.01 and more; finite)
    c = np.where(fast, cents, 0).astype(np.int64)
    whole = c // 100
    frac = c - whole * 100
    if n_groups <= 3:
        whole = whole.astype(np.uint32)
    words = chars.view(np.uint32)
    words[:, n_groups] = _DECIMAL_WORDS[frac]
    rest = whole
    for s in range(n_groups):  # (s: the group's place, 0 the last: word n_groups - 1 - s)
        up = rest // 1000
        kind = (whole < 1000 ** (s + 1)).astype(np.int32)
        if s:
            kind += whole < 1000 ** s
        words[:, n_groups - 1 - s] = _GROUP_WORDS[(rest - up * 1000) + 1000 * kind]
        rest = up
    neg = np.flatnonzero(v < 0)
    if len(neg):  # (a minus before the first digit, in place of a space)
        w = whole[neg]
        digits = np.ones(len(neg), np.int64)
        for k in range(1, 3 * n_groups):
            digits += w >= 10 ** k
        chars[neg, 4 * n_groups - 1 - digits - (digits - 1) // 3] = ord("-")
    return fast


#: the most rows whose figures are written at once (their arrays stay in the caches: a
#: column of 131,072 rows took twice the CPU of four of 32,768)
_CHUNK = 32_768


#: texts put around a reason: (table of texts before, index of each row's; table after, index)
Around = tuple[pa.Array | None, np.ndarray, pa.Array | None, np.ndarray]


@lru_cache(maxsize=256)
def _literals(template: str) -> tuple[str, ...]:
    """A reason template's literal texts (``{{`` read as ``{``): one before each figure and
    one after the last."""
    literals = [""]
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        literals[-1] += literal
        if name is not None:
            literals.append("")
    return tuple(literals)


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
        literals = _literals(template)
        args: list[Any] = []
        if around is not None and around[0] is not None:
            args.append(pc.take(around[0], around[1][order[lo:hi]]))
        args.append(literals[0])
        for q, k in enumerate(shown):
            args += [show_numbers(batch.values[k][these]), literals[q + 1]]
        if around is not None and around[2] is not None:
            args.append(pc.take(around[2], around[3][order[lo:hi]]))
        pieces.append(_joined(args, hi - lo))
    texts = pa.concat_arrays(pieces) if len(pieces) != 1 else pieces[0]
    return (texts if pieces else pa.array([], pa.string())), order


def _joined(texts: list[Any], n: int) -> pa.Array:
    """``n`` texts joined from literal texts (str) and arrays of ``n`` texts, in turn."""
    if all(isinstance(x, str) for x in texts):
        return pc.take(pa.array(["".join(texts)], pa.string()), np.zeros(n, np.int64))
    return pc.binary_join_element_wise(
        *(pa.scalar(x, pa.string()) if isinstance(x, str) else x for x in texts
          if not isinstance(x, str) or x), "")


def basis_column(rating: Any, dec: Any, spec: Any) -> tuple[pa.Array, np.ndarray]:
    """级别依据 of the rated rows as a workbook run writes them: (the texts, the index in
    ``dec.act`` of each — in no particular order: the caller takes them where they go).
    A rule's reason is
    joined with what goes before it (a new account's default) and after it (the tier kept by
    就高不就低) in one pass."""
    t, act, batch = rating.table, dec.act, rating.batch
    label_of = [*spec.labels, NO_TIER]
    slow = _is(dec, OVERRIDE) | (batch.rule_index[act] < 0)
    if t.larger_of:
        slow[:] = True
    if dec.review.notes:
        slow |= np.isin(act, np.fromiter(dec.review.notes, np.int64))
    pos = np.arange(len(act))
    texts, where = [], []
    js = pos[~slow]
    if len(js):
        around = _around(rating, dec, spec, js, label_of)
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


def _is(dec: Any, kind: str) -> np.ndarray:
    """Where the rated rows' kind of change is ``kind`` (from ``dec.kind_codes``)."""
    return dec.kind_codes[dec.act] == CHANGE_KINDS.index(kind)


def _around(rating: Any, dec: Any, spec: Any, js: np.ndarray,
            label_of: list[str]) -> Around | None:
    """What goes before and after the reason of the rated rows ``js`` (``steps._basis``):
    新开户默认…，就高不就低： before (a new-accounts run's account with no tier held),
    ；就高不就低，保留… after (the tier 就高不就低 keeps); None when neither occurs."""
    base = rating.base[dec.act[js]]
    kept = _is(dec, KEPT_UP)[js]
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
