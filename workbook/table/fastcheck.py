"""``schema.validate`` of a batch on whole Arrow columns, with the job's own validation for every
row it is not sure of.

A row is taken on the vectorised path only when each value it holds is of a form the job's
readers (``workbook.client_cells``) accept as it is: a 客户编号 of printable ASCII, not ``#…``,
met once in the input; rulebook inputs that are numbers inside the rulebook's bounds (or empty
where the rulebook counts empty as 0); tier texts the rulebook knows (each distinct text looked
up once by the rulebook's own ``tier_of``) and no 特别调整级别; an 开户日期 the job's date reader
takes (each distinct value read once by ``rules.cells.date``); a 风险测评得分 empty or inside the
risk-class rulebook's range. Numbers typed as text (a CSV extract's cells) count as numbers when
they are plain decimals (``_PLAIN_NUMBER``: digits, a minus, thousands separators, a fraction;
empty or blank is empty), converted by Arrow to the float the job's reader gives. Every other
row — a bad value, ``25万``, full-width digits, an override, anything unusual — goes through
``schema.validate`` itself (on a sheet of those rows), so its rejection and the message are the
job's, renumbered to the input's row. Columns of other types (inputs read as the larger of two
columns, tiers naming a sub-class) send the whole batch there (``fast_table`` returns None).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableSequence, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rules import RuleInputError, get_rulebook
from rules import cells as coerce
from rules.money import to_cents_array

from ..client_cells import Rejection, texts_of
from ..headers import unit_factor
from ..schema import ClientTable, column_map, input_columns, larger_of_columns, validate
from ..xlsxio import SheetData
from ..xlsxio.reader import UnreadColumn

#: a 客户编号 taken as it is: printable ASCII without spaces, not an error value (#REF!)
_PLAIN_ID = r"^[!-\"$-~][!-~]*$"
#: a number typed as text (a CSV's cell) that ``rules.cells.parse_number`` reads as Arrow's
#: cast does: ASCII digits, an optional minus, thousands separators in groups of three, an
#: optional fraction (spaces and tabs around it trimmed, as the job drops them); anything else
#: — 25万, ２５, 1e5, ¥, +1, .5 — is read by the job itself
_PLAIN_NUMBER = r"^-?(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]+)?$"
#: datetime.date's range as numpy days (a date32 outside it is left to Arrow's conversion)
_FIRST_DAY, _LAST_DAY = np.datetime64("0001-01-01", "D"), np.datetime64("9999-12-31", "D")


def renumbered(rej: Rejection, row: int) -> Rejection:
    """``rej`` with its message naming row ``row``."""
    h, v, m = rej.problems[0]
    out = Rejection.of(row, rej.client_id, h, v, m)
    for h, v, m in rej.problems[1:]:
        out.add(h, v, m)
    return out


def _numeric(a: pa.Array) -> bool:
    t = a.type
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
            or pa.types.is_null(t))


def _texts_as_numbers(a: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """A text column as the plain numbers it holds (``_PLAIN_NUMBER``; empty where the cell is
    empty or blank, or not plain) and the mask of the cells not plain (left to the job). The
    same float as the job's reader: both convert the same decimal digits, correctly rounded
    (tests/table/test_fastcheck.py checks it)."""
    if pa.types.is_large_string(a.type):
        a = pc.cast(a, pa.string())
    t = pc.utf8_trim(a, " \t")
    plain = pc.fill_null(pc.match_substring_regex(t, _PLAIN_NUMBER), False)
    empty = pc.fill_null(pc.equal(t, ""), True)
    odd = ~(plain.to_numpy(zero_copy_only=False) | empty.to_numpy(zero_copy_only=False))
    digits = pc.replace_substring(pc.if_else(plain, t, pa.scalar(None, pa.string())), ",", "")
    return pc.cast(digits, pa.float64()), odd


def _floats(a: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(values as floats, NaN where empty; the empty mask)."""
    null = a.is_null().to_numpy(zero_copy_only=False)
    x = pc.cast(a, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
    x[null] = np.nan
    return x, null


def _outside(x: np.ndarray, spec: Any) -> np.ndarray:
    """Finite values an input's min, max or integer rule refuses."""
    bad = np.zeros(len(x), bool)
    with np.errstate(invalid="ignore"):
        if spec.min is not None:
            bad |= x < spec.min
        if spec.max is not None:
            bad |= x > spec.max
        if spec.integer:
            bad |= np.isfinite(x) & (x != np.floor(np.where(np.isfinite(x), x, 0)))
    return bad


def _distinct(a: pa.Array) -> tuple[np.ndarray, list[Any]]:
    """(code of each value, -1 where empty; the distinct values as Python reads them)."""
    enc = pc.dictionary_encode(a)
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, enc.dictionary.to_pylist()


class _Batch:
    """The columns of a batch by 1-based input column, and the rows sent to the job."""

    def __init__(self, inp: Any, batch: pa.RecordBatch) -> None:
        self.inp, self.batch = inp, batch
        self.slow = np.zeros(batch.num_rows, bool)
        self.taken = set(inp.wanted if inp.used is None else inp.used)

    def col(self, c: int | None) -> pa.Array | None:
        if c is None or c not in self.taken:
            return None
        return self.batch.column(self.inp.wanted.index(c))


class _NotPlain(Exception):
    """The batch has a column the vectorised path does not read: the job validates it all."""


def _numbers(b: _Batch, a: pa.Array | None) -> pa.Array:
    """A numeric column as it is, a text column's plain numbers (its other cells to the job);
    ``_NotPlain`` for any other type."""
    if a is not None and (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)):
        got, odd = _texts_as_numbers(a)
        b.slow |= odd
        return got
    if a is None or not _numeric(a):
        raise _NotPlain
    return a


