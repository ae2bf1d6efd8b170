"""The demo's scripted model: a planner, a worker per issue, and a reviewer, as responders.

Each responder answers from the request alone (the issue title in the prompt, how many turns
the conversation has had), so concurrent workers never mix up their scripts.
"""

from __future__ import annotations

import re
from typing import Any

from app.demo.sample import ISSUES, DemoIssue
from app.standins.scripted_model import ModelRequest, ScriptedModel, Text, ToolUse, Turn, Usage

TITLE = re.compile(r"Title: (.+)")


def _issue_in(text: str) -> DemoIssue | None:
    for issue in ISSUES:
        if issue.title in text:
            return issue
    return None


def _first_user_text(request: ModelRequest) -> str:
    first = request.messages[0]["content"]
    if isinstance(first, str):
        return first
    return "\n".join(block.get("text", "") for block in first if isinstance(block, dict))


def plan(request: ModelRequest) -> Turn | None:
    """Answer the planner's forced `submit_plan` for a demo issue."""
    if request.forced_tool != "submit_plan":
        return None
    issue = _issue_in(request.last_user_text)
    if issue is None:
        return None
    role = "docs-writer" if issue.files == ("README.md",) else "developer"
    return Turn(
        [
            ToolUse(
                "submit_plan",
                {
                    "role": role,
                    "what": issue.title,
                    "why": "Voters approved it.",
                    "acceptance_criteria": [f"{issue.title} works and is tested"],
                    "test_case": "python3 -m unittest discover -q -s tests -t .",
                    "files": list(issue.files),
                    "complexity": "small",
                },
            )
        ],
        usage=Usage(output_tokens=180),
    )


def work(request: ModelRequest) -> Turn | None:
    """Play the worker's steps for its issue: read, edit, run the tests, finish."""
    if request.forced_tool is not None or "edit_file" not in request.tool_names:
        return None
    issue = _issue_in(_first_user_text(request))
    if issue is None:
        return None
    steps: list[tuple[str, dict[str, Any]]] = [("read_file", {"path": issue.files[0]})]
    steps += [
        ("edit_file", {"path": path, "old_text": anchor, "new_text": anchor + insertion})
        for path, anchor, insertion in issue.edits
    ]
    if "run" in request.tool_names:  # the docs-writer role has no `run` tool
        steps.append(("run", {"command": "python3 -m unittest discover -q -s tests -t ."}))
    turn = sum(1 for message in request.messages if message["role"] == "assistant")
    if turn < len(steps):
        name, arguments = steps[turn]
        return Turn([ToolUse(name, arguments)], usage=Usage(output_tokens=120))
    summary = f"{issue.title}: changed {', '.join(issue.files)}; the unit tests pass."
    return Turn(
        [Text("Done."), ToolUse("finish", {"summary": summary})], usage=Usage(output_tokens=60)
    )


def review(request: ModelRequest) -> Turn | None:
    """Approve through the forced `submit_review`, passing every criterion the rubric offers."""
    if request.forced_tool != "submit_review":
        return None
    tool = next(t for t in request.body["tools"] if t["name"] == "submit_review")
    criteria = tool["input_schema"]["properties"]["criteria"]["items"]["properties"]["id"]["enum"]
    return Turn(
        [
            ToolUse(
                "submit_review",
                {
                    "decision": "approve",
                    "summary": "Small, tested change that does what the issue asked.",
                    "criteria": [{"id": ident, "passed": True} for ident in criteria],
                    "blocking_findings": [],
                },
            )
        ],
        usage=Usage(output_tokens=150),
    )


def _title_in(text: str) -> str | None:
    match = TITLE.search(text)
    return match[1].strip() if match else None


def note_path(title: str) -> str:
    """Where the scripted model writes its note for an issue it has no script for.

    At the top of the tree: a plan may only name files in directories that exist.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")
    return f"NOTE-{slug or 'issue'}.md"


def plan_any(request: ModelRequest) -> Turn | None:
    """Plan any other issue (filed by hand with `demo --keep`) as one new note file."""
    if request.forced_tool != "submit_plan":
        return None
    title = _title_in(request.last_user_text)
    if title is None:
        return None
    plan = {
        "role": "docs-writer",
        "what": f"Write a note for: {title}",
        "why": "Voters approved it; the scripted model answers every issue with a note.",
        "acceptance_criteria": [f"{note_path(title)} exists and names the request"],
        "test_case": f"{note_path(title)} names the request",
        "files": [note_path(title)],
        "complexity": "small",
    }
    return Turn([ToolUse("submit_plan", plan)], usage=Usage(output_tokens=160))


def work_any(request: ModelRequest) -> Turn | None:
    """Write the planned note, then finish: a small change any repository can take."""
    if request.forced_tool is not None or "write_file" not in request.tool_names:
        return None
    title = _title_in(_first_user_text(request))
    if title is None:
        return None
    turn = sum(1 for message in request.messages if message["role"] == "assistant")
    if turn == 0:
        content = f"# {title}\n\nRequested by the voters; written by the scripted model.\n"
        arguments = {"path": note_path(title), "content": content}
        return Turn([ToolUse("write_file", arguments)], usage=Usage(output_tokens=90))
    summary = f"Wrote {note_path(title)}."
    return Turn(
        [Text("Done."), ToolUse("finish", {"summary": summary})], usage=Usage(output_tokens=40)
    )


def build_demo_model() -> ScriptedModel:
    """A scripted model for the demo's planner, workers and reviewer, and any other issue."""
    model = ScriptedModel()
    model.add_responder(plan, name="planner")
    model.add_responder(work, name="workers")
    model.add_responder(review, name="reviewer")
    # Tried after the scripted ones: issues filed by hand get a note-writing change.
    model.add_responder(plan_any, name="planner (any issue)")
    model.add_responder(work_any, name="workers (any issue)")
    return model
