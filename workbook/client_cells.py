"""The cells of 客户 read into typed columns, one reader per kind of column (``schema.validate``
puts them together). Each reader notes the problems of a row (``Problems``): a bad primary field
rejects the row, a bad secondary field (SECONDARY_KEYS) flags it; every problem of a row ends
up in one message naming row, column and value (``第 7 行「资产权益」：不能为负数：-5``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rules import Rulebook, RuleInputError, get_rulebook
from rules import cells as coerce
from rules.errors import show
from rules.money import to_cents_array

from .headers import unit_factor
from .xlsxio import SheetData
from .xlsxio.errors import CellError


@dataclass
class Rejection:
    """A row's problems: one message listing every problem of the row. ``column`` and ``value``
    are the first problem's (the cell to point at); ``problems`` holds (header, value, message)
    of each, ``reason`` all of them: ``第 7 行「资产权益」：不能为负数：-5；「上年度净佣金」：…``."""

    row: int  # Excel row number
    client_id: str
    column: str  # the header as it is in the file
    value: Any
    reason: str  # "第 7 行「资产权益」：不能为负数：-5"
    problems: list[tuple[str, Any, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.problems:
            self.problems = [(self.column, self.value, self.reason)]

    @classmethod
    def of(cls, row: int, client_id: str, header: str, value: Any, message: str) -> Rejection:
        return cls(row, client_id, header, value, reason_text(row, header, message),
                   [(header, value, message)])

    def add(self, header: str, value: Any, message: str) -> None:
        """One more problem of the row (the reason then lists it too); a repeat is ignored."""
        if any(h == header and m == message for h, _v, m in self.problems):
            return
        self.problems.append((header, value, message))
        self.reason += f"；「{header}」：{_strip_field(message, header)}"

    @property
    def columns(self) -> list[str]:
        """The headers of every problem, first first (once each)."""
        return list(dict.fromkeys(h for h, _v, _m in self.problems))

    @property
    def inputs_text(self) -> str:
        """``资产权益=-5；上年度净佣金='abc'``: the values of every problem (变更记录 输入数据)."""
        seen: list[tuple[str, str]] = []  # (a cell with two problems is shown once)
        for h, v, _m in self.problems:
            if (h, show(v)) not in seen:
                seen.append((h, show(v)))
        return "；".join(f"{h}={v}" for h, v in seen)

    def as_tuple(self) -> tuple[int, str, str, Any, str]:
        """(row, 客户编号, column(s), value(s), reason): several problems give the headers
        joined by 、 and the values by ；."""
        if len(self.problems) > 1:
            return (self.row, self.client_id, "、".join(self.columns),
                    "；".join(show(v) for _h, v, _m in self.problems), self.reason)
        return (self.row, self.client_id, self.column, self.value, self.reason)


def _strip_field(message: str, field_name: str) -> str:
    m = message.strip()
    if m.startswith(field_name):
        m = m[len(field_name):].lstrip("：: ")
    return m


def reason_text(row: int, header: str, message: str) -> str:
    return f"第 {row} 行「{header}」：{_strip_field(message, header)}"


class Problems:
    """The problems of the rows being read (index ``i`` = Excel row ``rows[i]``): ``rejected``
    (a primary field: the row is not rated) and ``flagged`` (a secondary field: rated, the
    field is not); ``ids`` the 客户编号 read so far (named in each row's message)."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.ids: list[str] = []
        self.rejected: dict[int, Rejection] = {}
        self.flagged: dict[int, Rejection] = {}

    def _note(self, into: dict[int, Rejection], i: int, header: str, value: Any,
              message: str) -> None:
        got = into.get(i)
        if got is None:
            into[i] = Rejection.of(int(self.rows[i]), self.ids[i] if i < len(self.ids) else "",
                                   header, value, message)
        else:
            got.add(header, value, message)

    def reject(self, i: int, header: str, value: Any, message: str) -> None:
        """A problem of a primary field: the row is not rated (every problem is listed)."""
        self._note(self.rejected, i, header, value, message)

    def flag(self, i: int, header: str, value: Any, message: str) -> None:
        """A problem of a secondary field (SECONDARY_KEYS): the row is rated, the field is not."""
        self._note(self.flagged, i, header, value, message)

    def settle(self, inputs: list[np.ndarray]) -> None:
        """A rejected row lists its secondary problems too (every problem of the row, once);
        its inputs are 0 (never rated)."""
        for i in [i for i in self.flagged if i in self.rejected]:
            for hd, v, msg in self.flagged.pop(i).problems:
                self.rejected[i].add(hd, v, msg)
        for i in self.rejected:
            for arr in inputs:
                arr[i] = 0.0


class RowCells:
    """The client rows of a sheet: rows with nothing in any column read (blank lines, totals
    far below…) are skipped — a row with a 客户编号 is used, only the others are looked at in
    the other ``known`` columns. ``values(c)`` gives column ``c``'s cells of the rows used."""

    def __init__(self, data: SheetData, id_col: int, known: set[int]) -> None:
        self.data = data
        n = data.n_data_rows
        ids = data.columns[id_col - 1]
        used = np.fromiter((v is not None and v != "" for v in ids), bool, count=n)
        blank = np.flatnonzero(~used)
        for c in sorted(known - {id_col}):
            if c <= data.n_cols and len(blank):
                col = data.columns[c - 1]
                got = np.fromiter((col[i] is not None and col[i] != "" for i in blank.tolist()),
                                  bool, count=len(blank))
                used[blank[got]] = True
                blank = blank[~got]
        self.idx = np.flatnonzero(used)
        self.rows = self.idx + 2
        self.m = len(self.idx)
        self.every = self.m == n  # (the usual case: no blank row)

    def values(self, c: int | None) -> list[Any]:
        data = self.data
        if c is None or c > data.n_cols:
            return [None] * self.m
        src = data.columns[c - 1]
        if self.every:
            return src if isinstance(src, list) else list(src)
        return [src[i] for i in self.idx.tolist()]

    def header(self, c: int) -> str:
        return self.data.header[c - 1]


def read_ids(cells: RowCells, c: int, notes: Problems) -> list[str]:
    """客户编号: text, unique, required, never an Excel error value (into ``notes.ids``)."""
    ids = notes.ids
    id_header = cells.header(c)
    raw_ids = cells.values(c)
    try:  # all texts (the usual case)
        ids.extend(map(str.strip, raw_ids))
    except TypeError:
        ids.clear()
        for v in raw_ids:
            if isinstance(v, float) and v.is_integer():
                ids.append(str(int(v)))
            elif v is None:
                ids.append("")
            else:
                ids.append(str(v).strip())
    bad_ids: set[int] = set()
    for i in [i for i, cid in enumerate(ids) if cid[:1] == "#"]:
        v = raw_ids[i]
        if isinstance(v, CellError) or coerce.is_error_text(ids[i]):
            ids[i] = ""  # (never a client "#REF!", in the result or the log)
            bad_ids.add(i)
            notes.reject(i, id_header, v, f"客户编号单元格为错误值：{_id_text(v)}（请更正该单元格）")
    if "" in ids or len(set(ids)) != len(ids):
        seen: dict[str, list[int]] = defaultdict(list)
        for i, cid in enumerate(ids):
            if i in bad_ids:
                continue
            if not cid:
                notes.reject(i, id_header, raw_ids[i], "客户编号为空")
            else:
                seen[cid].append(i)
        for cid, where in seen.items():
            if len(where) > 1:
                for i in where:
                    others = "、".join(str(int(cells.rows[j])) for j in where if j != i)
                    notes.reject(i, id_header, raw_ids[i],
                                 f"客户编号重复：{cid}（另见第 {others} 行）")
    return ids


def read_inputs(rb: Rulebook, cells: RowCells, in_cols: list[int | None],
                pairs: dict[int, tuple[int, ...]], notes: Problems
                ) -> tuple[list[np.ndarray], dict[int, LargerOf]]:
    """One float column per rulebook input (money at the cent: ``rules.money``), and the
    inputs read as the larger of two columns. A unit in the header scales the figures
    (资产权益（万元）); an empty cell is 0 where the rulebook allows it, else rejects the row."""
    inputs: list[np.ndarray] = []
    larger: dict[int, LargerOf] = {}
    for k, (spec, c) in enumerate(zip(rb.inputs, in_cols, strict=True)):
        if k in pairs:
            larger[k] = _larger_of(rb, spec, pairs[k], cells.data.header, cells.values,
                                   notes.reject, cells.m)
            inputs.append(to_cents_array(larger[k].value()) if spec.money else larger[k].value())
            continue
        assert c is not None  # (check_input_columns)
        arr = _input_column(rb, spec, cells.header(c), cells.values(c), notes)
        # money at the cent (rules.money): the value the rules compare, logged as such
        inputs.append(to_cents_array(arr) if spec.money else arr)
    return inputs, larger


def _input_column(rb: Rulebook, spec: Any, header: str, cells: list[Any],
                  notes: Problems) -> np.ndarray:
    arr, problems = _number_column(cells, header)
    unit, factor = unit_factor(header)
    if factor != 1:  # 资产权益（万元） 25 -> 250,000 元
        arr = arr * factor
        for i, v in enumerate(cells):
            if isinstance(v, str) and ("万" in v or "亿" in v) and i not in problems:
                notes.reject(i, header, v, f"单元格自带单位，而列标题已注明单位“{unit}”：{show(v)}"
                                           "（请只填数字）")
    for i, p in problems.items():
        if p is None:
            if spec.empty_is_zero:
                arr[i] = 0.0
            else:
                notes.reject(i, header, None, "为空（必填）")
        else:
            notes.reject(i, header, cells[i], p.message)
    for i in _outside(arr, spec):
        try:
            rb.check_value(spec, float(arr[i]))
        except RuleInputError as e:
            msg = e.message if factor == 1 else f"{e.message}（{show(cells[i])} {unit}）"
            notes.reject(int(i), header, cells[i], msg)
    return arr


def read_tiers(rb: Rulebook, cells: RowCells, c: int | None, notes: Problems
               ) -> tuple[np.ndarray, list[str] | None]:
    """A tier column as ranks (-1: empty) and the sub-class each cell names (A类核心), None
    when no cell names one; an unknown text rejects the row, naming the names the rulebook
    knows (``rules.vocabulary``)."""
    if c is None:
        return np.full(cells.m, -1, np.int32), None
    header = cells.header(c)
    values = cells.values(c)
    keys = _typed(values)
    rank: dict[Any, int] = {}  # each distinct cell once (a column holds a few labels)
    sub: dict[Any, str] = {}  # and the sub-class it names (A类核心), if any
    for k in dict.fromkeys(keys):
        v = k[1]
        if v is None or (isinstance(v, str) and not v.strip()):
            rank[k] = -1
            continue
        try:
            label, sub[k] = rb.tier_of(v if isinstance(v, str) else show(v))
            rank[k] = rb.rank(label)
        except RuleInputError:
            rank[k] = -2
    out = np.fromiter(map(rank.__getitem__, keys), np.int32, count=cells.m)
    subs = [sub.get(k, "") for k in keys] if any(sub.values()) else None
    labels = rb.vocabulary.describe()  # (the names it knows: rules.vocabulary)
    for i in np.flatnonzero(out == -2).tolist():
        v = values[i]
        notes.reject(i, header, v, f"未知的级别：{show(v)}（{rb.ref} 可用：{labels}）")
    out[out == -2] = -1
    return out, subs


def read_texts(cells: RowCells, c: int | None) -> list[str | None]:
    """A text column (调整审批人, 调整原因): trimmed, None where empty; 3.0 is "3"."""
    if c is None:
        return [None] * cells.m
    return texts_of(cells.values(c))


def texts_of(values: Iterable[Any]) -> list[str | None]:
    """Cell values as texts: trimmed, None where empty; 3.0 is "3" (a number typed as an id)."""
    out: list[str | None] = []
    for v in values:
        if v is None:
            out.append(None)
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v).strip() or None)
    return out


