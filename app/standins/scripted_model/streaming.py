"""The server-sent events of a streamed Message, in the order the API sends them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def stream_events(message: dict[str, Any], chunk_chars: int) -> Iterator[dict[str, Any]]:
    """Yield message_start, ping, each block's start/deltas/stop, message_delta, message_stop."""
    usage = message["usage"]
    yield {
        "type": "message_start",
        "message": {
            **message,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": min(1, usage["output_tokens"])},
        },
    }
    yield {"type": "ping"}
    for index, block in enumerate(message["content"]):
        yield from _block_events(index, block, chunk_chars)
    yield {
        "type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]},
        # Counts on message_delta are cumulative totals.
        "usage": {
            key: usage[key]
            for key in (
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
                "output_tokens",
            )
        },
    }
    yield {"type": "message_stop"}


def _block_events(index: int, block: dict[str, Any], size: int) -> Iterator[dict[str, Any]]:
    if block["type"] == "text":
        yield {
            "type": "content_block_start",
            "index": index,
            "content_block": {**block, "text": ""},
        }
        for piece in _chunks(block["text"], size):
            delta = {"type": "text_delta", "text": piece}
            yield {"type": "content_block_delta", "index": index, "delta": delta}
    else:
        start = {**block, "input": {}}
        yield {"type": "content_block_start", "index": index, "content_block": start}
        # The API opens a tool's input with an empty partial_json before the JSON itself.
        for piece in ["", *_chunks(json.dumps(block["input"]), size)]:
            delta = {"type": "input_json_delta", "partial_json": piece}
            yield {"type": "content_block_delta", "index": index, "delta": delta}
    yield {"type": "content_block_stop", "index": index}


def _chunks(text: str, size: int) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), max(1, size))]


def encode_event(event: dict[str, Any]) -> bytes:
    """Encode one event as an SSE frame named after its type."""
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
