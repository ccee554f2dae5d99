"""A source-only VBA project (``vbaProject.bin``) written from VBA source text (MS-OVBA).

What is written, and why:

- ``VBA/_VBA_PROJECT``: the seven bytes a writer must write (2.3.4.1: Reserved1 0x61CC, Version
  0xFFFF, Reserved2 0x00, Reserved3, no PerformanceCache). Version 0xFFFF never matches an
  Office build, so Excel ignores any compiled state and compiles the modules from their source.
  Reserved3 is "undefined, MUST be ignored"; we write 0x0001, the value of the specification's
  own example (3.1.1) and of the projects xlwings ships (quickstart_addin_ribbon.xlam, which
  Excel opens).
- ``VBA/dir``: the project, reference and module records of 2.3.4.2, compressed (2.4.1).
- one stream per module: only the compressed source (MODULEOFFSET 0, no performance cache).
- ``PROJECT`` (2.3.1, text) with CMG/DPB/GC obfuscated as 2.4.3.2 says (not protected, no
  password, visible), and ``PROJECTwm`` (2.3.3, module names in MBCS and UTF-16).

Module source is kept ASCII: the project code page is 1252 and a Chinese Windows would read
other bytes with its own ANSI code page. Text for users goes through :func:`vba_text` (ChrW).
"""

from __future__ import annotations

import random
import re
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .cfb import write_compound_file
from .compression import compress, raw_chunk_count

CODEPAGE = 1252
_ENCODING = "cp1252"
LCID = 0x0409
SYSKIND_WIN64 = 0x00000003

#: Class ids of the VB_Base attribute (as Excel stores them).
BASE_WORKBOOK = "0{00020819-0000-0000-C000-000000000046}"
BASE_WORKSHEET = "0{00020820-0000-0000-C000-000000000046}"
BASE_CLASS = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"

ModuleKind = Literal["standard", "class", "document"]


class VbaProjectError(ValueError):
    """The modules cannot be written as a VBA project (name, text, duplicate...)."""


@dataclass(frozen=True)
class Reference:
    """A registered type library reference (REFERENCENAME + REFERENCEREGISTERED, 2.3.4.2.2)."""

    name: str
    libid: str


#: The two references of a new Excel VBA project, byte for byte as in xlwings' addin/xlwings.xlam
#: (saved by Excel 2016+): OLE Automation (stdole) and the Office object library (IRibbonControl).
STDOLE = Reference("stdole", "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#"
                             "C:\\Windows\\System32\\stdole2.tlb#OLE Automation")
OFFICE = Reference("Office", "*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#"
                             "C:\\Program Files\\Common Files\\Microsoft Shared\\OFFICE16\\MSO.DLL"
                             "#Microsoft Office 16.0 Object Library")
DEFAULT_REFERENCES: tuple[Reference, ...] = (STDOLE, OFFICE)

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}\Z")


