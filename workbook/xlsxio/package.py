"""The package structure of a workbook: sheets and their parts, styles, shared strings."""

from __future__ import annotations

import contextlib
import functools
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from .errors import UnsafeWorkbookError, XlsxError
from .ooxml import CT_NS as CT_NS
from .ooxml import PKG_REL_NS as PKG_REL_NS
from .ooxml import REL_NS as REL_NS
from .ooxml import is_strict_root, rel_id, rel_type_is
from .safety import check_xml_prolog
from .xmltext import unescape

# relationship kinds (transitional or Strict: ooxml.rel_type_is)
T_OFFICE_DOC = "officeDocument"
T_WORKSHEET = "worksheet"
T_SST = "sharedStrings"
T_STYLES = "styles"
T_CALCCHAIN = "calcChain"

# Built-in number formats that are dates in East-Asian locales (zh-CN: 年/月/日, 时/分).
_CJK_DATE_IDS = set(range(27, 37)) | set(range(50, 59))


@functools.cache
def _builtin_date_ids() -> frozenset[int]:
    """The built-in number formats that are dates (openpyxl's table, imported when a
    workbook's styles are first read: not by a table run, which reads no workbook)."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

    return frozenset({k for k, v in BUILTIN_FORMATS.items() if is_date_format(v)}
                     | _CJK_DATE_IDS)


def read_xml_part(zf: zipfile.ZipFile, name: str) -> bytes:
    data = zf.read(name)
    check_utf8(data[:4], name)
    check_xml_prolog(data[:4096], name)
    return data


def check_utf8(head: bytes, name: str) -> None:
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise XlsxError(
            f"工作簿内部文件 {name} 使用 UTF-16 编码，暂不支持；请用 Excel 另存后重试。"
        )


def parse_xml(zf: zipfile.ZipFile, name: str) -> ET.Element:
    try:
        return ET.fromstring(read_xml_part(zf, name))
    except ET.ParseError as exc:
        raise XlsxError(f"工作簿内部文件 {name} 格式错误，文件可能已损坏。") from exc


def rels_path(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


def resolve_target(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    base = posixpath.dirname(source_part)
    return posixpath.normpath(posixpath.join(base, target))


def _find_ci(names: set[str], wanted: str) -> str | None:
    if wanted in names:
        return wanted
    low = wanted.lower()
    for n in names:
        if n.lower() == low:
            return n
    return None


@dataclass
class Rel:
    id: str
    type: str
    target: str  # resolved part name
    raw_target: str
    external: bool = False


@dataclass
class SheetInfo:
    name: str
    sheet_id: int
    rid: str
    part: str


@dataclass
class WorkbookInfo:
    workbook_part: str
    sheets: list[SheetInfo]
    rels: list[Rel]
    date1904: bool
    styles_part: str | None
    sst_part: str | None
    calcchain_part: str | None
    names: set[str] = field(default_factory=set)
    #: Strict Open XML (ISO/IEC 29500 Strict): parts we add are written in Strict namespaces.
    strict: bool = False

    def sheet(self, name: str) -> SheetInfo:
        for s in self.sheets:
            if s.name == name:
                return s
        stripped = name.strip().casefold()
        for s in self.sheets:
            if s.name.strip().casefold() == stripped:
                return s
        raise XlsxError(
            f"工作簿中没有名为“{name}”的工作表（现有：{'、'.join(s.name for s in self.sheets)}）。"
        )


def read_rels(zf: zipfile.ZipFile, part: str, names: set[str]) -> list[Rel]:
    rp = _find_ci(names, rels_path(part))
    if rp is None:
        return []
    root = parse_xml(zf, rp)
    out = []
    for el in root:
        if not el.tag.endswith("Relationship"):
            continue
        raw = el.get("Target", "")
        ext = el.get("TargetMode") == "External"
        target = raw if ext else resolve_target(part, raw)
        out.append(Rel(el.get("Id", ""), el.get("Type", ""), target, raw, ext))
    return out


def read_workbook_info(zf: zipfile.ZipFile) -> WorkbookInfo:
    names = set(zf.namelist())
    wb_part = None
    for rel in read_rels(zf, "", names):
        if rel_type_is(rel.type, T_OFFICE_DOC):
            wb_part = _find_ci(names, rel.target)
            break
    if wb_part is None:
        wb_part = _find_ci(names, "xl/workbook.xml")
    if wb_part is None:
        raise UnsafeWorkbookError(
            "文件中找不到工作簿内容（xl/workbook.xml），不是有效的 Excel 工作簿。"
        )
    root = parse_xml(zf, wb_part)
    rels = read_rels(zf, wb_part, names)
    by_id = {r.id: r for r in rels}
    date1904 = False
    sheets: list[SheetInfo] = []
    for el in root:
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "workbookPr":
            date1904 = el.get("date1904", "0").lower() in ("1", "true")
        elif tag == "sheets":
            for sh in el:
                rid = rel_id(sh)
                to = by_id.get(rid)
                if to is None or not rel_type_is(to.type, T_WORKSHEET):
                    # chartsheets, dialog sheets, macro sheets: not worksheets
                    continue
                part = _find_ci(names, to.target) or to.target
                sheets.append(SheetInfo(sh.get("name", ""), int(sh.get("sheetId", "0")), rid, part))

    def first(t: str) -> str | None:
        for r in rels:
            if rel_type_is(r.type, t) and not r.external:
                return _find_ci(names, r.target)
        return None

    return WorkbookInfo(
        workbook_part=wb_part,
        sheets=sheets,
        rels=rels,
        date1904=date1904,
        styles_part=first(T_STYLES),
        sst_part=first(T_SST),
        calcchain_part=first(T_CALCCHAIN) or _find_ci(names, "xl/calcChain.xml"),
        names=names,
        strict=is_strict_root(root.tag),
    )


def date_styles(zf: zipfile.ZipFile, styles_part: str | None) -> list[bool]:
    """For each cellXfs index: does its number format show a date/time?"""
    if styles_part is None:
        return []
    root = parse_xml(zf, styles_part)
    custom: dict[int, str] = {}
    flags: list[bool] = []
    for el in root:
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "numFmts":
            for nf in el:
                with contextlib.suppress(ValueError):
                    custom[int(nf.get("numFmtId", "-1"))] = nf.get("formatCode", "")
        elif tag == "cellXfs":
            for xf in el:
                try:
                    fid = int(xf.get("numFmtId", "0"))
                except ValueError:
                    fid = 0
                if fid in custom:
                    from openpyxl.styles.numbers import is_date_format

                    flags.append(bool(is_date_format(custom[fid])))
                else:
                    flags.append(fid in _builtin_date_ids())
    return flags


_SI_RE = re.compile(rb"<(?:\w+:)?si\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?si>)", re.S)
_T_RE = re.compile(rb"<(?:\w+:)?t\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?t>)", re.S)
_RPH_RE = re.compile(rb"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.S)


def rich_text(inner: bytes) -> str:
    """Text of a <si>/<is> body: the <t> of the runs, phonetic runs (<rPh>) excluded."""
    if b"<rPh" in inner or b":rPh" in inner:
        inner = _RPH_RE.sub(b"", inner)
    parts = [m.group(1) or b"" for m in _T_RE.finditer(inner)]
    return unescape(b"".join(parts))


def shared_strings(zf: zipfile.ZipFile, sst_part: str | None) -> list[str]:
    if sst_part is None:
        return []
    data = read_xml_part(zf, sst_part)
    out: list[str] = []
    append = out.append
    simple = re.compile(rb"<(?:\w+:)?t(?: xml:space=\"preserve\")?>([^<]*)</(?:\w+:)?t>\Z")
    for m in _SI_RE.finditer(data):
        inner = m.group(1)
        if inner is None:
            append("")
            continue
        sm = simple.match(inner)
        if sm is not None:
            raw = sm.group(1)
            if b"&" in raw or b"_x" in raw or b"\r" in raw:
                append(unescape(raw))
            else:
                append(raw.decode("utf-8"))
        else:
            append(rich_text(inner))
    return out