def _ids(b: _Batch, c: int, duplicates: dict[str, list[int]] | None) -> pa.Array:
    a = b.col(c)
    if a is None:
        raise _NotPlain
    if pa.types.is_integer(a.type):
        a = pc.cast(a, pa.string())
    if pa.types.is_large_string(a.type):
        a = pc.cast(a, pa.string())
    if not pa.types.is_string(a.type):
        raise _NotPlain
    b.slow |= ~plain_ids(a)
    if duplicates is None:  # (not known for the whole input: those met twice in the batch)
        counts = pc.value_counts(a)
        many = counts.filter(pc.greater(counts.field("counts"), 1)).field("values")
        if len(many):
            b.slow |= among_ids(a, many.cast(pa.string()))
    elif duplicates:
        b.slow |= among_ids(a, id_set(duplicates))
    return a


_ID_SET: tuple[Any, Any] = (None, None)  # (the last duplicates given, their ids as Arrow)


def id_set(duplicates: dict[str, list[int]]) -> pa.Array:
    """The ids of ``duplicates`` as an Arrow array — made once for the dict a run hands every
    batch (the last one kept, as one tuple replaced whole: runs in threads of their own each
    get their own dict's)."""
    global _ID_SET
    last = _ID_SET
    if last[0] is not duplicates:
        last = _ID_SET = (duplicates, pa.array(list(duplicates), pa.string()))
    return last[1]


def among_ids(ids: pa.Array, value_set: pa.Array) -> np.ndarray:
    """Where ``ids`` is one of ``value_set`` (False where missing)."""
    return pc.fill_null(pc.is_in(ids, value_set=value_set), False).to_numpy(
        zero_copy_only=False)


def plain_ids(a: pa.Array) -> np.ndarray:
    """Where a text column's values are plain 客户编号 (``_PLAIN_ID``: one or more bytes from
    ``!`` to ``~``, the first not ``#``; empty and missing are not), from its bytes in numpy
    (what matching the pattern row by row gives — tests/table/test_fastcheck.py — at a
    fifth of the CPU)."""
    n = len(a)
    off = np.frombuffer(a.buffers()[1], np.int32)[a.offset:a.offset + n + 1]
    data = (np.frombuffer(a.buffers()[2], np.uint8) if a.buffers()[2] is not None
            else np.zeros(0, np.uint8))
    ok = off[1:] > off[:-1]
    odd_at = np.flatnonzero((data - np.uint8(0x21)) > np.uint8(0x7E - 0x21))  # (outside ! to ~)
    if len(odd_at):  # (the rows holding them: an odd byte's position among the offsets)
        odd_at = odd_at[(odd_at >= off[0]) & (odd_at < off[-1])]
        ok[np.searchsorted(off, odd_at, side="right") - 1] = False
    if len(data):
        ok &= data[np.minimum(off[:-1], len(data) - 1)] != ord("#")
    if a.null_count:
        ok &= a.is_valid().to_numpy(zero_copy_only=False)
    return ok


