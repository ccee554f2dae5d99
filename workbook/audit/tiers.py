"""Check 3 of the audit: the tiers in force against the history and the rules, per client:

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

The first two points live in ``entries``, the digest's search and replay in ``digest``;
:func:`check_tiers` runs the steps in order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from rules import Rulebook

from .. import history
from ..schema import ClientTable, validate
from ..xlsxio import col_letter
from .changelog import Entry, Run, processed
from .digest import explain_digest, replay
from .entries import Rulebooks, check_entries, entries_by_client, entry_rulebook, same_tier
from .model import CHECK_TIER, INFO, SEVERE, WARN, Finding

#: an uncertain client of the digest check: (客户编号, table row or None when the row is gone,
#: the tier shown, the alternative the log or the rules support)
Variable = tuple[str, int | None, str, str]
#: what the rules give a client without 变更 row now: (tier or None, the run that last
#: processed it, rule id, rulebook ref)
Computed = tuple[str | None, Run | None, str, str]
#: a client without 变更 row whose tier the rules do not give now: as :data:`Computed`, the
#: tier "" where its figures cannot be rated
Candidate = tuple[str, Run | None, str, str]


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


@dataclass
class Shown:
    """The 当前级别 of each client against its last 变更后: tiers another name of the logged one
    (findings), clients showing another tier (``flagged``: table row -> its last entry), and
    clients with a tier and no 变更 row (``no_entry``: table rows)."""

    findings: list[Finding]
    flagged: dict[int, Entry]
    no_entry: list[int]
    id_rows: dict[str, list[int]]


@dataclass
class Differences:
    """What may differ from the last run's 级别摘要: ``variables`` (see :data:`Variable`) and
    the pairs taken as shown (``fixed``); ``candidates`` are the clients without 变更 row whose
    tier the rules do not give now, ``missing`` the clients of the log whose row is gone."""

    flagged: dict[int, Entry]
    candidates: dict[int, Candidate]
    missing: dict[str, Entry]
    variables: list[Variable]
    fixed: list[tuple[str, str]]


@dataclass(frozen=True)
class DigestVerdict:
    """What the last run's 级别摘要 settles: ``chosen``, the variables whose alternative makes
    the sheet match it (empty: the sheet matches as it is; None: no explanation, or no digest);
    ``edited``, rows of 变更记录 whose hash says they were changed."""

    last_run: Run
    chosen: set[int] | None
    hist_sheet: str
    edited: frozenset[int]
    note_chain: str  # appended to the findings where the chain is broken

    @property
    def last_note(self) -> str:
        return f"{self.last_run.label}记录的级别摘要"


def check_tiers(tc: TierContext, runs: list[Run], hist_sheet: str, as_of: dt.date,
                chain_ok: bool, edited: frozenset[int] = frozenset()
                ) -> tuple[list[Finding], list[str]]:
    """Check 3: (findings, notes). ``edited``: rows of 变更记录 whose hash says they were changed
    (check_chain): no expectation is taken from them — where the last run's 级别摘要 shows the
    client's tier cell as that run left it, the edited record is what was altered, not the cell;
    without a digest to tell, the cell is not blamed (the record itself is reported already)."""
    rbs = Rulebooks(as_of)
    entries = entries_by_client(runs)
    findings, broken = check_entries(entries, rbs, hist_sheet, edited, tc.table.rulebook)
    shown = compare_shown(tc, entries, rbs)
    findings += shown.findings
    candidates, never_rated = unlogged_tiers(tc, runs, shown.no_entry, rbs, hist_sheet)
    findings += never_rated
    notes: list[str] = []
    if not runs:
        findings += _no_history(tc, shown.no_entry, candidates)
        return findings, notes
    diffs = differences(tc, entries, shown, candidates)
    last_run = runs[-1]
    digest = last_run.stats.get(history.TIER_DIGEST)
    chosen = None
    if digest is None:
        notes.append(f"最近一次运行（{last_run.label}）没有记录级别摘要，无法整体核对当前级别。")
    else:
        chosen = explain_digest(diffs.fixed, diffs.variables, digest)
    verdict = DigestVerdict(last_run, chosen, hist_sheet, edited,
                            "" if chain_ok else "（变更记录的哈希链已断开，结论以现存记录为准）")
    findings += report_differences(tc, diffs, verdict, notes)
    if digest is None:
        return findings, notes
    if chosen is None:
        findings.append(_digest_mismatch(tc, verdict, digest))
        return findings, notes
    if not chosen:
        notes.append(f"级别摘要与最近一次运行一致：自{last_run.label}以来没有任何当前级别被改动。")
    else:
        notes.append(f"级别摘要核对：与最近一次运行的差异完全由上面列出的 {len(chosen)} 处改动解释，"
                     "其余客户的当前级别未被改动。")
    if chain_ok and len(runs) > 1:
        findings += _replay_earlier(tc, runs, diffs, chosen, entries, broken, hist_sheet, notes)
    return findings, notes


def compare_shown(tc: TierContext, entries: dict[str, list[Entry]], rbs: Rulebooks) -> Shown:
    """Each client's 当前级别 against its last 变更后 (clients whose 客户编号 is empty or
    repeated, and formula cells, are left out)."""
    t = tc.table
    ids = t.client_id
    row_of = t.rows.tolist()
    col = col_letter(tc.tier_col)
    id_rows: dict[str, list[int]] = {}
    for i, cid in enumerate(ids):
        id_rows.setdefault(cid, []).append(i)
    out = Shown([], {}, [], id_rows)
    for i in range(len(t)):
        cid = ids[i]
        r = row_of[i]
        if not cid or len(id_rows[cid]) > 1 or r in tc.formula_rows:
            continue
        shown = tc.tiers[i]
        es = entries.get(cid)
        if not es:
            if shown:
                out.no_entry.append(i)
            continue
        last = es[-1]
        want = last.get("变更后")
        if shown == want:
            continue
        if shown and same_tier(shown, want, entry_rulebook(last, rbs) or t.rulebook):
            out.findings.append(Finding(
                INFO, CHECK_TIER, "tier_alias", t.data.name, f"{col}{r}", cid, shown, want,
                f"当前级别写作简称 {shown}，最近一条变更记录（第 {last.row} 行）记为 {want}（同一级别）"))
            continue
        out.flagged[i] = last
    return out


def unlogged_tiers(tc: TierContext, runs: list[Run], no_entry: list[int], rbs: Rulebooks,
                   hist_sheet: str) -> tuple[dict[int, Candidate],
                                             list[Finding]]:
    """Clients with a tier and no 变更 row: the run that last processed them found it computed.
    (those whose tier the rules do not give now -> (tier computed now or "", run, rule id,
    rulebook ref); ``tier_never_rated`` findings for the clients every run rejected)."""
    t = tc.table
    ids = t.client_id
    candidates: dict[int, Candidate] = {}
    rejected_always: list[int] = []
    if no_entry:
        computed = _computed_now(tc, runs, no_entry, rbs)
        for i in no_entry:
            got, run, rule_id, ref = computed[i]
            if run is None and runs and any(ids[i] in rn.rejects for rn in runs):
                rejected_always.append(i)
                continue
            if got is not None and same_tier(tc.tiers[i], got,
                                             (run and rbs.get(ref, run.get("评级期间")))
                                             or t.rulebook):
                continue
            candidates[i] = (got or "", run, rule_id, ref)
    col = col_letter(tc.tier_col)
    row_of = t.rows.tolist()
    findings: list[Finding] = []
    for i in rejected_always:
        rows = "、".join(str(rn.rejects[ids[i]]) for rn in runs if ids[i] in rn.rejects)
        findings.append(Finding(
            INFO, CHECK_TIER, "tier_never_rated", t.data.name, f"{col}{row_of[i]}", ids[i],
            tc.tiers[i], "", f"该客户每次重评级都因数据有误被拒绝（“{hist_sheet}”第 {rows} 行），"
            "当前级别是原有的值，未经本系统评级"))
    return candidates, findings


def _no_history(tc: TierContext, no_entry: list[int],
                candidates: dict[int, Candidate]) -> list[Finding]:
    if not no_entry:
        return []
    col = col_letter(tc.tier_col)
    data = tc.table.data
    return [Finding(
        WARN, CHECK_TIER, "no_history", data.name, f"{col}2:{col}{data.n_rows}",
        found=f"{len(no_entry)} 位客户有当前级别", supported="",
        explanation=(f"工作簿没有重评级记录：{len(no_entry)} 位客户的当前级别无法由变更记录证明"
                     f"（其中 {len(candidates)} 位与按现行规则计算的级别不符）"))]


def differences(tc: TierContext, entries: dict[str, list[Entry]], shown: Shown,
                candidates: dict[int, Candidate]) -> Differences:
    """The uncertain clients of the digest check, and the pairs taken as shown."""
    ids = tc.table.client_id
    missing = {cid: es[-1] for cid, es in entries.items() if cid not in shown.id_rows}
    variables: list[Variable] = []
    for i, e in shown.flagged.items():
        variables.append((ids[i], i, tc.tiers[i], e.get("变更后")))
    for i, (got, *_r) in candidates.items():
        variables.append((ids[i], i, tc.tiers[i], got))
    for cid, e in missing.items():
        variables.append((cid, None, "", e.get("变更后")))
    fixed = [(ids[i], tc.tiers[i]) for i in range(len(tc.table))
             if i not in shown.flagged and i not in candidates]
    return Differences(shown.flagged, candidates, missing, variables, fixed)


def report_differences(tc: TierContext, diffs: Differences, verdict: DigestVerdict,
                       notes: list[str]) -> list[Finding]:
    """One finding per uncertain client, worded by what the digest settled (a note instead
    where an edited record and no digest leave nothing to judge)."""
    findings: list[Finding] = []
    for k, (cid, i, shown, alt) in enumerate(diffs.variables):
        took_alt = verdict.chosen is not None and k in verdict.chosen
        if i is None:  # a client of the log whose row is gone
            e = diffs.missing[cid]
            when = ("：级别摘要证明它在最近一次运行之后被删除" if took_alt else
                    "：最近一次运行时它已不在客户表中" if verdict.chosen is not None else "")
            findings.append(Finding(
                WARN, CHECK_TIER, "client_missing", tc.table.data.name, "", cid, "", alt,
                f"变更记录中有该客户（第 {e.row} 行，变更后 {alt}），但客户表中已没有这一行{when}"))
        elif i in diffs.flagged:
            found = _flagged_finding(tc, i, diffs.flagged[i], shown, alt, took_alt, verdict)
            if isinstance(found, Finding):
                findings.append(found)
            else:
                notes.append(found)
        else:
            findings.append(_candidate_finding(tc, i, diffs.candidates[i], shown, took_alt,
                                               verdict))
    return findings


def _flagged_finding(tc: TierContext, i: int, e: Entry, shown: str, alt: str, took_alt: bool,
                     verdict: DigestVerdict) -> Finding | str:
    """A client showing another tier than its last 变更后 (a Finding, or a note)."""
    t = tc.table
    cid, r = t.client_id[i], int(t.rows[i])
    sheet, col, hist_sheet = t.data.name, col_letter(tc.tier_col), verdict.hist_sheet
    chosen, last_note = verdict.chosen, verdict.last_note
    where = (f"最近一条变更记录（“{hist_sheet}”第 {e.row} 行，{e.get('评级期间')} "
             f"{e.get('级别变动')}）记为 {alt}")
    if chosen is not None and not took_alt and (e.run is verdict.last_run
                                                or e.row in verdict.edited):
        return Finding(
            SEVERE, CHECK_TIER, "entry_altered", hist_sheet, f"J{e.row}", cid, alt, shown,
            f"{last_note}证明运行后该客户的当前级别是 {shown or '（空）'}，而第 {e.row} 行记为 "
            f"{alt}：这条记录在运行后被改动（客户表中的级别未被改动）")
    if chosen is None and e.row in verdict.edited:
        return (f"{cid} 的最近一条变更记录（第 {e.row} 行）已被改动，且没有级别摘要可核对："
                f"不据此判断其当前级别 {shown or '（空）'}。")
    proof = (f"；换回 {alt} 后与{last_note}一致" if took_alt else
             f"；{last_note}证明它在最近一次运行后未再改动：改动发生在第 {e.row} 行的运行"
             "之后、最近一次运行之前（或者这条记录被改动）" if chosen is not None else "")
    if not shown:
        return Finding(SEVERE, CHECK_TIER, "tier_cleared", sheet, f"{col}{r}",
                       cid, "", alt, f"当前级别为空，而{where}{proof}{verdict.note_chain}",
                       e.get("规则编号"), e.get("规则版本"))
    return Finding(
        SEVERE, CHECK_TIER, "tier_typed_over", sheet, f"{col}{r}", cid, shown, alt,
        f"当前级别 {shown} 没有变更记录支持：{where}，此后没有记录该客户级别变动的运行"
        f"——该单元格被手工改动{proof}{verdict.note_chain}", e.get("规则编号"), e.get("规则版本"))


def _candidate_finding(tc: TierContext, i: int, candidate: Candidate,
                       shown: str, took_alt: bool, verdict: DigestVerdict) -> Finding:
    """A client without 变更 row whose tier the rules do not give now."""
    got, run, rule_id, ref = candidate
    if verdict.chosen is None:
        return _unproven(tc, i, got, run, rule_id, ref, verdict.hist_sheet, WARN)
    if took_alt:
        t = tc.table
        return Finding(
            SEVERE, CHECK_TIER, "tier_typed_over", t.data.name,
            f"{col_letter(tc.tier_col)}{int(t.rows[i])}", t.client_id[i], shown, got,
            f"当前级别 {shown} 没有变更记录，按规则计算应为 {got}；换回 {got} 后与{verdict.last_note}"
            "一致——该单元格在运行后被手工改动", rule_id, ref)
    return _figures_changed(tc, i, got, run, rule_id, ref, verdict.last_run)


def _digest_mismatch(tc: TierContext, verdict: DigestVerdict, digest: str) -> Finding:
    """No explanation makes the sheet match the last run's 级别摘要."""
    t = tc.table
    n = len(t)
    n_run = verdict.last_run.stats.get("客户")
    rows_changed = n_run is not None and n_run.isdigit() and int(n_run) != n
    now = history.tier_digest(t.client_id, tc.tiers)
    return Finding(
        WARN if rows_changed else SEVERE, CHECK_TIER,
        "client_rows_changed" if rows_changed else "tier_digest", t.data.name,
        f"{col_letter(tc.tier_col)}1", found=now[:16] + "…", supported=digest[:16] + "…",
        explanation=(
            f"{verdict.last_note}与客户表当前的级别不符，且逐户核对无法解释"
            + (f"：运行时有 {n_run} 行客户，现在有 {n} 行——有客户行被增删"
               if rows_changed else "：有当前级别在运行后被改动或客户行被替换，无法定位到具体客户")
            + verdict.note_chain))


