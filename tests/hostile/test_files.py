"""Attack corpus, the file (issue 15): broken, forged and odd workbooks given to `rerate` and
`audit`. Each case: an exit status and one clear Chinese line, never a traceback; the file
untouched (same bytes) or a complete valid result with every client row.

Cases already covered elsewhere (tests/xlsxio/test_safety.py: lock file, zip-bomb limits of
check_safe, DTD in a sheet, OLE/.xls magic, SIGKILL during a save) are taken further here
through the commands, not repeated."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from branch_files import plain_branch
from hostile_harness import (
    assert_complete,
    assert_refused,
    assert_untouched_or_complete,
    cli,
    client_ids,
    rerate_cli,
)

HEADER = ["客户编号", "客户名称", "资产权益", "上年度净佣金"]
ROWS = [["H1", "甲", 300_000.0, 0.0], ["H2", "乙", 20_000_000.0, None],
        ["H3", "丙", 50_000.0, 4_000.0]]
IDS = ["H1", "H2", "H3"]


@pytest.fixture()
def branch(tmp_path: Path) -> Path:
    return plain_branch(tmp_path / "branch.xlsx", [list(r) for r in ROWS], HEADER)


def _rewrite(src: Path, dst: Path, change=None, add: list[tuple[str, bytes]] = (),
             drop: tuple[str, ...] = ()) -> Path:
    """A copy of ``src`` with entries changed (``change(name, data) -> data``), added, dropped
    (entries written as they are: duplicates and odd names too)."""
    with zipfile.ZipFile(src) as zf:
        entries = [(i.filename, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zw:
        for name, data in entries:
            if name in drop:
                continue
            if change is not None:
                data = change(name, data)
            zw.writestr(name, data)
        for name, data in add:
            zw.writestr(name, data)
    return dst


def _refused_both(p: Path, match: str | None = None, *, audit_reads: bool = True) -> str:
    """rerate and audit both refuse ``p``, leaving it as it was; returns the rerate message.
    ``audit_reads=False``: a part only the writer reads; the audit may then succeed."""
    before = p.read_bytes() if p.is_file() else None
    code, _, err = rerate_cli(p)
    assert_refused(code, err, p, before)
    if match:
        assert match in err, err
    code2, _, err2 = cli(["audit", str(p)])
    if audit_reads or code2 != 0:
        assert_refused(code2, err2, p, before)
    return err


# ------------------------------------------------------------------ not a workbook / broken zip

def test_truncated_zip(branch: Path) -> None:
    data = branch.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 100):
        branch.write_bytes(data[:cut])
        _refused_both(branch, "不是有效的 Excel 工作簿")


def test_truncated_entry_data(branch: Path, tmp_path: Path) -> None:
    """The central directory intact but a compressed entry corrupted (CRC/inflate error)."""
    data = bytearray(branch.read_bytes())
    with zipfile.ZipFile(branch) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for k in range(start + 5, start + info.compress_size - 5):
        data[k] ^= 0x5A
    branch.write_bytes(bytes(data))
    _refused_both(branch)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_entry_names(branch: Path, tmp_path: Path) -> None:
    p = _rewrite(branch, tmp_path / "dup.xlsx",
                 add=[("xl/worksheets/sheet1.xml", b"<worksheet/>")])
    _refused_both(p, "重名")


@pytest.mark.parametrize("name", ["../evil.xml", "xl/../../evil.xml", "/etc/evil.xml",
                                  "xl\\..\\evil.xml"])
def test_entry_names_leaving_the_package(branch: Path, tmp_path: Path, name: str) -> None:
    p = _rewrite(branch, tmp_path / "dots.xlsx", add=[(name, b"<x/>")])
    _refused_both(p, "条目名称")


@pytest.mark.parametrize("drop", ["[Content_Types].xml", "xl/workbook.xml",
                                  "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet1.xml"])
def test_missing_parts(branch: Path, tmp_path: Path, drop: str) -> None:
    p = _rewrite(branch, tmp_path / "missing.xlsx", drop=(drop,))
    _refused_both(p)


def test_malformed_sheet_xml(branch: Path, tmp_path: Path) -> None:
    def cut(name: str, data: bytes) -> bytes:
        if name == "xl/worksheets/sheet1.xml":
            i = data.index(b"<row r=\"3\"")
            return data[:i + 20]  # ends inside a row: no </sheetData>
        return data

    _refused_both(_rewrite(branch, tmp_path / "cut.xlsx", cut))


@pytest.mark.parametrize("garbage", [b"<row r=\"2\"><c r=\"A2\" t=\"s\"><v>x</v></c></row>",
                                     b"<row r=\"2\"><c r=\"A2\"><v>1<v></c></row>"])
def test_garbled_cells(branch: Path, tmp_path: Path, garbage: bytes) -> None:
    import re

    def swap(name: str, data: bytes) -> bytes:
        if name == "xl/worksheets/sheet1.xml":
            return re.sub(rb'<row r="2".*?</row>', garbage, data, count=1, flags=re.S)
        return data

    p = _rewrite(branch, tmp_path / "garbled.xlsx", swap)
    from workbook.xlsxio import XlsxError

    before = p.read_bytes()
    try:
        ids = client_ids(p)
    except XlsxError:  # unreadable: then the commands refuse it too
        _refused_both(p)
        return
    code, _, err = rerate_cli(p)
    assert_untouched_or_complete(code, err, p, before, ids)


def test_utf16_parts(branch: Path, tmp_path: Path) -> None:
    for part in ("xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/sharedStrings.xml",
                 "xl/styles.xml"):
        def enc(name: str, data: bytes, part=part) -> bytes:
            if name == part:
                text = data.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
                return text.encode("utf-16")
            return data

        p = _rewrite(branch, tmp_path / "u16.xlsx", enc)
        _refused_both(p, "UTF-16")


XML_PARTS = ["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml",
             "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/sharedStrings.xml",
             "xl/worksheets/sheet1.xml"]


@pytest.mark.parametrize("part", XML_PARTS)
@pytest.mark.parametrize("doctype", [
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>',
    b'<!DOCTYPE x SYSTEM "file:///etc/passwd">',
    b'<!-- c --><!DOCTYPE x [<!ENTITY % p SYSTEM "http://example.invalid/x">%p;]>',
], ids=["billion-laughs", "external", "parameter-entity"])
def test_dtd_in_every_xml_part_we_read(branch: Path, tmp_path: Path, part: str,
                                       doctype: bytes) -> None:
    def inject(name: str, data: bytes) -> bytes:
        if name == part:
            if data.startswith(b"<?xml"):
                i = data.index(b"?>") + 2
                return data[:i] + doctype + data[i:]
            return doctype + data
        return data

    p = _rewrite(branch, tmp_path / "dtd.xlsx", inject)
    _refused_both(p, "DTD", audit_reads=part != "[Content_Types].xml")


def test_zip_bomb_through_the_commands(branch: Path, tmp_path: Path) -> None:
    # 40 MB of one repeated row: ~40 KB compressed (ratio ~1000), refused before inflating
    p = _rewrite(branch, tmp_path / "bomb.xlsx",
                 add=[("xl/media/bomb.bin", b"\0" * 40_000_000)])
    _refused_both(p, "压缩炸弹")


def test_not_a_workbook(tmp_path: Path) -> None:
    cases = {
        "renamed.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000,
        "csv.xlsx": "客户编号,资产权益\nC1,100\n".encode(),
        "empty.xlsx": b"",
        "png.xlsx": b"\x89PNG\r\n\x1a\n" + b"\0" * 100,
    }
    for name, data in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        _refused_both(p)


def test_encrypted_workbook(tmp_path: Path) -> None:
    """An Excel file with an open password is an OLE container (EncryptionInfo +
    EncryptedPackage); a zip whose entries carry the encryption flag is refused too."""
    p = tmp_path / "secret.xlsx"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 8000)
    assert "密码" in _refused_both(p)
    q = tmp_path / "zipcrypto.xlsx"
    with zipfile.ZipFile(q, "w") as zw:
        zw.writestr("[Content_Types].xml", b"<Types/>")
    data = bytearray(q.read_bytes())
    data[6] |= 1  # general purpose flag, local header
    k = data.rindex(b"PK\x01\x02")
    data[k + 8] |= 1  # and central directory
    q.write_bytes(bytes(data))
    assert "加密" in _refused_both(q)


# ------------------------------------------------------------------ what FILE is

def test_directory_fifo_and_dangling_link_as_file(tmp_path: Path) -> None:
    d = tmp_path / "dir.xlsx"
    d.mkdir()
    _refused_both(d)
    fifo = tmp_path / "fifo.xlsx"
    os.mkfifo(fifo)
    _refused_both(fifo)  # (does not block reading the FIFO)
    link = tmp_path / "dangling.xlsx"
    link.symlink_to(tmp_path / "nowhere.xlsx")
    _refused_both(link)
    assert not (tmp_path / "nowhere.xlsx").exists()


def test_symlink_as_file_writes_the_target(branch: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.xlsx"
    link.symlink_to(branch)
    code, _, err = rerate_cli(link)
    assert_complete(code, err, branch, IDS)
    assert link.is_symlink() and link.resolve() == branch.resolve()


def test_read_only_file(branch: Path) -> None:
    os.chmod(branch, stat.S_IRUSR | stat.S_IRGRP)
    try:
        before = branch.read_bytes()
        code, _, err = rerate_cli(branch)
        assert_refused(code, err, branch, before)
        assert "只读" in err
        assert stat.S_IMODE(branch.stat().st_mode) == stat.S_IRUSR | stat.S_IRGRP
        # a read-only file can still be audited (audit never writes)
        code, _, err = cli(["audit", str(branch)])
        assert code == 0, err
    finally:
        os.chmod(branch, 0o644)


def test_full_disk_simulated(branch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC in the middle of writing the new file: one message, the workbook as it was, no
    temp file left, and the source file handle closed (on Windows it would stay locked)."""
    import builtins

    from workbook.xlsxio import patch as patch_mod
    from workbook.xlsxio import zipwriter

    opened = []
    real_open = builtins.open

    def tracking_open(file, mode="r", *a, **k):
        fh = real_open(file, mode, *a, **k)
        opened.append(fh)
        return fh

    calls = {"n": 0}
    real_write = zipwriter.RawZipWriter.write_stream

    def full(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(branch))
        return real_write(self, *a, **k)

    monkeypatch.setattr(patch_mod, "open", tracking_open, raising=False)
    monkeypatch.setattr(zipwriter.RawZipWriter, "write_stream", full)
    before = branch.read_bytes()
    code, _, err = rerate_cli(branch)
    assert_refused(code, err, branch, before)
    assert os.strerror(errno.ENOSPC) in err
    assert opened and all(fh.closed for fh in opened)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="needs root")
