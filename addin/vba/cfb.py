"""A small MS-CFB (compound file) writer: version 3, 512-byte sectors, one pass, in memory.

Layout of the file written: header, FAT sectors, directory sectors, mini FAT sectors, the mini
stream (streams shorter than 4096 bytes, in 64-byte mini sectors, MS-CFB 2.6.3), then each
larger stream in its own run of sectors. Every storage's children form a red-black tree
(MS-CFB 2.6.4) built balanced from the sorted names: every level but the last is full, the last
level's nodes are red, all others black, so each path holds the same number of black nodes.
Up to 109 FAT sectors (about 7 MB) are supported, which needs no DIFAT sectors.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
MAXREGSECT = 0xFFFFFFFA
DIFSECT = 0xFFFFFFFC
FATSECT = 0xFFFFFFFD
ENDOFCHAIN = 0xFFFFFFFE
FREESECT = 0xFFFFFFFF
NOSTREAM = 0xFFFFFFFF
_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
_RED, _BLACK = 0, 1
_STORAGE, _STREAM, _ROOT = 1, 2, 5


class CfbError(ValueError):
    """The tree cannot be written as a compound file (bad name, too large)."""


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: list[_Entry] = field(default_factory=list)
    sid: int = 0
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    color: int = _BLACK
    start: int = ENDOFCHAIN
    size: int = 0


def _sort_key(name: str) -> tuple[int, str]:
    # MS-CFB 2.6.4: shorter names first, then code points compared after upper-casing
    return len(name.encode("utf-16-le")), name.upper()


def _check_name(name: str) -> None:
    if not name or len(name.encode("utf-16-le")) > 62 or any(c in name for c in "/\\:!"):
        raise CfbError(f"复合文件中的名称不合法：{name!r}（1–31 个字符，不含 / \\ : !）")


def _tree(entries: Mapping[str, bytes | Mapping], into: list[_Entry]) -> list[_Entry]:
    out = []
    seen: set[str] = set()
    for name, value in entries.items():
        _check_name(name)
        if name.upper() in seen:
            raise CfbError(f"复合文件中名称重复（不区分大小写）：{name!r}")
        seen.add(name.upper())
        if isinstance(value, Mapping):
            e = _Entry(name, _STORAGE)
            into.append(e)
            e.children = _tree(value, into)
        else:
            e = _Entry(name, _STREAM, bytes(value))
            into.append(e)
        out.append(e)
    return out


def _link(children: list[_Entry]) -> int:
    """Build the balanced red-black tree of one storage's children; return the root's id."""
    ordered = sorted(children, key=lambda e: _sort_key(e.name))
    n = len(ordered)
    full = (n + 1).bit_length() - 1  # levels 0..full-1 are full; level ``full`` may be partial

    def build(lo: int, hi: int, depth: int) -> int:
        if lo >= hi:
            return NOSTREAM
        mid = (lo + hi) // 2
        e = ordered[mid]
        e.color = _RED if depth >= full else _BLACK
        e.left = build(lo, mid, depth + 1)
        e.right = build(mid + 1, hi, depth + 1)
        return e.sid

    return build(0, n, 0)


def _chain(fat: list[int], first: int, count: int) -> None:
    for k in range(count):
        fat[first + k] = first + k + 1 if k + 1 < count else ENDOFCHAIN


def write_compound_file(tree: Mapping[str, bytes | Mapping]) -> bytes:
    """A compound file whose root storage holds ``tree``.

    ``tree`` maps a name to the bytes of a stream or to a mapping (a storage), e.g.
    ``{"PROJECT": b"...", "VBA": {"dir": b"..."}}``.
    """
    root, entries = _directory_tree(tree)
    mini, minifat, big = _mini_stream(entries)
    root.size = len(mini)
    lay = _layout(entries, minifat, mini, big)
    root.start = lay.mini_start
    parts = [_header(lay), struct.pack(f"<{len(lay.fat)}I", *lay.fat),
             _directory(entries, lay.n_dir), _minifat(minifat, lay.n_minifat),
             _pad(mini), *(_pad(e.data) for e in big)]
    out = b"".join(parts)
    assert len(out) == SECTOR * (1 + lay.total)
    return out


def _directory_tree(tree: Mapping[str, bytes | Mapping]) -> tuple[_Entry, list[_Entry]]:
    """The root entry and every entry in directory order (ids given, each storage's children
    linked as a red-black tree)."""
    root = _Entry("Root Entry", _ROOT)
    entries = [root]
    root.children = _tree(tree, entries)
    for sid, e in enumerate(entries):
        e.sid = sid
    for e in entries:
        if e.kind != _STREAM:
            e.child = _link(e.children)
    return root, entries


def _mini_stream(entries: list[_Entry]) -> tuple[bytearray, list[int], list[_Entry]]:
    """The mini stream (streams shorter than the cutoff, each in whole 64-byte mini sectors),
    its mini FAT, and the larger streams (sizes and mini starts set on the entries)."""
    mini = bytearray()
    minifat: list[int] = []
    big: list[_Entry] = []
    for e in entries:
        if e.kind != _STREAM:
            continue
        e.size = len(e.data)
        if e.size == 0:
            e.start = ENDOFCHAIN
        elif e.size < MINI_CUTOFF:
            n = -(-e.size // MINI_SECTOR)
            e.start = len(minifat)
            minifat.extend([0] * n)
            _chain(minifat, e.start, n)
            mini += e.data + b"\0" * (n * MINI_SECTOR - e.size)
        else:
            big.append(e)
    return mini, minifat, big


def _sectors(nbytes: int) -> int:
    return -(-nbytes // SECTOR)


@dataclass
class _Layout:
    """Where each part goes: the FAT, the first sector of the directory, mini FAT and mini
    stream, and the counts of sectors."""

    fat: list[int]
    n_fat: int
    n_dir: int
    n_minifat: int
    dir_start: int
    minifat_start: int
    mini_start: int
    total: int


def _layout(entries: list[_Entry], minifat: list[int], mini: bytearray,
            big: list[_Entry]) -> _Layout:
    """The FAT: its own sectors, then the directory, the mini FAT, the mini stream and each
    larger stream as one chain of consecutive sectors (their starts set on the entries)."""
    n_dir = _sectors(len(entries) * 128)
    n_minifat = _sectors(len(minifat) * 4)
    n_mini = _sectors(len(mini))
    n_big = [_sectors(e.size) for e in big]
    n_data = n_dir + n_minifat + n_mini + sum(n_big)
    n_fat = 1
    while n_fat * (SECTOR // 4) < n_fat + n_data:
        n_fat += 1
    if n_fat > 109:
        raise CfbError("复合文件过大（超过 109 个 FAT 扇区，约 7 MB）")

    total = n_fat + n_data
    fat = [FREESECT] * (n_fat * (SECTOR // 4))
    for k in range(n_fat):
        fat[k] = FATSECT
    pos = n_fat
    dir_start = pos
    _chain(fat, pos, n_dir)
    pos += n_dir
    minifat_start = pos if n_minifat else ENDOFCHAIN
    _chain(fat, pos, n_minifat)
    pos += n_minifat
    mini_start = pos if n_mini else ENDOFCHAIN
    _chain(fat, pos, n_mini)
    pos += n_mini
    for e, n in zip(big, n_big, strict=True):
        e.start = pos
        _chain(fat, pos, n)
        pos += n
    assert pos == total
    return _Layout(fat, n_fat, n_dir, n_minifat, dir_start, minifat_start, mini_start, total)


def _header(lay: _Layout) -> bytes:
    header = bytearray(SECTOR)
    difat = [*range(lay.n_fat), *[FREESECT] * (109 - lay.n_fat)]
    struct.pack_into(
        "<8s16sHHHHH6sIIIIIIIII109I", header, 0,
        _SIGNATURE, b"\0" * 16, 0x003E, 0x0003, 0xFFFE, 9, 6, b"\0" * 6,
        0,  # number of directory sectors: 0 in version 3
        lay.n_fat, lay.dir_start, 0, MINI_CUTOFF, lay.minifat_start, lay.n_minifat,
        ENDOFCHAIN, 0,  # no DIFAT sectors
        *difat)
    return bytes(header)


def _directory(entries: list[_Entry], n_dir: int) -> bytes:
    """The directory sectors: a 128-byte record an entry, unused records after the last."""
    directory = bytearray()
    for e in entries:
        name = e.name.encode("utf-16-le") + b"\0\0"
        directory += struct.pack(
            "<64sHBBIII16sIQQIQ", name, len(name), e.kind, e.color, e.left, e.right, e.child,
            b"\0" * 16, 0, 0, 0, e.start if e.kind != _STORAGE else 0, e.size)
    unused = struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM,
                         b"\0" * 16, 0, 0, 0, 0, 0)
    directory += unused * ((n_dir * SECTOR - len(directory)) // 128)
    return bytes(directory)


def _minifat(minifat: list[int], n_minifat: int) -> bytes:
    out = struct.pack(f"<{len(minifat)}I", *minifat)
    return out + b"\xff" * (n_minifat * SECTOR - len(out))


def _pad(b: bytes | bytearray) -> bytes:
    return bytes(b) + b"\0" * (-len(b) % SECTOR)
