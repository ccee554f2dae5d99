"""Fixtures of the head-office table tests."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for every Spark test (skipped without pyspark or Java)."""
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[spark]')")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (apt-get install openjdk-17-jre-headless): Spark cannot start")
    from workbook.table.spark import session

    s = session("local[2]")
    yield s
    s.stop()
