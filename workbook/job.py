"""The re-rating job: one code path for the CLI and the Excel button (WORKBOOK.md, "Modes").

Read 客户 once, evaluate the whole table with the rulebook in force on the period's end date,
apply the mode (upgrade-only, overrides), then write only the cells that change, append the
hash-chained 变更记录 rows and refresh 汇总 — all in one atomic patch of the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import ne as _ne
from pathlib import Path
from typing import Any

import numpy as np

from rules import RuleError, RuleInputError, get_rulebook
from rules.errors import show
from rules.rerating import (
    DOWNGRADE,
    FIRST,
    KEPT_UP,
    MODE_LABELS,
    OVERRIDE,
    UPGRADE,
    Mode,
    apply_mode,
    parse_mode,
)
from rules.schedule import Period, parse_period, period_of_cell, run_window
from rules.verify import known_gaps

from . import history, overrides, summary, transfers
from . import suitability2017 as suit17
from .recalc import needs_full_recalc
from .schema import (
    BY_KEY,
    CLIENT_SHEET_NAMES,
    HISTORY_SHEET_NAMES,
    OUTPUT_BY_KEY,
    SUMMARY_SHEET_NAMES,
    ClientTable,
    Rejection,
    WorkbookError,
    find_sheet,
    reason_text,
    validate,
)
from .xlsxio import KEEP, SheetData, SheetEdit, check_safe, patch_workbook, read_sheet
from .xlsxio.reader import HashedColumn, UnreadColumn

EXIT_OK, EXIT_FATAL, EXIT_REJECTED = 0, 1, 3
#: how many progress messages a file run sends (检查文件 … 写入文件), for a progress bar
PROGRESS_STEPS = 6
_PERIOD_HINT = {"quarterly": "季度（如 2026Q3）", "annual": "年度（如 2026）",
                "new-accounts": "月份（如 2026-11）"}


@dataclass(slots=True)
class Change:
    row: int
    client_id: str
    before: str
    after: str
    change: str
    reason: str
    rule_id: str


@dataclass
class RunResult:
    run_id: str
    path: Path
    out_path: Path
    period: str
    mode: str
    rulebook_ref: str
    operator: str
    time: str
    n_clients: int = 0
    n_in_scope: int = 0
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    change_counts: dict[str, int] = field(default_factory=dict)
    rejections: list[tuple[int, str, str, Any, str]] = field(default_factory=list)
    #: processed clients whose figures fall into a gap the verifier knows (rules.verify):
    #: (row, 客户编号, tier after the run, what: figures, clauses, catch-all rule, outcome)
    gaps: list[tuple[int, str, str, str]] = field(default_factory=list)
    #: rows rated although a secondary field is bad (risk score): (row, 客户编号, column, value,
    #: reason); the outputs of that field (风险类别) were left as they were
    flags: list[tuple[int, str, str, Any, str]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    cells_written: int = 0
    written: bool = False
    dry_run: bool = False
    already_applied: bool = False
    noop: bool = False  # already applied and not forced: nothing was done (the message says so)
    #: an annual run: the clients opened after the data date, left to the new-accounts run
    #: (row, 客户编号, 开户日期); untouched and not counted in n_in_scope
    opened_after: list[tuple[int, str, dt.date]] = field(default_factory=list)
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    purchase_findings: list[Any] = field(default_factory=list)  # suitability2017.PurchaseFinding
    exit_code: int = EXIT_OK
    tier_labels: list[str] = field(default_factory=list)
    #: problems of the optional sheet 转销户 (workbook.transfers), listed, nothing written there
    transfer_findings: list[Any] = field(default_factory=list)

    @property
    def upgrades(self) -> int:
        return self.change_counts.get(UPGRADE, 0)

    @property
    def kept(self) -> int:
        return self.change_counts.get(KEPT_UP, 0)


def _same(old: Any, new: Any) -> bool:
    if old is None or (isinstance(old, str) and not old.strip()):
        return new is None or new == ""
    if isinstance(new, float) and isinstance(old, int | float) and not isinstance(old, bool):
        return float(old) == new
    if isinstance(old, str) and isinstance(new, str):
        return old.strip() == new
    return old == new


def input_hash(t: ClientTable, mode: str, period_label: str) -> str:
    """sha256 of everything a run read (rulebook, mode, period, rows, ids, inputs, tiers,
    overrides, dates, risk scores), recorded in the run row's 输入哈希."""
    h = hashlib.sha256()
    h.update(f"{t.rulebook.ref}|{mode}|{period_label}\n".encode())
    h.update(np.ascontiguousarray(t.rows, np.int64).tobytes())
    for arr in (*t.inputs, t.current, t.annual, t.override, t.risk_score):
        h.update(np.ascontiguousarray(arr).tobytes())
    for lo in t.larger_of.values():  # (both figures, where an input is the larger of two)
        for arr in lo.values:
            h.update(np.ascontiguousarray(arr).tobytes())
    for texts in (t.client_id, t.approver, t.override_reason, t.open_date,
                  *((t.override_date, t.override_until)
                    if any(t.override_date) or any(t.override_until) else ())):
        try:  # all texts (client ids): joined as they are
            joined = "\x1f".join(texts)  # type: ignore[arg-type]
        except TypeError:  # None, dates: each distinct value turned into text once
            as_text = {v: "" if v is None else str(v) for v in set(texts)}
            joined = "\x1f".join(map(as_text.__getitem__, texts))
        h.update(joined.encode())
        h.update(b"\n")
    return h.hexdigest()


def _exact(x: float) -> str:
    """A number in 输入数据 exactly as read (thousands separated, never rounded), so the audit
    re-evaluates the logged inputs to the same rule: 9,999,999.995 stays 9,999,999.995."""
    return f"{int(x):,}" if x.is_integer() and abs(x) < 1e15 else f"{x:,}"


def _cell_text(v: Any) -> str:
    return history._text(v).strip()


def _texts(values: list[Any]) -> list[str]:
    """``[_cell_text(v) for v in values]``; texts only (the usual tier column) at C speed."""
    try:
        return list(map(str.strip, values))
    except TypeError:
        return list(map(_cell_text, values))


class _Basis(Sequence):
    """级别依据 of the processed rows (index j: row ``act[j]``), formatted when asked for: a
    1M-client run would otherwise hold 1M texts of about 250 bytes. ``special`` holds the
    texts that are not the rule's reason alone (overrides, tiers kept, new accounts)."""

    def __init__(self, batch: Any, act: np.ndarray, special: dict[int, str]) -> None:
        self.batch, self.act, self.special = batch, act, special
        self._is_special = np.zeros(len(act), bool)
        self._is_special[list(special)] = True

    def __len__(self) -> int:
        return len(self.act)

    def texts(self, js: Sequence[int] | np.ndarray) -> list[str]:
        js = np.asarray(js, dtype=np.intp)
        out = self.batch.reasons(self.act[js])
        if self.special:
            for k in np.flatnonzero(self._is_special[js]).tolist():
                out[k] = self.special[int(js[k])]
        return out

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return self.texts(np.arange(len(self))[i])
        return self.texts([i])[0]

    def __iter__(self) -> Iterator[str]:
        for a in range(0, len(self), _LAZY_BLOCK):
            yield from self.texts(np.arange(a, min(a + _LAZY_BLOCK, len(self))))


