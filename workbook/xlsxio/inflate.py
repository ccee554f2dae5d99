"""Read (inflate) one zip entry in a background thread.

zlib releases the GIL while it inflates, so the decompression of a big worksheet part runs on
the second core while the main thread parses the blocks already inflated. The entry's data are
read from the file directly (our own file handle, not the ZipFile's), the output is capped at
the size the central directory announces (a lying header cannot inflate more) and its CRC-32
is checked at the end, as zipfile does. Inflated by zlib-ng where it is installed (the same
format; ~2x zlib's inflate and ~5x its CRC-32 on sheet XML: the read workers inflate 客户 1.5
times and the log search 变更记录 once), else by zlib.
"""

from __future__ import annotations

import queue
import struct
import threading
import zipfile
import zlib
from types import ModuleType
from typing import IO

from .errors import XlsxError


def zlib_ng_module() -> ModuleType | None:
    """python-zlib-ng's ``zlib_ng`` (zlib's API and format, faster), or None where it is not
    installed (a dependency, but the reader and the writer work without it): the one import
    of it, for inflating here, deflating and combining CRC-32s in ``zipwriter``."""
    try:
        from zlib_ng import zlib_ng
    except ImportError:
        return None
    return zlib_ng


#: the module that inflates and checks the CRC-32 (same API as zlib)
INFLATE: ModuleType = zlib_ng_module() or zlib

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
#: Size of the inflated blocks handed to the consumer. Big enough that the thread keeps the GIL
#: released for several milliseconds per call (a GIL hand-over costs up to the 5 ms switch
#: interval while the main thread is busy in Python).
OUT_BLOCK = 2 * 1024 * 1024
_IN_BLOCK = 256 * 1024
_DONE = object()


class EntryReader:
    """``read()`` returns the next inflated block of the entry (b"" at the end)."""

    def __init__(self, zf: zipfile.ZipFile, name: str, block: int = OUT_BLOCK) -> None:
        self.info = zf.getinfo(name)
        self.name = name
        self.block = block
        self._q: queue.Queue = queue.Queue(maxsize=3)
        self._stop = threading.Event()
        self._done = False
        if zf.filename is None or self.info.compress_type not in (
            zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
        ):
            # in-memory zip or another compression method: zipfile in this thread
            self._fh: IO[bytes] | None = zf.open(name)
            self._thread: threading.Thread | None = None
            return
        self._fh = None
        self._path = zf.filename
        self._thread = threading.Thread(target=self._run, name="xlsxio-inflate", daemon=True)
        self._thread.start()

    # -- producer
    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        info = self.info
        try:
            with open(self._path, "rb") as fh:
                fh.seek(info.header_offset)
                head = fh.read(_LOCAL.size)
                if len(head) != _LOCAL.size or head[:4] != b"PK\x03\x04":
                    raise XlsxError(f"工作簿内部条目 {self.name} 损坏，无法读取。")
                f = _LOCAL.unpack(head)
                fh.seek(info.header_offset + _LOCAL.size + f[9] + f[10])
                left = info.compress_size
                want = info.file_size
                stored = info.compress_type == zipfile.ZIP_STORED
                d = None if stored else INFLATE.decompressobj(-15)
                crc = 0
                total = 0
                pending = b""
                while True:
                    if stored:
                        data = fh.read(min(self.block, left)) if left else b""
                        left -= len(data)
                        out = data
                        if not data and left:
                            raise XlsxError(f"工作簿内部条目 {self.name} 不完整，文件可能已损坏。")
                    else:
                        assert d is not None
                        if not pending and left:
                            pending = fh.read(min(_IN_BLOCK, left))
                            left -= len(pending)
                            if not pending:
                                raise XlsxError(
                                    f"工作簿内部条目 {self.name} 不完整，文件可能已损坏。")
                        out = d.decompress(pending, self.block)
                        pending = d.unconsumed_tail
                        while len(out) < self.block and (pending or left) and not d.eof:
                            if not pending:
                                pending = fh.read(min(_IN_BLOCK, left))
                                left -= len(pending)
                            out += d.decompress(pending, self.block - len(out))
                            pending = d.unconsumed_tail
                    if out:
                        total += len(out)
                        if total > want:
                            raise XlsxError(
                                f"工作簿内部条目 {self.name} 的实际大小与声明不符，拒绝处理。")
                        crc = INFLATE.crc32(out, crc)
                        if not self._put(out):
                            return
                    elif stored or (d is not None and d.eof) or not (pending or left):
                        break
                if total != want or (crc & 0xFFFFFFFF) != info.CRC:
                    raise XlsxError(f"工作簿内部条目 {self.name} 校验失败，文件可能已损坏。")
            self._put(_DONE)
        except BaseException as exc:  # handed to the consumer
            self._put(exc)

    # -- consumer
    def read(self) -> bytes:
        if self._done:
            return b""
        if self._thread is None:
            assert self._fh is not None
            data = self._fh.read(self.block)
            if not data:
                self._done = True
            return data
        item = self._q.get()
        if item is _DONE:
            self._done = True
            return b""
        if isinstance(item, BaseException):
            self._done = True
            if isinstance(item, XlsxError):
                raise item
            raise XlsxError(f"工作簿内部条目 {self.name} 无法解压，文件可能已损坏。") from item
        return item

    def close(self) -> None:
        self._stop.set()
        if self._fh is not None:
            self._fh.close()
        if self._thread is not None:
            while True:  # unblock a producer waiting on a full queue
                try:
                    self._q.get_nowait()
                except queue.Empty:
                    break
            self._thread.join()
