"""mypy is clean on workbook/ (outside other rooms' modules) and addin/report.py (issue 11).

Runs the same command a developer runs; imported modules of other rooms are followed silently
(their own errors are checked by their own test)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "workbook" / "run").glob("*.py")) + [
    f"workbook/{m}.py" for m in ("source", "job", "schema", "client_cells", "history", "summary",
                                 "overrides", "transfers", "suitability2017", "demo", "headers",
                                 "grid", "recalc")] + ["addin/report.py"]


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                    reason="mypy is not installed (pip install mypy: a dev dependency)")
def test_mypy_clean_on_workbook_modules():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "mypy", "--python-version", "3.11",
                        "--ignore-missing-imports", "--follow-imports=silent",
                        "--no-incremental", *FILES],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Success: no issues found" in r.stdout
