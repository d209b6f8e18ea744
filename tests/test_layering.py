"""The architecture you can draw: no import cycle anywhere in ``service/``, the CLI included.

Every ``import`` counts, module-level or inside a function: a function-level import that closes
a cycle is still a cycle a reader must untangle. Package ``__init__`` modules count as the
package. Checked with the standard library's ``ast``, without importing anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parent.parent / "service"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SERVICE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SERVICE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from pkg import mod` imports the module pkg.mod when there is one
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
                ]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target.startswith("service"):
                    graph[name].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
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
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_the_checker_finds_a_cycle() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_service_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 50, "the walker found too few modules"
    cycles = find_cycles(graph)
    assert not cycles, "import cycles (move the shared piece below both): " + "; ".join(" <-> ".join(c) for c in cycles)


def _is_routes(module: str) -> bool:
    last = module.rpartition(".")[2]
    return last == "routes" or last.endswith("_routes")


def _is_queries(module: str) -> bool:
    last = module.rpartition(".")[2]
    return last == "queries" or last.endswith("_queries")


def foreign_queries(graph: dict[str, set[str]]) -> list[str]:
    """Route modules importing another package's queries (they should ask that package's service)."""
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if _is_routes(module)
        for target in targets
        if _is_queries(target) and target.rpartition(".")[0] != module.rpartition(".")[0]
    )


def test_the_checker_finds_foreign_queries() -> None:
    graph = {"service.a.routes": {"service.b.queries", "service.a.queries"}, "service.a.service": {"service.b.queries"}}
    assert foreign_queries(graph) == ["service.a.routes -> service.b.queries"]


def test_routes_never_import_another_packages_queries() -> None:
    found = foreign_queries(import_graph())
    assert not found, "routes reading another package's tables: " + "; ".join(found)
