"""The core package's imports point one way: no cycles, and no front-door framework inside."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"
FRONT_DOORS = ("streamlit", "fastapi", "starlette", "uvicorn")  # pages and HTTP live in the apps


def _module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module this file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _core_graph() -> dict[str, set[str]]:
    files = {_module_name(path): path for path in CORE.rglob("*.py")}
    return {name: (_imports(path) & files.keys()) - {name} for name, path in files.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> None:
        if name in path:
            cycles.append([*path[path.index(name) :], name])
            return
        if name in done:
            return
        path.append(name)
        for imported in sorted(graph[name]):
            visit(imported)
        path.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)
    return cycles


def test_core_has_no_import_cycle() -> None:
    assert _cycles(_core_graph()) == []


def test_core_imports_no_front_door_framework() -> None:
    offenders = {
        _module_name(path): sorted(
            name for name in _imports(path) if name.split(".")[0] in FRONT_DOORS
        )
        for path in CORE.rglob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_a_cycle_is_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"]]


def test_commands_and_forms_check_their_settings_without_loading_tensorflow() -> None:
    """Importing TensorFlow takes 5 s or more: a mistyped option must not wait for it."""
    code = (
        "import sys, jobs.train, core.services.training_view as view; "
        "from core.ml.hyperparameters import HyperParameters as H; "
        "view.parameter_fields(H()); H.from_mapping({'epochs': '3'}); "
        "print(sorted({'keras', 'tensorflow'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=CORE.parent, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stderr
