"""Find the few rows of a big worksheet whose cell in one column holds a given text, without
reading the others: the 变更记录 of a 1M-client branch has 14M cells, and a run needs its run
rows, the rows just before them and its last rows only.

The sheet is streamed (inflated in a thread) and searched for the value's bytes: the escaped
text as an inline or formula string, or ``<v>k</v>`` for each shared-string index ``k`` holding
the text. Each hit's row is parsed by the reader's per-cell scanner and kept when its cell in
the column really is the text (a hit in another cell, or a number k, is dropped), so the result
is the same as reading every row and filtering; only the time differs (a literal search runs
at memory speed). A text split into rich-text runs (``<r><t>运</t><t>行</t></r>``) is not
found; no writer we know does that to a plain cell.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field

from .book import XlsxBook
from .errors import XlsxError
from .scan import CellContext, CellScan
from .sheetxml import ROW_R_RE, SheetStream, no_gc
from .values import Value
from .xmltext import escape_text


@dataclass
class FoundRows:
    """Rows of a worksheet found by :func:`find_rows` (Excel row numbers, 1-based).

    * ``n_rows``: the last row holding a cell (0 for an empty sheet);
    * ``header``: row 1 as values (``[]`` when row 1 is empty);
    * ``rows[r]``: values of row ``r`` from column A (one per column up to its last cell) for
      every matching row, the row before it (``before`` rows) and the last ``last`` rows.
    * ``matches``: the matching row numbers, ascending.
    """

    n_rows: int = 0
    header: list[Value] = field(default_factory=list)
    rows: dict[int, list[Value]] = field(default_factory=dict)
    matches: list[int] = field(default_factory=list)
    #: False when the rows could not be found this way (rows without their number, or none of
    #: the sheet's last rows holds a value): read the whole sheet instead
    complete: bool = True


def find_rows(path, sheet: str, *, col: int, text: str, before: int = 1,
              last: int = 2) -> FoundRows:
    """Rows whose cell in 1-based column ``col`` is exactly ``text`` (see module doc).
    ``path``: a file, or an open ``XlsxBook``."""
    if isinstance(path, XlsxBook):
        return _find_rows_book(path, sheet, col=col, text=text, before=before, last=last)
    with XlsxBook(path) as book:
        return _find_rows_book(book, sheet, col=col, text=text, before=before, last=last)


def _find_rows_book(book: XlsxBook, sheet: str, **how) -> FoundRows:
    try:
        return find_rows_book(book, sheet, **how)
    except _Unnumbered:
        return FoundRows(complete=False)


def find_rows_zip(zf: zipfile.ZipFile, sheet: str, *, col: int, text: str, before: int = 1,
                  last: int = 2) -> FoundRows:
    return find_rows_book(XlsxBook.of_zip(zf), sheet, col=col, text=text, before=before,
                          last=last)


def find_rows_book(book: XlsxBook, sheet: str, *, col: int, text: str, before: int = 1,
                   last: int = 2) -> FoundRows:
    """``find_rows`` on an open book (its shared strings parsed once for the run)."""
    zf = book.zf
    sh = book.sheet(sheet)
    sst = book.shared_strings
    ctx = book.context()
    out = FoundRows()
    with SheetStream(zf, sh.part) as stream, no_gc():
        ns = stream.ns

        def parse(xml: bytes) -> tuple[int, list[Value]]:
            return _parse_row(ctx, ns, xml, sh.name)

        needles = [escape_text(text).encode("utf-8")]
        needles += [b"<" + ns + b"v>" + str(k).encode() + b"</" + ns + b"v>"
                    for k, s in enumerate(sst) if s == text]
        hit_re = re.compile(b"|".join(re.escape(n) for n in needles))
        rows = _Rows(ns)
        tail: list[bytes] = []  # the last rows of the chunks so far (row XML), newest last
        keep = max(before, _TAIL)
        first = True
        for chunk in stream.row_chunks():
            if first:
                first = False
                s = rows.next_start(chunk, 0)
                if s >= 0:
                    r, values = parse(chunk[s:rows.end_of(chunk, s)])
                    if r == 1:
                        out.header = values
            done_to = 0
            for m in hit_re.finditer(chunk):
                if m.start() < done_to:
                    continue
                start = rows.start_of(chunk, m.start())
                done_to = rows.end_of(chunk, m.start())
                r, values = parse(chunk[start:done_to])
                if r < 2 or len(values) < col or values[col - 1] != text:
                    continue
                out.matches.append(r)
                out.rows[r] = values
                for xml in rows.before(chunk, start, before, tail):
                    pr, pv = parse(xml)
                    if pr > 1:
                        out.rows[pr] = pv
            tail = (tail + rows.before(chunk, len(chunk), keep, []))[-keep:]
        ends = [(r, v) for r, v in map(parse, tail)
                if any(x is not None and x != "" for x in v)]
        out.n_rows = ends[-1][0] if ends else (1 if out.header else 0)
        out.complete = bool(ends) or not tail
        for r, v in ends[-last:] if last else ():
            if r > 1:
                out.rows[r] = v
    out.rows = dict(sorted(out.rows.items()))
    return out


#: rows kept from the end of the sheet to find its last row with content
_TAIL = 8


class _Rows:
    """Row boundaries in a chunk of whole rows."""

    def __init__(self, ns: bytes) -> None:
        self.open = b"<" + ns + b"row"
        self.open_re = re.compile(b"<" + re.escape(ns) + rb"row\b")
        self.close = b"</" + ns + b"row>"

    def next_start(self, chunk: bytes, pos: int) -> int:
        m = self.open_re.search(chunk, pos)
        return -1 if m is None else m.start()

    def _start_before(self, chunk: bytes, pos: int) -> int:
        """Start of the last row tag before ``pos`` (-1: none; ``<rowBreaks`` is not one)."""
        s = chunk.rfind(self.open, 0, pos)
        while s >= 0 and not self.open_re.match(chunk, s):
            s = chunk.rfind(self.open, 0, s)
        return s

    def start_of(self, chunk: bytes, pos: int) -> int:
        s = self._start_before(chunk, pos)
        if s < 0:
            raise XlsxError("工作表格式错误（单元格不在行中），文件可能已损坏。")
        return s

    def end_of(self, chunk: bytes, pos: int) -> int:
        e = chunk.find(self.close, pos)
        if e < 0:  # <row .../> without cells
            e = chunk.find(b"/>", pos)
            return len(chunk) if e < 0 else e + 2
        return e + len(self.close)

    def before(self, chunk: bytes, start: int, k: int, tail: list[bytes]) -> list[bytes]:
        """Up to ``k`` rows (XML, oldest first) ending at ``start``: from this chunk, then
        from ``tail`` (the last rows of the chunks before)."""
        got: list[bytes] = []
        end = start
        while len(got) < k and end > 0:
            s = self._start_before(chunk, end)
            if s < 0:
                break
            got.append(chunk[s:end])
            end = s
        got.reverse()
        if len(got) < k and tail:
            got = tail[-(k - len(got)):] + got
        return got


class _Unnumbered(Exception):
    """A row without its ``r`` attribute: it cannot be placed on its own."""


def _parse_row(ctx: CellContext, ns: bytes, xml: bytes, sheet: str) -> tuple[int, list[Value]]:
    """(row number, values from column A) of one ``<row>`` element."""
    m = ROW_R_RE.search(xml[: xml.find(b">") + 1])
    if m is None:
        raise _Unnumbered
    scan = CellScan(ctx, ns)
    scan.sheet = sheet
    scan.slow(xml)
    r = int(m.group(1))
    if r == 1:
        return 1, [scan.header.get(c) for c in range(1, scan.ncols + 1)]
    values = [lst[r - 2] if len(lst) > r - 2 else None for lst in scan.columns]
    return r, values


__all__ = ["FoundRows", "find_rows", "find_rows_book", "find_rows_zip"]
