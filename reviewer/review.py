"""Phase 2: the rubric review, one forced `submit_review` call through the LLM wrapper."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.llm import LLM, CallContext
from app.settings import Tier
from reviewer.prompt import Prompt
from reviewer.rubric import Criterion
from reviewer.texts import REVIEW_TOOL
from reviewer.verdict import Comment, Decision, ModelReview

REVIEW_TIER: Tier = "standard"
# Room for a long list of findings and comments in one tool call.
MAX_TOKENS = 8192
# One corrective round when the answer does not fit the schema; then the review fails.
CORRECTIONS = 1
_DECISIONS: tuple[Decision, ...] = ("approve", "request_changes")


class ReviewAnswerError(ValueError):
    """The model's answer could not be read as a review."""


def submit_review_tool(rubric: Sequence[Criterion]) -> dict[str, Any]:
    """Return the forced tool's definition, with the rubric's ids as the allowed criteria."""
    located = {
        "path": {"type": "string", "description": "File path as in the diff."},
        "line": {
            "type": "integer",
            "minimum": 1,
            "description": "Line number in the new file (left column of the diff).",
        },
    }
    return {
        "name": REVIEW_TOOL,
        "description": "Submit the review: decision, every rubric criterion, blocking findings "
        "on diff lines, and non-blocking comments.",
        "input_schema": {
            "type": "object",
            "properties": {
                "decision": {"type": "string", "enum": list(_DECISIONS)},
                "summary": {
                    "type": "string",
                    "description": "Two to five sentences for the author of the change.",
                },
                "criteria": {
                    "type": "array",
                    "description": "One entry per rubric criterion.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string", "enum": [c.id for c in rubric]},
                            "passed": {"type": "boolean"},
                            "note": {"type": "string"},
                        },
                        "required": ["id", "passed"],
                    },
                },
                "blocking_findings": {
                    "type": "array",
                    "description": "Problems that must be fixed before merging.",
                    "items": {
                        "type": "object",
                        "properties": {**located, "message": {"type": "string"}},
                        "required": ["path", "line", "message"],
                    },
                },
                "comments": {
                    "type": "array",
                    "description": "Suggestions that need not block the merge.",
                    "items": {
                        "type": "object",
                        "properties": {**located, "body": {"type": "string"}},
                        "required": ["path", "line", "body"],
                    },
                },
            },
            "required": ["decision", "summary", "criteria", "blocking_findings"],
        },
    }


def parse_submission(data: Mapping[str, Any]) -> ModelReview:
    """Read the tool input as a review; raise ReviewAnswerError when the decision is unusable."""
    # Malformed criteria count as unanswered (a BLOCKING one then fails the verdict); a blocking
    # finding without a usable location is kept, for the review body; bad comments are dropped.
    decision = next((known for known in _DECISIONS if known == data.get("decision")), None)
    if decision is None:
        allowed = " or ".join(_DECISIONS)
        raise ReviewAnswerError(f"decision must be {allowed}, not {data.get('decision')!r}")
    criteria: dict[str, bool] = {}
    notes: dict[str, str] = {}
    for entry in _entries(data.get("criteria")):
        ident, passed = entry.get("id"), entry.get("passed")
        if isinstance(ident, str) and isinstance(passed, bool):
            criteria[ident] = passed
            if isinstance(entry.get("note"), str) and entry["note"].strip():
                notes[ident] = entry["note"].strip()
    findings = _entries(data.get("blocking_findings"))
    comments = [_comment(entry, "message", blocking=True) for entry in findings]
    for entry in _entries(data.get("comments")):
        comment = _comment(entry, "body", blocking=False)
        if comment.path and comment.body:
            comments.append(comment)
    summary = data.get("summary")
    return ModelReview(
        decision=decision,
        summary=summary.strip() if isinstance(summary, str) else "",
        criteria=criteria,
        comments=tuple(comments),
        notes=notes,
    )


async def ask_reviewer(
    llm: LLM, prompt: Prompt, rubric: Sequence[Criterion], context: CallContext
) -> ModelReview:
    """Ask the model for its review through the forced tool; correct a malformed answer once."""
    tool = submit_review_tool(rubric)
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt.message}]
    for round_ in range(CORRECTIONS + 1):
        reply = await llm.create(
            tier=REVIEW_TIER,
            system=prompt.system,
            messages=messages,
            tools=[tool],
            tool_choice={"type": "tool", "name": REVIEW_TOOL},
            max_tokens=MAX_TOKENS,
            context=context,
        )
        use = next(
            (b for b in reply.content if b.type == "tool_use" and b.name == REVIEW_TOOL), None
        )
        try:
            if use is None:
                raise ReviewAnswerError(f"no {REVIEW_TOOL} call (stop reason {reply.stop_reason})")
            if not isinstance(use.input, dict):
                raise ReviewAnswerError(f"{REVIEW_TOOL} input is not an object")
            return parse_submission(use.input)
        except ReviewAnswerError as error:
            if round_ == CORRECTIONS or use is None:
                raise
            messages += [
                {"role": "assistant", "content": [b.model_dump() for b in reply.content]},
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": use.id,
                            "is_error": True,
                            "content": f"{error}. Call {REVIEW_TOOL} again with a valid review.",
                        }
                    ],
                },
            ]
    raise AssertionError("unreachable")


def _entries(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _comment(entry: Mapping[str, Any], text_key: str, *, blocking: bool) -> Comment:
    path, line, text = entry.get("path"), entry.get("line"), entry.get(text_key)
    return Comment(
        path=path if isinstance(path, str) else "",
        line=line if isinstance(line, int) and not isinstance(line, bool) and line >= 1 else None,
        body=text.strip() if isinstance(text, str) else "",
        blocking=blocking,
    )
