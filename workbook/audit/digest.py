"""Check 3, the 级别摘要: each run records the sha256 of every (客户编号, 当前级别) pair after it
(``history.tier_digest``). :func:`explain_digest` finds the smallest set of explanations of the
differences that makes the sheet match the last run's digest; :func:`replay` checks the earlier
runs' digests by undoing the logged changes run by run."""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
from itertools import combinations
from typing import Any

from .. import history
from .changelog import NO_TIER, Entry, Run, processed
from .model import CHECK_TIER, WARN, Finding

#: At most this many explanations of a 级别摘要 difference are tried (2 per uncertain client).
MAX_DIGEST_TRIALS = 4096


def explain_digest(fixed: list[tuple[str, str]], variables: list[tuple[str, Any, str, str]],
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


def replay(runs: list[Run], ids: list[str], tiers: list[str], entries: dict[str, list[Entry]],
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
            first = value and not any(processed(runs[j], cid, open_of.get(cid))
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
