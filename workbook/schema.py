"""The 客户 sheet read by header name (WORKBOOK.md) and validated into typed columns.

Columns are found by their trimmed header, Chinese or English alias, in any order; columns the
product does not know are never touched. Every data row becomes either typed inputs or a
rejection whose Chinese reason names the row number, the column header and the value, e.g.
``第 7 行「资产权益」：不能为负数：-5``. Cell coercion is ``rules.cells`` — the same code the Excel
functions use — so ``"25万"`` means 250,000 both in a cell formula and in a headless run. The
readers of each kind of column (ids, inputs, tiers, dates, risk scores) are in
``workbook.client_cells``; ``validate`` puts them together.
"""

from __future__ import annotations

import datetime as dt
import os
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rules import Rulebook
from rules.errors import ClientRatingError, show

from .client_cells import (
    LargerOf,
    Problems,
    Rejection,
    RowCells,
    read_dates,
    read_ids,
    read_inputs,
    read_override_dates,
    read_risk_scores,
    read_texts,
    read_tiers,
    reason_text,
)
from .headers import header_name, split_unit, unit_factor
from .xlsxio import SheetData, XlsxError, read_sheet, sheet_names


class WorkbookError(ClientRatingError):
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
    # when the override was approved (a run writes its own date where empty) and its last day
    # in force (empty: until removed; an annual run keeps it only if the rulebook says so)
    Column("override_date", "调整日期", "override_date"),
    Column("override_until", "调整有效期至", "override_until"),
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
    # written when the rulebook has sub-classes (private-fund: A类核心/B类核心, seed 001 第八条)
    Column("sub_class", "细分类别", "sub_class"),
    # written when the rulebook says so (client_classes: seed 001 第六条 四级十二类)
    Column("client_class", "分级分类", "client_class"),
)
OUTPUT_BY_KEY = {c.key: c for c in OUTPUT_COLUMNS}
#: Columns a run writes only where the sheet has them (never created): 计算级别, the tier the
#: rules give for the row's figures (before 就高不就低 and 特别调整), a value like the others.
OPTIONAL_OUTPUT_COLUMNS: tuple[Column, ...] = (Column("computed_tier", "计算级别", "computed_tier"),)

CLIENT_SHEET_NAMES = ("客户", "Clients")
HISTORY_SHEET_NAMES = ("变更记录", "History")
SUMMARY_SHEET_NAMES = ("汇总", "Summary")

#: Primary fields: a bad value rejects the row (it is not rated, its cells stay as they are):
#: 客户编号, the inputs of the tier rulebook, the tiers in force (the base of 就高不就低), the
#: override and its approver, 开户日期 (new-accounts scope, service product). Secondary fields:
#: a bad value is flagged (row, column, value in the result and 汇总) and the tier is still
#: rated; the outputs that depend on the field are left as they were.
SECONDARY_KEYS: tuple[str, ...] = ("risk_score",)  # -> 风险类别 left as it was
#: contract columns in 元 (a unit in their header scales them: 资产权益（万元）)
MONEY_KEYS = frozenset({"assets", "commission", "avg_daily_assets", "fee"})

#: input name -> contract column when the rulebook's input label is not a header of its own
INPUT_FALLBACK = {"assets": "assets", "commission": "commission", "fee": "fee",
                   "turnover": "turnover", "score": "risk_score"}


def pick_sheet(existing: Sequence[str], names: Sequence[str]) -> str | None:
    """The first of ``names`` among the sheet names ``existing`` (trimmed, case-insensitive),
    as the book spells it."""
    folded = {n.strip().casefold(): n for n in existing}
    for n in names:
        if n.casefold() in folded:
            return folded[n.casefold()]
    return None


def find_sheet(path: str | os.PathLike[str], names: tuple[str, ...]) -> str | None:
    """The first sheet of the file whose name (trimmed, case-insensitive) is one of ``names``."""
    return pick_sheet(sheet_names(path), names)


def column_map(header: list[str]) -> dict[str, int]:
    """key -> 1-based column for the contract columns and the output columns present (a header
    read by ``workbook.headers.header_name``: 客户号 is 客户编号, 资产权益（万元） is 资产权益)."""
    pos: dict[str, int] = {}
    for c, text in enumerate(header, start=1):
        h = header_name(text).casefold()  # (units off, synonyms: workbook.headers)
        if not h:
            continue
        for col in (*COLUMNS, *OUTPUT_COLUMNS, *OPTIONAL_OUTPUT_COLUMNS):
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
    risk_score: np.ndarray  # NaN where empty or flagged
    rejected: dict[int, Rejection] = field(default_factory=dict)  # index -> its problems
    #: rows rated although a secondary field is bad (SECONDARY_KEYS): index -> the problems
    flagged: dict[int, Rejection] = field(default_factory=dict)
    #: inputs read as the larger of two columns (InputSpec.larger_of): input index -> LargerOf
    larger_of: dict[int, LargerOf] = field(default_factory=dict)
    #: the sub-class a tier cell names (A类核心 in 当前级别), by key (current_tier…); a key is
    #: here only when some cell of its column names one
    tier_sub: dict[str, list[str]] = field(default_factory=dict)
    #: 调整日期 / 调整有效期至 of the rows with an override (None where empty or no override)
    override_date: list[dt.date | None] = field(default_factory=list)
    override_until: list[dt.date | None] = field(default_factory=list)

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


