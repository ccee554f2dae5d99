"""Rows appended below the last row of a worksheet (the 变更记录 log), without recompressing
the rows already there when we wrote the part last time.

Every log part we write is deflated with a full flush point just before its last row: the
compressed bytes up to it form a complete, byte-aligned deflate prefix, and the bytes after it
(the final segment) inflate on their own to ``<row r="N">…</row></sheetData>…</worksheet>``.
To append, that prefix is copied from the old file as it is, and only the last row, the new
rows and the suffix are deflated after it. The last row's number is checked against where the
new rows go (a caller that read an older file cannot misplace them). The entry's CRC-32 is
continued from the prefix's, which is computed from the old CRC by running the CRC register
backwards over the final segment (``crc32_strip``); nothing of the old rows is inflated.

A part written by another program (Excel saves without such a point) is streamed instead:
inflated, copied row chunk by row chunk, the new rows written after the last, and deflated
again with the flush point, so the next append is fast. Either way ``<dimension>`` is dropped
from the part (it is optional; a stale one would mislead readers that trust it).
"""

from __future__ import annotations

import itertools
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from . import cells
from .errors import XlsxError
from .sheetxml import ROW_R_RE, SheetStream, col_letter
from .xmltext import CTRL_RE, SURROGATE_RE, escape_text
from .zipwriter import FLUSH, RawPrefix, RawZipWriter, crc32_strip, entry_data_offset

#: The final segment is searched for in this many compressed bytes at the end of the entry,
#: and may inflate to at most this many bytes (a suffix is a few hundred bytes).
_SEARCH = 256 * 1024
_MAX_SUFFIX = 1024 * 1024
_SEGMENT_RE = re.compile(rb'<((?:\w+:)?)row r="([0-9]+)"')
_DIM_ELEMENT_RE = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?/>")
_CONTENT_RE = re.compile(rb"<(?:\w+:)?(?:v|f|is)\b")


def final_segment(src, info: zipfile.ZipInfo) -> tuple[int, bytes, bytes, int, int] | None:
    """(length of the compressed prefix, the inflated final segment, the namespace prefix, the
    number of the last row, where that row ends in the segment) when the entry ends with
    ``FLUSH`` + a deflated ``<row r="N">…</row></sheetData>…``; None otherwise."""
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
        return None
    start = entry_data_offset(src, info)
    n = min(info.compress_size, _SEARCH)
    src.seek(start + info.compress_size - n)
    buf = src.read(n)
    pos = len(buf)
    while True:
        pos = buf.rfind(b"\x00\x00\xff\xff", 0, pos)
        if pos < 0:
            return None
        d = zlib.decompressobj(-15)
        try:
            out = d.decompress(buf[pos + 4:], _MAX_SUFFIX)
        except zlib.error:
            continue
        m = _SEGMENT_RE.match(out)
        if not (m and d.eof and not d.unused_data and not d.unconsumed_tail
                and len(out) <= info.file_size):
            continue
        ns = m.group(1)
        end = out.find(b"</" + ns + b"row>")
        if end < 0:
            continue
        end += len(ns) + 6
        if out.startswith(b"</" + ns + b"sheetData>", end) and out.count(b"<" + ns + b"row ") == 1:
            return info.compress_size - n + pos + 4, out, ns, int(m.group(2)), end


#: Log rows are turned into XML this many at a time (the XML of 50,000 rows is 100 MB).
BLOCK_ROWS = 5000


def row_blocks(rows: Sequence[list[Any]]) -> Iterator[list[list[Any]]]:
    """The rows a block at a time: the sequence's own blocks when it has them (the log rows of
    a run, made a block at a time: ``workbook.run.logrows``), else slices of ``BLOCK_ROWS``."""
    blocks = getattr(rows, "blocks", None)
    if blocks is not None:
        yield from (b for b in blocks() if b)
        return
    for a in range(0, len(rows), BLOCK_ROWS):
        yield list(rows[a:a + BLOCK_ROWS])


def rows_xml_flushed(rows: Sequence[list[Any]], first: int, ns: bytes, w,
                     header_style) -> Iterator[bytes | object]:
    """``rows_xml`` of the rows a block at a time, with ``FLUSH`` before the last row (or
    alone, without rows): nothing but a block of rows is held at a time."""
    held: list[list[Any]] = []
    at = first
    for block in row_blocks(rows):
        if held:
            yield rows_xml(held, at, ns, w, header_style)
            at += len(held)
        held = block
    if held:
        yield rows_xml(held[:-1], at, ns, w, header_style)
        at += len(held) - 1
    yield FLUSH
    if held:
        yield rows_xml(held[-1:], at, ns, w, header_style)


