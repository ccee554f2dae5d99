"""What a push remembers of each workbook it leaves, so that pushing the same decisions again
is decided without reading the workbooks (docs/headoffice.md, "Idempotent, in order").

``.client-rating-push.json`` in the workbooks' folder holds, per workbook file name, the
sha256 and size of the file as the push left it (written by it, or read whole and found
already pushed), the 营业部 its 客户 rows name (what ``match.branches_in`` reads), the
decisions it was pushed (their sha256, period, mode, rulebook version), the run of those
decisions its 变更记录 holds and the decided clients it does not hold.

A later push takes a workbook whose bytes are still those (same size and sha256 over the
whole file: any save, in Excel or elsewhere, of any sheet changes them) as what was found of
those very bytes: matched to its 营业部 without reading 客户, and — the same decisions again —
a no-op naming that run, listing those clients, without reading anything of it. Anything else
(no entry, another file, other decisions, ``--force``, clients to add from ``--extract``)
reads the workbook as before. The file is a cache: deleting it only makes the next push read
every workbook.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from rules.rerating import MODE_LABELS

STATE = ".client-rating-push.json"
_VERSION = 1


def load(folder: Path) -> dict[str, dict[str, Any]]:
    """The entries of the folder's state file ({} when absent or unreadable)."""
    try:
        got = json.loads((folder / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(got, dict) or got.get("version") != _VERSION:
        return {}
    books = got.get("workbooks")
    return {k: v for k, v in books.items() if isinstance(v, dict)} if isinstance(books,
                                                                                  dict) else {}


def save(folder: Path, entries: dict[str, dict[str, Any]]) -> None:
    """Write the entries of the workbooks still in the folder (atomically; a folder that
    cannot be written keeps its old file: the next push then reads the workbooks)."""
    keep = {k: v for k, v in sorted(entries.items()) if (folder / k).is_file()}
    body = json.dumps({"version": _VERSION, "workbooks": keep}, ensure_ascii=False, indent=1)
    with contextlib.suppress(OSError):
        fd, tmp = tempfile.mkstemp(prefix=".client-rating-push-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(body)
            os.replace(tmp, folder / STATE)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def noop_message(period: str, mode: str, run_id: str) -> str:
    """A run's words for a period and mode applied already (``workbook.run.write.outcome``)."""
    return f"{period} 的{MODE_LABELS.get(mode, mode)}已执行过（运行编号 {run_id}），本次未做任何更改。"


def entry(path: Path, dec: Any, run_id: str, missing: set[str], names: set[str],
          digest: str) -> dict[str, Any]:
    """What is remembered of ``path`` (its bytes' ``digest``, the 营业部 its rows name)
    pushed ``dec``."""
    return {"sha256": digest, "size": path.stat().st_size, "营业部": sorted(names),
            "决定文件": dec.digest, "评级期间": dec.period, "模式": dec.mode,
            "规则版本": dec.rulebook_ref, "运行编号": run_id, "未含客户": sorted(missing)}


def identity(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def unchanged(entries: dict[str, dict[str, Any]], folder: Path) -> dict[str, tuple[int, int]]:
    """The workbooks of the folder whose bytes are those remembered -> their identity (size,
    time of last change) when hashed."""
    out = {}
    for name, e in entries.items():
        p = folder / name
        try:
            before = identity(p)
            if before[0] == e.get("size") and file_digest(p) == e.get("sha256") \
                    and identity(p) == before:
                out[name] = before
        except OSError:
            continue
    return out


def pushed_already(e: dict[str, Any] | None, path: Path, fresh: tuple[int, int] | None,
                   dec: Any, *, force: bool, extract: Any) -> bool:
    """Whether ``path`` is, byte for byte, a workbook found or left pushed with ``dec`` (its
    identity still the one it had when hashed: ``fresh``), and nothing is to be added to it
    from an extract."""
    if e is None or fresh is None or force or (extract is not None and e.get("未含客户")):
        return False
    same = (e.get("决定文件"), e.get("评级期间"), e.get("模式"), e.get("规则版本")) == (
        dec.digest, dec.period, dec.mode, dec.rulebook_ref)
    try:
        return same and identity(path) == fresh
    except OSError:
        return False
