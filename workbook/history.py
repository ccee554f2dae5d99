"""Sheet 变更记录: the append-only, hash-chained log of re-rating runs.

One run header row per run, then one row per client whose tier or flags changed, then one row
per rejected client. Every cell is written as text so that it reads back exactly, and every row
carries ``hash = sha256(previous row's hash + canonical row text)``: an edited, deleted, inserted
or reordered row breaks the chain at that row. A run header also records how many rows follow
it, so a deleted last row is detected too; the tail hash is repeated in 汇总.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HEADER: tuple[str, ...] = (
    "记录类型", "运行编号", "时间", "操作员", "模式", "评级期间", "规则版本",
    "客户编号", "变更前", "变更后", "级别变动", "原因", "规则编号", "输入数据",
    "统计", "输入哈希", "哈希",
)
RUN, CHANGE, REJECT = "运行", "变更", "拒绝"
_KIND = HEADER.index("记录类型")
_STATS = HEADER.index("统计")
_MODE = HEADER.index("模式")
_PERIOD = HEADER.index("评级期间")
_RUN_ID = HEADER.index("运行编号")
_TIME = HEADER.index("时间")
N_FIELDS = len(HEADER) - 1  # without the hash
_HASH_MISMATCH = "哈希不符：本行或其前一行被修改、插入、删除或调换了顺序"
_TAIL_MISMATCH = "末行哈希与“汇总”中记录的不符：最后的记录被删除或替换"


def cell_text(v: Any) -> str:
    """A log cell as the text it stands for (None is "", 3.0 is "3"): what is hashed."""
    if v.__class__ is str:
        return v
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def canonical(fields: Sequence[Any]) -> str:
    """The text hashed for a row: its fields (without the hash) joined by U+001F."""
    vals = [cell_text(v) for v in fields[:N_FIELDS]]
    vals += [""] * (N_FIELDS - len(vals))
    return "\x1f".join(v.replace("\x1f", " ") for v in vals)


def row_hash(prev: str, fields: Sequence[Any]) -> str:
    return hashlib.sha256((prev + canonical(fields)).encode("utf-8")).hexdigest()


def chain(prev: str, rows: list[list[str]], *, in_place: bool = False) -> list[list[str]]:
    """Rows (fields without hash) -> rows with their hash, continuing from ``prev``.
    ``in_place``: rows of exactly N_FIELDS texts get their hash appended (no copy: a first run
    chains 1M rows) and are returned themselves."""
    out = []
    sha = hashlib.sha256
    for r in rows:
        own = in_place and r.__class__ is list and len(r) == N_FIELDS
        fields = r if own else r[:N_FIELDS]
        try:  # (the usual row: N_FIELDS texts without U+001F, joined as they are)
            text = "\x1f".join(fields) if len(fields) == N_FIELDS else None
        except TypeError:
            text = None
        if text is None or text.count("\x1f") != N_FIELDS - 1:
            fields = [cell_text(v) for v in fields] + [""] * (N_FIELDS - len(fields))
            text = canonical(fields)
            own = False
        prev = sha((prev + text).encode("utf-8")).hexdigest()
        if own:
            r.append(prev)
            out.append(r)
        else:
            out.append([*fields, prev])
    return out


def make_row(**kw: Any) -> list[str]:
    """A row (without hash) from keyword fields named by HEADER."""
    row = [""] * N_FIELDS
    for k, v in kw.items():
        row[HEADER.index(k)] = cell_text(v)
    return row


class LogRows(list):
    """Rows already cleaned by :func:`data_rows` (passing them again costs nothing)."""


def data_rows(sheet_rows: Sequence[Sequence[Any]]) -> LogRows:
    """The log rows of a sheet read back (header row dropped, trailing empty rows dropped,
    every field as text, every row as long as HEADER)."""
    if isinstance(sheet_rows, LogRows):
        return sheet_rows
    width = len(HEADER)
    rows = [[cell_text(v) for v in r] for r in sheet_rows]
    if rows and rows[0] and rows[0][0] == HEADER[0]:
        rows = rows[1:]
    while rows and not any(rows[-1]):
        rows.pop()
    return LogRows(r if len(r) >= width else r + [""] * (width - len(r)) for r in rows)


def tail_hash(rows: Sequence[Sequence[Any]]) -> str:
    return cell_text(rows[-1][N_FIELDS]) if rows else ""


def verify_chain(rows: Sequence[Sequence[Any]], expected_tail: str | None = None,
                 first_row: int = 2) -> list[tuple[int, str]]:
    """Problems of a log: ``[(Excel row number, what)]``; empty when the chain is intact.

    ``rows`` are the data rows (without the header; row ``first_row`` is the first). Detects an
    edited, inserted, deleted or reordered row, a run whose rows are missing, and (given the
    tail hash recorded in 汇总) a deleted final run.
    """
    problems: list[tuple[int, str]] = []
    rows = data_rows(rows)
    prev = ""
    expect_left = 0
    run_row = 0
    for k, r in enumerate(rows):
        excel_row = first_row + k
        fields = [cell_text(v) for v in r[:N_FIELDS]]
        stored = cell_text(r[N_FIELDS]) if len(r) > N_FIELDS else ""
        want = row_hash(prev, fields)
        if stored != want:
            problems.append((excel_row, _HASH_MISMATCH))
        prev = stored or want
        kind = fields[_KIND]
        if kind == RUN:
            if expect_left > 0:
                problems.append((run_row, f"该次运行缺少 {expect_left} 行记录（已被删除）"))
            expect_left = _count_of(fields[_STATS])
            run_row = excel_row
        elif kind in (CHANGE, REJECT):
            expect_left -= 1
        else:
            problems.append((excel_row, f"未知的记录类型：{kind!r}"))
    if expect_left > 0:
        problems.append((run_row, f"该次运行缺少 {expect_left} 行记录（已被删除）"))
    if expected_tail is not None and expected_tail != tail_hash(rows):
        problems.append((first_row + len(rows), _TAIL_MISMATCH))
    return problems


@dataclass
class LogState:
    """What a run needs of 变更记录, without holding its rows (a 1M-client branch logs 14M
    cells): the number of data rows, every run row, the row before each and the last rows.

    ``rows[r]`` are fields as text (``HEADER`` long, hash last) by Excel row number; ``runs``
    the Excel rows of the run headers, ascending; ``n_rows`` the last used row (1: header
    only, 0: empty sheet); ``foreign`` holds the whole sheet when row 1 is not our header (the
    job then rewrites it under the header, keeping the old rows).
    """

    n_rows: int = 0
    runs: list[int] = field(default_factory=list)
    rows: dict[int, list[str]] = field(default_factory=dict)
    foreign: list[list[str]] | None = None

    @property
    def tail(self) -> str:
        """Hash of the last row ("" for an empty log)."""
        row = self.rows.get(self.n_rows)
        return row[N_FIELDS] if row and self.n_rows >= 2 else ""

    @property
    def next_row(self) -> int:
        """Excel row of the first row a run appends."""
        return max(self.n_rows, 1) + 1

    def applied(self) -> list[tuple[str, str, str]]:
        """(run id, mode, period) of every run header."""
        return [(f[_RUN_ID], f[_MODE], f[_PERIOD]) for f in map(self.rows.__getitem__, self.runs)]

    def problems(self, expected_tail: str | None = None) -> list[tuple[int, str]]:
        """What can be checked on these rows: the hash of every run row and of the last row,
        the number of rows of each run (a row deleted or inserted between run headers), and
        the tail hash recorded in 汇总. The whole chain (every row) is checked by the audit."""
        out: list[tuple[int, str]] = []
        if self.n_rows < 2:
            if expected_tail:
                out.append((2, _TAIL_MISMATCH))
            return out
        if not self.runs or self.runs[0] != 2:
            out.append((2, "第一行记录不是运行记录：记录被删除或插入"))
        for r in sorted({*self.runs, self.n_rows}):
            prev = "" if r == 2 else (self.rows.get(r - 1) or [""] * len(HEADER))[N_FIELDS]
            row = self.rows[r]
            if row[N_FIELDS] != row_hash(prev, row):
                out.append((r, _HASH_MISMATCH))
        for r, nxt in zip(self.runs, [*self.runs[1:], self.n_rows + 1], strict=True):
            want = _count_of(self.rows[r][_STATS])
            got = nxt - r - 1
            if got < want:
                out.append((r, f"该次运行缺少 {want - got} 行记录（已被删除）"))
            elif got > want:
                out.append((r, f"该次运行多出 {got - want} 行记录（被插入）"))
        if expected_tail is not None and expected_tail != self.tail:
            out.append((self.n_rows + 1, _TAIL_MISMATCH))
        return sorted(out)


def state_of(sheet_rows: Sequence[Sequence[Any]]) -> LogState:
    """The LogState of a whole sheet already read (the Excel front end, tests)."""
    raw = [[cell_text(v) for v in r] for r in sheet_rows]
    while raw and not any(raw[-1]):
        raw.pop()
    if raw and raw[0][: len(HEADER)] != list(HEADER):
        return LogState(n_rows=len(raw), foreign=raw)
    rows = {k: (r + [""] * (len(HEADER) - len(r)))[: len(HEADER)]
            for k, r in enumerate(raw[1:], start=2)}
    runs = [k for k, r in rows.items() if r[_KIND] == RUN]
    return LogState(n_rows=len(raw), runs=runs, rows=rows)


def stats_of(stats: str) -> dict[str, str]:
    """A run row's 统计 text (``记录数=3；客户=9；…；级别摘要=…``) as a dict."""
    out: dict[str, str] = {}
    for part in stats.split("；"):
        k, sep, v = part.partition("=")
        if sep:
            out.setdefault(k, v)
    return out


