"""The first steps of a run, each a function of what the step before it gave:

``settle`` (mode, period, operator, the rulebook in force) → ``read_table`` (客户 validated into
typed columns, the 2017 suitability regime, the inputs' hash) → ``evaluate`` (the rulebook on
every row, the risk class, the service and visit tables) → ``apply_mode`` (which rows the mode
rates, overrides, 就高不就低) → ``new_values`` (the value of every output column of each rated
row). ``workbook.run.write`` takes it from there (which cells change, the log rows, 汇总).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rules import Rulebook, RuleError, RuleInputError, get_rulebook
from rules.errors import show
from rules.rerating import KEPT_UP, MODE_LABELS, OVERRIDE, Mode, parse_mode
from rules.rerating import apply_mode as upgrade_only
from rules.schedule import Period, period_of_cell
from rules.verify import known_gaps as verifier_gaps

from .. import overrides, summary
from .. import suitability2017 as suit17
from ..schema import OUTPUT_BY_KEY, ClientTable, Rejection, WorkbookError, reason_text, validate
from ..xlsxio import SheetData
from .lazy import Basis, Reasons, release
from .periods import annual_scope

_PERIOD_HINT = {"quarterly": "季度（如 2026Q3）", "annual": "年度（如 2026）",
                "new-accounts": "月份（如 2026-11）"}


# ------------------------------------------------------------------------------------ settle

@dataclass(frozen=True)
class RunSpec:
    """What a run is: its mode and period, the rulebook in force on the period's end date, the
    operator, the run's time (to the second), and how it runs."""

    mode: Mode
    period: Period
    rulebook: Rulebook
    operator: str
    now: dt.datetime
    force: bool = False
    dry_run: bool = False
    suitability: str | None = None  # a suitability regime id (csrc-2017), or None

    @property
    def labels(self) -> list[str]:
        """The rulebook's tiers, highest first."""
        return [o.label for o in self.rulebook.outputs]


def settle(period: str | int | float | dt.date | Period, mode: str, rulebook: str = "brokerage",
           operator: str = "", now: dt.datetime | None = None, *, force: bool = False,
           dry_run: bool = False, suitability: str | None = None) -> RunSpec:
    """Check the settings (a period of the mode's kind, an operator) and take the rulebook in
    force on the period's end date; WorkbookError or RuleError (Chinese) otherwise."""
    m: Mode = parse_mode(mode)
    per = period_of_cell(period)  # (a text, or a cell's number or date as 控制台 holds it)
    if per.mode != m:
        raise WorkbookError(f"评级周期 {per.label} 不适用于{MODE_LABELS[m]}：请填写{_PERIOD_HINT[m]}。")
    operator = (operator or "").strip()
    if not operator:
        raise WorkbookError("请填写操作员（--operator）。")
    return RunSpec(mode=m, period=per, rulebook=get_rulebook(rulebook, per.end), operator=operator,
                   now=(now or dt.datetime.now()).replace(microsecond=0), force=force,
                   dry_run=dry_run, suitability=suitability)


# -------------------------------------------------------------------------------- read_table

@dataclass
class Table:
    """客户 as a run reads it: the typed columns (``ClientTable``), the suitability regime's
    rating (None: not selected) and the columns it writes, the hash of everything read."""

    t: ClientTable
    s17: Any  # suitability2017.Rating | None
    s17_cols: dict[str, int]
    in_hash: str

    @property
    def data(self) -> SheetData:
        return self.t.data

    def run_id(self, now: dt.datetime) -> str:
        return f"{now:%Y%m%d-%H%M%S}-{self.in_hash[:6]}"


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
            joined = "\x1f".join(texts)
        except TypeError:  # None, dates: each distinct value turned into text once
            as_text = {v: "" if v is None else str(v) for v in set(texts)}
            joined = "\x1f".join(map(as_text.__getitem__, texts))
        h.update(joined.encode())
        h.update(b"\n")
    return h.hexdigest()


