"""Check 3, part one: every 变更 row of 变更记录 explained by the rules, and chained to the
client's previous one.

A row's 输入数据 re-evaluated with the run's rulebook version give its 规则编号 (amounts are
logged to the cent: a value within half a cent of a bound is accepted) and a computed tier from
which, with the mode and 变更前, its 变更后 and 级别变动 follow (:func:`explain_entry`). A run's
变更前 is the client's previous 变更后, else the tier was changed between the two runs outside
the log (:func:`check_entries`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rules import Rulebook, RuleError, RuleInputError, get_rulebook, versions
from rules.rerating import DOWNGRADE, FIRST, KEEP, KEPT_UP, OVERRIDE, UPGRADE
from rules.schedule import parse_period

from ..overrides import person_key
from .changelog import NO_TIER, Entry, Run
from .functions import parse_number
from .model import CHECK_POLICY, CHECK_TIER, SEVERE, WARN, Finding

_TOL = 0.005  # 输入数据 shows amounts rounded to 0.01 (rules.errors.show)
UNKNOWN_RULEBOOK = "找不到规则版本"


class Rulebooks:
    """The rulebook versions 变更记录 names, loaded once (None: no longer installed)."""

    def __init__(self, as_of: dt.date) -> None:
        self.as_of = as_of
        self.cache: dict[tuple[str, str], Rulebook | None] = {}

    def get(self, ref: str, period: str) -> Rulebook | None:
        key = (ref, period)
        if key not in self.cache:
            self.cache[key] = self._load(ref, period)
        return self.cache[key]

    def _load(self, ref: str, period: str) -> Rulebook | None:
        rid, _, ver = ref.partition("@")
        try:
            end = parse_period(period).end
        except (RuleError, ValueError):
            end = self.as_of
        try:
            rb = get_rulebook(rid, end)
            if rb.ref == ref:
                return rb
            for v in versions(rid):
                if v.version == ver:
                    rb = get_rulebook(rid, v.effective_from)
                    if rb.ref == ref:
                        return rb
        except RuleError:
            return None
        return None


def _label(rb: Rulebook, text: str) -> str | None:
    """A tier text as the rulebook's label; None for empty/无级别; raises for unknown text."""
    t = text.strip()
    if not t or t == NO_TIER:
        return None
    return rb.normalize_label(t)


def _inputs(rb: Rulebook, text: str) -> list[float]:
    got: dict[str, str] = {}
    for part in re.split("[；;]", text):
        k, sep, v = part.partition("=")
        if sep:
            got[k.strip()] = v.strip()
    out = []
    for spec in rb.inputs:
        raw = got.get(spec.label, got.get(spec.name))
        if raw is None:
            raise ValueError(f"输入数据中没有“{spec.label}”")
        x = parse_number(raw)
        if x is None:
            raise ValueError(f"输入数据“{spec.label}={raw}”不是数字")
        out.append(x)
    return out


def _possible(rb: Rulebook, rule_id: str, values: list[float]) -> Any:
    """The rule named ``rule_id`` if it can match values within the rounding of 输入数据."""
    for r in rb.rules:
        if r.id != rule_id:
            continue
        for c in r.conds:
            lo, hi = values[c.index] - _TOL, values[c.index] + _TOL
            if hi < c.lo or lo > c.hi or (hi == c.lo and not c.lo_incl) or (
                    lo == c.hi and not c.hi_incl):
                return None
        return r
    return None


def same_tier(a: str, b: str, rb: Rulebook) -> bool:
    """Two tier texts name the same tier in the names of ``rb`` (the rulebook of the run that
    wrote them: rules.vocabulary), e.g. 核心 and 核心客户; A类核心 and 核心客户 under
    private-fund."""
    a, b = a.strip(), b.strip()
    if a == b:
        return True
    if not a or not b or NO_TIER in (a, b):
        return (a or NO_TIER) == (b or NO_TIER)
    try:
        return rb.normalize_label(a) == rb.normalize_label(b)
    except RuleInputError:
        return False


