"""SIGKILL and SIGINT at random moments during a large in-place save, 32 times (issue 15): the
file is always the old complete workbook or the new complete one, never torn; after SIGINT the
save cleans up its temp file and the process ends by KeyboardInterrupt (the console command then
says 已中断 and exits 130). The saver is a forked child of this process (no interpreter start
per kill), so the 32 kills take a few seconds."""

from __future__ import annotations

import os
import random
import signal
import time
import zipfile
from pathlib import Path

import pytest
from branch_files import numbers_workbook

from workbook.xlsxio import SheetEdit, cleanup_temp_files, patch_workbook, read_sheet

ROWS = 3_000


def _saver(src: Path, ready: int) -> None:
    """Child: save again and again; SIGINT -> KeyboardInterrupt -> exit 130. Writes one byte
    to ``ready`` once its handler is in place: a SIGINT that lands earlier, in the interpreter's
    after-fork hooks (``random``'s reseed), is swallowed there ("Exception ignored in:
    Random.seed") and the child would then save forever — a hang of the test, not of the save."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.write(ready, b"1")
    code = 0
    try:
        k = 0
        while True:
            k += 1
            patch_workbook(src, src, {"客户": SheetEdit(columns={2: [f"x{k}"] * ROWS,
                                                                 11: ["新"] * ROWS})})
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        code = 1
    finally:
        os._exit(code)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_sigkill_and_sigint_at_random_moments(tmp_path: Path) -> None:
    """The kills run in a fresh interpreter: pytest's process has threads by now (earlier tests'
    read workers, progress bars), and a child forked from it can block forever on a lock one of
    them held at the fork — a hang of the test, not of the save."""
    import subprocess
    import sys

    here = Path(__file__).resolve().parent
    code = ("import sys; from pathlib import Path; sys.path[:0] = sys.argv[1:4]; "
            "from test_interrupts import run_kills; run_kills(Path(sys.argv[4]))")
    done = subprocess.run([sys.executable, "-c", code, str(here), str(here.parent),
                           str(here.parents[1]), str(tmp_path)],
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]


def run_kills(tmp_path: Path) -> None:
    src = tmp_path / "big.xlsx"
    numbers_workbook(src, ROWS, id_digits=6)
    probe = tmp_path / "probe.xlsx"
    t0 = time.perf_counter()
    patch_workbook(src, probe, {"客户": SheetEdit(columns={2: ["p"] * ROWS})})
    save = time.perf_counter() - t0
    probe.unlink()
    rng = random.Random(15)
    outcomes = {"old": 0, "new": 0}
    for i in range(32):
        sig = signal.SIGKILL if i % 2 == 0 else signal.SIGINT
        temps = {p.name for p in tmp_path.iterdir() if p.name.endswith(".xlsxio-tmp")}
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns into pytest
            try:
                os.close(ready_r)
                _saver(src, ready_w)
            finally:
                os._exit(130)
        os.close(ready_w)
        assert os.read(ready_r, 1) == b"1", "the saver died before it started"
        os.close(ready_r)
        if i == 0:  # the first kill waits for a completed save (a loaded machine is slow)
            mtime = src.stat().st_mtime_ns
            deadline = time.monotonic() + 60
            while src.stat().st_mtime_ns == mtime and time.monotonic() < deadline:
                time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.5 * save))
        os.kill(pid, sig)
        _, status = os.waitpid(pid, 0)
        if sig == signal.SIGINT:
            assert os.waitstatus_to_exitcode(status) in (130, -signal.SIGINT), status
            # (temp files of earlier SIGKILLs stay; this save removed its own)
            assert {p.name for p in tmp_path.iterdir() if p.name.endswith(".xlsxio-tmp")} \
                <= temps
        with zipfile.ZipFile(src) as zf:
            assert zf.testzip() is None
        d = read_sheet(src, "客户")
        assert d.n_rows == ROWS + 1 and d.column("h0")[-1] == f"C{ROWS:06d}"
        first = d.columns[1][0]
        outcomes["old" if first == 1.5 else "new"] += 1
        assert first == 1.5 or (isinstance(first, str) and first.startswith("x"))
    # leftovers of killed saves are recognisable temp files only
    for p in tmp_path.iterdir():
        assert p.name == "big.xlsx" or p.name.endswith(".xlsxio-tmp")
    cleanup_temp_files(tmp_path, older_than_s=0)
    assert [p.name for p in tmp_path.iterdir()] == ["big.xlsx"]
    assert outcomes["new"] > 0  # some saves completed between the kills (the test saw both)


def test_sigint_during_the_console_command_says_interrupted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl+C while `rerate` writes: 已中断, exit 130, the workbook as it was."""
    from branch_files import plain_branch
    from hostile_harness import rerate_cli

    p = plain_branch(tmp_path / "b.xlsx", [["K1", 300_000.0, 0.0]],
                     ["客户编号", "资产权益", "上年度净佣金"])
    before = p.read_bytes()
    from workbook.xlsxio import zipwriter

    def interrupted(self, *a, **k):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(zipwriter.RawZipWriter, "write_stream", interrupted)
    code, _, err = rerate_cli(p)
    assert code == 130 and "已中断" in err and "Traceback" not in err
    assert p.read_bytes() == before
    assert not [q for q in tmp_path.iterdir() if q.name.endswith(".xlsxio-tmp")]