def read_table(clients: SheetData, spec: RunSpec, *, consume: bool = False) -> Table:
    """Validate 客户 (``schema.validate``: bad rows rejected, bad secondary fields flagged);
    rate the suitability regime where selected. ``consume``: let go of the columns read
    (their values are in the table now) except the output columns' old values."""
    per = spec.period
    t = validate(clients, spec.rulebook, as_of=per.end)
    data = t.data
    s17 = suit17.rate_clients(data, t.rows, t.client_id, per.end, spec.suitability,
                              skip=~t.ok) if spec.suitability else None
    s17_cols = suit17.find_columns(data.header, {k: (h,) for k, h in suit17.OUTPUT_HEADERS.items()})
    if consume:
        outs = {c for k, c in t.cols.items()
                if k in OUTPUT_BY_KEY or k in ("annual_tier", "override_date", "computed_tier")}
        outs |= set(s17_cols.values())
        release(data, lambda c: c not in outs)
    in_hash = input_hash(t, spec.mode, per.label)
    if s17 is not None:  # the regime and what it read (its figures are in 适当性依据)
        in_hash = hashlib.sha256("\x1f".join(
            [in_hash, s17.ref, *map(str, s17.basis), *map(str, s17.problems)]).encode()).hexdigest()
    return Table(t, s17, s17_cols, in_hash)


# ---------------------------------------------------------------------------------- evaluate

@dataclass
class Rating:
    """The rulebook on every row of the table (index ``i`` = the table's row ``i``).

    ``computed``: the rank the rules give (-1: no rule, or the row is rejected); ``held``: the
    tier held, 当前级别 else 年度级别 (-1: none); ``base``: ``held`` of the rows not rejected (the
    base of 就高不就低); ``risk``: 风险类别 of the rows with a valid score (None elsewhere), by
    ``risk_ref``; ``service``[rank, opened this year] and ``visits``[rank] (rank -1, the last
    row: 无级别, nothing)."""

    table: ClientTable
    batch: Any  # rules' Batch: rule_index, output_index, reasons, rule_ids…
    ok: np.ndarray
    computed: np.ndarray
    held: np.ndarray
    base: np.ndarray
    risk: np.ndarray
    risk_ref: str
    service: np.ndarray
    visits: np.ndarray
    #: ``risk`` as indices into ``risk_labels`` (-1: None), for a caller that keeps codes
    risk_codes: np.ndarray
    risk_labels: tuple[str, ...]


def evaluate(t: ClientTable, spec: RunSpec) -> Rating:
    """Evaluate the rulebook on the whole table (``Rulebook.evaluate_many``); a row the rules
    refuse (an input out of range) is rejected with every problem of the row. Then the risk
    class of every row with a score, and the service product and visits of each tier."""
    rb = spec.rulebook
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
    held = np.where(t.current >= 0, t.current, t.annual).astype(np.int32)
    codes, risk_labels, risk_ref = risk_codes(t, ok, spec.period.end)
    service, visits = service_tables(rb)
    risk = np.array([*risk_labels, None], dtype=object)[codes]  # (-1: None)
    return Rating(t, batch, ok, computed, held, np.where(ok, held, -1), risk, risk_ref,
                  service, visits, codes, risk_labels)


def risk_codes(t: ClientTable, ok: np.ndarray, as_of: dt.date
               ) -> tuple[np.ndarray, tuple[str, ...], str]:
    """风险类别 of every row not rejected with a valid score, as the index of its class in the
    scheme's labels (-1: none), those labels, and the ref of the scheme that rated them (named
    in 变更记录; "" and no labels when no row has a score)."""
    has_score = np.isfinite(t.risk_score) & ok
    if not has_score.any():
        return np.full(len(t), -1, np.int64), (), ""
    rc = get_rulebook("risk-class", as_of)
    rbatch = rc.evaluate_many([np.where(has_score, t.risk_score, 50.0)])
    good = has_score & (rbatch.rule_index >= 0)
    labels = tuple(o.label for o in rc.outputs)
    return np.where(good, rbatch.output_index, -1).astype(np.int64), labels, rc.ref


