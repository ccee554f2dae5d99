"""The Excel functions' cost, the Python side only (Excel's COM transfer is not measurable here).

1. **A scalar call of every catalogue function** (issue 16: ≤ 10 µs above the rule's own
   evaluation). One line per function: the rule's own evaluation (µs), the scalar call (µs), the
   difference and whether it is ≤ 10 µs. The call is made the way xlwings makes it for single
   cells (every argument ``ndim=2``: ``[[v]]``; omitted optional arguments take their defaults).
   "The rule" is the call(s) into ``rules/`` that decide the answer, with arguments already
   typed and the rulebook, regime or data already resolved — what the function adds (reading the
   cells, binding the arguments, finding the rulebook in force, the error texts, the
   answer's own wording) is the overhead. Where the rule is more than one call, the RULE column
   says what is taken (``CASES`` below).
2. **CLIENT_TIER over a whole column** (``--rows N``, e.g. 1,000,000; target ≤ 2 s): 2-D lists of
   floats, as xlwings hands over a column range.

Run::

    .venv/bin/python bench/bench_udfs.py             # the scalar table
    .venv/bin/python bench/bench_udfs.py --rows 1000000

Times are CPU times of this process (``time.process_time``: on a machine shared with other work
the wall time counts their turns too), the best of ``--repeat`` timeit loops of about 0.02 s
each, rule and call in turns; the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rules import get_rulebook, in_force_until, version_in_force
from rules.functions import CATALOGUE, catalogue

LIMIT_US = 10.0
TODAY = dt.date.today()


@dataclass
class Case:
    name: str
    args: tuple[Any, ...]  # scalar cell values (wrapped as [[v]] for the call)
    rule: Callable[[], Any]  # the rule's own evaluation, typed arguments, resolved rulebook
    what: str  # what is taken as the rule


def _cases() -> list[Case]:
    from rules import appropriateness as ap
    from rules import questionnaire, retention, schedule, segments, suitability
    from rules.rerating import quarter_tier

    brk = get_rulebook("brokerage")
    risk = get_rulebook("risk-class")
    turn = get_rulebook("asset-turnover")
    rfm = [get_rulebook(f"rfm-{k}") for k in ("recency", "frequency", "monetary")]
    rg = ap.get_regime()
    answers = ["A", "B", "C", "D", "A", "B", "C", "A", "ACD", "B", "C", "D"]
    left = dt.date(2026, 3, 4)
    blockers = dict.fromkeys(retention.blocker_flags(), False)
    blockers["ipo_funds_frozen"] = True
    closing = dict.fromkeys(retention.closing_flags(), True)
    closing["interest_withdrawn"] = False
    reason = retention.LEAVING_REASONS[0]

    def rules_version() -> Any:
        data, _ = version_in_force("brokerage", TODAY)
        return in_force_until(data)

    def rfm_rule() -> Any:
        r, f, m = (int(rb.evaluate(x).label) for rb, x in zip(rfm, (10.0, 12.0, 50_000.0),
                                                               strict=True))
        return segments.rfm_code(r, f, m, "R5F3M4")

    return [
        Case("CLIENT_TIER", (300_000.0, 1_000.0), lambda: brk.evaluate(300_000.0, 1_000.0).label,
             "Rulebook.evaluate"),
        Case("TIER_EXPLAIN", (300_000.0, 1_000.0),
             lambda: brk.evaluate(300_000.0, 1_000.0).reason, "evaluate + its reason"),
        Case("QUARTER_TIER", ("潜力客户", 300_000.0, 1_000.0),
             lambda: quarter_tier(brk, brk.normalize_label("潜力客户"),
                                  brk.evaluate(300_000.0, 1_000.0).label),
             "evaluate + normalize_label + rerating.quarter_tier"),
        Case("RISK_CLASS", (55.0,), lambda: risk.evaluate(55.0).label, "Rulebook.evaluate"),
        Case("RISK_SCORE", tuple(answers),
             lambda: questionnaire.tagged(questionnaire.score(answers)), "score + tagged"),
        Case("RISK_LEVEL", (30.0,), lambda: questionnaire.level(30), "questionnaire.level"),
        Case("CLIENT_CLASS", ("核心客户", "稳健型"),
             lambda: suitability.client_class("核心客户", "稳健型"), "suitability.client_class"),
        Case("SUITABLE", ("稳健型", "中"), lambda: suitability.suitable("稳健型", "中"),
             "suitability.suitable"),
        Case("SUITABILITY_NOTE", ("保守型", "高"),
             lambda: suitability.suitability_note("保守型", "高"), "suitability.suitability_note"),
        Case("FUND_RISK", ("偏债型",), lambda: segments.fund_risk("偏债型"), "segments.fund_risk"),
        Case("SERVICE_PACKAGE", ("核心客户",),
             lambda: brk.service_product(brk.normalize_label("核心客户"), False),
             "normalize_label + service_product"),
        Case("VISITS_PER_YEAR", ("VIP客户",),
             lambda: brk.visits_per_year(brk.normalize_label("VIP客户")),
             "normalize_label + visits_per_year"),
        Case("ASSET_TURNOVER_CLASS", (2_000_000.0, 4.0),
             lambda: turn.evaluate(2_000_000.0, 4.0).label, "Rulebook.evaluate"),
        Case("HOLDING_STYLE", (45.0,), lambda: segments.holding_style(45.0, False),
             "segments.holding_style"),
        Case("VALUE_SEGMENT", ("高", "低"), lambda: segments.value_segment(True, False),
             "segments.value_segment"),
        Case("RFM", (10.0, 12.0, 50_000.0), rfm_rule, "three Rulebook.evaluate + rfm_code"),
        Case("TRANSFER_APPROVAL", ("核心客户", "个人"),
             lambda: (retention.approval_chain("核心客户", "个人"),
                      retention.appointment_required("核心客户", "个人")),
             "approval_chain + appointment_required"),
        Case("REVIEW_DUE", (dt.datetime(2025, 6, 30),),
             lambda: suitability.reassessment_due(dt.date(2025, 6, 30), TODAY).text_zh,
             "suitability.reassessment_due"),
        Case("RERATING_WINDOW", ("2026Q3",),
             lambda: schedule.run_window(schedule.period_of_cell("2026Q3"), "brokerage",
                                         assume_weekdays=True),
             "period_of_cell + schedule.run_window"),
        Case("RULES_VERSION", (), rules_version, "version_in_force + in_force_until"),
        Case("TRANSFER_BLOCKERS", (False, False, False, True, False),
             lambda: retention.transfer_blockers(**blockers), "retention.transfer_blockers"),
        Case("FOLLOW_UP", ("核心客户", "个人", dt.datetime(2026, 3, 4), dt.datetime(2026, 3, 5)),
             lambda: retention.follow_up_plan("核心客户", "个人", left),
             "retention.follow_up_plan"),
        Case("ACCOUNT_CLOSING", (True, True, False, True, True),
             lambda: retention.closing_check(**closing), "retention.closing_check"),
        Case("LEAVING_REASON", (reason,), lambda: retention.record_leaving_reason(reason),
             "retention.record_leaving_reason"),
        Case("RETENTION_ADVICE", (reason,), lambda: retention.leaving_reason_response(reason),
             "retention.leaving_reason_response"),
        Case("INVESTOR_TYPE", ("个人", 6_000_000.0, None, 3.0),
             lambda: ap.investor_type(rg, client_type="个人", financial_assets=6_000_000.0,
                                      investment_years=3.0),
             "appropriateness.investor_type"),
        Case("INVESTOR_LEVEL", (55.0,), lambda: ap.investor_level(55, False, rg).label,
             "appropriateness.investor_level"),
        Case("PRODUCT_MATCH", ("C3", "R4"), lambda: ap.match("C3", "R4", False, rg).label,
             "appropriateness.match"),
    ]


def best_us(fs: list[Callable[[], Any]], repeat: int) -> list[float]:
    """The best CPU time of one call of each of ``fs`` in µs: timeit loops of about 0.02 s, the
    functions taking turns. CPU time of this process (``time.process_time``), not wall time:
    on a loaded machine the wall time of a loop counts the other processes' turns too."""
    timers = [timeit.Timer(f, timer=time.process_time) for f in fs]
    numbers = []
    for t in timers:
        n, _ = t.autorange()  # (≥ 0.2 s); scale to ~0.02 s a loop
        numbers.append(max(1, n // 10))
    best = [float("inf")] * len(fs)
    for _ in range(repeat):
        for k, (t, n) in enumerate(zip(timers, numbers, strict=True)):
            best[k] = min(best[k], t.timeit(n) / n * 1e6)
    return best


def scalar_table(repeat: int) -> bool:
    cases = {c.name: c for c in _cases()}
    missing = [n for n in CATALOGUE if n not in cases]
    if missing:
        raise SystemExit(f"no bench case for {', '.join(missing)}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"scalar calls ({dt.datetime.now():%Y-%m-%d %H:%M}, load average {load:.2f}, "
          f"Python {sys.version.split()[0]}; CPU time, best of {repeat})")
    print(f"{'function':<22}{'rule µs':>9}{'call µs':>9}{'diff µs':>9}  ≤{LIMIT_US:g}  rule")
    ok_all = True
    for name in CATALOGUE:
        c = cases[name]
        f = getattr(catalogue, name)
        cells = [[[v]] for v in c.args]
        got = f(*cells)  # warm: rulebooks loaded, caches filled (not timed)
        if isinstance(got, str) and got.startswith("#"):
            raise SystemExit(f"{name}{c.args}: {got}")  # a bench of an error text is no bench
        rule, call = best_us([c.rule, lambda f=f, cells=cells: f(*cells)], repeat)
        ok = call - rule <= LIMIT_US
        ok_all &= ok
        print(f"{name:<22}{rule:9.2f}{call:9.2f}{call - rule:9.2f}  {'yes' if ok else 'NO ':<4} "
              f"{c.what}")
    return ok_all


def column(n: int) -> None:
    import udfs

    rng = np.random.default_rng(2009)
    assets = (rng.lognormal(12, 2, n)).round(2)
    commission = (rng.lognormal(7, 2, n)).round(2)
    a = [[float(x)] for x in assets]
    c = [[float(x)] for x in commission]
    udfs.CLIENT_TIER([[1.0], [2.0]], [[0.0], [0.0]])  # load the rulebook once (not timed)
    for label, args in (("floats", (a, c)),
                        ("floats, empty commission cells", (a, [[None]] * n))):
        t0 = time.perf_counter()
        out = udfs.CLIENT_TIER(*args)
        t = time.perf_counter() - t0
        counts: dict[str, int] = {}
        for row in out:
            counts[row[0]] = counts.get(row[0], 0) + 1
        print(f"CLIENT_TIER {n:,} rows ({label}): {t:.2f} s  {dict(sorted(counts.items()))}")
    # some bad cells: per-cell errors on the vectorised path
    a_bad = list(a)
    for i in range(0, n, 1000):
        a_bad[i] = ["x"] if i % 2000 else [-1.0]
    t0 = time.perf_counter()
    out = udfs.CLIENT_TIER(a_bad, c)
    t = time.perf_counter() - t0
    bad = sum(1 for row in out if row[0].startswith("#"))
    print(f"CLIENT_TIER {n:,} rows with {bad:,} bad cells: {t:.2f} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=0, help="also time CLIENT_TIER over N rows")
    p.add_argument("--repeat", type=int, default=15)
    a = p.parse_args(argv)
    ok = scalar_table(a.repeat)
    if a.rows:
        column(a.rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
