"""Check 5 of the audit: the written policy on the data of sheet 客户, and the rows the
re-rating job would reject.

* overrides (特别调整级别) without an approver (WORKBOOK.md: the job rejects such a row);
* a 风险类别 that differs from the class of the questionnaire score (POLICY R2 第五条);
* questionnaires (测评日期) older than two years on the audit date (第十一条, ``rules.suitability``);
* clients whose figures sit in a gap the rule verifier knows (``rules.verify``: a point only the
  catch-all rule covers although explicit rules cover both sides, e.g. brokerage assets of exactly
  10,000,000 → 普通客户);
* suitability breaches (第十九条) where a product-risk column exists (a header containing
  “产品风险”, or ``product_risk``): a product riskier than the client's class allows, unless a
  column like 已提示风险 / 风险提示留痕 says the warning was given.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from rules import Rulebook, RuleError, RuleInputError, get_rulebook, verify
from rules import suitability as suit
from rules.errors import show

from ..schema import ClientTable, input_columns
from ..xlsxio import col_letter
from .functions import coerce_date, flag
from .model import CHECK_DATA, CHECK_POLICY, INFO, SEVERE, WARN, Finding

_PRODUCT = re.compile(r"产品风险|product[_ ]?risk", re.I)
_WARNED = re.compile(r"风险提示|已提示|留痕|risk[_ ]?warn", re.I)
_SPLIT = re.compile(r"[、,，;；/\s]+")


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def check_policy(t: ClientTable, as_of: dt.date, *, skip_cells: set[tuple[int, int]],
                 logged: dict[str, tuple[float, int]] | None = None,
                 risk_rb: Rulebook | None = None) -> list[Finding]:
    """All policy findings on a validated 客户 table. ``skip_cells`` are (row, col) already
    reported by the formula check (not reported twice); ``logged`` the latest score each
    client's history records (see :func:`risk_class_verdict`)."""
    out: list[Finding] = []
    out += _overrides(t)
    out += _risk_classes(t, as_of, skip_cells, logged or {}, risk_rb)
    out += _questionnaires(t, as_of)
    out += _gaps(t)
    out += _suitability(t, as_of, risk_rb)
    return out


def _cell(t: ClientTable, i: int, key: str) -> tuple[str, Any]:
    c = t.cols[key]
    r = int(t.rows[i])
    return f"{col_letter(c)}{r}", t.data.value(r, c)


def _overrides(t: ClientTable) -> list[Finding]:
    if "override_tier" not in t.cols:
        return []
    out = []
    for i in np.flatnonzero(t.override >= 0).tolist():
        if t.approver[i]:
            continue
        addr, v = _cell(t, i, "override_tier")
        if "override_approver" in t.cols:
            addr, _ = _cell(t, i, "override_approver")
        out.append(Finding(
            WARN, CHECK_POLICY, "override_no_approver", t.data.name, addr, t.client_id[i],
            show(v) if not isinstance(v, str) else v, "调整审批人",
            f"特别调整为 {_text(v)}，但没有调整审批人：特别调整须经审批并留痕"
            "（重评级时该行被拒绝，调整不生效）"))
    return out


def _risk_rulebook(as_of: dt.date, risk_rb: Rulebook | None) -> Rulebook:
    return risk_rb or get_rulebook("risk-class", as_of)


def risk_class_verdict(found: str, score: float, logged: tuple[float, int] | None,
                       rc: Rulebook) -> tuple[str, str]:
    """Severity and explanation of a 风险类别 value that is not the class of the score now.

    The job writes the class of the score it reads and logs the score with every 变更 row:
    if the latest logged score is the score now, the cell was changed after that run (严重);
    if the cell holds the class of the logged score, the score was updated since (提示);
    otherwise nothing proves either (警告)."""
    if logged is not None:
        s, row = logged
        if s == score:
            return SEVERE, (f"变更记录第 {row} 行记录的得分也是 {show(s)}：风险类别在运行后被手工改动")
        try:
            then = rc.evaluate(s).label
        except RuleInputError:
            then = None
        try:
            same = then is not None and suit.normalize_risk_class(found) == then
        except RuleInputError:
            same = False
        if same:
            return INFO, (f"与变更记录第 {row} 行记录的得分 {show(s)} 的类别一致：测评得分在运行后已更新，"
                          "下次重评级将更正")
    return WARN, "若测评得分刚更新，下次重评级会更正；否则是手工改动，请核对"


