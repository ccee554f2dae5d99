"""rules/ imports nothing of udfs/, workbook/, addin/ or xlwings."""

from __future__ import annotations

import ast
from pathlib import Path

import rules

FORBIDDEN = {"udfs", "workbook", "addin", "xlwings"}


def test_rules_imports_nothing_from_the_edges():
    offenders = []
    for path in Path(rules.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
