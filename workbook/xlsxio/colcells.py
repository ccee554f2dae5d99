"""Cells built a column at a time for the column-wise patch (``colpatch``): the cells of an
edited column (``cells``: texts escaped in one go, their tails kept across pieces) and the
rows created below the last one (``new_rows``)."""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from itertools import compress, repeat
from operator import is_not, itemgetter
from typing import Any

import numpy as np

from .cells import CellWriter
from .rowpatch import RowPatcher
from .sheetxml import col_letter
from .xmltext import escape_text


def _objects(items: list) -> np.ndarray:
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr


def new_rows(pt: RowPatcher, rows: list[int]) -> bytes | None:
    """The rows created below the last one (``_new_row`` of each), a column at a time; None
    when ``SheetEdit.cells`` has one of them (then row by row)."""
    if not rows or rows[0] < 2 or pt.edits.cells_between(rows[0], rows[-1]):
        return None
    e, w = pt.edits, pt.w
    n = len(rows)
    ra = np.array(rows, np.int64)
    digits = [str(r).encode() for r in rows]
    body = np.full(n, b"", dtype=object)
    jobs = []
    for c in sorted(e.columns):
        seq = e.column_list(c)
        ok = ra - 2 < len(seq)
        idx = np.flatnonzero(ok)
        if not len(idx):
            continue
        vals = list(map(seq.__getitem__, (ra[idx] - 2).tolist()))
        keep = np.fromiter(map(is_not, vals, repeat(e.keep)), bool, len(vals))
        idx = idx[keep]
        if not len(idx):
            continue
        vals = list(compress(vals, keep.tolist()))
        style = pt.new_style(rows[int(idx[0])], c)  # the same for every created row
        jobs.append((c, idx, vals, -1 if style is None else style))
    # new date styles in the order the per-row code meets them (row by row)
    first: dict[int, tuple[int, int]] = {}
    for c, idx, vals, style in jobs:
        if not w.styles.is_date(None if style < 0 else style):
            for k, v in enumerate(vals):
                if isinstance(v, dt.date):
                    first.setdefault(style, (int(idx[k]), c))
                    first[style] = min(first[style], (int(idx[k]), c))
                    break
    for style, _ in sorted(first.items(), key=itemgetter(1)):
        w.styles.date_xf(None if style < 0 else style)
    for c, idx, vals, style in jobs:
        made = _objects(cells(w, col_letter(c).encode(), [digits[i] for i in idx.tolist()],
                              [style] * len(vals), vals))
        body[idx] = body[idx] + made
    head = b"<" + pt.ns + b'row r="'
    end = b"</" + pt.ns + b"row>"
    return b"".join(head + digits[i] + b'">' + body[i] + end
                    for i in np.flatnonzero(body != b"").tolist())


# ----------------------------------------------------------------------------- cells


def cells(w: CellWriter, letters: bytes, digits: list[bytes], styles: list[int],
          values: list) -> list[bytes]:
    """``w.cell(letters + digit, style, value)`` for each cell of a column (style -1 = none),
    the texts escaped in one go."""
    head = b'<c r="' + letters
    tails: dict[Any, Any] = w._tails  # ((text, style): bytes after the ref; -1: no style)
    kinds = set(map(type, values))
    if kinds == {str}:  # texts only (the common case): no loop in Python
        got = _text_tails(w, styles, values)
        # each cell head + digits + '"' + tail, joined at once and cut at the NULs (none in
        # escaped texts)
        parts: list[bytes] = [head, b"", b'"', b"", b"\x00"] * len(got)
        parts[1::5] = digits
        parts[3::5] = got
        out = b"".join(parts).split(b"\x00")
        out.pop()
        if not all(got):  # an empty text without style: no cell
            for i in compress(range(len(got)), map(operator.not_, got)):
                out[i] = b""
        return out
    new: dict[Any, Any] = {}
    for v, s in zip(values, styles, strict=True):
        if type(v) is str and (v, s) not in tails and (v, s) not in new:
            new[(v, s)] = None
    if new:
        _fill_tails(w, new)
        if len(tails) + len(new) <= 10000:  # repeated labels stay known across pieces
            tails.update(new)
    out = []
    app = out.append
    for d, s, v in zip(digits, styles, values, strict=True):
        if type(v) is str:
            key = (v, s)
            tail = tails.get(key)
            if tail is None:
                tail = new[key]
            app(head + d + b'"' + tail if tail else b"")
        elif type(v) is float and math.isfinite(v):
            sattr = b"" if s < 0 else b' s="' + str(s).encode() + b'"'
            if v.is_integer() and abs(v) < 1e15:
                num = str(int(v)).encode()
            else:
                num = repr(v).encode()
            app(head + d + b'"' + sattr + b"><v>" + num + b"</v></c>")
        else:
            app(w.cell(letters + d, None if s < 0 else s, v))
    return out


