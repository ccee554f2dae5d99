"""A minimal zip writer: raw copy of entries (compressed bytes untouched) and streamed new ones.

zipfile cannot copy an entry without decompressing and recompressing it; here the local
header is rewritten from the central-directory ``ZipInfo`` and the compressed data is copied
as is, so every untouched part keeps its exact bytes, CRC and compression method.

New entries are deflated with zlib-ng (``zlib-ng`` on PyPI: the same raw deflate format, any
inflater reads it) when it is installed, else with the standard library's zlib: ``DEFLATE``.
The bytes of a rewritten part depend on which one (and on its version), so a rerun is
byte-identical to the run before on the same installation; untouched parts are copied as they
are either way.
"""

from __future__ import annotations

import queue
import struct
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import BinaryIO, cast

from .errors import XlsxError
from .inflate import zlib_ng_module

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<4sHHHHIIH")
_LIMIT = 0xFFFFFFFF
COPY_BLOCK = 1024 * 1024
#: Bytes handed to the compressing thread at a time (it keeps the GIL released ~20 ms per call).
DEFLATE_BLOCK = 2 * 1024 * 1024
_END = object()


@dataclass(frozen=True)
class Deflate:
    """The deflate implementation new entries are compressed with. ``levels`` maps the level a
    caller asks for (zlib's scale: 6 is zipfile's default) to the level given to ``module``."""

    name: str
    module: ModuleType
    levels: dict[int, int]

    def compressobj(self, level: int):
        return self.module.compressobj(self.levels.get(level, level), self.module.DEFLATED, -15)


ZLIB = Deflate("zlib", zlib, {})


def _zlib_ng() -> Deflate | None:
    zlib_ng = zlib_ng_module()
    if zlib_ng is None:
        return None
    # zlib-ng's levels are not zlib's: on sheet XML its level 4 writes within ~4 % of zlib 6's
    # size at ~3x the speed (bench/bench_deflate.py, docs/workbook.md "Speed").
    return Deflate("zlib-ng", zlib_ng, {6: 4})


#: What ``RawZipWriter.write_stream`` deflates with: zlib-ng when importable, else zlib.
DEFLATE: Deflate = _zlib_ng() or ZLIB
#: A chunk of ``write_stream``: a full flush point there (the output is byte-aligned and no
#: later data refers back across it), so the entry's compressed bytes up to it can later be
#: copied as they are and new data deflated after them (``raw_prefix``).
FLUSH = object()


