"""Escaping and unescaping of SpreadsheetML text (XML entities and the ``_xHHHH_`` escapes)."""

from __future__ import annotations

import re

_ENTITY_RE = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
_XESC_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _entity(m: re.Match[str]) -> str:
    g = m.group(1)
    if g[0] == "#":
        code = int(g[2:], 16) if g[1] in "xX" else int(g[1:])
        return chr(code)
    return _NAMED[g]


def _xesc(m: re.Match[str]) -> str:
    return chr(int(m.group(1), 16))


def unescape(raw: bytes) -> str:
    """Text content of an element (bytes as found between tags) -> str."""
    s = raw.decode("utf-8")
    if "&" in s:
        s = _ENTITY_RE.sub(_entity, s)
    if "_x" in s:
        s = _XESC_RE.sub(_xesc, s)
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    return s


def unescape_attr(raw: bytes) -> str:
    s = raw.decode("utf-8")
    if "&" in s:
        s = _ENTITY_RE.sub(_entity, s)
    return s


# Characters XML 1.0 does not allow, plus \r (which an XML parser would turn into \n): written
# as Excel does, _xHHHH_. A literal "_xHHHH_" in the text is protected as _x005F_xHHHH_.
CTRL_RE = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]")
SURROGATE_RE = re.compile("[\ud800-\udfff]")


def escape_text(s: str) -> str:
    """str -> element text for <t> (XML-escaped, control characters as _xHHHH_)."""
    if "_x" in s:
        s = _XESC_RE.sub(lambda m: "_x005F" + m.group(0), s)
    if CTRL_RE.search(s):
        s = CTRL_RE.sub(lambda m: f"_x{ord(m.group(0)):04X}_", s)
    if SURROGATE_RE.search(s):
        s = SURROGATE_RE.sub("\ufffd", s)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attr(s: str) -> str:
    s = CTRL_RE.sub("", s)
    return (
        s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
