"""The import graph of the project's packages: no cycles, and the layers point one way.

The graph is read from the source with `ast` (every import, including those inside functions,
which still tie two modules together), so a cycle hidden in a function body counts too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("emergency", "registry", "geo", "notify", "common", "cap", "hazards")

# What each package may import, besides the standard library and third-party libraries.
# `common` is the bottom every package may stand on; it stands on none of ours.
ALLOWED = {
    "common": set(),
    "geo": {"common"},
    "cap": {"common"},
    "notify": {"common"},
    "registry": {"geo", "common"},
    "hazards": {"geo", "common"},
    "emergency": {"registry", "notify", "geo", "common", "cap", "hazards"},
}
NO_FLASK = ("common", "geo", "notify", "registry", "cap", "hazards")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts and "versions" in path.parts:
                continue
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module this one names in an import statement, resolved to dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:
                child = f"{target}.{alias.name}"
                names.add(child if child in MODULES else target)
    return names


GRAPH = {name: {i for i in _imports(name, path) if i in MODULES} for name, path in MODULES.items()}
EXTERNAL = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), plus self-imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_project_has_no_import_cycle():
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_the_packages_below_it(package):
    others = set(PACKAGES) - {package} - ALLOWED[package]
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in EXTERNAL.items() if module.split(".")[0] == package
        for target in targets if target.split(".")[0] in others
    )
    assert wrong == []


@pytest.mark.parametrize("package", NO_FLASK)
def test_the_libraries_do_not_import_flask(package):
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in EXTERNAL.items() if module.split(".")[0] == package
        for target in targets if target.split(".")[0].startswith("flask")
    )
    assert wrong == []


def test_no_module_imports_another_modules_private_name():
    wrong = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or node.level):
                wrong += [f"{name}: {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert wrong == []
