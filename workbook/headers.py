"""Headers of sheet 客户 as users write them: the synonyms the product accepts and a unit in the
header that scales the column's amounts — the one place both are defined (docs/workbook.md).

A header is compared after NFKC (full-width letters and brackets become ASCII) and with every
space and line break removed, case-insensitively. A unit at its end — ``（万元）``, ``(元)``,
``[亿元]`` or a bare ``万元`` / ``亿元`` — is taken off and scales the values of a money column:
``资产权益（万元）`` 25 is 250,000 元. What is left is looked up in :data:`SYNONYMS`: ``客户号``
reads as ``客户编号``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

#: contract header -> other headers that mean it (branch lists, back-office exports). Small on
#: purpose: only names that cannot mean anything else in a client list.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "客户编号": ("客户号", "客户代码", "客户ID"),
    "客户名称": ("客户姓名",),
    "资产权益": ("客户资产权益",),
    "上年度净佣金": ("上年净佣金", "上一年度净佣金"),
    "日均资产": ("日均客户资产",),
    "上年度管理费": ("上年管理费", "上一年度管理费"),
    "风险测评得分": ("风险测评分数", "测评得分"),
    "开户日期": ("开户时间",),
}

#: unit in a header -> factor to 元
UNITS: dict[str, int] = {"元": 1, "万元": 10_000, "亿元": 100_000_000}

_BRACKETED = re.compile(r"^(?P<name>.+?)[(\[【](?P<unit>元|万元|亿元)[)\]】]$")
_BARE = re.compile(r"^(?P<name>.+?)(?P<unit>万元|亿元)$")
_CANONICAL = {_k.casefold(): h for h, names in SYNONYMS.items() for _k in (h, *names)}


def _squeeze(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def split_unit(text: str) -> tuple[str, str]:
    """(header without its unit, unit or ""): ``"资产权益（万元）"`` -> ``("资产权益", "万元")``."""
    s = _squeeze(text)
    m = _BRACKETED.match(s) or _BARE.match(s)
    if m:
        return m.group("name"), m.group("unit")
    return s, ""


def header_name(text: str) -> str:
    """The name a header stands for, compared case-insensitively (``casefold``): its unit taken
    off, a synonym replaced by the contract header (``"客户号"`` -> ``"客户编号"``)."""
    name, _unit = split_unit(text)
    return _CANONICAL.get(name.casefold(), name)


def unit_factor(text: str) -> tuple[str, int]:
    """(unit, factor to 元) of a header: ``("万元", 10000)``; ``("", 1)`` without a unit."""
    _name, unit = split_unit(text)
    return unit, UNITS.get(unit, 1)


def find_header(header: Sequence[str], names: Sequence[str]) -> int | None:
    """0-based index of the first of ``names`` among ``header`` (trimmed, case-insensitive; no
    unit or synonym taken off: the optional sheets' columns, 转销户 and 产品购买, and the 2017
    regime's columns of 客户, are read under their own names), or None."""
    folded = [h.strip().casefold() for h in header]
    for n in names:
        if n.casefold() in folded:
            return folded.index(n.casefold())
    return None
