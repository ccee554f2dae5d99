"""The add-in's VBA project, field by field against VBA projects Excel itself saved: the three
in the installed xlwings package (quickstart_addin_ribbon.xlam, quickstart.xlsm,
addin/xlwings.xlam). Every record and line we write is one Excel writes, in Excel's order and
with Excel's value, except the fields listed in ``DIFFERENT`` (docs/addin.md says why)."""

from __future__ import annotations

import io
import re
import struct
import zipfile
from pathlib import Path

import olefile
import pytest
import xlwings

from addin import xlam
from addin.vba import decompress

XLWINGS = Path(xlwings.__file__).parent
EXCEL_SAVED = ("quickstart_addin_ribbon.xlam", "quickstart.xlsm", "addin/xlwings.xlam")
#: dir records whose value is ours, not Excel's: SYSKIND (Excel writes the bitness of the
#: Office that saved, 1 = 32-bit there; ours 3 = 64-bit), PROJECTVERSION (Excel's build
#: counter), PROJECTCOOKIE/MODULECOOKIE (0xFFFF: MS-OVBA says writers write it), MODULEOFFSET
#: (Excel's streams hold a compiled cache before the source; ours none), PROJECTNAME, module
#: names.
DIFFERENT = {0x01, 0x09, 0x13, 0x2C, 0x31, 0x04, 0x19, 0x47, 0x1A, 0x32}
PROJECT_INFO = (0x01, 0x02, 0x14, 0x03, 0x04, 0x05, 0x40, 0x06, 0x3D, 0x07, 0x08, 0x09, 0x0C,
                0x3C)


def _vba(path: Path) -> olefile.OleFileIO:
    with zipfile.ZipFile(path) as z:
        return olefile.OleFileIO(io.BytesIO(z.read("xl/vbaProject.bin")))


def _records(data: bytes) -> list[tuple[int, bytes]]:
    out, p = [], 0
    while p < len(data):
        rid, size = struct.unpack_from("<HI", data, p)
        p += 6
        if rid == 0x09:  # PROJECTVERSION: Reserved (4) holds 4, then 6 bytes of data
            size = 6
        out.append((rid, data[p:p + size]))
        p += size
    return out


def _split(recs: list[tuple[int, bytes]]) -> tuple[list, list, list[list]]:
    """(project information, references, module blocks) of a dir stream."""
    info = recs[:len(PROJECT_INFO)]
    at = next(k for k, (rid, _) in enumerate(recs) if rid == 0x0F)
    refs = recs[len(PROJECT_INFO):at]
    modules, cur = [], []
    for rec in recs[at + 2:]:
        if rec[0] == 0x10:
            break
        cur.append(rec)
        if rec[0] == 0x2B:
            modules.append(cur)
            cur = []
    return info, refs, modules


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> olefile.OleFileIO:
    return _vba(xlam.build_addin(tmp_path_factory.mktemp("like") / "client_rating.xlam",
                                 {"UDF Modules": "udfs"}))


@pytest.mark.parametrize("name", EXCEL_SAVED)
def test_dir_stream_records_like_excels(ours: olefile.OleFileIO, name: str) -> None:
    theirs = _vba(XLWINGS / name)
    o_info, _, o_mods = _split(_records(decompress(ours.openstream("VBA/dir").read())))
    t_recs = _records(decompress(theirs.openstream("VBA/dir").read()))
    # PROJECTCOMPATVERSION (0x4A, optional, after SYSKIND): newer Excel writes it, we do not
    t_info, _, t_mods = _split([r for r in t_recs if r[0] != 0x4A])
    assert [r for r, _ in o_info] == [r for r, _ in t_info] == list(PROJECT_INFO)
    for (rid, mine), (_, excel) in zip(o_info, t_info, strict=True):
        if rid not in DIFFERENT:
            assert mine == excel, hex(rid)  # LCID 0x409, code page 1252, empty doc/help…
    assert struct.unpack("<I", o_info[0][1])[0] == 3  # 64-bit Windows
    assert struct.unpack("<I", t_info[0][1])[0] in (1, 3)  # (32- or 64-bit: both load)
    # module blocks: the same records in the same order as Excel's block of that kind
    kinds = {tuple(r for r, _ in m) for m in t_mods}
    by_type = {next(r for r, _ in m if r in (0x21, 0x22)): m for m in t_mods}
    for m in o_mods:
        seq = tuple(r for r, _ in m)
        assert seq in kinds, seq
        kind = next(r for r, _ in m if r in (0x21, 0x22))
        excel = dict(by_type[kind])
        for rid, value in m:
            if rid not in DIFFERENT:
                assert value == excel[rid], hex(rid)  # empty doc strings, help context 0
        assert dict(m)[0x2C] == b"\xff\xff" and dict(m)[0x31] == b"\0\0\0\0"


