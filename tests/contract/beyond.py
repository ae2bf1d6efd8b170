"""Does Townhall's githubkit parse an answer that has only the fields GitHub's description has?

githubkit generates its models from a newer description than the one GitHub publishes, so a
model can require a field GitHub may not send (label `archived_at`/`archived_by` did). This
cuts a real answer down to the properties the published description defines, lets
app.github.compat fill in what Townhall's client fills in, and parses the rest with the model
githubkit uses for the operation in the pinned API version.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Literal, Union

from githubkit.compat import type_validate_python

from app.github.compat import fill_label_fields

from .checker import Contract, Operation

_VERSION_MODULE = "githubkit_schemas.v2022_11_28"


def _balanced(source: str, marker: str) -> str:
    """Return the expression after `marker`, up to the first comma outside brackets."""
    start = source.index(marker) + len(marker)
    depth = 0
    for index in range(start, len(source)):
        char = source[index]
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "," and depth == 0:
            return source[start:index]
    raise ValueError(f"no end to {marker} in {source[:80]!r}")


def response_model(operation_id: str) -> Any:
    """Return the model githubkit parses `operation_id`'s answer with (pinned version)."""
    group, name = operation_id.split("/")
    module = importlib.import_module(f"{_VERSION_MODULE}.rest.{group.replace('-', '_')}")
    method_name = "async_" + name.replace("-", "_")
    owner = next(
        value
        for key, value in vars(module).items()
        if key.endswith("Client") and hasattr(value, method_name)
    )
    source = inspect.getsource(getattr(owner, method_name))
    expression = _balanced(source, "response_model=")
    return eval(expression, {}, _Names())  # noqa: S307 - githubkit's own generated source


class _Names(dict[str, Any]):
    """The names githubkit's generated source uses: typing's, then its models (loaded lazily)."""

    def __missing__(self, name: str) -> Any:
        known = {"Union": Union, "list": list, "Literal": Literal}
        if name in known:
            return known[name]
        return getattr(importlib.import_module(f"{_VERSION_MODULE}.models"), name)


def _merged(contract: Contract, schema: Any) -> dict[str, Any]:
    """Return one object schema whose properties are every variant's (allOf/anyOf/oneOf)."""
    schema = contract.deref(schema)
    if not isinstance(schema, dict):
        return {}
    variants = [contract.deref(s) for k in ("allOf", "anyOf", "oneOf") for s in schema.get(k, [])]
    if not variants:
        return schema
    merged: dict[str, Any] = {"properties": {}, "items": None}
    for variant in (_merged(contract, v) for v in variants):
        for key, value in (variant.get("properties") or {}).items():
            merged["properties"].setdefault(key, value)
        merged["items"] = merged["items"] or variant.get("items")
        if variant.get("additionalProperties") not in (None, False):
            merged["additionalProperties"] = variant["additionalProperties"]
    if not merged["properties"]:
        del merged["properties"]
    return merged


def prune(contract: Contract, schema: Any, value: Any) -> Any:
    """Return `value` without the object properties `schema` does not define."""
    merged = _merged(contract, schema)
    if isinstance(value, list):
        items = merged.get("items")
        return [prune(contract, items, item) for item in value] if items else value
    if not isinstance(value, dict):
        return value
    properties = merged.get("properties")
    extra = merged.get("additionalProperties")
    if properties is None:
        if isinstance(extra, dict):
            return {key: prune(contract, extra, item) for key, item in value.items()}
        return value
    return {
        key: prune(contract, properties[key], item)
        for key, item in value.items()
        if key in properties
    }


def parses_within_description(
    contract: Contract, operation: Operation, status: int, body: Any
) -> str | None:
    """Parse the described part of an answer as Townhall would; return the failure, if any."""
    described = contract.deref(operation.responses.get(str(status)) or {})
    content = described.get("content") or {}
    schema = next((v["schema"] for k, v in content.items() if "json" in k and "schema" in v), None)
    if schema is None or body is None:
        return None
    pruned = prune(contract, schema, body)
    fill_label_fields(pruned)
    try:
        type_validate_python(response_model(operation.operation_id), pruned)
    except Exception as error:
        return f"{operation.operation_id} {status}: {str(error)[:600]}"
    return None
