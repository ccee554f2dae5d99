"""The 客户 sheet read by header name (WORKBOOK.md) and validated into typed columns.

Columns are found by their trimmed header, Chinese or English alias, in any order; columns the
product does not know are never touched. Every data row becomes either typed inputs or a
rejection whose Chinese reason names the row number, the column header and the value, e.g.
``第 7 行「资产权益」：不能为负数：-5``. Cell coercion is ``udfs._coerce`` — the same code the Excel
functions use — so ``"25万"`` means 250,000 both in a cell formula and in a headless run.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rules import Rulebook, RuleInputError, get_rulebook
from rules.errors import show
from udfs import _coerce

from .xlsxio import SheetData, XlsxError, read_sheet, sheet_names


class WorkbookError(Exception):
    """A workbook the job cannot use (no 客户 sheet, no 客户编号 column…). Chinese message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    alias: str


#: The contract columns of sheet 客户, in the template's order.
COLUMNS: tuple[Column, ...] = (
    Column("client_id", "客户编号", "client_id"),
    Column("name", "客户名称", "name"),
    Column("branch", "营业部", "branch"),
    Column("client_type", "客户性质", "client_type"),
    Column("open_date", "开户日期", "open_date"),
    Column("assets", "资产权益", "assets"),
    Column("commission", "上年度净佣金", "commission"),
    Column("avg_daily_assets", "日均资产", "avg_daily_assets"),
    Column("fee", "上年度管理费", "fee"),
    Column("turnover", "资产周转率", "turnover"),
    Column("risk_score", "风险测评得分", "risk_score"),
    Column("assessed_on", "测评日期", "assessed_on"),
    Column("annual_tier", "年度级别", "annual_tier"),
    Column("current_tier", "当前级别", "current_tier"),
    Column("override_tier", "特别调整级别", "override_tier"),
    Column("override_approver", "调整审批人", "override_approver"),
    Column("override_reason", "调整原因", "override_reason"),
)
BY_KEY = {c.key: c for c in COLUMNS}

#: Columns written by a re-rating, created at the right of the sheet when missing.
OUTPUT_COLUMNS: tuple[Column, ...] = (
    Column("current_tier", "当前级别", "current_tier"),
    Column("change", "级别变动", "change"),
    Column("basis", "级别依据", "basis"),
    Column("service", "服务产品", "service"),
    Column("visits", "年拜访次数", "visits"),
    Column("risk_class", "风险类别", "risk_class"),
    Column("period", "评级期间", "period"),
    Column("rulebook_ref", "规则版本", "rulebook_ref"),
)
OUTPUT_BY_KEY = {c.key: c for c in OUTPUT_COLUMNS}

CLIENT_SHEET_NAMES = ("客户", "Clients")
HISTORY_SHEET_NAMES = ("变更记录", "History")
SUMMARY_SHEET_NAMES = ("汇总", "Summary")

# input name -> contract column when the rulebook's input label is not a header of its own
_INPUT_FALLBACK = {"assets": "assets", "commission": "commission", "fee": "fee",
                   "turnover": "turnover", "score": "risk_score"}


def find_sheet(path: str | os.PathLike[str], names: tuple[str, ...]) -> str | None:
    """The first sheet whose name (trimmed, case-insensitive) is one of ``names``."""
    existing = sheet_names(path)
    folded = {n.strip().casefold(): n for n in existing}
    for n in names:
        if n.casefold() in folded:
            return folded[n.casefold()]
    return None


def column_map(header: list[str]) -> dict[str, int]:
    """key -> 1-based column for the contract columns and the output columns present."""
    pos: dict[str, int] = {}
    for c, text in enumerate(header, start=1):
        h = text.strip().casefold()
        if not h:
            continue
        for col in (*COLUMNS, *OUTPUT_COLUMNS):
            if h in (col.header.casefold(), col.alias.casefold()) and col.key not in pos:
                pos[col.key] = c
    return pos


def _refuse_duplicate_columns(data: SheetData) -> None:
    """Two columns naming the same field (资产权益 twice, or 资产权益 and assets): which one
    holds the figures is not ours to guess."""
    seen: dict[str, list[int]] = {}
    for c, text in enumerate(data.header, start=1):
        for key in column_map([text]):
            seen.setdefault(key, []).append(c)
    for where in seen.values():
        if len(where) > 1:
            from .xlsxio import col_letter

            names = "、".join(f"{col_letter(c)} 列“{data.header[c - 1].strip()}”" for c in where)
            raise WorkbookError(f"工作表“{data.name}”第 1 行有多列表示同一项（{names}），"
                                f"无法确定用哪一列：请删去或改名多余的列。")


