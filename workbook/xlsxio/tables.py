"""Excel Tables (ListObjects, ``xl/tables/tableN.xml``) that grow by the columns a patch adds.

A sheet whose data is an Excel Table keeps its rows together when sorted or filtered only
inside the table: columns added just right of it must join it, or sorting in Excel misaligns
them. :func:`extend_tables` rewrites the table part of each table whose right edge the new
columns continue (header row 1, no gap): the ``ref`` of ``<table>`` and of its
``<autoFilter>``, one ``<tableColumn id= name=>`` per new column (ids after the largest, names
the new headers) and ``<tableColumns count=>``. Everything else of the part (styles, filters,
sort state, Excel's extensions) is kept byte for byte. A table is left as it is where a new
header is already one of its column names (Excel needs them unique, compared case-insensitively)
or it has no header row.
"""

from __future__ import annotations

import re
import zipfile

from .package import read_rels, read_xml_part
from .sheetxml import col_index, col_letter
from .xmltext import escape_attr, unescape_attr

_REF = re.compile(rb"([A-Z]{1,3})([0-9]+)(?::([A-Z]{1,3})([0-9]+))?")


def _start_tag(xml: bytes, local: bytes) -> re.Match[bytes] | None:
    return re.search(rb"<(\w+:)?" + local + rb"\b[^>]*>", xml)


def _attr(tag: bytes, name: bytes) -> bytes | None:
    m = re.search(rb"\s" + name + rb'="([^"]*)"', tag)
    return m.group(1) if m else None


def _set_attr(tag: bytes, name: bytes, value: bytes) -> bytes:
    return re.sub(rb"(\s" + name + rb'=")[^"]*(")', lambda m: m.group(1) + value + m.group(2),
                  tag, count=1)


def extend_table(xml: bytes, new_columns: dict[int, str]) -> bytes | None:
    """The table part with ``new_columns`` (column -> header) added, or None where the table
    does not end just left of them (or cannot take them)."""
    root = _start_tag(xml, b"table")
    if root is None:
        return None
    ref = _attr(root.group(0), b"ref")
    m = _REF.fullmatch(ref or b"")
    if m is None or m.group(3) is None:
        return None
    c1, r1, c2, r2 = col_index(m.group(1).decode()), int(m.group(2)), \
        col_index(m.group(3).decode()), int(m.group(4))
    cols = sorted(new_columns)
    if (r1 != 1 or cols[0] != c2 + 1 or cols != list(range(cols[0], cols[0] + len(cols)))
            or _attr(root.group(0), b"headerRowCount") == b"0"):
        return None
    tc = re.search(rb"<(\w+:)?tableColumns\b[^>]*>(.*?)</(?:\w+:)?tableColumns>", xml, re.S)
    if tc is None:
        return None
    prefix = tc.group(1) or b""
    ids = [int(x) for x in re.findall(rb'<(?:\w+:)?tableColumn\b[^>]*?\sid="([0-9]+)"',
                                      tc.group(2))]
    names = {unescape_attr(x).casefold() for x in
             re.findall(rb'<(?:\w+:)?tableColumn\b[^>]*?\sname="([^"]*)"', tc.group(2))}
    wanted = [new_columns[c] for c in cols]
    folded = [n.casefold() for n in wanted]
    if names & set(folded) or len(set(folded)) != len(folded) or not all(wanted):
        return None
    new_ref = f"{col_letter(c1)}{r1}:{col_letter(cols[-1])}{r2}".encode()
    nid = max(ids, default=0)
    items = b"".join(b"<" + prefix + b'tableColumn id="' + str(nid + k).encode() + b'" name="'
                     + escape_attr(name).encode() + b'"/>' for k, name in enumerate(wanted, 1))
    open_tag = tc.group(0)[:tc.start(2) - tc.start(0)]
    count = _attr(open_tag, b"count")
    if count is not None:
        open_tag = _set_attr(open_tag, b"count", str(int(count) + len(wanted)).encode())
    close = tc.group(0)[tc.end(2) - tc.start(0):]
    out = xml[:tc.start(0)] + open_tag + tc.group(2) + items + close + xml[tc.end(0):]
    # the table's ref, then its own autoFilter's (the one before tableColumns)
    root = _start_tag(out, b"table")
    assert root is not None
    out = out[:root.start()] + _set_attr(root.group(0), b"ref", new_ref) + out[root.end():]
    af = _start_tag(out, b"autoFilter")
    tc_at = _start_tag(out, b"tableColumns")
    if af is not None and tc_at is not None and af.start() < tc_at.start():
        old = _REF.fullmatch(_attr(af.group(0), b"ref") or b"")
        if old is not None and old.group(3) is not None:
            af_ref = f"{old.group(1).decode()}{old.group(2).decode()}:{col_letter(cols[-1])}" \
                     f"{old.group(4).decode()}".encode()
            out = out[:af.start()] + _set_attr(af.group(0), b"ref", af_ref) + out[af.end():]
    return out


def extend_tables(zf: zipfile.ZipFile, names: set[str], sheet_part: str,
                  new_columns: dict[int, str]) -> dict[str, bytes]:
    """table part -> its new XML, for each table of ``sheet_part`` the new columns extend."""
    if not new_columns:
        return {}
    out: dict[str, bytes] = {}
    for rel in read_rels(zf, sheet_part, names):
        if rel.external or not rel.type.endswith("/table") or rel.target not in names:
            continue
        got = extend_table(read_xml_part(zf, rel.target), new_columns)
        if got is not None:
            out[rel.target] = got
    return out