def test_vba_project_stream_is_excels_seven_bytes(ours: olefile.OleFileIO) -> None:
    """Two of the three hold no compiled cache (version 0xFFFF: Excel compiles the source),
    byte for byte ours; quickstart.xlsm holds Excel's cache for its own build."""
    got = {name: _vba(XLWINGS / name).openstream("VBA/_VBA_PROJECT").read()
           for name in EXCEL_SAVED}
    mine = ours.openstream("VBA/_VBA_PROJECT").read()
    assert mine == got["quickstart_addin_ribbon.xlam"] == got["addin/xlwings.xlam"]
    assert got["quickstart.xlsm"][:2] == mine[:2] and len(got["quickstart.xlsm"]) > 7


def _project_lines(ole: olefile.OleFileIO) -> list[str]:
    return ole.openstream("PROJECT").read().decode("cp1252").split("\r\n")


def _shape(line: str) -> str:
    """A PROJECT line with its values masked: what must match Excel's."""
    if line.startswith(("Document=", "Module=", "Class=")):
        return line.split("=")[0] + "=…" + ("/&H00000000" if line.endswith("/&H00000000") else "")
    if re.fullmatch(r"\w+=-?\d+, -?\d+, -?\d+, -?\d+, [A-Z]", line):
        return "workspace"
    return re.sub(r'="[^"]*"', '="…"', line)


def test_project_stream_lines_like_excels(ours: olefile.OleFileIO) -> None:
    mine = _project_lines(ours)
    modules = ("Document=", "Module=", "Class=", "Package=", "BaseClass=")

    def head(lines: list[str]) -> list[str]:  # ID … GC, module lines left out
        return [_shape(x) for x in lines[:lines.index("")] if not x.startswith(modules)]

    def tail(lines: list[str]) -> list[str]:  # [Host Extender Info] … [Workspace]
        return lines[lines.index(""):lines.index("[Workspace]") + 1]

    kinds = set()
    for name in EXCEL_SAVED:
        theirs = _project_lines(_vba(XLWINGS / name))
        kinds |= {_shape(x) for x in theirs if x.startswith(modules)}
        assert head(mine) == head(theirs)
        assert tail(mine) == tail(theirs)  # byte for byte
        ws = mine[mine.index("[Workspace]") + 1:]
        assert ws[-1] == "" and all(_shape(x) == "workspace" for x in ws[:-1])
        assert all(_shape(x) == "workspace" for x in
                   theirs[theirs.index("[Workspace]") + 1:] if x)
    assert {_shape(x) for x in mine if x.startswith(modules)} <= kinds


def test_references_are_records_excel_wrote(ours: olefile.OleFileIO) -> None:
    excel = set()
    for name in EXCEL_SAVED:
        excel |= set(_records(decompress(_vba(XLWINGS / name).openstream("VBA/dir").read())))
    _, refs, _ = _split(_records(decompress(ours.openstream("VBA/dir").read())))
    assert refs and all(rec in excel for rec in refs)


def _source(ole: olefile.OleFileIO, module: str) -> str:
    recs = _records(decompress(ole.openstream("VBA/dir").read()))
    names = [d.decode("cp1252") for r, d in recs if r == 0x1A]
    offsets = [struct.unpack("<I", d)[0] for r, d in recs if r == 0x31]
    off = dict(zip(names, offsets, strict=True))[module]
    return decompress(ole.openstream(f"VBA/{module}").read()[off:]).decode("cp1252")


def _attributes(source: str) -> list[str]:
    return [ln for ln in source.replace("\r\n", "\n").split("\n")
            if ln.startswith("Attribute ") and "VB_Name" not in ln]


def test_document_and_class_headers_are_the_ones_excel_stored(ours: olefile.OleFileIO) -> None:
    theirs = _vba(XLWINGS / "quickstart_addin_ribbon.xlam")
    assert _attributes(_source(ours, "ThisWorkbook")) == \
        _attributes(_source(theirs, "ThisWorkbook"))
    assert _attributes(_source(ours, "Sheet1")) == _attributes(_source(theirs, "Sheet2"))
    assert _attributes(_source(ours, "Dictionary")) == _attributes(_source(theirs, "Dictionary"))
    # our own class module: the attributes Excel stores for a class, in its order (values
    # those of a new private class: not predeclared, not exposed)
    ev = _attributes(_source(ours, "ClientRatingEvents"))
    keys = [a.split("=")[0] for a in _attributes(_source(theirs, "Dictionary"))]
    assert [a.split("=")[0] for a in ev] == [k for k in keys if "VB_Description" not in k
                                             and "VB_UserMemId" not in k
                                             and "VB_MemberFlags" not in k][:len(ev)]
    assert "Attribute VB_PredeclaredId = False" in ev and "Attribute VB_Exposed = False" in ev
