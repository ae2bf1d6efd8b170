"""Shortening old tool results: what a note keeps, when it happens, and that it stays put."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import anthropic
import pytest

from app.clock import ManualClock
from app.llm import LLM, AnthropicModel, CallContext, store_recorder
from app.serving import ServerThread
from app.settings import DEFAULT_MODELS, DEFAULT_PRICES
from app.standins.scripted_model import Script, ScriptedModel, ToolUse, Turn
from app.store import Store
from workers.agent import AgentSession, Limits, Outcome
from workers.context import ContextBudget, estimate_tokens, result_note, shorten_old_results
from workers.tools import ToolOutcome

BUDGET = ContextBudget(old_result_tokens=3000, keep_turns=2, min_result_tokens=250)


def numbered(first: int, last: int) -> str:
    return "\n".join(
        f"{n:>6}\tvalue_{n} = compute({n})  # a line of code" for n in range(first, last + 1)
    )


def turn(
    call_id: str, name: str, arguments: Mapping[str, Any], result: str, error: bool = False
) -> list[dict[str, Any]]:
    return [
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": call_id, "name": name, "input": dict(arguments)}
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": call_id,
                    "content": result,
                    "is_error": error,
                }
            ],
        },
    ]


def conversation() -> list[dict[str, Any]]:
    test_output = "\n".join(
        [
            "exit code 1 after 2.0s",
            "[stdout]",
            *[f"tests/test_{n}.py ." for n in range(120)],
            "E   AssertionError: assert add(2, 3) == 5",
            "FAILED tests/test_core.py::test_add - AssertionError",
            "1 failed, 119 passed in 2.00s",
        ]
    )
    return [
        {"role": "user", "content": [{"type": "text", "text": "Fix add()."}]},
        *turn("a", "read_file", {"path": "src/calc/core.py"}, numbered(1, 300)),
        *turn(
            "b",
            "edit_file",
            {"path": "src/calc/core.py", "old_text": "a - b", "new_text": "a + b"},
            "replaced 1 occurrence in src/calc/core.py",
        ),
        *turn("c", "run", {"command": "python -m pytest -q"}, test_output),
        *turn(
            "d",
            "read_file",
            {"path": "src/missing.py"},
            "src/missing.py: no such file " * 80,
            error=True,
        ),
        *turn(
            "e",
            "search",
            {"pattern": "compute"},
            "\n".join(f"src/calc/m{n % 7}.py:{n}: compute({n})" for n in range(200)),
        ),
        *turn("f", "read_file", {"path": "src/calc/big.py"}, numbered(1, 400)),
        *turn("g", "read_file", {"path": "src/calc/recent.py"}, numbered(1, 200)),
    ]


def results(messages: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {
        block["tool_use_id"]: block
        for message in messages
        if message["role"] == "user"
        for block in message["content"]
        if block.get("type") == "tool_result"
    }


def test_notes_keep_paths_commands_and_errors() -> None:
    messages = conversation()
    original = results(copy.deepcopy(messages))
    assert shorten_old_results(messages, BUDGET) > 0
    after = results(messages)
    assert (
        after["a"]["content"]
        == "[file src/calc/core.py, lines 1-300, 300 lines, shortened: read it again if needed]"
    )
    run_note = after["c"]["content"]
    assert run_note.startswith("[run 'python -m pytest -q': exit code 1 after 2.0s;")
    assert "E   AssertionError: assert add(2, 3) == 5" in run_note
    assert "FAILED tests/test_core.py::test_add - AssertionError" in run_note
    assert "tests/test_5.py ." not in run_note
    assert after["b"] == original["b"]  # small results are kept whole
    assert after["d"] == original["d"]  # an error result is never shortened
    assert after["g"] == original["g"] and after["f"] == original["f"]  # the last two turns
    # The edit itself stays in the assistant's tool call, which is never touched.
    assert messages[3]["content"][0]["input"]["new_text"] == "a + b"


def test_under_budget_nothing_changes() -> None:
    messages = conversation()
    before = copy.deepcopy(messages)
    roomy = ContextBudget(old_result_tokens=100_000, keep_turns=2)
    assert shorten_old_results(messages, roomy) == 0
    assert messages == before


def test_shortening_is_stable_and_comes_in_chunks() -> None:
    """Once shortened, the prefix stays byte-identical; shortening happens on few turns."""
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "Go."}]}
    ]
    budget = ContextBudget(old_result_tokens=4000, keep_turns=3)
    shortening_turns = []
    for n in range(30):
        messages += turn(f"r{n}", "read_file", {"path": f"src/m{n}.py"}, numbered(1, 60 + n))
        before = json.dumps(messages)
        if shorten_old_results(messages, budget):
            shortening_turns.append(n)
        else:
            assert json.dumps(messages) == before  # a turn that shortens nothing changes nothing
        again = json.dumps(messages)
        assert shorten_old_results(messages, budget) == 0  # deterministic: a second pass is a no-op
        assert json.dumps(messages) == again
    assert 2 <= len(shortening_turns) <= 10, shortening_turns
    # Between two shortenings at least two turns pass (the chunk goes down to half the budget).
    assert all(b - a >= 2 for a, b in itertools.pairwise(shortening_turns))
    old_tokens = sum(estimate_tokens(block["content"]) for block in results(messages[:-6]).values())
    assert old_tokens <= budget.old_result_tokens


def test_notes_are_too_short_to_be_shortened_again() -> None:
    long_run = "exit code 2 after 1.0s\n" + "\n".join(
        f"error: problem {n} " + "x" * 150 for n in range(50)
    )
    note = result_note("run", {"command": "make"}, long_run)
    assert estimate_tokens(note) < BUDGET.min_result_tokens
    search = result_note("search", {"pattern": "p"}, "\n".join(f"f{n}.py:1: p" for n in range(40)))
    assert "f0.py (1)" in search and "and 25 more files" in search
    with pytest.raises(ValueError, match="min_result_tokens"):
        ContextBudget(min_result_tokens=100)


class BigReads:
    @property
    def schemas(self) -> Sequence[Mapping[str, Any]]:
        obj = {"type": "object", "properties": {"path": {"type": "string"}}}
        return [
            {"name": "read_file", "description": "Read a file.", "input_schema": obj},
            {"name": "finish", "description": "Finish.", "input_schema": obj},
        ]

    async def dispatch(self, name: str, arguments: Mapping[str, Any]) -> ToolOutcome:
        return ToolOutcome(numbered(1, 150))


@pytest.fixture
def scripted() -> Iterator[tuple[ScriptedModel, str]]:
    model = ScriptedModel()
    with ServerThread(model.create_app()) as server:
        yield model, server.url


async def test_the_agent_sends_shortened_results(
    scripted: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    model, url = scripted
    reads = [Turn([ToolUse("read_file", {"path": f"f{n}.py"})]) for n in range(8)]
    model.load([Script("w", [*reads, Turn([ToolUse("finish", {"path": "-"})])])])
    client = anthropic.AsyncAnthropic(api_key="k", base_url=url, max_retries=0, timeout=10)
    llm = LLM(client, DEFAULT_MODELS, DEFAULT_PRICES, store_recorder(store, clock))
    agent = AgentSession(
        model=AnthropicModel(llm, "standard", CallContext(phase="agent", task_id=1)),
        tools=BigReads(),
        system="You are a worker.",
        limits=Limits(),
        context_budget=ContextBudget(old_result_tokens=4000, keep_turns=2),
    )
    assert await agent.run("Read.") == Outcome.FINISHED
    assert agent.shortened > 0
    last = model.requests[-1].body["messages"]
    sent = [
        block["content"]
        for message in last
        if message["role"] == "user"
        for block in message["content"]
        if block["type"] == "tool_result"
    ]
    assert sent[0] == "[file f0.py, lines 1-150, 150 lines, shortened: read it again if needed]"
    assert sent[-1] == numbered(1, 150)  # the newest results go whole
    rows = await store.fetchall("SELECT cache_read_tokens FROM llm_calls ORDER BY id")
    assert rows[-1]["cache_read_tokens"] > 0  # after shortening, turns read from the cache again
