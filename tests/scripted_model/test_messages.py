"""Plain turns, tool-use round trips, forced tool_choice, routing and responders over the SDK."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import anthropic
import pytest
from anthropic.types import MessageParam, TextBlock, ToolResultBlockParam, ToolUseBlock

from app.standins.scripted_model import (
    Match,
    ModelRequest,
    Script,
    ScriptedModel,
    ServerConfig,
    Text,
    ToolUse,
    Turn,
    Usage,
)
from tests.scripted_model.conftest import MODEL, TOOLS

ID_TAIL = r"01[A-Za-z0-9]{22}"


def test_plain_text_turn_has_the_api_shape(
    model: ScriptedModel, client: anthropic.Anthropic
) -> None:
    model.load([Script("chat", [Turn([Text("Hello from the script.")])])])

    reply = client.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Say hello"}]
    )

    assert re.fullmatch(f"msg_{ID_TAIL}", reply.id)
    assert (reply.type, reply.role, reply.model) == ("message", "assistant", MODEL)
    assert reply.content == [TextBlock(type="text", text="Hello from the script.")]
    assert (reply.stop_reason, reply.stop_sequence) == ("end_turn", None)
    # chars/4 rounded up: "Say hello" is 9 characters, the answer 22.
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (3, 6)
    assert reply.usage.cache_creation_input_tokens == 0
    assert reply.usage.cache_read_input_tokens == 0
    assert reply._request_id is not None and reply._request_id.startswith("req_")


async def test_async_client_gets_scripted_usage(
    model: ScriptedModel, async_client: anthropic.AsyncAnthropic
) -> None:
    usage = Usage(input_tokens=1200, output_tokens=34, cache_read_input_tokens=900)
    model.load([Script("chat", [Turn([Text("async answer")], usage=usage)])])

    reply = await async_client.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )

    assert reply.content[0].type == "text" and reply.content[0].text == "async answer"
    assert reply.usage.input_tokens == 1200
    assert reply.usage.output_tokens == 34
    assert reply.usage.cache_read_input_tokens == 900


def test_tool_use_round_trip(model: ScriptedModel, client: anthropic.Anthropic) -> None:
    model.load(
        [
            Script(
                "worker",
                [
                    Turn([Text("Let me read it."), ToolUse("read_file", {"path": "README.md"})]),
                    Turn([Text("The README says hello.")], match=Match(user="hello world")),
                ],
            )
        ]
    )
    messages: list[MessageParam] = [{"role": "user", "content": "Summarise README.md"}]

    first = client.messages.create(model=MODEL, max_tokens=256, tools=TOOLS, messages=messages)

    assert first.stop_reason == "tool_use"
    use = first.content[1]
    assert isinstance(use, ToolUseBlock)
    assert (use.name, use.input) == ("read_file", {"path": "README.md"})
    assert re.fullmatch(f"toolu_{ID_TAIL}", use.id)

    messages.append({"role": "assistant", "content": first.content})
    result: ToolResultBlockParam = {
        "type": "tool_result",
        "tool_use_id": use.id,
        "content": "hello world",
    }
    messages.append({"role": "user", "content": [result]})
    second = client.messages.create(model=MODEL, max_tokens=256, tools=TOOLS, messages=messages)

    assert second.stop_reason == "end_turn"
    assert second.content == [TextBlock(type="text", text="The README says hello.")]
    assert model.remaining() == {"worker": 0}
    sent = model.requests[1].body["messages"][-1]["content"][0]
    assert sent["tool_use_id"] == use.id


def test_forced_tool_choice(model: ScriptedModel, client: anthropic.Anthropic) -> None:
    planner_turn = Turn([ToolUse("plan", {"role": "docs"})], match=Match(tool_choice="tool:plan"))
    model.load([Script("planner", [planner_turn])])

    reply = client.messages.create(
        model=MODEL,
        max_tokens=256,
        tools=TOOLS,
        tool_choice={"type": "tool", "name": "plan"},
        messages=[{"role": "user", "content": "Plan issue #7"}],
    )

    assert reply.stop_reason == "tool_use"
    assert [(b.type, getattr(b, "name", None)) for b in reply.content] == [("tool_use", "plan")]
    assert model.requests[0].body["tool_choice"] == {"type": "tool", "name": "plan"}


def test_turn_that_ignores_a_forced_tool_is_a_script_error(
    model: ScriptedModel, client: anthropic.Anthropic
) -> None:
    model.load([Script("planner", [Turn([Text("I would rather chat.")])])])

    with pytest.raises(anthropic.InternalServerError, match="forces a tool_use"):
        client.with_options(max_retries=2).messages.create(
            model=MODEL,
            max_tokens=256,
            tools=TOOLS,
            tool_choice={"type": "any"},
            messages=[{"role": "user", "content": "Plan issue #7"}],
        )

    # Not retried (x-should-retry: false) and the turn stays queued for a correct request.
    assert [(r.status, r.outcome) for r in model.requests] == [(500, "script_error")]
    assert model.remaining() == {"planner": 1}


def test_routing_between_scripts_by_system_prompt(
    model: ScriptedModel, client: anthropic.Anthropic
) -> None:
    model.load(
        [
            Script("planner", [Turn([Text("plan 1")]), Turn([Text("plan 2")])], Match("planner")),
            Script("reviewer", [Turn([Text("approve")])], Match(system="You review")),
        ]
    )

    def ask(system: str) -> str:
        reply = client.messages.create(
            model=MODEL,
            max_tokens=64,
            system=system,
            messages=[{"role": "user", "content": "next"}],
        )
        block = reply.content[0]
        assert isinstance(block, TextBlock)
        return block.text

    answers = [ask("You are the planner."), ask("You review pull requests."), ask("The planner")]

    assert answers == ["plan 1", "approve", "plan 2"]
    assert [r.script for r in model.requests] == ["planner", "reviewer", "planner"]


def test_unmatched_request_names_the_request(
    model: ScriptedModel, client: anthropic.Anthropic
) -> None:
    model.load([Script("reviewer", [Turn([Text("approve")])], Match(system="You review"))])

    with pytest.raises(anthropic.InternalServerError) as raised:
        client.with_options(max_retries=2).messages.create(
            model=MODEL,
            max_tokens=64,
            system="You are a docs writer.",
            messages=[{"role": "user", "content": "Document the CLI"}],
        )

    message = str(raised.value)
    assert "no scripted turn matches request #1" in message
    assert "You are a docs writer." in message and "Document the CLI" in message
    assert "reviewer (1 left)" in message
    assert [r.outcome for r in model.requests] == ["unmatched"]


def test_repeatable_turn_is_served_every_time(
    model: ScriptedModel, client: anthropic.Anthropic
) -> None:
    model.load([Script("echo", [Turn([Text("once")]), Turn([Text("always")], repeat=True)])])

    texts = [
        client.messages.create(
            model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "go"}]
        ).content[0]
        for _ in range(3)
    ]

    assert [getattr(block, "text", None) for block in texts] == ["once", "always", "always"]
    assert model.remaining() == {"echo": 0}


def test_responder_answers_from_the_parsed_request(
    model: ScriptedModel, client: anthropic.Anthropic
) -> None:
    seen: list[ModelRequest] = []

    def echo(request: ModelRequest) -> Turn | None:
        seen.append(request)
        if "skip" in request.last_user_text:
            return None
        return Turn([Text(f"echo: {request.last_user_text}")])

    model.add_responder(echo, match=Match(system="demo"))
    model.load([Script("fallback", [Turn([Text("from the script")])])])

    def ask(text: str) -> str:
        reply = client.messages.create(
            model=MODEL, max_tokens=64, system="demo", messages=[{"role": "user", "content": text}]
        )
        return getattr(reply.content[0], "text", "")

    assert ask("ping") == "echo: ping"
    assert ask("please skip") == "from the script"
    assert [r.script for r in model.requests] == ["echo", "fallback"]
    assert seen[0].system == "demo" and seen[0].max_tokens == 64


def test_answer_longer_than_max_tokens_is_cut(
    model: ScriptedModel, client: anthropic.Anthropic
) -> None:
    model.load([Script("long", [Turn([Text("x" * 400), ToolUse("plan", {})])])])

    reply = client.messages.create(
        model=MODEL, max_tokens=10, tools=TOOLS, messages=[{"role": "user", "content": "go"}]
    )

    assert reply.stop_reason == "max_tokens"
    assert reply.content == [TextBlock(type="text", text="x" * 40)]
    assert reply.usage.output_tokens == 10


def test_fallback_turn_answers_unmatched_requests(serve: Callable[[ScriptedModel], str]) -> None:
    fallback = ScriptedModel(config=ServerConfig(fallback=Turn([Text("fallback")])))
    with anthropic.Anthropic(base_url=serve(fallback), api_key="k", max_retries=0) as sdk:
        reply = sdk.messages.create(
            model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "anything"}]
        )

    assert getattr(reply.content[0], "text", None) == "fallback"


async def test_concurrent_workers_each_get_a_distinct_turn(
    model: ScriptedModel, async_client: anthropic.AsyncAnthropic
) -> None:
    turns = [Turn([Text(f"worker answer {n}")]) for n in range(8)]
    model.load([Script("workers", turns, Match(system="worker"))])

    async def ask() -> str:
        reply = await async_client.messages.create(
            model=MODEL,
            max_tokens=16,
            system="You are a worker.",
            messages=[{"role": "user", "content": "go"}],
        )
        return getattr(reply.content[0], "text", "")

    answers = await asyncio.gather(*(ask() for _ in range(8)))

    assert sorted(answers) == sorted(f"worker answer {n}" for n in range(8))
    assert model.remaining() == {"workers": 0}


def test_stop_sequence_turn(model: ScriptedModel, client: anthropic.Anthropic) -> None:
    model.load(
        [Script("s", [Turn([Text("1. first")], stop_reason="stop_sequence", stop_sequence="2.")])]
    )

    reply = client.messages.create(
        model=MODEL,
        max_tokens=32,
        stop_sequences=["2."],
        messages=[{"role": "user", "content": "list"}],
    )

    assert (reply.stop_reason, reply.stop_sequence) == ("stop_sequence", "2.")


def test_served_turn_is_in_the_log(model: ScriptedModel, client: anthropic.Anthropic) -> None:
    turn = Turn([Text("logged")])
    model.load([Script("s", [turn])])

    client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}])

    (record,) = model.requests
    assert record.turn == turn and (record.script, record.turn_index) == ("s", 0)
    assert record.headers["anthropic-version"] and record.duration is not None


def test_failing_responder_is_reported(model: ScriptedModel, client: anthropic.Anthropic) -> None:
    def broken(request: ModelRequest) -> Turn | None:
        raise KeyError("no plan for this issue")

    model.add_responder(broken)

    with pytest.raises(anthropic.InternalServerError, match="responder failed on request #1"):
        client.messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )

    assert [(r.status, r.outcome) for r in model.requests] == [(500, "script_error")]
