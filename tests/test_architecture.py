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
