from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for `import xlsx_fixtures` in the tests

from xlsx_fixtures import build_workbook


@pytest.fixture()
def workbook_path(tmp_path: Path) -> Path:
    return build_workbook(tmp_path / "demo.xlsm", tmp_path)
