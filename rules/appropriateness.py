"""投资者适当性（2017 年起）—— 证监会《证券期货投资者适当性管理办法》与证券业协会实施指引。

The regime a firm selects instead of (or next to) the 2009 seed classes of
``rules/suitability.py``. Its figures live in a versioned, effective-dated data file
``rules/data/suitability/<id>/<version>.toml`` (default ``csrc-2017``), the C-level score bands
in the decision-table rulebook ``investor-level`` (firm configuration, checked by ``rules
check``). Every decision explains itself: the figures compared, the result, the article and
``id@version``.

* :func:`investor_type` — 普通投资者 / 专业投资者A（第八条第（一）–（三）项）/ 专业投资者B
  （第（四）、（五）项），with both conversions (第十一条, 第十二条).
* :func:`investor_level` — C1–C5 from the questionnaire score, with the 最低类别 flag.
* :func:`match` — C-level × R-level (第十八条), the special written warning (第十九条) and the
  ban for 最低类别 (第二十二条第（五）项).
* :func:`assessment_status` — an assessment older than the firm's validity (default 2 years)
  is expired: flagged, never used silently.
* :func:`legacy_level` — the 2009 three types (保守型/稳健型/进取型) → C-levels (configuration).

Money is compared at the cent (``9,999,999.99`` is below 1000万; ``10,000,000.00`` is not).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ._common import add_years, as_date
from .errors import RuleInputError, show
from .regime import (
    DATA_DIR,
    DEFAULT_REGIME,
    FIRM_SETTINGS,
    LEVELS,
    PRODUCT_LEVELS,
    Regime,
    RegimeFile,
    get_regime,
    norm_key,
    regime_dirs,
    regime_ids,
    versions,
)

ORDINARY, PRO_A, PRO_B = "普通投资者", "专业投资者A", "专业投资者B"
INVESTOR_TYPES = (ORDINARY, PRO_A, PRO_B)
LOWEST_SUFFIX = "（最低类别）"
SUITABLE, NEEDS_WARNING, WARNED, FORBIDDEN = ("适当", "需特别风险警示", "可销售（已特别风险警示）",
                                              "不得销售")
MATCH_RESULTS = (SUITABLE, NEEDS_WARNING, WARNED, FORBIDDEN)
#: requests an investor can make (第十一条): be treated as ordinary / become professional
TO_ORDINARY, TO_PROFESSIONAL, TO_PROFESSIONAL_APPROVED = "申请普通", "申请专业", "批准专业"

#: the public names (the regimes' files and get_regime live in rules.regime: re-exported)
__all__ = [
    "DATA_DIR",
    "DEFAULT_REGIME",
    "FIRM_SETTINGS",
    "FORBIDDEN",
    "INVESTOR_TYPES",
    "LEVELS",
    "LOWEST_SUFFIX",
    "MATCH_RESULTS",
    "NEEDS_WARNING",
    "ORDINARY",
    "PRODUCT_LEVELS",
    "PRO_A",
    "PRO_B",
    "SUITABLE",
    "TO_ORDINARY",
    "TO_PROFESSIONAL",
    "TO_PROFESSIONAL_APPROVED",
    "WARNED",
    "AssessmentStatus",
    "Decision",
    "Regime",
    "RegimeFile",
    "assessment_status",
    "get_regime",
    "investor_level",
    "investor_type",
    "legacy_level",
    "level_text",
    "match",
    "parse_level",
    "parse_product",
    "regime_dirs",
    "regime_ids",
    "versions",
]


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Decision:
    """One explained decision: ``label`` (e.g. 专业投资者B, C3, 需特别风险警示), the clause that
    decided it, the Chinese ``reason`` with the figures, and the regime ``ref``."""

    label: str
    clause: str
    reason: str
    ref: str
    code: str = ""

    def __str__(self) -> str:
        return self.label


def _cents(x: float) -> int:
    return int(Decimal(repr(float(x))).scaleb(2).quantize(Decimal(1), ROUND_HALF_UP))


def _money(v: Any, field: str) -> float | None:
    """An amount in 元 (None where not given); negative, NaN or text is an error."""
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise RuleInputError(f"{field}不是数字：{show(v)}", field=field, value=v)
    x = float(v)
    if not math.isfinite(x):
        raise RuleInputError(f"{field}不是有效数字：{show(v)}", field=field, value=v)
    if x < 0:
        raise RuleInputError(f"{field}不能为负数：{show(v)}", field=field, value=v)
    return x


def _years(v: Any, field: str) -> float | None:
    return _money(v, field)


def _wan(x: float) -> str:
    w = x / 10_000
    return f"{w:g}万元" if w.is_integer() else f"{show(x)}元"


def _ge_money(x: float | None, lo: float) -> bool:
    return x is not None and _cents(x) >= _cents(lo)


def _ge(x: float | None, lo: float) -> bool:
    return x is not None and x >= lo


def _cmp(label: str, x: float | None, lo: float, unit: str = "元") -> str:
    """``金融资产 5,000,000 元 ≥ 500万元`` (or ``< …``, or ``未提供``)."""
    if x is None:
        return f"{label}未提供（须 ≥ {_wan(lo) if unit == '元' else show(lo) + unit}）"
    ok = _cents(x) >= _cents(lo) if unit == "元" else x >= lo
    bound = _wan(lo) if unit == "元" else f"{show(lo)}{unit}"
    return f"{label} {show(x)}{'元' if unit == '元' else unit} {'≥' if ok else '<'} {bound}"


_PERSON = {"个人", "自然人", "PERSON", "INDIVIDUAL", "个人客户"}
_INSTITUTION = {"机构", "法人", "其他组织", "产品", "INSTITUTION", "ORGANIZATION", "PRODUCT",
                "机构客户", "产品客户"}


def _client_kind(v: Any) -> str:
    k = norm_key(v) if v is not None else ""
    if k in _PERSON:
        return "个人"
    if k in _INSTITUTION:
        return "机构"
    raise RuleInputError(f"客户性质 {show(v)} 无法识别：应为 个人、机构 或 产品", field="客户性质",
                         value=v, kind="na")


def _request(v: Any) -> str | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    k = norm_key(v)
    if k in {norm_key(TO_ORDINARY), "转为普通", "选择普通", "普通", "普通投资者"}:
        return TO_ORDINARY
    if k in {norm_key(TO_PROFESSIONAL), "转为专业", "专业", "申请专业投资者"}:
        return TO_PROFESSIONAL
    if k in {norm_key(TO_PROFESSIONAL_APPROVED), "已批准专业", "转为专业(已批准)", "同意专业",
             "批准专业投资者"}:
        return TO_PROFESSIONAL_APPROVED
    raise RuleInputError(f"投资者类别申请 {show(v)} 无法识别：应为 申请普通、申请专业 或 批准专业（或留空）",
                         field="投资者类别申请", value=v, kind="na")


def investor_type(regime: Regime | None = None, *, client_type: Any, category: Any = None,
                  net_assets: Any = None, financial_assets: Any = None, income: Any = None,
                  investment_years: Any = None, work_years: Any = None,
                  qualified: bool = False, request: Any = None) -> Decision:
    """普通投资者 / 专业投资者A / 专业投资者B（办法第八条），with the conversions of 第十一条.

    ``category``: a 第八条第（一）–（三）项 category (一/二/三 or a word such as 金融机构,
    理财产品, QFII) → 专业投资者A. Otherwise institutions (``client_type`` 机构/产品) are
    professional B under 第（四）项 (net assets ≥ 2000万 and financial assets ≥ 1000万 at last
    year-end, ≥ 2 years' investment experience), individuals under 第（五）项 (financial assets
    ≥ 500万 or 3-year average income ≥ 50万, and ≥ 2 years' investment or relevant work
    experience, or ``qualified``: a senior manager of a 第（一）项 institution or a certified
    CPA/lawyer in finance). Anything not given counts as not met: the protective default is
    普通投资者 (办法第十条).

    ``request``: ``申请普通`` — a 第（四）/（五）项 professional asks in writing to be treated
    as ordinary (第十一条第二款; not open to category 一–三); ``申请专业`` — an ordinary
    investor asks to become professional: checked against the lower thresholds (institutions
    1000万/500万/1 year; individuals 300万 or 30万 income, 1 year), the firm still assesses
    and may refuse (第十二条), so the investor stays ordinary until ``批准专业`` (the firm
    approved: 专业投资者B by conversion).
    """
    rg = regime or get_regime()
    d = rg.data
    req = _request(request)
    ref = rg.ref
    if category is not None and not (isinstance(category, str) and not category.strip()):
        return _professional_a(rg, category, client_type, req)
    kind = _client_kind(client_type)
    net = _money(net_assets, "净资产")
    fin = _money(financial_assets, "金融资产")
    inc = _money(income, "近三年年均收入")
    inv = _years(investment_years, "投资经历年限")
    work = _years(work_years, "金融相关工作年限")
    is_pro, item, art, facts = _professional_b(rg, kind, net, fin, inc, inv, work, qualified)
    if is_pro:
        if req == TO_ORDINARY and item in d.to_ordinary.from_categories:
            clause = d.to_ordinary.article
            return Decision(ORDINARY, clause,
                            f"{facts}：符合第八条第（{item}）项，本人书面选择成为普通投资者 → {ORDINARY}"
                            f"（{clause}，{ref}）", ref, "CONV-TO-ORD")
        return Decision(PRO_B, art, f"{facts} → {PRO_B}（{art}，{ref}）", ref, f"PRO-B-{item}")
    if req in (TO_PROFESSIONAL, TO_PROFESSIONAL_APPROVED):
        return _conversion(rg, kind, net, fin, inc, inv, work, req, facts, item)
    clause = d.ordinary.article
    return Decision(ORDINARY, clause, f"{facts}：不符合第八条第（{item}）项 → {ORDINARY}"
                    f"（{clause}，{ref}）", ref, "ORD")


def _professional_a(rg: Regime, category: Any, client_type: Any, req: str | None) -> Decision:
    """第八条第（一）–（三）项: a category of institution, product or fund → 专业投资者A."""
    d, ref = rg.data, rg.ref
    cat = rg.categories.get(norm_key(category))
    if cat is None:
        codes = "、".join(f"{c.code}" for c in d.professional_a.categories)
        raise RuleInputError(
            f"专业投资者类别 {show(category)} 无法识别：应为第八条第（{codes}）项之一"
            "（如 金融机构、理财产品、养老基金、QFII），不属于时留空", field="专业投资者类别",
            value=category, kind="na")
    if client_type is not None and _client_kind(client_type) == "个人":
        raise RuleInputError(
            f"专业投资者类别 {show(category)}：第八条第（一）–（三）项是机构、产品和基金，"
            "个人客户不属于（个人按第（五）项）", field="专业投资者类别", value=category)
    clause = f"办法第八条第（{cat.code}）项"
    note = ""
    if req == TO_ORDINARY:
        note = f"；申请成为普通投资者不适用：{d.to_ordinary.article}只允许第（四）、（五）项的专业投资者选择"
    return Decision(PRO_A, clause, f"第八条第（{cat.code}）项：{cat.label} → {PRO_A}{note}"
                    f"（{clause}，{ref}）", ref, f"PRO-A-{cat.code}")


def _professional_b(rg: Regime, kind: str, net: float | None, fin: float | None,
                    inc: float | None, inv: float | None, work: float | None,
                    qualified: Any) -> tuple[bool, str, str, str]:
    """第八条第（四）项 (institutions) / 第（五）项 (individuals): (met, item, article, the
    figures compared as text)."""
    d = rg.data
    b = d.professional_b
    if kind == "机构":
        t = b.institution
        checks = [_cmp("最近1年末净资产", net, t.net_assets_min),
                  _cmp("最近1年末金融资产", fin, t.financial_assets_min),
                  _cmp("投资经历", inv, t.investment_years_min, "年")]
        is_pro = (_ge_money(net, t.net_assets_min) and _ge_money(fin, t.financial_assets_min)
                  and _ge(inv, t.investment_years_min))
        item, art = "四", t.article
        facts = "，".join(checks)
    else:
        ind = b.individual
        money_ok = _ge_money(fin, ind.financial_assets_min) or _ge_money(inc, ind.income_min)
        exp_ok = (_ge(inv, ind.investment_years_min) or _ge(work, ind.work_years_min)
                  or bool(qualified))
        is_pro = money_ok and exp_ok
        item, art = "五", ind.article
        facts = (f"{_cmp('金融资产', fin, ind.financial_assets_min)}，"
                 f"{_cmp('近三年年均收入', inc, ind.income_min)}（二者满足其一）；"
                 f"{_cmp('投资经历', inv, ind.investment_years_min, '年')}，"
                 f"{_cmp('金融相关工作经历', work, ind.work_years_min, '年')}，"
                 f"{'属' if qualified else '不属'}高级管理人员/持证注册会计师、律师（三者满足其一）")
    return is_pro, item, art, facts


def _conversion(rg: Regime, kind: str, net: float | None, fin: float | None, inc: float | None,
                inv: float | None, work: float | None, req: str, pro_facts: str,
                item: str) -> Decision:
    """第十一条第三款 / 第十二条: an ordinary investor's application to become professional."""
    tp = rg.data.to_professional
    if kind == "机构":
        t = tp.institution
        ok = (_ge_money(net, t.net_assets_min) and _ge_money(fin, t.financial_assets_min)
              and _ge(inv, t.investment_years_min))
        facts = "，".join([_cmp("最近1年末净资产", net, t.net_assets_min),
                          _cmp("最近1年末金融资产", fin, t.financial_assets_min),
                          _cmp("投资经历", inv, t.investment_years_min, "年")])
        art = t.article
    else:
        t2 = tp.individual
        ok = ((_ge_money(fin, t2.financial_assets_min) or _ge_money(inc, t2.income_min))
              and (_ge(inv, t2.investment_years_min) or _ge(work, t2.work_years_min)))
        facts = (f"{_cmp('金融资产', fin, t2.financial_assets_min)}，"
                 f"{_cmp('近三年年均收入', inc, t2.income_min)}（二者满足其一）；"
                 f"{_cmp('投资经历', inv, t2.investment_years_min, '年')}，"
                 f"{_cmp('金融相关工作经历', work, t2.work_years_min, '年')}（二者满足其一）")
        art = t2.article
    ref = rg.ref
    if not ok:
        return Decision(ORDINARY, art, f"申请转化为专业投资者：{facts}：不符合转化条件 → {ORDINARY}"
                        f"（{art}，{ref}）", ref, "CONV-REFUSED")
    if req == TO_PROFESSIONAL:
        return Decision(ORDINARY, art, f"申请转化为专业投资者：{facts}：符合转化条件，待公司谨慎评估；"
                        f"公司有权不同意，批准前仍为{ORDINARY}（{art}，{ref}）", ref, "CONV-PENDING")
    return Decision(PRO_B, art, f"申请转化为专业投资者：{facts}：符合转化条件，公司已评估同意 → "
                    f"{PRO_B}（由普通投资者转化）（{art}，{ref}）", ref, "CONV-TO-PRO")


