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
import unicodedata
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rules import Rulebook, RuleInputError, get_rulebook
from rules.errors import show
from rules.money import to_cents_array
from udfs import _coerce

from .headers import header_name, split_unit, unit_factor
from .xlsxio import SheetData, XlsxError, read_sheet, sheet_names
from .xlsxio.errors import CellError


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


def find_sheet(path: str | os.PathLike[str], names: tuple[str, ...]) -> str | None:
    """The first sheet whose name (trimmed, case-insensitive) is one of ``names``."""
    existing = sheet_names(path)
    folded = {n.strip().casefold(): n for n in existing}
    for n in names:
        if n.casefold() in folded:
            return folded[n.casefold()]
    return None


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
class Rejection:
    """A row's problems: one message listing every problem of the row. ``column`` and ``value``
    are the first problem's (the cell to point at); ``problems`` holds (header, value, message)
    of each, ``reason`` all of them: ``第 7 行「资产权益」：不能为负数：-5；「上年度净佣金」：…``."""

    row: int  # Excel row number
    client_id: str
    column: str  # the header as it is in the file
    value: Any
    reason: str  # "第 7 行「资产权益」：不能为负数：-5"
    problems: list[tuple[str, Any, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.problems:
            self.problems = [(self.column, self.value, self.reason)]

    @classmethod
    def of(cls, row: int, client_id: str, header: str, value: Any, message: str) -> Rejection:
        return cls(row, client_id, header, value, reason_text(row, header, message),
                   [(header, value, message)])

    def add(self, header: str, value: Any, message: str) -> None:
        """One more problem of the row (the reason then lists it too); a repeat is ignored."""
        if any(h == header and m == message for h, _v, m in self.problems):
            return
        self.problems.append((header, value, message))
        self.reason += f"；「{header}」：{_strip_field(message, header)}"

    @property
    def columns(self) -> list[str]:
        """The headers of every problem, first first (once each)."""
        return list(dict.fromkeys(h for h, _v, _m in self.problems))

    @property
    def inputs_text(self) -> str:
        """``资产权益=-5；上年度净佣金='abc'``: the values of every problem (变更记录 输入数据)."""
        seen: list[tuple[str, str]] = []  # (a cell with two problems is shown once)
        for h, v, _m in self.problems:
            if (h, show(v)) not in seen:
                seen.append((h, show(v)))
        return "；".join(f"{h}={v}" for h, v in seen)

    def as_tuple(self) -> tuple[int, str, str, Any, str]:
        """(row, 客户编号, column(s), value(s), reason): several problems give the headers
        joined by 、 and the values by ；."""
        if len(self.problems) > 1:
            return (self.row, self.client_id, "、".join(self.columns),
                    "；".join(show(v) for _h, v, _m in self.problems), self.reason)
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


def _strip_field(message: str, field_name: str) -> str:
    m = message.strip()
    if m.startswith(field_name):
        m = m[len(field_name):].lstrip("：: ")
    return m


def reason_text(row: int, header: str, message: str) -> str:
    return f"第 {row} 行「{header}」：{_strip_field(message, header)}"


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


@dataclass(frozen=True)
class LargerOf:
    """An input read as the larger of columns (``InputSpec.larger_of``; seed 001 第八条: 日均资产
    is 上年度或本年度日均客户资产, the larger): per row the figures read (NaN where empty or
    bad) and which column was used (-1: none, the row is rejected)."""

    label: str
    unit: str
    headers: tuple[str, ...]
    values: tuple[np.ndarray, ...]
    used: np.ndarray

    def value(self) -> np.ndarray:
        """The input per row: the figure of the column used (0 where none)."""
        got = np.zeros(len(self.used))
        for k, v in enumerate(self.values):
            got[self.used == k] = v[self.used == k]
        return got

    def note(self, i: int) -> str:
        """``日均资产取上年日均资产 600,000 元与本年日均资产 450,000 元中的较大者（上年日均资产）；``"""
        u = f" {self.unit}" if self.unit else ""
        k = int(self.used[i])
        if k < 0:
            return ""
        have = [(h, float(v[i])) for h, v in zip(self.headers, self.values, strict=True)
                if np.isfinite(v[i])]
        empty = [h for h, v in zip(self.headers, self.values, strict=True) if not np.isfinite(v[i])]
        if len(have) == 1:
            h, v = have[0]
            return f"{self.label}取{h} {show(v)}{u}（{'、'.join(empty)}为空）；"
        figures = "与".join(f"{h} {show(v)}{u}" for h, v in have)
        which = ("两者相等" if len({v for _h, v in have}) == 1 else self.headers[k])
        return f"{self.label}取{figures}中的较大者（{which}）；"

    def logged(self, i: int) -> str:
        """The figures for 变更记录's 输入数据: ``上年日均资产=600,000；本年日均资产=（空）``."""
        return "；".join(f"{h}={_exact_text(float(v[i])) if np.isfinite(v[i]) else '（空）'}"
                        for h, v in zip(self.headers, self.values, strict=True))


def _exact_text(x: float) -> str:
    return f"{int(x):,}" if x.is_integer() and abs(x) < 1e15 else f"{x:,}"


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
    pairs = larger_of_columns(rb, data.header)  # 日均资产 as 上年/本年日均资产: the larger
    for k in pairs:
        in_cols[k] = None  # (not the contract column it would fall back to)
    check_input_columns(data.name, rb, in_cols, pairs)
    known = {cols[k] for k in cols} | {c for c in in_cols if c} \
        | {c for cs in pairs.values() for c in cs}
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

    flagged: dict[int, Rejection] = {}

    def note(into: dict[int, Rejection], i: int, header: str, value: Any, message: str) -> None:
        got = into.get(i)
        if got is None:
            into[i] = Rejection.of(int(rows[i]), ids[i] if i < len(ids) else "", header, value,
                                   message)
        else:
            got.add(header, value, message)

    def reject(i: int, header: str, value: Any, message: str) -> None:
        """A problem of a primary field: the row is not rated (every problem is listed)."""
        note(rejected, i, header, value, message)

    def flag(i: int, header: str, value: Any, message: str) -> None:
        """A problem of a secondary field (SECONDARY_KEYS): the row is rated, the field is not."""
        note(flagged, i, header, value, message)

    # units: only money columns take one (资产权益（万元）); 客户编号（万元） is refused
    for key, c in cols.items():
        unit, _f = unit_factor(data.header[c - 1])
        if unit and key not in MONEY_KEYS and c not in in_cols:
            raise WorkbookError(f"工作表“{data.name}”的列标题“{data.header[c - 1]}”带有金额单位"
                                f"“{unit}”，但该列不是金额：请删去标题中的单位。")

    # 客户编号: text, unique, required, never an Excel error value
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
    bad_ids: set[int] = set()
    for i in [i for i, cid in enumerate(ids) if cid[:1] == "#"]:
        v = raw_ids[i]
        if isinstance(v, CellError) or _coerce.is_error_text(ids[i]):
            ids[i] = ""  # (never a client "#REF!", in the result or the log)
            bad_ids.add(i)
            reject(i, id_header, v, f"客户编号单元格为错误值：{_id_text(v)}（请更正该单元格）")
    if "" in ids or len(set(ids)) != len(ids):
        seen: dict[str, list[int]] = defaultdict(list)
        for i, cid in enumerate(ids):
            if i in bad_ids:
                continue
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
    larger: dict[int, LargerOf] = {}
    for k, (spec, c) in enumerate(zip(rb.inputs, in_cols, strict=True)):
        if k in pairs:
            larger[k] = _larger_of(rb, spec, pairs[k], data.header, col_values, reject, m)
            inputs.append(to_cents_array(larger[k].value()) if spec.money else larger[k].value())
            continue
        assert c is not None  # (check_input_columns)
        header = data.header[c - 1]
        cells = col_values(c)
        arr, problems = _number_column(cells, header)
        unit, factor = unit_factor(header)
        if unit and not spec.money:
            raise WorkbookError(f"工作表“{data.name}”的列标题“{header}”带有金额单位“{unit}”，"
                                f"但{spec.label}不是金额（规则 {rb.ref}）：请删去标题中的单位。")
        if factor != 1:  # 资产权益（万元） 25 -> 250,000 元
            arr = arr * factor
            for i, v in enumerate(cells):
                if isinstance(v, str) and ("万" in v or "亿" in v) and i not in problems:
                    reject(i, header, v, f"单元格自带单位，而列标题已注明单位“{unit}”：{show(v)}"
                                         "（请只填数字）")
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
                msg = e.message if factor == 1 else f"{e.message}（{show(cells[i])} {unit}）"
                reject(int(i), header, cells[i], msg)
        # money at the cent (rules.money): the value the rules compare, logged as such
        inputs.append(to_cents_array(arr) if spec.money else arr)

    def tiers(key: str) -> np.ndarray:
        c = cols.get(key)
        if c is None:
            return np.full(m, -1, np.int32)
        header = data.header[c - 1]
        values = col_values(c)
        keys = _typed(values)
        rank: dict[Any, int] = {}  # each distinct cell once (a column holds a few labels)
        sub: dict[Any, str] = {}  # and the sub-class it names (A类核心), if any
        for k in dict.fromkeys(keys):
            v = k[1]
            if v is None or (isinstance(v, str) and not v.strip()):
                rank[k] = -1
                continue
            try:
                label, sub[k] = rb.tier_of(v if isinstance(v, str) else show(v))
                rank[k] = rb.rank(label)
            except RuleInputError:
                rank[k] = -2
        out = np.fromiter(map(rank.__getitem__, keys), np.int32, count=m)
        if any(sub.values()):
            tier_sub[key] = [sub.get(k, "") for k in keys]
        labels = rb.vocabulary.describe()  # (the names it knows: rules.vocabulary)
        for i in np.flatnonzero(out == -2).tolist():
            v = values[i]
            reject(i, header, v, f"未知的级别：{show(v)}（{rb.ref} 可用：{labels}）")
        out[out == -2] = -1
        return out

    tier_sub: dict[str, list[str]] = {}
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

    # 调整日期 / 调整有效期至: read where an override is given (a bad date rejects that row)
    override_dates: dict[str, list[dt.date | None]] = {}
    for key in ("override_date", "override_until"):
        override_dates[key] = _override_dates(data, cols, key, col_values, override, reject, m)
    if "override_tier" in cols:
        oh = data.header[cols["override_tier"] - 1]
        for i in np.flatnonzero(override >= 0).tolist():
            start, until = override_dates["override_date"][i], override_dates["override_until"][i]
            if start and until and until < start:
                reject(i, oh, col_values(cols["override_tier"])[i],
                       f"调整有效期至 {until.isoformat()} 早于调整日期 {start.isoformat()}")

    risk_score = np.full(m, np.nan)
    if "risk_score" in cols:
        h = data.header[cols["risk_score"] - 1]
        risk_rb = get_rulebook("risk-class", as_of or dt.date.today())
        spec = risk_rb.inputs[0]
        values = col_values(cols["risk_score"])
        arr, problems = _number_column(values, h)
        for i, p in problems.items():
            if p is not None:
                flag(i, h, values[i], f"{p.message}（未评定风险类别）")
        risk_score = np.where(np.isfinite(arr), arr, np.nan)
        for i in problems:
            risk_score[i] = np.nan
        for i in _outside(risk_score, spec):
            try:
                risk_rb.check_value(spec, float(risk_score[i]))
            except RuleInputError as e:
                flag(i, h, values[i], f"{e.message}（未评定风险类别）")
            risk_score[i] = np.nan

    # a rejected row lists its secondary problems too (every problem of the row, once)
    for i in [i for i in flagged if i in rejected]:
        for hd, v, msg in flagged.pop(i).problems:
            rejected[i].add(hd, v, msg)
    for i in rejected:
        for arr in inputs:
            arr[i] = 0.0
    return ClientTable(
        sheet=data.name, data=data, cols=cols, rulebook=rb, rows=rows, client_id=ids,
        inputs=inputs, current=current, annual=annual, override=override, approver=approver,
        override_reason=reasons, open_date=open_date, risk_score=risk_score, rejected=rejected,
        flagged=flagged, larger_of=larger, tier_sub=tier_sub,
        override_date=override_dates["override_date"],
        override_until=override_dates["override_until"])


def _id_text(v: Any) -> str:
    return v.text if isinstance(v, CellError) else str(v).strip()


def _override_dates(data: SheetData, cols: dict[str, int], key: str, col_values: Any,
                    override: np.ndarray, reject: Any, m: int) -> list[dt.date | None]:
    """调整日期 or 调整有效期至 of the rows with an override (None elsewhere, and where empty)."""
    out: list[dt.date | None] = [None] * m
    c = cols.get(key)
    if c is None:
        return out
    h = data.header[c - 1]
    values = col_values(c)
    for i in np.flatnonzero(override >= 0).tolist():
        try:
            out[i] = _coerce.date(values[i], h)
        except RuleInputError as e:
            reject(i, h, values[i], e.message)
    return out


def _larger_of(rb: Rulebook, spec: Any, columns: tuple[int, ...], header: list[str],
               col_values: Any, reject: Any, m: int) -> LargerOf:
    """Read an input as the larger of ``columns``: each cell a number ≥ the input's minimum or
    empty (a row rejected naming the cell otherwise); an empty cell leaves the other figure;
    all empty is a missing figure (0 where the input allows it)."""
    values: list[np.ndarray] = []
    raw = [col_values(c) for c in columns]
    for c, cells in zip(columns, raw, strict=True):
        h = header[c - 1]
        arr, problems = _number_column(cells, h)
        _unit, factor = unit_factor(h)  # 上年日均资产（万元）
        if factor != 1:
            arr = arr * factor
        for i, p in problems.items():
            if p is not None:
                reject(i, h, cells[i], p.message)
            arr[i] = np.nan
        for i in _outside(arr, spec):
            try:
                rb.check_value(spec, float(arr[i]))
            except RuleInputError as e:
                reject(int(i), h, cells[i], e.message.replace(spec.label, h, 1))
            arr[i] = np.nan
        values.append(np.where(np.isfinite(arr), arr, np.nan))
    stacked = np.vstack(values) if m else np.zeros((len(columns), 0))
    some = np.isfinite(stacked).any(axis=0)
    used = np.where(some, np.argmax(np.where(np.isfinite(stacked), stacked, -np.inf), axis=0), -1)
    headers = tuple(header[c - 1] for c in columns)
    for i in np.flatnonzero(~some).tolist():
        if spec.empty_is_zero:
            continue
        if all(v[i] is None or (isinstance(v[i], str) and not v[i].strip()) for v in raw):
            reject(i, headers[0], None,
                   "与" + "、".join(f"「{h}」" for h in headers[1:])
                   + f"均为空（必填：{spec.label}取两者中的较大者）")
    return LargerOf(spec.label, spec.unit, headers, tuple(values), used.astype(np.int32))


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
