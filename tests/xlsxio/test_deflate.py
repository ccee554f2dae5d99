"""The deflate the zip writer compresses with: zlib-ng when installed, else zlib (both tested)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
import zlib
from io import BytesIO
from pathlib import Path

import pytest

from workbook.xlsxio import SheetEdit, patch_workbook, read_sheet, zipwriter
from workbook.xlsxio.zipwriter import FLUSH, RawZipWriter, entry_data_offset


@pytest.fixture(params=["zlib", "zlib-ng"])
def deflate(request, monkeypatch) -> zipwriter.Deflate:
    if request.param == "zlib":
        d = zipwriter.ZLIB
    else:
        d = zipwriter._zlib_ng()
        if d is None:
            pytest.skip("zlib-ng is not installed")
    monkeypatch.setattr(zipwriter, "DEFLATE", d)
    return d


def compressed(path: Path, name: str) -> tuple[bytes, bytes]:
    """(the entry's compressed bytes as stored, its content)."""
    with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
        info = zf.getinfo(name)
        fh.seek(entry_data_offset(fh, info))
        return fh.read(info.compress_size), zf.read(name)


def test_a_patched_part_is_deflated_by_the_chosen_deflate_and_reruns_are_identical(
        workbook_path: Path, tmp_path: Path, deflate: zipwriter.Deflate) -> None:
    edit = {"客户": SheetEdit(cells={(2, 2): "新名称", (3, 4): 12345.67})}
    out, again = tmp_path / "out.xlsm", tmp_path / "again.xlsm"
    patch_workbook(workbook_path, out, edit)
    patch_workbook(workbook_path, again, edit)
    assert out.read_bytes() == again.read_bytes()  # same deflate, same bytes
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None  # every CRC-32 right
        part = next(n for n in zf.namelist() if n.startswith("xl/worksheets/sheet"))
    data, xml = compressed(out, part)
    c = deflate.compressobj(6)
    assert data == c.compress(xml) + c.flush()
    if deflate is zipwriter.ZLIB:  # without zlib-ng: the bytes zipfile's level 6 writes
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        assert data == c.compress(xml) + c.flush()
    s = read_sheet(out, "客户")
    assert s.column(s.header[1])[0] == "新名称"
    assert s.columns[3][1] == 12345.67


def test_a_flush_point_ends_the_prefix_with_each_deflate(deflate: zipwriter.Deflate) -> None:
    """What ``append`` relies on: after ``FLUSH`` the rest of the entry inflates on its own."""
    fh = BytesIO()
    w = RawZipWriter(fh)
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (r, r, r) for r in range(1, 5000))
    tail = b'<row r="5000"><c r="A5000"><v>5000</v></c></row></sheetData></worksheet>'
    w.write_stream("xl/worksheets/sheet1.xml", [rows, FLUSH, tail])
    w.close()
    with zipfile.ZipFile(fh) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
        assert zf.read(info) == rows + tail
        start = entry_data_offset(fh, info)
    fh.seek(start)
    data = fh.read(info.compress_size)
    cut = data.rfind(b"\x00\x00\xff\xff") + 4
    d = zlib.decompressobj(-15)
    assert d.decompress(data[cut:]) == tail and d.eof
    assert zlib.decompress(data[:cut] + b"\x03\x00", -15) == rows  # (+ an empty final block)


def test_without_zlib_ng_the_writer_uses_zlib(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "zlib_ng", None)  # `import zlib_ng` raises ImportError
    assert zipwriter._zlib_ng() is None
    code = ("import sys; sys.modules['zlib_ng'] = None\n"
            "from workbook.xlsxio import zipwriter; print(zipwriter.DEFLATE.name)")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, env={"PYTHONPATH": str(root)}, check=True)
    assert out.stdout.strip() == "zlib"