def service_tables(rb: Rulebook) -> tuple[np.ndarray, np.ndarray]:
    """服务产品 by [rank, opened this year] and 年拜访次数 by [rank]; the last row (rank -1, 无级别)
    and a tier the rulebook gives none for hold None (nothing written)."""
    labels = [o.label for o in rb.outputs]

    def table(fn: Callable[[str], Any]) -> dict[str, Any]:
        out = {}
        for lab in labels:
            try:
                out[lab] = fn(lab)
            except (RuleInputError, KeyError, ValueError):
                out[lab] = None
        return out

    def product(flag: bool) -> Callable[[str], Any]:
        return lambda lab: rb.service_product(lab, flag)

    svc = {flag: table(product(flag)) for flag in (False, True)}
    visits = table(lambda lab: float(rb.visits_per_year(lab)))
    service = np.array([[svc[False][lab], svc[True][lab]] for lab in labels] + [[None, None]],
                       dtype=object)
    return service, np.array([visits[lab] for lab in labels] + [None], dtype=object)


# -------------------------------------------------------------------------------- apply_mode

@dataclass
class Decision:
    """What the mode makes of the rating. ``scope``: the rows the mode rates; ``active``: those
    of them not rejected, at ``act`` (the rated rows: every list of ``Values`` is aligned with
    it); ``new_rank``/``kinds``: the tier in force and the kind of change (升级, 保留, 特别调整…)
    of every row; ``after_rank``: the tier each row shows after the run; ``review``: the
    overrides (``overrides.OverrideReview``); ``opened_after``: an annual run's accounts opened
    after the data date (row, 客户编号, 开户日期), left to the new-accounts run."""

    scope: np.ndarray
    active: np.ndarray
    act: np.ndarray
    new_rank: np.ndarray
    after_rank: np.ndarray
    kinds: np.ndarray
    kind_codes: np.ndarray  # ``kinds`` as indices into CHANGE_KINDS (-1: '')
    review: overrides.OverrideReview
    opened_after: list[tuple[int, str, dt.date]] = field(default_factory=list)


def mode_scope(t: ClientTable, spec: RunSpec) -> np.ndarray:
    """The rows a mode rates: quarterly every row; annual the accounts opened on or before the
    data date (``periods.annual_scope``); new-accounts those opened in the month, and the rows
    whose 开户日期 cannot be read (so that they are reported)."""
    per = spec.period
    if spec.mode == "annual":
        return annual_scope(per, t)
    if spec.mode != "new-accounts":
        return np.ones(len(t), bool)
    scope = np.array([d is not None and per.start <= d <= per.end for d in t.open_date], bool)
    od = t.cols.get("open_date")
    for i, rej in t.rejected.items():  # an unreadable 开户日期 cannot be scoped: report it
        if od is not None and t.data.header[od - 1] in rej.columns:
            scope[i] = True
    return scope


def apply_mode(rating: Rating, spec: RunSpec) -> Decision:
    """The mode on the rating (``rules.rerating.apply_mode``): quarterly and new-accounts keep
    the higher of the tier held and the computed one (就高不就低), annual takes the computed
    one; an override in force wins (``overrides.review``: dates, expiry, the annual rating)."""
    t = rating.table
    scope = mode_scope(t, spec)
    opened_after = [] if spec.mode != "annual" else [  # (out of annual scope: a date is read)
        (int(t.rows[i]), t.client_id[i], d) for i in np.flatnonzero(~scope).tolist()
        if (d := t.open_date[i]) is not None]
    active = scope & rating.ok
    review = overrides.review(t, spec.rulebook, spec.period, spec.mode, spec.operator,
                              spec.now.date(), active)
    outcome = upgrade_only(spec.rulebook, spec.mode, rating.computed, rating.base,
                           np.where(rating.ok & review.use, t.override, -1))
    new_rank = outcome.rank.astype(np.int32)
    return Decision(scope=scope, active=active, act=np.flatnonzero(active), new_rank=new_rank,
                    after_rank=np.where(active, new_rank, rating.held), kinds=outcome.change,
                    review=review, opened_after=opened_after, kind_codes=outcome.code)


