"""pyproject.toml says what is true: package data that exists, runtime dependencies the
product uses (issue 15)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

#: Runtime dependencies the product does not import itself, and who uses them.
INDIRECT = {"pandas": "exchange-calendars, xlwings' converters", "defusedxml": "openpyxl"}
IMPORT_NAME = {"exchange-calendars": "exchange_calendars", "XlsxWriter": "xlsxwriter",
               "python-calamine": "python_calamine", "zlib-ng": "zlib_ng"}


def test_every_package_data_pattern_matches_a_file() -> None:
    for package, patterns in PYPROJECT["tool"]["setuptools"]["package-data"].items():
        for pattern in patterns:
            assert list((ROOT / package).glob(pattern)), f"{package}: {pattern} matches nothing"


def test_runtime_dependencies_are_used_by_the_product() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for pkg in ("addin", "workbook", "udfs",
                        "rules") for p in (ROOT / pkg).rglob("*.py"))
    for req in PYPROJECT["project"]["dependencies"]:
        dist = re.match(r"[A-Za-z0-9_.-]+", req).group(0)
        if dist in INDIRECT:
            continue
        mod = IMPORT_NAME.get(dist, dist)
        assert re.search(rf"^\s*(?:import|from) {re.escape(mod)}\b", sources, re.M), \
            f"{dist} is a runtime dependency but the product never imports {mod}"