def _count_of(stats: str) -> int:
    try:
        return int(stats_of(stats).get("记录数", "0"))
    except ValueError:
        return 0


#: key in a run row's 统计 of :func:`tier_digest` of the 客户 sheet after the run
TIER_DIGEST = "级别摘要"


def tier_digest(client_ids: Sequence[str], tiers: Sequence[str]) -> str:
    """sha256 of the (客户编号, 当前级别 text) pairs with a tier, in client-id order: recorded by
    each run, so a tier typed over after the run shows (whatever the sheet's row order)."""
    keep = np.flatnonzero(np.fromiter(map(bool, tiers), bool, count=len(tiers)))
    if (any("\x00" in x for x in client_ids) or any("\x00" in x for x in set(tiers))
            or max(map(len, client_ids), default=0) > 64):
        # pair by pair in Python: numpy's strings drop trailing NULs, and one long id would
        # make every element of a numpy string array that long
        pairs = sorted((client_ids[k], tiers[k]) for k in keep.tolist())
        ids = np.array([c for c, _ in pairs], dtype=object)
        shown = np.array([t for _, t in pairs], dtype=object)
        order = np.arange(len(pairs))
    else:  # sorted by id, then tier, in numpy (as sorted() orders the pairs: by code point)
        ids = np.array(client_ids, dtype=str)[keep]
        labels = sorted(set(tiers) - {""})
        code = {t: k for k, t in enumerate(labels)}
        shown = np.array(labels, dtype=object)[
            np.fromiter((code.get(t, -1) for t in tiers), np.int32, count=len(tiers))[keep]]
        order = np.lexsort((np.fromiter((code[t] for t in shown), np.int32,
                                        count=len(shown)), ids))
    h = hashlib.sha256()
    for a in range(0, len(order), 100_000):  # the same bytes as pair by pair, in big blocks
        part = order[a:a + 100_000]
        h.update("".join([f"{c}\x1f{t}\n" for c, t in zip(ids[part].tolist(),
                                                          shown[part].tolist(), strict=True)])
                 .encode())
    return h.hexdigest()