def test_full_disk_on_a_tiny_tmpfs(tmp_path: Path) -> None:
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        rows = [[f"T{i:05d}", "名" * 20, float(i * 1000), 0.0] for i in range(600)]
        p = plain_branch(tmp_path / "b.xlsx", rows, HEADER)
        assert p.stat().st_size < 40_000
        dst = mnt / "b.xlsx"
        shutil.copy(p, dst)
        before = dst.read_bytes()
        code, _, err = rerate_cli(dst)
        assert_refused(code, err, dst, before)
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


# ------------------------------------------------------------------ the environment

def _subprocess_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "-c", "import sys; from addin.cli import main; sys.exit(main())", *args],
        capture_output=True, env={**env, "PYTHONPATH": str(root)}, timeout=120)


def test_home_unset_and_lang_c(branch: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C", "LC_ALL": "C"}
    r = _subprocess_cli(["rerate", str(branch), "--period", "2026Q3", "--mode", "quarterly",
                         "--operator", "测试员"], env)
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in r.stderr
    assert_complete(0, "", branch, IDS)
    r = _subprocess_cli(["audit", str(branch)], env)
    assert r.returncode == 0, r.stdout.decode("utf-8", "replace")
    # a message in Chinese still reaches a C-locale terminal readably (UTF-8, no crash)
    r = _subprocess_cli(["rerate", str(branch) + ".nope", "--period", "2026Q3", "--mode",
                         "quarterly", "--operator", "x"], env)
    assert r.returncode == 1 and "错误".encode() in r.stderr and b"Traceback" not in r.stderr


def test_two_runs_on_one_file_at_once(branch: Path) -> None:
    env = {**os.environ}
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-c", "import sys; from addin.cli import main; sys.exit(main())",
           "rerate", str(branch), "--period", "2026Q3", "--mode", "quarterly", "--operator", "t"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**env, "PYTHONPATH": str(root)}) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode in (0, 1), err.decode()
        assert b"Traceback" not in err
    assert_complete(0, "", branch, IDS)
    from workbook.xlsxio import read_sheet

    log = read_sheet(branch, "变更记录")
    kinds = log.column("记录类型")
    # one run for the period (the other was refused or was a no-op), never a torn log
    assert kinds.count("运行") == 1 and kinds.count("变更") == 3


def test_a_cell_naming_another_row(branch: Path, tmp_path: Path) -> None:
    """``<c r="A0">`` (or A2) inside row 3: read by its column letters it would pass for row 3's
    client id (issue 15's last gap). Refused by both commands, naming the sheet and the cell."""
    for bad in (b"A0", b"A2"):
        def move(name: str, data: bytes, bad: bytes = bad) -> bytes:
            if name == "xl/worksheets/sheet1.xml":
                assert b'<c r="A3"' in data
                return data.replace(b'<c r="A3"', b'<c r="' + bad + b'"', 1)
            return data

        p = _rewrite(branch, tmp_path / f"moved_{bad.decode()}.xlsx", move)
        err = _refused_both(p, bad.decode())
        assert "客户" in err and "第 3 行" in err, err
