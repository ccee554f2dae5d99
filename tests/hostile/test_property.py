"""Property-based attack (issue 15): hypothesis generates branch workbooks — hostile client ids
(formula prefixes, control characters, CJK, spaces, duplicates), amounts as numbers, number
texts and junk — and the invariants hold for every one: an exit status, never an exception;
written or untouched; every row kept in order; valid rows get the rule's tier, bad rows are
rejected (named by row and column) and keep their cells; the log holds no formula; a rerun is
a no-op."""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path

from branch_files import plain_branch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rules import get_rulebook
from workbook.job import rerate
from workbook.schema import WorkbookError
from workbook.xlsxio import read_sheet

NOW = dt.datetime(2026, 10, 9, 10, 0)
RB = get_rulebook("brokerage", dt.date(2026, 9, 30))
HEADER = ["客户编号", "资产权益", "上年度净佣金"]

ids = st.one_of(
    st.from_regex(r"[A-Z]{1,2}[0-9]{1,6}", fullmatch=True),
    st.sampled_from(["=1+1", "+1", "-1", "@A1", "\t=1", "=cmd|' /C calc'!A0", "客户一", "ＶＩＰ",
                     "a\x01b", " 空格 ", "_x0041_"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x9FFF),
            min_size=1, max_size=12),
)
amounts = st.one_of(
    st.floats(min_value=0, max_value=1e12, allow_nan=False),
    st.floats(min_value=-1e6, max_value=-0.01),
    st.sampled_from([0.0, 250_000.0, 10_000_000.0, 1e308]),
    st.sampled_from(["25万", "1,000,000", "１０万", "NaN", "inf", "1e9999", "TRUE", "#N/A", "abc",
                     "-0", "", "  "]),
    st.none(),
)
rows_st = st.lists(st.tuples(ids, amounts, amounts), min_size=1, max_size=12)


def _valid_number(v) -> float | None:
    """The figure a plain float cell means (None: not a plain float)."""
    return v if isinstance(v, float) and math.isfinite(v) else None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows_st)
def test_generated_workbooks_keep_the_invariants(rows) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = plain_branch(Path(d) / "b.xlsx", [list(r) for r in rows], HEADER)
        before_bytes = p.read_bytes()
        before = read_sheet(p, "客户")
        old_cols = [before.column(h) for h in HEADER]
        try:
            res = rerate(p, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
        except WorkbookError as e:  # nothing could be done: said in Chinese, file untouched
            assert e.args and any("\u4e00" <= ch <= "\u9fff" for ch in str(e.args[0]))
            assert p.read_bytes() == before_bytes
            return
        assert res.exit_code in (0, 1, 3)
        event(f"exit {res.exit_code}, written {res.written}")
        if not res.written:
            assert p.read_bytes() == before_bytes
            return
        after = read_sheet(p, "客户")
        assert after.n_rows == before.n_rows  # no row lost or added
        assert [after.column(h) for h in HEADER] == old_cols  # inputs untouched
        rejected = {r[0] for r in res.rejections}
        for row, _cid, col, _v, reason in res.rejections:
            assert f"第 {row} 行" in reason
            assert set(col.split("、")) <= {*HEADER, "风险测评得分"}  # every problem of the row
        tier_c = after.header.index("当前级别") + 1
        for r in range(2, after.n_rows + 1):
            got = after.value(r, tier_c)
            cid = after.value(r, 1)
            if r in rejected or cid is None or (isinstance(cid, str) and not cid.strip()):
                assert got in (None, ""), (r, got)
                continue
            a, c = (after.value(r, 2), after.value(r, 3))
            assert got in {o.label for o in RB.outputs}, (r, got)
            fa, fc = _valid_number(a), _valid_number(c) if c is not None else 0.0
            if fa is not None and fc is not None:
                assert got == RB.evaluate(fa, fc).label, (r, a, c, got)
            if isinstance(a, str) and a.strip() in ("NaN", "inf", "1e9999", "TRUE", "#N/A", "abc"):
                raise AssertionError(f"row {r}: {a!r} got a tier {got}")
        log = read_sheet(p, "变更记录")
        assert not log.formulas
        kinds = log.column("记录类型")
        assert kinds.count("运行") == 1
        assert kinds.count("变更") == after.n_rows - 1 - len(rejected) - sum(
            1 for r in range(2, after.n_rows + 1) if r not in rejected and (
                after.value(r, 1) is None or not str(after.value(r, 1)).strip()))
        written = p.read_bytes()
        again = rerate(p, period="2026Q3", mode="quarterly", operator="测试员", now=NOW)
        assert not again.written and p.read_bytes() == written