def level_text(level: str, lowest: bool) -> str:
    """``C1（最低类别）`` for the lowest class, else the level itself."""
    return f"{level}{LOWEST_SUFFIX}" if lowest else level


def investor_level(score: Any, lowest: Any = False, regime: Regime | None = None) -> Decision:
    """C1–C5 from the questionnaire score (bands: firm configuration, ``investor-level``).

    ``lowest`` (风险承受能力最低类别: no full civil capacity, or no risk tolerance / unwilling
    to bear any loss) makes the client C1（最低类别） whatever the score; the score may then
    be empty.
    """
    rg = regime or get_regime()
    lowest = bool(lowest)
    if lowest:
        why = "、".join(rg.data.lowest.situations)
        scored = ""
        if score is not None:
            d = rg.levels.evaluate(score)
            scored = f"问卷得分 {show(float(d.values[0]))} 分（按分数为 {d.label}）；"
        return Decision(level_text("C1", True), rg.data.lowest.article,
                        f"{scored}属风险承受能力最低类别（{why}之一）→ C1（最低类别），只可购买 "
                        f"{rg.data.warning.lowest_max}（{rg.data.warning.ban_article}；{rg.ref}）",
                        rg.ref, "LVL-LOWEST")
    if score is None:
        raise RuleInputError("风险测评得分为空", field="风险测评得分", value=score, kind="na")
    d = rg.levels.evaluate(score)
    return Decision(d.label, d.rule_id, f"{d.reason}；{rg.levels.source.article}", rg.ref,
                    d.rule_id)


