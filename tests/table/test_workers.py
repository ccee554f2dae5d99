"""rate-table with worker processes (workbook/table/workers.py) writes what one process
writes: the same decisions, rejections (duplicates across batches rated by different workers
included), summary and history records; nothing of the exchange left behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from table_clients import NOW, PERIOD, clients, write_parquet

from workbook.table import rate_table
from workbook.table.run import WORKERS_FROM, default_workers
from workbook.table.workers import DuplicatesByRow, _get, _put

pytestmark = pytest.mark.skipif(os.name != "posix", reason="forkserver workers: POSIX")


def _manifest(out: Path) -> dict:
    (run,) = (out / "history").iterdir()
    return json.loads((run / "_manifest.json").read_text(encoding="utf-8"))


def test_two_workers_write_what_one_writes(tmp_path: Path) -> None:
    rows = clients(700, seed=11)
    # 客户编号 met again in batches far apart (batches of 100 rows: rated by either worker)
    for a, b in ((3, 650), (120, 399), (250, 251)):
        rows[b]["客户编号"] = rows[a]["客户编号"]
    src = write_parquet(rows, tmp_path / "c.parquet", row_group_size=230)
    shm_before = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()
    got = {}
    for w in (1, 2):
        got[w] = rate_table(src, period=PERIOD, mode="quarterly", out=tmp_path / f"w{w}",
                            operator="总部", now=NOW, workers=w, batch_rows=100)
    for name in ("decisions.parquet", "rejections.parquet"):
        assert pq.read_table(tmp_path / "w1" / name).equals(pq.read_table(tmp_path / "w2" / name))
    rej = pq.read_table(tmp_path / "w2" / "rejections.parquet").to_pylist()
    dup = {r["行号"]: r["原因"] for r in rej if "「客户编号」：重复：" in r["原因"]}
    for a, b in ((3, 650), (120, 399), (250, 251)):  # (行号 = index + 2)
        assert f"另见第 {b + 2} 行" in dup[a + 2] and f"另见第 {a + 2} 行" in dup[b + 2]
    one, two = got[1], got[2]
    assert one.rows_in == 700 == two.decisions + two.rejected + two.blank
    assert one.summary() == two.summary()
    m1, m2 = _manifest(tmp_path / "w1"), _manifest(tmp_path / "w2")
    assert [p["sha256"] for p in m1["parts"]] == [p["sha256"] for p in m2["parts"]]
    leftovers = [p for p in os.listdir(tmp_path / "w2") if p.startswith(".")]
    assert leftovers == []
    if shm_before or os.path.isdir("/dev/shm"):
        assert not [p for p in set(os.listdir("/dev/shm")) - shm_before
                    if p.startswith(".rate-table-")]


def test_duplicates_handed_to_a_batch_are_those_of_its_rows() -> None:
    by_row = DuplicatesByRow({"KH1": [2, 900], "KH2": [150, 151], "KH3": [7, 140]})
    assert by_row.of(2, 100) == {"KH1": [2, 900], "KH3": [7, 140]}
    assert by_row.of(102, 100) == {"KH2": [150, 151], "KH3": [7, 140]}
    assert by_row.of(202, 100) == {}
    assert by_row.of(900, 1) == {"KH1": [2, 900]}


def test_two_workers_by_default_for_a_large_input_on_four_cores(monkeypatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert default_workers(WORKERS_FROM) == 2
    assert default_workers(WORKERS_FROM - 1) == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # (the writer thread takes the second)
    assert default_workers(10 * WORKERS_FROM) == 1


def test_a_batch_handed_over_through_a_file_or_the_pipe_comes_back_the_same(tmp_path: Path
                                                                           ) -> None:
    batch = pa.RecordBatch.from_pydict({"客户编号": ["KH1", None, "客户甲"],
                                        "资产权益": [1.5, None, 250_000.0]})
    path = str(tmp_path / "000001-d.arrow")
    assert _put(batch, path) == path
    assert _get(path).equals(batch)
    assert not os.path.exists(path)  # (removed once mapped)
    assert _get(_put(batch, None)).equals(batch)  # (Windows: through the pipe)