# -------------------------------------------------------------------------------- new_values

@dataclass
class Values:
    """The new value of each output column for the rated rows (lists aligned with
    ``Decision.act``; None leaves a cell as it is), by output key, in the order written."""

    values: dict[str, Any]
    label_of: np.ndarray  # rank -> label (rank -1: 无级别)
    new_label: list[str]
    kind_act: list[str]
    basis: Basis
    gaps: list[tuple[int, str, str, str]]

    @property
    def keys(self) -> list[str]:
        return list(self.values)


def new_values(rating: Rating, dec: Decision, spec: RunSpec, s17: Any = None) -> Values:
    """当前级别, 级别变动, 级别依据, 服务产品, 年拜访次数, 风险类别, 评级期间, 规则版本 of each rated
    row; 年度级别 in an annual run; the suitability columns, 细分类别 and 分级分类 where they
    apply; 调整日期 of overrides applied without one; 计算级别 where the sheet has it as values."""
    t, rb, act = rating.table, spec.rulebook, dec.act
    labels = spec.labels
    label_of = np.array([*labels, summary.NO_TIER], dtype=object)  # rank -1 -> 无级别
    new_label = label_of[dec.new_rank[act]].tolist()
    kind_act = dec.kinds[act].tolist()
    basis = _basis(rating, dec, spec, label_of, new_label, kind_act)
    opened = np.array([d is not None and d.year == spec.period.end.year for d in t.open_date],
                      bool)
    rank_act = dec.new_rank[act]
    values: dict[str, Any] = {
        "current_tier": new_label,
        "change": kind_act,
        "basis": basis,
        "service": rating.service[rank_act, opened[act].astype(np.intp)].tolist(),
        "visits": rating.visits[rank_act].tolist(),
        "risk_class": rating.risk[act].tolist(),
        "period": [spec.period.label] * len(act),
        "rulebook_ref": [rb.ref] * len(act),
    }
    if s17 is not None:  # 投资者类别, 风险等级, 适当性依据 (suitability2017)
        act_l = act.tolist()
        values["investor_type"] = [s17.investor_type[i] for i in act_l]
        values["risk_level"] = [s17.risk_level[i] for i in act_l]
        values["suitability_basis"] = [s17.basis[i] for i in act_l]
    values.update(class_columns(rating, dec, spec))
    if dec.review.stamped:  # 调整日期 of overrides applied without one: this run's date
        values["override_date"] = [dec.review.stamped.get(i) for i in act.tolist()]
    ct = t.cols.get("computed_tier")
    data = t.data
    if ct is not None and not (ct <= data.n_cols and data.formula_mask(ct).any()):
        # 计算级别 where the sheet has it as values; a column of formulas (the earlier per-row
        # layout) is Excel's to compute: a value in a row it has no formula on would go stale
        # when the figures change
        values["computed_tier"] = np.array([*labels, None], dtype=object)[
            rating.computed[act]].tolist()
    if spec.mode == "annual":
        values = {"annual_tier": new_label, **values}
    gaps = known_gaps(rb, t, act, new_label, kind_act)
    return Values(values, label_of, new_label, kind_act, basis, gaps)