def _inputs(b: _Batch, rb: Any, in_cols: list[int | None], header: list[str]) -> list[np.ndarray]:
    out = []
    for spec, c in zip(rb.inputs, in_cols, strict=True):
        if c is None:
            raise _NotPlain
        x, null = _floats(_numbers(b, b.col(c)))
        factor = unit_factor(header[c - 1])[1]
        if factor != 1:
            x = x * factor
        bad = (~null & ~np.isfinite(x)) | _outside(x, spec)
        if spec.empty_is_zero:
            x[null] = 0.0
        else:
            bad |= null
        b.slow |= bad
        out.append(to_cents_array(x) if spec.money else x)
    return out


def _tiers(b: _Batch, rb: Any, c: int | None, override: bool) -> np.ndarray:
    n = len(b.slow)
    if c is None:
        return np.full(n, -1, np.int32)
    a = b.col(c)
    if a is not None and pa.types.is_null(a.type):
        return np.full(n, -1, np.int32)
    if a is None or not pa.types.is_string(a.type):
        raise _NotPlain
    enc = pc.dictionary_encode(a)
    values = enc.dictionary.to_pylist()
    rank = []
    for v in values:
        if not v.strip():
            rank.append(-1)
            continue
        try:
            label, sub = rb.tier_of(v)
        except RuleInputError:
            rank.append(-2)
            continue
        if sub:
            raise _NotPlain  # (a sub-class named: the job's reader keeps it)
        rank.append(rb.rank(label))
    codes = pc.fill_null(enc.indices, len(values)).to_numpy(zero_copy_only=False)
    out = np.array([*rank, -1], np.int32)[codes]  # (the last: empty)
    if -2 in rank or (override and any(r != -1 for r in rank)):
        b.slow |= out == -2 if not override else out != -1
        out[out < 0] = -1
    return out


def _dates(b: _Batch, c: int | None, h: str) -> tuple[list[Any], np.ndarray]:
    n = len(b.slow)
    if c is None:
        return [None] * n, np.full(n, -1)
    a = b.col(c)
    if a is None:
        raise _NotPlain
    if pa.types.is_date32(a.type) and (dates := _date32(a)) is not None:
        return dates
    codes, values = _distinct(a)  # (a date32 here: a day outside datetime.date's range)
    got: list[Any] = [] if not pa.types.is_date(a.type) else values  # (dates: coerce.date's)
    for v in values if not pa.types.is_date(a.type) else ():
        try:
            got.append(coerce.date(v, h))
        except RuleInputError:
            got.append(False)
    table = np.array([*got, None], dtype=object)
    b.slow |= np.array([d is False for d in got] + [False], bool)[codes]
    years = np.array([d.year if d else -1 for d in got] + [-1], np.int64)[codes]
    return table[codes].tolist(), years


def _date32(a: pa.Array) -> tuple[list[Any], np.ndarray] | None:
    """A date32 column's dates (None where empty) and years (-1 where empty), each distinct
    day made ``datetime.date`` and its year by numpy (the dates Arrow's ``to_pylist`` gives);
    None when a day is outside ``datetime.date``'s range (Arrow's conversion says what)."""
    enc = pc.dictionary_encode(a)
    days = enc.dictionary.to_numpy(zero_copy_only=False)
    if len(days) and (days.min() < _FIRST_DAY or days.max() > _LAST_DAY):
        return None
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)
    table = np.empty(len(days) + 1, dtype=object)  # (the last: empty)
    table[:-1] = days.astype(object)
    years = np.append(days.astype("datetime64[Y]").astype(np.int64) + 1970, -1)
    return Dates(table, codes), years[codes]  # type: ignore[return-value]


def _texts(b: _Batch, c: int | None) -> list[str | None]:
    """As ``client_cells.read_texts``: trimmed, None where empty; 3.0 is "3"."""
    n = len(b.slow)
    a = b.col(c)
    if c is None:
        return [None] * n
    if a is None:
        raise _NotPlain
    return texts_of(a.to_pylist())


