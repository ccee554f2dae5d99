"""The last steps of a run, from the new values to what is written:

``diff_columns`` (the cells of 客户 whose value changes; formula cells never; missing output
columns created at the right) → ``change_rows`` (a 变更 row for every rated client whose tier
or risk class changed, and every 特别调整, 降级, 首次评级 and 保留; a 拒绝 row for every rejected
row) → ``chain_log`` (the run row with its 统计, hash-chained onto the log's last row) →
``summary_rows`` (汇总) → ``outcome`` (the message and exit code).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from operator import ne as _ne
from typing import Any

import numpy as np

from rules.errors import show
from rules.rerating import DOWNGRADE, FIRST, KEPT_UP, MODE_LABELS, OVERRIDE

from .. import history, summary
from .. import suitability2017 as suit17
from ..schema import BY_KEY, OUTPUT_BY_KEY, Rejection
from ..xlsxio import KEEP, SheetData
from ..xlsxio.reader import HashedColumn
from .lazy import Basis, LazyColumn
from .logrows import ChainedRows, ChangeRows, Changes, WithHeader
from .result import EXIT_FATAL, EXIT_OK, EXIT_REJECTED, RunResult
from .steps import Decision, Rating, RunSpec, Values
from .text import exact, stripped, texts

_LOGGED_KINDS = (OVERRIDE, DOWNGRADE, FIRST, KEPT_UP)
#: the fields a 变更 row has of its own (the others are the run's), next to each other
_CHANGE_FIELDS = ("客户编号", "变更前", "变更后", "级别变动", "原因", "规则编号", "输入数据")
_CHANGE_AT = history.HEADER.index(_CHANGE_FIELDS[0])
if history.HEADER[_CHANGE_AT:_CHANGE_AT + len(_CHANGE_FIELDS)] != _CHANGE_FIELDS:
    raise ImportError("history.HEADER no longer has the 变更 fields side by side")


def same(old: Any, new: Any) -> bool:
    """Whether a cell holding ``old`` already shows ``new`` (an empty cell is "", 3 is 3.0,
    text trimmed)."""
    if old is None or (isinstance(old, str) and not old.strip()):
        return new is None or new == ""
    if isinstance(new, float) and isinstance(old, int | float) and not isinstance(old, bool):
        return float(old) == new
    if isinstance(old, str) and isinstance(new, str):
        return old.strip() == new
    return old == new


# ------------------------------------------------------------------------------ diff_columns

class FormulaMask:
    """[row number] -> the cell of column ``c`` holds a formula (False below the sheet)."""

    def __init__(self, data: SheetData) -> None:
        self.data = data
        self._masks: dict[int, np.ndarray] = {}

    def __call__(self, c: int) -> np.ndarray:
        if c not in self._masks:
            d = self.data
            self._masks[c] = (d.formula_mask(c) if c <= d.n_cols
                              else np.zeros(d.n_rows + 1, bool))
        return self._masks[c]


@dataclass
class ColumnDiff:
    """``columns[c]``: the values of 客户 column ``c`` for rows 2, 3, … with ``KEEP`` where the
    cell stays; ``headers``: the columns created (column -> header); ``cols``: every output
    key's column; ``changed[key]``: which rated rows (aligned with ``act``) change."""

    columns: dict[int, Any]
    headers: dict[int, str]
    cols: dict[str, int]
    changed: dict[str, np.ndarray]
    formula_mask: FormulaMask

    @property
    def cells_written(self) -> int:
        return len(self.headers) + sum(len(col) - col.count(KEEP)
                                       for col in self.columns.values())


