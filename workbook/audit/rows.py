"""The audit's findings as rows of text: the 审计 sheet the Excel button writes and the report's
审计发现 (:func:`findings_rows`), the counts per check and kind (:func:`overview`), and the summary
(:func:`summary_rows`)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from rules.errors import show

from .model import (
    CHECK_FORMULA,
    CHECKS,
    INFO,
    KIND_TITLES,
    NOT_CHECKED,
    SEVERE,
    SEVERITIES,
    WARN,
    AuditResult,
)

#: Header of the 审计 sheet (:func:`findings_rows`).
FINDINGS_HEADER = ["严重程度", "检查", "位置", "客户编号", "发现值", "应为", "说明", "规则编号",
                   "规则版本"]


def _cell_text(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return show(v)
    if isinstance(v, str):
        return v
    return str(v)


def findings_rows(result: AuditResult) -> list[list[Any]]:
    """The rows of the 审计 sheet, header first: one row per finding (严重, 警告, 提示), then
    one row per formula cell that was not recomputed (严重程度 ``未检查``). Every value is text;
    ``位置`` is ``客户!N7`` (the Excel button may link it to ``Finding.link``)."""
    rows: list[list[Any]] = [list(FINDINGS_HEADER)]
    for f in result.findings:
        rows.append([f.severity, f.check, f.address, f.client_id, _cell_text(f.found),
                     _cell_text(f.supported), f.explanation, f.rule, f.rulebook])
    for nc in result.not_checked:
        rows.append([NOT_CHECKED, CHECK_FORMULA, nc.address, "", nc.formula, "", nc.reason, "",
                     ""])
    return rows


def overview(result: AuditResult) -> list[list[Any]]:
    """Counts per check and kind of finding: [检查, 类型, kind, 严重, 警告, 提示]."""
    counts: dict[tuple[str, str], Counter] = {}
    for f in result.findings:
        counts.setdefault((f.check, f.kind), Counter())[f.severity] += 1
    order = {c: k for k, c in enumerate(CHECKS)}
    rows = []
    for (chk, kind), n in sorted(counts.items(), key=lambda kv: (order.get(kv[0][0], 9),
                                                                 -kv[1][SEVERE], -kv[1][WARN],
                                                                 kv[0][1])):
        rows.append([chk, KIND_TITLES.get(kind, kind), kind, n[SEVERE], n[WARN], n[INFO]])
    return rows


def summary_rows(result: AuditResult) -> list[list[Any]]:
    """A short summary (项目, 内容) for the report and the top of an 审计 sheet."""
    s = result.stats
    rows: list[list[Any]] = [["项目", "内容"]]
    if result.path:
        rows.append(["文件", result.path])
    rows += [
        ["审计日期", result.as_of.isoformat()],
        ["规则版本", result.rulebook],
        ["结论", "发现问题" if result.has_findings else "未发现问题（严重/警告）"],
    ]
    for sev in SEVERITIES:
        rows.append([sev, str(result.count(sev))])
    for chk, title, _kind, n_s, n_w, n_i in overview(result):
        rows.append([f"{chk}：{title}", f"严重 {n_s}，警告 {n_w}，提示 {n_i}"])
    rows += [
        ["客户数", str(s.get("clients", 0))],
        ["变更记录行数", str(s.get("history_rows", 0))],
        ["运行次数", str(s.get("runs", 0))],
        ["最近一次运行", s.get("last_run") or "（无）"],
        ["公式单元格（全部）", str(s.get("formulas", 0))],
        ["调用本系统函数的公式", str(s.get("ours", 0))],
        ["已重算核对", str(s.get("checked", 0))],
        ["与缓存值不同（含仅为提示的）", str(s.get("mismatch", 0))],
        ["未检查（无法重算）", str(s.get("not_checked", 0))],
    ]
    for note in result.notes:
        rows.append(["说明", note])
    return rows

