"""A corpus of planted tamperings, each caught at its cell/row with its kind (issue 5).

The base is a branch made by the product: the template with formula columns (计算级别
=CLIENT_TIER, 风险类别 =RISK_CLASS), re-rated by the job for 2026Q3 (quarterly) and 2026 (annual).
Unless a test says otherwise, the findings of severity 严重/警告 after a tampering are exactly the
ones it plants: nothing is missed and nothing else is reported.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from audit_fixtures import (
    AS_OF,
    RUN2,
    build_branch,
    change_rows,
    client_ids,
    copy,
    delete_row_xml,
    letter,
    log,
    logged_clients,
    replace_log,
    row_of,
    set_cells,
    set_formula_xml,
    set_value_xml,
    sheet_rows,
)
from branch_files import plain_branch

import udfs
from workbook import history, summary
from workbook.audit import SEVERE, WARN, AuditResult, audit_file
from workbook.job import rerate
from workbook.xlsxio import read_sheet

H = {name: k for k, name in enumerate(history.HEADER)}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_branch(tmp_path_factory.mktemp("base") / "branch.xlsx")


@pytest.fixture()
def wb(base: Path, tmp_path: Path) -> Path:
    return copy(base, tmp_path / "branch.xlsx")


def audit(path: Path) -> AuditResult:
    return audit_file(path, as_of=AS_OF)


def serious(res: AuditResult) -> set[tuple[str, str]]:
    return {(f.kind, f.address) for f in res.findings if f.severity in (SEVERE, WARN)}


def find(res: AuditResult, kind: str, address: str):
    got = [f for f in res.findings if f.kind == kind and f.address == address]
    assert got, (kind, address, sorted(serious(res)))
    return got[0]


def valid_clients(path: Path) -> list[str]:
    """Clients with valid data (not rejected), in sheet order."""
    d = read_sheet(path, "客户")
    ids = [str(v) for v in d.column("客户编号")]
    bad = {i for i in ids if ids.count(i) > 1}
    return [i for i in ids[:-6] if i not in bad]


def computed(path: Path, cid: str) -> str:
    d = read_sheet(path, "客户")
    r = row_of(path, cid)
    return str(d.value(r, d.col_of("计算级别")))


def tier(path: Path, cid: str) -> str:
    d = read_sheet(path, "客户")
    return str(d.value(row_of(path, cid), d.col_of("当前级别")) or "")


def other_tier(t: str) -> str:
    return "VIP客户" if t != "VIP客户" else "普通客户"


def test_clean_branch_has_no_findings(base: Path) -> None:
    res = audit(base)
    assert serious(res) == set()
    assert res.exit_code == 0
    assert res.stats["checked"] == res.stats["ours"] > 0 and not res.not_checked
    assert any("哈希链完整" in n for n in res.notes)
    assert any("级别摘要与最近一次运行一致" in n for n in res.notes)


# ------------------------------------------------------------------------------ check 3


def test_typed_over_tier_of_a_logged_client(wb: Path) -> None:
    cid = next(c for c in valid_clients(wb) if c in logged_clients(wb))
    r, n = row_of(wb, cid), letter(wb, "当前级别")
    was = tier(wb, cid)
    set_cells(wb, {f"{n}{r}": other_tier(was)})
    res = audit(wb)
    f = find(res, "tier_typed_over", f"客户!{n}{r}")
    assert f.severity == SEVERE and f.client_id == cid
    assert (f.found, f.supported) == (other_tier(was), was)
    assert serious(res) == {("tier_typed_over", f"客户!{n}{r}")}
    assert res.exit_code == 1


def test_typed_over_tier_of_a_client_without_log_rows_is_located_by_the_digest(wb: Path) -> None:
    cid = next(c for c in valid_clients(wb) if c not in logged_clients(wb) and tier(wb, c))
    r, n = row_of(wb, cid), letter(wb, "当前级别")
    was = tier(wb, cid)
    set_cells(wb, {f"{n}{r}": other_tier(was)})
    res = audit(wb)
    f = find(res, "tier_typed_over", f"客户!{n}{r}")
    assert f.severity == SEVERE and (f.found, f.supported) == (other_tier(was), was)
    assert "级别摘要" in f.explanation
    assert serious(res) == {("tier_typed_over", f"客户!{n}{r}")}


def test_cleared_tier(wb: Path) -> None:
    cid = next(c for c in valid_clients(wb) if c in logged_clients(wb))
    r, n = row_of(wb, cid), letter(wb, "当前级别")
    was = tier(wb, cid)
    set_cells(wb, {f"{n}{r}": None})
    res = audit(wb)
    f = find(res, "tier_cleared", f"客户!{n}{r}")
    assert (f.found, f.supported) == ("", was)
    assert serious(res) == {("tier_cleared", f"客户!{n}{r}")}


def test_tier_typed_over_between_two_runs(tmp_path: Path) -> None:
    wb = build_branch(tmp_path / "b.xlsx", runs=("q",))
    cid = next(c for c in valid_clients(wb)
               if c in logged_clients(wb) and tier(wb, c) != "VIP客户")
    r, n = row_of(wb, cid), letter(wb, "当前级别")
    before = tier(wb, cid)
    set_cells(wb, {f"{n}{r}": "VIP客户"})
    rerate(wb, period="2026", mode="annual", operator="测试员", now=RUN2)
    res = audit(wb)
    hist = [k for k, row in change_rows(wb) if row[H["客户编号"]] == cid]
    f = find(res, "tier_changed_between_runs", f"变更记录!I{hist[-1]}")
    assert (f.found, f.supported) == ("VIP客户", before) and f.client_id == cid


def test_deleted_client_row(wb: Path) -> None:
    cid = next(c for c in valid_clients(wb) if c in logged_clients(wb))
    delete_row_xml(wb, row_of(wb, cid))
    res = audit(wb)
    f = find(res, "client_missing", "客户")
    assert f.client_id == cid and f.severity == WARN


def test_forged_entry_with_recomputed_chain_is_not_explained_by_the_rules(wb: Path) -> None:
    """A forger who rewrites a row and recomputes every hash, the tail in 汇总 and the run's
    级别摘要 keeps the chain intact — the rules still do not explain the entry."""
    rows = log(wb)
    k, row = next((k, r) for k, r in change_rows(wb)
                  if r[H["变更后"]] not in ("VIP客户",) and r[H["级别变动"]] != "特别调整"
                  and r[H["客户编号"]] in valid_clients(wb))
    cid = row[H["客户编号"]]
    i = k - 2
    rows[i][H["变更后"]] = "VIP客户"
    rows[i][H["级别变动"]] = "升级"
    cr = row_of(wb, cid)
    n = letter(wb, "当前级别")
    later = [kk for kk, rr in change_rows(wb) if rr[H["客户编号"]] == cid and kk > k]
    if not later:
        set_cells(wb, {f"{n}{cr}": "VIP客户"})
    # recompute the digests of the runs at and after the forged row, then the whole chain
    ids = client_ids(wb)
    d = read_sheet(wb, "客户")
    tiers = [str(v or "").strip() for v in d.column("当前级别")]
    last_run = max(j for j, r in enumerate(rows) if r[0] == history.RUN)
    stats = rows[last_run][H["统计"]]
    rows[last_run][H["统计"]] = stats.split(history.TIER_DIGEST)[0] + \
        f"{history.TIER_DIGEST}={history.tier_digest(ids, tiers)}"
    fields = [r[: history.N_FIELDS] for r in rows]
    rows = history.chain("", fields)
    replace_log(wb, rows)
    srows = sheet_rows(wb, "汇总")
    tail_row = next(j for j, r in enumerate(srows, start=1) if r and r[0] == summary.TAIL_LABEL)
    set_cells(wb, {f"B{tail_row}": history.tail_hash(rows)}, sheet="汇总")
    res = audit(wb)
    assert not [f for f in res.findings if f.check == "变更记录"]  # the chain verifies
    f = find(res, "entry_unexplained", f"变更记录!A{k}")
    assert f.severity == SEVERE and f.client_id == cid and f.rule.startswith("BRK-")


# ------------------------------------------------------------------------------ checks 1, 2


def test_overwritten_formula_with_a_different_value(wb: Path) -> None:
    cid = valid_clients(wb)[3]
    r, o = row_of(wb, cid), letter(wb, "计算级别")
    want = computed(wb, cid)
    value = other_tier(want)
    set_cells(wb, {f"{o}{r}": value})
    res = audit(wb)
    f = find(res, "overwritten_formula", f"客户!{o}{r}")
    assert f.severity == SEVERE and (f.found, f.supported) == (value, want)
    assert f"CLIENT_TIER(F{r},G{r})" in str(f.explanation)
    assert f.rule.startswith("BRK-") and f.rulebook == "brokerage@2009.1"
    assert serious(res) == {("overwritten_formula", f"客户!{o}{r}")}


def test_overwritten_formula_with_the_same_value_is_information(wb: Path) -> None:
    cid = valid_clients(wb)[4]
    r, o = row_of(wb, cid), letter(wb, "计算级别")
    set_cells(wb, {f"{o}{r}": computed(wb, cid)})
    res = audit(wb)
    f = find(res, "overwritten_formula", f"客户!{o}{r}")
    assert f.severity == "提示"
    assert serious(res) == set()


def test_edited_cached_value(wb: Path) -> None:
    cid = valid_clients(wb)[5]
    r, o = row_of(wb, cid), letter(wb, "计算级别")
    want = computed(wb, cid)
    set_formula_xml(wb, f"{o}{r}", None, other_tier(want))
    res = audit(wb)
    f = find(res, "formula_mismatch", f"客户!{o}{r}")
    assert (f.found, f.supported) == (other_tier(want), want)
    assert f.rulebook == "brokerage@2009.1" and f.rule.startswith("BRK-")
    assert serious(res) == {("formula_mismatch", f"客户!{o}{r}")}


def test_input_changed_without_recalculation_leaves_a_stale_value(wb: Path) -> None:
    cid = next(c for c in valid_clients(wb) if computed(wb, c) != "VIP客户")
    r, o, a = row_of(wb, cid), letter(wb, "计算级别"), letter(wb, "资产权益")
    set_value_xml(wb, f"{a}{r}", 50_000_000.0)
    res = audit(wb)
    f = find(res, "formula_mismatch", f"客户!{o}{r}")
    assert f.supported == "VIP客户" and f.found == computed(wb, cid)
    assert serious(res) == {("formula_mismatch", f"客户!{o}{r}")}


def test_formula_replaced_by_another_rows_formula(wb: Path) -> None:
    ids = valid_clients(wb)
    k = next(k for k in range(len(ids) - 1) if computed(wb, ids[k]) != computed(wb, ids[k + 1]))
    r, o = row_of(wb, ids[k]), letter(wb, "计算级别")
    assert row_of(wb, ids[k + 1]) == r + 1
    want = computed(wb, ids[k])
    set_formula_xml(wb, f"{o}{r}", f"CLIENT_TIER(F{r + 1},G{r + 1})", computed(wb, ids[k + 1]))
    res = audit(wb)
    f = find(res, "formula_changed", f"客户!{o}{r}")
    assert f.severity == SEVERE and f.supported == want
    assert serious(res) == {("formula_changed", f"客户!{o}{r}")}


def test_wrong_risk_class_in_formula_cache(wb: Path) -> None:
    d = read_sheet(wb, "客户")
    t = letter(wb, "风险类别")
    cid = next(c for c in valid_clients(wb)
               if d.value(row_of(wb, c), d.col_of("风险类别")) in ("稳健型", "进取型"))
    r = row_of(wb, cid)
    set_formula_xml(wb, f"{t}{r}", None, "保守型")
    res = audit(wb)
    f = find(res, "formula_mismatch", f"客户!{t}{r}")
    assert f.found == "保守型" and f.rule and f.rulebook.startswith("risk-class@")
    assert serious(res) == {("formula_mismatch", f"客户!{t}{r}")}


# ------------------------------------------------------------------------------ check 4


def _change_index(wb: Path, run: int = 0) -> int:
    """Index (in log rows) of a 变更 row inside the first run, not its last row."""
    rows = log(wb)
    runs = [j for j, r in enumerate(rows) if r[0] == history.RUN]
    end = runs[1] if len(runs) > 1 else len(rows)
    return runs[run] + 2 if runs[run] + 3 < end else runs[run] + 1


def test_edited_history_row(wb: Path) -> None:
    rows = log(wb)
    j = _change_index(wb)
    rows[j][H["原因"]] += "（改）"
    replace_log(wb, rows)
    res = audit(wb)
    f = find(res, "history_edited", f"变更记录!A{j + 2}")
    assert f.severity == SEVERE
    assert {k for k, _ in serious(res)} == {"history_edited"}


def test_deleted_history_row(wb: Path) -> None:
    rows = log(wb)
    j = _change_index(wb)
    replace_log(wb, rows[:j] + rows[j + 1:])
    res = audit(wb)
    find(res, "history_deleted", "变更记录!A2")  # the run's 记录数 no longer matches
    find(res, "history_deleted", f"变更记录!A{j + 2}")  # the chain breaks at the next row


def test_reordered_history_rows(wb: Path) -> None:
    rows = log(wb)
    j = _change_index(wb)
    rows[j], rows[j + 1] = rows[j + 1], rows[j]
    replace_log(wb, rows)
    res = audit(wb)
    find(res, "history_reordered", f"变更记录!A{j + 2}:A{j + 3}")
    assert {k for k, _ in serious(res)} == {"history_reordered"}


def test_edited_log_is_told_apart_from_a_typed_over_cell(wb: Path) -> None:
    """The 变更后 of a row of the last run is edited, and another client's tier typed over: the
    级别摘要 shows which cell is as the run left it and which record was changed."""
    rows = log(wb)
    last = max(j for j, r in enumerate(rows) if r[0] == history.RUN)
    j = next(j for j in range(last + 1, len(rows))
             if rows[j][0] == history.CHANGE and rows[j][H["客户编号"]] in valid_clients(wb))
    logged_as = rows[j][H["变更后"]]
    rows[j][H["变更后"]] = other_tier(logged_as)
    replace_log(wb, rows)
    cid = next(c for c in valid_clients(wb) if c not in logged_clients(wb) and tier(wb, c))
    r, n = row_of(wb, cid), letter(wb, "当前级别")
    set_cells(wb, {f"{n}{r}": other_tier(tier(wb, cid))})
    res = audit(wb)
    f = find(res, "entry_altered", f"变更记录!J{j + 2}")
    assert (f.found, f.supported) == (other_tier(logged_as), logged_as)
    find(res, "history_edited", f"变更记录!A{j + 2}")
    typed = find(res, "tier_typed_over", f"客户!{n}{r}")
    assert typed.client_id == cid
    expected = {("entry_altered", f"变更记录!J{j + 2}"), ("history_edited", f"变更记录!A{j + 2}"),
                ("tier_typed_over", f"客户!{n}{r}")}
    # the altered record may also fail the rules (it does unless the new tier is explainable)
    assert expected <= serious(res) <= expected | {("entry_unexplained", f"变更记录!A{j + 2}")}


def test_inserted_history_row(wb: Path) -> None:
    rows = log(wb)
    j = _change_index(wb)
    replace_log(wb, [*rows[: j + 1], list(rows[j]), *rows[j + 1:]])
    res = audit(wb)
    f = find(res, "history_inserted", f"变更记录!A{j + 3}")
    assert f"第 {j + 2} 行" in f.explanation
    find(res, "entry_duplicate", f"变更记录!A{j + 3}")


def test_deleted_last_run(wb: Path) -> None:
    rows = log(wb)
    last = max(j for j, r in enumerate(rows) if r[0] == history.RUN)
    replace_log(wb, rows[:last])
    res = audit(wb)
    f = find(res, "history_tail", f"变更记录!A{last + 2}")
    assert f.severity == SEVERE and "汇总" in f.explanation


def test_deleted_last_row_of_the_last_run(wb: Path) -> None:
    rows = log(wb)
    last = max(j for j, r in enumerate(rows) if r[0] == history.RUN)
    replace_log(wb, rows[:-1])
    res = audit(wb)
    find(res, "history_deleted", f"变更记录!A{last + 2}")
    find(res, "history_tail", f"变更记录!A{len(rows) + 1}")


# ------------------------------------------------------------------------------ check 5


def test_override_without_approver(wb: Path) -> None:
    d = read_sheet(wb, "客户")
    cid = next(c for c in valid_clients(wb)
               if not d.value(row_of(wb, c), d.col_of("调整审批人")))
    r = row_of(wb, cid)
    set_cells(wb, {f"{letter(wb, '特别调整级别')}{r}": "VIP客户"})
    res = audit(wb)
    f = find(res, "override_no_approver", f"客户!{letter(wb, '调整审批人')}{r}")
    assert f.severity == WARN and f.client_id == cid
    assert serious(res) == {("override_no_approver", f"客户!{letter(wb, '调整审批人')}{r}")}


def test_old_questionnaire(wb: Path) -> None:
    d = read_sheet(wb, "客户")
    cid = next(c for c in valid_clients(wb) if d.value(row_of(wb, c), d.col_of("测评日期")))
    r, col = row_of(wb, cid), letter(wb, "测评日期")
    set_cells(wb, {f"{col}{r}": dt.date(2024, 12, 31)})
    res = audit(wb)
    f = find(res, "questionnaire_overdue", f"客户!{col}{r}")
    assert (f.found, f.supported) == ("2024-12-31", "2026-12-31") and "已逾期 10 天" in f.explanation
    assert serious(res) == {("questionnaire_overdue", f"客户!{col}{r}")}


def test_figures_in_a_rule_gap(wb: Path) -> None:
    cid = valid_clients(wb)[6]
    r, a, o = row_of(wb, cid), letter(wb, "资产权益"), letter(wb, "计算级别")
    set_value_xml(wb, f"{a}{r}", 10_000_000.0)
    set_formula_xml(wb, f"{o}{r}", None, "普通客户")  # Excel recalculated: the literal rule
    res = audit(wb)
    f = find(res, "gap_figures", f"客户!{a}{r}")
    assert f.rule == "BRK-ORD-1" and f.rulebook == "brokerage@2009.1"
    assert "10,000,000" in f.explanation and "BRK-CORE-1" in f.explanation
    assert serious(res) == {("gap_figures", f"客户!{a}{r}")}


PLAIN_HEADER = ["客户编号", "资产权益", "上年度净佣金", "风险测评得分", "测评日期", "产品风险等级",
                "已提示风险"]
PLAIN_ROWS = [
    ["P1", 300_000.0, 0.0, 20.0, dt.date(2026, 6, 1), "低", None],
    ["P2", 20_000_000.0, None, 60.0, dt.date(2026, 6, 1), "中、低", None],
    ["P3", 50_000.0, 4_000.0, 90.0, dt.date(2026, 6, 1), "高", None],
    ["P4", 120_000.0, 6_000.0, 45.0, dt.date(2026, 6, 1), None, None],
]


@pytest.fixture()
def plain(tmp_path: Path) -> Path:
    p = plain_branch(tmp_path / "plain.xlsx", [list(r) for r in PLAIN_ROWS], PLAIN_HEADER)
    rerate(p, period="2026Q3", mode="quarterly", operator="测试员",
           now=dt.datetime(2026, 10, 9, 10, 0))
    return p


def test_plain_workbook_without_formulas_is_clean(plain: Path) -> None:
    res = audit(plain)
    assert serious(res) == set() and res.findings == []
    assert res.stats["formulas"] == 0


def test_wrong_risk_class_value(plain: Path) -> None:
    col = letter(plain, "风险类别")
    set_cells(plain, {f"{col}3": "进取型"})  # P2: score 60 -> 稳健型
    res = audit(plain)
    f = find(res, "risk_class_mismatch", f"客户!{col}3")
    assert (f.found, f.supported) == ("进取型", "稳健型") and f.severity == SEVERE and f.rule
    assert f.rulebook.startswith("risk-class@")
    assert serious(res) == {("risk_class_mismatch", f"客户!{col}3")}


def test_suitability_breach(plain: Path) -> None:
    set_cells(plain, {"F2": "高"})  # P1: score 20 -> 保守型, high-risk product
    res = audit(plain)
    f = find(res, "suitability_breach", "客户!F2")
    assert f.severity == WARN and "第十九条" in f.explanation and f.client_id == "P1"
    assert serious(res) == {("suitability_breach", "客户!F2")}
    set_cells(plain, {"G2": "是"})  # the warning was given and recorded
    res = audit(plain)
    assert find(res, "suitability_breach", "客户!F2").severity == "提示"
    assert serious(res) == set()


def test_every_planted_kind_is_a_distinct_check() -> None:
    """The corpus above plants tamperings of all five checks (kept in sync by hand)."""
    kinds = {"tier_typed_over", "tier_cleared", "tier_changed_between_runs", "client_missing",
             "entry_unexplained", "entry_altered", "overwritten_formula", "formula_mismatch", "formula_changed",
             "history_edited", "history_deleted", "history_reordered", "history_inserted",
             "history_tail", "override_no_approver", "questionnaire_overdue", "gap_figures",
             "risk_class_mismatch", "suitability_breach"}
    assert len(kinds) >= 8
    assert udfs.CLIENT_TIER(10_000_000, 0) == "普通客户"  # the gap the corpus plants


def test_an_edited_old_record_is_not_the_expectation_for_the_tier_cell(wb: Path) -> None:
    """The 变更后 of a row of an earlier run is edited (the chain breaks there): the audit names
    the edited row, and does not blame the client's untouched tier cell with the forged tier as
    what it should be (issue 17)."""
    rows = log(wb)
    runs = [j for j, r in enumerate(rows) if r[0] == history.RUN]
    assert len(runs) > 1  # (the fixture has two runs)
    later = {r[H["客户编号"]] for r in rows[runs[-1]:] if r[0] == history.CHANGE}
    j = next(j for j in range(runs[0] + 1, runs[1])
             if rows[j][0] == history.CHANGE and rows[j][H["客户编号"]] in valid_clients(wb)
             and rows[j][H["客户编号"]] not in later
             and rows[j][H["变更后"]] == tier(wb, rows[j][H["客户编号"]]))
    cid, logged_as = rows[j][H["客户编号"]], rows[j][H["变更后"]]
    rows[j][H["变更后"]] = other_tier(logged_as)
    replace_log(wb, rows)
    res = audit(wb)
    find(res, "history_edited", f"变更记录!A{j + 2}")
    altered = find(res, "entry_altered", f"变更记录!J{j + 2}")  # the record, with what it said
    assert (altered.found, altered.supported) == (other_tier(logged_as), logged_as)
    on_cell = [f for f in res.findings if f.sheet == "客户" and f.client_id == cid]
    assert not [f for f in on_cell if f.supported == other_tier(logged_as)], on_cell
    assert not [f for f in on_cell if f.severity == SEVERE], on_cell
