"""Minimal, text-level additions to styles.xml: a date variant or a bold variant of a cell xf.

Only appends to <cellXfs> / <fonts> (and updates their counts); everything else in the part
is left byte for byte.
"""

from __future__ import annotations

import re
import zipfile

from .package import date_styles, read_xml_part

DATE_NUMFMT = 14  # built-in short date (locale dependent: 2026/1/5 in zh-CN)


def _section(ns: bytes, tag: bytes) -> re.Pattern[bytes]:
    p = re.escape(ns)
    return re.compile(
        b"(<" + p + tag + rb"\b[^>]*?)(/>|>(.*?)</" + p + tag + b">)", re.S
    )


def _set_attr(elem: bytes, name: bytes, value: bytes) -> bytes:
    pat = re.compile(rb"(\s" + name + rb')="[^"]*"')
    if pat.search(elem):
        return pat.sub(rb'\1="' + value + b'"', elem, count=1)
    m = re.match(rb"<[\w:]+", elem)
    assert m is not None
    return elem[: m.end()] + b" " + name + b'="' + value + b'"' + elem[m.end() :]


class StylesEditor:
    def __init__(self, zf: zipfile.ZipFile, part: str | None) -> None:
        self.part = part
        self.modified = False
        self.date_flags: list[bool] = date_styles(zf, part) if part else []
        self._date_cache: dict[int | None, int | None] = {}
        self._bold_cache: dict[int | None, int | None] = {}
        if part is None:
            self.data = b""
            return
        self.data = read_xml_part(zf, part)
        m = re.search(rb"<(\w+:)?styleSheet\b", self.data)
        self.ns = (m.group(1) or b"") if m else b""
        self.xf_re = re.compile(
            b"<" + re.escape(self.ns) + rb"xf\b[^>]*?(?:/>|>.*?</" + re.escape(self.ns) + b"xf>)",
            re.S,
        )
        self.font_re = re.compile(
            b"<" + re.escape(self.ns) + rb"font\b[^>]*?(?:/>|>.*?</"
            + re.escape(self.ns) + b"font>)",
            re.S,
        )

    def is_date(self, s: int | None) -> bool:
        return s is not None and 0 <= s < len(self.date_flags) and self.date_flags[s]

    def _items(self, tag: bytes, item_re: re.Pattern[bytes]) -> tuple[re.Match[bytes], list]:
        m = _section(self.ns, tag).search(self.data)
        if m is None or m.group(3) is None:
            raise LookupError(tag)
        return m, item_re.findall(m.group(3))

    def _append(self, tag: bytes, item_re: re.Pattern[bytes], item: bytes) -> int:
        m, items = self._items(tag, item_re)
        idx = len(items)
        open_tag = _set_attr(m.group(1) + b">", b"count", str(idx + 1).encode())
        close = b"</" + self.ns + tag + b">"
        new = open_tag + m.group(3) + item + close
        self.data = self.data[: m.start()] + new + self.data[m.end() :]
        self.modified = True
        return idx

    def date_xf(self, base: int | None) -> int | None:
        """Index of a cell xf like ``base`` but with a date number format."""
        if self.part is None:
            return None
        if self.is_date(base):
            return base
        if base in self._date_cache:
            return self._date_cache[base]
        try:
            _, xfs = self._items(b"cellXfs", self.xf_re)
            src = xfs[base] if base is not None and 0 <= base < len(xfs) else xfs[0]
            xf = _set_attr(src, b"numFmtId", str(DATE_NUMFMT).encode())
            xf = _set_attr(xf, b"applyNumberFormat", b"1")
            added = self._append(b"cellXfs", self.xf_re, xf)
        except (LookupError, IndexError):
            self._date_cache[base] = None
            return None
        self.date_flags.extend([False] * (added + 1 - len(self.date_flags)))
        self.date_flags[added] = True
        self._date_cache[base] = added
        return added

    def bold_xf(self, base: int | None) -> int | None:
        """Index of a cell xf like ``base`` but with a bold font."""
        if self.part is None:
            return base
        if base in self._bold_cache:
            return self._bold_cache[base]
        try:
            _, xfs = self._items(b"cellXfs", self.xf_re)
            src = xfs[base] if base is not None and 0 <= base < len(xfs) else xfs[0]
            fm = re.search(rb'fontId="([0-9]+)"', src)
            font_id = int(fm.group(1)) if fm else 0
            _, fonts = self._items(b"fonts", self.font_re)
            font = fonts[font_id]
            if re.search(rb"<" + re.escape(self.ns) + rb"b\s*/>", font):
                return base
            if font.endswith(b"/>"):
                open_end = font[:-2] + b">"
                tag = re.match(rb"<([\w:]+)", font)
                assert tag is not None
                font = open_end + b"<" + self.ns + b"b/></" + tag.group(1) + b">"
            else:
                gt = font.index(b">") + 1
                font = font[:gt] + b"<" + self.ns + b"b/>" + font[gt:]
            new_font = self._append(b"fonts", self.font_re, font)
            xf = _set_attr(src, b"fontId", str(new_font).encode())
            xf = _set_attr(xf, b"applyFont", b"1")
            idx: int | None = self._append(b"cellXfs", self.xf_re, xf)
            if idx is not None:
                flag = self.is_date(base)
                self.date_flags.extend([False] * (idx + 1 - len(self.date_flags)))
                self.date_flags[idx] = flag
        except (LookupError, IndexError, ValueError):
            idx = base
        self._bold_cache[base] = idx
        return idx
