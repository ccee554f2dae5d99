"""The re-rating job: one code path for the CLI and the Excel button (WORKBOOK.md, "Modes").

Read 客户 once, evaluate the whole table with the rulebook in force on the period's end date,
apply the mode (upgrade-only, overrides), then write only the cells that change, append the
hash-chained 变更记录 rows and refresh 汇总 — all in one atomic patch of the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rules import RuleInputError, get_rulebook
from rules.errors import show
from rules.rerating import (
    DOWNGRADE,
    FIRST,
    KEPT_UP,
    MODE_LABELS,
    OVERRIDE,
    UPGRADE,
    Mode,
    apply_mode,
    parse_mode,
)
from rules.schedule import Period, parse_period

from . import history, summary
from .schema import (
    HISTORY_SHEET_NAMES,
    OUTPUT_BY_KEY,
    SUMMARY_SHEET_NAMES,
    ClientTable,
    Rejection,
    WorkbookError,
    find_sheet,
    read_clients,
    reason_text,
)
from .xlsxio import SheetData, SheetEdit, check_safe, patch_workbook, read_sheet

EXIT_OK, EXIT_FATAL, EXIT_REJECTED = 0, 1, 3
_PERIOD_HINT = {"quarterly": "季度（如 2026Q3）", "annual": "年度（如 2026）",
                "new-accounts": "月份（如 2026-11）"}


@dataclass
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
    changes: list[Change] = field(default_factory=list)
    cells_written: int = 0
    written: bool = False
    dry_run: bool = False
    already_applied: bool = False
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK
    tier_labels: list[str] = field(default_factory=list)

    @property
    def upgrades(self) -> int:
        return self.change_counts.get(UPGRADE, 0)

    @property
    def kept(self) -> int:
        return self.change_counts.get(KEPT_UP, 0)


def _same(old: Any, new: Any) -> bool:
    if old is None or (isinstance(old, str) and not old.strip()):
        return new is None or new == ""
    if isinstance(new, float) and isinstance(old, int | float) and not isinstance(old, bool):
        return float(old) == new
    if isinstance(old, str) and isinstance(new, str):
        return old.strip() == new
    return old == new


def _sheet_rows(data: SheetData) -> list[list[Any]]:
    return [[data.value(r, c) for c in range(1, data.n_cols + 1)]
            for r in range(1, data.n_rows + 1)]


def _input_hash(t: ClientTable, mode: str, per: Period) -> str:
    h = hashlib.sha256()
    h.update(f"{t.rulebook.ref}|{mode}|{per.label}\n".encode())
    cols = [t.inputs[k] for k in range(len(t.inputs))]
    for i in range(len(t)):
        vals = ",".join(repr(float(c[i])) for c in cols)
        h.update((f"{int(t.rows[i])}|{t.client_id[i]}|{vals}|{t.current[i]}|{t.annual[i]}|"
                  f"{t.override[i]}|{t.open_date[i]}|{t.risk_score[i]!r}\n").encode())
    return h.hexdigest()


def rerate(path: str | os.PathLike[str], *, period: str | Period, mode: str,
           rulebook: str = "brokerage", operator: str, dry_run: bool = False,
           force: bool = False, out: str | os.PathLike[str] | None = None,
           now: dt.datetime | None = None,
           progress: Callable[[str], None] | None = None) -> RunResult:
    """Re-rate the clients of a workbook file (see module doc). Raises WorkbookError,
    XlsxError or RuleError (Chinese messages) when nothing can be done."""
    say = progress or (lambda _msg: None)
    path = Path(path)
    out_path = Path(out) if out else path
    m: Mode = parse_mode(mode)
    per = period if isinstance(period, Period) else parse_period(period)
    if per.mode != m:
        raise WorkbookError(f"评级周期 {per.label} 不适用于{MODE_LABELS[m]}：请填写{_PERIOD_HINT[m]}。")
    operator = (operator or "").strip()
    if not operator:
        raise WorkbookError("请填写操作员（--operator）。")
    now = (now or dt.datetime.now()).replace(microsecond=0)
    say("检查文件")
    check_safe(path)
    rb = get_rulebook(rulebook, per.end)
    say(f"读取“客户”工作表（规则 {rb.ref}）")
    t = read_clients(path, rb)
    data = t.data
    in_hash = _input_hash(t, m, per)
    run_id = f"{now:%Y%m%d-%H%M%S}-{in_hash[:6]}"
    res = RunResult(run_id=run_id, path=path, out_path=out_path, period=per.label, mode=m,
                    rulebook_ref=rb.ref, operator=operator, time=now.isoformat(sep=" "),
                    dry_run=dry_run, tier_labels=[o.label for o in rb.outputs])

    # the log, and whether this period+mode was applied already
    hist_name = find_sheet(path, HISTORY_SHEET_NAMES)
    hist_old = _sheet_rows(read_sheet(path, hist_name)) if hist_name else []
    sum_name = find_sheet(path, SUMMARY_SHEET_NAMES)
    sum_old = _sheet_rows(read_sheet(path, sum_name)) if sum_name else []
    problems = history.verify_chain(history.data_rows(hist_old), summary.read_tail(sum_old))
    res.warnings += [f"变更记录第 {r} 行：{what}" for r, what in problems]
    done = [rid for rid, md, pd in history.applied_runs(hist_old) if md == m and pd == per.label]
    res.already_applied = bool(done)

    say(f"评级 {len(t)} 位客户")
    n = len(t)
    ok = t.ok
    batch = rb.evaluate_many(t.inputs)
    for i, err in batch.errors.items():
        if ok[i]:
            header = t.header_of("assets") if err.field is None else err.field
            t.rejected[i] = Rejection(int(t.rows[i]), t.client_id[i], header, err.value,
                                      reason_text(int(t.rows[i]), header, err.message))
    ok = t.ok
    computed = np.where(ok & (batch.rule_index >= 0), batch.output_index, -1).astype(np.int32)
    base = np.where(t.current >= 0, t.current, t.annual).astype(np.int32)
    base = np.where(ok, base, -1)
    scope = np.ones(n, bool)
    if m == "new-accounts":
        scope = np.array([d is not None and per.start <= d <= per.end for d in t.open_date], bool)
        od = t.cols.get("open_date")
        for i, rej in t.rejected.items():  # an unreadable 开户日期 cannot be scoped: report it
            if od is not None and rej.column == data.header[od - 1]:
                scope[i] = True
    override = np.where(ok, t.override, -1)
    outcome = apply_mode(rb, m, computed, base, override)
    labels = [o.label for o in rb.outputs]

    def lab(rank: int) -> str:
        return labels[rank] if rank >= 0 else summary.NO_TIER

    risk_labels: list[str | None] = [None] * n
    has_score = np.isfinite(t.risk_score) & ok
    if has_score.any():
        rc = get_rulebook("risk-class", per.end)
        rbatch = rc.evaluate_many([np.where(has_score, t.risk_score, 50.0)])
        for i in np.flatnonzero(has_score):
            if rbatch.rule_index[i] >= 0:
                risk_labels[i] = str(rbatch.labels[i])

    # the cells to write
    cols = dict(t.cols)
    next_col = data.n_cols + 1
    new_headers: dict[int, str] = {}

    def col_for(key: str) -> int:
        nonlocal next_col
        if key not in cols:
            cols[key] = next_col
            header = OUTPUT_BY_KEY[key].header if key in OUTPUT_BY_KEY else "年度级别"
            new_headers[next_col] = header
            next_col += 1
        return cols[key]

    keys = ["current_tier", "change", "basis", "service", "visits", "risk_class", "period",
            "rulebook_ref"]
    if m == "annual":
        keys.insert(0, "annual_tier")
    for k in keys:
        col_for(k)
    cells: dict[tuple[int, int], Any] = {}
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    log_rows: list[list[str]] = []
    in_names = [s.label for s in rb.inputs]
    for i in range(n):
        r = int(t.rows[i])
        b_rank = int(np.where(t.current[i] >= 0, t.current[i], t.annual[i]))
        before[lab(b_rank)] += 1
        if not scope[i] or not ok[i]:
            after[lab(b_rank)] += 1
            continue
        res.n_in_scope += 1
        new_rank = int(outcome.rank[i])
        new_label = lab(new_rank)
        after[new_label] += 1
        kind = str(outcome.change[i])
        kinds[kind] += 1
        calc = batch.reason(i) if batch.rule_index[i] >= 0 else ""
        if kind == OVERRIDE:
            why = f"特别调整为{new_label}（审批人：{t.approver[i]}"
            why += f"，原因：{t.override_reason[i]}）" if t.override_reason[i] else "）"
            basis = f"{why}；按规则计算：{calc}"
        elif kind == KEPT_UP:
            basis = f"{calc}；就高不就低，保留{lab(int(base[i]))}"
        elif m == "new-accounts" and base[i] < 0:
            basis = f"新开户默认{labels[-1]}，就高不就低：{calc}"
        else:
            basis = calc
        opened = t.open_date[i]
        try:
            service: Any = rb.service_product(new_label, opened is not None
                                              and opened.year == per.end.year)
        except (RuleInputError, KeyError, ValueError):
            service = None
        try:
            visits: Any = float(rb.visits_per_year(new_label))
        except (RuleInputError, KeyError, ValueError):
            visits = None
        values = {"current_tier": new_label, "change": kind, "basis": basis, "service": service,
                  "visits": visits, "risk_class": risk_labels[i], "period": per.label,
                  "rulebook_ref": rb.ref}
        if m == "annual":
            values["annual_tier"] = new_label
        old_tier = t.cell(i, "current_tier")
        old_risk = t.cell(i, "risk_class")
        for k in keys:
            v = values[k]
            if v is None:
                continue
            c = cols[k]
            if (r, c) in data.formulas:
                continue  # a formula column (e.g. =RISK_CLASS(...)): Excel recomputes it
            if c > data.n_cols or not _same(data.value(r, c), v):
                cells[(r, c)] = v
        tier_changed = not _same(old_tier, new_label) and kind != ""
        if (r, cols["risk_class"]) in data.formulas:
            risk_changed = False
        else:
            risk_changed = risk_labels[i] is not None and not _same(old_risk, risk_labels[i])
        if tier_changed or risk_changed or kind in (OVERRIDE, DOWNGRADE, FIRST):
            shown_before = str(old_tier).strip() if old_tier not in (None, "") else lab(b_rank)
            inputs_used = "；".join(f"{nm}={show(float(t.inputs[k][i]))}"
                                   for k, nm in enumerate(in_names))
            if risk_labels[i]:
                inputs_used += f"；风险测评得分={show(float(t.risk_score[i]))}"
            flags = f"；风险类别 {show(old_risk) if old_risk else '（空）'}→{risk_labels[i]}" \
                if risk_changed else ""
            rule_id = str(batch.rule_ids[i]) if batch.rule_index[i] >= 0 else ""
            res.changes.append(Change(r, t.client_id[i], shown_before, new_label, kind,
                                      basis + flags, rule_id))
            log_rows.append(history.make_row(
                记录类型=history.CHANGE, 运行编号=run_id, 时间=res.time, 操作员=operator, 模式=m,
                评级期间=per.label, 规则版本=rb.ref, 客户编号=t.client_id[i], 变更前=shown_before,
                变更后=new_label, 级别变动=kind, 原因=basis + flags, 规则编号=rule_id,
                输入数据=inputs_used))
    for c, h in new_headers.items():
        cells[(1, c)] = h
    rejections = [t.rejected[i] for i in sorted(t.rejected) if scope[i]]
    res.rejections = [rj.as_tuple() for rj in rejections]
    for rj in rejections:
        log_rows.append(history.make_row(
            记录类型=history.REJECT, 运行编号=run_id, 时间=res.time, 操作员=operator, 模式=m,
            评级期间=per.label, 规则版本=rb.ref, 客户编号=rj.client_id, 原因=rj.reason,
            输入数据=f"{rj.column}={show(rj.value)}"))
    res.n_clients = n
    res.before = {k: before.get(k, 0) for k in [*labels, summary.NO_TIER]}
    res.after = {k: after.get(k, 0) for k in [*labels, summary.NO_TIER]}
    res.change_counts = {k: kinds.get(k, 0) for k in summary.CHANGE_ROWS}
    res.cells_written = len(cells)

    stats = "；".join([f"记录数={len(log_rows)}", f"客户={n}", f"处理={res.n_in_scope}",
                      *(f"{k}={v}" for k, v in res.change_counts.items() if v),
                      f"拒绝={len(rejections)}",
                      "评级前=" + "，".join(f"{k}:{v}" for k, v in res.before.items()),
                      "评级后=" + "，".join(f"{k}:{v}" for k, v in res.after.items()),
                      *(["强制重跑=是"] if force and done else [])])
    run_row = history.make_row(记录类型=history.RUN, 运行编号=run_id, 时间=res.time,
                               操作员=operator, 模式=m, 评级期间=per.label, 规则版本=rb.ref,
                               原因=MODE_LABELS[m], 统计=stats, 输入哈希=in_hash)
    hist_rows = history.sheet_rows(hist_old, [run_row, *log_rows])
    info = [("评级期间", per.label), ("模式", f"{MODE_LABELS[m]}（{m}）"), ("规则版本", rb.ref),
            ("运行编号", run_id), ("时间", res.time), ("操作员", operator),
            ("客户数", n), ("本次处理", res.n_in_scope),
            (summary.TAIL_LABEL, history.tail_hash(hist_rows[1:]))]
    sum_rows = summary.rows(labels, res.before, res.after, res.change_counts, len(rejections),
                            info)

    if res.already_applied and not force:
        res.message = (f"{per.label} 的{MODE_LABELS[m]}已执行过（运行编号 {done[-1]}），"
                       "本次未做任何更改；如确需重跑，请使用 --force。")
        res.exit_code = EXIT_FATAL
        return res
    if n and res.n_in_scope == 0 and rejections:
        res.exit_code = EXIT_FATAL
    else:
        res.exit_code = EXIT_REJECTED if rejections else EXIT_OK
    if dry_run:
        res.message = f"试运行：将修改 {len(cells)} 个单元格，未写入文件。"
        return res
    say("写入文件")
    replace: dict[str, list[list[Any]]] = {}
    add: dict[str, list[list[Any]]] = {}
    (replace if hist_name else add)[hist_name or "变更记录"] = hist_rows
    (replace if sum_name else add)[sum_name or "汇总"] = sum_rows
    patch_workbook(path, out_path, {t.sheet: SheetEdit(cells=cells)},
                   replace_sheets=replace, add_sheets=add)
    res.written = True
    res.message = (f"已完成{MODE_LABELS[m]} {per.label}：处理 {res.n_in_scope} 位客户，"
                   f"修改 {len(cells)} 个单元格，拒绝 {len(rejections)} 行。")
    return res
