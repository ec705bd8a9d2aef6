"""The house rules that keep the code readable as rooms (docs/architecture.md).

The layer contracts themselves run in `make test` as `lint-imports` (.importlinter); these
tests add what a contract cannot say: no import cycles anywhere, and no import hidden
inside a function without a comment saying why it is there.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

from tests.conftest import ROOT

PACKAGES = ("bot", "actions")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Every direct import a -> b for which b also reaches a: each a cycle, as a chain."""
    found = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                found.append((importer, *back))
    return found


def test_no_import_cycles(graph: grimp.ImportGraph) -> None:
    found = cycles(graph)
    assert found == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("x", "x.a", "x.b", "x.c"):
        graph.add_module(module)
    graph.add_import(importer="x.a", imported="x.b")
    graph.add_import(importer="x.b", imported="x.c")
    assert cycles(graph) == []
    graph.add_import(importer="x.c", imported="x.a")
    assert ("x.a", "x.b", "x.c", "x.a") in cycles(graph)


def local_imports_without_a_reason(path: Path) -> list[int]:
    """Lines of imports inside a function with no comment saying why they are there."""
    source = path.read_text()
    lines = source.splitlines()
    bare = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import | ast.ImportFrom):
                span = lines[inner.lineno - 1 : inner.end_lineno]
                if not any("#" in line for line in span):
                    bare.append(inner.lineno)
    return sorted(set(bare))


def test_imports_inside_functions_say_why() -> None:
    found = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if (lines := local_imports_without_a_reason(path))
    }
    assert found == {}, (
        "imports inside functions hide cycles; move these to the top of the module, or say "
        f"on the line why they must wait (a heavy start-up cost): {found}"
    )


def test_the_local_import_check_sees_a_bare_one(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import os\n\ndef f():\n    import json\n    import spacy  # heavy: on first use\n"
    )
    assert local_imports_without_a_reason(module) == [4]