def read_dates(cells: RowCells, c: int | None, notes: Problems) -> list[dt.date | None]:
    """A date column (开户日期): each distinct cell converted once; one that is no date rejects
    the row (None in its place)."""
    if c is None:
        return [None] * cells.m
    h = cells.header(c)
    values = cells.values(c)
    keys = _typed(values)
    got: dict[Any, Any] = {}  # each distinct cell once (dates repeat)
    for k in dict.fromkeys(keys):
        try:
            got[k] = coerce.date(k[1], h)
        except RuleInputError as e:
            got[k] = e
    out = list(map(got.__getitem__, keys))
    if any(isinstance(x, RuleInputError) for x in got.values()):
        for i, x in enumerate(out):
            if isinstance(x, RuleInputError):
                notes.reject(i, h, values[i], x.message)
                out[i] = None
    return out


def read_override_dates(cells: RowCells, c: int | None, override: np.ndarray,
                        notes: Problems) -> list[dt.date | None]:
    """调整日期 or 调整有效期至 of the rows with an override (None elsewhere, and where empty)."""
    out: list[dt.date | None] = [None] * cells.m
    if c is None:
        return out
    h = cells.header(c)
    values = cells.values(c)
    for i in np.flatnonzero(override >= 0).tolist():
        try:
            out[i] = coerce.date(values[i], h)
        except RuleInputError as e:
            notes.reject(i, h, values[i], e.message)
    return out


