"""Prompt caching of agent conversations: the moving breakpoint, its limits, the lookback.

Through the real SDK against the scripted model server, whose prompt cache follows the API's
documented rules; the usage numbers it answers with are the evidence.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import anthropic
import pytest

from app.ceo.planning import plan_issue, planning_message
from app.clock import ManualClock
from app.llm import (
    EPHEMERAL,
    LLM,
    MAX_BREAKPOINTS,
    AnthropicModel,
    CacheStrategy,
    CallContext,
    place_breakpoints,
    store_recorder,
)
from app.serving import ServerThread
from app.settings import DEFAULT_MODELS, DEFAULT_PRICES
from app.standins.scripted_model import Script, ScriptedModel, ServerConfig, Text, ToolUse, Turn
from app.standins.scripted_model.cache import LOOKBACK_BLOCKS, PromptCache
from app.standins.scripted_model.tokens import Segment
from app.store import Store
from workers.agent import AgentSession, Limits, Outcome
from workers.tools import ToolOutcome

FILE_BODY = "\n".join(f"line {n}: some code that the agent read" for n in range(120))


class ReadingTools:
    """Tools whose results are long enough to matter, so caching shows in the usage."""

    @property
    def schemas(self) -> Sequence[Mapping[str, Any]]:
        obj = {"type": "object", "properties": {"path": {"type": "string"}}}
        return [
            {"name": "read_file", "description": "Read a file.", "input_schema": obj},
            {"name": "finish", "description": "Finish.", "input_schema": obj},
        ]

    async def dispatch(self, name: str, arguments: Mapping[str, Any]) -> ToolOutcome:
        return ToolOutcome(f"{arguments.get('path')}\n{FILE_BODY}")


@pytest.fixture
def scripted() -> Iterator[tuple[ScriptedModel, str]]:
    # The minimum cacheable prefix of the API is modelled, so a breakpoint under it is a no-op.
    model = ScriptedModel(config=ServerConfig(min_cacheable_tokens=1024))
    with ServerThread(model.create_app()) as server:
        yield model, server.url


def reading_session(turns: int) -> list[Turn]:
    reads = [
        Turn([Text(f"Reading {n}."), ToolUse("read_file", {"path": f"f{n}.py"})])
        for n in range(turns)
    ]
    return [*reads, Turn([ToolUse("finish", {"path": "done"})])]


async def run_agent(
    url: str, store: Store, clock: ManualClock, strategy: CacheStrategy
) -> AgentSession:
    client = anthropic.AsyncAnthropic(api_key="k", base_url=url, max_retries=0, timeout=10)
    llm = LLM(client, DEFAULT_MODELS, DEFAULT_PRICES, store_recorder(store, clock))
    context = CallContext(phase="agent", task_id=1, attempt=1, role="developer")
    agent = AgentSession(
        model=AnthropicModel(llm, "standard", context, cache_strategy=strategy),
        tools=ReadingTools(),
        system="You are a worker. " * 300,  # about 1,350 tokens: over the minimum
        limits=Limits(),
        context_budget=None,
    )
    assert await agent.run("Read the files.") == Outcome.FINISHED
    return agent


async def usage_rows(store: Store) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in await store.fetchall(
            "SELECT input_tokens, cache_creation_tokens AS written, cache_read_tokens AS read"
            " FROM llm_calls ORDER BY id"
        )
    ]


def breakpoints_in(body: Mapping[str, Any]) -> int:
    blocks = [*(body.get("tools") or []), *body["system"]]
    for message in body["messages"]:
        if not isinstance(message["content"], str):
            blocks += message["content"]
    return sum(1 for block in blocks if block.get("cache_control"))


async def test_each_turn_reads_the_previous_request_from_the_cache(
    scripted: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    model, url = scripted
    model.load([Script("w", reading_session(6))])
    await run_agent(url, store, clock, "conversation")
    rows = await usage_rows(store)
    assert len(rows) == 7
    for previous, current in itertools.pairwise(rows):
        # All of request N (read + written) is read back by request N+1; only its new tail is
        # written, and nothing after the newest block is left to bill as plain input.
        assert current["read"] == previous["read"] + previous["written"]
        assert current["written"] > 0
        assert current["input_tokens"] == 0
    assert all(breakpoints_in(request.body) <= MAX_BREAKPOINTS for request in model.requests)
    last = model.requests[-1].body["messages"]
    assert last[-1]["content"][-1]["cache_control"] == EPHEMERAL  # the newest block
    assert last[-3]["content"][-1]["cache_control"] == EPHEMERAL  # the previous request's
    assert all("cache_control" not in block for block in last[-5]["content"])


async def test_system_only_resends_the_conversation_uncached(
    scripted: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    model, url = scripted
    model.load([Script("w", reading_session(6))])
    agent = await run_agent(url, store, clock, "system_only")
    rows = await usage_rows(store)
    system_prefix = rows[0]["written"]
    assert system_prefix > 0 and all(row["read"] == system_prefix for row in rows[1:])
    assert rows[-1]["input_tokens"] > rows[1]["input_tokens"]  # the conversation grows uncached
    # The agent's own conversation never keeps the marks: each request places them afresh.
    assert all(
        "cache_control" not in block
        for message in agent.messages
        if not isinstance(message["content"], str)
        for block in message["content"]
    )


def test_a_callers_own_breakpoints_count_against_the_limit() -> None:
    tools = [{"name": "t", "description": "d", "input_schema": {"type": "object"}}]
    marked = {"type": "text", "text": "stable context", "cache_control": EPHEMERAL}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [marked, {"type": "text", "text": "question"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "answer"}]},
        {"role": "user", "content": "follow-up"},
    ]
    _, _, placed = place_breakpoints("system", tools, messages, "conversation")
    # tools + system + the caller's mark leave one slot: the newest block takes it.
    assert placed[-1]["content"] == [
        {"type": "text", "text": "follow-up", "cache_control": EPHEMERAL}
    ]
    assert "cache_control" not in placed[0]["content"][1]
    assert messages[-1]["content"] == "follow-up"  # the caller's messages are not changed
    crowded = [{"role": "user", "content": [dict(marked) for _ in range(3)]}]
    with pytest.raises(ValueError, match="at most 4"):
        place_breakpoints("system", tools, crowded, "system_only")


def test_the_cache_looks_back_at_most_twenty_blocks_from_a_breakpoint() -> None:
    blocks = [Segment(f"block {n}", 100, None) for n in range(30)]

    def request(cache: PromptCache, upto: int, marks: Sequence[int]) -> tuple[int, int]:
        segments = [
            Segment(b.key, b.tokens, "5m" if n in marks else None)
            for n, b in enumerate(blocks[:upto])
        ]
        figures = cache.account("claude-sonnet-5-5", segments)
        return figures.cache_read_input_tokens, figures.cache_creation_input_tokens

    assert LOOKBACK_BLOCKS < 29 - 4
    newest_only = PromptCache(ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    assert request(newest_only, 5, [4]) == (0, 500)
    # 25 blocks later, a breakpoint on the newest block alone cannot see the entry at block 4.
    assert request(newest_only, 30, [29]) == (0, 3000)
    both = PromptCache(ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    assert request(both, 5, [4]) == (0, 500)
    # Marking the previous newest block too, as the conversation strategy does, finds it.
    assert request(both, 30, [4, 29]) == (500, 2500)


async def test_the_planner_reads_the_map_and_file_list_from_the_cache(
    scripted: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    model, url = scripted
    plan = {
        "role": "developer", "what": "w", "why": "y", "acceptance_criteria": ["a"],
        "test_case": "t", "files": ["calc/core.py"], "complexity": "small",
    }  # fmt: skip
    model.load([Script("planner", [Turn([ToolUse("submit_plan", plan)], repeat=True)])])
    client = anthropic.AsyncAnthropic(api_key="k", base_url=url, max_retries=0, timeout=10)
    llm = LLM(client, DEFAULT_MODELS, DEFAULT_PRICES, store_recorder(store, clock))
    tree = ["calc/__init__.py", "calc/core.py"]
    codebase_map = "\n".join(f"- `calc/mod_{n}.py`: helpers for case {n}" for n in range(400))
    for number, title in ((1, "add() subtracts"), (2, "mul() divides")):
        message = planning_message(f"Issue {number}: {title}", tree, codebase_map)
        await plan_issue(
            llm, task_id=number, message=message, roles=["developer"], tree=tree,
            is_protected=lambda path: False,
        )  # fmt: skip
    first, second = await usage_rows(store)
    assert first["written"] > len(codebase_map) // 4  # the map and the list were written once
    assert second["read"] == first["written"]  # and read back while planning the next issue
    assert second["written"] == 0 and second["input_tokens"] < 50  # only the issue is new
    assert breakpoints_in(model.requests[0].body) == 3  # tools, system, the stable context
