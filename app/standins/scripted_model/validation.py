"""Validate Messages and count_tokens bodies with the real API's rules and wording."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from app.standins.scripted_model.conversation import check_messages
from app.standins.scripted_model.errors import ApiError, invalid
from app.standins.scripted_model.fields import (
    check_cache_control,
    expect_bool,
    expect_dict,
    expect_int,
    expect_list,
    expect_number,
    expect_str,
    reject_extra,
    require,
)

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_CACHE_BREAKPOINTS = 4
TOOL_CHOICES = ("auto", "any", "tool", "none")

# Top-level fields the API accepts (anthropic SDK 2.11 params, plus sampling knobs).
COUNT_FIELDS = frozenset(
    {
        "model",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "cache_control",
        "output_config",
        "speed",
        "context_management",
        "mcp_servers",
        "user_profile_id",
        "workspace_id",
    }
)
CREATE_FIELDS = COUNT_FIELDS | {
    "max_tokens",
    "stream",
    "metadata",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "service_tier",
    "container",
    "diagnostics",
    "inference_geo",
}


@dataclass(frozen=True)
class Rules:
    """What a deployment accepts: model id patterns (fnmatch) and strict role alternation."""

    models: Sequence[str] = ("claude-*",)
    strict_alternation: bool = True


def validate_create(raw: Any, rules: Rules) -> dict[str, Any]:
    """Return the body of a valid `POST /v1/messages`, else raise the API's error."""
    body = _check_common(raw, CREATE_FIELDS, rules)
    max_tokens = expect_int(require(body, "max_tokens", "max_tokens"), "max_tokens", minimum=0)
    if "stream" in body:
        expect_bool(body["stream"], "stream")
    for number, stop in enumerate(expect_list(body.get("stop_sequences", []), "stop_sequences")):
        expect_str(stop, f"stop_sequences.{number}")
    if "temperature" in body:
        expect_number(body["temperature"], "temperature", 0.0, 1.0)
    if "top_p" in body:
        expect_number(body["top_p"], "top_p", 0.0, 1.0)
    if "top_k" in body:
        expect_int(body["top_k"], "top_k", minimum=0)
    if "metadata" in body:
        expect_dict(body["metadata"], "metadata")
    _check_thinking(body, max_tokens)
    _check_model(body, rules)
    return body


def validate_count(raw: Any, rules: Rules) -> dict[str, Any]:
    """Return the body of a valid `POST /v1/messages/count_tokens`, else raise."""
    body = _check_common(raw, COUNT_FIELDS, rules)
    _check_model(body, rules)
    return body


def _check_common(raw: Any, allowed: frozenset[str], rules: Rules) -> dict[str, Any]:
    body = expect_dict(raw, "body")
    reject_extra(body, allowed)
    expect_str(require(body, "model", "model"), "model")
    breakpoints = check_messages(
        require(body, "messages", "messages"), strict_alternation=rules.strict_alternation
    )
    breakpoints += _check_system(body.get("system"))
    names, tool_breakpoints = _check_tools(body.get("tools"))
    _check_tool_choice(body.get("tool_choice"), names)
    if body.get("cache_control") is not None:
        breakpoints += check_cache_control(body, "")
    breakpoints += tool_breakpoints
    if breakpoints > MAX_CACHE_BREAKPOINTS:
        raise invalid(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {breakpoints}."
        )
    return body


def _check_model(body: dict[str, Any], rules: Rules) -> None:
    # Checked after the body's shape, as the API does: an unknown model is a 404, not a 400.
    model = body["model"]
    if not any(fnmatchcase(model, pattern) for pattern in rules.models):
        raise ApiError(404, f"model: {model}")


def _check_system(system: Any) -> int:
    if system is None or isinstance(system, str):
        return 0
    breakpoints = 0
    for number, raw in enumerate(expect_list(system, "system")):
        path = f"system.{number}"
        block = expect_dict(raw, path)
        if block.get("type") != "text":
            raise invalid(f"{path}.type: Input should be 'text'")
        if not expect_str(require(block, "text", f"{path}.text"), f"{path}.text"):
            raise invalid("system: text content blocks must be non-empty")
        breakpoints += check_cache_control(block, path)
    return breakpoints


def _check_tools(tools: Any) -> tuple[list[str], int]:
    if tools is None:
        return [], 0
    names: list[str] = []
    breakpoints = 0
    for number, raw in enumerate(expect_list(tools, "tools")):
        path = f"tools.{number}"
        tool = expect_dict(raw, path)
        kind = tool.get("type", "custom")
        if kind in (None, "custom"):
            names.append(_check_custom_tool(tool, f"{path}.custom"))
        else:
            # Server and Anthropic-defined tools (bash, web_search, ...) carry their own schema.
            expect_str(kind, f"{path}.type")
            names.append(expect_str(require(tool, "name", f"{path}.name"), f"{path}.name"))
        breakpoints += check_cache_control(tool, path)
    if len(set(names)) != len(names):
        raise invalid("tools: Tool names must be unique.")
    return names, breakpoints


def _check_custom_tool(tool: dict[str, Any], path: str) -> str:
    name = expect_str(require(tool, "name", f"{path}.name"), f"{path}.name")
    if not TOOL_NAME.match(name):
        raise invalid(f"{path}.name: String should match pattern '{TOOL_NAME.pattern}'")
    if "description" in tool:
        expect_str(tool["description"], f"{path}.description")
    schema = expect_dict(
        require(tool, "input_schema", f"{path}.input_schema"), f"{path}.input_schema"
    )
    if schema.get("type") != "object":
        raise invalid(f"{path}.input_schema.type: Input should be 'object'")
    if "properties" in schema:
        expect_dict(schema["properties"], f"{path}.input_schema.properties")
    required = expect_list(schema.get("required", []), f"{path}.input_schema.required")
    for number, item in enumerate(required):
        expect_str(item, f"{path}.input_schema.required.{number}")
    return name


def _check_tool_choice(choice: Any, names: list[str]) -> None:
    if choice is None:
        return
    choice = expect_dict(choice, "tool_choice")
    kind = choice.get("type")
    if kind not in TOOL_CHOICES:
        expected = ", ".join(f"'{name}'" for name in TOOL_CHOICES)
        raise invalid(
            f"tool_choice: Input tag '{kind}' found using 'type' does not match any of the "
            f"expected tags: {expected}"
        )
    if "disable_parallel_tool_use" in choice:
        expect_bool(choice["disable_parallel_tool_use"], "tool_choice.disable_parallel_tool_use")
    if kind in ("any", "tool") and not names:
        raise invalid("tool_choice: tool_choice may only be specified while providing tools.")
    if kind == "tool":
        name = expect_str(require(choice, "name", "tool_choice.tool.name"), "tool_choice.name")
        if name not in names:
            raise invalid(f"tool_choice.name: Tool '{name}' not found in provided tools")


def _check_thinking(body: dict[str, Any], max_tokens: int) -> None:
    if "thinking" not in body:
        return
    thinking = expect_dict(body["thinking"], "thinking")
    kind = thinking.get("type")
    if kind not in ("enabled", "disabled", "adaptive"):
        raise invalid("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")
    if kind == "enabled":
        path = "thinking.enabled.budget_tokens"
        budget = expect_int(require(thinking, "budget_tokens", path), path, minimum=1024)
        if max_tokens <= budget:
            raise invalid("`max_tokens` must be greater than `thinking.budget_tokens`.")
