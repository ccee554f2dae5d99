"""What a run computes and returns: ``RunResult`` (what the front ends show), ``Plan`` (what
they write), ``Change`` (a 变更 row), the exit codes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rules.rerating import KEPT_UP, UPGRADE

EXIT_OK, EXIT_FATAL, EXIT_REJECTED = 0, 1, 3
#: how many progress messages a file run sends (检查文件 … 写入文件), for a progress bar
PROGRESS_STEPS = 6


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
    #: a 变更 row each (a list, or ``logrows.Changes``: made from the log rows when asked)
    changes: Sequence[Change] = field(default_factory=list)
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
    columns: dict[int, Sequence[Any]]
    headers: dict[int, str]
    history_new: Sequence[list[str]]
    history_rows: Sequence[list[str]]
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
