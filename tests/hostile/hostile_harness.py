"""What every attack case asserts (issue 15): the run ends with an exit status, never a
traceback; when it fails the message is Chinese and the file is untouched (same bytes); when
it succeeds the file is a complete, valid workbook in which no client row was lost."""

from __future__ import annotations

import contextlib
import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

from addin.cli import main
from workbook.xlsxio import read_sheet

CJK = re.compile(r"[\u4e00-\u9fff]")


def cli(argv: Sequence[str]) -> tuple[int, str, str]:
    """Run the console command in this process; an exception escaping it fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def rerate_cli(path: Path, *extra: str) -> tuple[int, str, str]:
    return cli(["rerate", str(path), "--period", "2026Q3", "--mode", "quarterly",
                "--operator", "测试员", *extra])


def client_ids(path: Path) -> list:
    d = read_sheet(path, "客户")
    return d.column(d.header[0])


def assert_refused(code: int, err: str, path: Path, before: bytes | None) -> None:
    """Exit 1 (2 for audit) with one clear Chinese line, the file as it was."""
    assert code in (1, 2), (code, err)
    assert "Traceback" not in err and err.startswith("错误："), err
    assert CJK.search(err), err
    if before is not None:
        assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".xlsxio-tmp")]


def assert_complete(code: int, err: str, path: Path, ids_before: list) -> None:
    """Exit 0 or 3 and a valid workbook holding every client row of before, in order."""
    assert code in (0, 3), (code, err)
    assert "Traceback" not in err
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    assert client_ids(path) == ids_before
    log = read_sheet(path, "变更记录")
    assert not log.formulas  # what the log copies from 客户 is text, never a formula


def assert_untouched_or_complete(code: int, err: str, path: Path, before: bytes,
                                 ids_before: list) -> None:
    if code in (1, 2):
        assert_refused(code, err, path, before)
    else:
        assert_complete(code, err, path, ids_before)
