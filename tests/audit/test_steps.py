"""The audit's steps called one by one (issue 11: workbook/audit as named steps), each on a
branch made by the product and asserted on what an auditor sees: the kind, the cell, the value
found and the value supported. ``audit_file`` runs the same steps (test_tampering.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import audit_fixtures as fx
import pytest

from workbook import history
from workbook.audit import SEVERE, WARN, AuditResult, Finding, NotChecked, read_workbook
from workbook.audit.book import AuditedBook, chain_checks, formula_checks, open_book, tier_checks
from workbook.audit.chain import ChainRows, check_chain, hash_mismatch
from workbook.audit.changelog import parse_log
from workbook.audit.digest import explain_digest, replay
from workbook.audit.entries import Rulebooks, change_problem, check_entries, entries_by_client
from workbook.audit.formula_syntax import a1, pattern_text, relative
from workbook.audit.rows import FINDINGS_HEADER, findings_rows, summary_rows
from workbook.audit.tiers import (
    DigestVerdict,
    compare_shown,
    differences,
    report_differences,
    tier_context,
    unlogged_tiers,
)
from workbook.schema import WorkbookError
from workbook.xlsxio import read_sheet

H = {name: k for k, name in enumerate(history.HEADER)}  # 变更记录 field -> index


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 clients re-rated for 2026Q3 (quarterly) and 2026 (annual), formulas per row."""
    return fx.build_branch(tmp_path_factory.mktemp("steps") / "branch.xlsx")


@pytest.fixture()
def wb(base: Path, tmp_path: Path) -> Path:
    """A copy of ``base`` to tamper with."""
    return fx.copy(base, tmp_path / "tampered.xlsx")


def opened(path: Path) -> AuditedBook:
    return open_book(read_workbook(path), fx.AS_OF, None)


def typed_over(path: Path) -> tuple[str, int, str, str]:
    """Type another tier over the 当前级别 of a logged client: (id, row, was, typed)."""
    d = read_sheet(path, "客户")
    ids = [str(v) for v in d.column("客户编号")]
    cid = next(c for c in ids[:-6] if c in fx.logged_clients(path) and ids.count(c) == 1)
    r, n = fx.row_of(path, cid), fx.letter(path, "当前级别")
    was = str(d.value(r, d.col_of("当前级别")))
    typed = "VIP客户" if was != "VIP客户" else "普通客户"
    fx.set_cells(path, {f"{n}{r}": typed})
    return cid, r, was, typed


# ------------------------------------------------------------------------------ formula text


def test_a_relative_form_reads_as_written_in_any_row() -> None:
    key = relative("CLIENT_TIER(F7,$G$7,'客 户'!H7)", 7, 15)
    assert relative("CLIENT_TIER(F9,$G$7,'客 户'!H9)", 9, 15) == key
    assert pattern_text(key)(9, 15) == "CLIENT_TIER(F9,$G$7,'客 户'!H9)"
    assert pattern_text(key)(7, 15) == "CLIENT_TIER(F7,$G$7,'客 户'!H7)"
    assert a1(7, 15) == "O7"


# ------------------------------------------------------------------------------ book steps


def test_open_book_locates_the_sheets_and_reads_the_log(base: Path) -> None:
    book = opened(base)
    assert (book.client_sheet, book.history_sheet, book.summary_sheet) == ("客户", "变更记录", "汇总")
    assert [r.get("评级期间") for r in book.runs] == ["2026Q3", "2026"]
    assert book.rb.id == "brokerage" and len(book.table) == 40
    cid = book.table.client_id[0]
    assert book.client_of("客户", fx.row_of(base, cid)) == cid
    assert book.client_of("变更记录", fx.row_of(base, cid)) == ""


def test_open_book_refuses_a_workbook_without_clients(base: Path) -> None:
    sheets = {k: v for k, v in read_workbook(base).items() if k != "客户"}
    with pytest.raises(WorkbookError, match="没有“客户”工作表"):
        open_book(sheets, fx.AS_OF, None)


def test_formula_checks_report_a_typed_over_formula(wb: Path) -> None:
    n = fx.letter(wb, "计算级别")
    d = read_sheet(wb, "客户")
    r = 3
    was = str(d.value(r, d.col_of("计算级别")))
    fx.set_cells(wb, {f"{n}{r}": "VIP客户" if was != "VIP客户" else "普通客户"})
    rep, over = formula_checks(opened(wb), recalc_pending=False)
    assert rep.stats["ours"] > 0 and rep.stats["mismatch"] == 0 and not rep.findings
    (f,) = [f for f in over if f.severity == SEVERE]
    assert (f.kind, f.sheet, f.cell, f.supported) == ("overwritten_formula", "客户", f"{n}{r}", was)
    assert "=CLIENT_TIER(" in f.explanation and f.rule.startswith("BRK-")