def read_risk_scores(cells: RowCells, c: int | None, as_of: dt.date | None,
                     notes: Problems) -> np.ndarray:
    """风险测评得分, a secondary field: NaN where empty; a bad or out-of-range score is flagged
    (未评定风险类别) and NaN, checked by the risk-class rulebook in force on ``as_of``."""
    risk_score = np.full(cells.m, np.nan)
    if c is None:
        return risk_score
    h = cells.header(c)
    risk_rb = get_rulebook("risk-class", as_of or dt.date.today())
    spec = risk_rb.inputs[0]
    values = cells.values(c)
    arr, problems = _number_column(values, h)
    for i, p in problems.items():
        if p is not None:
            notes.flag(i, h, values[i], f"{p.message}（未评定风险类别）")
    risk_score = np.where(np.isfinite(arr), arr, np.nan)
    for i in problems:
        risk_score[i] = np.nan
    for i in _outside(risk_score, spec):
        try:
            risk_rb.check_value(spec, float(risk_score[i]))
        except RuleInputError as e:
            notes.flag(i, h, values[i], f"{e.message}（未评定风险类别）")
        risk_score[i] = np.nan
    return risk_score


@dataclass(frozen=True)
class LargerOf:
    """An input read as the larger of columns (``InputSpec.larger_of``; seed 001 第八条: 日均资产
    is 上年度或本年度日均客户资产, the larger): per row the figures read (NaN where empty or
    bad) and which column was used (-1: none, the row is rejected)."""

    label: str
    unit: str
    headers: tuple[str, ...]
    values: tuple[np.ndarray, ...]
    used: np.ndarray

    def value(self) -> np.ndarray:
        """The input per row: the figure of the column used (0 where none)."""
        got = np.zeros(len(self.used))
        for k, v in enumerate(self.values):
            got[self.used == k] = v[self.used == k]
        return got

    def note(self, i: int) -> str:
        """``日均资产取上年日均资产 600,000 元与本年日均资产 450,000 元中的较大者（上年日均资产）；``"""
        u = f" {self.unit}" if self.unit else ""
        k = int(self.used[i])
        if k < 0:
            return ""
        have = [(h, float(v[i])) for h, v in zip(self.headers, self.values, strict=True)
                if np.isfinite(v[i])]
        empty = [h for h, v in zip(self.headers, self.values, strict=True) if not np.isfinite(v[i])]
        if len(have) == 1:
            h, v = have[0]
            return f"{self.label}取{h} {show(v)}{u}（{'、'.join(empty)}为空）；"
        figures = "与".join(f"{h} {show(v)}{u}" for h, v in have)
        which = ("两者相等" if len({v for _h, v in have}) == 1 else self.headers[k])
        return f"{self.label}取{figures}中的较大者（{which}）；"

    def logged(self, i: int) -> str:
        """The figures for 变更记录's 输入数据: ``上年日均资产=600,000；本年日均资产=（空）``."""
        return "；".join(f"{h}={_exact_text(float(v[i])) if np.isfinite(v[i]) else '（空）'}"
                        for h, v in zip(self.headers, self.values, strict=True))