def self_approved(e: Entry, hist_sheet: str) -> list[Finding]:
    """A 特别调整 whose approver is the operator of the run that applied it (警告: the job flags
    it, workbook/overrides.py; logs written before it did are caught here too)."""
    if e.get("级别变动") != OVERRIDE:
        return []
    m = re.search(r"审批人：([^，）)]*)", e.get("原因"))
    operator = e.get("操作员") or e.run.get("操作员")
    if m is None or not operator or person_key(m.group(1)) != person_key(operator):
        return []
    return [Finding(WARN, CHECK_POLICY, "override_self_approved", hist_sheet, f"A{e.row}",
                    e.client_id, m.group(1).strip(), "",
                    f"第 {e.row} 行的特别调整（{e.get('变更后')}）由该次运行的操作员 {operator} "
                    "自己审批：特别调整须经审批并留痕，请由他人复核")]


def entry_rulebook(e: Entry, rbs: Rulebooks) -> Rulebook | None:
    """The rulebook version a 变更 row names (its own 规则版本, else its run's)."""
    ref = e.get("规则版本") or e.run.get("规则版本")
    return rbs.get(ref, e.get("评级期间") or e.run.get("评级期间"))


def explain_entry(e: Entry, rbs: Rulebooks) -> tuple[str | None, str, str, str]:
    """(problem or None, computed label, rule id, rulebook ref) of one 变更 row."""
    run = e.run
    ref = e.get("规则版本") or run.get("规则版本")
    rb = rbs.get(ref, e.get("评级期间") or run.get("评级期间"))
    if rb is None:
        return f"{UNKNOWN_RULEBOOK} {ref!r}（已不在规则目录中）", "", "", ref
    try:
        values = _inputs(rb, e.get("输入数据"))
        d = rb.evaluate(*values)
    except (ValueError, RuleInputError) as err:
        msg = getattr(err, "message", None) or str(err)
        return f"输入数据无法按规则计算：{msg}", "", "", rb.ref
    rule = d.rule
    logged_rule = e.get("规则编号")
    if logged_rule and logged_rule != rule.id:
        alt = _possible(rb, logged_rule, values)
        if alt is None:
            return (f"按输入数据（{e.get('输入数据')}）计算命中 {rule.id}（{d.label}），"
                    f"而记录的规则编号为 {logged_rule}"), d.label, rule.id, rb.ref
        rule = alt
    computed = rb.outputs[rule.output].label
    try:
        before = _label(rb, e.get("变更前"))
        after = _label(rb, e.get("变更后"))
    except RuleInputError as err:
        return f"级别无法识别：{err.message}", computed, rule.id, rb.ref
    if after is None:
        return "变更后为空", computed, rule.id, rb.ref
    return change_problem(e, rb, computed, before, after), computed, rule.id, rb.ref


def change_problem(e: Entry, rb: Rulebook, computed: str, before: str | None,
                   after: str) -> str | None:
    """Why the 级别变动 of a 变更 row does not follow from its computed tier, 变更前 and 变更后
    (in ``rb``'s labels) and the run's mode; None when it does. 特别调整 needs a reason naming
    the new tier and an approver; 保留 (就高不就低) only in upgrade-only modes."""
    kind, mode = e.get("级别变动"), e.get("模式") or e.run.get("模式")
    rank = rb.rank
    upgrade_only = rb.upgrade_only and mode != "annual"
    problem = None
    if kind == OVERRIDE:
        reason = e.get("原因")
        m = re.search(r"审批人：([^，）)]*)", reason)
        if not reason.startswith(f"特别调整为{after}"):
            problem = f"特别调整的原因“{reason[:40]}”与变更后 {after} 不符"
        elif m is None or not m.group(1).strip():
            problem = "特别调整没有审批人"
    elif kind == UPGRADE:
        if before is None or after != computed or not rank(computed) < rank(before):
            problem = f"记为升级，但计算级别为 {computed}、变更前为 {before or NO_TIER}"
    elif kind == KEEP:
        if after != computed or before != computed:
            problem = f"记为维持，但计算级别为 {computed}、变更前为 {before or NO_TIER}"
    elif kind == KEPT_UP:
        if (not upgrade_only or before is None or after != before
                or not rank(computed) > rank(before)):
            problem = (f"记为保留（就高不就低），但模式为 {mode}、计算级别为 {computed}、"
                       f"变更前为 {before or NO_TIER}")
    elif kind == DOWNGRADE:
        if upgrade_only or before is None or after != computed or not rank(computed) > rank(before):
            problem = f"记为降级，但模式为 {mode}、计算级别为 {computed}、变更前为 {before or NO_TIER}"
    elif kind == FIRST:
        if before is not None or after != computed:
            problem = f"记为首次评级，但计算级别为 {computed}、变更前为 {before or NO_TIER}"
    else:
        problem = f"未知的级别变动：{kind!r}"
    if problem is None and after != computed and kind not in (OVERRIDE, KEPT_UP):
        problem = f"变更后 {after} 与计算级别 {computed} 不符"
    return problem