def test_chain_checks_on_an_intact_and_on_an_edited_log(wb: Path) -> None:
    assert chain_checks(opened(wb)) == ([], True)
    rows = fx.log(wb)
    k, row = fx.change_rows(wb)[0]
    fields = [list(r) for r in rows]
    fields[k - 2][H["变更后"]] = "VIP客户" if row[H["变更后"]] != "VIP客户" else "普通客户"
    fx.replace_log(wb, fields)  # the row edited, its stored hash kept
    findings, ok = chain_checks(opened(wb))
    assert not ok
    assert ("history_edited", f"A{k}") in {(f.kind, f.cell) for f in findings}


def test_tier_checks_blame_the_typed_over_cell(wb: Path) -> None:
    cid, r, was, typed = typed_over(wb)
    found, notes = tier_checks(opened(wb), [], True)
    n = fx.letter(wb, "当前级别")
    assert [(f.kind, f.cell, f.client_id, f.found, f.supported) for f in found
            if f.severity == SEVERE] == [("tier_typed_over", f"{n}{r}", cid, typed, was)]
    assert any("1 处改动" in n for n in notes)


# ------------------------------------------------------------------------------ check 4


def test_hash_mismatch_tells_a_swap_from_an_edit(base: Path) -> None:
    rows = fx.log(base)
    (k1, _), (k2, _) = fx.change_rows(base)[:2]
    assert k2 == k1 + 1
    swapped = [list(r) for r in rows]
    swapped[k1 - 2], swapped[k2 - 2] = swapped[k2 - 2], swapped[k1 - 2]
    chain = ChainRows.of(swapped, 2)
    seen: set[int] = set()
    f = hash_mismatch("变更记录", chain, k1, {k1, k2, k2 + 1}, set(), seen)
    assert (f.kind, f.cell) == ("history_reordered", f"A{k1}:A{k2}")
    assert {k1, k2} <= seen
    edited = [list(r) for r in rows]
    edited[k1 - 2][H["变更后"]] = "VIP客户" if rows[k1 - 2][H["变更后"]] != "VIP客户" else "普通客户"
    f = hash_mismatch("变更记录", ChainRows.of(edited, 2), k1, {k1}, set(), set())
    assert (f.kind, f.cell, f.client_id) == ("history_edited", f"A{k1}", rows[k1 - 2][H["客户编号"]])
    # the whole check names the same row
    assert [(g.kind, g.cell) for g in check_chain("变更记录", edited, 2, None, None, "")] == [
        ("history_edited", f"A{k1}")]


# ------------------------------------------------------------------------------ check 3


def test_every_logged_change_is_explained_and_chained(base: Path) -> None:
    _, _, runs = parse_log([list(history.HEADER), *fx.log(base)])
    entries = entries_by_client(runs)
    rbs = Rulebooks(fx.AS_OF)
    rb = opened(base).rb
    assert check_entries(entries, rbs, "变更记录", frozenset(), rb) == ([], {})
    # an entry logged as 维持 whose tier went up is not what the rules give
    e = next(e for es in entries.values() for e in es if e.get("级别变动") == "升级")
    e.fields[H["级别变动"]] = "维持"
    computed = rb.normalize_label(e.get("变更后"))
    assert change_problem(e, rb, computed, rb.normalize_label(e.get("变更前")), computed) == (
        f"记为维持，但计算级别为 {computed}、变更前为 {e.get('变更前')}")
    found, broken = check_entries(entries, rbs, "变更记录", frozenset(), rb)
    assert [(f.kind, f.cell, f.client_id) for f in found] == [
        ("entry_unexplained", f"A{e.row}", e.client_id)]
    assert broken == {}


def test_a_tier_changed_between_two_runs_breaks_the_chain_of_entries(base: Path) -> None:
    _, _, runs = parse_log([list(history.HEADER), *fx.log(base)])
    entries = entries_by_client(runs)
    cid, es = next((c, es) for c, es in entries.items()
                   if len(es) == 2 and es[1].get("变更前") != "VIP客户")
    es[1].fields[H["变更前"]] = "VIP客户"
    found, broken = check_entries(entries, Rulebooks(fx.AS_OF), "变更记录", frozenset(),
                                  opened(base).rb)
    f = next(f for f in found if f.kind == "tier_changed_between_runs")
    assert (f.cell, f.client_id, f.found, f.supported) == (
        f"I{es[1].row}", cid, "VIP客户", es[0].get("变更后"))
    assert broken == {es[1].row: es[0].get("变更后")}
    # an edited record supports nothing: no chain is judged through it
    found, broken = check_entries(entries, Rulebooks(fx.AS_OF), "变更记录",
                                  frozenset({es[1].row}), opened(base).rb)
    assert broken == {} and not [f for f in found if f.kind == "tier_changed_between_runs"]


