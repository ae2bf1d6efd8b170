"""Shared helpers for parsers of JSON tool output."""

from __future__ import annotations

import json
from typing import Any

from reviewer.static.findings import ToolOutputError


def load_json(text: str, tool: str) -> Any:
    """Return the JSON document in `text`, or raise ToolOutputError naming the tool."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ToolOutputError(f"{tool} output is not JSON: {error}") from error


def expect_list(value: object, tool: str, what: str) -> list[Any]:
    """Return `value` if it is a JSON array, else raise ToolOutputError."""
    if not isinstance(value, list):
        raise ToolOutputError(f"{tool} output: expected {what} to be an array")
    return value


def expect_dict(value: object, tool: str, what: str) -> dict[str, Any]:
    """Return `value` if it is a JSON object, else raise ToolOutputError."""
    if not isinstance(value, dict):
        raise ToolOutputError(f"{tool} output: expected {what} to be an object")
    return value


def text_field(item: dict[str, Any], key: str, default: str = "") -> str:
    """Return `item[key]` when it is a string, else `default`."""
    value = item.get(key)
    return value if isinstance(value, str) else default
