"""Read JavaScript and TypeScript syntax trees: exports, classes, functions and imports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.codemap.parsers.text import (
    defines_purpose,
    purpose_from_text,
    signature,
    strip_comment_markers,
)
from app.codemap.parsers.treesitter import head_text, leading_comments, line_of, text_of, walk
from app.codemap.symbols import FileSummary, Symbol

if TYPE_CHECKING:
    from tree_sitter import Node

_IDENTIFIERS = frozenset(
    {"identifier", "type_identifier", "property_identifier", "shorthand_property_identifier"}
)
_FUNCTIONS = frozenset({"function_declaration", "generator_function_declaration"})
_CLASSES = frozenset({"class_declaration", "abstract_class_declaration"})
_TYPES = {
    "interface_declaration": "interface",
    "type_alias_declaration": "type",
    "enum_declaration": "enum",
}
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function"})


def summarize_javascript(root: Node, source: bytes) -> FileSummary:
    """Summarize a JavaScript, TypeScript or TSX syntax tree."""
    symbols: list[Symbol] = []
    imports: list[str] = []
    for child in root.children:
        if child.type == "export_statement":
            declaration = child.child_by_field_name("declaration")
            if declaration is not None:
                symbols.extend(_declaration(declaration, source, exported=True))
        else:
            symbols.extend(_declaration(child, source, exported=False))
    references: dict[str, int] = {}
    for node in walk(root):
        if node.type in _IDENTIFIERS:
            name = text_of(node)
            references[name] = references.get(name, 0) + 1
        specifier = _import_specifier(node)
        if specifier:
            imports.append(specifier)
    comment = strip_comment_markers(leading_comments(root, frozenset({"comment"})))
    purpose = purpose_from_text(comment) if comment else ""
    return FileSummary(
        purpose=purpose or defines_purpose([s.name for s in symbols if s.exported]),
        symbols=tuple(symbols),
        imports=tuple(imports),
        references=references,
    )


def _declaration(node: Node, source: bytes, exported: bool) -> list[Symbol]:
    name = text_of(node.child_by_field_name("name"))
    if node.type in _FUNCTIONS:
        return [
            Symbol(name, "function", signature(head_text(node, source)), line_of(node), exported)
        ]
    if node.type in _CLASSES:
        head = Symbol(name, "class", signature(head_text(node, source)), line_of(node), exported)
        return [head, *_methods(node, name, source, exported)]
    if node.type in _TYPES:
        text = head_text(node, source) if node.type != "type_alias_declaration" else text_of(node)
        return [Symbol(name, _TYPES[node.type], signature(text), line_of(node), exported)]
    if node.type in ("lexical_declaration", "variable_declaration"):
        return _variables(node, source, exported)
    return []


def _methods(cls: Node, class_name: str, source: bytes, exported: bool) -> list[Symbol]:
    body = cls.child_by_field_name("body")
    methods: list[Symbol] = []
    for member in body.named_children if body is not None else []:
        if member.type not in ("method_definition", "method_signature"):
            continue
        name = text_of(member.child_by_field_name("name"))
        modifiers = {c.type for c in member.children} | {text_of(c) for c in member.children[:2]}
        if name.startswith("#") or "private" in modifiers:
            continue
        text = signature(head_text(member, source))
        methods.append(Symbol(f"{class_name}.{name}", "method", text, line_of(member), exported))
    return methods


def _variables(node: Node, source: bytes, exported: bool) -> list[Symbol]:
    keyword = text_of(node.children[0]) if node.children else "const"
    symbols: list[Symbol] = []
    for declarator in node.named_children:
        if declarator.type != "variable_declarator":
            continue
        name = text_of(declarator.child_by_field_name("name"))
        value = declarator.child_by_field_name("value")
        if value is not None and value.type in _FUNCTION_VALUES:
            head = head_text(value, source).removesuffix("=>").rstrip()
            text = signature(f"{keyword} {name} = {head}")
            symbols.append(Symbol(name, "function", text, line_of(node), exported))
        elif exported or name.isupper():
            declared = source[declarator.start_byte : (value or declarator).start_byte]
            text = signature(f"{keyword} {declared.decode('utf-8', errors='replace')}")
            symbols.append(Symbol(name, "constant", text.rstrip(" ="), line_of(node), exported))
    return symbols


def _import_specifier(node: Node) -> str:
    if node.type in ("import_statement", "export_statement"):
        return _string_value(node.child_by_field_name("source"))
    if node.type == "call_expression":
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        if function is not None and text_of(function) in ("require", "import") and arguments:
            first = arguments.named_children[0] if arguments.named_children else None
            return _string_value(first)
    return ""


def _string_value(node: Node | None) -> str:
    if node is None or node.type != "string":
        return ""
    return text_of(node)[1:-1]
