"""Streaming split of a worksheet part into: prefix, <sheetData> rows (in chunks), suffix.

The worksheet XML is read from the zip entry in blocks; rows are handed out in chunks that
always end on a row boundary (``</row>``), so a chunk can be scanned with regular expressions.
Text content cannot contain ``</row>`` (``<`` is always escaped), so the split is exact.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from functools import lru_cache

from rules.gcpause import no_gc as no_gc  # (its one home; the readers import it from here)

from .errors import CellRefError, XlsxError
from .inflate import EntryReader
from .package import check_utf8
from .safety import check_xml_prolog

BLOCK = 2 * 1024 * 1024

_SHEETDATA_RE = re.compile(rb"<(\w+:)?sheetData\b[^>]*?(/?)>")
COL_CACHE: dict[bytes, int] = {}


def col_index(letters: str | bytes) -> int:
    """'A' -> 1, 'Z' -> 26, 'AA' -> 27 ... 'XFD' -> 16384."""
    if isinstance(letters, str):
        letters = letters.encode("ascii")
    n = COL_CACHE.get(letters)
    if n is not None:
        return n
    n = 0
    for ch in letters.upper():
        if not 65 <= ch <= 90:
            raise CellRefError(f"单元格列号 {letters.decode('ascii', 'replace')} 无效，文件可能已损坏。")
        n = n * 26 + (ch - 64)
    if not 1 <= n <= 16384:
        raise CellRefError(f"单元格列号 {letters.decode('ascii', 'replace')} 超出 Excel 的最后一列 "
                           "XFD（第 16384 列），文件可能已损坏。")
    COL_CACHE[bytes(letters)] = n
    return n


def row_pieces(chunk: bytes, end_row: bytes, size: int) -> Iterator[bytes]:
    """Cut a chunk of whole rows after a row end about every ``size`` bytes (the reader and
    the column-wise patch work on pieces that fit the CPU cache)."""
    n = len(chunk)
    if n <= size * 3 // 2:
        yield chunk
        return
    pos = 0
    while pos < n:
        cut = chunk.rfind(end_row, pos, pos + size)
        if cut < 0 or n - pos <= size * 3 // 2:
            yield chunk[pos:] if pos else chunk
            return
        cut += len(end_row)
        yield chunk[pos:cut]
        pos = cut


@lru_cache(maxsize=20000)
def col_letter(n: int) -> str:
    """1 -> 'A', 27 -> 'AA'."""
    if not 1 <= n <= 16384:
        raise CellRefError(f"第 {n} 列超出 Excel 的最后一列 XFD（第 16384 列）。")
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


class SheetStream:
    """Iterate a worksheet part: ``prefix`` (up to and including ``<sheetData>``), then
    ``row_chunks()``, then ``suffix_chunks()`` (from ``</sheetData>`` on).

    ``self_closing`` is True for ``<sheetData/>``: prefix ends before it, and the suffix starts
    after it.
    """

    def __init__(self, zf: zipfile.ZipFile, part: str, block: int = BLOCK) -> None:
        self.part = part
        self.block = block
        self._fh = EntryReader(zf, part, block)
        try:
            self._init()
        except BaseException:
            self._fh.close()
            raise

    def _init(self) -> None:
        part = self.part
        buf = self._fh.read()
        check_utf8(buf[:4], part)
        check_xml_prolog(buf[:8192], part)
        data = buf
        while True:
            m = _SHEETDATA_RE.search(buf)
            if m is not None:
                break
            if not data:
                raise XlsxError(f"工作表 {part} 格式错误（没有 sheetData），文件可能已损坏。")
            data = self._fh.read()
            buf += data
        self.ns = (m.group(1) or b"")
        self.self_closing = m.group(2) == b"/"
        if self.self_closing:
            self.prefix = buf[: m.start()]
            self._rest = buf[m.end() :]
        else:
            self.prefix = buf[: m.end()]
            self._rest = buf[m.end() :]
        self._end_row = b"</" + self.ns + b"row>"
        self._end_data = b"</" + self.ns + b"sheetData>"
        self._suffix_start = b""
        self._done_rows = self.self_closing

    def row_chunks(self) -> Iterator[bytes]:
        """Chunks of the <sheetData> content, each ending on a row boundary."""
        if self._done_rows:
            self._suffix_start = self._rest
            self._rest = b""
            return
        buf = self._rest
        self._rest = b""
        end_row = self._end_row
        end_data = self._end_data
        seen = 0  # (the end of the rows is looked for in the new data only)
        while True:
            end = buf.find(end_data, seen)
            if end >= 0:
                if end:
                    yield buf[:end]
                self._suffix_start = buf[end:]
                self._done_rows = True
                return
            cut = buf.rfind(end_row)
            if cut >= 0:
                cut += len(end_row)
                chunk, buf = buf[:cut], buf[cut:]
                yield chunk
            data = self._fh.read()
            if not data:
                raise XlsxError(f"工作表 {self.part} 不完整（缺少 </sheetData>），文件可能已损坏。")
            seen = max(len(buf) - len(end_data) + 1, 0)
            buf += data

    def suffix_chunks(self) -> Iterator[bytes]:
        if not self._done_rows:
            for _ in self.row_chunks():
                pass
        if self._suffix_start:
            yield self._suffix_start
        while True:
            data = self._fh.read()
            if not data:
                break
            yield data

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> SheetStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@lru_cache(maxsize=8)
def cell_regexes(ns: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """(token regex over rows and cells, regex of cell children) for a namespace prefix.

    Token groups: 1 row attrs | 2 col letters, 3 row digits, 4 s, 5 t, 6 other attrs,
    7 cell inner XML (None for an empty ``<c .../>``). When the attributes are not in the
    usual r, s, t order, groups 2-5 may be None and everything lands in group 6.
    """
    p = re.escape(ns)
    token = re.compile(
        b"<" + p + rb"(?:row\b([^>]*)>|c"
        rb'(?: r="([A-Z]{1,3})([0-9]+)")?(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?'
        rb"((?:\s[^>]*?)?)\s*(?:/>|>(.*?)</" + p + rb"c>))",
        re.S,
    )
    child = re.compile(
        b"<" + p + rb"(v|f|is)\b([^>]*?)(?:/>|>(.*?)</" + p + rb"(?:v|f|is)>)", re.S
    )
    return token, child


ATTR_RE = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"|([\w:]+)\s*=\s*\'([^\']*)\'')
ROW_R_RE = re.compile(rb'\br\s*=\s*"([0-9]+)"')
REF_RE = re.compile(rb"([A-Z]{1,3})([0-9]+)")


def parse_attrs(raw: bytes) -> dict[bytes, bytes]:
    out = {}
    for m in ATTR_RE.finditer(raw):
        if m.group(1) is not None:
            out[m.group(1)] = m.group(2)
        else:
            out[m.group(3)] = m.group(4)
    return out


def cell_attrs(g: tuple) -> tuple[bytes | None, bytes | None, bytes | None, bytes | None, bytes]:
    """Normalise the attribute groups of a token match -> (letters, rowdigits, s, t, other)."""
    letters, rowd, s, t, other = g[1], g[2], g[3], g[4], g[5]
    if other and other.strip():
        attrs = parse_attrs(other)
        if b"r" in attrs:
            m = REF_RE.fullmatch(attrs.pop(b"r"))
            if m:
                letters, rowd = m.group(1), m.group(2)
        if b"s" in attrs:
            s = attrs.pop(b"s")
        if b"t" in attrs:
            t = attrs.pop(b"t")
        other = b"".join(b" " + k + b'="' + v + b'"' for k, v in attrs.items())
    else:
        other = b""
    return letters, rowd, s, t, other


@lru_cache(maxsize=8)
def read_regex(ns: bytes) -> re.Pattern[bytes]:
    """Token regex for ``findall`` in the reader. Groups (b"" when absent):
    1 "row..." (row start tag) | 2 col letters, 3 row digits, 4 s, 5 t, 6 other attrs,
    7 simple <v> text, 8 simple inline <is><t> text, 9 any other cell content.
    """
    p = re.escape(ns)
    return re.compile(
        b"<" + p + rb"(?:(row\b[^>]*)>|c"
        rb'(?: r="([A-Z]{1,3})([0-9]+)")?(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?'
        rb"((?:\s[^>]*?)?)\s*(?:/>|>(?:<" + p + rb"v>([^<]*)</" + p + rb"v>|<" + p
        + rb"is><" + p + rb"t>([^<]*)</" + p + rb"t></" + p + rb"is>|((?:[^<]|<(?!/"
        + p + rb"c>))*))</" + p + rb"c>))",
        re.S,
    )