_LEVEL_RE = re.compile(r"^C([1-5])(级)?(\(最低类别\)|\(最低\)|-?最低类别|-?最低)?$")


def parse_level(text: Any) -> tuple[str, bool, bool]:
    """An investor level as written in a cell → (level, lowest, professional).

    ``C3``、``c3``、``C3级``、``C1（最低类别）``、``最低类别`` (C1, lowest), ``专业投资者``
    (A/B: professional — not matched by C-level).
    """
    if isinstance(text, str):
        k = norm_key(text).replace("（", "(").replace("）", ")")
        if k.startswith("专业投资者") or k in ("专业", "PRO", "PROFESSIONAL"):
            return "", False, True
        if k in ("最低类别", "最低"):
            return "C1", True, False
        m = _LEVEL_RE.match(k)
        if m:
            return f"C{m.group(1)}", bool(m.group(3)), False
    raise RuleInputError(f"投资者风险等级 {show(text)} 无法识别：应为 C1–C5、C1（最低类别）或 专业投资者",
                         field="投资者风险等级", value=text, kind="na")


_PRODUCT_NAMES = {"低风险": "R1", "中低风险": "R2", "中风险": "R3", "中高风险": "R4", "高风险": "R5"}


def parse_product(text: Any) -> str:
    """A product risk level: ``R1``–``R5`` (``r3``, ``R3级``) or 低风险 … 高风险.

    The 2009 three-step 低/中/高 is not accepted here: its mapping to R-levels is not given by
    the 办法 (rules/suitability.py rates those)."""
    if isinstance(text, str):
        k = norm_key(text)
        k = k[:-1] if k.endswith("级") else k
        if k in PRODUCT_LEVELS:
            return k
        if text.strip() in _PRODUCT_NAMES:
            return _PRODUCT_NAMES[text.strip()]
    raise RuleInputError(f"产品风险等级 {show(text)} 无法识别：应为 R1–R5（低风险、中低风险、中风险、中高风险、高风险）",
                         field="产品风险等级", value=text, kind="na")


