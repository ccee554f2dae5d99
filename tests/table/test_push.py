"""push-branches: the head office's decisions into each branch's workbook, through the job's
lossless, atomic file path — the decided cells written, everything else byte for byte, its
own 变更记录 rows, the audit clean, a second push a no-op, a workbook that cannot be written
left as it was while the others are written."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from table_clients import NOW, PERIOD, clients, write_parquet

from addin.cli import main
from workbook import history
from workbook.audit import audit_file
from workbook.push import push_branches
from workbook.push.state import STATE
from workbook.table import rate_table
from workbook.template import new_workbook
from workbook.xlsxio import read_sheet

#: the cells a push may write on a row it pushes (the run's output columns)
OUTPUTS = ("当前级别", "计算级别", "级别变动", "级别依据", "服务产品", "年拜访次数", "风险类别",
           "评级期间", "规则版本", "调整日期")
COMPARED = ("当前级别", "级别变动", "级别依据", "服务产品", "年拜访次数", "评级期间", "规则版本")
OWN = {"xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml", "xl/_rels/workbook.xml.rels",
       "xl/calcChain.xml", "docProps/app.xml"}
SHEETS = {"xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml", "xl/worksheets/sheet4.xml"}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three 营业部 of the demo's clients rated by rate-table; A's and B's workbooks made
    with the template (A lacks two clients; B has a client of its own, one client's 资产权益
    differing from the warehouse's and a 特别调整 the head office does not know); C has none."""
    d = tmp_path_factory.mktemp("push")
    rows = clients(600)
    a, b, c = sorted({r["营业部"] for r in rows})[:3]
    rows = [r for r in rows if r["营业部"] in (a, b, c)]
    src = write_parquet(rows, d / "extract.parquet")
    out = d / "out"
    rate_table(src, period=PERIOD, mode="quarterly", out=out, operator="总部", now=NOW)
    decs = pq.read_table(out / "decisions.parquet").to_pylist()
    by = {br: {x["客户编号"]: x for x in decs if x["营业部"] == br} for br in (a, b, c)}
    plain = [cid for cid, x in by[a].items() if x["级别变动"] != "特别调整"]
    missing = plain[3:5]
    b_plain = [cid for cid, x in by[b].items() if x["级别变动"] in ("升级", "维持", "首次评级")]
    conflict = next(cid for cid in b_plain if by[b][cid]["当前级别"] == "普通客户")
    override = next(cid for cid in b_plain if by[b][cid]["当前级别"] != "VIP客户"
                    and cid != conflict)
    books = d / "books"
    books.mkdir()
    new_workbook(books / "A-分支.xlsx", "brokerage",
                 [r for r in rows if r["营业部"] == a and r["客户编号"] not in missing])
    b_rows = []
    for r in rows:
        if r["营业部"] != b:
            continue
        r = dict(r)
        if r["客户编号"] == conflict:
            r["资产权益"] = 20_000_000.0
        if r["客户编号"] == override:
            r.update({"特别调整级别": "VIP客户", "调整审批人": "张总（分管副总）",
                      "调整原因": "分支机构战略客户", "调整日期": dt.date(2026, 10, 8)})
        b_rows.append(r)
    b_rows.append({"客户编号": "KH999999", "客户名称": "营业部自有客户", "营业部": b,
                   "资产权益": 300_000.0, "上年度净佣金": 2_000.0, "当前级别": "潜力客户"})
    new_workbook(books / "b.xlsx", "brokerage", b_rows)
    return {"dir": d, "src": src, "out": out, "names": (a, b, c), "by": by, "books": books,
            "missing": missing, "conflict": conflict, "override": override}


def _copy(base: dict, to: Path) -> Path:
    shutil.copytree(base["books"], to)
    return to


def _grid(path: Path) -> dict[tuple[int, str], object]:
    s = read_sheet(path, "客户")
    return {(i + 2, h): v for c, h in enumerate(s.header) for i, v in enumerate(s.columns[c])
            if v is not None}


def _by_id(path: Path) -> dict[str, dict]:
    s = read_sheet(path, "客户")
    col = {h: s.columns[k] for k, h in enumerate(s.header)}
    return {cid: {h: col[h][k] for h in col} | {"_row": k + 2}
            for k, cid in enumerate(col["客户编号"])}


