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
import threading
import zipfile
from collections.abc import Iterator
from xml.sax.saxutils import unescape

from .audit import Complex, calls_ours, parse, plain_form, relative
from .xlsxio import col_index
from .xlsxio.inflate import EntryReader
from .xlsxio.package import read_workbook_info

_CELL_F = re.compile(
    rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
_HAS_F = re.compile(rb"<(?:\w+:)?f[\s>/]")
_REF = re.compile(rb'\sr="\$?([A-Za-z]{1,3})\$?(\d+)"')
_ATTR = re.compile(rb'\s(t|si)="([^"]*)"')
_ENTITIES = {"&quot;": '"', "&apos;": "'"}
_CHUNK = 1 << 22
#: a formula cell in the plain form (groups: column letters, row number, the formula)
_PLAIN_F = re.compile(rb'<c r="([A-Z]{1,3})([0-9]+)"[^>]*><f>([^<]*)</f>')
_ANY_F = re.compile(rb"<f[\s>/]")
#: (``b"<f" in text``, ``b":f" in text``, ``b":f>" in … or b":f " in … or b":f/" in …``: several
#: times faster on text without them)
_COLON_F = re.compile(rb":f")
_LT_F = re.compile(rb"<f")
_NS_F = re.compile(rb":f[ >/]")


def _may_have_formula(text: bytes) -> bool:
    """Whether ``text`` may hold a formula element (``<f``, or ``<x:f`` with a prefix)."""
    return bool(_LT_F.search(text) or _COLON_F.search(text))


def _chunks(zf: zipfile.ZipFile, part: str) -> Iterator[bytes]:
    """A worksheet part in pieces of whole cells (cut before a ``<c``) that may hold a
    formula (a piece without ``<f`` nor ``:f`` is not given). Inflated in a thread by
    ``EntryReader`` (zlib-ng where installed) in blocks of ``_CHUNK``: the pieces are those
    ``zf.open(part).read(_CHUNK)`` gives."""
    buf = b""
    f = EntryReader(zf, part, _CHUNK)
    try:
        while True:
            chunk = f.read()
            buf += chunk
            if chunk:
                cut = buf.rfind(b"<c ")
                if cut <= 0:
                    continue
                head, buf = buf[:cut], buf[cut:]
            else:
                head, buf = buf, b""
            if _may_have_formula(head):
                yield head
            if not chunk:
                return
    finally:
        f.close()


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


#: at most this many formulas (column, formula) in ``_Sheet._all_known``'s pattern
_KNOWN_MAX = 32


def _known_pattern(seen: set[tuple[bytes, bytes]]) -> re.Pattern[bytes]:
    """A cell ``<c r="…">`` of column ``letters`` in the plain form whose formula is ``key``
    with the cell's row number at each blank, for each (letters, key) of ``seen``."""
    alts = []
    for k, (letters, key) in enumerate(sorted(seen)):
        row = b"(?P=r%d)" % k
        body = row.join(re.escape(piece) for piece in key.split(b"\0"))
        alts.append(b'<c r="' + re.escape(letters) + b'(?P<r%d>[0-9]+)"[^>]*><f>' % k + body
                    + b"</f>")
    return re.compile(b"|".join(alts))


class _Sheet:
    """The formulas of the clients' sheet judged piece by piece: the plain form (``<c r="A1"
    …><f>…</f>``, what XlsxWriter, the template and the job write) in bulk -- each distinct
    formula of a column, its row number blanked, judged once --, anything else cell by cell."""

    def __init__(self, name: str, written: set[int]) -> None:
        self.name, self.written = name, written
        self.shared: dict[bytes, tuple[bool, int]] = {}  # si -> (harmless, master column)
        self.last: dict[int, tuple[str, bool]] = {}
        self.raw: dict[int, bytes] = {}  # column -> last harmless formula, row number blanked
        self.cols: dict[bytes, int] = {}
        self.seen: set[tuple[bytes, bytes]] = set()  # (letters, formula blanked): harmless
        self.orphan = False  # the verdict came from a shared formula whose master was not seen
        self._known: re.Pattern[bytes] | None = None  # ``seen`` as one pattern (``_all_known``)
        self._known_n = 0

    def needs(self, head: bytes) -> bool:
        """Whether a formula of the piece may read a cell the run wrote."""
        fast = self._plain(head)
        return self._cells(head) if fast is None else fast

    def _col(self, letters: bytes) -> int:
        col = self.cols.get(letters)
        if col is None:
            col = self.cols[letters] = col_index(letters.decode().upper())
        return col

    def _plain(self, head: bytes) -> bool | None:
        """The piece when every formula in it has the plain form, no entity and no sheet
        name; None otherwise (then cell by cell)."""
        if self._all_known(head):
            return False
        if _NS_F.search(head):
            return None
        found = _PLAIN_F.findall(head)
        if len(found) != len(_ANY_F.findall(head)):
            return None
        if not found:
            return False
        blob = b"\n".join([f[2] for f in found])
        if b"&" in blob or blob.count(b"!") != blob.count(b"]!"):
            return None
        # (letters, formula with its row number blanked) -> (row number, formula)
        pairs = {(lt, body.replace(rowb, b"\0")): (rowb, body) for lt, rowb, body in found}
        for pair in pairs.keys() - self.seen:
            rowb, body = pairs[pair]
            if not body.strip():
                return True  # an empty formula of no shared formula
            if not _harmless(body.decode("utf-8"), int(rowb), self._col(pair[0]), self.name,
                             self.written, self.last):
                return True
            self.seen.add(pair)
        return False

    def _all_known(self, head: bytes) -> bool:
        """Whether every formula of the piece is a plain-form cell of a column whose formula,
        its row number blanked, was judged harmless (``seen``) -- the formula of that column
        with the cell's own row number where the number was blanked: the common case (one
        formula down a column), found by one substitution over the piece instead of a tuple
        per cell. (Such a cell differs from the one judged only in its own row number where
        that one had its own: the same relative formula, the same verdict.)"""
        if not self.seen or len(self.seen) > _KNOWN_MAX or _COLON_F.search(head):
            return False
        if self._known is None or self._known_n != len(self.seen):
            self._known, self._known_n = _known_pattern(self.seen), len(self.seen)
        return not _LT_F.search(self._known.sub(b"", head))

    def _cells(self, head: bytes) -> bool:
        """Cell by cell (shared formulas, entities, other forms)."""
        for m in _CELL_F.finditer(head):
            ref = _REF.search(m.group(1))
            if ref is None:
                return True
            letters, rowb = ref.group(1), ref.group(2)
            col = self._col(letters)
            body = m.group(3)
            fattrs = m.group(2)
            if body and not fattrs.strip() and b"&" not in body \
                    and body.count(b"!") == body.count(b"]!"):  # (no sheet named)
                key = body.replace(rowb, b"\0")  # a column of one formula: seen already
                if self.raw.get(col) == key:
                    continue
            else:
                key = None
            row = int(rowb)
            attrs = dict(_ATTR.findall(fattrs))
            if body is None or not body.strip():
                si = attrs.get(b"si")
                if attrs.get(b"t") != b"shared" or si not in self.shared:
                    self.orphan = attrs.get(b"t") == b"shared"  # (its master not seen)
                    return True
                ok, master_col = self.shared[si]
                if not ok or master_col != col:  # (another column reads other columns)
                    return True
                continue
            text = unescape(body.decode("utf-8"), _ENTITIES)
            ok = _harmless(text, row, col, self.name, self.written, self.last)
            if attrs.get(b"t") == b"shared" and b"si" in attrs:
                self.shared[attrs[b"si"]] = (ok, col)
            if not ok:
                return True
            if key is not None:
                self.raw[col] = key
        return False


def needs_full_recalc(path: str | os.PathLike[str], sheet: str, written: set[int]) -> bool:
    """Whether some formula of the file may read a cell the run wrote: ``written`` the columns
    of ``sheet`` (客户) it wrote; every other sheet it wrote (变更记录, 汇总) is covered by the
    rule that a formula off ``sheet`` always counts. Unreadable formulas count too."""
    return _needs(path, sheet, written, others=True, client=True)


def _needs(path: str | os.PathLike[str], sheet: str, written: set[int], *, others: bool,
           client: bool, stop: threading.Event | None = None) -> bool:
    """``needs_full_recalc`` over the clients' sheet and/or the others (``stop``: give up,
    saying False)."""
    with zipfile.ZipFile(path) as zf:
        info = read_workbook_info(zf)
        names = set(zf.namelist())
        for s in info.sheets:
            wanted = client if s.name == sheet else others
            if s.part not in names or not wanted:
                continue
            judge = _Sheet(s.name, written) if s.name == sheet else None
            for head in _chunks(zf, s.part):
                if stop is not None and stop.is_set():
                    return False
                if judge is None:
                    if _HAS_F.search(head) and _CELL_F.search(head):
                        return True
                elif judge.needs(head):
                    return True
    return False


class _Reads(set):
    """``written`` for ``profile``: no column written, but every column asked about noted."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[int] = set()

    def __contains__(self, c: object) -> bool:
        self.asked.add(c)  # type: ignore[arg-type]
        return False


#: ``profile``'s answer: (some formula needs a full recalculation whatever the run writes,
#: the columns of the clients' sheet the other formulas read)
Profile = tuple[bool, frozenset[int]]


def profile(path: str | os.PathLike[str], sheet: str) -> Profile:
    """``needs_full_recalc`` for any set of written columns, judged before that set is known:
    the judge run as if nothing were written, noting the columns of ``sheet`` its formulas
    read (``_Reads``); ``needs_full_recalc(path, sheet, written)`` is then
    ``verdict(profile(path, sheet), written)``. (Whether a formula is harmless depends on
    ``written`` only through ``c in written`` for the columns it reads: while no formula
    reads a written column, the judge takes the same path, skipping and remembering the same
    formulas, whatever ``written`` is; and a formula harmful with nothing written is harmful
    with anything written.)"""
    asked = _Reads()
    if _needs(path, sheet, asked, others=True, client=True):
        return True, frozenset()
    return False, frozenset(asked.asked)


def verdict(found: Profile, written: set[int]) -> bool:
    """``needs_full_recalc``'s verdict from ``profile``'s answer and the columns written."""
    return found[0] or not found[1].isdisjoint(written)


class RecalcCheck:
    """``needs_full_recalc``'s verdict reached while ``patch_workbook`` writes the file (its
    ``recalc_on_open``), off the save's critical path: the clients' sheet is judged from the
    text the patch inflates anyway (``feed``, by each process patching a share of it), the
    other sheets in a thread (inflating releases the GIL) started when the patch of the
    clients' sheet begins. A share that did not see the sheet's start and met a shared
    formula whose master it lacks is unsure: then the sheet is judged again here, alone."""

    def __init__(self, path: str | os.PathLike[str], sheet: str, written: set[int]) -> None:
        self.path, self.sheet, self.written = path, sheet, written
        self.judge = _Sheet(sheet, written)
        self.found = self.unsure = self.fed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._others: list[bool | BaseException] = []

    def feed(self, text: bytes) -> None:
        """A piece of whole cells of the clients' sheet, in order from the share's start."""
        self.fed = True
        if not self.found and _may_have_formula(text) and self.judge.needs(text):
            self.found = True

    def share_result(self) -> tuple[bool, bool]:
        """(formula found, but maybe only for want of a shared formula's master)."""
        return self.found, self.judge.orphan

    def add_share(self, found: bool, orphan: bool) -> None:
        """What a share judged in another process said (``share_result``)."""
        if found and orphan:
            self.unsure = True
        elif found:
            self.found = True

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="recalc-check", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self._others.append(_needs(self.path, self.sheet, self.written, others=True,
                                       client=False, stop=self._stop))
        except BaseException as exc:  # handed to verdict()
            self._others.append(exc)

    def verdict(self) -> bool:
        self.start()
        if self.found:
            self.close()
            return True
        if (self.unsure or not self.fed) and _needs(self.path, self.sheet, self.written,
                                                    others=False, client=True):
            self.close()
            return True
        assert self._thread is not None
        self._thread.join()
        got = self._others[0]
        if isinstance(got, BaseException):
            raise got
        return got

    def close(self) -> None:
        """Stop the other sheets' thread (the verdict is no longer needed)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
