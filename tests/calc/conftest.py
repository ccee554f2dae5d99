"""LibreOffice Calc tests: one headless soffice per test module (a fresh profile in a temp
folder, the extension installed with unopkg); skipped where LibreOffice or uno is missing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # calc_office, uno_driver
from calc_office import Office, missing


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    why = missing()
    if why:
        pytest.skip(why)
    o = Office(tmp_path_factory.mktemp("calc"))
    o.install()
    o.start()
    try:
        yield o
    finally:
        o.stop()
