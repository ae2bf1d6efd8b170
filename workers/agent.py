"""The agent loop: short, limited, and ending with a typed outcome.

The model works through tools until it calls `finish` or a limit stops it (turns, output
tokens, dollars, wall time). Tool failures go back to the model as error results. The
conversation is kept in an `AgentSession`, so verification failures can be fed back as the
next message of the same conversation, and the transcript is saved whatever happens.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import anthropic

from app.llm import LLM, CallContext
from app.settings import Tier
from workers.tools import ToolOutcome

FINISH_TOOL = "finish"
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


class ToolBox(Protocol):
    """The tools an agent may call; implemented over a sandbox."""

    @property
    def schemas(self) -> Sequence[Mapping[str, Any]]:
        """Anthropic tool definitions, `finish` included."""
        ...

    def dispatch(self, name: str, arguments: Mapping[str, Any]) -> Awaitable[ToolOutcome]:
        """Run one tool call."""
        ...


@dataclass(frozen=True)
class Limits:
    """When to stop an agent, whatever it is doing."""

    max_turns: int = 40
    max_output_tokens: int = 200_000
    max_dollars: float = 3.0
    max_seconds: float = 1800.0


@dataclass
class AgentSession:
    """One conversation with the model, across fix rounds."""

    llm: LLM
    tools: ToolBox
    system: str
    tier: Tier
    context: CallContext
    limits: Limits
    messages: list[dict[str, Any]] = field(default_factory=list)
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    dollars: float = 0.0
    summary: str = ""
    clock: Callable[[], float] = time.monotonic
    started: float = field(default_factory=time.monotonic)
    _unsent: list[dict[str, Any]] = field(default_factory=list)

    def _limit_reached(self) -> Outcome | None:
        if self.turns >= self.limits.max_turns:
            return Outcome.TURN_LIMIT
        if self.output_tokens >= self.limits.max_output_tokens:
            return Outcome.TOKEN_LIMIT
        if self.dollars >= self.limits.max_dollars:
            return Outcome.BUDGET_LIMIT
        if self.clock() - self.started >= self.limits.max_seconds:
            return Outcome.TIME_LIMIT
        return None

    async def run(self, user_message: str) -> Outcome:
        """Send `user_message` and work until `finish` or a limit; return how it ended."""
        # Tool results not yet sent (a limit or `finish` stopped the loop) lead the next message,
        # because the API wants every tool_use answered before anything else.
        pending = [*self._unsent, {"type": "text", "text": user_message}]
        self._unsent = []
        nudges = 0
        while True:
            limit = self._limit_reached()
            if limit is not None:
                self._unsent = [block for block in pending if block["type"] == "tool_result"]
                return limit
            self.messages.append({"role": "user", "content": pending})
            try:
                reply = await self.llm.create(
                    tier=self.tier,
                    system=self.system,
                    messages=self.messages,
                    tools=self.tools.schemas,
                    max_tokens=8192,
                    context=self.context,
                )
            except anthropic.APIError as error:
                self.summary = f"model error: {error}"
                self.messages.pop()
                self._unsent = [block for block in pending if block["type"] == "tool_result"]
                return Outcome.MODEL_ERROR
            self.turns += 1
            usage = reply.usage
            self.input_tokens += (
                usage.input_tokens
                + (usage.cache_creation_input_tokens or 0)
                + (usage.cache_read_input_tokens or 0)
            )
            self.output_tokens += usage.output_tokens
            self.dollars += self.llm.cost_of(reply)
            self.messages.append(
                {"role": "assistant", "content": [block.model_dump() for block in reply.content]}
            )
            calls = [block for block in reply.content if block.type == "tool_use"]
            if not calls:
                nudges += 1
                if nudges > MAX_NUDGES:
                    self.summary = _text_of(reply.content)
                    return Outcome.STALLED
                pending = [{"type": "text", "text": NUDGE}]
                continue
            pending = []
            finished = False
            for call in calls:
                if call.name == FINISH_TOOL:
                    finished = True
                    self.summary = str(dict(call.input).get("summary", "")).strip()
                    result = ToolOutcome("Finished; the work will now be verified.")
                else:
                    result = await self.tools.dispatch(call.name, dict(call.input))
                pending.append(
                    {
                        "type": "tool_result",
                        "tool_use_id": call.id,
                        "content": result.content,
                        "is_error": result.is_error,
                    }
                )
            if finished:
                self._unsent = pending
                return Outcome.FINISHED

    def transcript(self) -> str:
        """The conversation so far as JSON, for the attempt's record."""
        return json.dumps(
            {
                "system": self.system,
                "messages": self.messages,
                "turns": self.turns,
                "output_tokens": self.output_tokens,
                "dollars": round(self.dollars, 6),
            },
            default=str,
        )


def _text_of(blocks: Sequence[Any]) -> str:
    return "\n".join(block.text for block in blocks if block.type == "text").strip()
