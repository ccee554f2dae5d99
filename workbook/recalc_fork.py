"""The full-recalculation verdict of a big workbook judged by a forked process while the run
is computed, instead of while the file is written (issue 16).

Reading 客户 keeps both cores busy, and so does writing the file; between them the main
thread checks, rates and logs the clients alone, the other core idle. ``EarlyRecalc.fork``
forks a process when the run begins (a small parent: nothing of the read is copied into it),
which waits; ``go`` (once 客户 is read) has it inflate the file's sheets itself and judge them
whole in one pass (``recalc.profile``: which columns of 客户 its harmless formulas read, or
that some formula needs a recalculation whatever the run writes) while the main thread
rates. The set of columns the run writes is known only at its end: ``verdict`` then takes
it (``recalc.verdict``), the same answer as ``needs_full_recalc``. The write no longer
inflates the other sheets nor judges the text it patches (``judge``: a ``RecalcJudge`` whose
``feed`` does nothing), and asks for the verdict before workbook.xml, its last entry.

A process that could not be forked, died, failed or answered about another sheet is not
trusted: the verdict is then judged here, in one pass (``needs_full_recalc``) — never a
wrong flag. ``close`` ends the process (and reaps it) whatever happened.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from multiprocessing.connection import Connection
from typing import Any

from .recalc import Profile, needs_full_recalc, profile, verdict
from .xlsxio.parallel import can_fork

#: Files smaller than this (on disk) are judged while written (``RecalcCheck``): a fork costs
#: more than it saves. (Below ``parpatch.MIN_BYTES`` of sheet XML compressed: a file whose 客户
#: is patched in shares is judged here.)
FORK_BYTES = 4 * 1024 * 1024


def _child(conn: Connection, path: str) -> None:
    """The forked judge: waits for the clients' sheet's name (None: not needed), judges the
    file and sends ``("ok", sheet, profile)`` or ``("error", repr)``. Drops stdout/stderr,
    as the read workers do (``parallel._worker_init``)."""
    sys.stdout = sys.stderr = None
    try:
        sheet = conn.recv()
    except (EOFError, OSError):
        return
    if sheet is None:
        return
    try:
        found: Any = ("ok", sheet, profile(path, sheet))
    except BaseException as exc:  # the parent judges again, in-process
        found = ("error", repr(exc))
    with contextlib.suppress(OSError):
        conn.send(found)


class EarlyRecalc:
    """A forked process judging a file's formulas (see module doc)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.sheet: str | None = None
        self._proc: Any = None
        self._conn: Connection | None = None
        self._found: Profile | None = None
        self._asked = False

    @classmethod
    def fork(cls, path: str | os.PathLike[str]) -> EarlyRecalc | None:
        """The process forked now, waiting for ``go``; None where it is not worth it (a small
        file) or not possible (no ``fork``; out of processes): then judge while writing."""
        try:
            if not can_fork() or os.path.getsize(path) < FORK_BYTES:
                return None
        except OSError:
            return None
        early = cls(path)
        ctx = multiprocessing.get_context("fork")
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=_child, args=(theirs, early.path), name="recalc-judge",
                           daemon=True)
        try:
            proc.start()
        except OSError:
            mine.close()
            return None
        finally:
            theirs.close()  # (the child's end: its exit is then our end's EOF)
        early._proc, early._conn = proc, mine
        return early

    def go(self, sheet: str) -> None:
        """Judge the file, ``sheet`` the clients' sheet (now: 客户 has been read)."""
        self.sheet = sheet
        if self._conn is not None:
            try:
                self._conn.send(sheet)
            except OSError:  # (the process is gone: judged here)
                self.close()

    def result(self) -> Profile | None:
        """The process's ``profile``, waited for; None when it has none to give (not started,
        died, failed)."""
        if not self._asked:
            self._asked = True
            self._found = self._receive()
            self.close()
        return self._found

    def _receive(self) -> Profile | None:
        if self._conn is None or self.sheet is None:
            return None
        try:
            got = self._conn.recv()
        except (EOFError, OSError):
            return None
        if not isinstance(got, tuple) or got[0] != "ok" or got[1] != self.sheet:
            return None
        return got[2]

    def verdict(self, sheet: str, written: set[int]) -> bool:
        """``needs_full_recalc(path, sheet, written)``: from the process's answer, else
        judged here."""
        found = self.result() if sheet == self.sheet else None
        if found is None:
            return needs_full_recalc(self.path, sheet, written)
        return verdict(found, written)

    def judge(self, sheet: str, written: set[int]) -> EarlyJudge:
        """What ``patch_workbook`` takes as its ``recalc_on_open``."""
        return EarlyJudge(self, sheet, written)

    def close(self) -> None:
        """End the process (if it still runs) and reap it; close the pipe."""
        conn, proc = self._conn, self._proc
        self._conn = self._proc = None
        if conn is not None:
            conn.close()
        if proc is not None:
            if proc.is_alive():
                proc.terminate()
            proc.join()
            proc.close()


class EarlyJudge:
    """``patch_workbook``'s ``RecalcJudge`` for a verdict judged before the write: nothing is
    shown to it while the file is written (``feed`` and the shares' answers do nothing);
    ``verdict`` asks ``EarlyRecalc`` (waiting for its process if it is still judging)."""

    def __init__(self, early: EarlyRecalc, sheet: str, written: set[int]) -> None:
        self.early, self.sheet, self.written = early, sheet, written

    def start(self) -> None:
        pass

    def feed(self, text: bytes) -> None:
        pass

    def share_result(self) -> tuple[bool, bool]:
        """(``parpatch``'s write worker: nothing judged there.)"""
        return False, False

    def add_share(self, found: bool, orphan: bool) -> None:
        pass

    def verdict(self) -> bool:
        return self.early.verdict(self.sheet, self.written)

    def close(self) -> None:
        self.early.close()