class _Deflater:
    """crc32 + deflate + write of the blocks ``put`` to it, in one background thread."""

    def __init__(self, fh: BinaryIO, level: int, crc: int = 0, usize: int = 0,
                 csize: int = 0, deflate: Deflate | None = None) -> None:
        self.fh = fh
        deflate = deflate or DEFLATE
        self.comp = deflate.compressobj(level)
        self._crc32 = deflate.module.crc32  # (the same CRC-32; zlib-ng's is faster)
        self.crc = crc
        self.usize = usize
        self.csize = csize
        self.error: BaseException | None = None
        self.q: queue.Queue = queue.Queue(maxsize=3)
        self.thread = threading.Thread(target=self._run, name="xlsxio-deflate", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            data = self.q.get()
            if data is _END:
                return
            if self.error is not None:
                continue  # drain
            try:
                if data is FLUSH:
                    out = self.comp.flush(zlib.Z_FULL_FLUSH)  # (3 in every zlib)
                    self.csize += len(out)
                    self.fh.write(out)
                    continue
                self.crc = self._crc32(data, self.crc)
                self.usize += len(data)
                out = self.comp.compress(data)
                self.csize += len(out)
                self.fh.write(out)
            except BaseException as exc:
                self.error = exc

    def put(self, data: bytes | object) -> None:
        if self.error is not None:
            raise self.error
        self.q.put(data)

    def finish(self, mode: int = zlib.Z_FINISH) -> tuple[int, int, int]:
        """(CRC-32, size, compressed size) once every block is deflated; ``mode``
        ``Z_SYNC_FLUSH`` ends the output on a byte boundary without a final block, so that
        other deflate streams can follow it (``Piece``)."""
        self.q.put(_END)
        self.thread.join()
        if self.error is not None:
            raise self.error
        out = self.comp.flush(mode)
        self.csize += len(out)
        self.fh.write(out)
        return self.crc, self.usize, self.csize

    def stop(self) -> None:
        if self.thread.is_alive():
            self.q.put(_END)
            self.thread.join()


def _dos_time(date_time: tuple[int, ...]) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time[:6]
    if y < 1980:
        y, mo, d, h, mi, s = 1980, 1, 1, 0, 0, 0
    return (h << 11) | (mi << 5) | (s // 2), ((y - 1980) << 9) | (mo << 5) | d


def _encode_name(name: str) -> tuple[bytes, int]:
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), 0x800


class _Entry:
    __slots__ = (
        "compress_type",
        "crc",
        "csize",
        "date_time",
        "external_attr",
        "flags",
        "name",
        "offset",
        "usize",
    )
    compress_type: int
    crc: int
    csize: int
    date_time: tuple[int, ...]
    external_attr: int
    flags: int
    name: bytes
    offset: int
    usize: int


@dataclass
class RawPrefix:
    """``length`` compressed bytes at ``offset`` of ``src``, inflating to ``usize`` bytes
    whose CRC-32 is ``crc``."""

    src: BinaryIO
    offset: int
    length: int
    crc: int
    usize: int


@dataclass
class Piece:
    """The rest of an entry deflated elsewhere (by another process): ``csize`` bytes of raw
    deflate in ``src`` from its start -- a stream of its own, ended with ``Z_SYNC_FLUSH``, or
    with ``Z_FINISH`` for the entry's last piece --, inflating to ``usize`` bytes whose CRC-32
    is ``crc``. Raw deflate streams so ended can be concatenated (as pigz does)."""

    src: BinaryIO
    crc: int
    usize: int
    csize: int


#: CRC-32 of a + b from those of a and b and the length of b (None without zlib-ng: then an
#: entry is never deflated in pieces).
crc32_combine: Callable[[int, int, int], int] | None = getattr(zlib_ng_module(), "crc32_combine",
                                                               None)


def _copy(src: BinaryIO, offset: int, length: int, dst: BinaryIO, name: str) -> None:
    src.seek(offset)
    left = length
    while left:
        buf = src.read(min(COPY_BLOCK, left))
        if not buf:
            raise XlsxError(f"工作簿内部条目 {name} 不完整，文件可能已损坏。")
        dst.write(buf)
        left -= len(buf)


def entry_data_offset(src: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Where the compressed data of an entry start in the file (after its local header)."""
    src.seek(info.header_offset)
    head = src.read(_LOCAL.size)
    if len(head) != _LOCAL.size or head[:4] != b"PK\x03\x04":
        raise XlsxError(f"工作簿内部条目 {info.filename} 损坏，无法复制。")
    fields = _LOCAL.unpack(head)
    return info.header_offset + _LOCAL.size + fields[9] + fields[10]


_CRC_TABLE: list[int] = []
_CRC_TOP: dict[int, int] = {}


def crc32_strip(crc: int, tail: bytes) -> int:
    """CRC-32 of ``data`` given ``crc = zlib.crc32(data + tail)``: the CRC register run
    backwards over ``tail`` (each table entry has a distinct top byte, so every step can be
    undone). Lets an entry cut before its last bytes be continued without inflating it."""
    if not _CRC_TABLE:
        for n in range(256):
            c = n
            for _ in range(8):
                c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
            _CRC_TABLE.append(c)
        _CRC_TOP.update({c >> 24: n for n, c in enumerate(_CRC_TABLE)})
    c = crc ^ 0xFFFFFFFF
    for b in reversed(tail):
        i = _CRC_TOP[c >> 24]
        c = (((c ^ _CRC_TABLE[i]) << 8) & 0xFFFFFFFF) | (i ^ b)
    return c ^ 0xFFFFFFFF


def _feed(sink: _Deflater, chunks: Iterable[bytes | object]) -> None:
    """The chunks gathered into blocks of ``DEFLATE_BLOCK`` bytes for the deflating thread;
    ``FLUSH`` passed on after the bytes before it."""
    pending: list[bytes] = []
    plen = 0
    for chunk in chunks:
        if chunk is FLUSH:
            if pending:
                sink.put(b"".join(pending))
                pending.clear()
                plen = 0
            sink.put(FLUSH)
            continue
        if not chunk:
            continue
        data = cast(bytes, chunk)  # (or any bytes-like object)
        pending.append(data)
        plen += len(data)
        if plen >= DEFLATE_BLOCK:
            sink.put(b"".join(pending))
            pending.clear()
            plen = 0
    if pending:
        sink.put(b"".join(pending))


def deflate_piece(fh: BinaryIO, chunks: Iterable[bytes | object], level: int,
                  final: bool) -> tuple[int, int, int]:
    """Deflate the chunks into ``fh`` as a ``Piece`` of an entry: (CRC-32, size, compressed
    size); ``final`` for the entry's last piece."""
    sink = _Deflater(fh, level)
    try:
        _feed(sink, chunks)
        return sink.finish(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)
    finally:
        sink.stop()


class RawZipWriter:
    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.entries: list[_Entry] = []

    def _local_header(self, e: _Entry) -> None:
        if e.offset >= _LIMIT or e.csize >= _LIMIT or e.usize >= _LIMIT:
            raise XlsxError("生成的工作簿超过 4 GB，无法保存。")
        tm, dm = _dos_time(e.date_time)
        self.fh.write(
            _LOCAL.pack(
                b"PK\x03\x04", 20, e.flags, e.compress_type, tm, dm, e.crc, e.csize, e.usize,
                len(e.name), 0,
            )
        )
        self.fh.write(e.name)

    def copy_raw(self, src: BinaryIO, info: zipfile.ZipInfo) -> None:
        """Copy one entry of ``src`` (the open source zip file) without decompressing it."""
        data_at = entry_data_offset(src, info)
        e = _Entry()
        e.name, utf8 = _encode_name(info.filename)
        e.flags = (info.flag_bits & 0x6) | utf8
        e.compress_type = info.compress_type
        e.crc = info.CRC
        e.csize = info.compress_size
        e.usize = info.file_size
        e.date_time = info.date_time
        e.external_attr = info.external_attr
        e.offset = self.fh.tell()
        self._local_header(e)
        _copy(src, data_at, info.compress_size, self.fh, info.filename)
        self.entries.append(e)

    def write_stream(
        self,
        name: str,
        chunks: Iterable[bytes | object],
        *,
        compresslevel: int = 6,
        date_time: tuple[int, ...] | None = None,
        raw_prefix: RawPrefix | None = None,
        pieces: Callable[[], Sequence[Piece]] | None = None,
    ) -> None:
        """Write a new deflated entry from an iterable of bytes chunks (and ``FLUSH``).

        The chunks are gathered into blocks of ``DEFLATE_BLOCK`` bytes that a background
        thread compresses (one deflate stream of ``DEFLATE``, so the output is the same as a
        single-threaded ``DEFLATE.compressobj(level)``; zlib and zlib-ng release the GIL, so
        compression runs on another core while the caller produces the next chunks).

        ``raw_prefix``: the entry starts with compressed bytes copied from another file as they
        are (a deflate stream cut at a ``FLUSH`` point), the chunks being deflated after them.
        ``pieces``: called once the chunks are deflated (ended with ``Z_SYNC_FLUSH``), gives
        the ``Piece`` list that follows them in the entry (needs ``crc32_combine``)."""
        e = _Entry()
        e.name, utf8 = _encode_name(name)
        e.flags = utf8
        e.compress_type = zipfile.ZIP_DEFLATED
        e.crc = e.csize = e.usize = 0
        e.date_time = date_time or time.localtime(time.time())[:6]
        e.external_attr = 0o600 << 16
        e.offset = self.fh.tell()
        self._local_header(e)
        if raw_prefix is not None:
            _copy(raw_prefix.src, raw_prefix.offset, raw_prefix.length, self.fh, name)
            sink = _Deflater(self.fh, compresslevel, raw_prefix.crc, raw_prefix.usize,
                             raw_prefix.length)
        else:
            sink = _Deflater(self.fh, compresslevel)
        try:
            _feed(sink, chunks)
            crc, usize, csize = sink.finish(zlib.Z_SYNC_FLUSH if pieces else zlib.Z_FINISH)
        finally:
            sink.stop()
        if pieces is not None:
            crc, usize, csize = self._append_pieces(pieces(), crc, usize, csize, name)
        e.crc, e.csize, e.usize = crc & 0xFFFFFFFF, csize, usize
        end = self.fh.tell()
        self.fh.seek(e.offset)
        self._local_header(e)
        self.fh.seek(end)
        self.entries.append(e)

    def _append_pieces(self, got: Sequence[Piece], crc: int, usize: int, csize: int,
                       name: str) -> tuple[int, int, int]:
        combine = crc32_combine
        if combine is None:
            raise XlsxError("zlib-ng 未安装，无法合并分段压缩的数据。")
        for p in got:
            _copy(p.src, 0, p.csize, self.fh, name)
            crc = combine(crc, p.crc, p.usize)
            usize += p.usize
            csize += p.csize
        return crc, usize, csize

    def rollback(self, offset: int) -> None:
        """Forget what was written from ``offset`` on (an entry given up: ``write_stream``
        raised; the entries before it stay)."""
        if self.entries and self.entries[-1].offset >= offset:
            raise XlsxError("内部错误：不能回退已写完的条目。")
        self.fh.seek(offset)
        self.fh.truncate()

    def close(self) -> None:
        start = self.fh.tell()
        for e in self.entries:
            tm, dm = _dos_time(e.date_time)
            self.fh.write(
                _CENTRAL.pack(
                    b"PK\x01\x02", 20, 20, e.flags, e.compress_type, tm, dm, e.crc,
                    e.csize, e.usize, len(e.name), 0, 0, 0, 0, e.external_attr, e.offset,
                )
            )
            self.fh.write(e.name)
        size = self.fh.tell() - start
        if start >= _LIMIT:
            raise XlsxError("生成的工作簿超过 4 GB，无法保存。")
        n = len(self.entries)
        self.fh.write(_EOCD.pack(b"PK\x05\x06", 0, 0, n, n, size, start, 0))
