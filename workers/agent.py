"""The agent loop: short, limited, and ending with a typed outcome.

Shaped like mini-swe-agent's: `run` loops over `step`; a step queries the model, then executes
the tool calls it asked for. Every way out is an exception (a limit, `finish`, a model that
stops calling tools, a model error) and one `try` in `run` turns it into the `Outcome`. Tool
failures go back to the model as error results. The conversation lives in an `AgentSession`,
so verification failures can be fed back as the next message of the same conversation, and
the transcript is saved whatever happens. Before each query, tool results older than the last
few turns are shortened once they pass a budget (`workers.context`), in chunks so the cached
prefix of the conversation changes rarely.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from app.llm import ModelError, ModelTurn, ModelUsage, ToolCall
from workers.context import ContextBudget, shorten_old_results
from workers.tools import ToolOutcome

FINISH_TOOL = "finish"
FINISHED_RESULT = "Finished; the work will now be verified."
# A model that answers without calling a tool is reminded this many times before we stop.
MAX_NUDGES = 2
NUDGE = "Continue with the tools. When the work is done and verified, call `finish`."


class Outcome(StrEnum):
    """How an agent run ended."""

    FINISHED = "finished"
    TURN_LIMIT = "turn_limit"
    TOKEN_LIMIT = "token_limit"  # noqa: S105 - an outcome name, not a credential
    BUDGET_LIMIT = "budget_limit"
    TIME_LIMIT = "time_limit"
    STALLED = "stalled"
    MODEL_ERROR = "model_error"


class LimitReached(Exception):
    """A limit stops the run before the next query; `outcome` names which."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome)
        self.outcome = outcome


class Finished(Exception):
    """The model called `finish`; `summary` is what it said it did."""

    def __init__(self, summary: str) -> None:
        super().__init__(summary)
        self.summary = summary


class Stalled(Exception):
    """The model kept answering without calling a tool; `text` is its last answer."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class Model(Protocol):
    """The model an agent talks to (`app.llm.AnthropicModel` in production)."""

    @property
    def usage(self) -> ModelUsage:
        """What every query so far added up to."""
        ...

    def query(
        self,
        system: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
    ) -> Awaitable[ModelTurn]:
        """Send the conversation; return the model's next turn or raise ModelError."""
        ...


class Tools(Protocol):
    """The tools an agent may call (`workers.tools.ToolBox` over a sandbox in production)."""

    @property
    def schemas(self) -> Sequence[Mapping[str, Any]]:
        """Anthropic tool definitions, `finish` included."""
        ...

    def dispatch(self, name: str, arguments: Mapping[str, Any]) -> Awaitable[ToolOutcome]:
        """Run one tool call other than `finish`."""
        ...


@dataclass(frozen=True)
class Limits:
    """When to stop an agent, whatever it is doing."""

    max_turns: int = 40
    max_output_tokens: int = 200_000
    max_dollars: float = 3.0
    max_seconds: float = 1800.0


Block = dict[str, Any]


@dataclass
class AgentSession:
    """One conversation with the model, across fix rounds."""

    model: Model
    tools: Tools
    system: str
    limits: Limits
    clock: Callable[[], float] = time.monotonic
    messages: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""
    # Old tool results over this budget are shortened before a query (None: keep them all).
    context_budget: ContextBudget | None = field(default_factory=ContextBudget)
    shortened: int = field(default=0, init=False)  # tool results shortened so far
    started: float = field(init=False)
    # The next user message's blocks. Tool results a limit or `finish` left unsent lead the
    # next run's message, because the API wants every tool_use answered before anything else.
    _pending: list[Block] = field(default_factory=list, init=False)
    _nudges: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @property
    def usage(self) -> ModelUsage:
        """What the model calls of this conversation added up to."""
        return self.model.usage

    @property
    def turns(self) -> int:
        """Model replies so far."""
        return self.usage.calls

    @property
    def dollars(self) -> float:
        """Dollars spent so far."""
        return self.usage.dollars

    async def run(self, user_message: str) -> Outcome:
        """Send `user_message` and work until `finish` or a limit; return how it ended."""
        self._pending = [*self._unsent_results(), {"type": "text", "text": user_message}]
        self._nudges = 0
        try:
            while True:
                await self.step()
        except Finished as finished:
            self.summary = finished.summary
            return Outcome.FINISHED
        except LimitReached as limit:
            return limit.outcome
        except Stalled as stalled:
            self.summary = stalled.text
            return Outcome.STALLED
        except ModelError as error:
            self.summary = f"model error: {error}"
            return Outcome.MODEL_ERROR
        finally:
            self._pending = self._unsent_results()

    async def step(self) -> None:
        """Query the model once, then run the tools it called."""
        await self.execute(await self.query())

    async def query(self) -> ModelTurn:
        """Check the limits, send the pending message, and record the model's turn."""
        self._check_limits()
        self.messages.append({"role": "user", "content": self._pending})
        if self.context_budget is not None:
            self.shortened += shorten_old_results(self.messages, self.context_budget)
        try:
            turn = await self.model.query(self.system, self.messages, self.tools.schemas)
        except ModelError:
            self.messages.pop()  # unanswered: the pending blocks stay for the next run
            raise
        self._pending = []
        self.messages.append({"role": "assistant", "content": list(turn.content)})
        return turn

    async def execute(self, turn: ModelTurn) -> None:
        """Run the turn's tool calls; their results become the next message."""
        if not turn.tool_calls:
            self._nudges += 1
            if self._nudges > MAX_NUDGES:
                raise Stalled(turn.text)
            self._pending = [{"type": "text", "text": NUDGE}]
            return
        finished: Finished | None = None
        for call in turn.tool_calls:
            if call.name == FINISH_TOOL:
                finished = Finished(str(call.arguments.get("summary", "")).strip())
                result = ToolOutcome(FINISHED_RESULT)
            else:
                result = await self.tools.dispatch(call.name, call.arguments)
            self._pending.append(_tool_result(call, result))
        if finished is not None:
            raise finished

    def _check_limits(self) -> None:
        usage = self.usage
        if usage.calls >= self.limits.max_turns:
            raise LimitReached(Outcome.TURN_LIMIT)
        if usage.output_tokens >= self.limits.max_output_tokens:
            raise LimitReached(Outcome.TOKEN_LIMIT)
        if usage.dollars >= self.limits.max_dollars:
            raise LimitReached(Outcome.BUDGET_LIMIT)
        if self.clock() - self.started >= self.limits.max_seconds:
            raise LimitReached(Outcome.TIME_LIMIT)

    def _unsent_results(self) -> list[Block]:
        return [block for block in self._pending if block["type"] == "tool_result"]

    def transcript(self) -> str:
        """The conversation so far as JSON, for the attempt's record."""
        return json.dumps(
            {
                "system": self.system,
                "messages": self.messages,
                "turns": self.turns,
                "output_tokens": self.usage.output_tokens,
                "dollars": round(self.dollars, 6),
            },
            default=str,
        )


def _tool_result(call: ToolCall, result: ToolOutcome) -> Block:
    return {
        "type": "tool_result",
        "tool_use_id": call.id,
        "content": result.content,
        "is_error": result.is_error,
    }