def diff_columns(data: SheetData, cols: dict[str, int], rows: np.ndarray, act: np.ndarray,
                 values: Values) -> ColumnDiff:
    """The cells of the output columns whose value changes, for the rated rows ``act`` (Excel
    rows ``rows[act]``); never a formula cell. A key without a column gets one at the right
    (its header from the contract). A column read as hashes (级别依据) is compared by hash and
    its new texts are made when written (``LazyColumn``)."""
    cols = dict(cols)
    headers: dict[int, str] = {}
    for k in values.keys:
        if k not in cols:
            c = data.n_cols + 1 + len(headers)
            cols[k] = c
            headers[c] = (OUTPUT_BY_KEY[k].header if k in OUTPUT_BY_KEY
                          else BY_KEY[k].header if k in BY_KEY
                          else suit17.OUTPUT_HEADERS.get(k, "年度级别"))
    mask = FormulaMask(data)
    rows_arr = rows[act]  # Excel rows of the rated clients
    columns: dict[int, Any] = {}
    changed: dict[str, np.ndarray] = {}
    for k, news in values.values.items():
        keep, col = _column_changes(data, cols[k], rows_arr, news, mask)
        diff = np.zeros(len(act), bool)
        diff[keep] = True
        changed[k] = diff
        if col is not None:
            columns[cols[k]] = col
    return ColumnDiff(columns, headers, cols, changed, mask)


def _column_changes(data: SheetData, c: int, rows_arr: np.ndarray, news: Any,
                    mask: FormulaMask) -> tuple[list[int], Any]:
    """(positions in ``rows_arr`` whose cell changes, the column to write or None)."""
    pos_arr = rows_arr - 2  # positions in the columns
    n_data = data.n_data_rows
    every_row = len(rows_arr) == n_data  # every data row rated: positions 0, 1, 2, …
    old_col = data.columns[c - 1] if c <= data.n_cols else None
    lazy = isinstance(news, Basis) and isinstance(old_col, HashedColumn | None)
    if isinstance(news, Basis) and not lazy:  # compared text by text: made here
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
    ne = ne[~mask(c)[rows_arr[ne]]]  # never a formula cell
    if lazy:  # (never None)
        keep = ne.tolist()
    elif isinstance(old_col, HashedColumn):
        keep = [j for j in ne.tolist() if news[j] is not None]
    else:  # (an empty old cell -- a first run -- takes any new value but "")
        olds_ne = (itertools.repeat(None) if old_col is None
                   else map(old_col.__getitem__, pos_arr[ne].tolist()))
        keep = [j for j, o in zip(ne.tolist(), olds_ne, strict=False)
                if (v := news[j]) is not None and (v != "" if o is None else not same(o, v))]
    if not keep:
        return keep, None
    if lazy:  # the texts are made when the patch reaches them
        return keep, LazyColumn(n_data, pos_arr[keep], np.asarray(keep), news)
    col = np.full(n_data, KEEP, dtype=object)
    part = np.empty(len(keep), dtype=object)
    part[:] = [news[j] for j in keep]
    col[pos_arr[keep]] = part
    return keep, col.tolist()


# ------------------------------------------------------------------------------- change_rows

def _old_column(data: SheetData, c: int) -> Any:
    return data.columns[c - 1] if c <= data.n_cols else [None] * data.n_data_rows


def logged_rows(rating: Rating, dec: Decision, diff: ColumnDiff, s17: Any = None) -> np.ndarray:
    """Positions in ``act`` of the rated rows that get a 变更 row: tier or risk class (or the
    suitability columns) changed, a 特别调整, 降级, 首次评级 or 保留, or an override not
    applied (expired, lapsed, not yet in force)."""
    logged = diff.changed["current_tier"] | diff.changed["risk_class"]
    if s17 is not None:
        logged |= diff.changed["investor_type"] | diff.changed["risk_level"]
    kinds_act = dec.kinds[dec.act]
    for kind in _LOGGED_KINDS:
        logged |= kinds_act == kind
    if dec.review.notes:
        logged[np.isin(dec.act, list(dec.review.notes))] = True
    return np.flatnonzero(logged)


