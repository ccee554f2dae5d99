"""Whether a file saved by the headless job must ask Excel to recalculate everything on open.

A run writes values into some columns of 客户 and into 变更记录 and 汇总, outside Excel: cached
values of formulas that read those cells are then stale until Excel recalculates, which
``<calcPr fullCalcOnLoad="1"/>`` asks for. But a full recalculation on open costs one Python
call per cell calling our functions (seconds for 2,000 clients, minutes for 100,000) and turns
every such cell into ``#NAME?`` where the add-in is missing. So the flag is set only when some
formula may read what the run wrote: every formula of every worksheet is looked at (in the
form Excel saved it: ``[1]!CLIENT_TIER(``, ``'path\\client_rating.xlam'!CLIENT_TIER(``,
``_xludf.CLIENT_TIER(``, plain), and only a call of one of our functions on the clients' sheet
whose arguments are cell references of that sheet, in columns the run did not write, or
constants, is known not to need it. Anything else (another function, an operator, a name, a
whole-column reference, a formula on another sheet) counts as needing it.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator
from xml.sax.saxutils import unescape

from .audit import Complex, calls_ours, parse, plain_form, relative
from .xlsxio import col_index
from .xlsxio.package import read_workbook_info

_CELL_F = re.compile(
    rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
_HAS_F = re.compile(rb"<(?:\w+:)?f[\s>/]")
_REF = re.compile(rb'\sr="\$?([A-Za-z]{1,3})\$?(\d+)"')
_ATTR = re.compile(rb'\s(t|si)="([^"]*)"')
_ENTITIES = {"&quot;": '"', "&apos;": "'"}
_CHUNK = 1 << 22


def _cells_with_formulas(zf: zipfile.ZipFile, part: str) -> Iterator[re.Match[bytes]]:
    """Every ``<c …><f …>…</f>`` of a worksheet part, read in chunks (cut before a ``<c``)."""
    buf = b""
    with zf.open(part) as f:
        while True:
            chunk = f.read(_CHUNK)
            buf += chunk
            if chunk:
                cut = buf.rfind(b"<c ")
                if cut <= 0:
                    continue
                head, buf = buf[:cut], buf[cut:]
            else:
                head, buf = buf, b""
            if _HAS_F.search(head):
                yield from _CELL_F.finditer(head)
            if not chunk:
                return


def _harmless(text: str, row: int, col: int, sheet: str, written: set[int],
              last: dict[int, tuple[str, bool]]) -> bool:
    """A call of one of our functions reading only unwritten columns of ``sheet``. ``last``
    keeps, per column, the last formula with its row number blanked out and its verdict: a
    column filled with one formula (``CLIENT_TIER(F7,G7)`` in row 7) is tokenized once. (Only
    formulas naming no sheet: the verdict depends on the columns read, which blanking the row
    number does not change.)"""
    f = plain_form(text)
    key = f.replace(str(row), "\0") if "!" not in f else None
    prev = last.get(col)
    if key is not None and prev is not None and prev[0] == key:
        return prev[1]
    if not calls_ours(f):
        return False
    skeleton, refs = relative(f, row, col)
    try:
        parse(skeleton, refs)
    except Complex:
        return False
    ok = _reads_unwritten(refs, row, col, sheet, written)
    if key is not None:
        last[col] = (key, ok)
    return ok


def _reads_unwritten(refs: tuple, row: int, col: int, sheet: str, written: set[int]) -> bool:
    for ref in refs:
        if ref.sheet is not None and ref.sheet.strip().casefold() != sheet.strip().casefold():
            return False
        _r1, c1, _r2, c2 = ref.at(row, col)
        if any(c in written for c in range(c1, c2 + 1)):
            return False
    return True


def needs_full_recalc(path: str | os.PathLike[str], sheet: str, written: set[int]) -> bool:
    """Whether some formula of the file may read a cell the run wrote: ``written`` the columns
    of ``sheet`` (客户) it wrote; every other sheet it wrote (变更记录, 汇总) is covered by the
    rule that a formula off ``sheet`` always counts. Unreadable formulas count too."""
    with zipfile.ZipFile(path) as zf:
        info = read_workbook_info(zf)
        for s in info.sheets:
            if s.part not in zf.namelist():
                continue
            shared: dict[bytes, tuple[bool, int]] = {}  # si -> (harmless, master column)
            last: dict[int, tuple[str, bool]] = {}
            raw: dict[int, bytes] = {}  # column -> last harmless formula, row number blanked
            cols: dict[bytes, int] = {}
            for m in _cells_with_formulas(zf, s.part):
                if s.name != sheet:
                    return True
                ref = _REF.search(m.group(1))
                if ref is None:
                    return True
                letters, rowb = ref.group(1), ref.group(2)
                col = cols.get(letters)
                if col is None:
                    col = cols[letters] = col_index(letters.decode().upper())
                body = m.group(3)
                fattrs = m.group(2)
                if body and not fattrs.strip() and b"&" not in body \
                        and body.count(b"!") == body.count(b"]!"):  # (no sheet named)
                    key = body.replace(rowb, b"\0")  # a column of one formula: seen already
                    if raw.get(col) == key:
                        continue
                else:
                    key = None
                row = int(rowb)
                attrs = dict(_ATTR.findall(fattrs))
                if body is None or not body.strip():
                    si = attrs.get(b"si")
                    if attrs.get(b"t") != b"shared" or si not in shared:
                        return True
                    ok, master_col = shared[si]
                    if not ok or master_col != col:  # (another column reads other columns)
                        return True
                    continue
                text = unescape(body.decode("utf-8"), _ENTITIES)
                ok = _harmless(text, row, col, s.name, written, last)
                if attrs.get(b"t") == b"shared" and b"si" in attrs:
                    shared[attrs[b"si"]] = (ok, col)
                if not ok:
                    return True
                if key is not None:
                    raw[col] = key
    return False
