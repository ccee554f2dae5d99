"""The duplicate-id pass (``source.duplicate_ids``, ``workbook/table/idhash.py``): the hash
that reads ids eight bytes at a time, the sorted runs of its top bits, and the whole pass
against a plain Python count of the ids, on inputs made to catch a wrong fast path."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import workbook.table.source as source
from workbook.table.idhash import HashRuns, Scratch, hash_texts, repeated_hashes, sorted_tops

# white space that trimming takes off (ASCII, no-break, ideographic), and odd texts
SPACES = [" ", "\t", "\n", "\u3000", "\xa0"]


def _reference(values: list[object]) -> dict[str, list[int]]:
    """The duplicates as ``read_ids`` would count them: texts trimmed (pyarrow's own trimming,
    whole-number floats without .0), empty/missing/#… left out; rows numbered from 2."""
    arr = pa.array(values)
    if pa.types.is_floating(arr.type):
        arr = pc.cast(arr, pa.int64()) if all(
            v is None or float(v).is_integer() for v in values) else arr
    texts = pc.utf8_trim_whitespace(pc.cast(arr, pa.string())).to_pylist()
    ids = [t for t in texts if t and not t.startswith("#")]
    twice = {t for t, n in Counter(ids).items() if n > 1}
    got: dict[str, list[int]] = {}
    for r, t in enumerate(texts):
        if t in twice:
            got.setdefault(t, []).append(r + 2)
    return got


def _write(tmp_path: Path, values: list[object], row_group: int, name: str = "c.parquet"
           ) -> source.TableInput:
    pq.write_table(pa.table({"客户编号": pa.array(values),
                             "资产权益": pa.array(np.ones(len(values)))}),
                   tmp_path / name, row_group_size=row_group)
    return source.open_input(tmp_path / name)


