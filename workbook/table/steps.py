"""The module of ``workbook.table`` that runs the job's steps (``workbook.run.steps``) on a
batch: clients in, the decisions and rejections of that batch out, by the very steps a
workbook run takes — ``settle``, validation (``schema.validate``, or ``fastcheck.fast_table``:
the same on whole Arrow columns, ``schema.validate`` itself for every row it is not sure of),
``evaluate`` (``Rulebook.evaluate_many``), ``apply_mode`` (``rules.rerating.apply_mode``:
就高不就低, overrides) — then the output columns ``new_values`` gives a workbook run, made in
Arrow (``columns``, ``texts``). Point this module at the job's steps when they move.

A batch is a ``SheetData`` (header row 1, data from row 2, as 客户 is read); its rows are
numbered in the messages as the input's rows (``offset`` + the sheet's row), so that
``第 7 行「资产权益」：不能为负数：-5`` names the 7th line of a CSV and the 6th record of a
Parquet file (the header counting as row 1, as in a sheet).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from rules.schedule import Period

from ..client_cells import Rejection
from ..run.steps import RunSpec, apply_mode, evaluate, read_table, settle
from ..schema import ClientTable
from ..xlsxio import SheetData
from .columns import decision_columns
from .fastcheck import among_ids, id_set

__all__ = ["BatchResult", "RunSpec", "duplicate_message", "rate_batch", "settle_run"]

#: the message of a 客户编号 met more than once (client_cells.read_ids words it so)
_DUP = "客户编号重复："


def settle_run(period: str | dt.date | Period, mode: str, rulebook: str, operator: str,
               now: dt.datetime | None = None) -> RunSpec:
    """The run's settings checked and the rulebook in force taken (``steps.settle``)."""
    return settle(period, mode, rulebook, operator, now)


def duplicate_message(cid: str, others: list[int]) -> str:
    return f"{_DUP}{cid}（另见第 {'、'.join(map(str, others))} 行）"


@dataclass
class BatchResult:
    """The outcome of one batch, as columns (index = decision or rejection)."""

    decisions: dict[str, Any]  # column name -> Arrow array (rows not rejected)
    rejections: dict[str, list[Any]]  # 行号, 客户编号, 列, 值, 原因, 在范围
    n_rows: int


def _rebuild(rej: Rejection | None, row: int, cid: str, first: tuple[str, Any, str] | None,
             drop_dup: bool) -> Rejection:
    """``rej`` (or a new rejection) numbered ``row``; ``first`` put before its problems."""
    problems = [] if rej is None else [p for p in rej.problems
                                       if not (drop_dup and p[2].startswith(_DUP))]
    if first is not None:
        problems = [first, *problems]
    h, v, m = problems[0]
    out = Rejection.of(row, cid, h, v, m)
    for h, v, m in problems[1:]:
        out.add(h, v, m)
    return out


def rate_batch(sheet: SheetData | None, spec: RunSpec, *, offset: int = 0,
               duplicates: dict[str, list[int]] | None = None,
               table: ClientTable | None = None) -> BatchResult:
    """Rate one batch (see module doc). ``duplicates``: 客户编号 met more than once in the
    whole input -> every row it is on (numbered as in messages); such a row is rejected
    naming the others, as ``read_ids`` does within one sheet. ``table``: the batch validated
    already (``fastcheck.fast_table``), else ``sheet`` is validated here."""
    t = table if table is not None else read_table(sheet, spec).t  # type: ignore[arg-type]
    if duplicates:
        _global_duplicates(t, offset, duplicates)
    rating = evaluate(t, spec)
    if offset:
        _renumber(t, offset)
    dec = apply_mode(rating, spec)
    decisions = decision_columns(rating, dec, spec, offset)
    rej_i = sorted(t.rejected)
    rejs = [t.rejected[i] for i in rej_i]
    rejections: dict[str, list[Any]] = {
        "行号": [r.row for r in rejs],
        "客户编号": [r.client_id for r in rejs],
        "列": [r.column for r in rejs],
        "值": [_text(r.value) for r in rejs],
        "原因": [r.reason for r in rejs],
        "在范围": [bool(dec.scope[i]) for i in rej_i],
    }
    return BatchResult(decisions, rejections, len(t))


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _global_duplicates(t: Any, offset: int, duplicates: dict[str, list[int]]) -> None:
    """Reject the rows whose 客户编号 is met elsewhere in the input, naming every other row
    (as ``read_ids`` does within one sheet: the first problem of the row, its inputs 0)."""
    id_header = t.header_of("client_id")
    for i in _on_rows(t, duplicates):
        row = int(t.rows[i])
        cid = t.client_id[i]
        others = [r for r in duplicates[cid] if r != row + offset]
        base = t.rejected.get(i)
        flagged = t.flagged.pop(i, None)
        if flagged is not None:  # (settle: a rejected row lists its secondary problems too)
            if base is None:
                base = flagged
            else:
                for p in flagged.problems:
                    base.add(*p)
        t.rejected[i] = _rebuild(base, row, cid, (id_header, cid, duplicate_message(cid, others)),
                                 True)
        for arr in t.inputs:
            arr[i] = 0.0


def _on_rows(t: Any, duplicates: dict[str, list[int]]) -> list[int]:
    """The rows of ``t`` whose 客户编号 is one of ``duplicates`` (from its Arrow column where
    it has one: no Python string a row)."""
    ids = getattr(t, "id_arrow", None)
    if ids is None:
        return [i for i, cid in enumerate(t.client_id) if cid in duplicates]
    return np.flatnonzero(among_ids(ids, id_set(duplicates))).tolist()


def _renumber(t: Any, offset: int) -> None:
    """Every rejection and flag numbered as the input's row (``offset`` + the batch's row)."""
    for into in (t.rejected, t.flagged):
        for i, r in list(into.items()):
            into[i] = _rebuild(r, int(t.rows[i]) + offset, t.client_id[i], None, False)
