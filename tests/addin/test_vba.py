"""addin.vba: MS-OVBA compression, the MS-CFB writer and the source-only VBA project.

Checked against the specification's worked examples (MS-OVBA 3.2), against olefile (a second
reader of compound files) and oletools' olevba (a second reader of VBA projects), and against
the VBA projects xlwings ships (which Excel opens).
"""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
from pathlib import Path

import olefile
import pytest
import xlwings
from hypothesis import given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():  # oletools 0.60 uses pyparsing names deprecated in 3.x
    warnings.simplefilter("ignore")
    from oletools.olevba import VBA_Parser, decompress_stream

from addin.vba import (
    DEFAULT_REFERENCES,
    CfbError,
    CompressionError,
    Module,
    VbaProjectError,
    build_vba_project,
    compress,
    decompress,
    decrypt,
    raw_chunk_count,
    vba_text,
    write_compound_file,
)

XLWINGS = Path(xlwings.__file__).parent

# MS-OVBA 3.2.1 No Compression Example, 3.2.2 Normal Compression Example, 3.2.3 Maximum
# Compression Example: (decompressed, compressed) exactly as the specification prints them.
SPEC_EXAMPLES = [
    (b"abcdefghijklmnopqrstuv.",
     "01 19 B0 00 61 62 63 64 65 66 67 68 00 69 6A 6B 6C 6D 6E 6F 70 00 71 72 73 74 75 76 2E"),
    (b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa",
     "01 2F B0 00 23 61 61 61 62 63 64 65 82 66 00 70 61 67 68 69 6A 01 38 08 61 6B 6C 00 20 6D"
     " 6E 6F 70 06 71 02 70 04 00 72 73 74 75 76 10 77 78 79 7A 00 2C"),
    (b"a" * 73, "01 03 B0 02 61 45 00"),
]


@pytest.mark.parametrize(("plain", "packed"), SPEC_EXAMPLES, ids=["none", "normal", "maximum"])
def test_spec_examples(plain: bytes, packed: str) -> None:
    data = bytes.fromhex(packed)
    assert compress(plain) == data
    assert decompress(data) == plain


# VBA-like text: what the writer really compresses (always fits, never a raw chunk)
_vba_text = st.text(alphabet=st.sampled_from(list("Dim x As String = \"\"&_()'\r\n\tabcXYZ019.")),
                    max_size=20000)


@settings(max_examples=60, deadline=None)
@given(_vba_text)
def test_round_trip_text(text: str) -> None:
    data = text.encode("ascii")
    packed = compress(data)
    assert decompress(packed) == data
    assert raw_chunk_count(packed) == 0
    assert bytes(decompress_stream(bytearray(packed))) == data  # oletools agrees


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3 * 4096 + 100))
def test_round_trip_bytes(data: bytes) -> None:
    """Any bytes: a chunk that does not compress is stored raw, and 2.4.1.3.10 pads a raw chunk
    to 4096 bytes with 0x00, so only a raw last chunk may come back longer, by zeros."""
    back = decompress(compress(data))
    assert back[:len(data)] == data
    assert not any(back[len(data):])
    if len(back) > len(data):
        assert raw_chunk_count(compress(data)) >= 1


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=1, max_size=600), st.integers(2, 30))
def test_round_trip_repetitive(unit: bytes, times: int) -> None:
    data = unit * times
    assert decompress(compress(data)) == data


def test_decompress_rejects_garbage() -> None:
    with pytest.raises(CompressionError):
        decompress(b"\x02abc")
    with pytest.raises(CompressionError):
        decompress(b"\x01\x00\x00")  # chunk signature is not 0b011


# ----------------------------------------------------------------------------- compound file

def _rb_check(ole: olefile.OleFileIO, sid: int) -> int:
    """Black height of the subtree at ``sid``; asserts the red-black and order rules."""
    if sid == olefile.NOSTREAM:
        return 1
    e = ole.direntries[sid]
    left, right = _rb_check(ole, e.sid_left), _rb_check(ole, e.sid_right)
    assert left == right, "every path must hold the same number of black nodes"
    if e.color == 0:  # red
        for child in (e.sid_left, e.sid_right):
            assert child == olefile.NOSTREAM or ole.direntries[child].color == 1
    key = (len(e.name), e.name.upper())
    if e.sid_left != olefile.NOSTREAM:
        n = ole.direntries[e.sid_left].name
        assert (len(n), n.upper()) < key
    if e.sid_right != olefile.NOSTREAM:
        n = ole.direntries[e.sid_right].name
        assert (len(n), n.upper()) > key
    return left + (e.color == 1)