def _random_ids(rng: random.Random, n: int) -> list[str | None]:
    """Ids of every length from 0 to 40 bytes (the fast path is 16), ASCII and Chinese, some
    with white space about them, error values, empty and missing ones; many met twice or
    more, anywhere in the input."""
    alphabet = "0123456789ABCDEFKH客户甲乙丙"
    pool = ["".join(rng.choice(alphabet) for _ in range(rng.choice(
        [1, 2, 7, 8, 9, 10, 15, 16, 17, 23, 24, 25, 40]))) for _ in range(n // 3)]
    out: list[str | None] = []
    for _ in range(n):
        x = rng.random()
        if x < 0.05:
            out.append(rng.choice([None, "", "   ", "#N/A", "#REF!", " #N/A "]))
        elif x < 0.15:
            out.append(rng.choice(SPACES) + rng.choice(pool) + rng.choice([*SPACES, ""]))
        else:
            out.append(rng.choice(pool))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_duplicates_as_a_plain_count_of_the_ids_finds_them(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    values = _random_ids(rng, 3000)
    inp = _write(tmp_path, values, row_group=rng.choice([97, 500, 3000]))
    want = _reference(values)
    assert want and any(len(r) > 2 for r in want.values())
    got = source.duplicate_ids(inp, rng.choice([64, 211, 1000]))
    assert list(got.items()) == list(want.items())  # (in the order of their first rows)


def test_ids_that_differ_in_one_byte_only_are_not_duplicates(tmp_path: Path) -> None:
    """Ids that share all but their last byte, or all but a byte past the eighth (or past the
    sixteenth), of one length and of mixed lengths in a batch; and the same ids met again
    in another batch, of other lengths, are duplicates."""
    base = "KH0123456789ABCDEFGHIJKLMNOPQRSTUV"
    values: list[object] = []
    for width in (8, 9, 15, 16, 17, 24, 33):
        for at in sorted({width - 1, min(8, width - 1), min(16, width - 1)}):
            for c in "0123456789":
                values.append(base[:at] + c + base[at + 1:width])
    uniq = list(dict.fromkeys(values))
    for batch in (uniq, [v for v in uniq if len(v) == 17]):  # (mixed lengths; one)
        assert len(set(hash_texts(pa.array(batch)).tolist())) == len(batch)
    assert source.duplicate_ids(_write(tmp_path, uniq, 1000), 10) == {}
    again = [*uniq, "x" * 3, "客户" * 9, *uniq[::-7]]
    got = source.duplicate_ids(_write(tmp_path, again, 50, "again.parquet"), 13)
    assert got == _reference(again)
    assert set(got) == set(uniq[::-7])


def test_the_hash_of_an_id_is_the_same_in_any_batch() -> None:
    """The same texts hashed in batches of one length (read in place), of mixed lengths (cut
    out of aligned words, at every alignment), sliced (an offset into the buffers) and as
    large strings: the same hashes, so that duplicates across batches are found."""
    texts = ["KH00012345", "KH00012346", "客户甲", "A", "AB" * 8, "AB" * 8 + "C",
             "Z" * 40, "12345678", "#N/A", ""]
    alone = {t: int(hash_texts(pa.array([t]))[0]) for t in texts}
    assert alone["#N/A"] == 0 and alone[""] == 0
    assert len({v for t, v in alone.items() if t not in ("#N/A", "")}) == len(texts) - 2
    work = Scratch()
    for t in texts:
        assert hash_texts(pa.array([t] * 5), work).tolist() == [alone[t]] * 5
        for pad in range(9):
            mixed = pa.array(["p" * pad, t, "q" * 20, t, None])
            got = hash_texts(mixed, work).tolist()
            assert got[1] == got[3] == alone[t]
            assert got[4] == 0
            assert hash_texts(mixed.slice(1, 3), work).tolist() == got[1:4]
        big = pa.array([t, "x" * 3, t], pa.large_string())
        assert hash_texts(big, work).tolist()[::2] == [alone[t]] * 2


def test_a_missing_id_hashes_to_zero_whatever_its_bytes() -> None:
    """A null slot whose offsets still span bytes (Arrow allows it) is no id."""
    data = b"KH1KH2KH1"
    offsets = np.array([0, 3, 6, 9], np.int32)
    valid = pa.py_buffer(np.packbits([1, 0, 1], bitorder="little").tobytes())
    arr = pa.Array.from_buffers(pa.string(), 3, [valid, pa.py_buffer(offsets.tobytes()),
                                                 pa.py_buffer(data)], null_count=1)
    assert arr.to_pylist() == ["KH1", None, "KH1"]
    h = hash_texts(arr)
    assert h[1] == 0 and h[0] == h[2] != 0


def test_texts_trimmed_as_pyarrow_trims_them() -> None:
    """``id_texts`` leaves the trimming out only where it would change nothing."""
    for vals in ([None, " ", "KH1"], ["", "\t"], [None, "KH1 ", "A"], ["KH1", "\u3000KH2"],
                 ["客户甲", "A"], [None, None], ["", ""], ["KH1", "KH2"]):
        arr = pa.array(vals, pa.string())
        assert source.id_texts(arr).to_pylist() == pc.utf8_trim_whitespace(arr).to_pylist()
    rng = random.Random(5)
    for _ in range(200):
        n = rng.choice([1, 3, 40])
        width = rng.choice([None, 1, 5])
        vals = []
        for _ in range(n):
            core = "".join(rng.choice("K1客 ") for _ in range(width or rng.randint(0, 6)))
            vals.append(rng.choice(["", rng.choice(SPACES)]) + core
                        + rng.choice(["", rng.choice(SPACES)]) if rng.random() < 0.3
                        else core or None)
        arr = pa.array(vals, pa.string())
        assert source.id_texts(arr).to_pylist() == pc.utf8_trim_whitespace(arr).to_pylist()


def test_equal_hashes_of_different_ids_leave_only_true_duplicates(tmp_path: Path,
                                                                 monkeypatch) -> None:
    """Every id given the same hash: the second pass, on the ids themselves, keeps only the
    ids met twice (and empty, missing and error values are still no ids)."""
    values = _random_ids(random.Random(9), 800)
    inp = _write(tmp_path, values, 100)
    real = source.id_hashes

    def constant(a, *work):
        return np.where(real(a, *work) != 0, np.uint64(7), np.uint64(0))

    monkeypatch.setattr(source, "id_hashes", constant)
    assert source.duplicate_ids(inp, 64) == _reference(values)


def test_duplicates_across_files_of_a_dataset_and_in_csv(tmp_path: Path) -> None:
    d = tmp_path / "many"
    d.mkdir()
    parts = [["KH1", "KH2", " KH3"], ["KH4", "KH1 ", None], ["#N/A", "KH3", "KH5", "KH1"]]
    for k, ids in enumerate(parts):
        pq.write_table(pa.table({"客户编号": pa.array(ids, pa.string()),
                                 "资产权益": np.ones(len(ids))}), d / f"part-{k}.parquet")
    want = {"KH1": [2, 6, 11], "KH3": [4, 9]}
    assert source.duplicate_ids(source.open_input(d), 2) == want
    csv = tmp_path / "c.csv"
    csv.write_text("客户编号,资产权益\n" + "".join(
        f"{i if i is not None else ''},1\n" for p in parts for i in p), encoding="utf-8")
    assert source.duplicate_ids(source.open_input(csv), 2) == want


def test_numbers_as_ids(tmp_path: Path) -> None:
    """Whole-number floats are ids without .0, as the job reads them."""
    values = [1001.0, 1002.0, None, 1001.0, 3.0, 1002.0, 1001.0]
    got = source.duplicate_ids(_write(tmp_path, values, 3), 2)
    assert got == _reference(values) == {"1001": [2, 5, 8], "1002": [3, 7]}


@pytest.mark.parametrize("capacity", [0, 10, 10**6])
def test_sorted_runs_give_the_top_bits_met_twice(capacity: int) -> None:
    """Batches of any size (none, some, all of their hashes 0; some sorted by the reading
    thread), merged as they come into an array that may have to grow: the same as counting
    the top bits of all of them."""
    rng = np.random.default_rng(capacity)
    runs = HashRuns(capacity)
    batches = []
    for size in [0, 5, 131, 1, 1000, 77, 2048, 3, 0, 500] * 3:
        h = rng.integers(0, 1 << 12, size, dtype=np.uint64) << np.uint64(52)
        h |= rng.integers(0, 4, size, dtype=np.uint64)
        h[::5 if len(batches) % 2 else len(h) + 1] = 0
        if size == 77:
            h[:] = 0
        runs.add(h, sorted_tops(h) if len(batches) % 3 == 1 else None)  # (sorted ahead)
        batches.append(h)
    tops = (np.concatenate(batches) >> np.uint64(32)).astype(np.uint32)
    values, counts = np.unique(tops[np.concatenate(batches) != 0], return_counts=True)
    assert runs.repeated().tolist() == values[counts > 1].tolist()
    every = np.concatenate(batches)
    values, counts = np.unique(every[every != 0], return_counts=True)
    assert repeated_hashes(batches, runs.repeated()).tolist() == values[counts > 1].tolist()