def input_columns(rb: Rulebook, cols: dict[str, int], header: list[str]) -> list[int | None]:
    """1-based column of each rulebook input: its label as a header, else the contract column."""
    folded = [header_name(h).casefold() for h in header]
    out: list[int | None] = []
    for spec in rb.inputs:
        c = None
        if spec.label.casefold() in folded:
            c = folded.index(spec.label.casefold()) + 1
        elif spec.name.casefold() in folded:
            c = folded.index(spec.name.casefold()) + 1
        elif INPUT_FALLBACK.get(spec.name) in cols:
            c = cols[INPUT_FALLBACK[spec.name]]
        out.append(c)
    return out


def check_input_columns(sheet: str, rb: Rulebook, in_cols: list[int | None],
                        pairs: Collection[int] = ()) -> None:
    """A rulebook input without a column refuses the run (WorkbookError naming the column and
    the rulebook): a missing column is never a column of zeros. Empty *cells* of an input the
    rulebook allows to be empty (``empty_is_zero``: 上年度净佣金) still count as 0. ``pairs``:
    inputs read from the columns of their ``larger_of`` instead (``larger_of_columns``)."""
    missing = [s for k, (s, c) in enumerate(zip(rb.inputs, in_cols, strict=True))
               if c is None and k not in pairs]
    if not missing:
        return
    names = "、".join(f"“{s.label}”" + (f"（或“{'”与“'.join(s.larger_of)}”两列）" if s.larger_of
                                       else "") for s in missing)
    zero = [s.label for s in missing if s.empty_is_zero]
    note = (f"（该列中的空单元格按 0 计，但整列缺少不会按 0 计：{'、'.join(zero)}）" if zero else "")
    raise WorkbookError(
        f"工作表“{sheet}”缺少规则 {rb.ref}（{rb.title}）需要的列：{names}{note}。"
        f"请在第 1 行添加该列并填写数据后重新运行；本次未做任何更改。")


def pair_key(header: str) -> str:
    """How a column of ``InputSpec.larger_of`` is recognised: NFKC, no spaces, case folded,
    年度 read as 年 (上年度日均资产 is 上年日均资产), a unit taken off (上年日均资产（万元）)."""
    name = split_unit(header)[0]
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold().replace("年度", "年")


def larger_of_columns(rb: Rulebook, header: list[str]) -> dict[int, tuple[int, ...]]:
    """input index -> the 1-based columns it is the larger of, for each input that has no
    column of its own (its label or name) and whose ``larger_of`` columns are all there.
    Both forms present is refused: which figure was rated would not be clear."""
    own = {h.strip().casefold() for h in header}
    keys = [pair_key(h) for h in header]
    out: dict[int, tuple[int, ...]] = {}
    for k, spec in enumerate(rb.inputs):
        if not spec.larger_of:
            continue
        found = [keys.index(pair_key(h)) + 1 for h in spec.larger_of if pair_key(h) in keys]
        if len(found) != len(spec.larger_of):
            continue
        if spec.label.casefold() in own or spec.name.casefold() in own:
            names = "”“".join(header[c - 1] for c in found)
            raise WorkbookError(
                f"第 1 行既有“{spec.label}”列，又有“{names}”列：规则 {rb.ref} 的{spec.label}取"
                f"{'与'.join(spec.larger_of)}中的较大者（{rb.source.article.split('、')[0]}），"
                f"请只保留一种（删去或改名“{spec.label}”列，或删去那两列）后重新运行。")
        out[k] = tuple(found)
    return out


def read_clients(path: str | os.PathLike[str], rb: Rulebook) -> ClientTable:
    """Read sheet 客户 in one pass and validate every row (see module doc)."""
    sheet = find_sheet(path, CLIENT_SHEET_NAMES)
    if sheet is None:
        raise WorkbookError(f"工作簿 {os.fspath(path)} 中没有“客户”工作表（也可命名为 Clients）。")
    data = read_sheet(path, sheet)
    return validate(data, rb)