def entries_by_client(runs: list[Run]) -> dict[str, list[Entry]]:
    """Every 变更 row of the log per client, oldest first."""
    entries: dict[str, list[Entry]] = {}
    for run in runs:
        for e in run.changes:
            entries.setdefault(e.client_id, []).append(e)
    return entries


def check_entries(entries: dict[str, list[Entry]], rbs: Rulebooks, hist_sheet: str,
                  edited: frozenset[int], default_rb: Rulebook
                  ) -> tuple[list[Finding], dict[int, str]]:
    """Every logged change explained by the rules, and chained to the client's previous one:
    (findings, the rows whose 变更前 breaks the chain -> the previous 变更后, the tier the log
    supports). A record in ``edited`` (its hash says it was changed) supports nothing: no
    chain is judged through it."""
    findings: list[Finding] = []
    broken: dict[int, str] = {}
    for cid, es in entries.items():
        prev: Entry | None = None
        for e in es:
            findings += _explained(e, cid, rbs, hist_sheet)
            findings += self_approved(e, hist_sheet)
            if prev is not None and prev.run is e.run:
                findings.append(Finding(
                    SEVERE, CHECK_TIER, "entry_duplicate", hist_sheet, f"A{e.row}", cid,
                    explanation=f"同一次运行中该客户有两条变更记录（第 {prev.row}、{e.row} 行）："
                                "插入或重复的记录"))
            elif prev is not None and (prev.row in edited or e.row in edited):
                pass  # (an edited record supports nothing: it is reported as edited)
            elif prev is not None and not same_tier(e.get("变更前"), prev.get("变更后"),
                                                    entry_rulebook(e, rbs) or default_rb):
                broken[e.row] = prev.get("变更后")
                findings.append(Finding(
                    SEVERE, CHECK_TIER, "tier_changed_between_runs", hist_sheet, f"I{e.row}",
                    cid, e.get("变更前"), prev.get("变更后"),
                    f"第 {prev.row} 行记该客户变更后为 {prev.get('变更后')}，而下一次运行（第 {e.row} "
                    f"行，{e.get('评级期间')}）读到的当前级别为 {e.get('变更前') or NO_TIER}："
                    "两次运行之间当前级别在变更记录之外被改动"))
            prev = e
    return findings, broken


def _explained(e: Entry, cid: str, rbs: Rulebooks, hist_sheet: str) -> list[Finding]:
    problem, computed, rule_id, ref = explain_entry(e, rbs)
    if problem is None:
        return []
    if problem.startswith(UNKNOWN_RULEBOOK):
        return [Finding(WARN, CHECK_TIER, "entry_unverifiable", hist_sheet, f"A{e.row}", cid,
                        e.get("变更后"), "", f"第 {e.row} 行无法核对：{problem}")]
    return [Finding(SEVERE, CHECK_TIER, "entry_unexplained", hist_sheet, f"A{e.row}", cid,
                    e.get("变更后"), computed or "", f"第 {e.row} 行的{e.get('级别变动') or '变更'}"
                    f"不能由规则解释：{problem}", rule_id, ref)]