def match(investor_level_text: Any, product_level: Any, warned: Any = False,
          regime: Regime | None = None) -> Decision:
    """适当 / 需特别风险警示 / 可销售（已特别风险警示）/ 不得销售.

    A product at or below the client's level is 适当 (第十八条; C1→R1, C2→R1–R2, …,
    C5→R1–R5). Above it: for 最低类别 never (第十九条, 第二十二条第（五）项: 不得销售, even
    with a warning); otherwise only after a special written warning the client confirmed
    (第十九条): ``warned`` true → 可销售（已特别风险警示）, else 需特别风险警示.
    """
    rg = regime or get_regime()
    d = rg.data
    level, lowest, pro = parse_level(investor_level_text)
    prod = parse_product(product_level)
    pname = d.product_levels[PRODUCT_LEVELS.index(prod)].label
    ref = rg.ref
    if pro:
        top = d.matching.professional
        if PRODUCT_LEVELS.index(prod) <= PRODUCT_LEVELS.index(top):
            return Decision(SUITABLE, d.matching.article,
                            f"专业投资者可购买 R1–{top}：{prod}（{pname}）→ {SUITABLE}（{ref}）", ref,
                            "MATCH-PRO")
    top = d.warning.lowest_max if lowest else rg.max_product[level]
    who = level_text(level, lowest)
    allowed = "R1" if top == "R1" else f"R1–{top}"
    if PRODUCT_LEVELS.index(prod) <= PRODUCT_LEVELS.index(top):
        return Decision(SUITABLE, d.matching.article,
                        f"{who} 可购买 {allowed}：{prod}（{pname}）→ {SUITABLE}（{d.matching.article}；{ref}）",
                        ref, "MATCH-OK")
    if lowest:
        return Decision(FORBIDDEN, d.warning.ban_article,
                        f"{who} 只可购买 {allowed}，{prod}（{pname}）高于其风险承受能力：风险承受能力最低类别"
                        f"不得销售，特别风险警示也不可（{d.warning.article}、{d.warning.ban_article}；{ref}）",
                        ref, "MATCH-BAN")
    if warned:
        return Decision(WARNED, d.warning.article,
                        f"{who} 只可购买 {allowed}，{prod}（{pname}）高于其风险承受能力；已作特别的书面风险警示"
                        f"并经客户确认，客户坚持购买 → {WARNED}（{d.warning.article}；{ref}）", ref,
                        "MATCH-WARNED")
    return Decision(NEEDS_WARNING, d.warning.article,
                    f"{who} 只可购买 {allowed}，{prod}（{pname}）高于其风险承受能力：须先作特别的书面风险警示"
                    f"并经客户确认，方可应其主动要求销售（{d.warning.article}；{ref}）", ref,
                    "MATCH-WARN")