@dataclass
class Rejection:
    row: int  # Excel row number
    client_id: str
    column: str  # the header as it is in the file
    value: Any
    reason: str  # "第 7 行「资产权益」：不能为负数：-5"

    def as_tuple(self) -> tuple[int, str, str, Any, str]:
        return (self.row, self.client_id, self.column, self.value, self.reason)


@dataclass
class ClientTable:
    """Sheet 客户 as typed columns. Index ``i`` is data row ``rows[i]`` of the sheet."""

    sheet: str
    data: SheetData
    cols: dict[str, int]
    rulebook: Rulebook
    rows: np.ndarray  # Excel row numbers of the client rows (empty rows skipped)
    client_id: list[str]
    inputs: list[np.ndarray]  # one float column per rulebook input (0 where rejected)
    current: np.ndarray  # rank, -1 none
    annual: np.ndarray
    override: np.ndarray
    approver: list[str | None]
    override_reason: list[str | None]
    open_date: list[dt.date | None]
    risk_score: np.ndarray  # NaN where empty
    rejected: dict[int, Rejection] = field(default_factory=dict)  # index -> first problem

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def ok(self) -> np.ndarray:
        m = np.ones(len(self), bool)
        if self.rejected:
            m[list(self.rejected)] = False
        return m

    def header_of(self, key: str) -> str:
        c = self.cols.get(key)
        if c is not None:
            return self.data.header[c - 1]
        return (BY_KEY.get(key) or OUTPUT_BY_KEY[key]).header

    def cell(self, i: int, key: str) -> Any:
        c = self.cols.get(key)
        return None if c is None else self.data.value(int(self.rows[i]), c)


def _strip_field(message: str, field_name: str) -> str:
    m = message.strip()
    if m.startswith(field_name):
        m = m[len(field_name):].lstrip("：: ")
    return m


def reason_text(row: int, header: str, message: str) -> str:
    return f"第 {row} 行「{header}」：{_strip_field(message, header)}"


def input_columns(rb: Rulebook, cols: dict[str, int], header: list[str]) -> list[int | None]:
    """1-based column of each rulebook input: its label as a header, else the contract column."""
    folded = [h.strip().casefold() for h in header]
    out: list[int | None] = []
    for spec in rb.inputs:
        c = None
        if spec.label.casefold() in folded:
            c = folded.index(spec.label.casefold()) + 1
        elif spec.name.casefold() in folded:
            c = folded.index(spec.name.casefold()) + 1
        elif _INPUT_FALLBACK.get(spec.name) in cols:
            c = cols[_INPUT_FALLBACK[spec.name]]
        out.append(c)
    return out


def read_clients(path: str | os.PathLike[str], rb: Rulebook) -> ClientTable:
    """Read sheet 客户 in one pass and validate every row (see module doc)."""
    sheet = find_sheet(path, CLIENT_SHEET_NAMES)
    if sheet is None:
        raise WorkbookError(f"工作簿 {os.fspath(path)} 中没有“客户”工作表（也可命名为 Clients）。")
    data = read_sheet(path, sheet)
    return validate(data, rb)