def change_rows(rating: Rating, dec: Decision, vals: Values, diff: ColumnDiff,
                spec: RunSpec, common: dict[str, str], s17: Any = None
                ) -> tuple[Changes, ChangeRows]:
    """The 变更 rows of the run (``logged_rows``), as ``Change`` records and as 变更记录 rows
    (the run's fields in ``common``): before and after, the kind, the reason (级别依据, and the
    risk class or suitability columns changed), the rule and the inputs as read. Both are made
    a block at a time when asked (``logrows``): what they need of 客户's old cells is taken
    here, so the sheet's columns may be let go."""
    t, data, act = rating.table, rating.table.data, dec.act
    idx = logged_rows(rating, dec, diff, s17)
    li = act[idx]  # rows of the table
    lp = (t.rows[act] - 2)[idx]  # positions in the sheet's columns
    old_tiers = _old_column(data, diff.cols["current_tier"])
    befores = [stripped(old_tiers[p]) for p in lp.tolist()]
    defaults = vals.label_of[rating.held[li]].tolist()
    befores = [b or str(d) for b, d in zip(befores, defaults, strict=True)]
    old_risks = _old_column(data, diff.cols["risk_class"])
    risk_at = np.flatnonzero(diff.changed["risk_class"][idx])
    risk_old = [old_risks[p] for p in lp[risk_at].tolist()]
    olds17 = ({key: (data.columns[c - 1] if (c := diff.cols[key]) <= data.n_cols else None)
               for key in ("investor_type", "risk_level")} if s17 is not None else {})
    head = history.make_row(记录类型=history.CHANGE, **common)

    def make(a: int, b: int) -> list[list[str]]:
        lia, ja = li[a:b], idx[a:b]
        ids = [t.client_id[i] for i in lia.tolist()]
        afters = [vals.new_label[j] for j in ja.tolist()]
        kinds = [vals.kind_act[j] for j in ja.tolist()]
        inputs_used, reasons = _inputs_used(rating, lia), vals.basis.texts(ja)
        lo, hi = np.searchsorted(risk_at, [a, b]).tolist()
        for k, old_risk in zip(risk_at[lo:hi].tolist(), risk_old[lo:hi], strict=True):
            reasons[k - a] += (f"；风险类别 {show(old_risk) if old_risk else '（空）'}→"
                               f"{rating.risk[li[k]]}（{rating.risk_ref}）")
        if s17 is not None:
            _suitability_reasons(t, s17, diff, olds17, ja, lia, lp[a:b].tolist(),
                                 rating.risk[lia].astype(bool), reasons, inputs_used)
        batch = rating.batch
        rid = np.where(batch.rule_index[lia] >= 0, batch.rule_ids[lia], "").astype(str).tolist() \
            if len(lia) else []
        c0, c1 = _CHANGE_AT, _CHANGE_AT + len(_CHANGE_FIELDS)
        return [[*head[:c0], *f, *head[c1:]] for f in zip(
            ids, befores[a:b], afters, kinds, reasons, rid, inputs_used, strict=True)]

    rows = ChangeRows(len(idx), make, lp + 2)
    return Changes(rows), rows


def _inputs_used(rating: Rating, li: np.ndarray) -> list[str]:
    """输入数据 of the logged rows: each input as read (``exact``), both figures where an input
    is the larger of two columns, and 风险测评得分 where the row has a risk class."""
    t = rating.table
    in_names = [s.label for s in t.rulebook.inputs]
    out = ["；".join(parts) for parts in zip(
        *([f"{nm}={x}" for x in map(exact, t.inputs[q][li].tolist())]
          for q, nm in enumerate(in_names)), strict=True)] if in_names else [""] * len(li)
    for lo in t.larger_of.values():
        for k, i in enumerate(li.tolist()):
            out[k] += f"；{lo.logged(i)}"
    for k in np.flatnonzero(rating.risk[li].astype(bool)).tolist():
        out[k] += f"；风险测评得分={exact(float(t.risk_score[li[k]]))}"
    return out


