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
    monkeypatch.setattr(source, "id_hashes",
                        lambda a, *work: np.minimum(real(a, *work), np.uint64(5)))
    assert source.duplicate_ids(inp, 50) == {"KH7": [9, 302, 303], "客户甲": [308, 309]}


def test_parquet_files_and_hive_partitions_read_in_order(tmp_path: Path) -> None:
    """A dataset of several files is read file by file, in order; a column that is a Hive
    partition key (营业部=…/ folders) is read too (through the dataset scanner)."""
    d = tmp_path / "many"
    d.mkdir()
    for k in range(3):
        pq.write_table(pa.table({"客户编号": [f"KH{k}{j}" for j in range(5)],
                                 "资产权益": np.arange(5.0) + k}), d / f"part-{k}.parquet",
                       row_group_size=2)
    inp = source.open_input(d)
    got = pa.Table.from_batches(list(inp.batches(3)))
    assert got.column("客户编号").to_pylist() == [f"KH{k}{j}" for k in range(3) for j in range(5)]
    h = tmp_path / "hive"
    for br in ("东区营业部", "西区营业部"):
        (h / f"营业部={br}").mkdir(parents=True)
        pq.write_table(pa.table({"客户编号": [f"{br}-{j}" for j in range(4)],
                                 "资产权益": np.ones(4)}), h / f"营业部={br}" / "p.parquet")
    inp = source.open_input(h)
    assert "营业部" in [inp.header[c - 1] for c in inp.wanted]
    rows = pa.Table.from_batches(list(inp.batches(3))).to_pylist()
    assert sorted((r["营业部"], r["客户编号"]) for r in rows) == sorted(
        (br, f"{br}-{j}") for br in ("东区营业部", "西区营业部") for j in range(4))


def test_prefetch_gives_every_item_and_raises_the_reader_error() -> None:
    assert list(source.prefetch(iter(range(50)))) == list(range(50))

    def broken():
        yield 1
        raise OSError("磁盘读取失败")

    got = []
    try:
        for x in source.prefetch(broken()):
            got.append(x)
    except OSError as e:
        assert "磁盘读取失败" in str(e)
    else:
        raise AssertionError("the reader's error was lost")
    assert got == [1]
    it = source.prefetch(iter(range(10**6)))  # (left early: the thread ends)
    assert next(it) == 0
    it.close()