def validate(data: SheetData, rb: Rulebook, *, as_of: dt.date | None = None) -> ClientTable:
    """``as_of``: the date whose risk-class rulebook checks 风险测评得分 — the period's end for
    a run, the audit date for an audit (today only for a caller that has no such date)."""
    cols = column_map(data.header)
    _refuse_duplicate_columns(data)
    if "client_id" not in cols:
        raise WorkbookError(f"工作表“{data.name}”第 1 行没有“客户编号”列（或 client_id）。")
    in_cols = input_columns(rb, cols, data.header)
    # a missing column of an input where empty means 0 (上年度净佣金) is all zeros
    missing = [s.label for s, c in zip(rb.inputs, in_cols, strict=True)
               if c is None and not s.empty_is_zero]
    if missing:
        raise WorkbookError(
            f"工作表“{data.name}”缺少规则 {rb.ref} 需要的列：{'、'.join(missing)}。")
    known = {cols[k] for k in cols} | {c for c in in_cols if c}
    n = data.n_data_rows
    # skip rows with nothing in any column we read (blank lines, totals far below…): a row
    # with a 客户编号 is used; only the others are looked at in the other columns
    id_col = data.columns[cols["client_id"] - 1]
    used = np.fromiter((v is not None and v != "" for v in id_col), bool, count=n)
    blank = np.flatnonzero(~used)
    if len(blank):
        for c in sorted(known - {cols["client_id"]}):
            if c <= data.n_cols and len(blank):
                col = data.columns[c - 1]
                got = np.fromiter((col[i] is not None and col[i] != "" for i in blank.tolist()),
                                  bool, count=len(blank))
                used[blank[got]] = True
                blank = blank[~got]
    idx = np.flatnonzero(used)
    rows = idx + 2
    m = len(idx)
    every = m == n  # (the usual case: no blank row)

    def col_values(c: int | None) -> list[Any]:
        if c is None or c > data.n_cols:
            return [None] * m
        src = data.columns[c - 1]
        if every:
            return src if isinstance(src, list) else list(src)
        return [src[i] for i in idx.tolist()]

    rejected: dict[int, Rejection] = {}
    ids: list[str] = []

    def reject(i: int, header: str, value: Any, message: str) -> None:
        if i not in rejected:
            rejected[i] = Rejection(int(rows[i]), ids[i] if i < len(ids) else "", header,
                                    value, reason_text(int(rows[i]), header, message))

    # 客户编号: text, unique, required
    id_header = data.header[cols["client_id"] - 1]
    raw_ids = col_values(cols["client_id"])
    try:  # all texts (the usual case)
        ids.extend(map(str.strip, raw_ids))
    except TypeError:
        ids.clear()
        for v in raw_ids:
            if isinstance(v, float) and v.is_integer():
                ids.append(str(int(v)))
            elif v is None:
                ids.append("")
            else:
                ids.append(str(v).strip())
    if "" in ids or len(set(ids)) != len(ids):
        seen: dict[str, list[int]] = defaultdict(list)
        for i, cid in enumerate(ids):
            if not cid:
                reject(i, id_header, raw_ids[i], "客户编号为空")
            else:
                seen[cid].append(i)
        for cid, where in seen.items():
            if len(where) > 1:
                for i in where:
                    others = "、".join(str(int(rows[j])) for j in where if j != i)
                    reject(i, id_header, raw_ids[i], f"客户编号重复：{cid}（另见第 {others} 行）")

    # rulebook inputs
    inputs: list[np.ndarray] = []
    for spec, c in zip(rb.inputs, in_cols, strict=True):
        if c is None:
            inputs.append(np.zeros(m))
            continue
        header = data.header[c - 1]
        cells = col_values(c)
        arr, problems = _number_column(cells, header)
        for i, p in problems.items():
            if p is None:
                if spec.empty_is_zero:
                    arr[i] = 0.0
                else:
                    reject(i, header, None, "为空（必填）")
            else:
                reject(i, header, cells[i], p.message)
        for i in _outside(arr, spec):
            try:
                rb.check_value(spec, float(arr[i]))
            except RuleInputError as e:
                reject(int(i), header, cells[i], e.message)
        inputs.append(arr)

    def tiers(key: str) -> np.ndarray:
        c = cols.get(key)
        if c is None:
            return np.full(m, -1, np.int32)
        header = data.header[c - 1]
        values = col_values(c)
        keys = _typed(values)
        rank: dict[Any, int] = {}  # each distinct cell once (a column holds a few labels)
        for k in dict.fromkeys(keys):
            v = k[1]
            if v is None or (isinstance(v, str) and not v.strip()):
                rank[k] = -1
                continue
            try:
                rank[k] = rb.rank(v if isinstance(v, str) else show(v))
            except RuleInputError:
                rank[k] = -2
        out = np.fromiter(map(rank.__getitem__, keys), np.int32, count=m)
        labels = "、".join(o.label for o in rb.outputs)
        for i in np.flatnonzero(out == -2).tolist():
            v = values[i]
            reject(i, header, v, f"未知的级别：{show(v)}（{rb.ref} 可用：{labels}）")
        out[out == -2] = -1
        return out

    current = tiers("current_tier")
    annual = tiers("annual_tier")
    override = tiers("override_tier")

    def texts(key: str) -> list[str | None]:
        c = cols.get(key)
        if c is None:
            return [None] * m
        out: list[str | None] = []
        for v in col_values(c):
            if v is None:
                out.append(None)
            elif isinstance(v, float) and v.is_integer():
                out.append(str(int(v)))
            else:
                out.append(str(v).strip() or None)
        return out

    approver = texts("override_approver")
    reasons = texts("override_reason")
    if "override_tier" in cols:
        oh = data.header[cols["override_tier"] - 1]
        ov = col_values(cols["override_tier"])
        for i in np.flatnonzero(override >= 0):
            if not approver[i]:
                reject(int(i), oh, ov[i], f"特别调整为 {show(ov[i])}，但“调整审批人”为空（须经审批）")

    open_date: list[dt.date | None] = [None] * m
    if "open_date" in cols:
        h = data.header[cols["open_date"] - 1]
        values = col_values(cols["open_date"])
        keys = _typed(values)
        got: dict[Any, Any] = {}  # each distinct cell once (dates repeat)
        for k in dict.fromkeys(keys):
            try:
                got[k] = _coerce.date(k[1], h)
            except RuleInputError as e:
                got[k] = e
        open_date = list(map(got.__getitem__, keys))
        if any(isinstance(x, RuleInputError) for x in got.values()):
            for i, x in enumerate(open_date):
                if isinstance(x, RuleInputError):
                    reject(i, h, values[i], x.message)
                    open_date[i] = None

    risk_score = np.full(m, np.nan)
    if "risk_score" in cols:
        h = data.header[cols["risk_score"] - 1]
        risk_rb = get_rulebook("risk-class", as_of or dt.date.today())
        spec = risk_rb.inputs[0]
        values = col_values(cols["risk_score"])
        arr, problems = _number_column(values, h)
        for i, p in problems.items():
            if p is not None:
                reject(i, h, values[i], p.message)
        risk_score = np.where(np.isfinite(arr), arr, np.nan)
        for i in problems:
            risk_score[i] = np.nan
        for i in _outside(risk_score, spec):
            try:
                risk_rb.check_value(spec, float(risk_score[i]))
            except RuleInputError as e:
                reject(i, h, values[i], e.message)
            risk_score[i] = np.nan

    for i in rejected:
        for arr in inputs:
            arr[i] = 0.0
    return ClientTable(
        sheet=data.name, data=data, cols=cols, rulebook=rb, rows=rows, client_id=ids,
        inputs=inputs, current=current, annual=annual, override=override, approver=approver,
        override_reason=reasons, open_date=open_date, risk_score=risk_score, rejected=rejected)


