"""The vectorised validation of rate-table (workbook/table/fastcheck.py) gives the files the
job's own validation gives, on typed Parquet columns full of bad and unusual values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
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
