"""A minimal zip writer: raw copy of entries (compressed bytes untouched) and streamed new ones.

zipfile cannot copy an entry without decompressing and recompressing it; here the local
header is rewritten from the central-directory ``ZipInfo`` and the compressed data is copied
as is, so every untouched part keeps its exact bytes, CRC and compression method.
"""

from __future__ import annotations

import queue
import struct
import threading
import time
import zipfile
import zlib
from typing import BinaryIO

from .errors import XlsxError

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<4sHHHHIIH")
_LIMIT = 0xFFFFFFFF
COPY_BLOCK = 1024 * 1024
#: Bytes handed to the compressing thread at a time (it keeps the GIL released ~20 ms per call).
DEFLATE_BLOCK = 2 * 1024 * 1024
_END = object()


class _Deflater:
    """crc32 + deflate + write of the blocks ``put`` to it, in one background thread."""

    def __init__(self, fh: BinaryIO, level: int) -> None:
        self.fh = fh
        self.comp = zlib.compressobj(level, zlib.DEFLATED, -15)
        self.crc = 0
        self.usize = 0
        self.csize = 0
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
                self.crc = zlib.crc32(data, self.crc)
                self.usize += len(data)
                out = self.comp.compress(data)
                self.csize += len(out)
                self.fh.write(out)
            except BaseException as exc:
                self.error = exc

    def put(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.q.put(data)

    def finish(self) -> tuple[int, int, int]:
        self.q.put(_END)
        self.thread.join()
        if self.error is not None:
            raise self.error
        out = self.comp.flush()
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
        src.seek(info.header_offset)
        head = src.read(_LOCAL.size)
        if len(head) != _LOCAL.size or head[:4] != b"PK\x03\x04":
            raise XlsxError(f"工作簿内部条目 {info.filename} 损坏，无法复制。")
        fields = _LOCAL.unpack(head)
        src.seek(info.header_offset + _LOCAL.size + fields[9] + fields[10])
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
        left = info.compress_size
        while left:
            buf = src.read(min(COPY_BLOCK, left))
            if not buf:
                raise XlsxError(f"工作簿内部条目 {info.filename} 不完整，文件可能已损坏。")
            self.fh.write(buf)
            left -= len(buf)
        self.entries.append(e)

    def write_stream(
        self,
        name: str,
        chunks,
        *,
        compresslevel: int = 6,
        date_time: tuple[int, ...] | None = None,
    ) -> None:
        """Write a new deflated entry from an iterable of bytes chunks.

        The chunks are gathered into blocks of ``DEFLATE_BLOCK`` bytes that a background
        thread compresses (one zlib stream, so the output is the same as a single-threaded
        ``compressobj(level, DEFLATED, -15)``; zlib releases the GIL, so compression runs on
        another core while the caller produces the next chunks)."""
        e = _Entry()
        e.name, utf8 = _encode_name(name)
        e.flags = utf8
        e.compress_type = zipfile.ZIP_DEFLATED
        e.crc = e.csize = e.usize = 0
        e.date_time = date_time or time.localtime(time.time())[:6]
        e.external_attr = 0o600 << 16
        e.offset = self.fh.tell()
        self._local_header(e)
        sink = _Deflater(self.fh, compresslevel)
        try:
            pending: list[bytes] = []
            plen = 0
            for chunk in chunks:
                if not chunk:
                    continue
                pending.append(chunk)
                plen += len(chunk)
                if plen >= DEFLATE_BLOCK:
                    sink.put(b"".join(pending))
                    pending.clear()
                    plen = 0
            if pending:
                sink.put(b"".join(pending))
            crc, usize, csize = sink.finish()
        finally:
            sink.stop()
        e.crc, e.csize, e.usize = crc & 0xFFFFFFFF, csize, usize
        end = self.fh.tell()
        self.fh.seek(e.offset)
        self._local_header(e)
        self.fh.seek(end)
        self.entries.append(e)

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
