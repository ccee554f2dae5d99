"""The arithmetic of the duplicate-id pass (``source.duplicate_ids``), in numpy: a 64-bit hash
of each 客户编号 (``hash_texts``) and the hashes met on more than one row (``HashRuns``,
``repeated_hashes``), batch by batch as the column is read.

The hash reads an id's UTF-8 bytes eight at a time as little-endian words, the bytes past its
end masked off: two words for every id and one more per further eight bytes for the longer
ones (read in place when the batch's ids all have one length, else cut out of two aligned
words each). Each word is folded in by a step that is a bijection of the running value for a
given word and of the word for a given value, the length is the seed, and a multiply-xorshift
(a bijection) ends it: two ids of the same length that differ in one word only (their last
byte, a byte past the eighth) never have the same hash (but for the value 0 taken to 1);
other collisions are left to the second pass, which compares the ids themselves. 0 means no
id (empty, missing, an error value ``#…``). The values are never stored: they may change
between versions; they are the same in every process and for any batch an id is in (the
Spark tasks hash too).
"""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa

U64 = np.uint64
_SEED, _STEP = U64(0x9E3779B97F4A7C15), U64(0xC2B2AE3D27D4EB4F)
_MIX = U64(0xFF51AFD7ED558CCD)
# the low k bytes of a (little-endian) word, k = 0..8
KEEP = np.array([(1 << 8 * k) - 1 for k in range(9)], U64)
_PRINTABLE = np.array([0x20 < b < 0x7F for b in range(256)])


class Scratch:
    """Arrays reused from one batch to the next (by one thread): a batch's temporaries made
    afresh cost page faults as the allocator gives their pages back and takes them again."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, n: int, dtype: type = np.uint64) -> np.ndarray:
        a = self.arrays.get(name)
        if a is None or len(a) < n or a.dtype != dtype:
            a = self.arrays[name] = np.empty(max(n, 1 << 10), dtype)
        return a[:n]


def string_parts(ids: pa.Array, work: Scratch | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the bytes, each text's start in them, its length in bytes) of a string array."""
    n = len(ids)
    if not n:
        return np.zeros(0, np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64)
    width = np.int64 if pa.types.is_large_string(ids.type) else np.int32
    offsets = np.frombuffer(ids.buffers()[1], width)[ids.offset:ids.offset + n + 1]
    data = np.frombuffer(ids.buffers()[2] or b"", np.uint8)[offsets[0]:offsets[-1]]
    work = Scratch() if work is None else work
    starts, lengths = work.get("starts", n, np.int64), work.get("lengths", n, np.int64)
    np.subtract(offsets[:-1], offsets[0], out=starts)
    np.subtract(offsets[1:], offsets[:-1], out=lengths)
    return data, starts, lengths


def trimmed(ids: pa.Array, work: Scratch | None = None) -> bool:
    """True when no text can have white space to trim: each begins and ends with a printable
    ASCII character other than the space (a byte below 0x80 is a whole character in UTF-8;
    white space at either end is otherwise a space, a control or a non-ASCII character)."""
    data, starts, lengths = string_parts(ids, work)
    if not len(data):
        return False  # (left to the trimming)
    shortest = int(lengths.min())
    if shortest and lengths.max() == shortest:
        edges = (data[::shortest], data[shortest - 1::shortest])
    else:
        if not shortest:  # (empty and missing ones have no ends)
            some = lengths > 0
            starts, lengths = starts[some], lengths[some]
        edges = (data.take(starts), data.take(starts + lengths - 1))
    return all(bool(_PRINTABLE.take(e).all()) for e in edges)


def hash_texts(ids: pa.Array, work: Scratch | None = None) -> np.ndarray:
    """The hash of each text of a string array (not chunked): 0 for a missing or empty one and
    for an error value (``#…``)."""
    work = Scratch() if work is None else work
    data, starts, lengths = string_parts(ids, work)
    n = len(starts)
    if not n or not len(data):
        return np.zeros(n, U64)
    out = np.empty(n, U64)
    out[:] = lengths
    with np.errstate(over="ignore"):
        out *= _SEED
        if lengths.min() == lengths.max():
            error = _hash_same_lengths(out, data, int(lengths[0]), work)
        else:
            error = _hash_any_lengths(out, data, starts, lengths, work)
        out ^= out >> U64(32)  # (a bijection: the top bits hang on every bit)
        out *= _MIX
        out ^= out >> U64(29)
    out += out == 0  # (a text whose hash is 0 gets 1)
    none = (lengths == 0) | error
    if ids.null_count:
        none |= ~np.asarray(ids.is_valid())
    out[none] = 0
    return out


