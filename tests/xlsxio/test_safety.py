from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from branch_files import numbers_workbook

from workbook.xlsxio import (
    SheetEdit,
    UnsafeWorkbookError,
    WorkbookLockedError,
    XlsxError,
    check_safe,
    cleanup_temp_files,
    lock_file_for,
    patch_workbook,
    read_sheet,
)

ROOT = Path(__file__).resolve().parents[2]


def test_lock_file_refused(workbook_path: Path):
    assert lock_file_for(workbook_path) is None
    lock = workbook_path.with_name("~$" + workbook_path.name)
    lock.write_bytes(b"\x05alice")
    assert lock_file_for(workbook_path) == lock
    before = workbook_path.read_bytes()
    with pytest.raises(WorkbookLockedError) as exc:
        patch_workbook(workbook_path, workbook_path, {"客户": SheetEdit(cells={(2, 1): "x"})})
    assert "~$demo.xlsm" in str(exc.value) and "请先关闭" in str(exc.value)
    assert workbook_path.read_bytes() == before
    lock.unlink()
    # the Word-style owner file: first two characters replaced by ~$
    short = workbook_path.with_name("~$" + workbook_path.name[2:])
    short.write_bytes(b"x")
    assert lock_file_for(workbook_path) == short


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zw:
        zw.writestr("[Content_Types].xml", b"<Types/>")
        for k, v in entries.items():
            zw.writestr(k, v)
    return path


def test_zip_bomb_refused(tmp_path: Path):
    bomb = _zip(tmp_path / "bomb.xlsx", {"xl/worksheets/sheet1.xml": b"\0" * 5_000_000})
    assert bomb.stat().st_size < 50_000
    with pytest.raises(UnsafeWorkbookError, match="压缩比"):
        check_safe(bomb, ratio_min_size=1_000_000)
    with pytest.raises(UnsafeWorkbookError, match="过大"):
        check_safe(bomb, max_entry=1_000_000)
    with pytest.raises(UnsafeWorkbookError, match="总大小"):
        check_safe(bomb, max_total=1_000_000)
    check_safe(bomb)  # under the default limits
    many = _zip(tmp_path / "many.xlsx", {f"f{i}": b"" for i in range(30)})
    with pytest.raises(UnsafeWorkbookError, match="过多"):
        check_safe(many, max_entries=20)


def test_not_a_zip_refused(tmp_path: Path):
    p = tmp_path / "x.xlsx"
    p.write_text("hello")
    with pytest.raises(UnsafeWorkbookError, match="不是有效"):
        check_safe(p)
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(UnsafeWorkbookError, match="加密"):
        read_sheet(p, "S")


def test_dtd_refused(workbook_path: Path, tmp_path: Path):
    bad = tmp_path / "dtd.xlsm"
    with zipfile.ZipFile(workbook_path) as zf, zipfile.ZipFile(bad, "w") as zw:
        for info in zf.infolist():
            data = zf.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b"?>",
                    b'?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
                    1,
                )
            zw.writestr(info, data)
    with pytest.raises(UnsafeWorkbookError, match="DTD"):
        read_sheet(bad, "客户")
    with pytest.raises(UnsafeWorkbookError, match="DTD"):
        patch_workbook(bad, tmp_path / "o.xlsm", {"客户": SheetEdit(cells={(2, 1): "x"})})
    assert not (tmp_path / "o.xlsm").exists()
    assert [p.name for p in tmp_path.iterdir() if "xlsxio-tmp" in p.name] == []


def test_bad_value_type_leaves_file(workbook_path: Path):
    before = workbook_path.read_bytes()
    with pytest.raises(XlsxError):
        patch_workbook(workbook_path, workbook_path, {"客户": SheetEdit(cells={(2, 1): object()})})
    assert workbook_path.read_bytes() == before


def test_atomic_under_sigkill(tmp_path: Path):
    """SIGKILL during a large in-place save: the file stays the original, complete workbook."""
    src = tmp_path / "big.xlsx"
    numbers_workbook(src, 60_000)
    original = src.read_bytes()
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from workbook.xlsxio import SheetEdit, patch_workbook
        edit = SheetEdit(columns={{2: ["x"] * 60000, 11: ["新"] * 60000}})
        while True:
            patch_workbook({str(src)!r}, {str(src)!r}, {{"客户": edit}})
            print("saved", flush=True)
    """)
    rng = random.Random(1234)
    for delay in [rng.uniform(0.05, 2.5) for _ in range(4)]:
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with zipfile.ZipFile(src) as zf:
            assert zf.testzip() is None
            names = zf.namelist()
        assert "xl/worksheets/sheet1.xml" in names and "xl/workbook.xml" in names
        s = read_sheet(src, "客户")
        assert s.n_rows == 60_001
        assert s.columns[1][0] in (1.5, "x")
    # leftovers of killed saves are recognisable temp files, never the workbook itself
    for p in tmp_path.iterdir():
        assert p.name == "big.xlsx" or p.name.endswith(".xlsxio-tmp")
    assert len(original) > 0
    cleanup_temp_files(tmp_path, older_than_s=0)
    assert [p.name for p in tmp_path.iterdir()] == ["big.xlsx"]