def _suitability_reasons(t: Any, s17: Any, diff: ColumnDiff, olds17: dict[str, Any],
                         idx: np.ndarray, li: np.ndarray, lp: list[int], has_risk: np.ndarray,
                         reasons: list[str], inputs_used: list[str]) -> None:
    """Which scheme rated the row: the regime, and score / 2009 class / 最低类别."""
    for key in ("investor_type", "risk_level"):
        olds = olds17[key]
        for k in np.flatnonzero(diff.changed[key][idx]).tolist():
            old = stripped(olds[lp[k]]) if olds is not None else ""
            i = int(li[k])
            new = s17.investor_type[i] if key == "investor_type" else s17.risk_level[i]
            how = f"，{s17.scheme[i]}" if key == "risk_level" and s17.scheme[i] else ""
            reasons[k] += (f"；{suit17.OUTPUT_HEADERS[key]} {old or '（空）'}→{new}"
                           f"（{s17.ref}{how}）")
            if key == "risk_level" and np.isfinite(t.risk_score[i]) and not has_risk[k]:
                inputs_used[k] += f"；风险测评得分={exact(float(t.risk_score[i]))}"


def reject_rows(rejections: list[Rejection], common: dict[str, str]) -> list[list[str]]:
    """A 拒绝 row for each rejected row: its 客户编号, every problem, the values read."""
    return [history.make_row(记录类型=history.REJECT, **common, 客户编号=rj.client_id,
                             原因=rj.reason, 输入数据=rj.inputs_text) for rj in rejections]


# --------------------------------------------------------------------------------- chain_log

def tier_counts(ranks: np.ndarray, labels: list[str]) -> dict[str, int]:
    """Clients per tier (rank -1 is 无级别)."""
    got = np.bincount(ranks + 1, minlength=len(labels) + 1).tolist()
    return {**dict(zip(labels, got[1:], strict=True)), summary.NO_TIER: got[0]}


def shown_tiers(rating: Rating, dec: Decision, diff: ColumnDiff, label_of: np.ndarray
                ) -> list[str]:
    """The tier each client shows after the run: the new one where written (not on a formula
    cell), else the old text."""
    t, data, act = rating.table, rating.table.data, dec.act
    tier_col = diff.cols["current_tier"]
    old_tiers = _old_column(data, tier_col)
    shown = np.empty(len(t), dtype=object)
    shown[:] = texts(old_tiers if len(act) == data.n_data_rows
                     else [old_tiers[r - 2] for r in t.rows.tolist()])
    new_at = ~diff.formula_mask(tier_col)[t.rows[act]]
    shown[act[new_at]] = label_of[dec.new_rank[act[new_at]]]
    return shown.tolist()


def run_stats(res: RunResult, spec: RunSpec, n_logged: int, n_rejected: int, digest: str, *,
              forced: bool, backwards: str, s17: Any = None) -> str:
    """The run row's 统计: 记录数 (the rows that follow), the counts, the flags of the run, and
    级别摘要 (``history.tier_digest`` of what the sheet shows after it)."""
    return "；".join([f"记录数={n_logged}", f"客户={res.n_clients}", f"处理={res.n_in_scope}",
                     *(f"{k}={v}" for k, v in res.change_counts.items() if v),
                     f"拒绝={n_rejected}",
                     "评级前=" + "，".join(f"{k}:{v}" for k, v in res.before.items()),
                     "评级后=" + "，".join(f"{k}:{v}" for k, v in res.after.items()),
                     *(["强制重跑=是"] if forced else []),
                     *([f"{suit17.STAT_KEY}={s17.ref}"] if s17 is not None else []),
                     *(["期间倒退=强制执行"] if backwards else []),
                     *([f"开户晚于截止日={len(res.opened_after)}"] if res.opened_after else []),
                     f"{history.TIER_DIGEST}={digest}"])


@dataclass
class LogWrite:
    """What is written to 变更记录: ``new`` the rows appended (run row first, hash-chained), and
    ``rows`` from Excel row ``first_row`` (see ``Plan``); ``tail`` the last row's hash."""

    new: Sequence[list[str]]
    rows: Sequence[list[str]]
    first_row: int
    tail: str


