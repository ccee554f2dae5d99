"""The vectorised validation of rate-table (workbook/table/fastcheck.py) gives the files the
job's own validation gives, on typed Parquet columns full of bad and unusual values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from table_clients import NOW

import workbook.table.run as table_run
from workbook.table import rate_table

N = 500
TIERS = ["VIP客户", "核心客户", "潜力客户", "普通客户", None, "", "钻石客户", " 核心客户 "]


def _extract(path: Path, dates_as_text: bool) -> Path:
    rng = np.random.default_rng(11)
    ids: list = [f"KH{100000 + k}" for k in range(N)]
    ids[3], ids[4], ids[5], ids[6] = " KH9 ", "#REF!", None, "客户甲"
    ids[N - 2] = ids[7]  # a duplicate in another batch
    ids[N - 3] = f" {ids[8]} "  # the same once trimmed, in another batch
    assets = np.round(np.exp(rng.normal(12, 1.5, N)), 2).tolist()
    assets[10], assets[11], assets[12], assets[13], assets[14] = -5.0, None, float("nan"), 0.0, 1e7
    comm = [None if k % 9 == 0 else (round(a * 0.01, 2) if a else 0.0)
            for k, a in enumerate(assets)]
    comm[15] = -1.0
    score = [None if k % 7 == 0 else float(rng.integers(0, 101)) for k in range(N)]
    score[16], score[17] = 150.0, 55.5
    tiers = [TIERS[k] for k in rng.integers(0, len(TIERS), N)]
    annual = [TIERS[k] for k in rng.integers(0, 5, N)]
    opened = [dt.date(2026, 1 + k % 12, 1 + k % 27) if k % 5 else dt.date(2010, 3, 4)
              for k in range(N)]
    override = [None] * N
    approver: list = [None] * N
    override[20], approver[20] = "VIP客户", "张三"
    override[21] = "核心客户"  # (no approver: rejected)
    override[22], approver[22] = "不存在", "李四"
    cols: dict = {
        "客户编号": pa.array(ids, pa.string()),
        "营业部": pa.array([f"第{k % 3}营业部" for k in range(N)]),
        "开户日期": (pa.array([d.isoformat() for d in opened], pa.string()) if dates_as_text
                     else pa.array(opened, pa.date32())),
        "资产权益": pa.array(assets, pa.float64()),
        "上年度净佣金": pa.array(comm, pa.float64()),
        "风险测评得分": pa.array(score, pa.float64()),
        "年度级别": pa.array(annual, pa.string()),
        "当前级别": pa.array(tiers, pa.string()),
        "特别调整级别": pa.array(override, pa.string()),
        "调整审批人": pa.array(approver, pa.string()),
    }
    t = pa.table(cols)
    if dates_as_text:
        d = t.column("开户日期").to_pylist()
        d[30], d[31], d[32] = "not a date", "2026/2/30", "  "
        t = t.set_column(2, "开户日期", pa.array(d, pa.string()))
    # a blank row (nothing in any column read), as in a sheet
    blank = {k: [None] for k in t.column_names}
    t = pa.concat_tables([t.slice(0, 40), pa.table(blank, schema=t.schema), t.slice(40)])
    pq.write_table(t, path, row_group_size=128)
    return path


@pytest.mark.parametrize(("mode", "period", "dates_as_text"), [
    ("quarterly", "2026Q3", False), ("annual", "2025", True),
    ("new-accounts", "2026-08", False), ("quarterly", "2026Q3", True)])
def test_vectorised_validation_gives_the_jobs_files(tmp_path: Path, monkeypatch, mode: str,
                                                    period: str, dates_as_text: bool) -> None:
    src = _extract(tmp_path / "c.parquet", dates_as_text)
    fast = rate_table(src, period=period, mode=mode, out=tmp_path / "fast", operator="总部",
                      now=NOW, batch_rows=120)
    used = []
    real = table_run.fast_table
    monkeypatch.setattr(table_run, "fast_table", lambda *a: used.append(real(*a)) and None)
    slow = rate_table(src, period=period, mode=mode, out=tmp_path / "slow", operator="总部",
                      now=NOW, batch_rows=120)
    assert any(t is not None for t in used)  # (the vectorised path did take these batches)
    for name in ("decisions.parquet", "rejections.parquet"):
        a, b = (pq.read_table(tmp_path / d / name) for d in ("fast", "slow"))
        assert a.to_pylist() == b.to_pylist(), name
    assert fast.rejected > 10 and fast.blank == 1
    assert fast.summary() | {"历史摘要": ""} == slow.summary() | {"历史摘要": ""}


#: numbers typed as text, as a CSV extract holds them: plain (the vectorised path) and the
#: unusual or bad ones the job reads or rejects itself
GOOD_TEXT = ["1234567.89", "1,234,567.89", "  88000 ", "0", "250000", "12,000", "3.5", "-0",
             "1000000.005", "9,999,999.99"]
ODD_TEXT = ["abc", "２５０００", "２５万", "25万", "-5", "-1,000", "", "   ", "1e5", "¥3000", "+7",
            ".5", "1,23", "12,3456", "1 000", "#N/A", "1,000.", "五万"]


def _csv_extract(path: Path, n: int, unit: bool) -> Path:
    rng = np.random.default_rng(5)
    head = ["客户编号", "营业部", "开户日期", "资产权益（万元）" if unit else "资产权益", "上年度净佣金",
            "风险测评得分", "当前级别", "年度级别"]
    lines = [",".join(head)]
    def pick(k: int, bad_every: int, good: list[str]) -> str:
        return ODD_TEXT[k % len(ODD_TEXT)] if k % bad_every == 0 else good[k % len(good)]

    for k in range(n):
        assets = pick(k, 7, GOOD_TEXT)
        comm = pick(k, 11, [*GOOD_TEXT, ""])
        score = pick(k, 13, ["55", "100", "9", "", "  72 ", "8", "101", "55.5"])
        tier, annual = (TIERS[int(i)] or "" for i in rng.integers(0, 5, 2))
        cells = [f"KH{100000 + k}", f"第{k % 3}营业部", f"2026-{1 + k % 12:02d}-{1 + k % 27:02d}",
                 assets, comm, score, tier, annual]
        lines.append(",".join(f'"{c}"' for c in cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("unit", [False, True])
def test_a_csvs_numbers_are_validated_on_whole_columns_as_the_job_does(
        tmp_path: Path, monkeypatch, unit: bool) -> None:
    src = _csv_extract(tmp_path / "c.csv", 600, unit)
    used = []
    real = table_run.fast_table
    monkeypatch.setattr(table_run, "fast_table", lambda *a: used.append(real(*a)) or used[-1])
    fast = rate_table(src, period="2026Q3", mode="quarterly", out=tmp_path / "fast",
                      operator="总部", now=NOW, batch_rows=150)
    assert used and all(t is not None for t in used)  # (every batch on the vectorised path)
    monkeypatch.setattr(table_run, "fast_table", lambda *a: None)
    slow = rate_table(src, period="2026Q3", mode="quarterly", out=tmp_path / "slow",
                      operator="总部", now=NOW, batch_rows=150)
    for name in ("decisions.parquet", "rejections.parquet"):
        a, b = (pq.read_table(tmp_path / d / name) for d in ("fast", "slow"))
        assert a.to_pylist() == b.to_pylist(), name
    rej = {r["值"] for r in pq.read_table(tmp_path / "fast" / "rejections.parquet").to_pylist()}
    assert {"abc", "-5", "五万", "#N/A", None} <= rej  # (text, negative, an error, empty)
    # full-width digits and 万 are read as numbers by the job — refused under a header
    # with its own unit
    assert ("２５万" in rej) is unit and ("２５０００" in rej) is False
    assert fast.rejected > 50 and fast.summary() | {"历史摘要": ""} == slow.summary() | {
        "历史摘要": ""}


def test_plain_number_texts_are_the_jobs_floats() -> None:
    from rules.cells import parse_number
    from workbook.table.fastcheck import _texts_as_numbers

    rng = np.random.default_rng(3)
    texts = [f"{'-' if rng.random() < 0.2 else ''}{int(rng.integers(0, 10 ** 15)):,}"
             f"{'.' + str(rng.integers(0, 10 ** 9)) if rng.random() < 0.7 else ''}"
             for _ in range(20_000)]
    texts = [t.replace(",", "") if k % 2 else t for k, t in enumerate(texts)]
    texts += [*GOOD_TEXT, "0.1", "0.30000000000000004", "123456789012345678901234.5"]
    got, odd = _texts_as_numbers(pa.array(texts))
    assert not odd.any()
    assert got.to_pylist() == [parse_number(t) for t in texts]
    got, odd = _texts_as_numbers(pa.array([*ODD_TEXT, None]))  # (negatives are numbers:
    plain = {"-5": -5.0, "-1,000": -1000.0}  # the rulebook's minimum refuses them after)
    assert odd.tolist() == [t.strip() != "" and t not in plain for t in ODD_TEXT] + [False]
    assert got.to_pylist() == [plain.get(t) for t in ODD_TEXT] + [None]


def test_an_id_met_twice_in_a_batch_is_rejected_when_the_inputs_duplicates_are_not_given(
) -> None:
    """The batch function looks for the batch's own duplicated 客户编号 when it is not given
    the whole input's (``duplicates=None``); given them, it takes them as they are."""
    from workbook.table.steps import settle_run

    spec = settle_run(period="2026Q3", mode="quarterly", rulebook="brokerage", operator="总部",
                      now=NOW)
    header = ["客户编号", "营业部", "开户日期", "资产权益", "上年度净佣金", "风险测评得分", "当前级别"]
    batch = pa.RecordBatch.from_pydict({
        "客户编号": ["KH1", "KH2", "KH1"], "营业部": ["第1营业部"] * 3,
        "开户日期": pa.array([dt.date(2020, 1, 1)] * 3, pa.date32()),
        "资产权益": [500000.0, 800000.0, 20000.0], "上年度净佣金": [1000.0, 2000.0, 10.0],
        "风险测评得分": [50.0, 60.0, 70.0], "当前级别": ["普通客户"] * 3})
    wanted = list(range(1, len(header) + 1))
    for dups in (None, {"KH1": [2, 4]}):
        dec, rej, _ = table_run.rate_arrow(batch, 0, spec, header, wanted, dups)
        assert dec.column("客户编号").to_pylist() == ["KH2"], dups
        got = rej.to_pylist()
        assert [(r["行号"], r["客户编号"]) for r in got] == [(2, "KH1"), (4, "KH1")], dups
        assert all("重复" in r["原因"] for r in got), got
    dec, rej, _ = table_run.rate_arrow(batch.slice(0, 2), 0, spec, header, wanted, {})
    assert dec.column("客户编号").to_pylist() == ["KH1", "KH2"] and rej.num_rows == 0


