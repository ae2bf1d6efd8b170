"""Parse the source tree's imports and SQL literals: the facts tests/test_layout.py judges.

Layers, lowest first (README.md, "Layout"). A module may import its own package, any lower
layer, and another package of its own layer as long as no package cycle forms; the stand-ins
import only the core, and only the assembly may import them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_ROOTS = ("app", "workers", "reviewer", "modal_app.py")

CORE = 0
STORE = 1
SERVICES = 2
DOMAIN = 3
ASSEMBLY = 4
STANDINS = -1

# Each unit is a top-level module of `app`, an `app` subpackage, or a top-level package.
LAYERS: dict[str, int] = {
    "app": CORE,
    "app.clock": CORE,
    "app.settings": CORE,
    "app.taskstate": CORE,
    "app.policy": CORE,
    "app.roles": CORE,
    "app.globs": CORE,
    "app.untrusted": CORE,
    "app.logs": CORE,
    "app.pathrules": CORE,
    "app.commands": CORE,
    "app.serving": CORE,
    "app.prompts": CORE,
    "app.stacks": CORE,
    "app.store": STORE,
    "app.github": SERVICES,
    "app.sandbox": SERVICES,
    "app.llm": SERVICES,
    "app.codemap": SERVICES,
    "app.webhooks": DOMAIN,
    "app.handlers": DOMAIN,
    "app.votes": DOMAIN,
    "app.scheduling": DOMAIN,
    "app.ceo": DOMAIN,
    "app.dashboard": DOMAIN,
    "workers": DOMAIN,
    "reviewer": DOMAIN,
    "app.wiring": ASSEMBLY,
    "app.web": ASSEMBLY,
    "app.cli": ASSEMBLY,
    "app.demo": ASSEMBLY,
    "app.doctor": ASSEMBLY,
    "app.setup_flow": ASSEMBLY,
    "modal_app": ASSEMBLY,
    "app.standins": STANDINS,
}

# Same-layer edges that the design forbids outright: the CEO reaches workers and the reviewer
# only through the interfaces in its deps.
FORBIDDEN_PAIRS = {("app.ceo", "workers"), ("app.ceo", "reviewer")}

_WRITE = re.compile(
    r"^\s*(INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|REPLACE\s+INTO"
    r"|CREATE\s+(TABLE|INDEX|UNIQUE\s+INDEX|TRIGGER|VIEW)|DROP\s+(TABLE|INDEX)|ALTER\s+TABLE)\b"
)
_READ = re.compile(r"^\s*(SELECT|WITH)\s.*\bFROM\b", re.DOTALL)


def unit_of(module: str) -> str | None:
    """The layered unit a dotted module name belongs to, or None when it has no layer."""
    parts = module.split(".")
    candidates = [".".join(parts[:2]), parts[0]] if parts[0] == "app" else [parts[0]]
    return next((c for c in candidates if c in LAYERS), None)


@dataclass(frozen=True)
class Edge:
    """One import statement: `source` module imports `target` module, at `path:line`."""

    source: str
    target: str
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source} imports {self.target}"


@dataclass(frozen=True)
class SqlLiteral:
    """A string constant that is an SQL statement."""

    path: Path
    line: int
    text: str
    writes: bool

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {' '.join(self.text.split())[:80]}"


def _python_files(root: Path) -> Iterator[Path]:
    for name in SOURCE_ROOTS:
        path = root / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(path.rglob("*.py"))


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_edges(root: Path = ROOT) -> list[Edge]:
    """Every absolute import between Townhall's own modules, lazy imports included."""
    ours = {Path(name).stem for name in SOURCE_ROOTS}
    edges = []
    for path in _python_files(root):
        source = _module_name(root, path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            for target in targets:
                if target.split(".")[0] in ours:
                    edges.append(Edge(source, target, path.relative_to(root), node.lineno))
    return edges


def forbidden_edges(edges: Iterable[Edge]) -> list[Edge]:
    """Edges that point up the layers, into the stand-ins, or across a forbidden pair."""
    bad = []
    for edge in edges:
        source, target = unit_of(edge.source), unit_of(edge.target)
        if source is None or target is None or source == target:
            continue
        source_layer, target_layer = LAYERS[source], LAYERS[target]
        if target_layer == STANDINS:
            allowed = source_layer == ASSEMBLY
        elif source_layer == STANDINS:
            allowed = target_layer == CORE
        else:
            allowed = target_layer <= source_layer and (source, target) not in FORBIDDEN_PAIRS
        if not allowed:
            bad.append(edge)
    return bad


def package_cycles(edges: Iterable[Edge]) -> list[list[str]]:
    """Cycles in the graph of units (each found once, as the list of units around it)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        source, target = unit_of(edge.source), unit_of(edge.target)
        if source and target and source != target:
            graph.setdefault(source, set()).add(target)
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == path[0]:
                key = frozenset(path)
                if key not in seen:
                    seen.add(key)
                    cycles.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    return cycles


def _strings(tree: ast.AST) -> Iterator[ast.Constant]:
    # Implicitly concatenated literals arrive as one Constant; f-strings as JoinedStr.
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                part.value if isinstance(part, ast.Constant) else "?" for part in node.values
            )
            yield ast.Constant(value=text, lineno=node.lineno, col_offset=node.col_offset)


def sql_literals(root: Path = ROOT) -> list[SqlLiteral]:
    """Every string constant in the source that is an SQL statement."""
    found = []
    for path in _python_files(root):
        for node in _strings(ast.parse(path.read_text(), str(path))):
            text = str(node.value)
            writes = bool(_WRITE.match(text))
            if writes or _READ.match(text):
                found.append(SqlLiteral(path, node.lineno, text, writes))
    return found
