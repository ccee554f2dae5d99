"""Check 4 of the audit: the hash chain of 变更记录 and the tail hash 汇总 records.

:func:`workbook.history.verify_chain` says which rows break the chain; each problem becomes a
finding naming its row, and adjacent problems are told apart: a row edited, a copy inserted, two
rows swapped, rows of a run deleted, the last rows or run deleted (the tail hash).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import history
from .changelog import H
from .model import CHECK_HISTORY, SEVERE, Finding


@dataclass(frozen=True)
class ChainRows:
    """The data rows of 变更记录 as the chain sees them: the hash stored in each row, its
    fields as text, and the run row owning each row (Excel rows; ``first`` is the first's)."""

    first: int
    stored: list[str]
    fields: list[list[str]]
    owner: dict[int, int]

    @classmethod
    def of(cls, rows: list[list[str]], first: int) -> ChainRows:
        stored = [history.cell_text(r[history.N_FIELDS]) if len(r) > history.N_FIELDS else ""
                  for r in rows]
        fields = [[history.cell_text(v) for v in r[:history.N_FIELDS]] for r in rows]
        # the run row owning each data row, to tell "row edited" from "rows of its run deleted"
        owner: dict[int, int] = {}
        run_row = 0
        for k, f in enumerate(fields):
            if f[H["记录类型"]] == history.RUN:
                run_row = first + k
            owner[first + k] = run_row
        return cls(first, stored, fields, owner)

    def client(self, r: int) -> str:
        k = r - self.first
        return self.fields[k][H["客户编号"]] if 0 <= k < len(self.fields) else ""

    def chains(self, prev: int, k: int) -> bool:
        """Row index ``k``'s stored hash follows from row index ``prev``'s (-1: the start)."""
        return history.row_hash(self.stored[prev] if prev >= 0 else "",
                                self.fields[k]) == self.stored[k]


def check_chain(sheet: str, rows: list[list[str]], first: int, tail: str | None,
                summary_sheet: str | None, tail_cell: str) -> list[Finding]:
    problems = history.verify_chain(rows, tail, first)
    if not problems:
        return []
    log = ChainRows.of(rows, first)
    bad = {r for r, what in problems if what.startswith("哈希不符")}
    missing = {r: what for r, what in problems if "缺少" in what}
    findings: list[Finding] = []
    seen: set[int] = set()
    for r, what in problems:
        if what.startswith("哈希不符"):
            if r not in seen:
                findings.append(hash_mismatch(sheet, log, r, bad, set(missing), seen))
        elif "缺少" in what:
            findings.append(_run_rows_missing(sheet, log, r, what))
        elif "末行哈希" in what:
            where = f"“{summary_sheet}”{tail_cell}" if summary_sheet else "汇总"
            findings.append(Finding(
                SEVERE, CHECK_HISTORY, "history_tail", sheet, f"A{r}",
                found=log.stored[-1] if log.stored else "", supported=tail,
                explanation=(f"变更记录最后一行的哈希与{where}记录的末行哈希不符："
                             "最后的记录或整次运行被删除或替换")))
        else:
            findings.append(Finding(SEVERE, CHECK_HISTORY, "history_unknown_type", sheet,
                                    f"A{r}", explanation=f"第 {r} 行：{what}"))
    return findings


def hash_mismatch(sheet: str, log: ChainRows, r: int, bad: set[int], short_runs: set[int],
                  seen: set[int]) -> Finding:
    """What a row whose hash does not match tells: swapped with the next row
    (``history_reordered``; both rows are added to ``seen``, and the row after them when only
    the swap broke it), a copy of another row (``history_inserted``), rows before it deleted
    (``history_deleted``: its run, or the previous row's, has fewer rows than it recorded —
    ``short_runs``), else edited (``history_edited``)."""
    first, stored = log.first, log.stored
    k = r - first
    if r + 1 in bad and k + 1 < len(stored) and log.chains(k - 1, k + 1) and log.chains(k + 1, k):
        seen.update((r, r + 1))
        after = ""
        # the row after the pair was chained onto the pair's second hash: it breaks too
        if r + 2 in bad and k + 2 < len(stored) and log.chains(k, k + 2):
            seen.add(r + 2)
            after = f"；第 {r + 2} 行因此也对不上，其内容未被改动"
        return Finding(SEVERE, CHECK_HISTORY, "history_reordered", sheet, f"A{r}:A{r + 1}",
                       log.fields[k][H["客户编号"]], explanation=(
                           f"第 {r} 行与第 {r + 1} 行的顺序被调换（两行的哈希各自与对方的位置相符）"
                           + after))
    dup = [first + j for j, h in enumerate(stored) if h == stored[k] and j != k]
    if dup and stored[k]:
        return Finding(SEVERE, CHECK_HISTORY, "history_inserted", sheet, f"A{r}",
                       log.fields[k][H["客户编号"]], explanation=(
                           f"第 {r} 行是第 {'、'.join(map(str, dup))} 行的副本：插入的记录"
                           "（哈希链在此断开）"))
    if log.owner.get(r) in short_runs or (r - 1 >= first and log.owner.get(r - 1) in short_runs):
        why = (f"第 {r} 行的哈希与前一行对不上：其前面的记录被删除"
               "（所在运行的记录数也不符，见同一运行的发现）")
        kind = "history_deleted"
    else:
        why = (f"第 {r} 行的哈希与其内容不符：本行被修改或替换，或者其前面的记录被删除"
               "（哈希链自此断开）")
        kind = "history_edited"
    return Finding(SEVERE, CHECK_HISTORY, kind, sheet, f"A{r}", log.client(r), explanation=why)


def _run_rows_missing(sheet: str, log: ChainRows, r: int, what: str) -> Finding:
    k = r - log.first
    stats = history.stats_of(log.fields[k][H["统计"]]) if 0 <= k < len(log.fields) else {}
    return Finding(SEVERE, CHECK_HISTORY, "history_deleted", sheet, f"A{r}",
                   found=what, supported=f"记录数={stats.get('记录数', '?')}",
                   explanation=f"第 {r} 行的运行记录了 {stats.get('记录数', '?')} 行明细，{what}")
