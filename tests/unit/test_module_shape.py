"""The shape of app/ that issue 13 asked for, kept: no import circle between modules, and no module over ~500
lines unless its docstring says why it is long (a line "Long because: ...")."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "app" / "store_associate"
MAX_LINES = 500
REASON = "Long because:"


def module_name(path: Path, root: Path = PKG) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, modules: set[str], root: Path = PKG) -> set[str]:
    """The project modules a file imports, at any depth of the file (a function-level import is an arrow too:
    it is how circles hide)."""
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from . import x` imports the module x when there is one; otherwise a name of the package.
            names = [
                f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in modules else prefix for alias in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != here:
                found.add(name)
    return found


def import_graph(root: Path = PKG) -> dict[str, set[str]]:
    files = [p for p in root.rglob("*.py") if "migrations" not in p.parts]
    modules = {module_name(p, root) for p in files}
    graph = {module_name(p, root): imports_of(p, modules, root) for p in files}
    # A package's __init__ is imported on the way to any of its modules; it is not an arrow back.
    return {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_circle():
    assert circles(import_graph()) == []


def test_a_circle_is_found(tmp_path):
    pkg = tmp_path / "store_associate"
    (pkg / "server").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "server" / "__init__.py").write_text("")
    (pkg / "server" / "a.py").write_text("from . import b\n")
    (pkg / "server" / "b.py").write_text("def f():\n    from .a import x\n")
    (pkg / "server" / "c.py").write_text("from .a import y\n")
    assert circles(import_graph(pkg)) == [["store_associate.server.a", "store_associate.server.b"]]


def test_long_modules_say_why():
    unexplained = []
    for path in PKG.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > MAX_LINES and REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            unexplained.append(f"{path.relative_to(PKG)}: {lines} lines")
    assert not unexplained, unexplained
