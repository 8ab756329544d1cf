"""The house rules, checked on the source: every import goes down, and no module circles.

Floors, lowest first: perception <- memory <- tools <- agent <- tui. An import counts
wherever it is written (module top, inside a function, under TYPE_CHECKING), and so does a
module named in a string that the code imports by name (registries of "module:Class").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("perception", "memory", "tools", "agent", "tui")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            if "migrations" in path.parts:  # Alembic loads these by path, not by import
                continue
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module ``name`` refers to (a module, or a package's attribute's module)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from pkg import module" depends on that module; "from pkg import name" on pkg
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.partition(":")[0]
            if text in MODULES and "." in text:
                names = [text]
        for name in names:
            resolved = _resolve(name)
            if resolved and resolved != module:
                targets.add(resolved)
    return targets


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def test_every_import_goes_down() -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(target) > _layer(module)
    )
    assert upward == []


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return found


def test_no_import_circles() -> None:
    assert _cycles() == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from agent.cli import UsageError\n", {"agent.cli"}),
        ("from agent.cli import errors\n", {"agent.cli.errors"}),
        ("from ..memory import bulk\n", {"memory.bulk"}),
        ("def f():\n    import tui.app\n", {"tui.app"}),
        ("X = {'a': 'tui.app:ThingApp'}\n", {"tui.app"}),
    ],
)
def test_the_checker_sees_every_kind_of_import(
    tmp_path: Path, source: str, expected: set[str]
) -> None:
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert _imports("perception.probe", path) == expected


def test_the_errors_the_command_line_maps_exist() -> None:
    """Every name in agent.cli.errors.USER_ERRORS is a real exception class."""
    import importlib

    from agent.cli.errors import USER_ERRORS

    for name in USER_ERRORS:
        module_name, _, class_name = name.rpartition(".")
        cls = getattr(importlib.import_module(module_name), class_name)
        assert issubclass(cls, Exception), name
        assert f"{cls.__module__}.{cls.__qualname__}" == name  # where main will look for it
