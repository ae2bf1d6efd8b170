"""Read Go syntax trees: the package comment, exported functions, methods, types and imports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.codemap.parsers.text import (
    defines_purpose,
    purpose_from_text,
    signature,
    strip_comment_markers,
)
from app.codemap.parsers.treesitter import (
    count_identifiers,
    head_text,
    leading_comments,
    line_of,
    text_of,
    walk,
)
from app.codemap.symbols import FileSummary, Symbol

if TYPE_CHECKING:
    from tree_sitter import Node

_IDENTIFIERS = frozenset(
    {"identifier", "type_identifier", "field_identifier", "package_identifier"}
)


def summarize_go(root: Node, source: bytes) -> FileSummary:
    """Summarize a Go syntax tree."""
    symbols: list[Symbol] = []
    for child in root.children:
        symbols.extend(_declaration(child, source))
    imports = [
        text_of(spec.child_by_field_name("path")).strip('"`')
        for spec in walk(root)
        if spec.type == "import_spec"
    ]
    comment = strip_comment_markers(leading_comments(root, frozenset({"comment"})))
    purpose = purpose_from_text(comment) if comment else ""
    return FileSummary(
        purpose=purpose or defines_purpose([s.name for s in symbols if s.exported]),
        symbols=tuple(symbols),
        imports=tuple(imports),
        references=count_identifiers(root, _IDENTIFIERS),
    )


def _exported(name: str) -> bool:
    # Go exports exactly the names that start with a capital letter.
    return name[:1].isupper()


def _declaration(node: Node, source: bytes) -> list[Symbol]:
    if node.type == "function_declaration":
        name = text_of(node.child_by_field_name("name"))
        text = signature(head_text(node, source))
        return [Symbol(name, "function", text, line_of(node), _exported(name))]
    if node.type == "method_declaration":
        name = text_of(node.child_by_field_name("name"))
        receiver = _receiver_type(node)
        qualified = f"{receiver}.{name}" if receiver else name
        text = signature(head_text(node, source))
        exported = _exported(name) and _exported(receiver)
        return [Symbol(qualified, "method", text, line_of(node), exported)]
    if node.type == "type_declaration":
        return [_type_spec(spec) for spec in node.named_children if spec.type != "comment"]
    if node.type in ("const_declaration", "var_declaration"):
        return _values(node)
    return []


def _receiver_type(method: Node) -> str:
    receiver = method.child_by_field_name("receiver")
    for parameter in receiver.named_children if receiver is not None else []:
        kind = text_of(parameter.child_by_field_name("type"))
        # "*Store[T]" and "Store" name the same receiver type.
        return kind.lstrip("*").split("[", 1)[0]
    return ""


def _type_spec(spec: Node) -> Symbol:
    name = text_of(spec.child_by_field_name("name"))
    kind_node = spec.child_by_field_name("type")
    kind = kind_node.type if kind_node is not None else ""
    if kind == "struct_type":
        text = f"type {name} struct"
    elif kind == "interface_type":
        text = f"type {name} interface"
    else:
        text = f"type {text_of(spec)}"
    return Symbol(name, "type", signature(text), line_of(spec), _exported(name))


def _values(node: Node) -> list[Symbol]:
    keyword = "const" if node.type == "const_declaration" else "var"
    symbols: list[Symbol] = []
    for spec in walk(node):
        if spec.type not in ("const_spec", "var_spec"):
            continue
        kind = spec.child_by_field_name("type")
        suffix = f" {text_of(kind)}" if kind is not None else ""
        for child in spec.children_by_field_name("name"):
            name = text_of(child)
            if _exported(name):
                text = signature(f"{keyword} {name}{suffix}")
                symbols.append(Symbol(name, "constant", text, line_of(spec), True))
    return symbols