def _exact_text(x: float) -> str:
    return f"{int(x):,}" if x.is_integer() and abs(x) < 1e15 else f"{x:,}"


def _id_text(v: Any) -> str:
    return v.text if isinstance(v, CellError) else str(v).strip()


def _larger_of(rb: Rulebook, spec: Any, columns: tuple[int, ...], header: list[str],
               col_values: Any, reject: Any, m: int) -> LargerOf:
    """Read an input as the larger of ``columns``: each cell a number ≥ the input's minimum or
    empty (a row rejected naming the cell otherwise); an empty cell leaves the other figure;
    all empty is a missing figure (0 where the input allows it)."""
    values: list[np.ndarray] = []
    raw = [col_values(c) for c in columns]
    for c, cells in zip(columns, raw, strict=True):
        h = header[c - 1]
        arr, problems = _number_column(cells, h)
        _unit, factor = unit_factor(h)  # 上年日均资产（万元）
        if factor != 1:
            arr = arr * factor
        for i, p in problems.items():
            if p is not None:
                reject(i, h, cells[i], p.message)
            arr[i] = np.nan
        for i in _outside(arr, spec):
            try:
                rb.check_value(spec, float(arr[i]))
            except RuleInputError as e:
                reject(int(i), h, cells[i], e.message.replace(spec.label, h, 1))
            arr[i] = np.nan
        values.append(np.where(np.isfinite(arr), arr, np.nan))
    stacked = np.vstack(values) if m else np.zeros((len(columns), 0))
    some = np.isfinite(stacked).any(axis=0)
    used = np.where(some, np.argmax(np.where(np.isfinite(stacked), stacked, -np.inf), axis=0), -1)
    headers = tuple(header[c - 1] for c in columns)
    for i in np.flatnonzero(~some).tolist():
        if spec.empty_is_zero:
            continue
        if all(v[i] is None or (isinstance(v[i], str) and not v[i].strip()) for v in raw):
            reject(i, headers[0], None,
                   "与" + "、".join(f"「{h}」" for h in headers[1:])
                   + f"均为空（必填：{spec.label}取两者中的较大者）")
    return LargerOf(spec.label, spec.unit, headers, tuple(values), used.astype(np.int32))


