"""The layers of docs/architecture (ARCHITECTURE.md) as a test: rules ← udfs ← workbook ← addin.

Checked on the source (an AST walk over every import, at module level or inside a function):
- **upward imports**: ``rules/`` imports nothing of ours; ``udfs/`` only ``rules/``; ``workbook/``
  only ``rules/`` (the Excel functions' bodies are ``rules.functions``, free of xlwings);
  ``addin/`` anything;
- **xlwings** only in ``addin/`` and ``udfs/`` — and at run time: importing the job and the
  auditor must not load it;
- **cycles**: no import cycle between modules (module-level imports: the ones Python runs on
  import; an import inside a function is a call-time dependency and may point back);
- **private names**: no ``_name`` (function, class, constant) imported from another module or
  reached as ``module._name``, in any package; a ``_module`` may only be imported inside its own
  package (that is what the underscore says).

``ALLOWED`` lists the violations that exist on main in files of other rooms of issue 11, each with
who removes it; a listed violation that is gone fails too, so that the list only shrinks.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rules", "udfs", "workbook", "addin")
#: what each package may import of ours (besides itself)
MAY_IMPORT = {"rules": set(), "udfs": {"rules"}, "workbook": {"rules"},
              "addin": {"rules", "udfs", "workbook"}}
XLWINGS_OK = {"udfs", "addin"}


#: Known violations (kind, "importer: imported") -> why they are tolerated and who removes them.
#: Empty: every room of issue 11 is merged. A listed violation that is gone fails the test.
ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str  # importing module
    target: str  # imported module (or package)
    name: str | None  # the name taken from it (from X import name), None for import X
    lineno: int
    top_level: bool  # run on import (not inside a function)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


MODULES = _sources()


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _imports(module: str, path: Path, tree: ast.Module) -> Iterator[Import]:
    is_package = path.name == "__init__.py"
    top = set()
    for node in tree.body:  # module level, also inside if/try at module level
        for sub in ast.walk(node):
            if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                break
            top.add(id(sub))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield Import(module, a.name, None, node.lineno, id(node) in top)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            for a in node.names:
                sub = f"{base}.{a.name}"
                if sub in MODULES:  # from pkg import module
                    yield Import(module, sub, None, node.lineno, id(node) in top)
                else:
                    yield Import(module, base, a.name, node.lineno, id(node) in top)


def _type_checking_only(tree: ast.Module) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out |= {id(n) for s in node.body for n in ast.walk(s)}
    return out


def _private_attributes(module: str, tree: ast.Module, imports: list[Import]) -> Iterator[str]:
    """``alias._name`` where ``alias`` is a module of ours imported here."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname and a.name in MODULES:
                    aliases[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, MODULES[module].name == "__init__.py", node.level, node.module)
            for a in node.names:
                if f"{base}.{a.name}" in MODULES:
                    aliases[a.asname or a.name] = f"{base}.{a.name}"
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and _is_private(node.attr)
                and f"{aliases[node.value.id]}.{node.attr}" not in MODULES):
            yield f"{module}: {aliases[node.value.id]}.{node.attr}"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _package(name: str) -> str:
    return name.split(".")[0]


def _parent(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


def violations() -> dict[str, set[str]]:
    """kind -> set of 'importer: imported' texts."""
    out: dict[str, set[str]] = {"upward": set(), "xlwings": set(), "private": set(),
                                "cycle": set()}
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_only(tree)
        imports = list(_imports(module, path, tree))
        pkg = _package(module)
        for imp in imports:
            tpkg = _package(imp.target)
            if tpkg == "xlwings" and pkg not in XLWINGS_OK:
                out["xlwings"].add(f"{module}: {imp.target}")
            if tpkg in PACKAGES and tpkg != pkg and tpkg not in MAY_IMPORT[pkg]:
                out["upward"].add(f"{module}: {imp.target}")
            if tpkg not in PACKAGES:
                continue
            what = f"{imp.target}.{imp.name}" if imp.name else imp.target
            if imp.name and _is_private(imp.name) and imp.target != module:
                out["private"].add(f"{module}: {what}")
            last = imp.target.rsplit(".", 1)[-1]
            if (imp.name is None and _is_private(last)
                    and not module.startswith(_parent(imp.target) + ".")):
                out["private"].add(f"{module}: {what}")  # a _module outside its package
            if imp.top_level and id(imp) not in skip and imp.target in MODULES:
                graph[module].add(imp.target)
        out["private"] |= set(_private_attributes(module, tree, imports))
    out["cycle"] = {" -> ".join(c) for c in _cycles(graph)}
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w == v or _is_ancestor_package(w, v):
                continue  # a module importing its own package's __init__ (re-exports)
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def _is_ancestor_package(pkg: str, module: str) -> bool:
    return module.startswith(pkg + ".")


FOUND = violations()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


@pytest.mark.parametrize("kind", ["upward", "xlwings", "private", "cycle"])
def test_no_new_violation(kind: str) -> None:
    new = sorted(v for v in FOUND[kind] if (kind, v) not in ALLOWED)
    assert new == [], f"{kind}: {new}"


def test_the_allow_list_only_shrinks() -> None:
    gone = sorted(f"{k}: {v}" for k, v in ALLOWED if v not in FOUND[k])
    assert gone == [], f"fixed, delete from ALLOWED in tests/test_layering.py: {gone}"


def test_the_checks_see_what_they_look_for() -> None:
    # the walk finds each kind of violation in a made-up module (so a pass means something)
    src = ("import xlwings\nfrom addin import cli\nfrom workbook.history import _text\n"
           "from workbook import schema\nx = schema._INPUT_FALLBACK\n")
    tree = ast.parse(src)
    imports = list(_imports("rules.fake", ROOT / "rules" / "fake.py", tree))
    assert {(i.target, i.name) for i in imports} >= {
        ("xlwings", None), ("addin.cli", None), ("workbook.history", "_text"),
        ("workbook.schema", None)}
    MODULES["rules.fake"] = ROOT / "rules" / "fake.py"
    try:
        assert list(_private_attributes("rules.fake", tree, imports)) == [
            "rules.fake: workbook.schema._INPUT_FALLBACK"]
    finally:
        del MODULES["rules.fake"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_job_and_the_auditor_load_no_xlwings() -> None:
    code = ("import sys, workbook.job, workbook.audit, workbook.template\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('xlwings', 'udfs')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env=_env(), check=True).stdout
    assert out.strip() == "[]"


def test_rules_and_the_function_bodies_load_no_xlwings() -> None:
    code = ("import sys, rules, rules.cells, rules.functions.catalogue, addin.cli\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('xlwings', 'udfs')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env=_env(), check=True).stdout
    assert out.strip() == "[]"



if __name__ == "__main__":
    for kind, found in violations().items():
        for v in sorted(found):
            print(kind, "|", v)
