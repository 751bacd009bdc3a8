"""Imports follow the data flow: request -> validation -> endpoint -> engines -> media/captions -> storage.

Read from the source with `ast` (function-level imports included), so a shortcut taken inside a
function shows up as well as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from f5worker import dispatch

PACKAGE = Path(__file__).resolve().parents[1] / "f5worker"
# Modules every layer may use; they import nothing of the package themselves (settings: only errors).
FOUNDATION = {"words", "audio_rates", "errors"}
# What a layer must never reach: earlier stages of the flow.
FORBIDDEN = {
    "storage": ("endpoints", "engines", "media", "dispatch", "context", "streaming", "job_outputs", "schemas"),
    "media": ("endpoints", "engines", "captions", "dispatch", "context", "streaming", "job_outputs"),
    "captions": (
        "endpoints",
        "engines",
        "timing",
        "dispatch",
        "context",
        "streaming",
        "job_outputs",
        "storage",
        "schemas",
    ),
    "engines": ("endpoints", "dispatch", "context", "streaming", "job_outputs", "storage", "schemas", "voices"),
    "timing": ("endpoints", "dispatch", "context", "streaming", "job_outputs", "storage", "schemas", "voices"),
    "voices": ("endpoints", "engines", "media", "dispatch", "context", "streaming"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Package modules `path` imports, as names relative to the package ('captions.render')."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
            if node.module:
                found.add(target)
            else:  # `from . import tts`
                found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("f5worker"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("f5worker"))
    return {module.removeprefix("f5worker").lstrip(".") for module in found} - {""}


MODULES = {module_name(path).removeprefix("f5worker").lstrip("."): path for path in PACKAGE.rglob("*.py")}
IMPORTS = {name: imported_modules(path) for name, path in MODULES.items()}


def layer(name: str) -> str:
    return name.split(".", 1)[0]


@pytest.mark.parametrize("name", sorted(FOUNDATION))
def test_foundation_modules_import_nothing_of_the_package(name: str) -> None:
    assert IMPORTS[name] == set()


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) in FORBIDDEN))
def test_no_module_reaches_back_up_the_flow(name: str) -> None:
    backwards = {target for target in IMPORTS[name] if layer(target) in FORBIDDEN[layer(name)]}
    assert not backwards, f"{name} imports {sorted(backwards)}"


def test_endpoints_do_not_import_each_other() -> None:
    """Shared endpoint helpers have their own modules; an endpoint module is only what dispatch runs."""
    endpoints = {endpoint.run.__module__.removeprefix("f5worker.") for endpoint in dispatch.ENDPOINTS.values()}
    assert len(endpoints) == len(dispatch.ENDPOINTS)
    crossing = {
        (name, target)
        for name in MODULES
        if layer(name) == "endpoints"
        for target in IMPORTS[name]
        if target in endpoints and target != name
    }
    assert not crossing, sorted(crossing)


def test_no_import_cycles() -> None:
    """Not even through function-level imports, which hide a cycle from the interpreter."""
    graph = {name: {target for target in targets if target in MODULES} for name, targets in IMPORTS.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if target == name or target == "" or name.startswith(target + "."):
                continue  # a package's own __init__ re-exports
            if state.get(target) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path, name, target]))
            if target not in state:
                visit(target, [*path, name])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


SCRIPTS = PACKAGE.parent / "scripts"


def script_imports() -> dict[str, set[str]]:
    """scripts/*.py importing one another by bare name (they run with scripts/ on sys.path)."""
    names = {path.stem: path for path in SCRIPTS.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module)
        graph[name] = found & names.keys()
    return graph


def test_scripts_do_not_import_each_other_in_a_circle() -> None:
    """Not even through function-level imports (stack.py and stack_snapshot.py once did)."""
    graph = script_imports()
    assert graph["stack"] >= {"stack_snapshot", "stack_base"}  # the scan still sees what it should

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})) for nxt in graph[start])

    circles = sorted(name for name in graph if reaches(name, name, {name}))
    assert not circles, f"scripts in an import cycle: {circles}"


def test_the_client_imports_nothing_of_the_worker() -> None:
    """The caller's side (standard library and requests) can be copied into a pipeline on its own."""
    client = {name: targets for name, targets in IMPORTS.items() if layer(name) == "client"}
    assert len(client) > 1
    outside = {(name, target) for name, targets in client.items() for target in targets if layer(target) != "client"}
    assert not outside, sorted(outside)
