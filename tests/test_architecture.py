"""The package's shape: layers that data flows through one way, no import cycles.

The layers contract lives in ``pyproject.toml`` (``[tool.importlinter]``) and is checked
here with import-linter, so the README's test command checks it too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_layers_contract_is_kept():
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("not run from a source checkout")
    out = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                          "sys.exit(lint_imports_command())"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if not w.startswith("onescan"):
                continue
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

    for m in sorted(graph.modules):
        if m.startswith("onescan") and m not in index:
            visit(m)
    return comps


def test_no_import_cycles():
    graph = grimp.build_graph("onescan", include_external_packages=False)
    # a package's __init__ re-exporting its own modules is not a cycle of concepts
    cycles = [c for c in _cycles(graph)
              if not all(m == c[0] or m.startswith(c[0] + ".") for m in c)]
    assert cycles == []


def test_cycle_finder_finds_a_cycle():
    g = grimp.ImportGraph()
    for m in ("onescan.a", "onescan.b", "onescan.c"):
        g.add_module(m)
    g.add_import(importer="onescan.a", imported="onescan.b")
    g.add_import(importer="onescan.b", imported="onescan.c")
    g.add_import(importer="onescan.c", imported="onescan.a")
    assert _cycles(g) == [["onescan.a", "onescan.b", "onescan.c"]]


# ----------------------------------------------------------------------------- shape

SRC = Path(__import__("onescan").__file__).resolve().parent
_SOURCES = sorted(SRC.rglob("*.py"))
#: Where organ names may be written: the organ registry and the parameter tables.
_ORGAN_LITERALS_ALLOWED = ("_organs.py", "_defaults.py")


def _docstring_nodes(tree) -> set[int]:
    import ast

    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def test_no_module_over_600_lines():
    long = {str(f.relative_to(SRC)): n for f in _SOURCES if (n := f.read_text().count("\n")) > 600}
    assert long == {}


def test_no_function_over_100_lines():
    import ast

    long = []
    for f in _SOURCES:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > 100:
                    long.append(f"{f.relative_to(SRC)}:{node.lineno} {node.name} ({n} lines)")
    assert long == []


def test_the_dose_limiting_organ_is_named_only_in_the_registry_and_defaults():
    """No code tests an organ's name: string literals naming the liver live in the organ
    registry, in ``_defaults.py`` parameter tables and in data files only."""
    import ast
    import re

    from onescan.contract import limiting_organ

    word = re.compile(re.escape(limiting_organ().key), re.IGNORECASE)
    found = []
    for f in _SOURCES:
        if f.name in _ORGAN_LITERALS_ALLOWED:
            continue
        tree = ast.parse(f.read_text())
        docs = _docstring_nodes(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                if word.search(node.value):
                    found.append(f"{f.relative_to(SRC)}:{node.lineno} {node.value[:60]!r}")
    assert found == []


def test_every_public_name_resolves():
    import importlib

    import onescan

    for pkg in ("onescan", "onescan.contract", "onescan.dosimetry", "onescan.features", "onescan.models",
                "onescan.evaluation", "onescan.studies", "onescan.persistence", "onescan.report"):
        mod = importlib.import_module(pkg)
        for name in mod.__all__:
            assert getattr(mod, name) is not None, (pkg, name)
    assert callable(onescan.compute_dose) and callable(onescan.reproduce) and callable(onescan.schedule_study)
