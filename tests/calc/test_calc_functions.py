"""The catalogue functions in LibreOffice Calc cells (the extension installed with unopkg into a
fresh profile) give exactly what the Python functions give for the same cell values — on 1,000
generated rows of every function, bad values' error texts included."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from addin.calc.build import idl_text
from addin.calc.functions import CATALOGUE, specs
from rules.functions import catalogue as udfs  # (the bodies the xlwings UDFs register)

N = 1000
#: a formula per row on every row for these; the others on the first PER_ROW rows (and all N
#: rows in their column form): a Calc call costs about a millisecond
EVERY_ROW = ("CLIENT_TIER", "RISK_CLASS")
PER_ROW = 200
EPOCH = dt.date(1899, 12, 30)


def serial(d: dt.date) -> float:
    return float((d - EPOCH).days)


AS_OF = serial(dt.date(2026, 6, 30))
DATES = [serial(dt.date(2024, 1, 1) + dt.timedelta(days=k * 37)) for k in range(30)]
BOOLS = [1.0, 0.0, None, "是", "否", "x"]  # (TRUE/FALSE in Calc are the numbers 1 and 0)
MONEY = [250000.0, 249999.99, 10000000.0, 5000001.0, 99999.0, 0.0, 1234567.89, "25万",
         "1,000,000", " 1.2亿 ", "abc", -1.0, None, 3e6, 50000.0, 500000.0]
TIERS = ["VIP客户", "核心客户", "潜力客户", "普通客户", "核心", "一类", "四类", "金牌", None]
# the values a parameter's cells get, by parameter name (others: GENERIC)
POOLS: dict[str, list[Any]] = {
    "assets": MONEY, "current": MONEY, "future": MONEY, "monetary": MONEY,
    "financial_assets": MONEY, "income": MONEY, "net_assets": MONEY,
    "revenue": [0.0, 4999.0, 5000.0, 20000.0, None, "5千", "x", -5.0, 12345.67],
    "rulebook": ["brokerage", "private-fund", "经纪", "私募", None, "wealth", "x"],
    "tier_in_force": TIERS, "tier": TIERS,
    "score": [9.0, 20.0, 35.0, 40.0, 57.0, 80.0, 100.0, 8.0, 40.5, "abc", None, "30"],
    "risk_class": ["保守型", "稳健型", "进取型", "积极型", "x", None],
    "product_risk": ["高", "中", "低", "x", None],
    "fund_type": ["股票型", "偏债型", "货币市场基金", "混合型", "QDII", None],
    "open_date": [*DATES, "2024-03-31", "2026年1月5日", "abc", None],
    "assessed_on": [*DATES, "2024/3/31", None, "x"], "left_on": [*DATES, None, "x"],
    "as_of": [AS_OF],
    "turnover": [0.5, 2.0, 3.0, 4.5, 10.0, None, "x"], "threshold": [None, 3.0, 2.5],
    "avg_holding_days": [1.0, 5.0, 30.0, 200.0, None, "x", -3.0],
    "frequent_derivatives": BOOLS, "lowest": BOOLS, "warned": BOOLS, "qualified": BOOLS,
    "period": ["2026Q3", "2026", "2026Q5", "2026-11", "x", None],
    "recency_days": [1.0, 10.0, 100.0, 400.0, None], "frequency": [0.0, 3.0, 12.0, 40.0],
    "style": [None, "R5F3M4"],
    "client_type": ["个人", "机构", "产品", "x", None],
    "reason": ["佣金", "服务", "搬家", "x", None], "detail": [None, "别家佣金低"],
    "investor_level": ["C1", "C3", "C5", "x"], "product_level": ["R1", "R3", "R5", "x"],
    "category": [None, "金融机构", "QFII"], "request": [None, "申请普通", "申请专业"],
    "investment_years": [0.0, 1.0, 3.0, None], "work_years": [0.0, 2.0, None],
}
GENERIC = BOOLS
ANSWERS = ["A", "B", "C", "D", "E", "ACD", 3.0, "x"]


def columns() -> list[str]:
    names = []
    for s in specs():
        for p in s.params:
            if not p.varargs and p.name not in names:
                names.append(p.name)
    return names


def col_letter(k: int) -> str:  # 0 → A
    s = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        s = chr(65 + r) + s
    return s


def calc_value(v: Any) -> Any:
    """A Python result as Calc shows it: text, number, a date as its serial number, TRUE as
    the number 1; None as an empty text."""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, dt.date):
        return serial(v)
    if isinstance(v, int | float):
        return float(v)
    if v is None:
        return ""
    return v


def generated() -> tuple[list[str], list[list[Any]]]:
    rnd = random.Random(12)
    names = columns()
    rows = [[rnd.choice(POOLS.get(n, GENERIC)) for n in names]
            + [rnd.choice(ANSWERS) for _ in range(12)] for _ in range(N)]
    return names, rows


def test_the_shipped_type_library_declares_the_catalogue() -> None:
    """The .idl shipped with the prebuilt .rdb is the one made from the catalogue now (a new
    function: run ``python -m addin.calc.build --rdb``)."""
    from addin.calc.build import EXT

    assert (EXT / "XClientRating.idl").read_text(encoding="utf-8") == idl_text()
    assert [s.name for s in specs()] == list(CATALOGUE)


def python_result(name: str, cells: list[Any], *, single: bool) -> Any:
    """What the Python function gives for these cell values, as Calc shows it. ``single``: the
    cells are one-cell references, which Calc hands an add-in by value: an empty cell as 0 to an
    optional argument; a required one sees it empty (a cell range argument, or a single 0 read
    as empty where 0 is never an answer: tests/calc/test_calc_empty.py)."""
    f = getattr(udfs, name)
    if single:
        params = next(s for s in specs() if s.name == name).params
        if params[0].varargs:
            params = params * len(cells)
        cells = [0.0 if c is None and p.optional else
                 None if c == 0.0 and not p.optional and not p.cell_only and
                 not isinstance(c, bool) else c
                 for p, c in zip(params, cells, strict=True)]
    return calc_value(f(*[[[c]] for c in cells]))


def test_every_function_in_calc_equals_python_on_1000_rows(office: Any) -> None:
    """Each function over 1,000 generated rows as one array formula per column
    (``=CLIENT_TIER(A2:A1001;B2:B1001;C2:C1001)``), and as a formula per row
    (``=CLIENT_TIER(A2;B2;C2)``): CLIENT_TIER and RISK_CLASS on every row, the others on 200."""
    names, rows = generated()
    fns = specs()
    first_answer = len(names)
    ans = f"{col_letter(first_answer)}{{r}}:{col_letter(first_answer + 11)}{{r}}"
    out0 = first_answer + 12  # per-row formulas, then the array formulas
    arr0 = out0 + len(fns)
    formulas = []
    for i in range(N):
        r = i + 2
        row = []
        for s in fns:
            if s.params[0].varargs:
                args = [ans.format(r=r)]
            else:
                args = [f"{col_letter(names.index(p.name))}{r}" for p in s.params]
            row.append(f"={s.name}({';'.join(args)})" if i < PER_ROW or s.name in EVERY_ROW
                       else "")
        formulas.append(row)
    arrays = []
    for j, s in enumerate(fns):
        if s.params[0].varargs:  # (RISK_SCORE takes one questionnaire: no column form)
            continue
        args = [f"{col_letter(names.index(p.name))}2:{col_letter(names.index(p.name))}{N + 1}"
                for p in s.params]
        arrays.append({"range": f"{col_letter(arr0 + j)}2:{col_letter(arr0 + j)}{N + 1}",
                       "formula": f"={s.name}({';'.join(args)})"})
    got = office.run("calc", values=[names + [f"答案{k}" for k in range(1, 13)], *rows],
                     formulas=formulas,
                     formula_range=f"{col_letter(out0)}2:{col_letter(arr0 - 1)}{N + 1}",
                     arrays=arrays,
                     read_range=f"{col_letter(out0)}2:{col_letter(arr0 + len(fns) - 1)}{N + 1}")
    assert not got["errors"], f"Calc errors (row,col: code): {list(got['errors'].items())[:5]}"
    # Python on the same values: per row (one-cell references: empty is 0), and per column
    # (the function called with the whole columns, as an Excel column call: its vector path)
    columns_want = {}
    for s in fns:
        if not s.params[0].varargs:
            f = getattr(udfs, s.name)
            res = f(*[[[row[names.index(p.name)]] for row in rows] for p in s.params])
            columns_want[s.name] = [calc_value(r[0]) for r in res]
    mismatches = []
    n_error_texts = 0
    for i, row in enumerate(rows):
        for j, s in enumerate(fns):
            if s.params[0].varargs:
                checks = [(j, python_result(s.name, row[first_answer:], single=True))]
            else:
                cells = [row[names.index(p.name)] for p in s.params]
                checks = [(j, python_result(s.name, cells, single=True)),
                          (len(fns) + j, columns_want[s.name][i])]
            if i >= PER_ROW and s.name not in EVERY_ROW:
                checks[0] = (j, "")  # (no formula there)
            for col, want in checks:
                n_error_texts += isinstance(want, str) and want.startswith("#")
                if got["values"][i][col] != want:
                    mismatches.append((i + 2, s.name, col >= len(fns), got["values"][i][col], want))
    assert not mismatches, f"{len(mismatches)} cells differ, e.g. {mismatches[:5]}"
    # the generated rows exercise both good values and the error texts
    n_checks = N * (len(fns) - 1) + PER_ROW * len(fns) + (N - PER_ROW) * len(EVERY_ROW)
    assert 0.2 * n_checks < n_error_texts < 0.8 * n_checks, n_error_texts
    assert got["formulas"][0][0].upper().endswith(
        f"CLIENT_TIER({col_letter(names.index('assets'))}2;{col_letter(names.index('revenue'))}2;"
        f"{col_letter(names.index('rulebook'))}2)")
