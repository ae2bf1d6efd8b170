"""Read a Python file's purpose, symbols, imports and references with the ast module."""

from __future__ import annotations

import ast
import copy
from collections import Counter
from pathlib import PurePosixPath

from app.codemap.parsers.text import (
    defines_purpose,
    purpose_from_text,
    signature,
    strip_comment_markers,
)
from app.codemap.symbols import FileSummary, Symbol

_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
# Methods worth listing although underscored: they define how the class is built and called.
_PUBLIC_DUNDERS = frozenset({"__init__", "__call__"})
# Leading lines that are tooling directives rather than a description of the file.
_DIRECTIVE_PREFIXES = ("#!", "# -*-", "# type:", "# ruff:", "# mypy:", "# noqa", "# pragma")


def parse_python(path: str, text: str) -> FileSummary:
    """Summarize Python source; raise SyntaxError when it does not parse."""
    tree = ast.parse(text)
    exported_names = _dunder_all(tree)
    symbols = _symbols(tree, exported_names)
    return FileSummary(
        purpose=_purpose(tree, text, symbols),
        symbols=tuple(symbols),
        imports=tuple(_imports(tree, path)),
        references=_references(tree),
    )


def _purpose(tree: ast.Module, text: str, symbols: list[Symbol]) -> str:
    docstring = ast.get_docstring(tree)
    if docstring:
        return purpose_from_text(docstring)
    comment = _leading_comment(text)
    if comment:
        return purpose_from_text(comment)
    return defines_purpose([s.name for s in symbols if s.exported and "." not in s.name])


def _leading_comment(text: str) -> str:
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(_DIRECTIVE_PREFIXES):
            continue
        if not line.startswith("#"):
            break
        lines.append(line)
    return strip_comment_markers(lines)


def _dunder_all(tree: ast.Module) -> frozenset[str] | None:
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                value = node.value
                if isinstance(value, ast.List | ast.Tuple):
                    return frozenset(
                        e.value
                        for e in value.elts
                        if isinstance(e, ast.Constant) and isinstance(e.value, str)
                    )
    return None


def _is_exported(name: str, exported_names: frozenset[str] | None) -> bool:
    if exported_names is not None:
        return name in exported_names
    return not name.startswith("_")


def _symbols(tree: ast.Module, exported_names: frozenset[str] | None) -> list[Symbol]:
    symbols: list[Symbol] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            exported = _is_exported(node.name, exported_names)
            symbols.append(
                Symbol(node.name, "class", _class_signature(node), node.lineno, exported)
            )
            symbols.extend(_methods(node, exported))
        elif isinstance(node, _FunctionNode):
            exported = _is_exported(node.name, exported_names)
            symbols.append(
                Symbol(node.name, "function", _def_signature(node), node.lineno, exported)
            )
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            symbols.extend(_constants(node, exported_names))
    return symbols


def _methods(cls: ast.ClassDef, class_exported: bool) -> list[Symbol]:
    methods: list[Symbol] = []
    for node in cls.body:
        if not isinstance(node, _FunctionNode):
            continue
        if node.name.startswith("_") and node.name not in _PUBLIC_DUNDERS:
            continue
        methods.append(
            Symbol(
                f"{cls.name}.{node.name}",
                "method",
                _def_signature(node, drop_receiver=True),
                node.lineno,
                class_exported,
            )
        )
    return methods


def _constants(node: ast.Assign | ast.AnnAssign, exported: frozenset[str] | None) -> list[Symbol]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    symbols: list[Symbol] = []
    for target in targets:
        if not isinstance(target, ast.Name) or target.id == "__all__":
            continue
        name = target.id
        # Only named constants and explicit exports: other module globals are detail.
        if not (name.isupper() or (exported is not None and name in exported)):
            continue
        text = name
        if isinstance(node, ast.AnnAssign):
            text = f"{name}: {ast.unparse(node.annotation)}"
        exported_name = _is_exported(name, exported)
        symbols.append(Symbol(name, "constant", signature(text), node.lineno, exported_name))
    return symbols


def _class_signature(node: ast.ClassDef) -> str:
    bases = [ast.unparse(b) for b in node.bases] + [ast.unparse(k) for k in node.keywords]
    return signature(f"class {node.name}({', '.join(bases)})" if bases else f"class {node.name}")


def _def_signature(node: _FunctionNode, drop_receiver: bool = False) -> str:
    args = node.args
    if drop_receiver and args.args and args.args[0].arg in ("self", "cls"):
        args = copy.copy(args)
        args.args = args.args[1:]
    keyword = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return signature(f"{keyword} {node.name}({ast.unparse(args)}){returns}")


def _imports(tree: ast.Module, path: str) -> list[str]:
    modules: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute_module(node, path)
            if base:
                modules.append(base)
            # "from pkg import mod" may name a submodule, so try each name as one too.
            modules.extend(f"{base}.{a.name}" if base else a.name for a in node.names)
    return modules


def _absolute_module(node: ast.ImportFrom, path: str) -> str:
    if node.level == 0:
        return node.module or ""
    package = list(PurePosixPath(path).parent.parts)
    package = package[: len(package) - (node.level - 1)] if node.level > 1 else package
    return ".".join([*package, *([node.module] if node.module else [])])


def _references(tree: ast.Module) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            counts[node.id] += 1
        elif isinstance(node, ast.Attribute):
            counts[node.attr] += 1
        elif isinstance(node, ast.ImportFrom):
            counts.update(alias.name for alias in node.names)
    return dict(counts)