def _crlf(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text and not text.endswith("\n"):
        text += "\n"
    return text.replace("\n", "\r\n")


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise VbaProjectError(f"VBA 名称不合法：{name!r}（字母开头，仅字母、数字、下划线，最多 31 个字符）")


@dataclass(frozen=True)
class Module:
    """One VBA module: its name, kind and the exact source Excel stores (``Attribute`` lines too).

    Build one with :meth:`standard`, :meth:`class_module`, :meth:`document` or
    :meth:`from_export` (a ``.bas``/``.cls`` file as the VBA editor exports it).
    """

    name: str
    kind: ModuleKind
    source: str

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.kind not in ("standard", "class", "document"):
            raise VbaProjectError(f"未知的模块类型：{self.kind!r}")
        bad = sorted({c for c in self.source if ord(c) > 127})
        if bad:
            raise VbaProjectError(
                f"模块 {self.name} 的源码含非 ASCII 字符 {''.join(bad[:5])!r}；"
                "给用户看的文字请用 vba_text() 生成 ChrW 表达式")

    @classmethod
    def standard(cls, name: str, body: str) -> Module:
        """A standard module (``Module=`` in PROJECT)."""
        return cls(name, "standard", _crlf(f'Attribute VB_Name = "{name}"\n' + body))

    @classmethod
    def class_module(cls, name: str, body: str, *, exposed: bool = False,
                     predeclared: bool = False) -> Module:
        """A class module with the attributes the VBA editor writes for a new class."""
        head = (f'Attribute VB_Name = "{name}"\n'
                f'Attribute VB_Base = "{BASE_CLASS}"\n'
                "Attribute VB_GlobalNameSpace = False\n"
                "Attribute VB_Creatable = False\n"
                f"Attribute VB_PredeclaredId = {predeclared}\n"
                f"Attribute VB_Exposed = {exposed}\n"
                "Attribute VB_TemplateDerived = False\n"
                "Attribute VB_Customizable = False\n")
        return cls(name, "class", _crlf(head + body))

    @classmethod
    def document(cls, name: str, body: str = "", *, workbook: bool = False) -> Module:
        """The module behind ThisWorkbook (``workbook=True``) or a worksheet; ``name`` is the
        code name (``workbookPr/@codeName``, ``sheetPr/@codeName``)."""
        head = (f'Attribute VB_Name = "{name}"\n'
                f'Attribute VB_Base = "{BASE_WORKBOOK if workbook else BASE_WORKSHEET}"\n'
                "Attribute VB_GlobalNameSpace = False\n"
                "Attribute VB_Creatable = False\n"
                "Attribute VB_PredeclaredId = True\n"
                "Attribute VB_Exposed = True\n"
                "Attribute VB_TemplateDerived = False\n"
                "Attribute VB_Customizable = True\n")
        return cls(name, "document", _crlf(head + body))

    @classmethod
    def from_export(cls, text: str, name: str | None = None) -> Module:
        """A module from an exported ``.bas`` or ``.cls`` file.

        A class export starts with ``VERSION 1.0 CLASS`` / ``BEGIN`` … ``END``, which is not part
        of the stored source; its attribute block gets ``VB_Base``, ``VB_TemplateDerived`` and
        ``VB_Customizable`` where missing, as Excel stores a class. ``name`` renames the module.
        """
        lines = _crlf(text).split("\r\n")[:-1] if text else []
        is_class = bool(lines) and lines[0].strip().upper().startswith("VERSION ")
        if is_class:
            try:
                end = next(k for k, ln in enumerate(lines) if ln.strip().upper() == "END")
            except StopIteration:
                raise VbaProjectError("类模块导出文件缺少 BEGIN … END 头") from None
            lines = lines[end + 1:]
        n_attr = 0
        while n_attr < len(lines) and re.match(r"Attribute VB_\w+\s*=", lines[n_attr]):
            n_attr += 1
        attrs, body = lines[:n_attr], lines[n_attr:]
        m = re.match(r'Attribute VB_Name = "([^"]*)"', attrs[0]) if attrs else None
        if not m:
            raise VbaProjectError("导出文件第一行属性不是 Attribute VB_Name")
        name = name or m.group(1)
        attrs[0] = f'Attribute VB_Name = "{name}"'
        if is_class:
            keys = {a.split("=")[0].strip() for a in attrs}
            if "Attribute VB_Base" not in keys:
                attrs.insert(1, f'Attribute VB_Base = "{BASE_CLASS}"')
            # Excel stores these two right after VB_Exposed
            at = next((k + 1 for k, a in enumerate(attrs) if a.startswith("Attribute VB_Exposed")),
                      len(attrs))
            extra = [f"Attribute {k} = False" for k in ("VB_TemplateDerived", "VB_Customizable")
                     if f"Attribute {k}" not in keys]
            attrs[at:at] = extra
        return cls(name, "class" if is_class else "standard",
                   _crlf("".join(ln + "\n" for ln in attrs + body)))


def vba_text(text: str) -> str:
    """A VBA string expression for any Unicode ``text``, in ASCII source.

    ASCII runs stay literal, other characters become ``ChrW(&H…)``; e.g.
    ``vba_text("请安装 client_rating")`` → ``ChrW(&H8BF7) & ChrW(&H5B89) & ChrW(&H88C5) & " client_rating"``.
    """
    parts: list[str] = []
    run = ""
    for ch in text:
        if 32 <= ord(ch) < 127:
            run += '""' if ch == '"' else ch
            continue
        if run:
            parts.append(f'"{run}"')
            run = ""
        if ch == "\n":
            parts.append("vbLf")
        elif ord(ch) > 0xFFFF:
            raise VbaProjectError(f"VBA 字符串不支持 BMP 以外的字符：{ch!r}")
        else:
            parts.append(f"ChrW(&H{ord(ch):X})")
    if run or not parts:
        parts.append(f'"{run}"')
    return " & ".join(parts)


# ---------------------------------------------------------------- records of the dir stream

def _rec(rid: int, data: bytes = b"") -> bytes:
    return struct.pack("<HI", rid, len(data)) + data


def _mbcs(s: str) -> bytes:
    return s.encode(_ENCODING)


def _utf16(s: str) -> bytes:
    return s.encode("utf-16-le")


def _dir_stream(name: str, references: Sequence[Reference], modules: Sequence[Module]) -> bytes:
    out = bytearray()
    # PROJECTINFORMATION (2.3.4.2.1)
    out += _rec(0x0001, struct.pack("<I", SYSKIND_WIN64))  # PROJECTSYSKIND
    out += _rec(0x0002, struct.pack("<I", LCID))  # PROJECTLCID
    out += _rec(0x0014, struct.pack("<I", LCID))  # PROJECTLCIDINVOKE
    out += _rec(0x0003, struct.pack("<H", CODEPAGE))  # PROJECTCODEPAGE
    out += _rec(0x0004, _mbcs(name))  # PROJECTNAME
    out += _rec(0x0005) + _rec(0x0040)  # PROJECTDOCSTRING (+ unicode)
    out += _rec(0x0006) + _rec(0x003D)  # PROJECTHELPFILEPATH (two copies)
    out += _rec(0x0007, struct.pack("<I", 0))  # PROJECTHELPCONTEXT
    out += _rec(0x0008, struct.pack("<I", 0))  # PROJECTLIBFLAGS
    out += struct.pack("<HIIH", 0x0009, 4, 1, 0)  # PROJECTVERSION: Reserved 4, major 1, minor 0
    out += _rec(0x000C) + _rec(0x003C)  # PROJECTCONSTANTS (+ unicode)
    # PROJECTREFERENCES (2.3.4.2.2): REFERENCENAME then REFERENCEREGISTERED
    for ref in references:
        out += _rec(0x0016, _mbcs(ref.name)) + _rec(0x003E, _utf16(ref.name))
        libid = _mbcs(ref.libid)
        out += _rec(0x000D, struct.pack("<I", len(libid)) + libid + struct.pack("<IH", 0, 0))
    # PROJECTMODULES (2.3.4.2.3)
    out += _rec(0x000F, struct.pack("<H", len(modules)))
    out += _rec(0x0013, struct.pack("<H", 0xFFFF))  # PROJECTCOOKIE: 0xFFFF on write
    for m in modules:
        out += _rec(0x0019, _mbcs(m.name)) + _rec(0x0047, _utf16(m.name))  # MODULENAME (+unicode)
        out += _rec(0x001A, _mbcs(m.name)) + _rec(0x0032, _utf16(m.name))  # MODULESTREAMNAME
        out += _rec(0x001C) + _rec(0x0048)  # MODULEDOCSTRING (+ unicode)
        out += _rec(0x0031, struct.pack("<I", 0))  # MODULEOFFSET: source starts the stream
        out += _rec(0x001E, struct.pack("<I", 0))  # MODULEHELPCONTEXT
        out += _rec(0x002C, struct.pack("<H", 0xFFFF))  # MODULECOOKIE: 0xFFFF on write
        out += _rec(0x0021 if m.kind == "standard" else 0x0022)  # MODULETYPE
        out += _rec(0x002B)  # module terminator
    out += _rec(0x0010)  # end of dir stream
    return bytes(out)


# ---------------------------------------------------------------- PROJECT stream

def _encrypt(project_id: str, data: bytes, rng: random.Random) -> str:
    """MS-OVBA 2.4.3.2 Data Encryption, as upper-case hex."""
    seed = rng.randrange(256)
    version = 2
    proj_key = sum(_mbcs(project_id)) & 0xFF
    version_enc, proj_key_enc = seed ^ version, seed ^ proj_key
    out = bytearray([seed, version_enc, proj_key_enc])
    unenc1, enc1, enc2 = proj_key, proj_key_enc, version_enc
    ignored = bytes(rng.randrange(256) for _ in range((seed & 6) // 2))
    for byte in ignored + struct.pack("<I", len(data)) + data:
        byte_enc = byte ^ ((enc2 + unenc1) & 0xFF)
        out.append(byte_enc)
        enc2, enc1, unenc1 = enc1, byte_enc, byte
    return out.hex().upper()


def decrypt(hex_text: str) -> bytes:
    """MS-OVBA 2.4.3.3 Data Decryption of a CMG/DPB/GC value (for tests and inspection)."""
    enc = bytes.fromhex(hex_text)
    seed, version_enc, proj_key_enc = enc[:3]
    if seed ^ version_enc != 2:
        raise VbaProjectError("加密数据的版本不是 2")
    unenc1, enc1, enc2 = seed ^ proj_key_enc, proj_key_enc, version_enc
    plain = bytearray()
    for byte_enc in enc[3:]:
        byte = byte_enc ^ ((enc2 + unenc1) & 0xFF)
        plain.append(byte)
        enc2, enc1, unenc1 = enc1, byte_enc, byte
    plain = plain[(seed & 6) // 2:]
    n = int.from_bytes(plain[:4], "little")
    if len(plain) != 4 + n:
        raise VbaProjectError("加密数据的长度与其长度字段不符")
    return bytes(plain[4:])


_VISIBLE = bytes([0xFF])


def _project_stream(name: str, project_id: str, modules: Sequence[Module],
                    rng: random.Random) -> bytes:
    lines = [f'ID="{project_id}"']
    for m in modules:
        lines.append({"document": f"Document={m.name}/&H00000000", "standard": f"Module={m.name}",
                      "class": f"Class={m.name}"}[m.kind])
    lines += [
        f'Name="{name}"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        f'CMG="{_encrypt(project_id, bytes(4), rng)}"',  # protection state: none
        f'DPB="{_encrypt(project_id, bytes(1), rng)}"',  # no password
        f'GC="{_encrypt(project_id, _VISIBLE, rng)}"',  # visible
        "",
        "[Host Extender Info]",
        "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000",
        "",
        "[Workspace]",
        *(f"{m.name}=0, 0, 0, 0, C" for m in modules),
    ]
    return _mbcs("\r\n".join(lines) + "\r\n")


def _projectwm_stream(modules: Sequence[Module]) -> bytes:
    out = bytearray()
    for m in modules:
        out += _mbcs(m.name) + b"\0" + _utf16(m.name) + b"\0\0"
    return bytes(out + b"\0\0")


# ---------------------------------------------------------------- the project

def build_vba_project(modules: Sequence[Module], *, name: str = "VBAProject",
                      references: Sequence[Reference] = DEFAULT_REFERENCES,
                      project_id: str | None = None) -> bytes:
    """The bytes of a ``vbaProject.bin`` holding ``modules`` (source only; Excel compiles).

    The result is deterministic: the project id defaults to a UUID derived from ``name`` and the
    module names, and the obfuscation bytes of PROJECT come from a generator seeded with it.
    """
    _check_name(name)
    seen: set[str] = {name.upper()}  # VBA: no module may be named like its project
    for m in modules:
        if m.name.upper() in seen:
            raise VbaProjectError(f"模块名称与工程或其他模块重名（VBA 不区分大小写）：{m.name}")
        seen.add(m.name.upper())
    if project_id is None:
        key = name + ":" + ",".join(m.name for m in modules)
        project_id = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "client-rating:" + key)).upper() + "}"
    if not re.fullmatch(r"\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}", project_id):
        raise VbaProjectError(f"工程 ID 必须是大写的 {{GUID}}：{project_id!r}")
    rng = random.Random(project_id)

    streams: dict[str, bytes] = {}
    for m in modules:
        data = compress(_mbcs(m.source))
        if raw_chunk_count(data):  # never for text; Excel is reported to drop such modules
            raise VbaProjectError(f"模块 {m.name} 的源码无法压缩（出现未压缩块）")
        streams[m.name] = data
    vba = {"_VBA_PROJECT": struct.pack("<HHBH", 0x61CC, 0xFFFF, 0x00, 0x0001),
           "dir": compress(_dir_stream(name, references, modules)), **streams}
    return write_compound_file({
        "PROJECT": _project_stream(name, project_id, modules, rng),
        "PROJECTwm": _projectwm_stream(modules),
        "VBA": vba,
    })