def _log(path: Path) -> list[list]:
    s = read_sheet(path, "变更记录")
    rows = [list(s.header_values)] + [list(r) for r in zip(*s.columns, strict=True)]
    return history.data_rows(rows)


def _entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _push(base: dict, books: Path, *more: str) -> int:
    return main(["push-branches", str(base["out"]), "--workbooks", str(books), "--operator",
                 "总部运营部", "--template", "--extract", str(base["src"]), *more])


def test_push_writes_the_decisions_losslessly_and_twice_is_a_noop(base: dict, tmp_path: Path,
                                                                  capsys) -> None:
    books = _copy(base, tmp_path / "books")
    a, b, c = base["names"]
    old = {p.name: (p.read_bytes(), _grid(p)) for p in books.glob("*.xlsx")}
    assert _push(base, books) == 3  # (written; B's conflicting client not)
    said = "".join(capsys.readouterr().out.split())
    row = _by_id(books / "b.xlsx")[base["conflict"]]["_row"]
    assert (f"第{row}行{base['conflict']}：总部决定为普通客户（规则BRK-ORD-1），按本工作簿的数据、级别"
            "和特别调整应为VIP客户（规则BRK-VIP-1）（计算所用数据与总部不同），未写入") in said
    rep = json.loads((books / "push-report.json").read_text(encoding="utf-8"))
    status = {x["营业部"]: x for x in rep["营业部"]}
    assert [status[n]["状态"] for n in (a, b, c)] == ["已更新", "已更新", "已新建"]
    assert status[a]["新增客户"]["列举"] == sorted(base["missing"])
    # B's own client, and B's rows the head office rejected (no decision): left untouched
    own = set(_by_id(books / "b.xlsx")) - set(base["by"][b])
    assert "KH999999" in own and len(own) > 1
    assert sorted(status[b]["不在决定中（未改动）"]["列举"]) == sorted(own)
    assert status[b]["特别调整优先"]["列举"] == [base["override"]]
    assert status[b]["与总部不符（未写入）"]["数量"] == 1
    files = {a: books / "A-分支.xlsx", b: books / "b.xlsx", c: books / f"{c}.xlsx"}
    for br, path in files.items():
        _check_cells(base, br, path, old.get(path.name))
        _check_log(base, br, path)
        found = audit_file(path, as_of=NOW.date())
        assert [f for f in found.findings if f.severity == "严重"] == [], br
    for path in files.values():  # (not only the parts the run rewrites: the whole file)
        if path.name in old:
            before, after = _entries_of(old[path.name][0], tmp_path), _entries(path)
            for name in before.keys() - OWN - SHEETS:
                assert before[name] == after[name], (path.name, name)
    # the same decisions again: nothing changes, not a byte
    now = {p.name: p.read_bytes() for p in books.glob("*.xlsx")}
    assert _push(base, books) == 0
    assert {p.name: p.read_bytes() for p in books.glob("*.xlsx")} == now
    rep = json.loads((books / "push-report.json").read_text(encoding="utf-8"))
    assert {x["状态"] for x in rep["营业部"]} == {"无需更改"}
    assert not [p for p in books.iterdir() if p.name.startswith(".push-")]


def _entries_of(data: bytes, tmp: Path) -> dict[str, bytes]:
    p = tmp / "before.xlsx"
    p.write_bytes(data)
    return _entries(p)


def _check_cells(base: dict, br: str, path: Path, old: tuple | None) -> None:
    """Each decided client shows its decision (the conflict as it was, the branch's override
    kept); every other cell of 客户 is as it was."""
    rows = _by_id(path)
    pushed_rows = set()
    for cid, dec in base["by"][br].items():
        got = rows[cid]
        if cid == base["conflict"]:
            continue
        if cid == base["override"]:
            assert (got["当前级别"], got["级别变动"]) == ("VIP客户", "特别调整")
            pushed_rows.add(got["_row"])
            continue
        for h in COMPARED:
            if h == "级别依据" and dec["级别变动"] == "特别调整":  # (an override without 调整日期
                assert got[h].split("调整日期")[0] == dec[h].split("调整日期")[0]  # is dated
                continue  # the day it is applied: the push's day in the workbook)
            assert got[h] == dec[h], (br, cid, h)
        pushed_rows.add(got["_row"])
    if old is None:
        return
    before, after = old[1], _grid(path)
    n_old = max(r for r, _h in before)
    for key in before.keys() | after.keys():
        r, h = key
        if r > n_old:  # (appended: the clients the workbook lacked)
            assert rows_of(after, r) in base["missing"]
            continue
        if r in pushed_rows and h in OUTPUTS:
            continue
        assert before.get(key) == after.get(key), (br, key)


