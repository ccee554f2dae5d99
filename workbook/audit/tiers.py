"""Checks 3 and 4 of the audit: the tiers in force against the history, the history's chain.

Check 4 (history integrity): :func:`workbook.history.verify_chain` over 变更记录 with the tail
hash 汇总 records; each problem names the row, and adjacent problems are told apart (a row
edited, a copy inserted, two rows swapped, rows of a run deleted, the last run deleted).

Check 3 (tiers in force), per client:

* every 变更 row is explained by the rules: its 输入数据 re-evaluated with the run's rulebook
  version give its 规则编号 and a computed tier that, with the mode, 变更前 and (for 特别调整) an
  approver, yields its 变更后 and 级别变动;
* consecutive 变更 rows of one client chain: a run's 变更前 is the previous 变更后, else the
  tier was changed between the two runs outside the log;
* the 当前级别 shown equals the client's last 变更后; a client with no 变更 row shows the tier the
  rules compute (a run that leaves a processed client's tier as it is writes no row only when that
  tier is the computed one);
* each run records ``级别摘要`` — the digest of every (客户编号, 当前级别) pair after the run. The
  last one is compared with the sheet; earlier ones with the sheet replayed backwards through the
  logged changes. A difference the per-client checks explain is located; one they cannot
  (a row deleted, a tier typed over for a client whose figures also changed) is reported as such.

Figures may change after a run (staff update them daily): a client without a 变更 row whose
computed tier now differs, but whose tier the digest proves untouched, is information (提示).
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from rules import Rulebook, RuleError, RuleInputError, get_rulebook, versions
from rules.rerating import DOWNGRADE, FIRST, KEEP, KEPT_UP, OVERRIDE, UPGRADE
from rules.schedule import parse_period

from .. import history, summary
from ..overrides import person_key
from ..schema import ClientTable, validate
from ..xlsxio import SheetData, col_letter
from .functions import parse_number
from .model import CHECK_HISTORY, CHECK_POLICY, CHECK_TIER, INFO, SEVERE, WARN, Finding

H = {name: k for k, name in enumerate(history.HEADER)}
NO_TIER = summary.NO_TIER
_TOL = 0.005  # 输入数据 shows amounts rounded to 0.01 (rules.errors.show)
_UNKNOWN_RULEBOOK = "找不到规则版本"


@dataclass
class Entry:
    row: int  # Excel row in 变更记录
    run: Run
    fields: list[str]

    def get(self, name: str) -> str:
        return self.fields[H[name]].strip()

    @property
    def client_id(self) -> str:
        return self.get("客户编号")


@dataclass
class Run:
    row: int
    fields: list[str]
    changes: list[Entry] = field(default_factory=list)
    rejects: dict[str, int] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.fields[H[name]].strip()

    @property
    def stats(self) -> dict[str, str]:
        return history.stats_of(self.get("统计"))

    @property
    def label(self) -> str:
        return f"运行 {self.get('运行编号')}（{self.get('评级期间')} {self.get('模式')}，变更记录第 {self.row} 行）"


def sheet_rows(data: SheetData) -> list[list[Any]]:
    return [[data.value(r, c) for c in range(1, data.n_cols + 1)]
            for r in range(1, data.n_rows + 1)]


def parse_log(rows: Sequence[Sequence[Any]]) -> tuple[list[list[str]], int, list[Run]]:
    """(data rows, Excel row of the first data row, runs with their rows)."""
    has_header = bool(rows) and bool(rows[0]) and history.cell_text(rows[0][0]) == history.HEADER[0]
    data = history.data_rows(rows)
    first = 2 if has_header else 1
    runs: list[Run] = []
    for k, r in enumerate(data):
        excel_row = first + k
        kind = r[H["记录类型"]].strip()
        if kind == history.RUN:
            runs.append(Run(excel_row, r))
        elif runs and kind == history.CHANGE:
            runs[-1].changes.append(Entry(excel_row, runs[-1], r))
        elif runs and kind == history.REJECT:
            runs[-1].rejects[r[H["客户编号"]].strip()] = excel_row
    return data, first, runs


# ------------------------------------------------------------------------------ check 4


def check_chain(sheet: str, rows: list[list[str]], first: int, tail: str | None,
                summary_sheet: str | None, tail_cell: str) -> list[Finding]:
    problems = history.verify_chain(rows, tail, first)
    findings: list[Finding] = []
    if not problems:
        return findings
    stored = [history.cell_text(r[history.N_FIELDS]) if len(r) > history.N_FIELDS else ""
              for r in rows]
    fields = [[history.cell_text(v) for v in r[:history.N_FIELDS]] for r in rows]
    bad = {r for r, what in problems if what.startswith("哈希不符")}
    missing = {r: what for r, what in problems if "缺少" in what}
    # the run row owning each data row, to tell "row edited" from "rows of its run deleted"
    owner: dict[int, int] = {}
    run_row = 0
    for k, f in enumerate(fields):
        if f[H["记录类型"]] == history.RUN:
            run_row = first + k
        owner[first + k] = run_row
    seen: set[int] = set()
    for r, what in problems:
        k = r - first
        if what.startswith("哈希不符"):
            if r in seen:
                continue
            prev = stored[k - 1] if k > 0 else ""
            if (r + 1 in bad and k + 1 < len(rows)
                    and history.row_hash(prev, fields[k + 1]) == stored[k + 1]
                    and history.row_hash(stored[k + 1], fields[k]) == stored[k]):
                seen.update((r, r + 1))
                after = ""
                # the row after the pair was chained onto the pair's second hash: it breaks too
                if (r + 2 in bad and k + 2 < len(rows)
                        and history.row_hash(stored[k], fields[k + 2]) == stored[k + 2]):
                    seen.add(r + 2)
                    after = f"；第 {r + 2} 行因此也对不上，其内容未被改动"
                findings.append(Finding(
                    SEVERE, CHECK_HISTORY, "history_reordered", sheet, f"A{r}:A{r + 1}",
                    fields[k][H["客户编号"]], explanation=(
                        f"第 {r} 行与第 {r + 1} 行的顺序被调换（两行的哈希各自与对方的位置相符）"
                        + after)))
                continue
            dup = [first + j for j, h in enumerate(stored) if h == stored[k] and j != k]
            if dup and stored[k]:
                findings.append(Finding(
                    SEVERE, CHECK_HISTORY, "history_inserted", sheet, f"A{r}",
                    fields[k][H["客户编号"]], explanation=(
                        f"第 {r} 行是第 {'、'.join(map(str, dup))} 行的副本：插入的记录"
                        "（哈希链在此断开）")))
                continue
            if owner.get(r) in missing or (r - 1 >= first and owner.get(r - 1) in missing):
                why = (f"第 {r} 行的哈希与前一行对不上：其前面的记录被删除"
                       "（所在运行的记录数也不符，见同一运行的发现）")
                kind = "history_deleted"
            else:
                why = (f"第 {r} 行的哈希与其内容不符：本行被修改或替换，或者其前面的记录被删除"
                       "（哈希链自此断开）")
                kind = "history_edited"
            findings.append(Finding(SEVERE, CHECK_HISTORY, kind, sheet, f"A{r}",
                                    fields[k][H["客户编号"]] if 0 <= k < len(fields) else "",
                                    explanation=why))
        elif "缺少" in what:
            stats = history.stats_of(fields[k][H["统计"]]) if 0 <= k < len(fields) else {}
            findings.append(Finding(
                SEVERE, CHECK_HISTORY, "history_deleted", sheet, f"A{r}",
                found=what, supported=f"记录数={stats.get('记录数', '?')}",
                explanation=f"第 {r} 行的运行记录了 {stats.get('记录数', '?')} 行明细，"
                            f"{what}"))
        elif "末行哈希" in what:
            where = f"“{summary_sheet}”{tail_cell}" if summary_sheet else "汇总"
            findings.append(Finding(
                SEVERE, CHECK_HISTORY, "history_tail", sheet, f"A{r}",
                found=stored[-1] if stored else "", supported=tail,
                explanation=(f"变更记录最后一行的哈希与{where}记录的末行哈希不符："
                             "最后的记录或整次运行被删除或替换")))
        else:
            findings.append(Finding(SEVERE, CHECK_HISTORY, "history_unknown_type", sheet,
                                    f"A{r}", explanation=f"第 {r} 行：{what}"))
    return findings


def tail_cell(rows: Sequence[Sequence[Any]]) -> str:
    for k, r in enumerate(rows, start=1):
        if len(r) >= 2 and r[0] == summary.TAIL_LABEL:
            return f"B{k}"
    return ""


# ------------------------------------------------------------------------------ check 3


def logged_scores(runs: list[Run]) -> dict[str, tuple[float, int]]:
    """Per client, the 风险测评得分 of its latest 变更 row that records one (score, Excel row)."""
    out: dict[str, tuple[float, int]] = {}
    for run in runs:
        for e in run.changes:
            m = re.search(r"风险测评得分=([^；;]+)", e.get("输入数据"))
            if m:
                x = parse_number(m.group(1))
                if x is not None:
                    out[e.client_id] = (x, e.row)
    return out


class _Rulebooks:
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


def explain_entry(e: Entry, rbs: _Rulebooks) -> tuple[str | None, str, str, str]:
    """(problem or None, computed label, rule id, rulebook ref) of one 变更 row."""
    run = e.run
    ref = e.get("规则版本") or run.get("规则版本")
    rb = rbs.get(ref, e.get("评级期间") or run.get("评级期间"))
    if rb is None:
        return f"{_UNKNOWN_RULEBOOK} {ref!r}（已不在规则目录中）", "", "", ref
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
    kind, mode = e.get("级别变动"), e.get("模式") or run.get("模式")
    try:
        before = _label(rb, e.get("变更前"))
        after = _label(rb, e.get("变更后"))
    except RuleInputError as err:
        return f"级别无法识别：{err.message}", computed, rule.id, rb.ref
    if after is None:
        return "变更后为空", computed, rule.id, rb.ref
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
    return problem, computed, rule.id, rb.ref


@dataclass
class TierContext:
    table: ClientTable
    tier_col: int
    tiers: list[str]  # 当前级别 text per table row (as the job reads it)
    formula_rows: set[int]


def _cell_text(v: Any) -> str:
    return history.cell_text(v).strip()


def tier_context(table: ClientTable) -> TierContext | None:
    col = table.cols.get("current_tier")
    if col is None:
        return None
    data = table.data
    src = data.columns[col - 1] if col <= data.n_cols else []
    tiers = [_cell_text(src[r - 2]) if r - 2 < len(src) else "" for r in table.rows.tolist()]
    formula_rows = {r for (r, c) in data.formulas if c == col}
    return TierContext(table, col, tiers, formula_rows)


def check_tiers(tc: TierContext, runs: list[Run], hist_sheet: str, as_of: dt.date,
                chain_ok: bool, edited: frozenset[int] = frozenset()
                ) -> tuple[list[Finding], list[str]]:
    """``edited``: rows of 变更记录 whose hash says they were changed (check_chain): no
    expectation is taken from them — where the last run's 级别摘要 shows the client's tier cell
    as that run left it, the edited record is what was altered, not the cell; without a digest
    to tell, the cell is not blamed (the record itself is reported already)."""
    t = tc.table
    data = t.data
    sheet = data.name
    col = col_letter(tc.tier_col)
    findings: list[Finding] = []
    notes: list[str] = []
    rbs = _Rulebooks(as_of)
    entries: dict[str, list[Entry]] = {}
    for run in runs:
        for e in run.changes:
            entries.setdefault(e.client_id, []).append(e)
    note_chain = "" if chain_ok else "（变更记录的哈希链已断开，结论以现存记录为准）"

    # every logged change explained by the rules, and chained to the previous one
    broken: dict[int, str] = {}  # entry row -> the previous 变更后 (the tier the log supports)
    for cid, es in entries.items():
        prev: Entry | None = None
        for e in es:
            problem, computed, rule_id, ref = explain_entry(e, rbs)
            if problem is not None and problem.startswith(_UNKNOWN_RULEBOOK):
                findings.append(Finding(
                    WARN, CHECK_TIER, "entry_unverifiable", hist_sheet, f"A{e.row}", cid,
                    e.get("变更后"), "", f"第 {e.row} 行无法核对：{problem}"))
            elif problem is not None:
                findings.append(Finding(
                    SEVERE, CHECK_TIER, "entry_unexplained", hist_sheet, f"A{e.row}", cid,
                    e.get("变更后"), computed or "", f"第 {e.row} 行的{e.get('级别变动') or '变更'}"
                    f"不能由规则解释：{problem}", rule_id, ref))
            findings += _self_approved(e, hist_sheet)
            if prev is not None and prev.run is e.run:
                findings.append(Finding(
                    SEVERE, CHECK_TIER, "entry_duplicate", hist_sheet, f"A{e.row}", cid,
                    explanation=f"同一次运行中该客户有两条变更记录（第 {prev.row}、{e.row} 行）："
                                "插入或重复的记录"))
            elif prev is not None and (prev.row in edited or e.row in edited):
                pass  # (an edited record supports nothing: it is reported as edited)
            elif prev is not None and not _same_tier(e.get("变更前"), prev.get("变更后"),
                                                     _entry_rulebook(e, rbs) or t.rulebook):
                broken[e.row] = prev.get("变更后")
                findings.append(Finding(
                    SEVERE, CHECK_TIER, "tier_changed_between_runs", hist_sheet, f"I{e.row}",
                    cid, e.get("变更前"), prev.get("变更后"),
                    f"第 {prev.row} 行记该客户变更后为 {prev.get('变更后')}，而下一次运行（第 {e.row} "
                    f"行，{e.get('评级期间')}）读到的当前级别为 {e.get('变更前') or NO_TIER}："
                    "两次运行之间当前级别在变更记录之外被改动"))
            prev = e

    # the tier each client shows, against the log and the rules
    ids = t.client_id
    n = len(t)
    row_of = t.rows.tolist()
    id_rows: dict[str, list[int]] = {}
    for i, cid in enumerate(ids):
        id_rows.setdefault(cid, []).append(i)
    no_entry: list[int] = []
    flagged: dict[int, Entry] = {}  # shows another tier than its last 变更后
    for i in range(n):
        cid = ids[i]
        r = row_of[i]
        if not cid or len(id_rows[cid]) > 1 or r in tc.formula_rows:
            continue
        shown = tc.tiers[i]
        es = entries.get(cid)
        if not es:
            if shown:
                no_entry.append(i)
            continue
        last = es[-1]
        want = last.get("变更后")
        if shown == want:
            continue
        if shown and _same_tier(shown, want, _entry_rulebook(last, rbs) or t.rulebook):
            findings.append(Finding(
                INFO, CHECK_TIER, "tier_alias", sheet, f"{col}{r}", cid, shown, want,
                f"当前级别写作简称 {shown}，最近一条变更记录（第 {last.row} 行）记为 {want}（同一级别）"))
            continue
        flagged[i] = last

    # clients with a tier and no 变更 row: the run that last processed them found it computed
    candidates: dict[int, tuple[str, Run | None, str, str]] = {}
    rejected_always: list[int] = []
    if no_entry:
        computed = _computed_now(tc, runs, no_entry, rbs)
        for i in no_entry:
            got, run, rule_id, ref = computed[i]
            if run is None and runs and any(ids[i] in rn.rejects for rn in runs):
                rejected_always.append(i)
                continue
            if got is not None and _same_tier(tc.tiers[i], got,
                                              (run and rbs.get(ref, run.get("评级期间")))
                                              or t.rulebook):
                continue
            candidates[i] = (got or "", run, rule_id, ref)
    for i in rejected_always:
        rows = "、".join(str(rn.rejects[ids[i]]) for rn in runs if ids[i] in rn.rejects)
        findings.append(Finding(
            INFO, CHECK_TIER, "tier_never_rated", sheet, f"{col}{row_of[i]}", ids[i],
            tc.tiers[i], "", f"该客户每次重评级都因数据有误被拒绝（“{hist_sheet}”第 {rows} 行），"
            "当前级别是原有的值，未经本系统评级"))

    if not runs:
        if no_entry:
            findings.append(Finding(
                WARN, CHECK_TIER, "no_history", sheet, f"{col}2:{col}{data.n_rows}",
                found=f"{len(no_entry)} 位客户有当前级别", supported="",
                explanation=(f"工作簿没有重评级记录：{len(no_entry)} 位客户的当前级别无法由变更记录证明"
                             f"（其中 {len(candidates)} 位与按现行规则计算的级别不符）")))
        return findings, notes

    # the last run's 级别摘要: which explanation of the differences makes the sheet match it?
    last_run = runs[-1]
    stats = last_run.stats
    digest = stats.get(history.TIER_DIGEST)
    missing = {cid: es[-1] for cid, es in entries.items() if cid not in id_rows}
    variables: list[tuple[str, int | None, str, str]] = []  # (id, table row, shown, alternative)
    for i, e in flagged.items():
        variables.append((ids[i], i, tc.tiers[i], e.get("变更后")))
    for i, (got, *_r) in candidates.items():
        variables.append((ids[i], i, tc.tiers[i], got))
    for cid, e in missing.items():
        variables.append((cid, None, "", e.get("变更后")))
    fixed = [(ids[i], tc.tiers[i]) for i in range(n) if i not in flagged and i not in candidates]
    chosen = None
    if digest is None:
        notes.append(f"最近一次运行（{last_run.label}）没有记录级别摘要，无法整体核对当前级别。")
    else:
        chosen = _explain_digest(fixed, variables, digest)
    last_note = f"{last_run.label}记录的级别摘要"
    for k, (cid, i, shown, alt) in enumerate(variables):
        took_alt = chosen is not None and k in chosen
        if i is None:  # a client of the log whose row is gone
            e = missing[cid]
            when = ("：级别摘要证明它在最近一次运行之后被删除" if took_alt else
                    "：最近一次运行时它已不在客户表中" if chosen is not None else "")
            findings.append(Finding(
                WARN, CHECK_TIER, "client_missing", sheet, "", cid, "", alt,
                f"变更记录中有该客户（第 {e.row} 行，变更后 {alt}），但客户表中已没有这一行{when}"))
            continue
        r = row_of[i]
        if i in flagged:
            e = flagged[i]
            where = (f"最近一条变更记录（“{hist_sheet}”第 {e.row} 行，{e.get('评级期间')} "
                     f"{e.get('级别变动')}）记为 {alt}")
            if chosen is not None and not took_alt and (e.run is last_run or e.row in edited):
                findings.append(Finding(
                    SEVERE, CHECK_TIER, "entry_altered", hist_sheet, f"J{e.row}", cid, alt, shown,
                    f"{last_note}证明运行后该客户的当前级别是 {shown or '（空）'}，而第 {e.row} 行记为 "
                    f"{alt}：这条记录在运行后被改动（客户表中的级别未被改动）"))
                continue
            if chosen is None and e.row in edited:
                notes.append(f"{cid} 的最近一条变更记录（第 {e.row} 行）已被改动，且没有级别摘要可核对："
                             f"不据此判断其当前级别 {shown or '（空）'}。")
                continue
            proof = (f"；换回 {alt} 后与{last_note}一致" if took_alt else
                     f"；{last_note}证明它在最近一次运行后未再改动：改动发生在第 {e.row} 行的运行"
                     "之后、最近一次运行之前（或者这条记录被改动）" if chosen is not None else "")
            if not shown:
                findings.append(Finding(SEVERE, CHECK_TIER, "tier_cleared", sheet, f"{col}{r}",
                                        cid, "", alt, f"当前级别为空，而{where}{proof}{note_chain}",
                                        e.get("规则编号"), e.get("规则版本")))
            else:
                findings.append(Finding(
                    SEVERE, CHECK_TIER, "tier_typed_over", sheet, f"{col}{r}", cid, shown, alt,
                    f"当前级别 {shown} 没有变更记录支持：{where}，此后没有记录该客户级别变动的运行"
                    f"——该单元格被手工改动{proof}{note_chain}", e.get("规则编号"), e.get("规则版本")))
            continue
        got, run, rule_id, ref = candidates[i]
        if chosen is None:
            findings.append(_unproven(tc, i, got, run, rule_id, ref, hist_sheet, WARN))
        elif took_alt:
            findings.append(Finding(
                SEVERE, CHECK_TIER, "tier_typed_over", sheet, f"{col}{r}", ids[i], shown, got,
                f"当前级别 {shown} 没有变更记录，按规则计算应为 {got}；换回 {got} 后与{last_note}"
                "一致——该单元格在运行后被手工改动", rule_id, ref))
        else:
            findings.append(_figures_changed(tc, i, got, run, rule_id, ref, last_run))

    if digest is None:
        return findings, notes
    if chosen is None:
        n_run = stats.get("客户")
        rows_changed = n_run is not None and n_run.isdigit() and int(n_run) != n
        now = history.tier_digest(ids, tc.tiers)
        findings.append(Finding(
            WARN if rows_changed else SEVERE, CHECK_TIER,
            "client_rows_changed" if rows_changed else "tier_digest", sheet,
            f"{col}1", found=now[:16] + "…", supported=digest[:16] + "…",
            explanation=(
                f"{last_note}与客户表当前的级别不符，且逐户核对无法解释"
                + (f"：运行时有 {n_run} 行客户，现在有 {n} 行——有客户行被增删"
                   if rows_changed else "：有当前级别在运行后被改动或客户行被替换，无法定位到具体客户")
                + note_chain)))
        return findings, notes
    if not chosen:
        notes.append(f"级别摘要与最近一次运行一致：自{last_run.label}以来没有任何当前级别被改动。")
    else:
        notes.append(f"级别摘要核对：与最近一次运行的差异完全由上面列出的 {len(chosen)} 处改动解释，"
                     "其余客户的当前级别未被改动。")

    # earlier runs: replay the sheet backwards through the logged changes
    if chain_ok and len(runs) > 1:
        after_ids = list(ids) + [cid for cid, i, _s, _a in variables if i is None]
        after = list(tc.tiers)
        extra: list[str] = []
        for k, (_cid, i, shown, alt) in enumerate(variables):
            value = alt if k in chosen else shown
            if i is None:
                extra.append(value)
            else:
                after[i] = value
        open_of = dict(zip(t.client_id, t.open_date, strict=True))
        findings += _replay(runs, after_ids, after + extra, entries, broken, hist_sheet, notes,
                            open_of)
    return findings, notes


#: At most this many explanations of a 级别摘要 difference are tried (2 per uncertain client).
MAX_DIGEST_TRIALS = 4096


def _explain_digest(fixed: list[tuple[str, str]], variables: list[tuple[str, Any, str, str]],
                    digest: str) -> set[int] | None:
    """The smallest set of ``variables`` taking their alternative value for which the
    (客户编号, 当前级别) pairs give ``digest`` (see ``history.tier_digest``); None if none does
    (or too many would have to be tried). Each variable's id is unique among all pairs."""

    pairs = sorted((c, t) for c, t in fixed if t)
    keys = [c for c, _t in pairs]
    chunks = [f"{c}\x1f{t}\n".encode() for c, t in pairs]
    order = sorted(range(len(variables)), key=lambda k: variables[k][0])
    cuts = [bisect.bisect_left(keys, variables[k][0]) for k in order]
    segments = [b"".join(chunks[a:b]) for a, b in zip([0, *cuts], [*cuts, len(chunks)],
                                                         strict=True)]
    size = sum(map(len, segments)) + 1
    budget = min(MAX_DIGEST_TRIALS, max(64, 4_000_000_000 // size))
    trials = 0

    def matches(alt: set[int]) -> bool:
        h = hashlib.sha256(segments[0])
        for pos, k in enumerate(order):
            cid, _i, shown, other = variables[k]
            value = other if k in alt else shown
            if value:
                h.update(f"{cid}\x1f{value}\n".encode())
            h.update(segments[pos + 1])
        return h.hexdigest() == digest

    for m in range(len(variables) + 1):
        for combo in combinations(range(len(variables)), m):
            trials += 1
            if trials > budget:
                return None
            if matches(set(combo)):
                return set(combo)
    return None


def _same_tier(a: str, b: str, rb: Rulebook) -> bool:
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


def _self_approved(e: Entry, hist_sheet: str) -> list[Finding]:
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


def _entry_rulebook(e: Entry, rbs: _Rulebooks) -> Rulebook | None:
    """The rulebook version a 变更 row names (its own 规则版本, else its run's)."""
    ref = e.get("规则版本") or e.run.get("规则版本")
    return rbs.get(ref, e.get("评级期间") or e.run.get("评级期间"))


def _processed(run: Run, cid: str, open_date: dt.date | None) -> bool:
    if cid in run.rejects:
        return False
    if run.get("模式") == "new-accounts":
        try:
            per = parse_period(run.get("评级期间"))
        except (RuleError, ValueError):
            return False
        return open_date is not None and per.start <= open_date <= per.end
    return True


def _computed_now(tc: TierContext, runs: list[Run], rows: list[int], rbs: _Rulebooks
                  ) -> dict[int, tuple[str | None, Run | None, str, str]]:
    """For each table row: (tier computed now from its figures, the run that last processed
    it, rule id, rulebook ref), with that run's rulebook version."""
    t = tc.table
    out: dict[int, tuple[str | None, Run | None, str, str]] = {}
    by_rb: dict[str, list[tuple[int, Run | None, Rulebook]]] = {}
    for i in rows:
        run = next((rn for rn in reversed(runs)
                    if _processed(rn, t.client_id[i], t.open_date[i])), None)
        rb = (rbs.get(run.get("规则版本"), run.get("评级期间")) if run is not None else None) \
            or t.rulebook
        by_rb.setdefault(rb.ref, []).append((i, run, rb))
    for group in by_rb.values():
        rb = group[0][2]
        tt = t if rb.id == t.rulebook.id else validate(t.data, rb, as_of=rbs.as_of)
        idx = np.array([i for i, _, _ in group], dtype=np.intp)
        batch = rb.evaluate_many([col[idx] for col in tt.inputs])
        ok = (tt.ok[idx] & batch.ok).tolist()
        labels, rule_ids = batch.labels.tolist(), batch.rule_ids.tolist()
        for k, (i, run, _rb) in enumerate(group):
            if ok[k]:
                out[i] = (str(labels[k]), run, str(rule_ids[k]), rb.ref)
            else:
                out[i] = (None, run, "", rb.ref)
    return out


def _figures_changed(tc: TierContext, i: int, got: str, run: Run | None, rule_id: str, ref: str,
                     last_run: Run) -> Finding:
    t = tc.table
    r = int(t.rows[i])
    by = run.label if run is not None else "任何运行"
    text = (f"当前级别 {tc.tiers[i]} 自{last_run.label}以来未被改动（级别摘要一致）；"
            f"{by}处理该客户时没有变更记录，即当时按规则计算即为 {tc.tiers[i]}。"
            + (f"按现在的数据计算为 {got}：数据在运行后已更新，下次评级将重新计算"
               if got else "现在的数据无法评级（数据有误）"))
    return Finding(INFO, CHECK_TIER, "figures_changed", t.data.name,
                   f"{col_letter(tc.tier_col)}{r}", t.client_id[i], tc.tiers[i], got, text,
                   rule_id, ref)


def _unproven(tc: TierContext, i: int, got: str, run: Run | None, rule_id: str, ref: str,
              hist_sheet: str, severity: str) -> Finding:
    t = tc.table
    r = int(t.rows[i])
    by = f"{run.label}处理该客户时没有变更记录" if run is not None else "没有任何运行处理过该客户"
    return Finding(severity, CHECK_TIER, "tier_unsupported", t.data.name,
                   f"{col_letter(tc.tier_col)}{r}", t.client_id[i], tc.tiers[i], got,
                   f"当前级别 {tc.tiers[i]} 没有变更记录支持（{by}），按现在的数据计算为 "
                   f"{got or '（无法评级）'}；级别摘要也无法证明它未被改动：可能是手工改动，"
                   "也可能是数据在运行后已更新，请人工核对", rule_id, ref)


def _replay(runs: list[Run], ids: list[str], tiers: list[str], entries: dict[str, list[Entry]],
            broken: dict[int, str], hist_sheet: str, notes: list[str],
            open_of: dict[str, dt.date | None]) -> list[Finding]:
    """Check each earlier run's 级别摘要 against the sheet replayed backwards through the logged
    changes (a change is undone by putting back its 变更前).

    One thing the log cannot tell: when a run processes a client for the first time and its
    当前级别 cell was empty, 变更前 shows the 年度级别 it used as base. Such entries are tried
    both ways (all as logged, all empty); if neither matches, the earlier digests are not
    checked (a note says so) rather than reported."""
    findings: list[Finding] = []
    pos: dict[str, list[int]] = {}
    for k, cid in enumerate(ids):
        pos.setdefault(cid, []).append(k)
    state = list(tiers)
    checked = 0
    for k in range(len(runs) - 1, 0, -1):
        run = runs[k]
        ambiguous: list[int] = []
        for e in reversed(run.changes):
            before = broken.get(e.row, e.get("变更前"))
            value = "" if before in ("", NO_TIER) else before
            cid = e.client_id
            first = value and not any(_processed(runs[j], cid, open_of.get(cid))
                                      for j in range(k))
            for p in pos.get(cid, []):
                state[p] = value
                if first:
                    ambiguous.append(p)
        prev = runs[k - 1]
        digest = prev.stats.get(history.TIER_DIGEST)
        if digest is None:
            break
        if history.tier_digest(ids, state) == digest:
            checked += 1
            continue
        alt = list(state)
        for p in ambiguous:
            alt[p] = ""
        if ambiguous and history.tier_digest(ids, alt) == digest:
            state = alt
            checked += 1
            continue
        if ambiguous:
            notes.append(f"{prev.label}及更早运行的级别摘要未核对：{run.label}首次处理的 "
                         f"{len(ambiguous)} 位客户中，变更前可能是当前级别，也可能是当前级别为空时"
                         "采用的年度级别，变更记录无法区分。")
            break
        findings.append(Finding(
            WARN, CHECK_TIER, "tier_digest", hist_sheet, f"A{run.row}",
            explanation=(f"{prev.label}记录的级别摘要，与按变更记录从现在倒推回该次运行后的级别不符："
                         f"在它与{run.label}之间，有当前级别在变更记录之外被改动，或客户行被增删")))
        break
    if checked:
        notes.append(f"逐次倒推核对了此前 {checked} 次运行的级别摘要，均一致。")
    return findings
