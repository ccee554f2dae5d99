"""Branch workbooks made by the product (template + re-rating job) and tools to tamper with them.

``clean_clients`` turns the demo generator's clients into data that is clean under the policy
(questionnaires younger than two years on the audit date, no figures on a rule gap, overrides
approved), keeping the rows the job rejects (bad numbers, duplicate id, score out of range).
The tamper tools edit a copy: cells through ``patch_workbook`` (as any tool that writes values
would), or the worksheet XML directly where a cell's cached formula value must change.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from branch_files import edit_part

from rules import cells as _coerce
from rules import get_rulebook
from workbook import history
from workbook.demo import make_demo_clients
from workbook.job import rerate
from workbook.template import new_workbook
from workbook.xlsxio import SheetEdit, col_index, patch_workbook, read_sheet
from workbook.xlsxio.package import read_workbook_info

TODAY = dt.date(2026, 9, 20)  # the demo data's "today"
RUN1 = dt.datetime(2026, 10, 9, 10, 0, 0)  # quarterly 2026Q3
RUN2 = dt.datetime(2027, 1, 6, 9, 30, 0)  # annual 2026
AS_OF = dt.date(2027, 1, 10)
GAP = 10_000_000.0


def clean_clients(n: int, seed: int, *, as_of: dt.date = AS_OF, today: dt.date = TODAY,
                  keep_bad_rows: bool = True) -> list[dict[str, Any]]:
    clients = make_demo_clients(n, seed, today=today)
    rng = np.random.default_rng(seed + 99)
    labels = [o.label for o in get_rulebook("brokerage", today).outputs]
    for c in clients:
        try:
            a = _coerce.number(c.get("资产权益"), "资产权益")
        except ValueError:
            a = None
        if a == GAP:
            c["资产权益"] = GAP - 0.5
        if c.get("测评日期") is not None:
            c["测评日期"] = as_of - dt.timedelta(days=int(rng.integers(5, 700)))
        if c.get("特别调整级别") and not c.get("调整审批人"):
            c["调整审批人"] = "合规部 周经理"
        u = rng.random()
        if u < 0.75:  # a tier from a previous rating, not necessarily the computed one
            c["当前级别"] = labels[int(rng.integers(len(labels)))]
            c["年度级别"] = c["当前级别"]
        elif u < 0.85:
            c["年度级别"] = labels[int(rng.integers(len(labels)))]
    if not keep_bad_rows:
        clients = clients[: n - 6]
    return clients


def build_branch(path: Path, n: int = 40, seed: int = 5, *, runs: tuple[str, ...] = ("q", "a"),
                 keep_bad_rows: bool = True, formulas: str = "per-row") -> Path:
    """A template workbook re-rated by the job: q = 2026Q3 quarterly, a = 2026 annual,
    m = 2026-11 new accounts (in that order). ``formulas``: the template's layout — by default
    the per-row formulas of workbooks made before issue 10, which the tampering corpus plants
    into; "values" is today's template."""
    new_workbook(path, "brokerage", clean_clients(n, seed, keep_bad_rows=keep_bad_rows),
                 as_of=TODAY, formulas=formulas)
    for kind in runs:
        if kind == "q":
            rerate(path, period="2026Q3", mode="quarterly", operator="测试员", now=RUN1)
        elif kind == "a":
            rerate(path, period="2026", mode="annual", operator="测试员", now=RUN2)
        elif kind == "m":
            rerate(path, period="2026-11", mode="new-accounts", operator="测试员",
                   now=dt.datetime(2026, 12, 3, 9, 0))
    return path




# ------------------------------------------------------------------------------ reading


def sheet_rows(path: Path, sheet: str) -> list[list[Any]]:
    d = read_sheet(path, sheet)
    return [[d.value(r, c) for c in range(1, d.n_cols + 1)] for r in range(1, d.n_rows + 1)]


def col_of(path: Path, header: str, sheet: str = "客户") -> int:
    d = read_sheet(path, sheet)
    c = d.col_of(header)
    assert c is not None, header
    return c


def letter(path: Path, header: str, sheet: str = "客户") -> str:
    from workbook.xlsxio import col_letter

    return col_letter(col_of(path, header, sheet))