def _hash_same_lengths(out: np.ndarray, data: np.ndarray, width: int, work: Scratch
                       ) -> np.ndarray:
    """``_hash_any_lengths`` when every text is ``width`` bytes long (ids of a fixed width, or
    numbered alike): the words read in place, ``width`` bytes apart. -> first byte '#'."""
    n = len(out)
    words = _aligned_words(data, work)
    word = work.get("word", n)
    for j in range(max(2, (width + 7) // 8)):
        at = np.ndarray((n,), "<u8", words, offset=8 * j, strides=(width,))
        np.bitwise_and(at, KEEP[min(max(width - 8 * j, 0), 8)], out=word)
        _step(out, word, work)
    return data[::width] == ord("#")


def _hash_any_lengths(out: np.ndarray, data: np.ndarray, starts: np.ndarray,
                      lengths: np.ndarray, work: Scratch) -> np.ndarray:
    """The words of each text folded into ``out`` (two, then one more per eight bytes past
    the sixteenth: only for the texts that long). -> first byte '#'."""
    n = len(out)
    words = _aligned_words(data, work)
    if sys.byteorder != "little":
        words = words.byteswap()  # (the words read little-endian, as in _hash_same_lengths)
    q = work.get("q", n, np.int64)
    np.right_shift(starts, 3, out=q)
    shift = work.get("shift", n)
    np.bitwise_and(starts, 7, out=shift, casting="unsafe")
    shift <<= U64(3)  # (where in its aligned word the text starts, in bits)
    back = work.get("back", n)
    np.subtract(U64(63), shift, out=back)
    word = _word(words, q, shift, back, lengths, 0, work)
    error = (word & U64(0xFF)) == ord("#")
    _step(out, word, work)
    _step(out, _word(words, q, shift, back, lengths, 1, work), work)
    long = np.flatnonzero(lengths > 16)
    for j in range(2, (int(lengths.max()) + 7) // 8):
        long = long[lengths[long] > 8 * j]
        h = out[long]
        _step(h, _word(words, q[long], shift[long], back[long], lengths[long], j, work), work)
        out[long] = h
    return error


def _aligned_words(data: np.ndarray, work: Scratch) -> np.ndarray:
    """The bytes copied into whole words (16 bytes or more after the end)."""
    n_words = len(data) // 8 + 3
    words = work.get("words", n_words)
    words[-3:] = 0
    words.view(np.uint8)[:len(data)] = data
    return words


def _word(words: np.ndarray, q: np.ndarray, shift: np.ndarray, back: np.ndarray,
          lengths: np.ndarray, j: int, work: Scratch) -> np.ndarray:
    """Bytes 8j..8j+7 of each text (those past its end 0): the two aligned words it spans
    joined (``back`` = 63 - ``shift``: the second word's bits shifted by 1 + back ≤ 64)."""
    n = len(q)
    at = work.get("at", n, np.int64)
    np.add(q, j, out=at)
    word = work.get("word", n)
    words.take(at, out=word, mode="clip")  # (valid: no check)
    word >>= shift
    at += 1
    nxt = work.get("next", n)
    words.take(at, out=nxt, mode="clip")
    nxt <<= U64(1)
    nxt <<= back
    word |= nxt
    keep = work.get("keep_k", n, np.int64)
    np.subtract(lengths, 8 * j, out=keep)
    np.clip(keep, 0, 8, out=keep)
    word &= KEEP.take(keep, out=nxt, mode="clip")
    return word


def _step(h: np.ndarray, word: np.ndarray, work: Scratch) -> None:
    """h = rotl((h ^ word) * K, 31): a bijection of h for a given word, and of word for a
    given h."""
    h ^= word
    h *= _STEP
    t = work.get("rot", len(h))
    np.right_shift(h, U64(33), out=t)
    h <<= U64(31)
    h |= t


class HashRuns:
    """The top 32 bits of the hashes (0: no id, left out) in one array, each batch's sorted
    as it comes and the sorted runs merged like a binary counter (a run merged with the one
    before it once that one is no longer than it: ``sort(kind="stable")``, a timsort, merges
    two sorted runs in place), so that most of the sorting is done while the column is still
    being read. 4 bytes a row; ``capacity``: the rows expected (the array grows past it)."""

    def __init__(self, capacity: int = 0) -> None:
        self.tops = np.empty(max(capacity, 1 << 16), np.uint32)
        self.n = 0
        self.runs: list[int] = []  # (where each run starts)

    def add(self, hashes: np.ndarray, tops: np.ndarray | None = None) -> None:
        """A batch's hashes; ``tops``: their ``sorted_tops`` when made already (by the
        reading thread, when it is ahead)."""
        some = hashes if tops is not None or np.all(hashes) else hashes[hashes != 0]
        k = len(some) if tops is None else len(tops)
        if not k:
            return
        if self.n + k > len(self.tops):
            more = np.empty(max(2 * len(self.tops), self.n + k), np.uint32)
            more[:self.n] = self.tops[:self.n]
            self.tops = more
        run = self.tops[self.n:self.n + k]
        if tops is None:
            np.right_shift(some, U64(32), out=run, casting="unsafe")
            run.sort()
        else:
            run[:] = tops
        self.runs.append(self.n)
        self.n += k
        while len(self.runs) > 1 and self.runs[-1] - self.runs[-2] <= self.n - self.runs[-1]:
            self.runs.pop()
            self.tops[self.runs[-1]:self.n].sort(kind="stable")

    def repeated(self) -> np.ndarray:
        """The top bits met more than once, sorted."""
        s = self.tops[:self.n]
        if len(self.runs) > 1:
            s.sort(kind="stable")
            self.runs = [0]
        return met_twice(s)


def met_twice(s: np.ndarray) -> np.ndarray:
    """The values met more than once in the sorted ``s``, each once (sorted)."""
    twice = s[1:][s[1:] == s[:-1]]
    return twice[np.concatenate(([True], twice[1:] != twice[:-1]))] if len(twice) else twice


def sorted_tops(hashes: np.ndarray) -> np.ndarray:
    """The top 32 bits of the hashes that are not 0, sorted (a run of ``HashRuns``)."""
    tops = (hashes[hashes != 0] >> U64(32)).astype(np.uint32)
    tops.sort()
    return tops


def repeated_hashes(hashes: list[np.ndarray], tops: np.ndarray) -> np.ndarray:
    """The hashes (not 0) met more than once in ``hashes``, of which ``tops`` are the top 32
    bits met more than once (``HashRuns.repeated``), sorted: the rows whose top bits may be
    among them found through a table of their first ``bits`` bits, then checked."""
    if not len(tops):
        return np.zeros(0, U64)
    bits = int(min(max(len(tops) * 256, 1 << 12), 1 << 23)).bit_length()  # (≤ 16 MB)
    table = np.zeros(1 << bits, bool)
    table[tops >> np.uint32(32 - bits)] = True
    work = Scratch()
    maybe = []
    for h in hashes:
        at = work.get("at", len(h))
        np.right_shift(h, U64(64 - bits), out=at)
        maybe.append(h[table.take(at.view(np.int64))])
    got = np.concatenate(maybe) if maybe else np.zeros(0, U64)
    got = got[(got != 0) & among((got >> U64(32)).astype(np.uint32), tops)]
    got.sort()
    return met_twice(got)


def among(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_set)`` for a sorted ``sorted_set``, by binary search (no sort
    of the two together: a few million hashes met twice cost no more than a few)."""
    if not len(sorted_set):
        return np.zeros(len(values), bool)
    at = np.searchsorted(sorted_set, values)
    np.minimum(at, len(sorted_set) - 1, out=at)
    return sorted_set[at] == values