def rows_of(grid: dict, r: int) -> object:
    return grid.get((r, "客户编号"))


def _check_log(base: dict, br: str, path: Path) -> None:
    log = _log(path)
    assert history.verify_chain(log) == []
    run = [r for r in log if r[0] == history.RUN][-1]
    run_id = json.loads((base["out"] / "summary.json").read_text(encoding="utf-8"))
    stats = history.stats_of(run[history.HEADER.index("统计")])
    assert "总部下发" in run[history.HEADER.index("原因")]
    assert stats["决定文件"].startswith("sha256:") and len(stats["决定文件"]) == 71
    assert run_id["历史摘要"]  # (the head office's run is named by its id)
    rejected = [r for r in log if r[0] == history.REJECT]
    if base["conflict"] in base["by"][br]:
        assert [r[7] for r in rejected] == [base["conflict"]]
        assert "总部决定为 普通客户（规则 BRK-ORD-1）" in rejected[0][11]


@pytest.mark.parametrize("how", ["locked", "read-only"])
def test_a_workbook_that_cannot_be_written_is_left_as_it_was(base: dict, tmp_path: Path,
                                                             how: str) -> None:
    books = _copy(base, tmp_path / "books")
    a, b, c = base["names"]
    target = books / "A-分支.xlsx"
    before = target.read_bytes()
    if how == "locked":  # (Excel's owner file beside the workbook)
        (books / "~$A-分支.xlsx").write_bytes(b"\x0b\x00user")
    else:
        os.chmod(target, 0o444)
    try:
        rep = push_branches(base["out"], books, operator="总部运营部", now=NOW, template=True,
                            extract=base["src"])
    finally:
        os.chmod(target, 0o644)
    status = {x.branch: x for x in rep.branches}
    assert target.read_bytes() == before
    assert status[a].status == "未写入" and status[a].exit_code == 1
    assert ("已在 Excel 中打开" if how == "locked" else "只读") in status[a].message
    assert status[b].status == "已更新" and status[c].status == "已新建"
    assert rep.exit_code == 1
    assert not [p for p in books.iterdir() if p.name.startswith(".push-")]


def test_without_extract_new_clients_are_reported_and_dry_run_writes_nothing(
        base: dict, tmp_path: Path, capsys) -> None:
    books = _copy(base, tmp_path / "books")
    a, _b, c = base["names"]
    now = {p.name: p.read_bytes() for p in books.iterdir()}
    code = main(["push-branches", str(base["out"]), "--workbooks", str(books), "--operator", "总部",
                 "--dry-run"])
    assert code == 1
    assert {p.name: p.read_bytes() for p in books.iterdir()} == now  # (no report either)
    rep = push_branches(base["out"], books, operator="总部", now=NOW)
    status = {x.branch: x for x in rep.branches}
    assert status[a].status == "已更新" and status[a].not_in_workbook == sorted(base["missing"])
    assert status[a].exit_code == 3
    assert status[c].status == "未写入" and "需 --template 和 --extract" in status[c].message
    assert not (books / f"{c}.xlsx").exists()


def test_workbooks_are_matched_by_their_branch_column_else_their_name(tmp_path: Path) -> None:
    from branch_files import plain_branch

    from workbook.push.match import match_workbooks

    head = ["客户编号", "营业部", "资产权益"]
    plain_branch(tmp_path / "x.xlsx", [["1", "甲营业部", 1.0], ["2", " 甲营业部", 2.0]], head)
    plain_branch(tmp_path / "乙营业部.xlsx", [["3", 1.0]], ["客户编号", "资产权益"])
    plain_branch(tmp_path / "mixed.xlsx", [["4", "甲营业部", 1.0], ["5", "丙营业部", 1.0]], head)
    plain_branch(tmp_path / "d1.xlsx", [["6", "丁营业部", 1.0]], head)
    plain_branch(tmp_path / "d2.xlsx", [["7", "丁营业部", 1.0]], head)
    (tmp_path / "~$x.xlsx").write_bytes(b"lock")
    m = match_workbooks(tmp_path)
    assert {k: p.name for k, p in m.by_branch.items()} == {"甲营业部": "x.xlsx",
                                                          "乙营业部": "乙营业部.xlsx"}
    assert "含 2 个营业部（丙营业部、甲营业部）" in m.refused[tmp_path / "mixed.xlsx"]
    assert "对应多个工作簿（d1.xlsx、d2.xlsx）" in m.ambiguous["丁营业部"]
    assert tmp_path / "~$x.xlsx" not in m.refused