def _risk_classes(t: ClientTable, as_of: dt.date, skip: set[tuple[int, int]],
                  logged: dict[str, tuple[float, int]], risk_rb: Rulebook | None
                  ) -> list[Finding]:
    if "risk_class" not in t.cols:
        return []
    c = t.cols["risk_class"]
    rc = _risk_rulebook(as_of, risk_rb)
    good = np.isfinite(t.risk_score)
    if not good.any():
        return []
    idx = np.flatnonzero(good)
    batch = rc.evaluate_many([t.risk_score[idx]])
    labels, rule_ids, rule_index = (batch.labels.tolist(), batch.rule_ids.tolist(),
                                    batch.rule_index.tolist())
    out = []
    for k, i in enumerate(idx.tolist()):
        if rule_index[k] < 0:
            continue
        r = int(t.rows[i])
        if (r, c) in skip:
            continue
        want = str(labels[k])
        v = t.data.value(r, c)
        got = _text(v)
        score = show(float(t.risk_score[i]))
        if not got:
            if (r, c) in t.data.formulas:
                continue
            out.append(Finding(
                INFO, CHECK_POLICY, "risk_class_missing", t.data.name, f"{col_letter(c)}{r}",
                t.client_id[i], "", want, f"风险测评得分 {score}，风险类别为空（应为 {want}）",
                str(rule_ids[k]), rc.ref))
            continue
        try:
            same = suit.normalize_risk_class(got) == want
        except RuleInputError:
            same = False
        if same:
            continue
        formula = t.data.formulas.get((r, c))
        where = f"（公式 ={formula}）" if formula else ""
        if formula:
            sev, why = SEVERE, "公式引用的得分不是本行的"
        else:
            sev, why = risk_class_verdict(got, float(t.risk_score[i]),
                                          logged.get(t.client_id[i]), rc)
        out.append(Finding(
            sev, CHECK_POLICY, "risk_class_mismatch", t.data.name, f"{col_letter(c)}{r}",
            t.client_id[i], got, want,
            f"风险类别 {got}{where}与问卷得分 {score} 的类别 {want} 不符（风险类别须与客户签署的问卷一致，"
            f"第五条；它决定可购买的产品，第十九条）：{why}", str(rule_ids[k]), rc.ref))
    return out


def _questionnaires(t: ClientTable, as_of: dt.date) -> list[Finding]:
    c = t.cols.get("assessed_on")
    if c is None:
        return []
    out = []
    header = t.data.header[c - 1]
    has_score = np.isfinite(t.risk_score)
    for i in range(len(t)):
        r = int(t.rows[i])
        v = t.data.value(r, c)
        addr = f"{col_letter(c)}{r}"
        try:
            d = coerce_date(v, header)
        except RuleInputError as e:
            out.append(Finding(INFO, CHECK_POLICY, "assessment_date_invalid", t.data.name, addr,
                               t.client_id[i], _text(v), "", f"测评日期无法识别：{e.message}"))
            continue
        if d is None:
            if has_score[i]:
                out.append(Finding(
                    INFO, CHECK_POLICY, "assessment_date_missing", t.data.name, addr,
                    t.client_id[i], "", "", "有风险测评得分但没有测评日期：无法判断是否须重新评估"))
            continue
        if d > as_of:
            out.append(Finding(INFO, CHECK_POLICY, "assessment_in_future", t.data.name, addr,
                               t.client_id[i], d.isoformat(), "",
                               f"测评日期 {d} 晚于审计日期 {as_of}"))
            continue
        st = suit.reassessment_due(d, as_of)
        if st.overdue:
            out.append(Finding(WARN, CHECK_POLICY, "questionnaire_overdue", t.data.name, addr,
                               t.client_id[i], d.isoformat(), st.due_on.isoformat(),
                               st.text_zh, "第十一条"))
    return out


