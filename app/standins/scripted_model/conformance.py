"""Check that a scripted turn is an answer the real model could give to this request."""

from __future__ import annotations

from app.standins.scripted_model.request import ModelRequest
from app.standins.scripted_model.script import ToolUse, Turn


def conformance_problems(turn: Turn, request: ModelRequest) -> list[str]:
    """Return why the real API could not answer `request` with `turn` (empty when it could)."""
    uses = [block for block in turn.content if isinstance(block, ToolUse)]
    problems = [
        f"tool_use {use.name!r} names a tool the request does not offer "
        f"(offered: {list(request.tool_names)})"
        for use in uses
        if use.name not in request.tool_names
    ]
    if request.tool_choice == "none" and request.tool_names and uses:
        problems.append("the request's tool_choice is 'none' but the turn uses a tool")
    if request.tool_choice in ("any", "tool"):
        first = turn.content[0] if turn.content else None
        # A forced choice prefills the answer, so it starts with the tool call, not with text.
        if not isinstance(first, ToolUse):
            problems.append(
                f"the request's tool_choice {request.tool_choice!r} forces a tool_use "
                "as the first block"
            )
        elif request.forced_tool is not None and first.name != request.forced_tool:
            problems.append(
                f"the request forces tool {request.forced_tool!r} but the turn calls {first.name!r}"
            )
    if not request.parallel_tool_use and len(uses) > 1:
        problems.append("the request disables parallel tool use but the turn calls several tools")
    if turn.stop_sequence is not None and turn.stop_sequence not in request.stop_sequences:
        problems.append(f"stop_sequence {turn.stop_sequence!r} is not among the request's")
    return problems
