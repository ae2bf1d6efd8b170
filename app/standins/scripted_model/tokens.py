"""The token estimate: ceil(characters / 4) per segment, a documented stand-in for a tokenizer.

Input segments, in the order the API caches them: each tool definition (its JSON), the system
prompt (each text block), then each message's content blocks (text counts its text, any other
block its JSON). Output counts each text block's text and each tool_use's name plus input JSON,
and is at least 1, as the real API's is even for an empty answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.standins.scripted_model.script import Block, Text

CHARS_PER_TOKEN = 4


def estimate(text: str) -> int:
    """Return the estimated token count of `text`: ceil(len / 4)."""
    return -(-len(text) // CHARS_PER_TOKEN)


def canonical_json(value: Any) -> str:
    """Serialise `value` the same way every time (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Segment:
    """One cacheable unit of a prompt: its identity, its size, and its breakpoint TTL."""

    key: str
    tokens: int
    ttl: str | None  # "5m" or "1h" when the block carries cache_control


def input_segments(body: Mapping[str, Any]) -> list[Segment]:
    """Split a (validated) request into the segments its input tokens are counted over."""
    segments = [_block_segment("tool", tool, text=None) for tool in body.get("tools") or []]
    system = body.get("system")
    if isinstance(system, str) and system:
        segments.append(Segment("system:" + system, estimate(system), None))
    elif isinstance(system, list):
        segments += [_block_segment("system", block, block.get("text")) for block in system]
    for message in body["messages"]:
        role, content = message["role"], message["content"]
        if isinstance(content, str):
            segments.append(Segment(f"{role}:{content}", estimate(content), None))
            continue
        segments += [
            _block_segment(role, block, block.get("text") if block["type"] == "text" else None)
            for block in content
        ]
    automatic = body.get("cache_control")
    if automatic and segments and segments[-1].ttl is None:
        # Top-level cache_control marks the last cacheable block, as the API documents.
        last = segments[-1]
        segments[-1] = Segment(last.key, last.tokens, str(automatic.get("ttl", "5m")))
    return segments


def _block_segment(kind: str, block: Mapping[str, Any], text: str | None) -> Segment:
    bare = {key: value for key, value in block.items() if key != "cache_control"}
    encoded = canonical_json(bare)
    control = block.get("cache_control")
    ttl = str(control.get("ttl", "5m")) if control else None
    return Segment(f"{kind}:{encoded}", estimate(encoded if text is None else text), ttl)


def count_input_tokens(body: Mapping[str, Any]) -> int:
    """Return the estimated input tokens of a request, as count_tokens answers."""
    return sum(segment.tokens for segment in input_segments(body))


def block_tokens(block: Block) -> int:
    """Return the estimated output tokens of one scripted block."""
    if isinstance(block, Text):
        return estimate(block.text)
    return estimate(block.name + canonical_json(dict(block.input)))


def output_tokens(blocks: Sequence[Block]) -> int:
    """Return the estimated output tokens of an answer (at least 1)."""
    return max(1, sum(block_tokens(block) for block in blocks))


def fit_to_max_tokens(blocks: Sequence[Block], max_tokens: int) -> tuple[tuple[Block, ...], bool]:
    """Cut an answer to `max_tokens` as the model would stop; return it and whether it was cut."""
    # Text is cut at the budget; a tool_use that does not fit whole is left out.
    kept: list[Block] = []
    budget = max_tokens
    for block in blocks:
        cost = block_tokens(block)
        if cost <= budget:
            kept.append(block)
            budget -= cost
            continue
        if isinstance(block, Text) and budget > 0:
            kept.append(Text(block.text[: budget * CHARS_PER_TOKEN]))
        return tuple(kept), True
    return tuple(kept), False