@dataclass(frozen=True)
class AssessmentStatus:
    """``valid``: the assessment may be used on ``as_of``; ``expires_on``: its last valid day."""

    valid: bool
    expires_on: dt.date
    reason: str


def assessment_status(assessed_on: Any, as_of: Any, regime: Regime | None = None) -> AssessmentStatus:
    """Whether a risk assessment is still valid (firm setting, default 2 years).

    Valid through the same day ``valid_years`` later (29 February → 28 February); from the day
    after, expired: the level it gave is not used (第二十一条: levels follow the latest valid
    assessment). An assessment dated after ``as_of`` is an error.
    """
    rg = regime or get_regime()
    done = as_date(assessed_on, "测评日期")
    today = as_date(as_of, "统计日期")
    if done > today:
        raise RuleInputError(f"测评日期 {done.isoformat()} 晚于统计日期 {today.isoformat()}",
                             field="测评日期", value=assessed_on)
    last = add_years(done, rg.valid_years)
    head = (f"测评日期 {done.isoformat()}，有效期 {rg.valid_years} 年（公司设置），至 "
            f"{last.isoformat()}")
    if today > last:
        return AssessmentStatus(False, last, f"{head}，已于 {(last + dt.timedelta(days=1)).isoformat()} "
                                f"起过期：须重新测评，过期结果不得用于匹配（{rg.ref}）")
    return AssessmentStatus(True, last, f"{head}，有效（{rg.ref}）")


def legacy_level(risk_class: Any, regime: Regime | None = None) -> Decision:
    """A 2009 three-type class (保守型/稳健型/进取型) → its C-level (firm configuration)."""
    from .suitability import normalize_risk_class

    rg = regime or get_regime()
    rc = normalize_risk_class(risk_class)
    lv = rg.legacy[rc]
    return Decision(lv, "legacy", f"2009 年风险类别 {rc} → {lv}（公司配置的对照，{rg.ref}）", rg.ref,
                    "LEGACY")