def _risk(b: _Batch, c: int | None, as_of: Any) -> np.ndarray:
    n = len(b.slow)
    if c is None:
        return np.full(n, np.nan)
    x, _null = _floats(_numbers(b, b.col(c)))
    x = np.where(np.isfinite(x), x, np.nan)
    spec = get_rulebook("risk-class", as_of).inputs[0]
    b.slow |= _outside(x, spec) & np.isfinite(x)
    return x


def fast_table(inp: Any, batch: pa.RecordBatch, spec: Any,
               duplicates: dict[str, list[int]] | None) -> ClientTable | None:
    """The batch validated (see module doc), rows numbered as in the batch (header row 1), or
    None when the batch has a column the vectorised path does not read. ``duplicates``: the
    客户编号 met more than once in the whole input (``source.duplicate_ids``; every id met twice
    in the batch is among them), or None: then the batch's own are looked for."""
    rb = spec.rulebook
    header = [h.strip() for h in inp.header]
    cols = column_map(header)
    if "client_id" not in cols or larger_of_columns(rb, header):
        return None
    b = _Batch(inp, batch)
    try:
        ids = _ids(b, cols["client_id"], duplicates)
        inputs = _inputs(b, rb, input_columns(rb, cols, header), header)
        current, annual = (_tiers(b, rb, cols.get(k), False) for k in ("current_tier",
                                                                       "annual_tier"))
        override = _tiers(b, rb, cols.get("override_tier"), True)
        open_date, years = _dates(b, cols.get("open_date"),
                                  header[cols["open_date"] - 1] if "open_date" in cols else "")
        approver, reason = _texts(b, cols.get("override_approver")), _texts(
            b, cols.get("override_reason"))
        risk = _risk(b, cols.get("risk_score"), spec.period.end)
    except _NotPlain:
        return None
    # the job's validation of the other rows (and of the header: run even for none)
    slow = np.flatnonzero(b.slow)
    sub = validate(inp.sheet(batch.take(pa.array(slow, pa.int64()))), rb, as_of=spec.period.end)
    m = _Merge(b.slow, sub)
    t = ClientTable(
        sheet=sub.sheet, data=_unread_sheet(inp, batch.num_rows, header), cols=cols,
        rulebook=rb, rows=m.pos[m.order] + 2, client_id=_client_ids(m, b.slow, ids, sub),
        inputs=[m(x, y) for x, y in zip(inputs, sub.inputs, strict=True)],
        current=m(current, sub.current), annual=m(annual, sub.annual),
        override=m(override, sub.override), approver=m(approver, sub.approver),
        override_reason=m(reason, sub.override_reason),
        open_date=m(open_date, sub.open_date), risk_score=m(risk, sub.risk_score),
        override_date=m([None] * m.n, sub.override_date or [None] * len(sub)),
        override_until=m([None] * m.n, sub.override_until or [None] * len(sub)))
    for into, got in ((t.rejected, sub.rejected), (t.flagged, sub.flagged)):
        for j, rej in got.items():
            into[int(m.inverse[len(m.fast) + j])] = renumbered(rej, int(m.sub_pos[j]) + 2)
    t.id_arrow = (t.client_id.arrow if isinstance(t.client_id, Texts)  # type: ignore[attr-defined]
                  else pa.array(t.client_id, pa.string()))
    sub_years = np.array([d.year if d is not None else -1 for d in sub.open_date], np.int64)
    t.open_year = m(years, sub_years)  # type: ignore[attr-defined]  # (columns._opened)
    return t