def test_clients_without_a_branch_are_not_pushed_and_names_become_file_names(
        tmp_path: Path) -> None:
    rows = clients(40)
    for k, r in enumerate(rows):
        r["营业部"] = "温州/瑞安营业部" if k % 2 else None
    src = write_parquet(rows, tmp_path / "x.parquet")
    rate_table(src, period=PERIOD, mode="quarterly", out=tmp_path / "out", operator="总部",
               now=NOW)
    books = tmp_path / "books"
    books.mkdir()
    rep = push_branches(tmp_path / "out", books, operator="总部", now=NOW, template=True,
                        extract=src)
    status = {x.branch: x for x in rep.branches}
    assert status["温州/瑞安营业部"].status == "已新建"
    assert (books / "温州_瑞安营业部.xlsx").exists()
    (none,) = [x for x in rep.branches if x.branch != "温州/瑞安营业部"]
    assert none.status == "未写入" and "没有营业部" in none.message
    assert [p.name for p in books.iterdir() if p.name != STATE] == ["温州_瑞安营业部.xlsx"]
    assert set(json.loads((books / STATE).read_text(encoding="utf-8"))["workbooks"]) == {
        "温州_瑞安营业部.xlsx"}  # (what the push remembers of the workbook it made)


def test_a_workbook_with_a_later_period_applied_is_refused_as_a_run(base: dict,
                                                                    tmp_path: Path) -> None:
    from workbook.job import rerate

    books = _copy(base, tmp_path / "books")
    a, b, _c = base["names"]
    target = books / "A-分支.xlsx"
    rerate(target, period="2026Q4", mode="quarterly", operator="营业部", now=NOW)
    before = target.read_bytes()
    rep = push_branches(base["out"], books, operator="总部", now=NOW)
    status = {x.branch: x for x in rep.branches}
    assert status[a].status == "未写入"
    assert status[a].message.startswith("评级期间不能倒退：已执行过季度重评级 2026Q4")
    assert target.read_bytes() == before
    assert status[b].status == "已更新"


def test_decisions_of_several_runs_or_of_no_known_mode_are_refused(base: dict,
                                                                   tmp_path: Path) -> None:
    import pyarrow as pa

    from workbook.push.decisions import open_decisions
    from workbook.schema import WorkbookError

    t = pq.read_table(base["out"] / "decisions.parquet")
    alone = tmp_path / "alone.parquet"  # (not in a rate-table directory: no mode known)
    pq.write_table(t, alone)
    with pytest.raises(WorkbookError, match=r"无法从 .* 得知评级模式.*请用 --mode 指定"):
        open_decisions(alone)
    assert open_decisions(alone, "quarterly").branches == {
        n: len(base["by"][n]) for n in base["names"]}
    periods = t.column("评级期间").to_pylist()
    periods[0] = "2026Q2"
    mixed = tmp_path / "mixed.parquet"
    pq.write_table(t.set_column(t.schema.get_field_index("评级期间"), "评级期间",
                                pa.array(periods, pa.string())), mixed)
    with pytest.raises(WorkbookError, match="的“评级期间”不止一个（2026Q2、2026Q3）"):
        open_decisions(mixed, "quarterly")
    bare = tmp_path / "bare.parquet"
    pq.write_table(t.drop(["级别依据"]), bare)
    with pytest.raises(WorkbookError, match="不是 rate-table 的决定文件：缺少列 级别依据"):
        open_decisions(bare, "quarterly")


def _push_counting(base: dict, books: Path, monkeypatch, **kw) -> tuple[object, list[str]]:
    """push_branches (as the CLI's, --template --extract) and the workbooks it read (not
    counting its own temporary copies, .push-…)."""
    import workbook.push.apply as apply

    read: list[str] = []
    real = apply.read_book
    monkeypatch.setattr(apply, "read_book", lambda p, *a, **k: read.append(Path(p).name)
                        or real(p, *a, **k))
    rep = push_branches(base["out"], books, operator="总部运营部", now=NOW, template=True,
                        extract=base["src"], **kw)
    monkeypatch.setattr(apply, "read_book", real)
    return rep, [n for n in read if not n.startswith(".push-")]