def _outside(arr: np.ndarray, spec: Any) -> list[int]:
    """Positions of the finite numbers an input's min, max or integer rule refuses (the
    rulebook's ``check_value`` then says why)."""
    finite = np.isfinite(arr)
    good = finite.copy()
    if spec.min is not None:
        good &= ~(arr < spec.min)
    if spec.max is not None:
        good &= ~(arr > spec.max)
    if spec.integer:
        good &= np.where(finite, arr == np.floor(np.where(finite, arr, 0)), True)
    return np.flatnonzero(finite & ~good).tolist()


def _typed(values: list[Any]) -> list[tuple[type, Any]]:
    """(type, value) of each cell: keys for converting each distinct cell once that keep
    ``True`` apart from ``1.0`` (equal and of equal hash in Python)."""
    return list(zip(map(type, values), values, strict=True))


def _number_column(cells: list[Any], header: str) -> tuple[np.ndarray, dict[int, Any]]:
    """udfs._coerce.number_column as {index: RuleInputError, or None for an empty cell}."""
    got = _coerce.number_column(cells, header)
    if len(got) == 3:  # (values, errors, empty positions)
        arr, errors, empty = got
        problems: dict[int, Any] = dict(errors)
        problems.update({i: None for i in empty})
        return arr, problems
    return got[0], got[1]


__all__ = [
    "CLIENT_SHEET_NAMES",
    "COLUMNS",
    "HISTORY_SHEET_NAMES",
    "OUTPUT_COLUMNS",
    "SUMMARY_SHEET_NAMES",
    "ClientTable",
    "Column",
    "Rejection",
    "WorkbookError",
    "XlsxError",
    "column_map",
    "find_sheet",
    "read_clients",
    "validate",
]