def test_plain_ids_are_those_the_pattern_matches() -> None:
    """Which 客户编号 the vectorised path takes as they are (read from the column's bytes) is
    what the pattern ``_PLAIN_ID`` says, row by row — sliced columns and missing values too."""
    import re

    from workbook.table.fastcheck import _PLAIN_ID, plain_ids

    ids = ["KH1", " KH9", "KH9 ", "#REF!", "K#1", "", None, "客户甲", "KH\t1", "KH\x7f", "!x",
           '"q"', "~", "a b", "KH1\n", "ＫＨ１", "x" * 40, "#", "$", "é"]
    rng = np.random.default_rng(2)
    ids += ["".join(chr(int(c)) for c in rng.integers(0x1F, 0x81, rng.integers(0, 6)))
            for _ in range(2000)]
    want = [s is not None and re.fullmatch(_PLAIN_ID.strip("^$"), s) is not None for s in ids]
    arr = pa.array(ids, pa.string())
    assert pc.fill_null(pc.match_substring_regex(arr, _PLAIN_ID), False).to_pylist() == want
    assert plain_ids(arr).tolist() == want
    assert plain_ids(arr.slice(5, 700)).tolist() == want[5:705]
    assert plain_ids(pa.array([], pa.string())).tolist() == []
    assert plain_ids(pa.array([None, ""], pa.string())).tolist() == [False, False]