def rows_xml(rows: list[list[Any]], first: int, ns: bytes, w, header_style) -> bytes:
    """``patch._rows_xml`` of rows numbered from ``first``: rows of texts (a log) are written
    column by column, all texts of a column escaped at once (the same bytes, tested)."""

    head = 1 if first == 1 and rows else 0  # the header row keeps its bold style
    body = rows[head:]
    width = max((len(r) for r in body), default=0)
    if not body or not all(type(v) is str or v is None for r in body for v in r):
        return cells.rows_xml(rows, w, ns, {}, header_style, start=first)
    start = first + head
    nums = [str(r) for r in range(start, start + len(body))]
    cols = []
    for j in range(width):
        texts = [(r[j] if j < len(r) else None) or "" for r in body]
        letter = col_letter(j + 1)
        cols.append([f'<c r="{letter}{n}" t="inlineStr"><is><t{sp}>{t}</t></is></c>' if t
                     else "" for n, t, sp in zip(nums, _escape_many(texts), _spaces(texts),
                                                  strict=True)])
    c_open = "<" + ns.decode() + "row"
    c_close = "</" + ns.decode() + "row>"
    out = [f'{c_open} r="{n}">{"".join(row_cells)}{c_close}' if any(row_cells) else ""
           for n, row_cells in zip(nums, zip(*cols, strict=True), strict=True)]
    text = "".join(out).encode("utf-8")
    if head:
        text = cells.rows_xml(rows[:1], w, ns, {}, header_style, start=first) + text
    return text


_SEP = "\ue000"


def _escape_many(texts: list[str]) -> list[str]:
    """``[escape_text(t) for t in texts]``, the common case of the whole column at once."""
    blob = _SEP.join(texts)
    if (blob.count(_SEP) != len(texts) - 1 or "_x" in blob or CTRL_RE.search(blob)
            or SURROGATE_RE.search(blob)):
        return list(map(escape_text, texts))
    return blob.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").split(_SEP)


def _spaces(texts: list[str]) -> list[str]:
    """The xml:space attribute each text needs (as ``CellWriter`` writes it)."""
    flags = list(map(str.__ne__, texts, map(str.strip, texts)))
    if any("\n" in t for t in texts):
        flags = [f or "\n" in t for f, t in zip(flags, texts, strict=True)]
    return [' xml:space="preserve"' if f else "" for f in flags]


def append_part(zf: zipfile.ZipFile, src, info: zipfile.ZipInfo, writer: RawZipWriter,
                first: int, rows: Sequence[list[Any]], w, styles, level: int) -> None:
    """Write entry ``info`` with ``rows`` appended from Excel row ``first`` (see module doc)."""
    bold: list[int | None] = []

    def header_style() -> int | None:  # row 1 written on an empty sheet: bold, as new sheets
        if not bold:
            bold.append(styles.bold_xf(None))
        return bold[0]

    found = final_segment(src, info)
    if found is not None and found[3] < first:  # (else streamed: it says what is in the way)
        length, segment, ns, _last, row_end = found
        prefix = RawPrefix(src, entry_data_offset(src, info), length,
                           crc32_strip(info.CRC, segment), info.file_size - len(segment))
        chunks = itertools.chain([segment[:row_end]],
                                 _new_rows(rows, first, ns, w, header_style),
                                 [segment[row_end:]])
        writer.write_stream(info.filename, chunks, compresslevel=level,
                            date_time=info.date_time, raw_prefix=prefix)
        return
    with SheetStream(zf, info.filename) as stream:
        writer.write_stream(info.filename, _streamed(stream, first, rows, w, header_style),
                            compresslevel=level, date_time=info.date_time)


def _streamed(stream: SheetStream, first: int, rows: Sequence[list[Any]], w,
              header_style) -> Iterator[bytes | object]:
    ns = stream.ns
    prefix = _DIM_ELEMENT_RE.sub(b"", stream.prefix, count=1)
    if stream.self_closing:
        yield prefix + b"<" + ns + b"sheetData>"
    else:
        yield prefix
        held = b""
        for chunk in stream.row_chunks():
            if held:
                yield held
            held = chunk
        yield _cut_trailing(held, first, ns)
    yield from _new_rows(rows, first, ns, w, header_style)
    if stream.self_closing:
        yield b"</" + ns + b"sheetData>"
    yield from stream.suffix_chunks()


def _new_rows(rows: Sequence[list[Any]], first: int, ns: bytes, w,
              header_style) -> Iterator[bytes | object]:
    """The XML of the rows, with the flush point before the last one (see module doc)."""
    return rows_xml_flushed(rows, first, ns, w, header_style)


def last_row_flush(xml: bytes) -> list[bytes | object]:
    """A whole new sheet's XML as chunks with the flush point before its last row (or before
    ``</sheetData>`` when it has no row)."""
    end = xml.rindex(b"</sheetData>")
    cut = xml.rfind(b"<row ", 0, end)
    cut = end if cut < 0 else cut
    return [xml[:cut], FLUSH, xml[cut:]]


def _cut_trailing(chunk: bytes, first: int, ns: bytes) -> bytes:
    """The last chunk of rows without its rows numbered ``first`` or more: those must be empty
    (formatting only, as Excel keeps for styled rows) -- rows with a value are refused."""
    opener = b"<" + ns + b"row"
    pos = len(chunk)
    cut = pos
    while True:
        s = chunk.rfind(opener, 0, pos)
        if s < 0:
            break
        m = ROW_R_RE.search(chunk, s, chunk.find(b">", s) + 1)
        if m is None or int(m.group(1)) < first:
            break
        cut = s
        pos = s
    rest = chunk[cut:]
    if rest and _CONTENT_RE.search(rest):
        raise XlsxError(f"工作表在第 {first} 行或其后已有内容，无法在那里追加记录（请重新运行）。")
    return chunk[:cut]


__all__ = ["append_part", "final_segment", "last_row_flush"]