def chain_log(log: history.LogState, run_row: list[str], rows: Sequence[list[str]]
              ) -> LogWrite:
    """The run row and ``rows`` chained onto the log's last row (``history.chain``, a block
    at a time: ``logrows.ChainedRows``); a log whose first row is not our header is rewritten
    whole: header, old rows, new rows."""
    if log.foreign is not None:
        whole = history.sheet_rows(log.foreign, [run_row, *rows])
        return LogWrite(whole[len(whole) - 1 - len(rows):], whole, 1,
                        whole[-1][history.N_FIELDS])
    new = ChainedRows(log.tail, [run_row], rows)
    if log.n_rows == 0:
        return LogWrite(new, WithHeader(new), 1, new.tail)
    return LogWrite(new, new, log.next_row, new.tail)


def count_result(res: RunResult, rating: Rating, dec: Decision, vals: Values,
                 spec: RunSpec) -> None:
    """The counts of the result: clients, rated, per tier before and after, per kind."""
    res.n_clients = len(rating.table)
    res.n_in_scope = len(dec.act)
    res.before = tier_counts(rating.held, spec.labels)
    res.after = tier_counts(dec.after_rank, spec.labels)
    got = Counter(vals.kind_act)
    res.change_counts = {k: got.get(k, 0) for k in summary.CHANGE_ROWS}


# ------------------------------------------------------------------------- summary, outcome

def summary_rows(res: RunResult, spec: RunSpec, n_rejected: int, tail: str) -> list[list[Any]]:
    """汇总: the counts per tier and per kind, the run's identity (with 变更记录's last hash),
    the clients in a known gap of the rules and the rows with a flagged field."""
    info = [("评级期间", spec.period.label), ("模式", f"{MODE_LABELS[spec.mode]}（{spec.mode}）"),
            ("规则版本", spec.rulebook.ref), ("运行编号", res.run_id), ("时间", res.time),
            ("操作员", spec.operator), ("客户数", res.n_clients), ("本次处理", res.n_in_scope),
            (summary.TAIL_LABEL, tail)]
    return summary.rows(spec.labels, res.before, res.after, res.change_counts, n_rejected,
                        info, sections=summary.run_sections(res.gaps, res.flags))


def outcome(res: RunResult, spec: RunSpec, done: list[str], n_rejected: int) -> bool:
    """The result's message and exit code; whether the run writes: a period+mode applied
    already (not forced) is a no-op that says so (exit 0); every row rejected writes nothing
    (exit 1); rows rejected exit 3; a dry run says what it would write."""
    per, m = spec.period, spec.mode
    if res.gaps and not (res.already_applied and not spec.force):  # (said by a run that runs)
        res.warnings.append(f"{len(res.gaps)} 位客户的数据落在规则 {spec.rulebook.ref} 的已知缺口上"
                            "（client-rating rules check 所列），按兜底规则评级：逐一列在“汇总”。")
    if res.already_applied and not spec.force:
        # (how to force is the front end's to say: --force, or the button's 是否强制重跑)
        res.message = (f"{per.label} 的{MODE_LABELS[m]}已执行过（运行编号 {done[-1]}），"
                       "本次未做任何更改。")
        res.noop = True
        res.exit_code = EXIT_OK
        return False
    if res.n_clients and res.n_in_scope == 0 and n_rejected:
        res.exit_code = EXIT_FATAL
        res.message = "所有客户行都有错误，未做任何更改。"
        return False
    res.exit_code = EXIT_REJECTED if n_rejected else EXIT_OK
    if spec.dry_run:
        res.message = f"试运行：将修改 {res.cells_written} 个单元格，未写入文件。"
        return False
    res.message = (f"已完成{MODE_LABELS[m]} {per.label}：处理 {res.n_in_scope} 位客户，"
                   f"修改 {res.cells_written} 个单元格，拒绝 {len(res.rejections)} 行。")
    return True
