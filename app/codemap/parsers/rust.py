"""Read Rust syntax trees: crate docs, items, impl methods, `use` paths and `mod` files."""

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
)
from app.codemap.symbols import FileSummary, Symbol

if TYPE_CHECKING:
    from tree_sitter import Node

_IDENTIFIERS = frozenset({"identifier", "type_identifier", "field_identifier"})
_COMMENTS = frozenset({"line_comment", "block_comment"})
_ITEMS = {
    "function_item": "function",
    "function_signature_item": "function",
    "struct_item": "struct",
    "enum_item": "enum",
    "union_item": "union",
    "trait_item": "trait",
    "type_item": "type",
    "const_item": "constant",
    "static_item": "constant",
    "macro_definition": "macro",
    "mod_item": "module",
}
# Rust imports are prefixed so resolve.py can tell `mod x;` (a sibling file) from `use a::b`.
MOD_PREFIX = "mod:"


def summarize_rust(root: Node, source: bytes) -> FileSummary:
    """Summarize a Rust syntax tree."""
    symbols: list[Symbol] = []
    imports: list[str] = []
    for child in root.children:
        if child.type == "use_declaration":
            imports.append("".join(text_of(child.child_by_field_name("argument")).split()))
        elif child.type == "mod_item" and child.child_by_field_name("body") is None:
            imports.append(MOD_PREFIX + text_of(child.child_by_field_name("name")))
        if child.type == "impl_item":
            symbols.extend(_impl_methods(child, source))
        elif child.type in _ITEMS:
            symbols.extend(_item(child, source, ""))
    comment = strip_comment_markers(leading_comments(root, _COMMENTS))
    purpose = purpose_from_text(comment) if comment else ""
    return FileSummary(
        purpose=purpose or defines_purpose([s.name for s in symbols if s.exported]),
        symbols=tuple(symbols),
        imports=tuple(imports),
        references=count_identifiers(root, _IDENTIFIERS),
    )


def _is_pub(node: Node) -> bool:
    return any(c.type == "visibility_modifier" for c in node.children)


def _item(node: Node, source: bytes, owner: str, owner_pub: bool = False) -> list[Symbol]:
    name = text_of(node.child_by_field_name("name"))
    kind = _ITEMS[node.type]
    if kind == "constant":
        text = head_text(node, source, body_field="value")
    elif kind == "macro":
        text = f"macro_rules! {name}"
    else:
        text = head_text(node, source)
    qualified = f"{owner}.{name}" if owner else name
    exported = _is_pub(node) or owner_pub
    symbols = [
        Symbol(qualified, kind if not owner else "method", signature(text), line_of(node), exported)
    ]
    if node.type == "trait_item":
        symbols.extend(_members(node, source, name, exported))
    return symbols


def _impl_methods(impl: Node, source: bytes) -> list[Symbol]:
    owner = text_of(impl.child_by_field_name("type")).split("<", 1)[0]
    # Methods of a trait impl are as public as the trait; inherent methods need their own `pub`.
    trait_impl = impl.child_by_field_name("trait") is not None
    return _members(impl, source, owner, trait_impl)


def _members(node: Node, source: bytes, owner: str, owner_pub: bool) -> list[Symbol]:
    body = node.child_by_field_name("body")
    symbols: list[Symbol] = []
    for member in body.named_children if body is not None else []:
        if member.type in ("function_item", "function_signature_item"):
            symbols.extend(_item(member, source, owner, owner_pub))
    return symbols