@pytest.mark.parametrize("n_streams", [0, 1, 2, 3, 4, 7, 8, 20, 130])
def test_cfb_read_back_by_olefile(n_streams: int) -> None:
    streams = {f"S{k}": bytes([k % 256]) * (k * 211) for k in range(n_streams)}
    tree = {"PROJECT": b"p" * 700, "PROJECTwm": b"", "VBA": {**streams, "big": b"x" * 70000}}
    data = write_compound_file(tree)
    ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)
    assert sorted(map(tuple, ole.listdir())) == sorted(
        [("PROJECT",), ("PROJECTwm",), ("VBA", "big"), *[("VBA", k) for k in streams]])
    for name, value in streams.items():
        assert ole.openstream(f"VBA/{name}").read() == value
    assert ole.openstream("VBA/big").read() == b"x" * 70000
    assert ole.openstream("PROJECT").read() == b"p" * 700
    header = data[:512]
    assert header[:8] == bytes.fromhex("D0CF11E0A1B11AE1")
    assert struct.unpack_from("<HHHHH", header, 24) == (0x3E, 3, 0xFFFE, 9, 6)
    for entry in ole.direntries:
        if entry is not None and entry.entry_type in (olefile.STGTY_STORAGE, olefile.STGTY_ROOT):
            root = entry.sid_child
            assert root == olefile.NOSTREAM or ole.direntries[root].color == 1  # black root
            _rb_check(ole, root)


def test_cfb_rejects_bad_names() -> None:
    with pytest.raises(CfbError):
        write_compound_file({"a/b": b""})
    with pytest.raises(CfbError):
        write_compound_file({"x" * 32: b""})
    with pytest.raises(CfbError):
        write_compound_file({"Dir": b"", "DIR": b""})


# ----------------------------------------------------------------------------- VBA project

MODULES = [
    Module.document("ThisWorkbook", workbook=True),
    Module.document("Sheet1", "Private Sub Worksheet_Activate()\nEnd Sub\n"),
    Module.standard("Buttons", 'Public Sub Hello()\n    MsgBox "hi"\nEnd Sub\n'),
    Module.class_module("Counter", "Private n As Long\nPublic Sub Add()\n    n = n + 1\nEnd Sub\n"),
]


def _dir_records(ole: olefile.OleFileIO) -> list[tuple[int, bytes]]:
    d = decompress(ole.openstream("VBA/dir").read())
    out, i = [], 0
    while i < len(d):
        rid, size = struct.unpack_from("<HI", d, i)
        if rid == 0x0009:  # PROJECTVERSION: Reserved is 4 but 6 bytes follow
            size = 6
        out.append((rid, d[i + 6:i + 6 + size]))
        i += 6 + size
    return out


def test_project_streams() -> None:
    data = build_vba_project(MODULES, name="Demo")
    assert data == build_vba_project(MODULES, name="Demo")  # deterministic
    ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT)
    assert {"/".join(p) for p in ole.listdir()} == {
        "PROJECT", "PROJECTwm", "VBA/_VBA_PROJECT", "VBA/dir", "VBA/ThisWorkbook", "VBA/Sheet1",
        "VBA/Buttons", "VBA/Counter"}
    # 2.3.4.1 as written: 0x61CC, version 0xFFFF, 0x00, Reserved3, and no PerformanceCache
    assert ole.openstream("VBA/_VBA_PROJECT").read() == bytes.fromhex("CC61FFFF000100")
    # module streams: the compressed source from offset 0
    for m in MODULES:
        assert decompress(ole.openstream(f"VBA/{m.name}").read()) == m.source.encode("ascii")
    recs = _dir_records(ole)
    assert recs[-1] == (0x0010, b"")
    assert [r for r in recs if r[0] == 0x0031] == [(0x0031, bytes(4))] * len(MODULES)
    assert [d.decode() for rid, d in recs if rid == 0x0019] == [m.name for m in MODULES]
    types = [rid for rid, _ in recs if rid in (0x0021, 0x0022)]
    assert types == [0x0022, 0x0022, 0x0021, 0x0022]
    assert dict(recs)[0x0003] == struct.pack("<H", 1252)
    assert dict(recs)[0x0004] == b"Demo"

    project = ole.openstream("PROJECT").read().decode("cp1252")
    lines = project.split("\r\n")
    assert lines[1:5] == ["Document=ThisWorkbook/&H00000000", "Document=Sheet1/&H00000000",
                          "Module=Buttons", "Class=Counter"]
    assert 'Name="Demo"' in lines
    fields = dict(ln.split("=", 1) for ln in lines if "=" in ln)
    assert decrypt(fields["CMG"].strip('"')) == bytes(4)  # not protected
    assert decrypt(fields["DPB"].strip('"')) == b"\x00"  # no password
    assert decrypt(fields["GC"].strip('"')) == b"\xff"  # visible
    wm = ole.openstream("PROJECTwm").read()
    assert wm == b"".join(m.name.encode() + b"\0" + m.name.encode("utf-16-le") + b"\0\0"
                          for m in MODULES) + b"\0\0"