def applied_runs(rows: Sequence[Sequence[Any]]) -> list[tuple[str, str, str]]:
    """(run id, mode, period) of every run header in the log."""
    return [(r[_RUN_ID], r[_MODE], r[_PERIOD]) for r in data_rows(rows) if r[_KIND] == RUN]


def sheet_rows(old: Sequence[Sequence[Any]], new: list[list[str]]) -> list[list[str]]:
    """The whole sheet after appending ``new`` (fields without hash) to the old log rows."""
    old_rows = data_rows(old)
    return [list(HEADER), *old_rows, *chain(tail_hash(old_rows), new)]


@dataclass(frozen=True)
class AppliedRun:
    """A run header of 变更记录: what was applied, when, and where it is logged (``row``: the
    Excel row, 0 where not known)."""

    run_id: str
    time: str
    mode: str
    period: str
    row: int = 0


def runs_applied(log: LogState) -> list[AppliedRun]:
    """Every run header of a log read by a run (``LogState``, ours or a foreign sheet), in log
    order."""
    if log.foreign is not None:
        return [AppliedRun(r[_RUN_ID], r[_TIME], r[_MODE], r[_PERIOD])
                for r in data_rows(log.foreign) if r[_KIND] == RUN]
    return [AppliedRun(f[_RUN_ID], f[_TIME], f[_MODE], f[_PERIOD], r)
            for r, f in ((r, log.rows[r]) for r in log.runs)]