def test_distinct_dates_are_arrows_dates() -> None:
    """A date column's distinct values are the dates Arrow reads — also at the ends of
    datetime.date's range (``_distinct`` reads the date32 columns ``_date32`` leaves: a day
    outside that range)."""
    from workbook.table.fastcheck import _distinct

    days = [dt.date(2026, 9, 30), dt.date(1, 1, 1), dt.date(9999, 12, 31), None,
            dt.date(1970, 1, 1), dt.date(1969, 12, 31), dt.date(2026, 9, 30)]
    codes, values = _distinct(pa.array(days, pa.date32()))
    assert [values[c] if c >= 0 else None for c in codes] == days
    assert all(type(v) is dt.date for v in values)


def test_client_ids_read_lazily_are_the_list() -> None:
    from workbook.table.fastcheck import Texts

    ids = ["KH1", None, "KH3", "客户"]
    t = Texts(pa.array(ids, pa.string()))
    assert len(t) == 4 and list(t) == ids and t == ids and t[2] == "KH3" and t[-1] == "客户"
    assert t[1] is None and t[1:3] == [None, "KH3"] and [*enumerate(t)][3] == (3, "客户")


def test_a_date32_columns_dates_and_years_are_arrows() -> None:
    """开户日期 of a date32 column made from its distinct days by numpy: the dates Arrow's
    ``to_pylist`` gives and their years, at year ends and datetime.date's limits, empty
    cells None (-1); a list only when read in full or changed (``Dates``)."""
    from workbook.table.fastcheck import Dates, _date32

    days = [dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(1969, 12, 31), dt.date(1970, 1, 1),
            dt.date(2025, 12, 31), dt.date(2026, 1, 1), dt.date(2024, 2, 29), None]
    rng = np.random.default_rng(4)
    col = pa.array([days[k] for k in rng.integers(0, len(days), 5000)], pa.date32())
    for a in (col, col.slice(7, 300), pa.array([], pa.date32()), pa.array([None], pa.date32())):
        got, years = _date32(a)
        want = a.to_pylist()
        assert isinstance(got, Dates) and len(got) == len(want)
        assert [got[i] for i in range(len(want))] == want  # (a row read: no list made)
        assert got._list is None
        assert list(got) == want and got == want
        assert years.tolist() == [d.year if d is not None else -1 for d in want]
    got, _ = _date32(col)
    got[3], got[-1] = None, dt.date(2000, 1, 2)  # (the job's values put in: no list made)
    assert got[3] is None and got[len(col) - 1] == dt.date(2000, 1, 2) and got._list is None
    want = col.to_pylist()
    want[3], want[-1] = None, dt.date(2000, 1, 2)
    assert got[:4] == want[:4] and list(got) == want
    got[5] = dt.date(1999, 9, 9)  # (the list made: changed in it)
    assert got[5] == dt.date(1999, 9, 9) and got[-1] == dt.date(2000, 1, 2)
    with pytest.raises(IndexError):
        _date32(col)[0][len(col)]
    past = pa.array(np.array([-800_000, 3_000_000], np.int32)).cast(pa.date32())
    assert _date32(past) is None  # (outside datetime.date: Arrow's conversion says what)