def _basis(rating: Rating, dec: Decision, spec: RunSpec, label_of: np.ndarray,
           new_label: list[str], kind_act: list[str]) -> Basis:
    """级别依据 of the rated rows: the rule's reason (made when written), after the notes of an
    override not applied and of an input read as the larger of two columns; its own text for
    an override applied, a tier kept (就高不就低) and a new account's default."""
    t, act = rating.table, dec.act
    kinds_act = dec.kinds[act]
    special = (kinds_act == OVERRIDE) | (kinds_act == KEPT_UP)
    if spec.mode == "new-accounts":
        special |= rating.base[act] < 0
    special_idx = np.flatnonzero(special)
    texts: dict[int, str] = {}
    reasoner = Reasons(rating.batch, list(t.larger_of.values()), dec.review.notes)
    for k, calc in zip(special_idx.tolist(), reasoner.reasons(act[special_idx]), strict=True):
        i = int(act[k])  # (the others' basis is the rule's reason)
        kind = kind_act[k]
        if kind == OVERRIDE:
            texts[k] = f"{dec.review.basis(t, i, new_label[k], spec.operator)}；按规则计算：{calc}"
        elif kind == KEPT_UP:
            texts[k] = f"{calc}；就高不就低，保留{label_of[rating.base[i]]}"
        else:
            texts[k] = f"新开户默认{spec.labels[-1]}，就高不就低：{calc}"
    return Basis(reasoner, act, texts)


def known_gaps(rb: Any, t: ClientTable, act: np.ndarray, new_label: list[str],
               kind_act: list[str]) -> list[tuple[int, str, str, str]]:
    """The rated clients whose figures fall into a gap ``client-rating rules check`` reports
    (brokerage: 资产权益 exactly 10,000,000 is neither > 1000万 nor < 1000万 and only the
    catch-all rule takes it), with the clauses that leave the gap and the outcome."""
    if not len(act):
        return []
    try:
        hits = verifier_gaps(rb, [col[act] for col in t.inputs])
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


def class_columns(rating: Rating, dec: Decision, spec: RunSpec) -> dict[str, list[Any]]:
    """细分类别 (the sub-class, where the rulebook's rules name one: private-fund A类核心/B类核心,
    seed 001 第八条) and 分级分类 (the 12 classes, tier·risk class, where the rulebook says
    ``client_classes``: seed 001 第六条) of the rated rows; None leaves a cell as it is.

    The sub-class is the computed one where the tier in force is the computed tier; an override
    or a tier cell naming one (特别调整级别 A类核心) gives it; a tier kept above the computed
    one (就高不就低) keeps the cell, and a tier without sub-classes clears it."""
    rb, t, act = spec.rulebook, rating.table, dec.act
    out: dict[str, list[Any]] = {}
    labels = spec.labels
    new = dec.new_rank[act]
    if rb.vocabulary.sub_classes:
        sub = np.asarray(np.where(new == rating.computed[act], rating.batch.sub_classes[act],
                                  None), dtype=object)
        no_subs = np.array([lab not in rb.vocabulary.sub_classes for lab in labels], bool)
        held = np.full(len(t), "", dtype=object)
        for key, ranks in (("annual_tier", t.annual), ("current_tier", t.current)):
            if key in t.tier_sub:  # (当前级别 before 年度级别: the base's own text)
                named = np.array(t.tier_sub[key], dtype=object)
                held = np.where(ranks >= 0, named, held)
        over = np.asarray(dec.kinds[act]) == OVERRIDE
        named_ov = t.tier_sub.get("override_tier")
        for j in np.flatnonzero(over).tolist():
            name_ov = named_ov[int(act[j])] if named_ov else ""
            sub[j] = name_ov or (sub[j] if sub[j] is not None else "")
        kept = np.fromiter((x is None for x in sub), bool, count=len(sub)) & ~over
        for j in np.flatnonzero(kept).tolist():  # above the computed tier (就高不就低), or
            i = int(act[j])  # new accounts' default
            sub[j] = held[i] if held[i] and new[j] == rating.base[i] else (
                "" if no_subs[new[j]] else None)
        out["sub_class"] = sub.tolist()
    if rb.data.client_classes:
        lab = np.array(labels, dtype=object)[new]
        r = rating.risk[act]
        out["client_class"] = [f"{a}·{b}" if b else "" for a, b in zip(lab, r, strict=True)]
    return out