_LAZY_BLOCK = 65536


class _Reasons:
    """The rule's reason of rows (``Batch.reasons``), after the note of an override not applied
    (``overrides.OverrideReview.notes``) and of each input read as the larger of two columns
    (``schema.LargerOf``: 日均资产取上年日均资产 … 中的较大者（…）；)."""

    def __init__(self, batch: Any, larger: list[Any], notes: dict[int, str]) -> None:
        self.batch, self.larger, self.notes = batch, larger, notes

    def reasons(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        out = self.batch.reasons(rows)
        if self.larger or self.notes:
            for k, i in enumerate(np.asarray(rows).tolist()):
                note = self.notes.get(i)
                out[k] = (f"{note}；" if note else "") \
                    + "".join(lo.note(i) for lo in self.larger) + out[k]
        return out


class LazyColumn(Sequence):
    """A column to write (index 0 = row 2) whose changed values come from ``source`` (a
    ``_Basis``) when the patch reaches them, ``KEEP`` elsewhere; a slice is a list (the patch
    asks for the same slice twice in a row: it is made once)."""

    slices_to_lists = True

    def __init__(self, n: int, positions: np.ndarray, js: np.ndarray, source: _Basis) -> None:
        self.where = np.full(n, -1, np.int64)
        self.where[positions] = js
        self.source = source
        self.n_set = len(js)
        self._last: tuple[tuple[int, int], list[Any]] | None = None

    def __len__(self) -> int:
        return len(self.where)

    def _slice(self, a: int, b: int) -> list[Any]:
        if self._last is not None and self._last[0] == (a, b):
            return self._last[1]
        w = self.where[a:b]
        at = np.flatnonzero(w >= 0)
        out = np.full(len(w), KEEP, dtype=object)
        if len(at):
            part = np.empty(len(at), dtype=object)
            part[:] = self.source.texts(w[at])
            out[at] = part
        got = out.tolist()
        self._last = ((a, b), got)
        return got

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            a, b, step = i.indices(len(self))
            return self._slice(a, max(a, b)) if step == 1 else list(self)[i]
        j = int(self.where[i])
        return KEEP if j < 0 else self.source.texts([j])[0]

    def __iter__(self) -> Iterator[Any]:
        for a in range(0, len(self), _LAZY_BLOCK):
            yield from self._slice(a, min(a + _LAZY_BLOCK, len(self)))

    def count(self, value: Any) -> int:
        if value is KEEP:
            return len(self) - self.n_set
        return sum(1 for v in self if v == value)


@dataclass
class BookData:
    """What a run reads from a workbook, whichever front end (file or open Excel book) read it:
    the 客户 sheet, what it needs of 变更记录 (``history.LogState``) and the rows of 汇总 (the
    sheet names are None where a sheet does not exist)."""

    clients: SheetData
    history_sheet: str | None = None
    log: history.LogState = field(default_factory=history.LogState)
    summary_sheet: str | None = None
    summary_rows: list[list[Any]] = field(default_factory=list)
    transfers: SheetData | None = None  # the optional sheet 转销户 (workbook.transfers)
    purchases: SheetData | None = None  # 产品购买 (suitability2017), when the sheet exists


def read_book(path: str | os.PathLike[str]) -> BookData:
    """Read what a run needs from a workbook file (one pass over each sheet).

    客户 is read in the columns a run uses only: 客户编号, the tiers, overrides, 开户日期 and
    风险测评得分, the output columns, and every column headed like an input (label or name) of
    any rulebook or standing for one (``schema._INPUT_FALLBACK``), so that ``validate`` finds
    the inputs of whichever rulebook the run uses. 级别依据 is read as hashes (whether it
    changes is all a run needs of it), formula cells by place only. The other columns (客户名称,
    计算级别, notes…) are skipped: no values, no formulas kept. Only when some row has no
    客户编号 is the sheet read again with every contract column, so that such a row is kept
    (and rejected) if anything else is on it, as ``validate`` decides."""
    from rules import rulebook_ids, versions

    from .headers import header_name
    from .schema import _INPUT_FALLBACK, _pair_key, column_map
    from .xlsxio.findrows import find_rows
    from .xlsxio.parallel import ParallelRead, start_read
    from .xlsxio.sheetxml import no_gc

    labels = {header_name(x).casefold() for rid in rulebook_ids() for v in versions(rid)
              for spec in v.inputs for x in (spec.label, spec.name)} | suit17.headers_read()
    used_keys = {"client_id", "open_date", "risk_score", "annual_tier", "current_tier",
                 "override_tier", "override_approver", "override_reason", "override_date",
                 "override_until",
                 *_INPUT_FALLBACK.values(), *OUTPUT_BY_KEY, "computed_tier"}

    pair_keys = {_pair_key(h) for rid in rulebook_ids() for v in versions(rid)
                 for spec in v.inputs for h in spec.larger_of}  # (上年日均资产, 本年日均资产)

    def inputs(header: list[str]) -> set[int]:
        return {c for c, h in enumerate(header, 1)
                if header_name(h).casefold() in labels or _pair_key(h) in pair_keys}

    def wanted(header: list[str]) -> set[int]:  # the columns a run uses
        cols = column_map(header)
        return {c for k, c in cols.items() if k in used_keys} | inputs(header)

    def every(header: list[str]) -> set[int]:  # and the other contract columns
        return set(column_map(header).values()) | inputs(header)

    def basis(header: list[str]) -> set[int]:
        c = column_map(header).get("basis")
        return set() if c is None else {c}

    def clients(name: str, started: ParallelRead | None) -> SheetData:
        data = started.result() if started is not None else None
        if data is None:
            data = read_sheet(path, name, columns=wanted, hashed=basis, formula_text=False)
        c = column_map(data.header).get("client_id")
        ids = data.columns[c - 1] if c is not None else []
        if None in ids or "" in ids:  # a row without 客户编号: look at the others too
            data = read_sheet(path, name, columns=every, hashed=basis, formula_text=False)
        return data

    def rows(name: str) -> list[list[Any]]:  # the sheet as rows from A1
        data = read_sheet(path, name)
        if not data.n_cols:
            return [[] for _ in range(data.n_rows)]
        with no_gc():  # 1M new lists: the cyclic GC would walk the whole heap (5.5 s -> 0.6 s)
            return [list(data.header_values), *map(list, zip(*data.columns, strict=True))]

    def log(name: str) -> history.LogState:
        """The run rows, the row before each and the last rows; the whole sheet only when
        those cannot be found on their own (rows without numbers, a foreign first row)."""
        found = find_rows(path, name, col=1, text=history.RUN, before=1, last=2)
        if not found.complete or (found.header and [history._text(v) for v in found.header]
                                  [:len(history.HEADER)] != list(history.HEADER)):
            return history.state_of(rows(name))
        width = len(history.HEADER)
        texts = {r: ([history._text(v) for v in vals] + [""] * width)[:width]
                 for r, vals in found.rows.items()}
        return history.LogState(n_rows=found.n_rows, runs=found.matches, rows=texts)

    sheet = find_sheet(path, CLIENT_SHEET_NAMES)
    if sheet is None:
        raise WorkbookError(f"工作簿 {os.fspath(path)} 中没有“客户”工作表（也可命名为 Clients）。")
    hist_name = find_sheet(path, HISTORY_SHEET_NAMES)
    sum_name = find_sheet(path, SUMMARY_SHEET_NAMES)
    # a big 客户 is parsed by two processes while this one searches the log (parsing holds
    # the GIL: threads would take turns)
    started = start_read(path, sheet, columns=wanted, hashed=basis, workers=2)
    try:
        log_state = log(hist_name) if hist_name else history.LogState()
        summary_rows = rows(sum_name) if sum_name else []
    except BaseException:
        if started is not None:
            started.cancel()
        raise
    tr_name = find_sheet(path, transfers.TRANSFER_SHEET_NAMES)
    buy = find_sheet(path, suit17.PURCHASE_SHEET_NAMES)
    return BookData(clients=clients(sheet, started), history_sheet=hist_name, log=log_state,
                    summary_sheet=sum_name, summary_rows=summary_rows,
                    transfers=read_sheet(path, tr_name) if tr_name else None,
                    purchases=read_sheet(path, buy) if buy else None)


@dataclass
class Plan:
    """Everything a run will write, computed before anything is written.

    ``columns[c]`` holds the values of 客户 column ``c`` for rows 2, 3, … with ``KEEP`` where
    the cell stays as it is (formula cells are never in it); ``headers`` the new column headers;
    ``history_new`` the rows appended to 变更记录 (run header first, hash-chained onto the
    log's last row), at Excel row ``history_first_new_row``; ``history_rows`` what is written
    to 变更记录 from row ``history_first_row``: ``history_new``, with the header before it on
    an empty or new sheet, or the whole sheet when its first row was not our header (then it is
    rewritten: header, old rows, new rows); ``summary_rows`` the whole 汇总 sheet.
    """

    result: RunResult
    sheet: str
    columns: dict[int, list[Any]]
    headers: dict[int, str]
    history_new: list[list[str]]
    history_rows: list[list[str]]
    history_first_row: int
    summary_rows: list[list[Any]]
    history_sheet: str | None
    summary_sheet: str | None
    writes: bool  # False: dry run, period already applied (no force), every row rejected

    @property
    def history_first_new_row(self) -> int:
        """Excel row of the first appended 变更记录 row."""
        return self.history_first_row + len(self.history_rows) - len(self.history_new)

    @property
    def history_rewrite(self) -> bool:
        """变更记录 is written whole (new sheet, or a first row that was not our header)."""
        return self.history_first_row == 1 and len(self.history_rows) > len(self.history_new) + 1


_LOGGED_KINDS = (OVERRIDE, DOWNGRADE, FIRST, KEPT_UP)
#: the fields a 变更 row has of its own (the others are the run's), next to each other
_CHANGE_FIELDS = ("客户编号", "变更前", "变更后", "级别变动", "原因", "规则编号", "输入数据")
_CHANGE_AT = history.HEADER.index(_CHANGE_FIELDS[0])
if history.HEADER[_CHANGE_AT:_CHANGE_AT + len(_CHANGE_FIELDS)] != _CHANGE_FIELDS:
    raise ImportError("history.HEADER no longer has the 变更 fields side by side")


def _release(data: SheetData, which: Callable[[int], bool]) -> None:
    """Let go of the values of the columns ``which`` picks (they read as not read after)."""
    for c in range(1, data.n_cols + 1):
        if which(c) and not isinstance(data.columns[c - 1], UnreadColumn):
            data.columns[c - 1] = UnreadColumn(data.n_data_rows, c)  # type: ignore[call-overload]


def _timing_warnings(per: Period, today: dt.date, rb: Any) -> list[str]:
    """A run before its period ends, or outside the run window its rulebook's policy sets
    (``[schedule]``: seed 000 第六条（二）, seed 001 第十条), is allowed but said (a late run is a
    补跑). A day between the window's first and last working day (a weekend inside it) is on
    time. A year the trading calendar does not hold is counted Monday to Friday, and said."""
    if today <= per.end:
        return [f"评级期间 {per.label} 尚未结束（数据应截至 {per.end.isoformat()}），本次为提前运行。"]
    try:
        window = run_window(per, rb, assume_weekdays=True)
    except RuleError as e:
        return [f"无法核对 {per.label} 的运行窗口：{getattr(e, 'message', e)}"]
    said = [f"{per.label} 的运行窗口：{window.note_zh}。"] if window.note_zh else []
    if window.covers(today):
        return said
    late = "补跑" if today > window.last else "提前运行"
    return [f"运行日期 {today.isoformat()} 不在 {per.label} 的运行窗口（{window.first.isoformat()} 至 "
            f"{window.last.isoformat()}，上交所工作日）内：本次为{late}（{window.rulebook_ref} "
            f"{window.clause}：前 {len(window.days)} 个工作日）。", *said]


def _known_gaps(rb: Any, t: ClientTable, act: np.ndarray, batch: Any, new_label: list[str],
                kind_act: list[str]) -> list[tuple[int, str, str, str]]:
    """The processed clients whose figures fall into a gap ``client-rating rules check``
    reports (brokerage: 资产权益 exactly 10,000,000 is neither > 1000万 nor < 1000万 and only the
    catch-all rule takes it), with the clauses that leave the gap and the outcome."""
    if not len(act):
        return []
    try:
        hits = known_gaps(rb, [col[act] for col in t.inputs])
    except RuleError:  # (a rulebook the verifier cannot analyse: nothing known)
        return []
    by_id = {r.id: r for r in rb.rules}
    out = []
    for j in sorted(hits):
        f = hits[j]
        i = int(act[j])
        here, *sides = (by_id[x] for x in f.rule_ids)
        figures = "，".join(f"{s.label} {show(float(t.inputs[q][i]))}{' ' + s.unit if s.unit else ''}"
                           for q, s in enumerate(rb.inputs))
        clauses = "与 ".join(f"{r.id}「{r.text}」" for r in sides)
        calc = rb.outputs[here.output].label
        outcome = f"{new_label[j]}（{kind_act[j]}）"
        out.append((int(t.rows[i]), t.client_id[i], new_label[j],
                    f"{figures} 落在规则缺口：{clauses}都不含该值，只落入兜底规则 {here.id}（{calc}）"
                    f"（{rb.ref}，{rb.source.article}；client-rating rules check 所列）；本次为 "
                    f"{outcome}"))
    return out


def _class_columns(rb: Any, t: ClientTable, act: np.ndarray, new_rank: np.ndarray,
                   computed: np.ndarray, base: np.ndarray, kinds_act: np.ndarray, batch: Any,
                   risk: np.ndarray) -> dict[str, list[Any]]:
    """细分类别 (the sub-class, where the rulebook's rules name one: private-fund A类核心/B类核心,
    seed 001 第八条) and 分级分类 (the 12 classes, tier·risk class, where the rulebook says
    ``client_classes``: seed 001 第六条) of the processed rows; None leaves a cell as it is.

    The sub-class is the computed one where the tier in force is the computed tier; an override
    or a tier cell naming one (特别调整级别 A类核心) gives it; a tier kept above the computed
    one (就高不就低) keeps the cell, and a tier without sub-classes clears it."""
    out: dict[str, list[Any]] = {}
    labels = [o.label for o in rb.outputs]
    new = new_rank[act]
    if rb.vocabulary.sub_classes:
        sub = np.where(new == computed[act], batch.sub_classes[act], None).astype(object)
        no_subs = np.array([lab not in rb.vocabulary.sub_classes for lab in labels], bool)
        held = np.full(len(t), "", dtype=object)
        for key, ranks in (("annual_tier", t.annual), ("current_tier", t.current)):
            if key in t.tier_sub:  # (当前级别 before 年度级别: the base's own text)
                named = np.array(t.tier_sub[key], dtype=object)
                held = np.where(ranks >= 0, named, held)
        over = np.asarray(kinds_act) == OVERRIDE
        named_ov = t.tier_sub.get("override_tier")
        for j in np.flatnonzero(over).tolist():
            named = named_ov[int(act[j])] if named_ov else ""
            sub[j] = named or (sub[j] if sub[j] is not None else "")
        kept = np.fromiter((x is None for x in sub), bool, count=len(sub)) & ~over
        for j in np.flatnonzero(kept).tolist():  # above the computed tier (就高不就低), or
            i = int(act[j])  # new accounts' default
            sub[j] = held[i] if held[i] and new[j] == base[i] else (
                "" if no_subs[new[j]] else None)
        out["sub_class"] = sub.tolist()
    if rb.data.client_classes:
        lab = np.array(labels, dtype=object)[new]
        r = risk[act]
        out["client_class"] = [f"{a}·{b}" if b else "" for a, b in zip(lab, r, strict=True)]
    return out


class PeriodOrderError(WorkbookError):
    """A run whose data date is earlier than that of a run already applied to the same clients
    (评级期间 would go back): refused, nothing written, unless forced (``--force``; the Excel
    button asks)."""


def _rates_same_clients(mode: str, other: str) -> bool:
    """Whether an ``other`` run rated clients a ``mode`` run rates: quarterly and annual runs
    rate the whole sheet, a new-accounts run only the accounts opened in its month (a
    new-accounts run of another month rates none of them)."""
    return not (mode == "new-accounts" and other == "new-accounts")


def _later_run(per: Period, m: str, runs: list[history.AppliedRun]) -> str:
    """Why a run of ``per`` would go back (the latest applied run of the same clients with a
    later data date, with its period, mode and time), or ""."""
    best: tuple[history.AppliedRun, Period] | None = None
    for r in runs:
        try:
            p = parse_period(r.period)
        except RuleError:  # (not a period of ours: a foreign or edited row)
            continue
        if r.mode not in MODE_LABELS or not _rates_same_clients(m, r.mode) or p.end <= per.end:
            continue
        if best is None or (p.end, r.time) >= (best[1].end, best[0].time):
            best = (r, p)
    if best is None:
        return ""
    r, p = best
    where = f"，变更记录第 {r.row} 行" if r.row else ""
    return (f"已执行过{MODE_LABELS[r.mode]} {r.period}（数据截至 {p.end.isoformat()}；运行时间 "
            f"{r.time}，运行编号 {r.run_id}{where}），本次{MODE_LABELS[m]} {per.label} 的数据截至 "
            f"{per.end.isoformat()}，更早：执行会把按较新数据评出的级别和“评级期间”改回 "
            f"{per.label}。")


def _later_rows(per: Period, data: SheetData, col: int | None, t: ClientTable,
                act: np.ndarray) -> str:
    """Why a run of ``per`` would put 评级期间 back on rows it rates (their 评级期间 names a
    period with a later data date, e.g. a run missing from 变更记录), or ""."""
    if col is None or col > data.n_cols or not len(act):
        return ""
    old = data.columns[col - 1]
    if isinstance(old, HashedColumn | UnreadColumn):
        return ""
    pos = (t.rows[act] - 2).tolist()
    olds = old if len(act) == data.n_data_rows else list(map(old.__getitem__, pos))
    try:
        values = set(olds) - {None, ""}
    except TypeError:  # (an unhashable cell value: nothing to say)
        return ""
    later = set()
    for v in values:
        try:
            if period_of_cell(v).end > per.end:
                later.add(v)
        except RuleError:  # (not a period: not ours to judge here)
            continue
    if not later:
        return ""
    hits = [k for k, v in enumerate(olds) if v in later]  # (olds[k] is row act[k]'s)
    k = hits[0]
    i = int(act[k])
    return (f"“{data.name}”中 {len(hits)} 位本次要评级的客户的“评级期间”已是比 {per.label}"
            f"（数据截至 {per.end.isoformat()}）更晚的期间（如第 {int(t.rows[i])} 行 "
            f"{t.client_id[i]}：{_cell_text(olds[k])}）：执行会把它改回 {per.label}。")


def _annual_scope(per: Period, t: ClientTable) -> np.ndarray:
    """The clients an annual run rates: those opened on or before the data date (上一年度末的
    已开户客户, seed 000 第六条（二）1项, seed 001 第十条第1项). An empty 开户日期 counts as an
    account that existed (the sheet lists it); the others are left to the new-accounts run."""
    end = per.end
    return np.fromiter((d is None or d <= end for d in t.open_date), bool, count=len(t))


def _opened_after_note(per: Period, rb: Any, after: list[tuple[int, str, dt.date]]) -> str:
    sched = rb.data.schedule
    spec = sched.annual if sched is not None else None
    clause = (f"{rb.ref} {spec.source.partition('：')[0]}：" if spec is not None else "")
    shown = "、".join(f"第 {r} 行 {cid}（开户 {d.isoformat()}）" for r, cid, d in after[:5])
    more = f" 等 {len(after)} 位" if len(after) > 5 else ""
    return (f"{len(after)} 位客户的开户日期晚于数据截止日 {per.end.isoformat()}，不参加 {per.label} "
            f"年度评级（{clause}年度评级只评上一年度末的已开户客户），留给新开户评级，本次未改动："
            f"{shown}{more}。")


def plan_run(book: BookData, *, period: str | int | float | dt.date | Period, mode: str,
             rulebook: str = "brokerage", operator: str, force: bool = False, dry_run: bool = False,
             now: dt.datetime | None = None, path: Path | None = None,
             out_path: Path | None = None,
             progress: Callable[[str], None] | None = None, consume: bool = False,
             suitability: str | None = None) -> Plan:
    """Compute a run (see module doc) on data already read; nothing is written here.

    ``suitability``: a suitability regime id (``csrc-2017``) — the run also fills 投资者类别,
    风险等级 and 适当性依据 and checks 产品购买 (``workbook.suitability2017``); None: not.

    ``consume``: the caller does not use ``book.clients`` afterwards, so each column is let
    go once the run is done with it (the memory of a 1M-client run).
    Raises WorkbookError or RuleError (Chinese messages) when the run cannot be done."""
    say = progress or (lambda _msg: None)
    m: Mode = parse_mode(mode)
    per = period_of_cell(period)  # (a text, or a cell's number or date as 控制台 holds it)
    if per.mode != m:
        raise WorkbookError(f"评级周期 {per.label} 不适用于{MODE_LABELS[m]}：请填写{_PERIOD_HINT[m]}。")
    operator = (operator or "").strip()
    if not operator:
        raise WorkbookError("请填写操作员（--operator）。")
    now = (now or dt.datetime.now()).replace(microsecond=0)
    rb = get_rulebook(rulebook, per.end)
    say(f"检查“客户”工作表（规则 {rb.ref}）")
    t = validate(book.clients, rb, as_of=per.end)
    data = t.data
    s17 = suit17.rate_clients(data, t.rows, t.client_id, per.end, suitability,
                              skip=~t.ok) if suitability else None
    s17_cols = suit17.find_columns(data.header, {k: (h,) for k, h in suit17.OUTPUT_HEADERS.items()})
    if consume:  # what validate read is in ``t`` now; only the output columns' old values stay
        outs = {c for k, c in t.cols.items()
                if k in OUTPUT_BY_KEY or k in ("annual_tier", "override_date", "computed_tier")}
        outs |= set(s17_cols.values())
        _release(data, lambda c: c not in outs)
    in_hash = input_hash(t, m, per.label)
    if s17 is not None:  # the regime and what it read (its figures are in 适当性依据)
        in_hash = hashlib.sha256("\x1f".join(
            [in_hash, s17.ref, *map(str, s17.basis), *map(str, s17.problems)]).encode()).hexdigest()
    run_id = f"{now:%Y%m%d-%H%M%S}-{in_hash[:6]}"
    path = path or Path(data.name)
    res = RunResult(run_id=run_id, path=path, out_path=out_path or path, period=per.label,
                    mode=m, rulebook_ref=rb.ref, operator=operator, time=now.isoformat(sep=" "),
                    dry_run=dry_run, tier_labels=[o.label for o in rb.outputs])

    # the log, and whether this period+mode was applied already
    log = book.log
    if log.foreign is None:
        problems = log.problems(summary.read_tail(book.summary_rows))
        res.warnings += [f"变更记录第 {r} 行：{what}" for r, what in problems]
        applied = log.applied()
    else:
        applied = history.applied_runs(log.foreign)
    done = [rid for rid, md, pd in applied if md == m and pd == per.label]
    res.already_applied = bool(done)
    backwards = "" if done and not force else _later_run(per, m, history.runs_applied(log))
    if backwards and not force:
        raise PeriodOrderError(f"评级期间不能倒退：{backwards}本次未做任何更改。")
    res.warnings += _timing_warnings(per, now.date(), rb)
    if book.transfers is not None:
        res.transfer_findings = transfers.check_sheet(book.transfers)
        if res.transfer_findings:
            first = "；".join(f.text() for f in res.transfer_findings[:2])
            more = "……" if len(res.transfer_findings) > 2 else ""
            res.warnings.append(f"“{book.transfers.name}”工作表有 {len(res.transfer_findings)} 项"
                                f"不符合 003《营业部客户流失应对规范》：{first}{more}")

    n = len(t)
    say(f"评级 {n} 位客户")
    batch = rb.evaluate_many(t.inputs)
    for i, err in batch.errors.items():
        if i not in t.rejected:
            header = t.header_of("assets") if err.field is None else err.field
            t.rejected[i] = Rejection(int(t.rows[i]), t.client_id[i], header, err.value,
                                      reason_text(int(t.rows[i]), header, err.message))
            for hd, v, msg in (t.flagged.pop(i).problems if i in t.flagged else ()):
                t.rejected[i].add(hd, v, msg)  # (every problem of the row in its message)
    ok = t.ok
    computed = np.where(ok & (batch.rule_index >= 0), batch.output_index, -1).astype(np.int32)
    b_rank = np.where(t.current >= 0, t.current, t.annual).astype(np.int32)
    base = np.where(ok, b_rank, -1)
    scope = np.ones(n, bool)
    if m == "new-accounts":
        scope = np.array([d is not None and per.start <= d <= per.end for d in t.open_date], bool)
        od = t.cols.get("open_date")
        for i, rej in t.rejected.items():  # an unreadable 开户日期 cannot be scoped: report it
            if od is not None and data.header[od - 1] in rej.columns:
                scope[i] = True
    elif m == "annual":
        scope = _annual_scope(per, t)
        res.opened_after = [(int(t.rows[i]), t.client_id[i], t.open_date[i])
                            for i in np.flatnonzero(~scope).tolist()]
    # overrides: dates, expiry, the annual rating, self-approval (workbook/overrides.py)
    ov = overrides.review(t, rb, per, m, operator, now.date(), scope & ok)
    res.warnings += ov.warnings
    outcome = apply_mode(rb, m, computed, base, np.where(ok & ov.use, t.override, -1))
    labels = [o.label for o in rb.outputs]
    label_of = np.array([*labels, summary.NO_TIER], dtype=object)  # rank -1 -> 无级别
    active = scope & ok
    act = np.flatnonzero(active)
    if not backwards and not (done and not force):
        backwards = _later_rows(per, data, t.cols.get("period"), t, act)
        if backwards and not force:
            raise PeriodOrderError(f"评级期间不能倒退：{backwards}本次未做任何更改。")
    if backwards:
        res.warnings.append(f"强制执行：{backwards}")
    if res.opened_after:
        res.warnings.append(_opened_after_note(per, rb, res.opened_after))
    new_rank = outcome.rank.astype(np.int32)
    after_rank = np.where(active, new_rank, b_rank)
    kinds = outcome.change

    # risk class of every processed row with a score
    risk = np.full(n, None, dtype=object)
    risk_ref = ""  # the scheme that rated 风险类别, named in 变更记录
    has_score = np.isfinite(t.risk_score) & ok
    if has_score.any():
        rc = get_rulebook("risk-class", per.end)
        risk_ref = rc.ref
        rbatch = rc.evaluate_many([np.where(has_score, t.risk_score, 50.0)])
        good = has_score & (rbatch.rule_index >= 0)
        risk[good] = rbatch.labels[good]

    # the new values of the processed rows, by output key (lists aligned with ``act``)
    new_label = label_of[new_rank[act]].tolist()
    kind_act = kinds[act].tolist()
    kinds_act = kinds[act]
    special = (kinds_act == OVERRIDE) | (kinds_act == KEPT_UP)
    if m == "new-accounts":
        special |= base[act] < 0
    special_idx = np.flatnonzero(special)
    special_basis: dict[int, str] = {}
    reasoner = _Reasons(batch, list(t.larger_of.values()), ov.notes)
    for k, calc in zip(special_idx.tolist(), reasoner.reasons(act[special_idx]), strict=True):
        i = int(act[k])  # (the others' basis is the rule's reason)
        kind = kind_act[k]
        if kind == OVERRIDE:
            special_basis[k] = f"{ov.basis(t, i, new_label[k], operator)}；按规则计算：{calc}"
        elif kind == KEPT_UP:
            special_basis[k] = f"{calc}；就高不就低，保留{label_of[base[i]]}"
        else:
            special_basis[k] = f"新开户默认{labels[-1]}，就高不就低：{calc}"
    basis = _Basis(reasoner, act, special_basis)
    res.gaps = _known_gaps(rb, t, act, batch, new_label, kind_act)
    year = per.end.year
    opened = np.array([d is not None and d.year == year for d in t.open_date], bool)

    def table(fn: Callable[[str], Any]) -> dict[str, Any]:
        out = {}
        for lab in labels:
            try:
                out[lab] = fn(lab)
            except (RuleInputError, KeyError, ValueError):
                out[lab] = None
        return out

    svc = {flag: table(lambda lab, f=flag: rb.service_product(lab, f)) for flag in (False, True)}
    visits = table(lambda lab: float(rb.visits_per_year(lab)))
    # by rank (the last row, rank -1: 无级别, nothing to write), then by opened-this-year
    svc_of = np.array([[svc[False][lab], svc[True][lab]] for lab in labels] + [[None, None]],
                      dtype=object)
    visits_of = np.array([visits[lab] for lab in labels] + [None], dtype=object)
    rank_act = new_rank[act]
    values: dict[str, list[Any]] = {
        "current_tier": new_label,
        "change": kind_act,
        "basis": basis,
        "service": svc_of[rank_act, opened[act].astype(np.intp)].tolist(),
        "visits": visits_of[rank_act].tolist(),
        "risk_class": risk[act].tolist(),
        "period": [per.label] * len(act),
        "rulebook_ref": [rb.ref] * len(act),
    }
    if s17 is not None:  # 投资者类别, 风险等级, 适当性依据 (suitability2017)
        act_l = act.tolist()
        values["investor_type"] = [s17.investor_type[i] for i in act_l]
        values["risk_level"] = [s17.risk_level[i] for i in act_l]
        values["suitability_basis"] = [s17.basis[i] for i in act_l]
    values.update(_class_columns(rb, t, act, new_rank, computed, base, kinds_act, batch, risk))
    if ov.stamped:  # 调整日期 of overrides applied without one: this run's date
        values["override_date"] = [ov.stamped.get(i) for i in act.tolist()]
    ct = t.cols.get("computed_tier")
    if ct is not None and not (ct <= data.n_cols and data.formula_mask(ct).any()):
        # 计算级别 where the sheet has it as values; a column of formulas (the earlier per-row
        # layout) is Excel's to compute: a value in a row it has no formula on would go stale
        # when the figures change
        values["computed_tier"] = np.array([*labels, None], dtype=object)[computed[act]].tolist()
    keys = list(values)
    if m == "annual":
        values["annual_tier"] = new_label
        keys.insert(0, "annual_tier")

    # columns to write: only the cells whose value changes, never a formula cell
    cols = {**t.cols, **s17_cols}
    headers: dict[int, str] = {}
    for k in keys:
        if k not in cols:
            c = data.n_cols + 1 + len(headers)
            cols[k] = c
            headers[c] = (OUTPUT_BY_KEY[k].header if k in OUTPUT_BY_KEY
                          else BY_KEY[k].header if k in BY_KEY
                          else suit17.OUTPUT_HEADERS.get(k, "年度级别"))
    masks: dict[int, np.ndarray] = {}

    def formula_mask(c: int) -> np.ndarray:  # [row number] -> holds a formula
        if c not in masks:
            masks[c] = (data.formula_mask(c) if c <= data.n_cols
                        else np.zeros(data.n_rows + 1, bool))
        return masks[c]
    rows_arr = t.rows[act]  # Excel rows of the processed clients
    pos_arr = rows_arr - 2  # their positions in the columns
    n_data = data.n_data_rows
    every_row = len(act) == n_data  # every data row processed: positions 0, 1, 2, …
    columns: dict[int, list[Any]] = {}
    changed: dict[str, np.ndarray] = {}
    for k in keys:
        c = cols[k]
        news = values[k]
        old_col = data.columns[c - 1] if c <= data.n_cols else None
        lazy = isinstance(news, _Basis) and isinstance(old_col, HashedColumn | None)
        if isinstance(news, _Basis) and not lazy:  # compared text by text: made here
            news = list(news)
        if old_col is None:
            olds: Any = itertools.repeat(None)
        elif every_row:
            olds = old_col
        else:
            olds = map(old_col.__getitem__, pos_arr.tolist())
        if isinstance(old_col, HashedColumn):  # only hash(value) was read: compare hashes
            new_h = np.fromiter(map(hash, news), np.int64, count=len(news))
            ne = np.flatnonzero((old_col if every_row else old_col[pos_arr]) != new_h)
        else:  # equal cells at C speed; the others one by one below
            ne = np.flatnonzero(np.fromiter(map(_ne, olds, news), bool, count=len(news)))
        ne = ne[~formula_mask(c)[rows_arr[ne]]]  # never a formula cell
        if lazy:  # (never None)
            keep = ne.tolist()
        elif isinstance(old_col, HashedColumn):
            keep = [j for j in ne.tolist() if news[j] is not None]
        else:  # (an empty old cell -- a first run -- takes any new value but "")
            olds_ne = (itertools.repeat(None) if old_col is None
                       else map(old_col.__getitem__, pos_arr[ne].tolist()))
            keep = [j for j, o in zip(ne.tolist(), olds_ne, strict=False)
                    if (v := news[j]) is not None and (v != "" if o is None else not _same(o, v))]
        diff = np.zeros(len(act), bool)
        diff[keep] = True
        changed[k] = diff
        if keep and lazy:  # the texts are made when the patch reaches them
            columns[c] = LazyColumn(n_data, pos_arr[keep], np.asarray(keep), news)
        elif keep:
            col = np.full(n_data, KEEP, dtype=object)
            part = np.empty(len(keep), dtype=object)
            part[:] = [news[j] for j in keep]
            col[pos_arr[keep]] = part
            columns[c] = col.tolist()
            del col, part
    say("整理变更记录")

    # the log rows: every processed client whose tier or risk class changed, and every
    # 特别调整, 降级, 首次评级 and 保留 (tier kept above the computed one)
    in_names = [s.label for s in rb.inputs]
    tier_col = cols["current_tier"]
    old_tiers = data.columns[tier_col - 1] if tier_col <= data.n_cols else [None] * n_data
    risk_col = cols["risk_class"]
    old_risks = data.columns[risk_col - 1] if risk_col <= data.n_cols else [None] * n_data
    tier_changed = changed["current_tier"]
    risk_changed = changed["risk_class"]
    rule_ids = batch.rule_ids  # (a property: take the array once)
    common = {"运行编号": run_id, "时间": res.time, "操作员": operator, "模式": m,
              "评级期间": per.label, "规则版本": rb.ref}
    logged = tier_changed | risk_changed
    if s17 is not None:
        logged |= changed["investor_type"] | changed["risk_level"]
    for kind in _LOGGED_KINDS:
        logged |= kinds_act == kind
    if ov.notes:  # an override not applied (expired, lapsed, not yet in force) is logged
        logged[np.isin(act, list(ov.notes))] = True
    logged_idx = np.flatnonzero(logged)
    # the fields of the 变更 rows, a column at a time (a first run logs every client)
    li = act[logged_idx]  # rows of the table
    lp = pos_arr[logged_idx].tolist()  # positions in the sheet's columns
    lj = logged_idx.tolist()
    ids = [t.client_id[i] for i in li.tolist()]
    befores = [_cell_text(old_tiers[p]) for p in lp]
    defaults = label_of[b_rank[li]].tolist()
    befores = [b or str(d) for b, d in zip(befores, defaults, strict=True)]
    afters = [new_label[j] for j in lj]
    l_kinds = [kind_act[j] for j in lj]
    inputs_used = ["；".join(parts) for parts in zip(
        *([f"{nm}={x}" for x in map(_exact, t.inputs[q][li].tolist())]
          for q, nm in enumerate(in_names)), strict=True)] if in_names else [""] * len(lj)
    for lo in t.larger_of.values():  # both figures where an input is the larger of two
        for k, i in enumerate(li.tolist()):
            inputs_used[k] += f"；{lo.logged(i)}"
    has_risk = risk[li].astype(bool)
    for k in np.flatnonzero(has_risk).tolist():
        inputs_used[k] += f"；风险测评得分={_exact(float(t.risk_score[li[k]]))}"
    reasons = basis.texts(logged_idx)
    for k in np.flatnonzero(risk_changed[logged_idx]).tolist():
        old_risk = old_risks[lp[k]]
        reasons[k] += (f"；风险类别 {show(old_risk) if old_risk else '（空）'}→"
                       f"{risk[li[k]]}（{risk_ref}）")
    if s17 is not None:  # which scheme rated the row: the regime, and score / 2009 class / 最低类别
        for key in ("investor_type", "risk_level"):
            c = cols[key]
            olds = data.columns[c - 1] if c <= data.n_cols else None
            for k in np.flatnonzero(changed[key][logged_idx]).tolist():
                old = _cell_text(olds[lp[k]]) if olds is not None else ""
                i = int(li[k])
                new = s17.investor_type[i] if key == "investor_type" else s17.risk_level[i]
                how = f"，{s17.scheme[i]}" if key == "risk_level" and s17.scheme[i] else ""
                reasons[k] += (f"；{suit17.OUTPUT_HEADERS[key]} {old or '（空）'}→{new}"
                               f"（{s17.ref}{how}）")
                if key == "risk_level" and np.isfinite(t.risk_score[i]) and not has_risk[k]:
                    inputs_used[k] += f"；风险测评得分={_exact(float(t.risk_score[i]))}"
    rid = np.where(batch.rule_index[li] >= 0, rule_ids[li], "").astype(str).tolist() \
        if len(li) else []
    res.changes = list(map(Change, (p + 2 for p in lp), ids, befores, afters, l_kinds, reasons,
                           rid))
    head = history.make_row(记录类型=history.CHANGE, **common)
    a, b = _CHANGE_AT, _CHANGE_AT + len(_CHANGE_FIELDS)
    log_rows: list[list[str]] = [
        [*head[:a], *f, *head[b:]]
        for f in zip(ids, befores, afters, l_kinds, reasons, rid, inputs_used, strict=True)]
    del ids, befores, defaults, afters, l_kinds, reasons, rid, inputs_used  # (now in the rows)
    if s17 is not None:  # cells of the regime's inputs that could not be read, and 产品购买
        in_scope = set(rows_arr.tolist())
        res.warnings += [msg for r, _h, _v, msg in s17.problems if r in in_scope] + s17.notes
        if book.purchases is not None:
            res.purchase_findings = suit17.check_purchases(book.purchases, s17)
            res.warnings += suit17.purchase_warnings(res.purchase_findings, book.purchases.name)
    rejections = [t.rejected[i] for i in sorted(t.rejected) if scope[i]]
    res.rejections = [rj.as_tuple() for rj in rejections]
    res.flags = [t.flagged[i].as_tuple() for i in sorted(t.flagged) if active[i]]
    for rj in rejections:
        log_rows.append(history.make_row(
            记录类型=history.REJECT, **common, 客户编号=rj.client_id, 原因=rj.reason,
            输入数据=rj.inputs_text))

    # counts, and the tiers the sheet will show (for the run row's 级别摘要)
    def counts(ranks: np.ndarray) -> dict[str, int]:  # rank -1 is 无级别
        got = np.bincount(ranks + 1, minlength=len(labels) + 1).tolist()
        return {**dict(zip(labels, got[1:], strict=True)), summary.NO_TIER: got[0]}

    res.n_clients = n
    res.n_in_scope = len(act)
    res.before = counts(b_rank)
    res.after = counts(after_rank)
    got = Counter(kind_act)
    res.change_counts = {k: got.get(k, 0) for k in summary.CHANGE_ROWS}
    # the tier each client shows after the run: the new one where written, else the old text
    shown = np.empty(n, dtype=object)
    shown[:] = _texts([old_tiers[r - 2] for r in t.rows.tolist()] if not every_row
                      else old_tiers)
    new_at = ~formula_mask(tier_col)[t.rows[act]]
    shown[act[new_at]] = label_of[new_rank[act[new_at]]]
    shown_tiers = shown.tolist()
    del shown, old_tiers, old_risks
    if consume:
        _release(data, lambda c: True)
    res.cells_written = len(headers) + sum(len(col) - col.count(KEEP)
                                           for col in columns.values())

    stats = "；".join([f"记录数={len(log_rows)}", f"客户={n}", f"处理={res.n_in_scope}",
                      *(f"{k}={v}" for k, v in res.change_counts.items() if v),
                      f"拒绝={len(rejections)}",
                      "评级前=" + "，".join(f"{k}:{v}" for k, v in res.before.items()),
                      "评级后=" + "，".join(f"{k}:{v}" for k, v in res.after.items()),
                      *(["强制重跑=是"] if force and done else []),
                      *([f"{suit17.STAT_KEY}={s17.ref}"] if s17 is not None else []),
                      *(["期间倒退=强制执行"] if backwards else []),
                      *([f"开户晚于截止日={len(res.opened_after)}"] if res.opened_after else []),
                      f"{history.TIER_DIGEST}={history.tier_digest(t.client_id, shown_tiers)}"])
    run_row = history.make_row(记录类型=history.RUN, **common, 原因=MODE_LABELS[m], 统计=stats,
                               输入哈希=in_hash)
    if log.foreign is not None:  # rewritten whole: header, old rows, new rows
        hist_rows = history.sheet_rows(log.foreign, [run_row, *log_rows])
        hist_new = hist_rows[len(hist_rows) - 1 - len(log_rows):]
        hist_first = 1
    else:
        log_rows.insert(0, run_row)
        hist_new = history.chain(log.tail, log_rows, in_place=True)  # (rows made here)
        del log_rows
        hist_rows = [list(history.HEADER), *hist_new] if log.n_rows == 0 else hist_new
        hist_first = 1 if log.n_rows == 0 else log.next_row
    info = [("评级期间", per.label), ("模式", f"{MODE_LABELS[m]}（{m}）"), ("规则版本", rb.ref),
            ("运行编号", run_id), ("时间", res.time), ("操作员", operator),
            ("客户数", n), ("本次处理", res.n_in_scope),
            (summary.TAIL_LABEL, hist_new[-1][history.N_FIELDS])]
    sum_rows = summary.rows(labels, res.before, res.after, res.change_counts, len(rejections),
                            info, sections=summary.run_sections(res.gaps, res.flags))
    if res.gaps and not (res.already_applied and not force):  # (said by a run that runs)
        res.warnings.append(f"{len(res.gaps)} 位客户的数据落在规则 {rb.ref} 的已知缺口上"
                            "（client-rating rules check 所列），按兜底规则评级：逐一列在“汇总”。")

    noop = res.already_applied and not force
    if noop:
        # (how to force is the front end's to say: --force, or the button's 是否强制重跑)
        res.message = (f"{per.label} 的{MODE_LABELS[m]}已执行过（运行编号 {done[-1]}），"
                       "本次未做任何更改。")
        res.noop = True
        res.exit_code = EXIT_OK
    elif n and res.n_in_scope == 0 and rejections:
        res.exit_code = EXIT_FATAL
        res.message = "所有客户行都有错误，未做任何更改。"
    else:
        res.exit_code = EXIT_REJECTED if rejections else EXIT_OK
        if dry_run:
            res.message = f"试运行：将修改 {res.cells_written} 个单元格，未写入文件。"
        else:
            res.message = (f"已完成{MODE_LABELS[m]} {per.label}：处理 {res.n_in_scope} 位客户，"
                           f"修改 {res.cells_written} 个单元格，拒绝 {len(rejections)} 行。")
    return Plan(result=res, sheet=data.name, columns=columns, headers=headers,
                history_new=hist_new, history_rows=hist_rows, history_first_row=hist_first,
                summary_rows=sum_rows, history_sheet=book.history_sheet,
                summary_sheet=book.summary_sheet,
                writes=not (dry_run or noop or res.exit_code == EXIT_FATAL))


def rerate(path: str | os.PathLike[str], *, period: str | int | float | dt.date | Period,
           mode: str, rulebook: str = "brokerage", operator: str, dry_run: bool = False,
           force: bool = False, out: str | os.PathLike[str] | None = None,
           now: dt.datetime | None = None,
           progress: Callable[[str], None] | None = None,
           suitability: str | None = None) -> RunResult:
    """Re-rate the clients of a workbook file (see module doc). Raises WorkbookError,
    XlsxError or RuleError (Chinese messages) when nothing can be done."""
    say = progress or (lambda _msg: None)
    path = Path(path)
    out_path = Path(out) if out else path
    parse_mode(mode)  # a wrong mode fails before the file is opened
    say("检查文件")
    check_safe(path)
    say("读取工作簿")
    identity = _identity(path)
    book = read_book(path)
    plan = plan_run(book, period=period, mode=mode, rulebook=rulebook, operator=operator,
                    force=force, dry_run=dry_run, now=now, path=path, out_path=out_path,
                    progress=say, consume=True, suitability=suitability)
    del book  # (its columns are not needed to write: free them before the patch)
    res = plan.result
    if not plan.writes:
        return res
    say("写入文件")
    if _identity(path) != identity:
        raise WorkbookError(f"工作簿 {path} 在读取后被修改过（可能在别处保存了），本次未写入：请重新运行。")
    edits = {plan.sheet: SheetEdit(cells={(1, c): h for c, h in plan.headers.items()},
                                   columns=plan.columns, table_columns=plan.headers)}
    replace: dict[str, list[list[Any]]] = {}
    add: dict[str, list[list[Any]]] = {}
    append: dict[str, tuple[int, list[list[Any]]]] = {}
    log_sheet = plan.history_sheet or HISTORY_SHEET_NAMES[0]
    if plan.history_sheet is None:
        add[log_sheet] = plan.history_rows
    elif plan.history_rewrite:
        replace[log_sheet] = plan.history_rows
    if log_sheet not in replace:  # appended below the old rows (marks a new sheet as a log)
        append[log_sheet] = (plan.history_first_row, plan.history_rows)
    charts = {}
    if plan.summary_sheet:
        replace[plan.summary_sheet] = plan.summary_rows
    else:  # a new 汇总 gets the template's chart
        add[SUMMARY_SHEET_NAMES[0]] = plan.summary_rows
        charts[SUMMARY_SHEET_NAMES[0]] = summary.chart_spec(res.tier_labels)
    # a full recalculation on open only where a formula may read what the run wrote
    recalc = needs_full_recalc(path, plan.sheet, set(plan.columns) | set(plan.headers))
    patch_workbook(path, out_path, edits, replace_sheets=replace, add_sheets=add,
                   add_charts=charts, append_rows=append, recalc_on_open=recalc)
    res.written = True
    return res


def _identity(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns
