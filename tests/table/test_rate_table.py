"""rate-table's local engine against the workbook job: same clients, same outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from table_clients import NOW, PERIOD, clients, write_csv, write_parquet

from workbook.job import rerate
from workbook.table import rate_table
from workbook.template import new_workbook
from workbook.xlsxio import read_sheet

N = 600


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("table")
    rows = clients(N)
    book = d / "branch.xlsx"
    new_workbook(book, "brokerage", rows)
    res, by_id = _job(book, d / "rated.xlsx", "quarterly", PERIOD)
    return {"dir": d, "rows": rows, "job": res, "book": by_id, "workbook": book}


def _job(book: Path, out: Path, mode: str, period: str) -> tuple:
    """The workbook job on the same clients, and the outputs it wrote by 客户编号."""
    res = rerate(book, period=period, mode=mode, operator="总部", now=NOW, out=out)
    sheet = read_sheet(out, "客户")
    by_id: dict = {}
    col = {h: sheet.columns[k] for k, h in enumerate(sheet.header)}
    for k, cid in enumerate(col["客户编号"]):
        by_id.setdefault(cid, []).append({h: col[h][k] for h in
                                          ("当前级别", "级别变动", "级别依据", "服务产品", "年拜访次数")})
    return res, by_id


def _decisions(out: Path) -> list[dict]:
    return pq.read_table(out / "decisions.parquet").to_pylist()


def _rejections(out: Path) -> list[dict]:
    return pq.read_table(out / "rejections.parquet").to_pylist()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_outcome_as_the_workbook_job(demo: dict, fmt: str) -> None:
    d = demo["dir"]
    src = (write_parquet(demo["rows"], d / "clients.parquet", row_group_size=200)
           if fmt == "parquet" else write_csv(demo["rows"], d / "clients.csv"))
    # batches of 298 rows: the duplicated 客户编号 (indices N-5, N-4) fall in two batches
    out = d / f"out-{fmt}"
    res = rate_table(src, period=PERIOD, mode="quarterly", out=out, operator="总部", now=NOW,
                     workers=1, batch_rows=298)
    decs, rejs = _decisions(out), _rejections(out)
    assert res.rows_in == N == len(decs) + len(rejs)
    job = demo["job"]
    # the same rows rejected, with the same Chinese messages (row, column, value)
    assert sorted((r["行号"], r["原因"]) for r in rejs) == sorted(
        (row, reason) for row, _cid, _col, _val, reason in job.rejections)
    dup = [r["原因"] for r in rejs if r["列"] == "客户编号"]
    assert dup == [f"第 {N - 3} 行「客户编号」：重复：KH{100001 + N - 5}（另见第 {N - 2} 行）",
                   f"第 {N - 2} 行「客户编号」：重复：KH{100001 + N - 5}（另见第 {N - 3} 行）"]
    book = demo["book"]
    for dc in decs:
        (cell,) = book[dc["客户编号"]]
        assert dc["当前级别"] == cell["当前级别"], dc
        assert dc["级别变动"] == cell["级别变动"], dc
        assert dc["级别依据"] == cell["级别依据"], dc
        assert dc["服务产品"] == cell["服务产品"], dc
        assert dc["年拜访次数"] == cell["年拜访次数"], dc
        # the rule named in the workbook's 级别依据 is the rule id of the decision
        assert f"({dc['规则编号']}, " in cell["级别依据"], dc
        assert dc["规则版本"] == job.rulebook_ref and dc["评级期间"] == PERIOD
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["读入行数"] == N and summary["拒绝行数"] == len(rejs)
    after = sum(sum(b["after"].values()) for b in summary["营业部"].values())
    assert after == summary["本次评级"] == len(decs)


def test_command_with_english_headers_and_rejected_rows(demo: dict, capsys) -> None:
    from addin.cli import main

    d = demo["dir"]
    src = write_parquet(demo["rows"], d / "english.parquet",
                        rename={"客户编号": "client_id", "资产权益": "assets",
                                "上年度净佣金": "commission", "营业部": "branch"})
    out = d / "cli"
    code = main(["rate-table", str(src), "--period", PERIOD, "--mode", "quarterly",
                 "--out", str(out), "--operator", "总部"])
    said = capsys.readouterr().out
    assert code == 1  # (rows rejected)
    assert f"读入 {N} 行" in said
    decs, rejs = _decisions(out), _rejections(out)
    assert len(decs) + len(rejs) == N
    assert "第 601 行「assets」：资产权益不能为负数：-5" in {r["原因"] for r in rejs}
    assert {d["营业部"] for d in decs} >= {"杭州解放路营业部", "上海浦东营业部"}
    assert (out / "summary.xlsx").stat().st_size > 0


def test_missing_input_column_is_refused_and_nothing_written(demo: dict, capsys) -> None:
    from addin.cli import main

    d = demo["dir"]
    rows = [{k: v for k, v in r.items() if k != "资产权益"} for r in demo["rows"]]
    src = write_parquet(rows, d / "no-assets.parquet")
    out = d / "none"
    code = main(["rate-table", str(src), "--period", PERIOD, "--mode", "quarterly",
                 "--out", str(out), "--operator", "总部"])
    assert code == 2
    assert "缺少规则 brokerage@2009.1" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(("mode", "period"), [("annual", "2025"), ("new-accounts", "2026-08")])
def test_modes_as_the_workbook_job(demo: dict, mode: str, period: str) -> None:
    """Annual (every account opened by the data date, the computed tier) and new accounts (the
    month's accounts, 就高不就低 from the default): the rows the job rated get the same values;
    the others are decisions outside the run's scope with the tier they hold."""
    d = demo["dir"]
    job, book = _job(demo["workbook"], d / f"rated-{mode}.xlsx", mode, period)
    src = write_parquet(demo["rows"], d / f"{mode}.parquet")
    out = d / f"out-{mode}"
    res = rate_table(src, period=period, mode=mode, out=out, operator="总部", now=NOW,
                     workers=1, batch_rows=250)
    decs, rejs = _decisions(out), _rejections(out)
    assert res.rows_in == N == len(decs) + len(rejs)
    assert sorted((r["行号"], r["原因"]) for r in rejs if r["在范围"]) == sorted(
        (row, reason) for row, _cid, _col, _val, reason in job.rejections)
    rated = [x for x in decs if x["在范围"]]
    assert rated and len(rated) < len(decs)  # (both kinds are in this data)
    for dc in rated:
        (cell,) = book[dc["客户编号"]]
        assert (dc["当前级别"], dc["级别变动"], dc["级别依据"], dc["服务产品"]) == (
            cell["当前级别"], cell["级别变动"], cell["级别依据"], cell["服务产品"]), dc
    for dc in decs:
        if not dc["在范围"]:
            assert dc["级别变动"] == "" and dc["当前级别"] == dc["原级别"], dc
    assert res.in_scope == len(rated)


def test_a_row_without_id_is_rejected_and_a_blank_row_counted(demo: dict) -> None:
    d = demo["dir"]
    rows = [dict(r) for r in demo["rows"][:50]]
    rows[10] = {"客户编号": None, "客户名称": "无编号客户"}  # something on the row: rejected
    rows[20] = {"客户编号": None}  # nothing in any column read: a blank row, as in a sheet
    src = write_parquet(rows, d / "blank.parquet")
    res = rate_table(src, period=PERIOD, mode="quarterly", out=d / "blank", operator="总部",
                     now=NOW, workers=1)
    rejs = _rejections(d / "blank")
    assert "第 12 行「客户编号」：为空；「资产权益」：为空（必填）" in {r["原因"] for r in rejs}
    assert res.blank == 1 and res.rows_in == 50 == res.decisions + res.rejected + 1
    assert 22 not in {x["行号"] for x in _decisions(d / "blank")} | {r["行号"] for r in rejs}


def test_the_decisions_keep_the_statistics_a_reader_filters_by(tmp_path) -> None:
    """营业部, 客户编号 and 行号 have their min/max in each row group (push-branches reads a
    营业部's rows with a filter: groups without it are skipped)."""
    src = write_parquet(clients(300), tmp_path / "c.parquet")
    rate_table(src, period=PERIOD, mode="quarterly", out=tmp_path / "out", operator="总部",
               now=NOW, batch_rows=100)
    meta = pq.ParquetFile(tmp_path / "out" / "decisions.parquet").metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    assert meta.num_row_groups >= 3
    for g in range(meta.num_row_groups):
        for name in ("营业部", "客户编号", "行号"):
            st = meta.row_group(g).column(names.index(name)).statistics
            assert st is not None and st.has_min_max, (g, name)


def test_a_run_takes_arrows_buffers_from_malloc_and_puts_the_default_back(tmp_path,
                                                                          monkeypatch) -> None:
    """On Linux a local run allocates its Arrow buffers with the C library's allocator (not
    mimalloc's page-returning one: ``run.run_memory_pool``), and the process's default pool
    is as it was afterwards — after a failed run too."""
    import sys

    import pyarrow as pa

    import workbook.table.run as table_run

    src = write_parquet(clients(50), tmp_path / "c.parquet")
    before = pa.default_memory_pool().backend_name
    seen = []
    real = table_run.fast_table
    monkeypatch.setattr(table_run, "fast_table",
                        lambda *a: seen.append(pa.default_memory_pool().backend_name) or real(*a))
    rate_table(src, period=PERIOD, mode="quarterly", out=tmp_path / "out", operator="总部",
               now=NOW)
    assert seen and set(seen) == {"system" if sys.platform.startswith("linux") else before}
    assert pa.default_memory_pool().backend_name == before

    def fail(*a):
        raise RuntimeError("stop")

    monkeypatch.setattr(table_run, "fast_table", fail)
    with pytest.raises(RuntimeError):
        rate_table(src, period=PERIOD, mode="quarterly", out=tmp_path / "out2", operator="总部",
                   now=NOW)
    assert pa.default_memory_pool().backend_name == before
