"""The agent loop through the real SDK against the scripted model: finish, limits, errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import anthropic
import pytest

from app.clock import ManualClock
from app.llm import (
    LLM,
    AnthropicModel,
    CallContext,
    ModelTurn,
    ModelUsage,
    ToolCall,
    store_recorder,
)
from app.serving import ServerThread
from app.settings import DEFAULT_MODELS, DEFAULT_PRICES
from app.standins.scripted_model import Fault, Script, ScriptedModel, Text, ToolUse, Turn, Usage
from app.store import Store
from workers.agent import AgentSession, Limits, Outcome
from workers.tools import ToolOutcome


class NotesToolBox:
    """A tiny in-memory toolbox: the loop under test, not the tools, is what matters here."""

    def __init__(self) -> None:
        self.notes: dict[str, str] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @property
    def schemas(self) -> Sequence[Mapping[str, Any]]:
        obj = {"type": "object", "properties": {"name": {"type": "string"}}}
        return [
            {"name": "write_note", "description": "Write a note.", "input_schema": obj},
            {"name": "read_note", "description": "Read a note.", "input_schema": obj},
            {"name": "finish", "description": "Finish.", "input_schema": obj},
        ]

    async def dispatch(self, name: str, arguments: Mapping[str, Any]) -> ToolOutcome:
        self.calls.append((name, dict(arguments)))
        if name == "write_note":
            self.notes[arguments["name"]] = "written"
            return ToolOutcome("ok")
        if arguments.get("name") not in self.notes:
            return ToolOutcome(f"no note {arguments.get('name')!r}", is_error=True)
        return ToolOutcome(self.notes[arguments["name"]])


@pytest.fixture
def scripted() -> Iterator[tuple[ScriptedModel, str]]:
    model = ScriptedModel()
    with ServerThread(model.create_app()) as server:
        yield model, server.url


def session(url: str, store: Store, clock: ManualClock, limits: Limits) -> AgentSession:
    client = anthropic.AsyncAnthropic(api_key="k", base_url=url, max_retries=0, timeout=10)
    llm = LLM(client, DEFAULT_MODELS, DEFAULT_PRICES, store_recorder(store, clock))
    context = CallContext(phase="agent", task_id=1, attempt=1, role="developer")
    return AgentSession(
        model=AnthropicModel(llm, "standard", context),
        tools=NotesToolBox(),
        system="You are a worker.",
        limits=limits,
    )


async def test_tools_then_finish(
    scripted: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    model, url = scripted
    model.load(
        [
            Script(
                "w",
                [
                    Turn([ToolUse("read_note", {"name": "a"})]),
                    Turn([Text("I'll write it."), ToolUse("write_note", {"name": "a"})]),
                    Turn([ToolUse("finish", {"summary": "Wrote note a."})]),
                ],
            )
        ]
    )
    agent = session(url, store, clock, Limits())
    assert await agent.run("Write note a.") == Outcome.FINISHED
    assert agent.summary == "Wrote note a."
    assert agent.turns == 3
    second = model.requests[1].body["messages"][-1]["content"][0]
    assert second["type"] == "tool_result" and second["is_error"] is True
    assert len(await store.fetchall("SELECT * FROM llm_calls WHERE phase = 'agent'")) == 3
    assert '"turns": 3' in agent.transcript()


async def test_a_fix_round_continues_the_same_conversation(
    scripted: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    model, url = scripted
    model.load(
        [
            Script(
                "w",
                [
                    Turn([ToolUse("finish", {"summary": "done"})]),
                    Turn([ToolUse("write_note", {"name": "fix"})]),
                    Turn([ToolUse("finish", {"summary": "fixed"})]),
                ],
            )
        ]
    )
    agent = session(url, store, clock, Limits())
    assert await agent.run("Do it.") == Outcome.FINISHED
    assert await agent.run("The tests failed: assert 1 == 2") == Outcome.FINISHED
    assert agent.summary == "fixed"
    # The finish call was answered before the feedback, so the API accepted the request.
    feedback = model.requests[1].body["messages"][-1]["content"]
    assert feedback[0]["type"] == "tool_result"
    assert feedback[1] == {
        "type": "text",
        "text": "The tests failed: assert 1 == 2",
        "cache_control": {"type": "ephemeral"},  # the moving breakpoint: the newest block
    }


async def test_turn_limit_stops_the_loop(
    scripted: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    model, url = scripted
    model.load([Script("w", [Turn([ToolUse("write_note", {"name": "x"})], repeat=True)])])
    agent = session(url, store, clock, Limits(max_turns=3))
    assert await agent.run("Loop forever.") == Outcome.TURN_LIMIT
    assert agent.turns == 3
    assert len(model.requests) == 3


async def test_budget_limit_stops_the_loop(
    scripted: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    model, url = scripted
    expensive = Turn(
        [ToolUse("write_note", {"name": "x"})],
        usage=Usage(input_tokens=400_000, output_tokens=10),
        repeat=True,
    )
    model.load([Script("w", [expensive])])
    agent = session(url, store, clock, Limits(max_dollars=2.0))
    assert await agent.run("Spend.") == Outcome.BUDGET_LIMIT
    assert agent.turns == 2  # 1.2 dollars each at the standard tier's input price
    assert agent.dollars >= 2.0


async def test_a_model_that_stops_calling_tools_is_nudged_then_stalled(
    scripted: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    model, url = scripted
    model.load([Script("w", [Turn([Text("I think I'm done?")], repeat=True)])])
    agent = session(url, store, clock, Limits())
    assert await agent.run("Work.") == Outcome.STALLED
    assert len(model.requests) == 3


async def test_model_errors_end_the_run_with_an_outcome(
    scripted: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    model, url = scripted
    model.inject(Fault("overloaded"))
    agent = session(url, store, clock, Limits())
    assert await agent.run("Work.") == Outcome.MODEL_ERROR
    assert "Overloaded" in agent.summary or "529" in agent.summary


class SteadyModel:
    """A model stand-in that asks for the same tool every turn and adds fixed usage per turn."""

    def __init__(self, per_turn: ModelUsage) -> None:
        self.usage = ModelUsage()
        self.per_turn = per_turn

    async def query(
        self,
        system: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
    ) -> ModelTurn:
        self.usage += self.per_turn
        call_id = f"call-{self.usage.calls}"
        block = {"type": "tool_use", "id": call_id, "name": "write_note", "input": {"name": "x"}}
        return ModelTurn((block,), (ToolCall(call_id, "write_note", {"name": "x"}),), "")


async def test_output_token_limit_stops_the_loop() -> None:
    agent = AgentSession(
        model=SteadyModel(ModelUsage(calls=1, output_tokens=600)),
        tools=NotesToolBox(),
        system="You are a worker.",
        limits=Limits(max_output_tokens=1000),
    )
    assert await agent.run("Write.") == Outcome.TOKEN_LIMIT
    assert agent.turns == 2


async def test_wall_time_limit_stops_the_loop() -> None:
    ticks = iter(range(0, 1000, 10))
    agent = AgentSession(
        model=SteadyModel(ModelUsage(calls=1)),
        tools=NotesToolBox(),
        system="You are a worker.",
        limits=Limits(max_seconds=25),
        clock=lambda: float(next(ticks)),
    )
    assert await agent.run("Write.") == Outcome.TIME_LIMIT
    assert agent.turns == 2  # queried at 10 s and 20 s after the start, stopped at 30 s
