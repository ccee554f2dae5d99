"""变更记录 as the audit reads it: the rows grouped into runs (:class:`Run`) and their 变更 rows
(:class:`Entry`), the rejected clients of each run, and which clients a run processed."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rules import RuleError
from rules.schedule import parse_period

from .. import history, summary
from ..xlsxio import SheetData
from .functions import parse_number

H = {name: k for k, name in enumerate(history.HEADER)}
NO_TIER = summary.NO_TIER


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


def tail_cell(rows: Sequence[Sequence[Any]]) -> str:
    for k, r in enumerate(rows, start=1):
        if len(r) >= 2 and r[0] == summary.TAIL_LABEL:
            return f"B{k}"
    return ""


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


def processed(run: Run, cid: str, open_date: dt.date | None) -> bool:
    """Whether ``run`` rated client ``cid`` (not rejected; a new-accounts run only rates the
    clients opened in its period)."""
    if cid in run.rejects:
        return False
    if run.get("模式") == "new-accounts":
        try:
            per = parse_period(run.get("评级期间"))
        except (RuleError, ValueError):
            return False
        return open_date is not None and per.start <= open_date <= per.end
    return True
