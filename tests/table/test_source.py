"""Duplicated 客户编号 across the whole input, found from 64-bit hashes of the ids and then
checked on the ids themselves (workbook/table/source.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import workbook.table.source as source


def _input(tmp_path: Path) -> source.TableInput:
    ids = [f"KH{k}" for k in range(300)] + [" KH7", "KH7 ", "#REF!", "#REF!", None, "", "客户甲",
                                             "客户甲"]
    pq.write_table(pa.table({"客户编号": pa.array(ids, pa.string()),
                             "资产权益": pa.array(np.ones(len(ids)))}), tmp_path / "c.parquet",
                   row_group_size=64)
    return source.open_input(tmp_path / "c.parquet")


def test_duplicates_named_with_every_row(tmp_path: Path) -> None:
    inp = _input(tmp_path)
    assert source.duplicate_ids(inp, 50) == {"KH7": [9, 302, 303], "客户甲": [308, 309]}


def test_equal_hashes_of_different_ids_are_no_duplicates(tmp_path: Path, monkeypatch) -> None:
    inp = _input(tmp_path)
    real = source.id_hashes
    monkeypatch.setattr(source, "id_hashes", lambda a: np.minimum(real(a), np.uint64(5)))
    assert source.duplicate_ids(inp, 50) == {"KH7": [9, 302, 303], "客户甲": [308, 309]}
