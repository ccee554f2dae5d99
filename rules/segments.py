"""补充分类 —— supplementary classifications of seed 002 (第八–十条, POLICY.md R3) and RFM codes (R4).

* ``holding_style``：操作习惯 短线 / 波段 / 价值（第九条）。
* ``value_segment``：价值评估 黄金客户 / 明日之星 / 维护型 / 自由型（第十条）。
* ``fund_risk``：基金风险等级 高 / 中 / 低（第八条第5款）。
* ``rfm_code``：把 R、F、M 三个 1–5 分格式化为 "R5F3M4" 或 "534"。

**假设（assumption）**：原文以“一个月”“三个月”描述持有期，本模块按 1 个月 = 30 天换算
（``DAYS_PER_MONTH``，可用参数 ``days_per_month`` 改写）。
"""

from __future__ import annotations

import math
import numbers
import unicodedata
from typing import Any, Literal

from rules.errors import RuleInputError, show

#: 假设：1 个月按 30 天计（原文只说“一个月”“三个月”）。可在调用时用 ``days_per_month`` 改写。
DAYS_PER_MONTH = 30

HOLDING_STYLES: tuple[str, ...] = ("短线", "波段", "价值")
VALUE_SEGMENTS: tuple[str, ...] = ("黄金客户", "明日之星", "维护型", "自由型")
FUND_RISK_LEVELS: tuple[str, ...] = ("高", "中", "低")


def _number(v: Any, field: str) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise RuleInputError(f"{field} {show(v)} 不是数字", field=field, value=v)
    f = float(v)
    if math.isnan(f):
        raise RuleInputError(f"{field} 为 NaN，无法分类", field=field, value=v, kind="na")
    if math.isinf(f) or f < 0:
        raise RuleInputError(f"{field} {show(v)} 无效：应为不小于 0 的有限数", field=field,
                             value=v)
    return f


def holding_style(avg_holding_days: float, frequent_derivatives: bool = False, *,
                  days_per_month: float = DAYS_PER_MONTH) -> str:
    """操作习惯（第九条）：平均持股/持基天数 → 短线 / 波段 / 价值。

    * 短线：持有不足 1 个月（< 30 天），或频繁进行股指期货、权证、融资融券等交易
      （``frequent_derivatives=True``，此时不看天数）；
    * 波段：1–3 个月（30 ≤ 天数 ≤ 90）；
    * 价值：3 个月以上（> 90 天）。

    1 个月 = ``days_per_month`` 天（默认 30，假设）。负数、NaN、无穷大、非数字抛出 ``RuleInputError``。
    """
    days = _number(avg_holding_days, "平均持有天数")
    if not isinstance(frequent_derivatives, bool):
        raise RuleInputError(
            f"是否频繁交易期货/权证/融资融券 {show(frequent_derivatives)} 无效：应为 TRUE 或 FALSE",
            field="频繁衍生品交易", value=frequent_derivatives)
    month = _number(days_per_month, "每月天数")
    if month == 0:
        raise RuleInputError("每月天数 0 无效：应大于 0", field="每月天数", value=days_per_month)
    if frequent_derivatives or days < month:
        return "短线"
    if days <= 3 * month:
        return "波段"
    return "价值"


_HIGH = {"高", "high"}
_LOW = {"低", "low"}


def _high(v: Any, field: str) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        t = unicodedata.normalize("NFKC", v).strip().lower()
        if t in _HIGH:
            return True
        if t in _LOW:
            return False
    raise RuleInputError(f"{field} {show(v)} 无法识别：应为 高/低（或 TRUE/FALSE、high/low）",
                         field=field, value=v)


def value_segment(current_high: bool | str, future_high: bool | str) -> str:
    """价值评估（第十条）：当前价值、未来价值的高低 → 客户类型。

    高/高 → 黄金客户；低/高 → 明日之星；高/低 → 维护型；低/低 → 自由型。
    接受布尔值、"高"/"低"、"high"/"low"；其他输入抛出 ``RuleInputError``。
    """
    cur = _high(current_high, "当前价值")
    fut = _high(future_high, "未来价值")
    if fut:
        return "黄金客户" if cur else "明日之星"
    return "维护型" if cur else "自由型"


# 第八条第5款：基金风险等级。键为去掉“基金”“型”后缀的规范名。
_FUND_RISK: dict[str, str] = {
    # 高风险
    "股票": "高", "标准股票": "高", "普通股票": "高",
    "指数": "高", "标准指数": "高", "增强指数": "高", "指数增强": "高",
    "偏股": "高", "偏股混合": "高",
    "平衡": "高", "股债平衡": "高", "平衡混合": "高",
    "灵活配置": "高", "灵活配置混合": "高",
    # 中风险
    "偏债": "中", "偏债混合": "中",
    "债券": "中", "标准债券": "中", "普通债券": "中",
    # 低风险
    "短债": "低", "中短债": "低", "短期债券": "低", "中短期债券": "低",
    "保本": "低",
    "货币": "低", "货币市场": "低",
}


def _fund_key(text: str) -> str:
    t = "".join(unicodedata.normalize("NFKC", text).split())
    for suffix in ("基金", "型"):
        t = t.removesuffix(suffix)
    return t


def fund_risk(fund_type: str) -> str:
    """基金风险等级（第八条第5款，POLICY.md R3）：基金类型 → 高 / 中 / 低。

    高：股票型、指数型、增强指数型、偏股型、（股债）平衡型、灵活配置型；
    中：偏债型、标准债券型、普通债券型（“债券型”按债券型基金处理为中）；
    低：（中）短债型、保本型、货币型（货币市场基金）。
    名称可带或不带“基金”“型”，忽略空格。未列出的类型（如“混合型”“QDII”）抛出
    ``RuleInputError``（kind="na"），不作推测。
    """
    if not isinstance(fund_type, str):
        raise RuleInputError(f"基金类型 {show(fund_type)} 不是文字", field="基金类型",
                             value=fund_type)
    level = _FUND_RISK.get(_fund_key(fund_type))
    if level is None:
        raise RuleInputError(
            f"基金类型 {show(fund_type)} 不在制度列出的类型中（第八条第5款），无法确定风险等级",
            field="基金类型", value=fund_type, kind="na")
    return level


RfmStyle = Literal["R5F3M4", "534"]


def rfm_code(r_score: int, f_score: int, m_score: int, style: RfmStyle | str = "R5F3M4") -> str:
    """RFM 代码（R4）：三个 1–5 的整数分 → "R5F3M4"（``style="R5F3M4"``）或 "534"（``style="534"``）。

    分数本身由数值规则手册给出，这里只校验并格式化；非 1–5 的整数（含 4.5、TRUE、NaN）报错。
    """
    scores = []
    for name, v in (("R", r_score), ("F", f_score), ("M", m_score)):
        ok = not isinstance(v, bool) and isinstance(v, numbers.Real) and math.isfinite(v) \
            and float(v).is_integer() and 1 <= v <= 5
        if not ok:
            raise RuleInputError(f"{name} 分 {show(v)} 无效：应为 1–5 的整数",
                                 field=f"{name}分", value=v)
        scores.append(int(v))
    r, f, m = scores
    if style == "R5F3M4":
        return f"R{r}F{f}M{m}"
    if style == "534":
        return f"{r}{f}{m}"
    raise RuleInputError(f"RFM 代码格式 {show(style)} 无效：应为 'R5F3M4' 或 '534'",
                         field="RFM 格式", value=style)
