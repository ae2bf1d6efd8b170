"""Requests the real API rejects are rejected here too, in its words and shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam

from app.standins.scripted_model import Script, ScriptedModel, ServerConfig, Text, ToolUse, Turn
from tests.scripted_model.conftest import API_KEY, MODEL, TOOLS

USE_ID = "toolu_01AAAAAAAAAAAAAAAAAAAAAA"
ASSISTANT_USES_TOOL: MessageParam = {
    "role": "assistant",
    "content": [{"type": "tool_use", "id": USE_ID, "name": "read_file", "input": {"path": "a"}}],
}


def result_for(tool_use_id: str) -> MessageParam:
    return {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": tool_use_id, "content": "text"}],
    }


HELLO: MessageParam = {"role": "user", "content": "hello"}
CACHED = {"type": "ephemeral"}

INVALID_REQUESTS: dict[str, tuple[dict[str, Any], str]] = {
    "wrong tool_result id": (
        {"messages": [HELLO, ASSISTANT_USES_TOOL, result_for("toolu_01BBBBBBBBBBBBBBBBBBBBBB")]},
        "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: "
        "toolu_01BBBBBBBBBBBBBBBBBBBBBB",
    ),
    "unanswered tool_use": (
        {"messages": [HELLO, ASSISTANT_USES_TOOL, HELLO]},
        f"messages.1: `tool_use` ids were found without `tool_result` blocks "
        f"immediately after: {USE_ID}",
    ),
    "tool_result after text": (
        {
            "messages": [
                HELLO,
                ASSISTANT_USES_TOOL,
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "here"},
                        {"type": "tool_result", "tool_use_id": USE_ID, "content": "text"},
                    ],
                },
            ]
        },
        "messages.2: Did not find 1 tool_result block(s) at the beginning of this message",
    ),
    "no messages": ({"messages": []}, "messages: at least one message is required"),
    "first message from assistant": (
        {"messages": [{"role": "assistant", "content": "hi"}, HELLO]},
        'first message must use the "user" role',
    ),
    "roles not alternating": (
        {"messages": [HELLO, HELLO]},
        'roles must alternate between "user" and "assistant"',
    ),
    "negative max_tokens": (
        {"max_tokens": -1},
        "max_tokens: Input should be greater than or equal to 0",
    ),
    "bad tool name": (
        {"tools": [{"name": "read file!", "input_schema": {"type": "object"}}]},
        "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'",
    ),
    "tool schema not an object": (
        {"tools": [{"name": "read", "input_schema": {"type": "array"}}]},
        "tools.0.custom.input_schema.type: Input should be 'object'",
    ),
    "duplicate tool names": ({"tools": [TOOLS[0], TOOLS[0]]}, "Tool names must be unique"),
    "tool_choice names unknown tool": (
        {"tools": TOOLS, "tool_choice": {"type": "tool", "name": "deploy"}},
        "tool_choice.name: Tool 'deploy' not found in provided tools",
    ),
    "tool_choice without tools": (
        {"tool_choice": {"type": "any"}},
        "tool_choice may only be specified while providing tools",
    ),
    "five cache breakpoints": (
        {
            "system": [
                {"type": "text", "text": f"part {n}", "cache_control": CACHED} for n in range(5)
            ]
        },
        "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    ),
    "unknown cache_control type": (
        {"system": [{"type": "text", "text": "s", "cache_control": {"type": "forever"}}]},
        "system.0.cache_control.type: Input should be 'ephemeral'",
    ),
    "prefill ending in whitespace": (
        {"messages": [HELLO, {"role": "assistant", "content": "Sure, "}]},
        "final assistant content cannot end with trailing whitespace",
    ),
    "empty text block": (
        {"messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]},
        "text content blocks must be non-empty",
    ),
    "tool_use in a user message": (
        {"messages": [{"role": "user", "content": list(ASSISTANT_USES_TOOL["content"])}]},
        "messages.0.content.0: Input tag 'tool_use'",
    ),
}


@pytest.mark.parametrize("case", INVALID_REQUESTS, ids=list(INVALID_REQUESTS))
def test_invalid_request_is_a_bad_request(
    case: str, model: ScriptedModel, client: anthropic.Anthropic
) -> None:
    model.load([Script("any", [Turn([Text("should not be served")])])])
    changes, message = INVALID_REQUESTS[case]
    params: dict[str, Any] = {"model": MODEL, "max_tokens": 64, "messages": [HELLO], **changes}

    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(**params)

    assert raised.value.status_code == 400
    assert raised.value.type == "invalid_request_error"
    assert raised.value.api_message is not None and message in raised.value.api_message
    assert [(r.status, r.outcome) for r in model.requests] == [(400, "rejected")]
    assert model.remaining() == {"any": 1}


def test_valid_tool_result_passes_the_same_checks(
    model: ScriptedModel, client: anthropic.Anthropic
) -> None:
    model.load([Script("any", [Turn([Text("fine")])])])

    reply = client.messages.create(
        model=MODEL,
        max_tokens=64,
        tools=TOOLS,
        messages=[HELLO, ASSISTANT_USES_TOOL, result_for(USE_ID)],
    )

    assert reply.stop_reason == "end_turn"


def test_extra_top_level_field_is_rejected(
    model: ScriptedModel, client: anthropic.Anthropic
) -> None:
    with pytest.raises(anthropic.BadRequestError, match="bogus: Extra inputs are not permitted"):
        client.messages.create(
            model=MODEL, max_tokens=8, messages=[HELLO], extra_body={"bogus": True}
        )


def test_unknown_model_is_not_found(serve: Callable[[ScriptedModel], str]) -> None:
    only_haiku = ScriptedModel(config=ServerConfig(models=("claude-haiku-*",)))
    with (
        anthropic.Anthropic(base_url=serve(only_haiku), api_key=API_KEY, max_retries=0) as sdk,
        pytest.raises(anthropic.NotFoundError) as raised,
    ):
        sdk.messages.create(model=MODEL, max_tokens=8, messages=[HELLO])

    assert raised.value.type == "not_found_error"
    assert raised.value.api_message == f"model: {MODEL}"


def test_missing_fields_and_headers_over_raw_http(server: str) -> None:
    headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
    body = {"model": MODEL, "messages": [HELLO]}
    with httpx.Client(base_url=server, timeout=5) as http:
        no_max_tokens = http.post("/v1/messages", json=body, headers=headers)
        no_key = http.post("/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"})
        no_version = http.post(
            "/v1/messages", json={**body, "max_tokens": 8}, headers={"x-api-key": API_KEY}
        )
        not_json = http.post("/v1/messages", content=b"{nope", headers=headers)

    assert no_max_tokens.status_code == 400
    assert no_max_tokens.json()["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }
    assert no_max_tokens.json()["request_id"].startswith("req_")
    assert (no_key.status_code, no_key.json()["error"]["type"]) == (401, "authentication_error")
    assert no_version.status_code == 400
    assert "anthropic-version" in no_version.json()["error"]["message"]
    assert not_json.status_code == 400


def test_configured_api_key_is_required(serve: Callable[[ScriptedModel], str]) -> None:
    guarded = ScriptedModel(
        [Script("s", [Turn([Text("ok")])])], config=ServerConfig(api_key="right-key")
    )
    url = serve(guarded)
    with (
        anthropic.Anthropic(base_url=url, api_key="wrong-key", max_retries=0) as bad,
        pytest.raises(anthropic.AuthenticationError),
    ):
        bad.messages.create(model=MODEL, max_tokens=8, messages=[HELLO])
    with anthropic.Anthropic(base_url=url, api_key="right-key", max_retries=0) as good:
        reply = good.messages.create(model=MODEL, max_tokens=8, messages=[HELLO])

    assert getattr(reply.content[0], "text", None) == "ok"
    assert [r.status for r in guarded.requests] == [401, 200]
    assert "x-api-key" not in guarded.requests[1].headers


def test_scripted_tool_use_must_name_an_offered_tool(
    model: ScriptedModel, client: anthropic.Anthropic
) -> None:
    model.load([Script("s", [Turn([ToolUse("deploy", {})])])])

    with pytest.raises(anthropic.InternalServerError, match="'deploy' names a tool"):
        client.messages.create(model=MODEL, max_tokens=64, tools=TOOLS, messages=[HELLO])


def test_lenient_mode_merges_consecutive_turns(serve: Callable[[ScriptedModel], str]) -> None:
    lenient = ScriptedModel(
        [Script("s", [Turn([Text("merged")])])], config=ServerConfig(strict_alternation=False)
    )
    split_results: list[MessageParam] = [
        HELLO,
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": USE_ID, "name": "read_file", "input": {}},
                {
                    "type": "tool_use",
                    "id": "toolu_01CCCCCCCCCCCCCCCCCCCCCC",
                    "name": "plan",
                    "input": {},
                },
            ],
        },
        result_for(USE_ID),
        result_for("toolu_01CCCCCCCCCCCCCCCCCCCCCC"),
    ]

    with anthropic.Anthropic(base_url=serve(lenient), api_key=API_KEY, max_retries=0) as sdk:
        reply = sdk.messages.create(model=MODEL, max_tokens=8, tools=TOOLS, messages=split_results)
        with pytest.raises(anthropic.BadRequestError, match="toolu_01CCCCCCCCCCCCCCCCCCCCCC"):
            sdk.messages.create(model=MODEL, max_tokens=8, tools=TOOLS, messages=split_results[:3])

    assert getattr(reply.content[0], "text", None) == "merged"