def _text_tails(w: CellWriter, styles: list[int], values: list[str]) -> list[bytes]:
    """What ``w.cell`` puts after ``<c r="REF"`` for each text (b"": no cell), through the
    cache of repeated labels (``w._tails``) unless every text differs."""
    tails: dict[Any, Any] = w._tails  # ((text, style): bytes after the ref; -1: no style)
    one = styles[0] if len(set(styles)) == 1 else None
    # the distinct (text, style) of the column (one style: each text with it)
    keys: list[Any] = values if one is not None else list(zip(values, styles, strict=True))
    known: dict[Any, Any] = dict.fromkeys(keys)
    if one is not None and len(known) == len(values):  # every text differs (reasons...)
        return _str_tails(w, values, [one] * len(values))
    pairs = list(zip(known, repeat(one))) if one is not None else list(known)
    new: dict[Any, Any] = {k: None for k in pairs if k not in tails}
    if new:
        _fill_tails(w, new)
    for k, p in zip(known, pairs, strict=True):
        known[k] = new[p] if p in new else tails[p]
    if new and len(tails) + len(new) <= 10000:  # repeated labels stay known across pieces
        tails.update(new)
    return list(map(known.__getitem__, keys))


def _fill_tails(w: CellWriter, new: dict) -> None:
    """``_str_tails`` of the (text, style) keys of ``new``, as their values."""
    keys = list(new)
    new.update(zip(keys, _str_tails(w, [k[0] for k in keys], [k[1] for k in keys]),
                   strict=True))


def _str_tails(w: CellWriter, texts: list[str], styles: list[int]) -> list[bytes]:
    """What ``w.cell`` puts after ``<c r="REF"`` for each text with its style (-1: none)."""
    blob = "\n".join(texts)
    if blob.count("\n") != len(texts) - 1:  # a text with a line break: one by one
        return [_one_tail(w, k) for k in zip(texts, styles, strict=True)]
    style = set(styles)
    plain = _plain_tails(texts, style.pop(), blob) if len(style) == 1 else None
    if plain is not None:
        return plain
    esc = escape_text(blob).split("\n")  # escaping is per character: same as one by one
    out = []
    for v, s, t in zip(texts, styles, esc, strict=True):
        sattr = "" if s < 0 else f' s="{s}"'
        if not v:
            out.append(f"{sattr}/>" if sattr else "")
            continue
        sp = ' xml:space="preserve"' if t != t.strip() else ""
        out.append(f'{sattr} t="inlineStr"><is><t{sp}>{t}</t></is></c>')
    return "\x00".join(out).encode().split(b"\x00")  # escaped texts hold no NUL


_CTRL = bytes(c for c in range(32) if c not in (9, 10))  # (escape_text's, as UTF-8 bytes)
_SPACE = re.compile(r"\s")  # (what str.strip() strips)


def _plain_tails(texts: list[str], s: int, blob: str) -> list[bytes] | None:
    """``_str_tails`` of texts (joined by line breaks in ``blob``, none holding one) of style
    ``s`` that are not empty, neither begin nor end with a space and hold nothing
    ``escape_text`` writes as _xHHHH_ or replaces: escaped and wrapped in one go, as bytes;
    else None."""
    if "_x" in blob:
        return None
    firsts, lasts = "".join([t[:1] for t in texts]), "".join([t[-1:] for t in texts])
    if len(firsts) != len(texts) or _SPACE.search(firsts) or _SPACE.search(lasts):
        return None
    try:
        b = blob.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return None
    if len(b.translate(None, _CTRL)) != len(b) or b"\xef\xbf\xbe" in b or b"\xef\xbf\xbf" in b:
        return None  # control characters, U+FFFE, U+FFFF
    b = b.replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;")
    head = (b"" if s < 0 else b' s="%d"' % s) + b' t="inlineStr"><is><t>'
    end = b"</t></is></c>"
    return (head + b.replace(b"\n", end + b"\n" + head) + end).split(b"\n")


def _one_tail(w: CellWriter, key: tuple[str, int]) -> bytes:
    v, s = key
    x = w._cell(b"", None if s < 0 else s, v)
    return x[len(b'<c r=""'):] if x else b""