def test_olevba_reads_every_module_exactly(tmp_path: Path) -> None:
    data = build_vba_project(MODULES, name="Demo")
    parser = VBA_Parser("vbaProject.bin", data=data)
    got = {name.rsplit(".", 1)[0]: code for _, _, name, code in parser.extract_macros()}
    assert got == {m.name: m.source for m in MODULES}


def _xlwings_project(name: str) -> olefile.OleFileIO:
    with zipfile.ZipFile(XLWINGS / name) as z:
        return olefile.OleFileIO(io.BytesIO(z.read("xl/vbaProject.bin")))


def test_references_are_excels() -> None:
    """stdole and Office reference records equal those in xlwings' Excel-saved xlwings.xlam."""
    theirs = [r for r in _dir_records(_xlwings_project("addin/xlwings.xlam"))
              if r[0] in (0x0016, 0x003E, 0x000D)]
    ole = olefile.OleFileIO(io.BytesIO(build_vba_project(MODULES)))
    ours = [r for r in _dir_records(ole) if r[0] in (0x0016, 0x003E, 0x000D)]
    assert ours == theirs
    assert [r.name for r in DEFAULT_REFERENCES] == ["stdole", "Office"]


def test_decrypt_reads_xlwings_project_fields() -> None:
    text = _xlwings_project("quickstart_addin_ribbon.xlam").openstream("PROJECT").read().decode()
    fields = dict(ln.split("=", 1) for ln in text.split("\r\n") if "=" in ln)
    assert decrypt(fields["CMG"].strip('"')) == bytes(4)
    assert decrypt(fields["DPB"].strip('"')) == b"\x00"
    assert decrypt(fields["GC"].strip('"')) == b"\xff"


def test_class_export_gets_stored_header() -> None:
    """A .cls export loses VERSION/BEGIN/END and gets the attributes Excel stores, exactly as in
    xlwings' quickstart_addin_ribbon.xlam (whose Dictionary Excel saved)."""
    m = Module.from_export((XLWINGS / "addin" / "Dictionary.cls").read_text("cp1252"))
    ole = _xlwings_project("quickstart_addin_ribbon.xlam")
    stored = decompress_stream(bytearray(ole.openstream("VBA/Dictionary").read()[0x4673:]))
    stored_attrs = [ln for ln in bytes(stored).decode("cp1252").split("\r\n")
                    if ln.startswith("Attribute VB_")]
    ours = [ln for ln in m.source.split("\r\n") if ln.startswith("Attribute VB_")]
    assert m.kind == "class"
    assert ours[:9] == stored_attrs[:9]


def test_module_rules() -> None:
    with pytest.raises(VbaProjectError, match="非 ASCII"):
        Module.standard("M", 'MsgBox "客户"\n')
    with pytest.raises(VbaProjectError):
        Module.standard("1abc", "")
    with pytest.raises(VbaProjectError, match="重名"):
        build_vba_project([Module.standard("A", ""), Module.standard("a", "")])
    with pytest.raises(VbaProjectError, match="重名"):
        build_vba_project([Module.standard("Tools", "")], name="TOOLS")
    assert Module.standard("M", "x\ny").source == 'Attribute VB_Name = "M"\r\nx\r\ny\r\n'


def test_vba_text() -> None:
    assert vba_text("") == '""'
    assert vba_text('say "hi"') == '"say ""hi"""'
    assert vba_text("请安装 client_rating") == \
        'ChrW(&H8BF7) & ChrW(&H5B89) & ChrW(&H88C5) & " client_rating"'
    assert vba_text("a\nb") == '"a" & vbLf & "b"'