class Dates(MutableSequence[Any]):
    """A date column as the list of ``datetime.date`` (None where empty) a ``ClientTable``
    holds, made from its distinct dates (``table``, the last None) and each row's (``codes``),
    a few rows' dates put in (the job's, ``_Merge``) kept aside: a list only when read in full
    — a quarterly run reads none of them."""

    def __init__(self, table: np.ndarray, codes: np.ndarray) -> None:
        self.table, self.codes = table, codes
        self.put: dict[int, Any] = {}
        self._list: list[Any] | None = None

    def list(self) -> list[Any]:
        if self._list is None:
            self._list = self.table[self.codes].tolist()
            for i, v in self.put.items():
                self._list[i] = v
        return self._list

    def __len__(self) -> int:
        return len(self.codes) if self._list is None else len(self._list)

    def __getitem__(self, i: Any) -> Any:
        if self._list is None and not isinstance(i, slice):
            i = range(len(self.codes))[i]  # (an int, negative or not; IndexError past the end)
            return self.put[i] if i in self.put else self.table[self.codes[i]]
        return self.list()[i]

    def __setitem__(self, i: Any, value: Any) -> None:
        if self._list is None and not isinstance(i, slice):
            self.put[range(len(self.codes))[i]] = value
        else:
            self.list()[i] = value

    def __delitem__(self, i: Any) -> None:
        del self.list()[i]

    def insert(self, i: int, value: Any) -> None:
        self.list().insert(i, value)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.list())

    def __eq__(self, other: object) -> bool:
        return self.list() == (list(other) if isinstance(other, Sequence) else other)

    __hash__ = None  # type: ignore[assignment]


class Texts(Sequence[Any]):
    """A text column as the list of Python strings (None where missing) a ``ClientTable``
    holds, read from its Arrow array only where asked — the run reads a few rows' 客户编号
    (those rejected or flagged), not a Python string for each of the batch's rows."""

    def __init__(self, arrow: pa.Array) -> None:
        self.arrow = arrow

    def __len__(self) -> int:
        return len(self.arrow)

    def __getitem__(self, i: Any) -> Any:
        got = self.arrow[i]
        return got.to_pylist() if isinstance(i, slice) else got.as_py()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.arrow.to_pylist())

    def __eq__(self, other: object) -> bool:
        return list(self) == (list(other) if isinstance(other, Sequence) else other)

    __hash__ = None  # type: ignore[assignment]


def _client_ids(m: _Merge, slow: np.ndarray, ids: pa.Array, sub: ClientTable) -> Any:
    """客户编号 of the batch's rows: the column read, with the job's (trimmed…) at the rows it
    read (``Texts``); a list when the job left rows out (blank)."""
    if not m.same_rows:
        return m(ids.to_pylist(), sub.client_id)
    if len(m.slow) and ids.take(m.slow).to_pylist() != list(sub.client_id):  # (a copy)
        ids = pc.replace_with_mask(ids, pa.array(slow), pa.array(sub.client_id, pa.string()))
    return Texts(ids)


class _Merge:
    """The batch's values of the rows read here and the job's (``sub``) of the others, in
    the batch's order (rows the job found blank left out)."""

    def __init__(self, slow_mask: np.ndarray, sub: ClientTable) -> None:
        self.n = len(slow_mask)
        self.slow = np.flatnonzero(slow_mask)
        self.fast = np.flatnonzero(~slow_mask)
        self.sub_pos = self.slow[sub.rows - 2]
        self.pos = np.concatenate([self.fast, self.sub_pos])
        self.order = np.argsort(self.pos, kind="stable")
        self.inverse = np.empty(len(self.order), np.int64)
        self.inverse[self.order] = np.arange(len(self.order))
        self.same_rows = len(sub) == len(self.slow)  # (no blank row: every row, in order)

    def __call__(self, mine: Any, theirs: Any) -> Any:
        """``mine``: one value per row of the batch (a list or array of its own: it is
        changed and given back, not copied); ``theirs``: per row the job kept."""
        if self.same_rows:  # the batch's values, the job's at ``slow``
            for j, i in enumerate(self.slow.tolist()):
                mine[i] = theirs[j]
            return mine
        if isinstance(mine, np.ndarray):
            return np.concatenate([mine[self.fast], np.asarray(theirs, mine.dtype)])[self.order]
        both = np.empty(len(self.pos), dtype=object)
        mine = mine.list() if isinstance(mine, Dates) else mine
        both[:len(self.fast)] = np.asarray(mine, object)[self.fast]
        both[len(self.fast):] = list(theirs)
        return both[self.order].tolist()


def _unread_sheet(inp: Any, n: int, header: list[str]) -> SheetData:
    """The batch as a sheet whose header is all a run reads of it after validation."""
    cols: list[Any] = [UnreadColumn(n, c) for c in range(1, len(header) + 1)]
    return SheetData(name="客户", n_rows=n + 1, header=header, columns=cols,
                     header_values=list(inp.header), selected=frozenset())
