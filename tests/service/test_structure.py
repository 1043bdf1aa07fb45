"""The service's shape, as docs/architecture.md describes it: no import circles, features
that depend on the core and never the other way round or on each other, small modules, and
no ``assert`` for runtime checks (they vanish under ``python -O``).

Imports are read from the source (``ast``), ``TYPE_CHECKING`` blocks included: a circle
that only type checkers see is still one a reader has to untangle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[2] / "service"
#: The core data plane's size bound (issue: one home per feature).
CORE_PLANE_MAX_LINES = 250
MODULE_MAX_LINES = 400
#: Generated, not written: the compiled protobuf descriptor.
GENERATED = {"service.grpc.descriptor"}
#: Packages of the core: they may never import a feature.
CORE_PACKAGES = ("service.dataplane", "service.runtime", "service.http", "service.codecs")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SERVICE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(SERVICE.rglob("*.py"))}


def _imports(name: str) -> set[str]:
    """The service modules ``name`` imports (a ``from package import module`` names the
    module; ``from module import thing`` names the module)."""
    tree = ast.parse(MODULES[name].read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if candidate in MODULES:
                    found.add(candidate)
                elif node.module in MODULES:
                    found.add(node.module)
    found.discard(name)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _package_edges_ok(source: str, target: str) -> bool:
    """A package's ``__init__`` importing its own modules is how it re-exports them."""
    return target.startswith(source + ".")


def _cycles() -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(GRAPH[node]):
            if _package_edges_ok(node, target):
                continue
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(GRAPH):
        if node not in state:
            visit(node)
    return cycles


def test_no_import_circle_in_the_service() -> None:
    assert _cycles() == []


def test_the_core_never_imports_a_feature() -> None:
    offenders = [
        f"{source} -> {target}"
        for source, targets in GRAPH.items()
        if source.startswith(CORE_PACKAGES)
        for target in targets
        if target.startswith("service.features")
    ]
    assert offenders == []


def test_features_never_import_each_other() -> None:
    def feature(name: str) -> str | None:
        parts = name.split(".")
        return parts[2] if len(parts) > 2 and parts[1] == "features" else None

    offenders = [
        f"{source} -> {target}"
        for source, targets in GRAPH.items()
        if feature(source)
        for target in targets
        if feature(target) and feature(target) != feature(source)
    ]
    assert offenders == []


def test_modules_stay_small() -> None:
    sizes = {
        name: len(path.read_text().splitlines())
        for name, path in MODULES.items()
        if name not in GENERATED
    }
    assert sizes["service.dataplane.plane"] <= CORE_PLANE_MAX_LINES
    assert {name: n for name, n in sizes.items() if n > MODULE_MAX_LINES} == {}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_assert_for_runtime_checks(name: str) -> None:
    tree = ast.parse(MODULES[name].read_text())
    lines = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
    assert lines == [], f"{MODULES[name]}: assert on line(s) {lines}"


def test_the_checks_see_the_whole_service() -> None:
    """The graph is not empty by accident: the app reaches the features and the core."""
    assert "service.features" in GRAPH["service.app"]
    assert "service.dataplane.plane" in GRAPH["service.features.predict.verbs"] or (
        "service.dataplane" in GRAPH["service.features.predict.verbs"]
    )
    assert len(MODULES) > 80