def _said(rep) -> list[dict]:
    """The report's branches, but for the id a run not done would have had."""
    return [b.as_json() | {"运行编号": ""} for b in rep.branches]


def test_a_repeated_push_is_decided_without_reading_the_workbooks(base: dict, tmp_path: Path,
                                                                  monkeypatch) -> None:
    books = _copy(base, tmp_path / "books")
    first, read = _push_counting(base, books, monkeypatch)
    assert {b.status for b in first.branches} == {"已更新", "已新建"}
    assert sorted(read) == ["A-分支.xlsx", "b.xlsx"]
    now = {p.name: p.read_bytes() for p in books.iterdir()}
    parts: list[tuple[str, str]] = []  # (every part of a workbook's zip that is opened)
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda zf, name, *a, **k: parts.append(
        (Path(str(zf.filename)).name, getattr(name, "filename", name))) or real_open(
            zf, name, *a, **k))
    again, read = _push_counting(base, books, monkeypatch)
    monkeypatch.setattr(zipfile.ZipFile, "open", real_open)
    assert read == [] and [p for p in parts if p[0].endswith(".xlsx")] == []  # (no workbook
    # read: neither 客户 — not even to match it to its 营业部 — nor any other sheet)
    assert {p.name: p.read_bytes() for p in books.iterdir()} == now  # (not a byte)
    assert {b.status for b in again.branches} == {"无需更改"} and again.exit_code == 0
    assert [b.message for b in again.branches] == [
        f"{PERIOD} 的季度重评级已执行过（运行编号 {b.run_id}），本次未做任何更改。"
        for b in first.branches]
    # what reading each workbook whole concludes (without what the push remembers): the same
    (books / STATE).unlink()
    slow, read = _push_counting(base, books, monkeypatch)
    assert sorted(read) == sorted(p.name for p in books.glob("*.xlsx"))
    assert _said(slow) == _said(again)
    assert {p.name: p.read_bytes() for p in books.glob("*.xlsx")} == {
        k: v for k, v in now.items() if k.endswith(".xlsx")}
    assert _push_counting(base, books, monkeypatch)[1] == []  # (remembered by the slow one)
    forced = _push_counting(base, books, monkeypatch, force=True)[1]  # (--force: read)
    assert sorted(forced) == sorted(p.name for p in books.glob("*.xlsx"))
    # settings a push refuses (no operator) are refused as before, not taken as a repeat
    rep = push_branches(base["out"], books, operator="", now=NOW)
    assert {b.status for b in rep.branches} == {"未写入"}
    assert {b.message for b in rep.branches} == {"请填写操作员（--operator）。"}


def test_a_workbook_edited_after_the_push_is_read_as_before(base: dict, tmp_path: Path,
                                                             monkeypatch) -> None:
    from workbook.xlsxio import SheetEdit, patch_workbook

    books = _copy(base, tmp_path / "books")
    a, b, _c = base["names"]
    before_a = (books / "A-分支.xlsx").read_bytes()
    _push_counting(base, books, monkeypatch)
    # B: a client's 资产权益 typed over after the push (saved elsewhere); A: put back as it
    # was before the push (a copy restored)
    s = read_sheet(books / "b.xlsx", "客户")
    edited = books / "b-edited.xlsx"
    patch_workbook(books / "b.xlsx", edited, {"客户": SheetEdit(cells={
        (3, s.header.index("资产权益") + 1): 123.0})}, recalc_on_open=False)
    os.replace(edited, books / "b.xlsx")
    (books / "A-分支.xlsx").write_bytes(before_a)
    again, read = _push_counting(base, books, monkeypatch)
    status = {x.branch: x for x in again.branches}
    assert sorted(read) == ["A-分支.xlsx", "b.xlsx"]  # (read whole, as before)
    assert status[a].status == "已更新" and status[b].status == "无需更改"
    (books / STATE).unlink()  # (what reading them whole says without it: the same)
    (books / "A-分支.xlsx").write_bytes(before_a)
    slow, _read = _push_counting(base, books, monkeypatch)
    assert _said(slow) == _said(again)