def _outside(arr: np.ndarray, spec: Any) -> list[int]:
    """Positions of the finite numbers an input's min, max or integer rule refuses (the
    rulebook's ``check_value`` then says why)."""
    finite = np.isfinite(arr)
    good = finite.copy()
    if spec.min is not None:
        good &= ~(arr < spec.min)
    if spec.max is not None:
        good &= ~(arr > spec.max)
    if spec.integer:
        good &= np.where(finite, arr == np.floor(np.where(finite, arr, 0)), True)
    return np.flatnonzero(finite & ~good).tolist()


def _typed(values: list[Any]) -> list[tuple[type, Any]]:
    """(type, value) of each cell: keys for converting each distinct cell once that keep
    ``True`` apart from ``1.0`` (equal and of equal hash in Python)."""
    return list(zip(map(type, values), values, strict=True))


def _number_column(cells: list[Any], header: str) -> tuple[np.ndarray, dict[int, Any]]:
    """rules.cells.number_column as {index: RuleInputError, or None for an empty cell}."""
    got = coerce.number_column(cells, header)
    if len(got) == 3:  # (values, errors, empty positions)
        arr, errors, empty = got
        problems: dict[int, Any] = dict(errors)
        problems.update({i: None for i in empty})
        return arr, problems
    return got[0], got[1]