def _explicit(rb: Rulebook, cols: list[np.ndarray]) -> np.ndarray:
    """Rows matched by at least one explicit (not catch-all) rule."""
    n = len(cols[0])
    m = np.zeros(n, bool)
    for r in rb.rules:
        if r.default:
            continue
        hit = np.ones(n, bool)
        for c in r.conds:
            hit &= c.mask(cols[c.index])
        m |= hit
    return m


def _neighbours(rb: Rulebook, k: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values in the elementary cells just below and above each ``x`` along input ``k`` (the
    cells of ``rules.verify``: each bound a point, open stretches between); NaN where none."""
    spec = rb.inputs[k]
    lo_dom = spec.min if spec.min is not None else -np.inf
    bounds = sorted({b for r in rb.rules for c in r.conds if c.index == k
                     for b in (c.lo, c.hi) if np.isfinite(b)})
    b = np.array(bounds, float)
    step = 1.0 if spec.integer else 0.005
    below = np.full(len(x), np.nan)
    above = np.full(len(x), np.nan)
    if not len(b):
        return below, above
    pos = np.searchsorted(b, x, side="left")
    at_bound = (pos < len(b)) & (b[np.minimum(pos, len(b) - 1)] == x)
    # x on a bound: the open stretches on either side
    below[at_bound] = x[at_bound] - step
    above[at_bound] = x[at_bound] + step
    # x inside a stretch: the bounds on either side
    inside = ~at_bound
    has_lo = inside & (pos > 0)
    below[has_lo] = b[pos[has_lo] - 1]
    has_hi = inside & (pos < len(b))
    above[has_hi] = b[np.minimum(pos[has_hi], len(b) - 1)]
    below[below < lo_dom] = np.nan
    return below, above


def _gaps(t: ClientTable) -> list[Finding]:
    rb = t.rulebook
    try:
        gaps = [f for f in verify.check(rb) if f.kind == "gap"]
    except RuleError:
        return []
    if not gaps:
        return []
    ok = t.ok
    cols = [np.where(ok, c, 0.0) for c in t.inputs]
    cand = ok & ~_explicit(rb, cols)
    if not cand.any():
        return []
    idx = np.flatnonzero(cand)
    sub = [c[idx] for c in cols]
    batch = rb.evaluate_many(sub)
    labels, rule_ids = batch.labels.tolist(), batch.rule_ids.tolist()
    names = [s.name for s in rb.inputs]
    out = []
    done: set[int] = set()
    for g in gaps:
        inp = g.detail.get("input")
        k = names.index(inp) if isinstance(inp, str) and inp in names else None
        if k is None:
            continue
        below, above = _neighbours(rb, k, sub[k])
        lo_cols = [c.copy() for c in sub]
        hi_cols = [c.copy() for c in sub]
        lo_cols[k] = np.where(np.isnan(below), sub[k], below)
        hi_cols[k] = np.where(np.isnan(above), sub[k], above)
        hole = (_explicit(rb, lo_cols) & _explicit(rb, hi_cols)
                & ~np.isnan(below) & ~np.isnan(above))
        c = _input_col(t, k)
        for j in np.flatnonzero(hole).tolist():
            i = int(idx[j])
            if i in done:
                continue
            done.add(i)
            r = int(t.rows[i])
            figures = "，".join(f"{s.label} {show(float(sub[q][j]))}"
                               for q, s in enumerate(rb.inputs))
            out.append(Finding(
                WARN, CHECK_POLICY, "gap_figures", t.data.name,
                f"{col_letter(c)}{r}" if c else "", t.client_id[i],
                show(float(sub[k][j])), "",
                f"该客户的数据（{figures}）落在规则缺口上，按兜底规则 {rule_ids[j]} 评为 "
                f"{labels[j]}：{g.message}", str(rule_ids[j]), rb.ref))
    return out


def _input_col(t: ClientTable, k: int) -> int | None:
    got = input_columns(t.rulebook, t.cols, t.data.header)
    return got[k] if k < len(got) else None


def _suitability(t: ClientTable, as_of: dt.date, risk_rb: Rulebook | None) -> list[Finding]:
    header = t.data.header
    product_cols = [c for c, h in enumerate(header, start=1) if h and _PRODUCT.search(h)]
    if not product_cols:
        return []
    warned_cols = [c for c, h in enumerate(header, start=1)
                   if h and _WARNED.search(h) and c not in product_cols]
    rc = _risk_rulebook(as_of, risk_rb)
    rc_col = t.cols.get("risk_class")
    out = []
    for i in range(len(t)):
        r = int(t.rows[i])
        cls = _client_class(t, i, r, rc_col, rc)
        for c in product_cols:
            raw = _text(t.data.value(r, c))
            if not raw:
                continue
            addr = f"{col_letter(c)}{r}"
            for item in filter(None, _SPLIT.split(raw)):
                try:
                    pr = suit.normalize_product_risk(item)
                except RuleInputError as e:
                    out.append(Finding(INFO, CHECK_POLICY, "product_risk_invalid", t.data.name,
                                       addr, t.client_id[i], item, "低/中/高", e.message))
                    continue
                if cls is None:
                    out.append(Finding(
                        WARN, CHECK_POLICY, "suitability_no_class", t.data.name, addr,
                        t.client_id[i], pr, "", f"客户没有有效的风险类别，却有{pr}风险产品"
                        f"（{header[c - 1]}）：须先完成风险测评（第十九条）", "第十九条"))
                    continue
                if suit.suitable(cls, pr):
                    continue
                warned = _warned(t, r, warned_cols)
                out.append(Finding(
                    INFO if warned else WARN, CHECK_POLICY, "suitability_breach", t.data.name,
                    addr, t.client_id[i], f"{cls}·{pr}风险", "",
                    suit.suitability_note(cls, pr)
                    + ("；已提示风险并留痕" if warned else "；未见风险提示留痕"), "第十九条"))
    return out


def _client_class(t: ClientTable, i: int, r: int, rc_col: int | None, rc: Rulebook) -> str | None:
    if rc_col is not None:
        try:
            return suit.normalize_risk_class(_text(t.data.value(r, rc_col)))
        except RuleInputError:
            pass
    x = t.risk_score[i]
    if np.isfinite(x):
        try:
            return rc.evaluate(float(x)).label
        except RuleInputError:
            return None
    return None


def _warned(t: ClientTable, r: int, cols: list[int]) -> bool:
    for c in cols:
        try:
            if flag(t.data.value(r, c), "风险提示"):
                return True
        except RuleInputError:
            if _text(t.data.value(r, c)):
                return True
    return False


def check_rejections(t: ClientTable, col_of: Callable[[str], int | None]) -> list[Finding]:
    """The rows the re-rating job rejects (except overrides without approver: a policy finding)."""
    out = []
    for i in sorted(t.rejected):
        rj = t.rejected[i]
        if "调整审批人" in rj.reason and "特别调整" in rj.reason:
            continue
        c = col_of(rj.column)
        addr = f"{col_letter(c)}{rj.row}" if c else f"A{rj.row}"
        out.append(Finding(INFO, CHECK_DATA, "invalid_row", t.data.name, addr, rj.client_id,
                           show(rj.value) if not isinstance(rj.value, str) else rj.value, "",
                           f"{rj.reason}：重评级时该行被拒绝，其单元格保持原样"))
    for i in sorted(t.flagged):  # a bad secondary field: the row is rated, the field is not
        fl = t.flagged[i]
        c = col_of(fl.column)
        addr = f"{col_letter(c)}{fl.row}" if c else f"A{fl.row}"
        out.append(Finding(INFO, CHECK_DATA, "invalid_field", t.data.name, addr, fl.client_id,
                           show(fl.value) if not isinstance(fl.value, str) else fl.value, "",
                           f"{fl.reason}：重评级时照常评级，该字段被标记"))
    return out
