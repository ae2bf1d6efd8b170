"""An attempt's transcript for people: who said what, one line per tool call, text as text.

A worker saves its conversation as one JSON line at the end of the attempt's log
(workers/agent.py `transcript`). `townhall task N` shows it through here; `--json` keeps it raw.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

CALL_CHARS = 160  # a tool call's arguments, cut to stay on one line
RESULT_CHARS = 160  # a tool result's first line, likewise
SYSTEM_CHARS = 300  # the system prompt is the role's, the same every attempt


def readable_log(log: str) -> str:
    """Return `log` with every transcript line (a JSON conversation) rendered for reading."""
    out: list[str] = []
    for line in log.splitlines():
        conversation = _conversation(line)
        out.extend([line] if conversation is None else render(conversation))
    return "\n".join(out)


def _conversation(line: str) -> Mapping[str, Any] | None:
    stripped = line.strip()
    if not stripped.startswith("{") or '"messages"' not in stripped:
        return None
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError:
        return None
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        return value
    return None


def render(conversation: Mapping[str, Any]) -> list[str]:
    """The conversation as lines: a header, then each message's text, calls and results."""
    turns, tokens, dollars = (conversation.get(k) for k in ("turns", "output_tokens", "dollars"))
    lines = [f"── transcript: {turns} turns, {tokens} output tokens, ${dollars} ──"]
    system = " ".join(str(conversation.get("system") or "").split())
    if system:
        lines.append(f"system: {_cut(system, SYSTEM_CHARS)}")
    for message in conversation["messages"]:
        if isinstance(message, Mapping):
            lines.extend(_message(message))
    return lines


def _message(message: Mapping[str, Any]) -> Iterator[str]:
    role = str(message.get("role") or "?")
    content = message.get("content")
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text" and str(block.get("text") or "").strip():
            # Text stays whole, one paragraph per message: the terminal wraps it.
            yield f"{role}: {str(block['text']).strip()}"
        elif kind == "tool_use":
            yield f"  → {block.get('name')}({_arguments(block.get('input'))})"
        elif kind == "tool_result":
            mark = "✗" if block.get("is_error") else "←"
            yield f"  {mark} {_result(block.get('content'))}"


def _arguments(arguments: Any) -> str:
    if not isinstance(arguments, Mapping):
        return _cut(json.dumps(arguments, default=str), CALL_CHARS)
    parts = [f"{key}={json.dumps(value, default=str)}" for key, value in arguments.items()]
    return _cut(", ".join(parts), CALL_CHARS)


def _result(content: Any) -> str:
    if isinstance(content, list):
        content = " ".join(
            str(item.get("text", "")) for item in content if isinstance(item, Mapping)
        )
    text = str(content or "")
    lines = text.splitlines() or [""]
    more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    return _cut(lines[0].strip(), RESULT_CHARS) + more


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
