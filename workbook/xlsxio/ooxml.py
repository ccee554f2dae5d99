"""The two spellings of Office Open XML: transitional (``schemas.openxmlformats.org``) and
Strict (ISO/IEC 29500 Strict, Excel's "Strict Open XML Spreadsheet": ``purl.oclc.org/ooxml``).

Every place of the file layer that matches a namespace or a relationship type asks this module,
so both spellings are read; parts we create in a Strict package are written in Strict
(:func:`to_strict`). The package layer itself (``[Content_Types].xml``, ``.rels``, core
properties) is the same in both.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_MAIN_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"

#: Namespace URIs of the parts we write, transitional -> Strict (longest first: the
#: relationship namespace is a prefix of the relationship types).
_TO_STRICT = (
    ("http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
     "http://purl.oclc.org/ooxml/drawingml/spreadsheetDrawing"),
    ("http://schemas.openxmlformats.org/drawingml/2006/chart",
     "http://purl.oclc.org/ooxml/drawingml/chart"),
    ("http://schemas.openxmlformats.org/drawingml/2006/main",
     "http://purl.oclc.org/ooxml/drawingml/main"),
    (MAIN_NS, STRICT_MAIN_NS),
    (REL_NS, STRICT_REL_NS),
)


def rel_id(el: Element) -> str:
    """The ``r:id`` attribute of an element in either spelling ('' if none)."""
    return el.get(f"{{{REL_NS}}}id") or el.get(f"{{{STRICT_REL_NS}}}id") or ""


def rel_type_is(rel_type: str | bytes, kind: str) -> bool:
    """Whether a relationship type is ``kind`` (e.g. ``"worksheet"``) of the office document
    relationships, transitional or Strict."""
    if isinstance(rel_type, bytes):
        rel_type = rel_type.decode("utf-8", "replace")
    return rel_type in (f"{REL_NS}/{kind}", f"{STRICT_REL_NS}/{kind}")


def is_strict_root(tag: str) -> bool:
    """Whether a parsed root tag (``{ns}workbook``) is in the Strict spreadsheet namespace."""
    return tag.startswith("{" + STRICT_MAIN_NS + "}")


def rel_type(kind: str, strict: bool) -> str:
    return f"{STRICT_REL_NS if strict else REL_NS}/{kind}"


def rel_ns(strict: bool) -> str:
    return STRICT_REL_NS if strict else REL_NS


def rel_prefix(xml: bytes) -> bytes | None:
    """The prefix bound to the relationships namespace (either spelling) in a part, or None."""
    m = re.search(rb'xmlns:(\w+)="(?:' + re.escape(REL_NS.encode()) + b"|"
                  + re.escape(STRICT_REL_NS.encode()) + b')"', xml)
    return m.group(1) if m else None


def to_strict(xml: bytes) -> bytes:
    """A part we generate (written in transitional) respelled in Strict namespaces."""
    for old, new in _TO_STRICT:
        xml = xml.replace(old.encode(), new.encode())
    return xml
