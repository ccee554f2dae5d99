"""投资者适当性（2017 年办法）in the branch workbook: 投资者类别 and 风险等级 of sheet 客户, and the
check of the optional sheet 产品购买. The re-rating job and the audit call the same two entry
points, so what one writes the other proves:

* :func:`rate_clients` — per client of 客户: 投资者类别 (办法第八条、第十一条), 风险等级 C1–C5
  (the latest valid assessment, up or down; 最低类别; an expired assessment is written as
  ``测评过期``, never used) and 适当性依据 (the figures, the articles, the regime version);
* :func:`check_purchases` — every row of 产品购买 (客户编号, 产品, 产品风险等级, 日期,
  风险警示确认) above the client's level without a confirmed special written warning
  (第十九条), every sale to 最低类别 above R1 (第二十二条第（五）项), every purchase by a
  client without a valid level, listed with its row.

A firm selects the regime on 控制台 (``适当性规则 = csrc-2017``) or with ``client-rating rerate
--suitability csrc-2017``; without it nothing here runs and the seed regime (风险类别
保守型/稳健型/进取型) stays as it was. docs/suitability.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rules import appropriateness as ap
from rules import cells as coerce
from rules.errors import RuleError, RuleInputError, show

from .headers import find_header
from .schema import pick_sheet, reason_text
from .xlsxio import SheetData

PURCHASE_SHEET_NAMES = ("产品购买", "Purchases")
#: key -> (header, alias) of 产品购买
PURCHASE_COLUMNS = {"client_id": ("客户编号", "client_id"), "product": ("产品", "product"),
                    "product_level": ("产品风险等级", "product_level"), "date": ("日期", "date"),
                    "warned": ("风险警示确认", "warning_confirmed")}
#: key -> (header, alias) of the optional input columns of 客户 (client_type, risk_score,
#: assessed_on and risk_class are contract columns)
INPUT_COLUMNS = {"client_type": ("客户性质", "client_type"),
                 "financial_assets": ("金融资产", "financial_assets"),
                 "net_assets": ("净资产", "net_assets"),
                 "income": ("近三年年均收入", "avg_income"),
                 "investment_years": ("投资经历年限", "investment_years"),
                 "work_years": ("金融相关工作年限", "work_years"),
                 "qualified": ("专业资格", "qualified"),
                 "category": ("专业投资者类别", "professional_category"),
                 "request": ("投资者类别申请", "type_request"),
                 "lowest": ("最低类别", "lowest_class"),
                 "risk_score": ("风险测评得分", "risk_score"),
                 "assessed_on": ("测评日期", "assessed_on"),
                 "risk_class": ("风险类别", "risk_class")}
#: key -> header of the columns a run writes when the regime is selected
OUTPUT_HEADERS = {"investor_type": "投资者类别", "risk_level": "风险等级",
                  "suitability_basis": "适当性依据"}
EXPIRED = "测评过期"
#: the key of 变更记录's run statistics naming the regime (the audit reads it back)
STAT_KEY = "适当性规则"
_MONEY = {"financial_assets", "net_assets", "income", "investment_years", "work_years"}


def find_columns(header: Sequence[str], spec: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """key -> 1-based column for the headers of ``spec`` present (trimmed, case-insensitive)."""
    at = {key: find_header(header, names) for key, names in spec.items()}
    return {key: c + 1 for key, c in at.items() if c is not None}


def headers_read() -> set[str]:
    """Every header this module reads or writes in 客户 (for a reader that picks columns)."""
    return {n.casefold() for names in INPUT_COLUMNS.values() for n in names} | \
        {h.casefold() for h in OUTPUT_HEADERS.values()}


@dataclass
class Rating:
    """The regime's outcome for the rows of 客户 (index ``i`` = Excel row ``rows[i]``).

    ``investor_type``/``risk_level``/``basis``: the values to write (None: leave the cell);
    ``level[i]``: (level, lowest, professional) for matching, None where no valid level;
    ``problems``: (row, header, value, message) of cells that could not be read."""

    regime: ap.Regime
    rows: np.ndarray
    client_id: list[str]
    investor_type: list[str | None]
    risk_level: list[str | None]
    basis: list[str | None]
    level: list[tuple[str, bool, bool] | None]
    scheme: list[str]
    as_of: dt.date = dt.date.min
    #: (level, lowest, professional) whatever the assessment's age, and its last valid day
    assessed: list[tuple[str, bool, bool] | None] = field(default_factory=list)
    expires: list[dt.date | None] = field(default_factory=list)
    problems: list[tuple[int, str, Any, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return self.regime.ref


def rate_clients(data: SheetData, rows: np.ndarray, client_id: Sequence[str], as_of: dt.date,
                 regime_id: str = ap.DEFAULT_REGIME,
                 skip: Sequence[bool] | np.ndarray | None = None) -> Rating:
    """投资者类别 and 风险等级 of each client row (see module doc). ``skip[i]``: leave row ``i``
    alone (rejected by the job). Raises RuleError when the regime cannot be used."""
    rg = ap.get_regime(regime_id, as_of)
    cols = find_columns(data.header, INPUT_COLUMNS)
    n = len(rows)
    out = Rating(rg, np.asarray(rows), list(client_id), [None] * n, [None] * n, [None] * n,
                 [None] * n, [""] * n, as_of, [None] * n, [None] * n)
    if "client_type" not in cols:
        out.notes.append("客户表没有“客户性质”列：不填写投资者类别（须知道是个人还是机构/产品）。")
    for i in range(n):
        if skip is not None and skip[i]:
            continue
        r = int(rows[i])
        got, bad = _row_inputs(data, r, cols)
        if bad is not None:
            out.problems.append(bad)
            continue
        type_text = ""
        professional = False
        if "client_type" in cols:
            try:
                if got["client_type"] is None and got["category"] is None:
                    raise RuleInputError("客户性质为空：无法判断投资者类别", field="客户性质",
                                         kind="na")
                d = ap.investor_type(
                    rg, client_type=got["client_type"] or "机构", category=got["category"],
                    net_assets=got["net_assets"], financial_assets=got["financial_assets"],
                    income=got["income"], investment_years=got["investment_years"],
                    work_years=got["work_years"], qualified=bool(got["qualified"]),
                    request=got["request"])
                out.investor_type[i] = d.label
                professional = d.label != ap.ORDINARY
                type_text = d.reason
            except RuleInputError as e:
                key = _key_of(e.field)
                header = data.header[cols[key] - 1] if key in cols else (e.field or "客户性质")
                out.problems.append((r, header, got.get(key), reason_text(r, header, e.message)))
        level_text, lvl, scheme, why, base, last = _level(rg, got, as_of, r, data, cols, out)
        out.scheme[i] = scheme
        out.expires[i] = last
        if base is not None:
            out.assessed[i] = (base[0], base[1], professional)
        elif professional:
            out.assessed[i] = ("", False, True)
        if level_text is not None:
            out.risk_level[i] = level_text
            if lvl is not None:
                out.level[i] = (lvl[0], lvl[1], professional)
        elif professional:
            out.level[i] = ("", False, True)
        parts = [p for p in (type_text, why) if p]
        if parts:
            out.basis[i] = "；".join(parts)
    return out


def _key_of(field_name: str | None) -> str:
    for key, (header, _) in INPUT_COLUMNS.items():
        if header == field_name:
            return key
    return {"净资产": "net_assets", "金融资产": "financial_assets", "近三年年均收入": "income",
            "投资经历年限": "investment_years", "金融相关工作年限": "work_years",
            "专业投资者类别": "category", "投资者类别申请": "request"}.get(field_name or "",
                                                                   "client_type")


def _row_inputs(data: SheetData, r: int, cols: dict[str, int]
                ) -> tuple[dict[str, Any], tuple[int, str, Any, str] | None]:
    got: dict[str, Any] = {k: None for k in INPUT_COLUMNS}
    for key, c in cols.items():
        header = data.header[c - 1]
        v = data.value(r, c)
        try:
            if key in _MONEY:
                got[key] = coerce.number(v, header)
                if got[key] is not None and got[key] < 0:
                    raise RuleInputError(f"{header}不能为负数：{show(got[key])}", field=header, value=v)
            elif key in ("qualified", "lowest"):
                got[key] = coerce.flag(v, header)
            elif key == "risk_score":
                got[key] = coerce.number(v, header)
            elif key == "assessed_on":
                got[key] = coerce.date(v, header)
            else:
                got[key] = coerce.text(v, header)
        except RuleInputError as e:
            return got, (r, header, v, reason_text(r, header, e.message))
    return got, None


def _level(rg: ap.Regime, got: dict[str, Any], as_of: dt.date, r: int, data: SheetData,
           cols: dict[str, int], out: Rating
           ) -> tuple[str | None, tuple[str, bool] | None, str, str, tuple[str, bool] | None,
                      dt.date | None]:
    """(text to write, (level, lowest) for matching on ``as_of``, scheme, reason, the
    assessment's (level, lowest) whatever its age, its last valid day) of one row."""
    lowest = bool(got["lowest"])
    score = got["risk_score"]
    try:
        if lowest:
            d = ap.investor_level(score, True, rg)
            level, scheme = ("C1", True), "最低类别"
        elif score is not None:
            d = ap.investor_level(score, False, rg)
            level, scheme = (d.label, False), "问卷得分"
        elif got["risk_class"]:
            d = ap.legacy_level(got["risk_class"], rg)
            level, scheme = (d.label, False), "2009 年风险类别对照"
        else:
            return None, None, "", "无风险测评：没有风险等级，不得据以销售（办法第十条）", None, None
    except RuleInputError as e:
        key = "risk_score" if score is not None else "risk_class"
        header = data.header[cols[key] - 1] if key in cols else key
        out.problems.append((r, header, got.get(key), reason_text(r, header, e.message)))
        return None, None, "", "", None, None
    text = ap.level_text(*level)
    done = got["assessed_on"]
    if done is None:
        return (text, level, scheme, f"{d.reason}；无测评日期：无法核对测评是否在有效期内", level,
                None)
    try:
        st = ap.assessment_status(done, as_of, rg)
    except RuleInputError as e:
        header = data.header[cols["assessed_on"] - 1]
        out.problems.append((r, header, done, reason_text(r, header, e.message)))
        return None, None, scheme, "", None, None
    if not st.valid:
        return (EXPIRED, None, scheme, f"原测评结果 {text}（{scheme}）；{st.reason}", level,
                st.expires_on)
    return text, level, scheme, f"{d.reason}；{st.reason}", level, st.expires_on


# --------------------------------------------------------------------------- 产品购买


@dataclass(frozen=True)
class PurchaseFinding:
    """One row of 产品购买 the regime does not allow as recorded. ``kind``: ``unsuitable``
    (above the level, no confirmed warning), ``forbidden`` (最低类别 above R1), ``no_level``
    (no valid level: none, expired), ``unknown_client``, ``bad_value``, ``missing_column``."""

    row: int
    client_id: str
    column: str
    value: Any
    kind: str
    reason: str
    result: str = ""

    def text(self, sheet: str = "产品购买") -> str:
        where = f"{sheet}第 {self.row} 行" if self.row else sheet
        return f"{where}：{self.reason}"


def check_purchases(sheet: SheetData, rating: Rating) -> list[PurchaseFinding]:
    """Every purchase the regime does not allow as recorded (see :class:`PurchaseFinding`)."""
    cols = find_columns(sheet.header, PURCHASE_COLUMNS)
    missing = [PURCHASE_COLUMNS[k][0] for k in ("client_id", "product_level") if k not in cols]
    if missing:
        return [PurchaseFinding(0, "", "、".join(missing), None, "missing_column",
                                f"缺少“{'”“'.join(missing)}”列：无法核对产品购买")]
    index = {cid: i for i, cid in enumerate(rating.client_id) if cid}
    no_warn_col = "warned" not in cols
    rg = rating.regime
    out: list[PurchaseFinding] = []
    for r in range(2, sheet.n_rows + 1):
        raw_id = sheet.value(r, cols["client_id"])
        raw_level = sheet.value(r, cols["product_level"])
        product = sheet.value(r, cols["product"]) if "product" in cols else None
        if all(v is None or (isinstance(v, str) and not v.strip())
               for v in (raw_id, raw_level, product)):
            continue
        cid = _cell_id(raw_id)
        name = f"{_coerce_text(product) or '（未写产品）'}"
        try:
            prod = ap.parse_product(raw_level if isinstance(raw_level, str) else show(raw_level))
            warned = False if no_warn_col else bool(coerce.flag(sheet.value(r, cols["warned"]),
                                                                "风险警示确认"))
            when = coerce.date(sheet.value(r, cols["date"]), "日期") if "date" in cols else None
        except RuleInputError as e:
            header = e.field if e.field in ("风险警示确认", "日期") else "产品风险等级"
            value = sheet.value(r, cols[{"风险警示确认": "warned", "日期": "date"}.get(
                header, "product_level")])
            out.append(PurchaseFinding(r, cid, header, value, "bad_value",
                                       f"「{header}」{e.message}：无法核对该笔购买"))
            continue
        i = index.get(cid)
        if i is None:
            out.append(PurchaseFinding(r, cid, "客户编号", raw_id, "unknown_client",
                                       f"客户编号 {show(raw_id)} 不在“客户”表中：无法核对 {name}（{prod}）"))
            continue
        # the level on the day of the purchase (no date: on the day of the rating)
        day = when or rating.as_of
        lvl = rating.assessed[i]
        last = rating.expires[i]
        if lvl is None or (last is not None and day > last and not lvl[2]):
            shown = (f"测评已于 {last.isoformat()} 到期，购买日 {day.isoformat()}"
                     if lvl is not None and last is not None
                     else rating.risk_level[i] or "无风险测评")
            out.append(PurchaseFinding(
                r, cid, "产品风险等级", raw_level, "no_level",
                f"客户 {cid} 没有有效的风险等级（{shown}）却购买 {name}（{prod}）：须先完成有效的风险测评"
                f"（办法第二十一条；{rating.ref}）"))
            continue
        level, lowest, professional = lvl
        who = "专业投资者" if professional else ap.level_text(level, lowest)
        d = ap.match(who, prod, warned, rg)
        if d.label in (ap.SUITABLE, ap.WARNED):
            continue
        kind = "forbidden" if d.label == ap.FORBIDDEN else "unsuitable"
        note = "（表中没有“风险警示确认”列）" if no_warn_col and kind == "unsuitable" else ""
        out.append(PurchaseFinding(r, cid, "产品风险等级", raw_level, kind,
                                   f"客户 {cid} 购买 {name}：{d.reason}{note}", d.label))
    return out


def _cell_id(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v).strip()


def _coerce_text(v: Any) -> str:
    if v is None:
        return ""
    return _cell_id(v)


def purchase_warnings(findings: Sequence[PurchaseFinding], sheet: str = "产品购买") -> list[str]:
    """The job's warning lines for the purchase findings."""
    return [f.text(sheet) for f in findings]



# --------------------------------------------------------------------------- the audit


def selected_regime(runs: Sequence[Any]) -> str | None:
    """The regime id the last run that named one used (变更记录 统计 ``适当性规则=…``)."""
    for run in reversed(runs):
        ref = run.stats.get(STAT_KEY)
        if ref:
            return ref.split("@", 1)[0]
    return None


def audit_findings(sheets: Mapping[str, SheetData], table: Any, as_of: dt.date,
                   runs: Sequence[Any]) -> tuple[list[Any], list[str]]:
    """The audit's check of the 2017 regime, where a run used it: (findings, notes).

    * every row of 产品购买 the regime does not allow (:func:`check_purchases`, each judged on
      its own date), 警告;
    * a 风险等级 or 投资者类别 cell that is not what the regime gives on the last run's data
      (typed over, or its inputs changed since that run), 警告;
    * cells the regime cannot read, 提示."""
    from rules.schedule import parse_period

    from .audit.model import CHECK_POLICY, WARN, Finding

    regime_id = selected_regime(runs)
    if regime_id is None:
        return [], []
    data = table.data
    skip = ~table.ok
    try:
        period_end = parse_period(runs[-1].get("评级期间")).end
    except RuleError:
        period_end = as_of
    try:
        at_run = rate_clients(data, table.rows, table.client_id, period_end, regime_id, skip)
        now = rate_clients(data, table.rows, table.client_id, as_of, regime_id, skip)
    except RuleError as e:
        return [Finding(WARN, CHECK_POLICY, "suitability_regime", data.name,
                        explanation=f"适当性规则 {regime_id} 无法使用：{getattr(e, 'message', e)}")], []
    notes = [f"投资者适当性按 {now.ref} 核对（最近一次运行所用，审计日 {as_of.isoformat()}）。"]
    out = _output_findings(table, at_run, runs[-1].get("评级期间"))
    out += _unreadable_findings(table, now)
    out += _purchase_findings(sheets, now)
    return out, notes


def _output_findings(table: Any, at_run: Rating, period: str) -> list[Any]:
    """风险等级 / 投资者类别 cells that are not what the regime gave on the run's data."""
    from .audit.model import CHECK_POLICY, WARN, Finding
    from .xlsxio import col_letter

    data = table.data
    out: list[Any] = []
    cols = find_columns(data.header, {k: (h,) for k, h in OUTPUT_HEADERS.items()})
    for key in ("investor_type", "risk_level"):
        c = cols.get(key)
        if c is None:
            continue
        want_all = at_run.investor_type if key == "investor_type" else at_run.risk_level
        for i, r in enumerate(table.rows.tolist()):
            want = want_all[i]
            got = data.value(r, c)
            got_t = _cell_id(got)
            if want is None or not got_t or got_t == want:
                continue
            out.append(Finding(
                WARN, CHECK_POLICY, f"{key}_mismatch", data.name, f"{col_letter(c)}{r}",
                table.client_id[i], got_t, want,
                f"{OUTPUT_HEADERS[key]} {got_t} 不是按本行数据和 {at_run.ref} 得出的 {want}"
                f"（{period} 期末）：单元格被手工改动，或数据在运行后被修改",
                "", at_run.ref))
    return out


def _unreadable_findings(table: Any, now: Rating) -> list[Any]:
    """Cells the regime cannot read (提示)."""
    from .audit.model import CHECK_DATA, INFO, Finding
    from .xlsxio import col_letter

    data = table.data
    out: list[Any] = []
    for r, header, value, msg in now.problems:
        c = data.col_of(header)
        out.append(Finding(INFO, CHECK_DATA, "suitability_cell_invalid", data.name,
                           f"{col_letter(c)}{r}" if c else f"A{r}", _row_id(table, r),
                           show(value) if not isinstance(value, str) else value, "",
                           f"{msg}：适当性（{now.ref}）不能据此判断"))
    return out


def _purchase_findings(sheets: Mapping[str, SheetData], now: Rating) -> list[Any]:
    """The rows of 产品购买 the regime does not allow, each on its own date (警告)."""
    from .audit.model import CHECK_POLICY, WARN, Finding
    from .xlsxio import col_letter

    name = pick_sheet(list(sheets), PURCHASE_SHEET_NAMES)  # the sheet the job checks
    if name is None:
        return []
    buy = sheets[name]
    out: list[Any] = []
    pcols = find_columns(buy.header, PURCHASE_COLUMNS)
    for f in check_purchases(buy, now):
        c = pcols.get({"客户编号": "client_id", "风险警示确认": "warned",
                       "日期": "date"}.get(f.column, "product_level"))
        cell = f"{col_letter(c)}{f.row}" if c and f.row else ""
        out.append(Finding(WARN, CHECK_POLICY, f"purchase_{f.kind}", buy.name, cell,
                           f.client_id, show(f.value) if not isinstance(f.value, str)
                           else f.value, f.result, f.reason, "", now.ref))
    return out


def _row_id(table: Any, r: int) -> str:
    at = np.flatnonzero(table.rows == r)
    return table.client_id[int(at[0])] if len(at) else ""
