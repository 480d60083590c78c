"""The package's import graph: no cycles, no private names across modules, and a generic
design-based engine that knows nothing about the poverty assessment.

Every ``import`` in ``src/evalkit`` counts, including imports inside functions (a cycle
hidden behind a function-level import is still a cycle); imports under
``if TYPE_CHECKING:`` are for type checkers only and do not run, so they do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "evalkit"

# The generic survey engine (R's survey package's role): it may import only itself and the
# contract-free helpers, never the poverty assessment, sampling, synthesis or reports.
ENGINE = frozenset({"estimate", "design", "intervals", "calibration", "change", "decision",
                    "village_rates", "formula"})
# ``models`` holds R's svyglm port (engine) but also the poverty scenarios; until it is
# split (issue 14), ``SurveyDesign.logit`` reaching it is the one allowed exception.
ENGINE_MAY_IMPORT = ENGINE | {"errors", "models"}


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    return ".".join(parts) or "__init__"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[tuple[str, list[str], int]]:
    """(evalkit module imported, names imported, line) for every runtime import."""
    found: list[tuple[str, list[str], int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "evalkit":
                for alias in node.names:  # from evalkit import design
                    found.append((alias.name, [], node.lineno))
            elif node.module.startswith("evalkit."):
                found.append((node.module.split(".", 1)[1].split(".")[0],
                              [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("evalkit."):
                    found.append((alias.name.split(".")[1], [], node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, list[tuple[str, list[str], int]]]:
    graph: dict[str, list[tuple[str, list[str], int]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path).split(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph.setdefault(module, []).extend(
            (target, names, line) for target, names, line in _imports(tree)
            if target != module)
    return graph


def _cycles(graph: dict[str, list[tuple[str, list[str], int]]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    edges = {m: sorted({t for t, _, _ in targets if t in graph}) for m, targets in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                connect(w)
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
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return components


def test_the_import_walk_sees_function_level_imports() -> None:
    tree = ast.parse("def f():\n    from evalkit.design import SurveyDesign\n"
                     "if TYPE_CHECKING:\n    from evalkit.models import logit\n")
    assert _imports(tree) == [("design", ["SurveyDesign"], 2)]
    assert _cycles({"a": [("b", [], 1)], "b": [("a", [], 1)], "c": []}) == [["a", "b"]]


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_no_private_names_across_modules() -> None:
    offenders = [f"{module} line {line}: {name} from evalkit.{target}"
                 for module, targets in _graph().items()
                 for target, names, line in targets
                 for name in names if name.startswith("_")]
    assert offenders == []


@pytest.mark.parametrize("module", sorted(ENGINE))
def test_the_engine_knows_nothing_of_the_assessment(module: str) -> None:
    graph = _graph()
    assert module in graph, f"engine module {module} is missing"
    outside = sorted({t for t, _, _ in graph[module]} - ENGINE_MAY_IMPORT)
    assert outside == [], f"evalkit.{module} imports {outside}"
