"""The parsed view of a validated Messages request that matchers and responders read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ToolResult:
    """One `tool_result` block of the last user message."""

    tool_use_id: str
    content: str
    is_error: bool


@dataclass(frozen=True)
class ModelRequest:
    """What a script or responder sees of a `POST /v1/messages` request."""

    body: Mapping[str, Any]
    model: str
    system: str
    tool_names: tuple[str, ...]
    # "auto", "any", "none" or "tool"; "auto" when tools are offered without a choice.
    tool_choice: str
    forced_tool: str | None
    parallel_tool_use: bool
    max_tokens: int
    stream: bool
    stop_sequences: tuple[str, ...]
    last_user_text: str
    tool_results: tuple[ToolResult, ...]

    @property
    def messages(self) -> Sequence[Mapping[str, Any]]:
        """Return the request's messages as sent."""
        messages: Sequence[Mapping[str, Any]] = self.body["messages"]
        return messages

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ModelRequest:
        """Build the view from a body that validation has already accepted."""
        tools: list[Mapping[str, Any]] = list(body.get("tools") or [])
        choice: Mapping[str, Any] = body.get("tool_choice") or {}
        choice_type = str(choice.get("type") or ("auto" if tools else "none"))
        last_user = next((m for m in reversed(body["messages"]) if m["role"] == "user"), None)
        last_content = last_user["content"] if last_user else ""
        return cls(
            body=body,
            model=str(body["model"]),
            system=content_text(body.get("system") or ""),
            tool_names=tuple(str(tool["name"]) for tool in tools),
            tool_choice=choice_type,
            forced_tool=str(choice["name"]) if choice_type == "tool" else None,
            parallel_tool_use=not bool(choice.get("disable_parallel_tool_use", False)),
            max_tokens=int(body["max_tokens"]),
            stream=bool(body.get("stream", False)),
            stop_sequences=tuple(body.get("stop_sequences") or ()),
            last_user_text=content_text(last_content),
            tool_results=_tool_results(last_content),
        )


def content_text(content: Any) -> str:
    """Join the text of a string or a list of blocks (tool results included) with newlines."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_result":
            parts.append(content_text(block.get("content") or ""))
    return "\n".join(parts)


def _tool_results(content: Any) -> tuple[ToolResult, ...]:
    if isinstance(content, str):
        return ()
    return tuple(
        ToolResult(
            tool_use_id=str(block["tool_use_id"]),
            content=content_text(block.get("content") or ""),
            is_error=bool(block.get("is_error", False)),
        )
        for block in content
        if block.get("type") == "tool_result"
    )
