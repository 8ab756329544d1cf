"""perception/moss imports one way: no module imports one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "perception" / "moss"


def imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "perception.moss."
            ):
                found.add(node.module.split(".")[2])
        graph[path.stem] = found
    return graph


def test_no_import_cycles_in_the_model_package() -> None:
    graph = imports()

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, set()) - seen:
            if nxt == target or reaches(nxt, target, seen | {nxt}):
                return True
        return False

    cycles = [name for name in graph if reaches(name, name, set())]
    assert cycles == [], f"modules on an import cycle: {cycles}"
    assert "generation" not in graph["modeling"] and "loading" not in graph["processor"]
