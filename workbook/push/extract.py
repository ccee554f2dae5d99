"""New clients' rows taken from the head office's extract (the ``rate-table`` input), for a
branch workbook that does not hold them yet or a workbook made for a branch that has none.

A decision holds no figures (资产权益…), and a workbook row without them would be a row a run
rejects and a tier the audit cannot explain: so a client is only added with its row of the
extract — ``push-branches --extract INPUT`` —, found by the decision's 行号 (the row numbers
rate-table gives: the header is row 1) and checked to be the same 客户编号. Columns are put
under the workbook's headers by name (synonyms and English aliases alike, ``header_name``);
the output columns (级别变动, 级别依据…) are the push's to write, not copied. An amount under a
header with another unit (``资产权益（万元）`` in the workbook, 元 in the extract) is refused:
never a figure off by 10,000.
"""

from __future__ import annotations

import os
from typing import Any

from ..headers import header_name, unit_factor
from ..schema import OUTPUT_BY_KEY, WorkbookError, column_map
from ..table.source import column_values, open_input

#: output columns never copied from the extract (当前级别 and 年度级别 are: the tiers held)
_OUTPUTS = {k for k in OUTPUT_BY_KEY if k != "current_tier"} | {"computed_tier"}


def extract_rows(path: str | os.PathLike[str], wanted: dict[int, str]) -> dict[str, dict[str, Any]]:
    """客户编号 -> {extract header: value} of the rows ``wanted`` (行号 -> 客户编号); a row
    whose 客户编号 is not the decision's refuses (the extract is not the decisions' input)."""
    inp = open_input(path)
    header = inp.header
    out: dict[str, dict[str, Any]] = {}
    if not wanted:
        return out
    id_col = column_map([h.strip() for h in header]).get("client_id")
    off = 0
    for b in inp.batches():
        lo, hi = off + 2, off + 1 + b.num_rows
        hits = [r for r in wanted if lo <= r <= hi]
        if hits:
            cols = [column_values(b.column(k)) for k in range(b.num_columns)]
            for r in hits:
                row = {header[c - 1]: cols[k][r - lo] for k, c in enumerate(inp.wanted)}
                cid = row.get(header[id_col - 1]) if id_col else None
                if _id_text(cid) != wanted[r]:
                    raise WorkbookError(f"{inp.label} 第 {r} 行的客户编号为 {cid}，而决定文件中该行是 "
                                        f"{wanted[r]}：这不是该次评级所用的总部数据，未添加新客户。")
                out[wanted[r]] = row
        off += b.num_rows
    return out


def _id_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v).strip()


def place(row: dict[str, Any], target: list[str]) -> dict[int, Any]:
    """A row of the extract under the workbook's headers ``target``: 1-based column -> value
    (see module doc); WorkbookError (Chinese) for a unit that differs."""
    names = {header_name(h).casefold(): c for c, h in enumerate(target, start=1) if h}
    keys = column_map(list(row))
    skip = {c for k, c in keys.items() if k in _OUTPUTS}
    out: dict[int, Any] = {}
    for k, (h, v) in enumerate(row.items(), start=1):
        c = names.get(header_name(h).casefold())
        if c is None or k in skip or v is None:
            continue
        if unit_factor(h)[1] != unit_factor(target[c - 1])[1]:
            raise WorkbookError(f"总部数据的“{h}”与工作簿的“{target[c - 1]}”单位不同，未添加新客户："
                                "请统一单位。")
        out[c] = v
    return out
