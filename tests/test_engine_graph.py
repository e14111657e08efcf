"""The engine's shape: every mode has its screen, and conversations/ imports form a DAG.

Screens once existed because their module had been imported (a decorator filled a registry),
and the modules imported each other inside functions to dodge a circle. These tests keep both
from coming back: the table of `conversations.flow` is the only way a mode gets its screen, and
no module of conversations/ imports anything inside a function.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from conversations.flow import SCREENS
from conversations.modes import Mode
from conversations.screen import Screen

PACKAGE = Path(__file__).resolve().parent.parent / "conversations"


def _modules() -> dict[str, ast.Module]:
    return {
        f"conversations.{path.stem}": ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(PACKAGE.glob("*.py"))
        if path.stem != "__init__"
    }


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The conversations.* modules an import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif node.module == "conversations":  # from conversations import tokens
        names = [f"conversations.{alias.name}" for alias in node.names]
    else:
        names = [node.module or ""]
    return [name for name in names if name.startswith("conversations.")]


def test_every_mode_has_exactly_one_screen() -> None:
    assert set(SCREENS) == set(Mode)
    assert all(isinstance(screen, Screen) for screen in SCREENS.values())
    assert len({id(screen) for screen in SCREENS.values()}) == len(SCREENS)


def test_a_stored_mode_reads_back_as_its_mode() -> None:
    """Chats keep their mode as a string in the database: the values are that contract."""
    assert all(Mode.stored(mode.value) is mode for mode in Mode)
    assert Mode.stored("gone") is Mode.START


def test_no_module_imports_inside_a_function() -> None:
    found = [
        f"{name}:{node.lineno}"
        for name, tree in _modules().items()
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert found == []


def test_the_modules_of_conversations_import_each_other_without_a_circle() -> None:
    graph = {
        name: {
            imported
            for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom)
            for imported in _imported(node)
        }
        for name, tree in _modules().items()
    }
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:  # pragma: no cover - the message names the circle
        pytest.fail(f"import circle: {exc.args[1]}")
    assert order.index("conversations.modes") < order.index("conversations.flow")
    assert order[-1] == "conversations.engine"
