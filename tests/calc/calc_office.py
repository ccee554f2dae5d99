"""One headless LibreOffice for a test module: a fresh user profile in a temp folder with the
extension installed by ``unopkg``, ``soffice`` listening on a UNO pipe, and ``run(op, …)``
calling tests/calc/uno_driver.py (under a Python that has LibreOffice's ``uno``) against it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

from addin.calc import build
from addin.calc.template import uno_python

DRIVER = Path(__file__).with_name("uno_driver.py")


def missing() -> str | None:
    """Why LibreOffice tests cannot run here (None: they can)."""
    if not shutil.which("soffice"):
        return "LibreOffice (soffice) is not installed"
    if uno_python() is None:
        return "no Python with LibreOffice's uno module (python3-uno)"
    if build.unoidl_write() is None and not (build.EXT / "XClientRating.rdb").exists():
        return "no type library and no unoidl-write"
    return None


class Office:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        # (its own folder in the temp dir, reachable by the user unopkg runs as under root)
        self.profile = Path(tempfile.mkdtemp(prefix="client-rating-calc-"))
        self.profile.chmod(0o755)
        self.pipe = f"client_rating_{uuid.uuid4().hex[:12]}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.python = uno_python()

    def install(self) -> Path:
        oxt = build.build_oxt(self.tmp)
        build.install(oxt, self.profile)
        return oxt

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["soffice", "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
             "--nolockcheck", *build.profile_arg(self.profile),
             f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.run("ping", timeout=120.0)

    def run(self, op: str, **kw: Any) -> Any:
        req = self.tmp / f"req-{uuid.uuid4().hex[:8]}.json"
        res = req.with_name(req.name.replace("req-", "res-"))
        req.write_text(json.dumps({"op": op, **kw}, ensure_ascii=False), encoding="utf-8")
        r = subprocess.run([self.python, str(DRIVER), self.pipe, str(req), str(res)],
                           capture_output=True, text=True, timeout=600)
        if not res.exists():
            raise RuntimeError(f"uno driver failed ({r.returncode}): {r.stderr[-2000:]}")
        out = json.loads(res.read_text(encoding="utf-8"))
        if "error" in out:
            raise RuntimeError(f"{out['error']}\n{out['traceback']}")
        return out["ok"]

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            self.run("terminate", timeout=5.0)
            self.proc.wait(timeout=30)
        except Exception:
            os.killpg(self.proc.pid, signal.SIGKILL)  # (our own soffice, by its process group)
            self.proc.wait(timeout=30)
        self.proc = None
        shutil.rmtree(self.profile, ignore_errors=True)