def validate(data: SheetData, rb: Rulebook, *, as_of: dt.date | None = None) -> ClientTable:
    """Every row of 客户 as typed columns or a rejection (see module doc; the readers of each
    kind of column: ``workbook.client_cells``). ``as_of``: the date whose risk-class rulebook
    checks 风险测评得分 — the period's end for a run, the audit date for an audit (today only
    for a caller that has no such date)."""
    cols = column_map(data.header)
    _refuse_duplicate_columns(data)
    if "client_id" not in cols:
        raise WorkbookError(f"工作表“{data.name}”第 1 行没有“客户编号”列（或 client_id）。")
    in_cols = input_columns(rb, cols, data.header)
    pairs = larger_of_columns(rb, data.header)  # 日均资产 as 上年/本年日均资产: the larger
    for k in pairs:
        in_cols[k] = None  # (not the contract column it would fall back to)
    check_input_columns(data.name, rb, in_cols, pairs)
    _refuse_units(data, rb, cols, in_cols)
    known = {cols[k] for k in cols} | {c for c in in_cols if c} \
        | {c for cs in pairs.values() for c in cs}
    cells = RowCells(data, cols["client_id"], known)
    notes = Problems(cells.rows)
    ids = read_ids(cells, cols["client_id"], notes)
    inputs, larger = read_inputs(rb, cells, in_cols, pairs, notes)
    tier_sub: dict[str, list[str]] = {}
    ranks = {}
    for key in ("current_tier", "annual_tier", "override_tier"):
        ranks[key], named = read_tiers(rb, cells, cols.get(key), notes)
        if named is not None:
            tier_sub[key] = named
    override = ranks["override_tier"]
    approver = read_texts(cells, cols.get("override_approver"))
    _check_approvers(cells, cols, override, approver, notes)
    open_date = read_dates(cells, cols.get("open_date"), notes)
    # 调整日期 / 调整有效期至: read where an override is given (a bad date rejects that row)
    start, until = (read_override_dates(cells, cols.get(key), override, notes)
                    for key in ("override_date", "override_until"))
    _check_override_span(cells, cols, override, start, until, notes)
    risk_score = read_risk_scores(cells, cols.get("risk_score"), as_of, notes)
    notes.settle(inputs)
    return ClientTable(
        sheet=data.name, data=data, cols=cols, rulebook=rb, rows=cells.rows, client_id=ids,
        inputs=inputs, current=ranks["current_tier"], annual=ranks["annual_tier"],
        override=override, approver=approver,
        override_reason=read_texts(cells, cols.get("override_reason")), open_date=open_date,
        risk_score=risk_score, rejected=notes.rejected, flagged=notes.flagged, larger_of=larger,
        tier_sub=tier_sub, override_date=start, override_until=until)


def _refuse_units(data: SheetData, rb: Rulebook, cols: dict[str, int],
                  in_cols: list[int | None]) -> None:
    """Only money columns take a unit (资产权益（万元）); 客户编号（万元）, or a unit on an input
    that is not an amount, refuses the run."""
    for key, c in cols.items():
        unit, _f = unit_factor(data.header[c - 1])
        if unit and key not in MONEY_KEYS and c not in in_cols:
            raise WorkbookError(f"工作表“{data.name}”的列标题“{data.header[c - 1]}”带有金额单位"
                                f"“{unit}”，但该列不是金额：请删去标题中的单位。")
    for spec, ic in zip(rb.inputs, in_cols, strict=True):
        if ic is None:
            continue
        unit = unit_factor(data.header[ic - 1])[0]
        if unit and not spec.money:
            raise WorkbookError(f"工作表“{data.name}”的列标题“{data.header[ic - 1]}”带有金额单位"
                                f"“{unit}”，但{spec.label}不是金额（规则 {rb.ref}）：请删去标题中的单位。")


def _check_approvers(cells: RowCells, cols: dict[str, int], override: np.ndarray,
                     approver: list[str | None], notes: Problems) -> None:
    """An override without 调整审批人 rejects the row (it must be approved)."""
    if "override_tier" not in cols:
        return
    oh = cells.header(cols["override_tier"])
    ov = cells.values(cols["override_tier"])
    for i in np.flatnonzero(override >= 0):
        if not approver[i]:
            notes.reject(int(i), oh, ov[i], f"特别调整为 {show(ov[i])}，但“调整审批人”为空（须经审批）")


def _check_override_span(cells: RowCells, cols: dict[str, int], override: np.ndarray,
                         start: list[dt.date | None], until: list[dt.date | None],
                         notes: Problems) -> None:
    """调整有效期至 before 调整日期 rejects the row."""
    if "override_tier" not in cols:
        return
    oh = cells.header(cols["override_tier"])
    for i in np.flatnonzero(override >= 0).tolist():
        s, u = start[i], until[i]
        if s and u and u < s:
            notes.reject(i, oh, cells.values(cols["override_tier"])[i],
                         f"调整有效期至 {u.isoformat()} 早于调整日期 {s.isoformat()}")


__all__ = [
    "CLIENT_SHEET_NAMES",
    "COLUMNS",
    "HISTORY_SHEET_NAMES",
    "OUTPUT_COLUMNS",
    "SUMMARY_SHEET_NAMES",
    "ClientTable",
    "Column",
    "LargerOf",
    "Rejection",
    "WorkbookError",
    "XlsxError",
    "column_map",
    "find_sheet",
    "pick_sheet",
    "read_clients",
    "reason_text",
    "validate",
]
