"""An empty cell is empty in Calc too: a formula per row (``=CLIENT_TIER(F2;G2)``) whose input
cell is empty, a text, a number, 0, an error or a date gives in Calc what the Python function
gives for that cell as xlwings hands it over (empty → None: the missing-input text, never the
tier of 0). Calc itself hands an add-in a single empty cell as 0 (``ScInterpreter::ScExternal``);
the arguments where that or a date's serial number could change an answer are declared cell
ranges (``addin.calc.functions.CELL_ONLY``), and that list is checked against the catalogue
here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from test_calc_functions import calc_value, col_letter, generated

from addin.calc.functions import CELL_ONLY, specs
from rules.cells import is_error_text
from rules.functions import catalogue as udfs

DATE = dt.datetime(2026, 6, 30)
SERIAL = 46203.0  # DATE as Calc's serial number
#: kind → (the cell written into Calc, the value xlwings gives Python for it); None: the base
#: row's own value for that argument (a good one)
KINDS: dict[str, tuple[Any, Any]] = {
    "empty": (None, None), "text": ("abc", "abc"), "value": (None, None), "zero": (0.0, 0.0),
    "div0": ({"f": "=1/0"}, "#DIV/0!"), "na": ({"f": "=NA()"}, "#N/A"),
    "date": ({"date": SERIAL}, DATE),
}


#: the cells written as dicts, as Python is given them
KINDS_PY = {"f:=1/0": "#DIV/0!", "f:=NA()": "#N/A", f"date:{SERIAL}": DATE}


def _key(v: Any) -> Any:
    return next((f"{k}:{x}" for k, x in v.items()), None) if isinstance(v, dict) else v


def is_error(v: Any) -> bool:
    return isinstance(v, str) and is_error_text(v)


def required(s: Any) -> list[Any]:
    return [p for p in s.params if not p.optional and not p.varargs]


def base_rows() -> dict[str, list[Any]]:
    """Per function, the values of its required arguments from the first generated row where
    Python gives an answer (not an error text) and every one of them is filled."""
    names, rows = generated()
    out = {}
    for s in specs():
        req = required(s)
        if not req or len(req) != len([p for p in s.params if not p.optional]):
            continue  # (RISK_SCORE: one questionnaire of varargs answers)
        f = getattr(udfs, s.name)
        for row in rows:
            vals = [row[names.index(p.name)] for p in req]
            if all(v is not None for v in vals) and not is_error(f(*[[[v]] for v in vals])):
                out[s.name] = vals
                break
    return out


def py(name: str, vals: list[Any]) -> Any:
    return calc_value(getattr(udfs, name)(*[[[v]] for v in vals]))


def test_the_arguments_calc_reads_by_value_cannot_turn_an_empty_or_date_cell_into_an_answer() -> None:
    """For every required argument not declared a cell range, on 1,000 generated rows: 0 (what
    Calc gives for an empty cell) is an error text or the empty cell's answer, and a date's
    serial number an error text or the date's answer. Each argument that is declared a cell
    range needs it: on some row one of them would be another answer."""
    names, rows = generated()
    for s in specs():
        f = getattr(udfs, s.name)
        for k, p in enumerate(s.params):
            if p.optional or p.varargs:
                continue
            harm = []
            for row in rows:
                args = [[[row[names.index(q.name)]]] for q in s.params]
                for calc_gives, cell_is in ((0.0, None), (SERIAL, DATE)):
                    args[k] = [[calc_gives]]
                    got = f(*args)
                    args[k] = [[cell_is]]
                    if not is_error(got) and got != f(*args):
                        harm.append((calc_gives, row))
            if p.cell_only:
                assert harm, f"{s.name}({p.name}) need not be a cell range"
            else:
                assert not harm, f"{s.name}({p.name}): Calc's value {harm[0][0]} gives an answer"
    assert {s.name: {p.name for p in s.params if p.cell_only} for s in specs()
            if any(p.cell_only for p in s.params)} == {k: set(v) for k, v in CELL_ONLY.items()}


def test_a_formula_per_row_gives_in_calc_what_python_gives_for_the_same_cell(office: Any) -> None:
    """Every function, every required argument, every kind of cell: ``=FN(A2;B2;…)`` per row."""
    bases = base_rows()
    fns = {s.name: s for s in specs()}
    cells, formulas, cases = [], [], []
    for name, base in bases.items():
        req = required(fns[name])
        for k, p in enumerate(req):
            for kind, (cell, value) in KINDS.items():
                r = len(cells) + 1
                row: list[Any] = list(base) + [None] * (5 - len(base))
                vals = list(base)
                if kind != "value":
                    row[k], vals[k] = cell, value
                cells.append(row)
                args = ";".join(f"{col_letter(j)}{r}" for j in range(len(base)))
                formulas.append([f"={name}({args})"])
                cases.append((name, p, kind, vals))
    # a nested call and a literal: values are taken where an argument is not a cell range
    r = len(cells) + 1
    cells.append([300000.0, 5000.0, 57.0, None, None])
    formulas.append([f"=CLIENT_CLASS(CLIENT_TIER(A{r};B{r});RISK_CLASS(C{r}))"])
    formulas.append(["=RISK_CLASS(57)"])
    formulas.append(["=CLIENT_TIER(300000;5000)"])
    n = len(formulas)
    # and the column form over all these cells (empty, date and error cells inside a range)
    m = len(cases)
    column = {"range": f"G1:G{m}", "formula": f"=CLIENT_TIER(A1:A{m};B1:B{m})"}
    got = office.run("calc", values=cells + [[None] * 5] * 2, formulas=formulas,
                     formula_range=f"F1:F{n}", read_range=f"F1:G{n}", arrays=[column])
    values, errors = [r[0] for r in got["values"]], got["errors"]
    wrong = []
    for i, (name, p, kind, vals) in enumerate(cases):
        calc = errors.get(f"{i},5") or values[i]  # (column F: errors by "row,column")
        if p.cell_only or kind in ("empty", "text", "value"):
            want = py(name, vals)  # (empty: the Python function given None)
        elif kind in ("div0", "na"):  # an error cell: Calc shows that error, never an answer
            want = 532 if kind == "div0" else 32767
        elif kind == "zero":  # a single 0 there is read as an empty cell
            k = req_index(fns[name], p)
            want = py(name, [*vals[:k], None, *vals[k + 1:]])
        elif kind == "date":  # Calc gives a date as its serial number
            k = req_index(fns[name], p)
            want = py(name, [*vals[:k], SERIAL, *vals[k + 1:]])
        if calc != want:
            wrong.append((name, p.name, kind, calc, want))
    assert not wrong, f"{len(wrong)} of {len(cases)} differ, e.g. {wrong[:6]}"
    # the empty cells: the missing-input text, e.g. CLIENT_TIER with F2 empty
    empty_tier = next(values[i] for i, c in enumerate(cases)
                      if c[0] == "CLIENT_TIER" and c[1].name == "assets" and c[2] == "empty")
    assert empty_tier == "#N/A 资产权益为空"
    k = len(cases)
    assert values[k] == calc_value(udfs.CLIENT_CLASS(udfs.CLIENT_TIER([[300000.0]], [[5000.0]]),
                                                     udfs.RISK_CLASS([[57.0]])))
    assert values[k + 1] == calc_value(udfs.RISK_CLASS([[57.0]]))
    assert errors.get(f"{k + 2},5") == 504  # a literal where a cell is required: Err:504
    # the column form: each cell as Python's column call gives it (error cells included)
    as_python = [[KINDS_PY.get(_key(v), v) for v in row[:2]] for row in cells[:m]]
    want_column = udfs.CLIENT_TIER([[r[0]] for r in as_python], [[r[1]] for r in as_python])
    assert [r[1] for r in got["values"][:m]] == [calc_value(w[0]) for w in want_column]


def req_index(s: Any, p: Any) -> int:
    return required(s).index(p)
