"""Issue 11's size rule, kept: no module of the product over 500 lines, no function over 60.

A newcomer reads the main path as named steps; a function that grows past a screen or a module
that mixes concerns fails here, with its name and length, before review has to find it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("addin", "rules", "udfs", "workbook")
MAX_MODULE, MAX_FUNCTION = 500, 60


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_the_packages_have_modules():
    assert len(_modules()) > 100  # (the walk finds the product, not an empty folder)


def test_no_module_over_500_lines():
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in _modules()
            if (n := p.read_text(encoding="utf-8").count("\n")) > MAX_MODULE]
    assert long == [], "split by concern (docs/architecture.md): " + "; ".join(long)


def test_no_function_over_60_lines():
    long = []
    for p in _modules():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION:
                    long.append(f"{p.relative_to(ROOT)}:{node.lineno} {node.name}: {n} lines")
    assert long == [], "make it named steps: " + "; ".join(long)