def row_of(path: Path, client_id: str) -> int:
    d = read_sheet(path, "客户")
    ids = d.column("客户编号")
    return ids.index(client_id) + 2


def log(path: Path) -> list[list[str]]:
    """变更记录 data rows (Excel row k+2 for index k)."""
    return history.data_rows(sheet_rows(path, "变更记录"))


def change_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(Excel row, fields) of every 变更 row."""
    return [(k + 2, r) for k, r in enumerate(log(path)) if r[0] == history.CHANGE]


def logged_clients(path: Path) -> set[str]:
    h = history.HEADER.index("客户编号")
    return {r[h] for _, r in change_rows(path)}


def client_ids(path: Path) -> list[str]:
    d = read_sheet(path, "客户")
    return [str(v) for v in d.column("客户编号")]


# ------------------------------------------------------------------------------ tampering


def copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


def set_cells(path: Path, cells: dict[str, Any], sheet: str = "客户") -> None:
    """Write values into cells given as A1 addresses (a formula cell becomes a constant)."""
    edit = {}
    for addr, v in cells.items():
        m = re.fullmatch(r"([A-Z]+)(\d+)", addr)
        assert m, addr
        edit[(int(m.group(2)), col_index(m.group(1)))] = v
    patch_workbook(path, path, {sheet: SheetEdit(cells=edit)})


def replace_log(path: Path, rows: list[list[str]]) -> None:
    """Replace 变更记录 by ``rows`` (data rows; the header is put back)."""
    patch_workbook(path, path, replace_sheets={"变更记录": [list(history.HEADER), *rows]})


def _rewrite_part(path: Path, sheet: str, fn) -> None:
    with zipfile.ZipFile(path) as zf:
        part = read_workbook_info(zf).sheet(sheet).part
    edit_part(path, part, fn)


def _cell_re(addr: str) -> re.Pattern[str]:
    return re.compile(r'<c r="' + addr + r'"(?:\s[^>]*)?(?:/>|>.*?</c>)', re.S)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def set_formula_xml(path: Path, addr: str, formula: str | None, cached: Any,
                    sheet: str = "客户") -> None:
    """Set a cell's formula (None keeps the present one) and its cached value, as Excel would
    store them (an edited file, or a cell whose inputs changed without recalculation)."""

    def fn(xml: str) -> str:
        m = _cell_re(addr).search(xml)
        assert m, addr
        old = m.group(0)
        fm = re.search(r"<f(?:\s[^>]*)?>(.*?)</f>", old, re.S)
        f = _esc(formula) if formula is not None else (fm.group(1) if fm else None)
        ftag = f"<f>{f}</f>" if f is not None else ""
        if isinstance(cached, str):
            new = f'<c r="{addr}" t="str">{ftag}<v>{_esc(cached)}</v></c>'
        else:
            new = f'<c r="{addr}">{ftag}<v>{cached!r}</v></c>'
        return xml[: m.start()] + new + xml[m.end():]

    _rewrite_part(path, sheet, fn)


def set_value_xml(path: Path, addr: str, value: Any, sheet: str = "客户") -> None:
    """Set a constant cell (number or text) in the XML, keeping its style."""

    def fn(xml: str) -> str:
        m = _cell_re(addr).search(xml)
        assert m, addr
        s = re.search(r'\ss="(\d+)"', m.group(0).split(">")[0])
        st = f' s="{s.group(1)}"' if s else ""
        if isinstance(value, str):
            new = f'<c r="{addr}"{st} t="inlineStr"><is><t>{_esc(value)}</t></is></c>'
        else:
            new = f'<c r="{addr}"{st}><v>{value!r}</v></c>'
        return xml[: m.start()] + new + xml[m.end():]

    _rewrite_part(path, sheet, fn)


def delete_row_xml(path: Path, row: int, sheet: str = "客户") -> None:
    """Remove a worksheet row's cells (the row is left empty, as after deleting its contents)."""

    def fn(xml: str) -> str:
        m = re.search(r'<row r="' + str(row) + r'"[^>]*>.*?</row>', xml, re.S)
        assert m, row
        return xml[: m.start()] + xml[m.end():]

    _rewrite_part(path, sheet, fn)