def test_the_tier_steps_locate_a_typed_over_cell(wb: Path) -> None:
    cid, r, was, typed = typed_over(wb)
    book = opened(wb)
    tc = tier_context(book.table)
    assert tc is not None
    entries = entries_by_client(book.runs)
    rbs = Rulebooks(fx.AS_OF)
    shown = compare_shown(tc, entries, rbs)
    i = book.table.client_id.index(cid)
    assert list(shown.flagged) == [i] and shown.flagged[i].get("变更后") == was
    candidates, never_rated = unlogged_tiers(tc, book.runs, shown.no_entry, rbs, "变更记录")
    assert candidates == {}
    assert {f.kind for f in never_rated} <= {"tier_never_rated"}
    diffs = differences(tc, entries, shown, candidates)
    assert diffs.variables == [(cid, i, typed, was)]
    digest = book.runs[-1].stats[history.TIER_DIGEST]
    chosen = explain_digest(diffs.fixed, diffs.variables, digest)
    assert chosen == {0}
    notes: list[str] = []
    verdict = DigestVerdict(book.runs[-1], chosen, "变更记录", frozenset(), "")
    (f,) = report_differences(tc, diffs, verdict, notes)
    assert (f.severity, f.kind, f.address, f.found, f.supported) == (
        SEVERE, "tier_typed_over", f"客户!{fx.letter(wb, '当前级别')}{r}", typed, was)
    assert "换回" in f.explanation and notes == []
    # without a digest nothing is proven: the same cell, and the explanation says less
    (g,) = report_differences(tc, diffs, DigestVerdict(book.runs[-1], None, "变更记录",
                                                       frozenset(), ""), notes)
    assert (g.kind, g.address) == (f.kind, f.address) and "换回" not in g.explanation


def test_explain_digest_finds_the_smallest_explanation() -> None:
    ids = ["KH1", "KH2", "KH3"]
    digest = history.tier_digest(ids, ["核心客户", "VIP客户", "普通客户"])
    fixed = [("KH1", "核心客户")]
    variables = [("KH2", 1, "普通客户", "VIP客户"), ("KH3", 2, "普通客户", "潜力客户")]
    assert explain_digest(fixed, variables, digest) == {0}
    assert explain_digest(fixed, [("KH2", 1, "VIP客户", "普通客户"),
                                  ("KH3", 2, "普通客户", "VIP客户")], digest) == set()
    assert explain_digest(fixed, [("KH2", 1, "潜力客户", "普通客户"),
                                  ("KH3", 2, "普通客户", "VIP客户")], digest) is None


def test_replay_checks_the_earlier_runs_digest(base: Path) -> None:
    book = opened(base)
    tc = tier_context(book.table)
    assert tc is not None
    entries = entries_by_client(book.runs)
    open_of = dict(zip(book.table.client_id, book.table.open_date, strict=True))
    ids = list(book.table.client_id)
    notes: list[str] = []
    assert replay(book.runs, ids, list(tc.tiers), entries, {}, "变更记录", notes, open_of) == []
    assert notes == ["逐次倒推核对了此前 1 次运行的级别摘要，均一致。"]
    # a tier the last run did not touch, different now: the first run's digest disagrees
    changed = {e.client_id for e in book.runs[-1].changes}
    k = next(k for k, c in enumerate(ids) if c not in changed and tc.tiers[k]
             and ids.count(c) == 1)
    tiers = list(tc.tiers)
    tiers[k] = "VIP客户" if tiers[k] != "VIP客户" else "普通客户"
    (f,) = replay(book.runs, ids, tiers, entries, {}, "变更记录", [], open_of)
    assert (f.severity, f.kind, f.cell) == (WARN, "tier_digest", f"A{book.runs[-1].row}")


# ------------------------------------------------------------------------------ rows


def test_findings_rows_and_summary_rows_show_what_the_audit_found() -> None:
    res = AuditResult(as_of=dt.date(2027, 1, 10), rulebook="brokerage@2009.1", path="b.xlsx")
    res.findings.append(Finding(SEVERE, "当前级别", "tier_typed_over", "客户", "N7", "KH1",
                                "VIP客户", "核心客户", "被手工改动", "BRK-CORE-1",
                                "brokerage@2009.1"))
    res.not_checked.append(NotChecked("客户", "O7", "=CLIENT_TIER(F7+1,G7)", "含运算符"))
    rows = findings_rows(res)
    assert rows[0] == FINDINGS_HEADER
    assert rows[1] == ["严重", "当前级别", "客户!N7", "KH1", "VIP客户", "核心客户", "被手工改动",
                       "BRK-CORE-1", "brokerage@2009.1"]
    assert rows[2][:3] == ["未检查", "公式结果", "客户!O7"] and rows[2][6] == "含运算符"
    summary = dict((r[0], r[1]) for r in summary_rows(res))
    assert summary["结论"] == "发现问题" and summary["严重"] == "1"
    assert summary["当前级别：当前级别被手工改动"] == "严重 1，警告 0，提示 0"
