"""Sheet 汇总: counts per tier before/after a run, the kinds of change and the run's identity.

The layout is fixed so that the native chart keeps pointing at the right cells: tiers in
A2:A(1+n), before in column B, after in column C. The template draws it (XlsxWriter); a run that
adds 汇总 to a workbook adds it (``chart_spec``, xlsxio); a run on an existing 汇总 only rewrites
the cell values (the sheet's drawing relationship is kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rules.rerating import DOWNGRADE, FIRST, KEEP, KEPT_UP, OVERRIDE, UPGRADE

from .xlsxio import ChartSpec

NO_TIER = "无级别"
CHANGE_ROWS = (UPGRADE, KEPT_UP, KEEP, DOWNGRADE, FIRST, OVERRIDE)
REJECTED = "数据有误未处理"
TAIL_LABEL = "变更记录末行哈希"


CHART_TITLE = "各级别客户数（评级前/后）"


def tier_rows_range(labels: Sequence[str]) -> tuple[int, int]:
    """First and last Excel row of the per-tier counts (for the chart)."""
    return 2, 1 + len(labels)


def chart_spec(labels: Sequence[str]) -> ChartSpec:
    """The chart of 汇总 (tiers × 评级前/评级后), for a 汇总 sheet the job adds to a workbook;
    the template draws the same chart with XlsxWriter."""
    first, last = tier_rows_range(labels)
    return ChartSpec(CHART_TITLE, f"A{first}:A{last}",
                     [("B1", f"B{first}:B{last}"), ("C1", f"C{first}:C{last}")], ("E2", "M20"))


#: the lists below the run's identity (titles in column A)
GAPS_TITLE = "落在规则缺口的客户（按兜底规则评级，见 client-rating rules check）"
FLAGS_TITLE = "已评级、但有字段待更正的客户（该字段的结果保持原样）"


def run_sections(gaps: Sequence[tuple[int, str, str, str]],
                 flags: Sequence[tuple[int, str, str, Any, str]]
                 ) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(title, header, rows) of the lists a run adds to 汇总: every client whose figures fall
    into a known gap of the rules, every rated row with a flagged field."""
    from rules.errors import show

    out: list[tuple[str, list[str], list[list[Any]]]] = []
    if gaps:
        out.append((GAPS_TITLE, ["行", "客户编号", "本次级别", "说明"],
                    [[float(r), cid, tier, what] for r, cid, tier, what in gaps]))
    if flags:
        out.append((FLAGS_TITLE, ["行", "客户编号", "列", "值", "原因"],
                    [[float(r), cid, col, show(v) if not isinstance(v, str) else v, why]
                     for r, cid, col, v, why in flags]))
    return out


def rows(labels: Sequence[str], before: dict[str, int], after: dict[str, int],
         changes: dict[str, int], rejected: int, info: Sequence[tuple[str, Any]], *,
         sections: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]] = ()
         ) -> list[list[Any]]:
    """The sheet's rows (row 1 first); ``sections`` (title, header, rows) go below the run's
    identity, one empty row before each."""
    out: list[list[Any]] = [["级别", "评级前", "评级后"]]
    for lab in labels:
        out.append([lab, float(before.get(lab, 0)), float(after.get(lab, 0))])
    out.append([NO_TIER, float(before.get(NO_TIER, 0)), float(after.get(NO_TIER, 0))])
    out.append([])
    out.append(["变动", "客户数"])
    for k in CHANGE_ROWS:
        out.append([k, float(changes.get(k, 0))])
    out.append([REJECTED, float(rejected)])
    out.append([])
    out.append(["项目", "内容"])
    for k, v in info:
        out.append([k, "" if v is None else str(v)])
    for title, header, lines in sections:
        out.append([])
        out.append([title])
        out.append(list(header))
        out.extend(list(r) for r in lines)
    return out


def read_tail(sheet_rows: Sequence[Sequence[Any]]) -> str | None:
    """The history tail hash recorded by the last run (None if there is none)."""
    for r in sheet_rows:
        if len(r) >= 2 and r[0] == TAIL_LABEL:
            return "" if r[1] is None else str(r[1])
    return None
