"""Scripts: named queues of scripted turns, the blocks they answer with, and match rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from app.standins.scripted_model.request import ModelRequest

StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"]


@dataclass(frozen=True)
class Text:
    """A text block the model answers with."""

    text: str


@dataclass(frozen=True)
class ToolUse:
    """A tool_use block; `id` is generated (`toolu_...`) unless given."""

    name: str
    input: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None


Block = Text | ToolUse


@dataclass(frozen=True)
class Usage:
    """Usage figures to report; any left as None is estimated (see `tokens`)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


@dataclass(frozen=True)
class Match:
    """Which requests a script or turn answers; every rule given must hold."""

    system: str | None = None  # substring of the system prompt
    tools: Sequence[str] = ()  # names that must all be offered
    tool_choice: str | None = None  # "auto", "any", "none", "tool" or "tool:<name>"
    user: str | None = None  # substring of the last user message (tool results included)
    model: str | None = None  # substring of the model id
    where: Callable[[ModelRequest], bool] | None = None  # any other in-process predicate

    def accepts(self, request: ModelRequest) -> bool:
        """Return whether `request` satisfies every rule."""
        return (
            (self.system is None or self.system in request.system)
            and all(name in request.tool_names for name in self.tools)
            and (self.tool_choice is None or self.tool_choice in _choice_labels(request))
            and (self.user is None or self.user in request.last_user_text)
            and (self.model is None or self.model in request.model)
            and (self.where is None or self.where(request))
        )

    def describe(self) -> str:
        """Return the rules as short text for error messages and logs."""
        rules = [
            f"{name}={value!r}"
            for name, value in (
                ("system", self.system),
                ("tools", list(self.tools) or None),
                ("tool_choice", self.tool_choice),
                ("user", self.user),
                ("model", self.model),
                ("where", getattr(self.where, "__name__", None) if self.where else None),
            )
            if value is not None
        ]
        return ", ".join(rules) or "any request"


def _choice_labels(request: ModelRequest) -> tuple[str, ...]:
    if request.forced_tool is None:
        return (request.tool_choice,)
    return (request.tool_choice, f"tool:{request.forced_tool}")


@dataclass(frozen=True)
class Turn:
    """One scripted answer; consumed once unless `repeat` is set."""

    content: Sequence[Block]
    match: Match = field(default_factory=Match)
    usage: Usage = field(default_factory=Usage)
    stop_reason: StopReason | None = None  # derived from the content when None
    stop_sequence: str | None = None
    repeat: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "content", tuple(self.content))
        for block in self.content:
            if not isinstance(block, Text | ToolUse):
                raise TypeError(f"a turn's content is Text and ToolUse blocks, not {block!r}")
        has_tool_use = any(isinstance(block, ToolUse) for block in self.content)
        if self.stop_reason == "tool_use" and not has_tool_use:
            raise ValueError("stop_reason 'tool_use' needs at least one ToolUse block")
        if (self.stop_reason == "stop_sequence") != (self.stop_sequence is not None):
            raise ValueError("stop_sequence is given exactly when stop_reason is 'stop_sequence'")

    @property
    def resolved_stop_reason(self) -> StopReason:
        """Return the explicit stop reason, else `tool_use` or `end_turn` from the content."""
        if self.stop_reason is not None:
            return self.stop_reason
        if any(isinstance(block, ToolUse) for block in self.content):
            return "tool_use"
        return "end_turn"


@dataclass(frozen=True)
class Script:
    """A named queue of turns, tried for requests its `match` accepts."""

    name: str
    turns: Sequence[Turn]
    match: Match = field(default_factory=Match)

    def __post_init__(self) -> None:
        object.__setattr__(self, "turns", tuple(self.turns))


Responder = Callable[[ModelRequest], Turn | None]
"""An in-process answerer: returns the turn to serve, or None to let others answer."""
