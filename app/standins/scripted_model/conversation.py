"""Checks on `messages`: roles, content blocks, and tool_use/tool_result pairing."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import takewhile
from typing import Any

from app.standins.scripted_model.errors import invalid
from app.standins.scripted_model.fields import (
    check_cache_control,
    expect_bool,
    expect_dict,
    expect_list,
    expect_str,
    require,
)

ROLE_BLOCKS = {
    "user": ("text", "image", "document", "search_result", "tool_result"),
    "assistant": (
        "text",
        "thinking",
        "redacted_thinking",
        "tool_use",
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
    ),
}


@dataclass
class _Turn:
    """Consecutive messages of one role, as the API combines them."""

    role: str
    first: int
    blocks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, block)


def check_messages(messages: Any, *, strict_alternation: bool) -> int:
    """Validate `messages`; return how many blocks carry cache_control."""
    messages = expect_list(messages, "messages")
    if not messages:
        raise invalid("messages: at least one message is required")
    turns: list[_Turn] = []
    breakpoints = 0
    for index, raw in enumerate(messages):
        path = f"messages.{index}"
        message = expect_dict(raw, path)
        role = require(message, "role", f"{path}.role")
        if role not in ROLE_BLOCKS:
            raise invalid(f"{path}.role: Input should be 'user' or 'assistant'")
        final = index == len(messages) - 1
        blocks = _content_blocks(require(message, "content", f"{path}.content"), path, role, final)
        breakpoints += sum(check_cache_control(block, where) for where, block in blocks)
        if turns and turns[-1].role == role:
            if strict_alternation:
                raise invalid(
                    'messages: roles must alternate between "user" and "assistant", '
                    f'but found multiple "{role}" roles in a row'
                )
            turns[-1].blocks += blocks
        else:
            turns.append(_Turn(role, index, blocks))
    if turns[0].role != "user":
        raise invalid('messages: first message must use the "user" role')
    _check_prefill(messages[-1])
    _check_tool_pairing(turns)
    return breakpoints


def _content_blocks(
    content: Any, path: str, role: str, final: bool
) -> list[tuple[str, dict[str, Any]]]:
    allowed_empty = final and role == "assistant"
    if isinstance(content, str):
        if not content and not allowed_empty:
            raise invalid(
                f"{path}: all messages must have non-empty content except for "
                "the optional final assistant message"
            )
        return []
    content = expect_list(content, f"{path}.content")
    if not content and not allowed_empty:
        raise invalid(
            f"{path}: all messages must have non-empty content except for "
            "the optional final assistant message"
        )
    blocks = []
    for number, raw in enumerate(content):
        where = f"{path}.content.{number}"
        block = expect_dict(raw, where)
        _check_block(block, where, role)
        blocks.append((where, block))
    return blocks


def _check_block(block: dict[str, Any], path: str, role: str) -> None:
    kind = expect_str(require(block, "type", f"{path}.type"), f"{path}.type")
    if kind not in ROLE_BLOCKS[role]:
        expected = ", ".join(f"'{name}'" for name in ROLE_BLOCKS[role])
        raise invalid(
            f"{path}: Input tag '{kind}' found using 'type' does not match any of the "
            f"expected tags for {role} messages: {expected}"
        )
    if kind == "text":
        if not expect_str(require(block, "text", f"{path}.text"), f"{path}.text"):
            raise invalid("messages: text content blocks must be non-empty")
    elif kind == "tool_use":
        expect_str(require(block, "id", f"{path}.id"), f"{path}.id")
        expect_str(require(block, "name", f"{path}.name"), f"{path}.name")
        expect_dict(require(block, "input", f"{path}.input"), f"{path}.input")
    elif kind == "tool_result":
        expect_str(require(block, "tool_use_id", f"{path}.tool_use_id"), f"{path}.tool_use_id")
        result = block.get("content")
        if result is not None and not isinstance(result, str):
            for number, inner in enumerate(expect_list(result, f"{path}.content")):
                expect_dict(inner, f"{path}.content.{number}")
        if "is_error" in block:
            expect_bool(block["is_error"], f"{path}.is_error")


def _check_prefill(last: dict[str, Any]) -> None:
    if last["role"] != "assistant":
        return
    content = last["content"]
    text = content if isinstance(content, str) else ""
    if isinstance(content, list) and content and content[-1].get("type") == "text":
        text = str(content[-1].get("text", ""))
    if text and text != text.rstrip():
        raise invalid("messages: final assistant content cannot end with trailing whitespace")


def _check_tool_pairing(turns: list[_Turn]) -> None:
    for previous, turn in zip([None, *turns], turns, strict=False):
        if turn.role == "user":
            _check_results_answer(turn, _tool_use_ids(previous))
    for turn, following in zip(turns, [*turns[1:], None], strict=True):
        ids = _tool_use_ids(turn)
        if ids:
            _check_uses_answered(turn, ids, following)


def _tool_use_ids(turn: _Turn | None) -> list[str]:
    if turn is None or turn.role != "assistant":
        return []
    return [block["id"] for _, block in turn.blocks if block["type"] == "tool_use"]


def _check_results_answer(turn: _Turn, offered: list[str]) -> None:
    for where, block in turn.blocks:
        if block["type"] == "tool_result" and block["tool_use_id"] not in offered:
            raise invalid(
                f"{where}: unexpected `tool_use_id` found in `tool_result` blocks: "
                f"{block['tool_use_id']}. Each `tool_result` block must have a "
                "corresponding `tool_use` block in the previous message."
            )


def _check_uses_answered(turn: _Turn, ids: list[str], following: _Turn | None) -> None:
    blocks = [block for _, block in following.blocks] if following else []
    answered = {block["tool_use_id"] for block in blocks if block["type"] == "tool_result"}
    missing = [tool_id for tool_id in ids if tool_id not in answered]
    if missing or following is None:
        raise invalid(
            f"messages.{turn.first}: `tool_use` ids were found without `tool_result` blocks "
            f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
            "corresponding `tool_result` block in the next message."
        )
    leading = len(list(takewhile(lambda block: block["type"] == "tool_result", blocks)))
    if leading < len(ids):
        raise invalid(
            f"messages.{following.first}: Did not find {len(ids)} tool_result block(s) at "
            "the beginning of this message. Messages following tool_use blocks must begin "
            "with a matching number of tool_result blocks."
        )
