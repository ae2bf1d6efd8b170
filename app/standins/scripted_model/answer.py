"""Turn a scripted turn into the Message the API returns for one request."""

from __future__ import annotations

from typing import Any

from app.standins.scripted_model.cache import CacheFigures
from app.standins.scripted_model.ids import new_id
from app.standins.scripted_model.request import ModelRequest
from app.standins.scripted_model.script import Block, Text, Turn
from app.standins.scripted_model.tokens import fit_to_max_tokens, output_tokens


def build_message(turn: Turn, request: ModelRequest, cache: CacheFigures) -> dict[str, Any]:
    """Return the Message JSON: content cut to max_tokens, usage scripted or estimated."""
    blocks, cut = fit_to_max_tokens(turn.content, request.max_tokens)
    scripted = turn.usage
    output = scripted.output_tokens if scripted.output_tokens is not None else output_tokens(blocks)
    creation = scripted.cache_creation_input_tokens
    # Scripted creation figures are reported as 5-minute writes.
    written_5m = _given(creation, cache.ephemeral_5m_input_tokens)
    written_1h = cache.ephemeral_1h_input_tokens if creation is None else 0
    usage = {
        "input_tokens": _given(scripted.input_tokens, cache.input_tokens),
        "cache_creation_input_tokens": _given(creation, cache.cache_creation_input_tokens),
        "cache_read_input_tokens": _given(
            scripted.cache_read_input_tokens, cache.cache_read_input_tokens
        ),
        "cache_creation": {
            "ephemeral_5m_input_tokens": written_5m,
            "ephemeral_1h_input_tokens": written_1h,
        },
        "output_tokens": min(output, request.max_tokens),
        "service_tier": "standard",
    }
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "content": [block_json(block) for block in blocks],
        "stop_reason": "max_tokens" if cut else turn.resolved_stop_reason,
        "stop_sequence": None if cut else turn.stop_sequence,
        "usage": usage,
    }


def block_json(block: Block) -> dict[str, Any]:
    """Return a content block in wire form; a tool_use gets a `toolu_` id unless scripted."""
    if isinstance(block, Text):
        return {"type": "text", "text": block.text}
    return {
        "type": "tool_use",
        "id": block.id or new_id("toolu"),
        "name": block.name,
        "input": dict(block.input),
    }


def _given(scripted: int | None, estimated: int) -> int:
    return estimated if scripted is None else scripted
