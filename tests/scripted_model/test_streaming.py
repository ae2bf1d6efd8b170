"""Streaming: the SSE event sequence and the SDK's stream helpers, sync and async."""

from __future__ import annotations

import json

import anthropic
import httpx
from anthropic.types import ToolUseBlock

from app.standins.scripted_model import Script, ScriptedModel, Text, ToolUse, Turn
from tests.scripted_model.conftest import API_KEY, MODEL, TOOLS

ANSWER = "I will read the README first, then summarise it for you."
TOOL_INPUT = {"path": "docs/README.md", "why": "to see what the project is"}


def load_tool_turn(model: ScriptedModel) -> None:
    model.load([Script("s", [Turn([Text(ANSWER), ToolUse("read_file", TOOL_INPUT)])])])


def test_sync_stream_helper_rebuilds_the_message(
    model: ScriptedModel, client: anthropic.Anthropic
) -> None:
    load_tool_turn(model)

    with client.messages.stream(
        model=MODEL, max_tokens=256, tools=TOOLS, messages=[{"role": "user", "content": "go"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()

    assert len(pieces) > 1 and "".join(pieces) == ANSWER
    assert final.stop_reason == "tool_use"
    use = final.content[1]
    assert isinstance(use, ToolUseBlock) and use.input == TOOL_INPUT
    assert final.usage.output_tokens == model.requests[0].response["usage"]["output_tokens"]
    assert model.requests[0].stream and model.requests[0].outcome == "served"


async def test_async_stream_helper(
    model: ScriptedModel, async_client: anthropic.AsyncAnthropic
) -> None:
    load_tool_turn(model)

    async with async_client.messages.stream(
        model=MODEL, max_tokens=256, tools=TOOLS, messages=[{"role": "user", "content": "go"}]
    ) as stream:
        final = await stream.get_final_message()

    assert [block.type for block in final.content] == ["text", "tool_use"]
    assert final.content[0].type == "text" and final.content[0].text == ANSWER


def test_raw_event_sequence(model: ScriptedModel, server: str) -> None:
    load_tool_turn(model)
    body = {
        "model": MODEL,
        "max_tokens": 256,
        "stream": True,
        "tools": TOOLS,
        "messages": [{"role": "user", "content": "go"}],
    }
    headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}

    with httpx.Client(base_url=server, timeout=5) as http:
        response = http.post("/v1/messages", json=body, headers=headers)

    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [frame for frame in response.text.split("\n\n") if frame]
    events = []
    for frame in frames:
        name_line, data_line = frame.split("\n")
        data = json.loads(data_line.removeprefix("data: "))
        assert name_line == f"event: {data['type']}"
        events.append(data)
    kinds = [event["type"] for event in events]
    assert kinds[:3] == ["message_start", "ping", "content_block_start"]
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 2
    start = events[0]["message"]
    assert (start["content"], start["stop_reason"], start["usage"]["output_tokens"]) == (
        [],
        None,
        1,
    )
    tool_start = [e for e in events if e["type"] == "content_block_start"][1]
    assert tool_start["content_block"]["input"] == {}
    partial = "".join(
        e["delta"]["partial_json"]
        for e in events
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"
    )
    assert json.loads(partial) == TOOL_INPUT
    assert events[-2]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