def _replay_earlier(tc: TierContext, runs: list[Run], diffs: Differences, chosen: set[int],
                    entries: dict[str, list[Entry]], broken: dict[int, str], hist_sheet: str,
                    notes: list[str]) -> list[Finding]:
    """The earlier runs' digests, replaying the sheet as the last run left it backwards."""
    t = tc.table
    after_ids = list(t.client_id) + [cid for cid, i, _s, _a in diffs.variables if i is None]
    after = list(tc.tiers)
    extra: list[str] = []
    for k, (_cid, i, shown, alt) in enumerate(diffs.variables):
        value = alt if k in chosen else shown
        if i is None:
            extra.append(value)
        else:
            after[i] = value
    open_of = dict(zip(t.client_id, t.open_date, strict=True))
    return replay(runs, after_ids, after + extra, entries, broken, hist_sheet, notes, open_of)


def _computed_now(tc: TierContext, runs: list[Run], rows: list[int], rbs: Rulebooks
                  ) -> dict[int, Computed]:
    """For each table row: (tier computed now from its figures, the run that last processed
    it, rule id, rulebook ref), with that run's rulebook version."""
    t = tc.table
    out: dict[int, Computed] = {}
    by_rb: dict[str, list[tuple[int, Run | None, Rulebook]]] = {}
    for i in rows:
        run = next((rn for rn in reversed(runs)
                    if processed(rn, t.client_id[i], t.open_date[i])), None)
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
