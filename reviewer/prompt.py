"""What the reviewer model is shown, within a token budget: issue, diff, files, findings, rubric.

Pure: the caller reads the files and runs phase 1; this module only selects and renders.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.untrusted import Fence, fence_issue
from reviewer.rubric import Criterion, render_rubric
from reviewer.static.diff import FileDiff, parse_diff
from reviewer.static.report import StaticReport
from reviewer.texts import (
    CODE_INSTRUCTION,
    DIFF_TRUNCATED,
    FINDINGS_TRUNCATED,
    NO_FINDINGS,
    OMITTED_FILES,
    REVIEW_MESSAGE,
    REVIEW_SYSTEM,
    REVIEW_TOOL,
)

# A rough, tokenizer-free estimate; English and code average about four characters a token.
CHARS_PER_TOKEN = 4
# When the diff and the files do not both fit, the diff keeps at least this share of the room.
DIFF_SHARE = 0.5
MAX_FINDINGS = 150
FINDING_CHARS = 600
CODE_KIND = "code"

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_FENCE_TAG = re.compile(r"<(/?\s*untrusted-)", re.IGNORECASE)


@dataclass(frozen=True)
class TouchedFile:
    """A changed file's full new text."""

    path: str
    text: str


@dataclass(frozen=True)
class ReviewInput:
    """Everything the reviewer model may be shown about one pull request head."""

    issue_number: int
    issue_title: str
    issue_body: str
    brief: str
    base_branch: str
    base_sha: str
    head_sha: str
    diff_text: str
    files: tuple[TouchedFile, ...]
    report: StaticReport
    rubric: tuple[Criterion, ...]


@dataclass(frozen=True)
class Prompt:
    """The system prompt and the one user message, and which files did not fit."""

    system: str
    message: str
    omitted: tuple[str, ...]
    diff_truncated: bool


def estimate_tokens(text: str) -> int:
    """Return a rough token count for `text`."""
    return len(text) // CHARS_PER_TOKEN + 1


def fence_code(fence: Fence, text: str) -> str:
    """Fence code or tool output: nothing stripped, fence tags defused, hidden characters shown."""
    shown = _INVISIBLE.sub(lambda match: f"<U+{ord(match[0]):04X}>", text)
    shown = _FENCE_TAG.sub(r"&lt;\1", shown.replace(fence.token, "[removed]"))
    tag = f'untrusted-{CODE_KIND} id="{fence.token}"'
    return f"<{tag}>\n{shown}\n</{tag}>"


def numbered_diff(files: Sequence[FileDiff]) -> list[str]:
    """Render a diff with each line's new-file number in a left column (removals have none)."""
    lines: list[str] = []
    for file in files:
        if file.status == "renamed":
            lines.append(f"=== {file.old_path} -> {file.new_path} (renamed)")
        else:
            lines.append(f"=== {file.path} ({file.status})")
        if file.binary:
            lines.append("      (binary file)")
        for hunk in file.hunks:
            lines.append(f"      @@ {hunk.section}".rstrip())
            for line in hunk.lines:
                number = "" if line.new_line is None else str(line.new_line)
                marker = {"added": "+", "removed": "-", "context": " "}[line.kind]
                lines.append(f"{number:>5} {marker}{line.text}")
    return lines


def fit_lines(lines: Sequence[str], budget_tokens: int) -> tuple[str, bool]:
    """Return as many leading lines as fit the budget, and whether any were cut."""
    room = budget_tokens * CHARS_PER_TOKEN
    used = 0
    for index, line in enumerate(lines):
        used += len(line) + 1
        if used > room:
            shown = "\n".join(lines[:index])
            return f"{shown}\n{DIFF_TRUNCATED.format(shown=index, total=len(lines))}", True
    return "\n".join(lines), False


def number_lines(text: str) -> str:
    """Prefix each line with its 1-based number."""
    return "\n".join(f"{index:>5} {line}" for index, line in enumerate(text.splitlines(), 1))


def fit_files(
    files: Sequence[TouchedFile], budget_tokens: int
) -> tuple[list[TouchedFile], list[str]]:
    """Return the files that fit, smallest first (largest last), and the paths that did not."""
    shown: list[TouchedFile] = []
    omitted: list[str] = []
    used = 0
    for file in sorted(files, key=lambda f: (len(f.text), f.path)):
        cost = _file_tokens(file)
        if used + cost <= budget_tokens:
            shown.append(file)
            used += cost
        else:
            omitted.append(file.path)
    return shown, omitted


def render_findings(report: StaticReport) -> str:
    """Render phase 1: each finding on one line (most severe first), then skipped tools."""
    lines = []
    for finding in report["findings"][:MAX_FINDINGS]:
        where = ":".join(
            str(part) for part in (finding["path"], finding["line"], finding["column"]) if part
        )
        message = str(finding["message"])[:FINDING_CHARS]
        lines.append(
            f"- [{finding['severity']}] {finding['tool']} {finding['rule']} {where}: {message}"
        )
    if len(report["findings"]) > MAX_FINDINGS:
        lines.append(FINDINGS_TRUNCATED.format(more=len(report["findings"]) - MAX_FINDINGS))
    ran = ", ".join(f"{tool} {status}" for tool, status in report["tools"].items())
    lines.append(f"Tools: {ran or 'none'}.")
    lines += [f"Skipped {tool}: {reason}" for tool, reason in report["skipped"].items()]
    if not report["findings"]:
        lines.insert(0, NO_FINDINGS)
    return "\n".join(lines)


def build_prompt(review: ReviewInput, fence: Fence, budget_tokens: int) -> Prompt:
    """Assemble the prompt; the diff and files share what the fixed parts leave of the budget."""
    system = REVIEW_SYSTEM.format(
        issue_instruction=fence.instruction(),
        code_instruction=CODE_INSTRUCTION.format(kind=CODE_KIND, token=fence.token),
        tool=REVIEW_TOOL,
    )
    fixed = {
        "number": review.issue_number,
        "fenced_issue": fence_issue(review.issue_title, review.issue_body, fence),
        "brief": review.brief or "(no brief recorded)",
        "rubric": render_rubric(review.rubric),
        "findings": fence_code(fence, render_findings(review.report)),
        "base_branch": review.base_branch,
        "base_sha": review.base_sha,
        "head_sha": review.head_sha,
        "tool": REVIEW_TOOL,
    }
    skeleton = REVIEW_MESSAGE.format(**fixed, diff="", files="", omitted="")
    room = max(0, budget_tokens - estimate_tokens(system) - estimate_tokens(skeleton))
    diff_lines = numbered_diff(parse_diff(review.diff_text))
    diff_tokens = estimate_tokens("\n".join(diff_lines))
    files_tokens = sum(_file_tokens(file) for file in review.files)
    diff_room = diff_tokens
    if diff_tokens + files_tokens > room:
        diff_room = min(diff_tokens, max(room - files_tokens, int(room * DIFF_SHARE)))
    diff_text, truncated = fit_lines(diff_lines, diff_room)
    shown, omitted = fit_files(review.files, room - estimate_tokens(diff_text))
    files_text = "\n\n".join(
        f"## {file.path}\n{fence_code(fence, number_lines(file.text))}" for file in shown
    )
    message = REVIEW_MESSAGE.format(
        **fixed,
        diff=fence_code(fence, diff_text),
        files=files_text or "(none shown)",
        omitted=OMITTED_FILES.format(paths=", ".join(omitted)) if omitted else "",
    )
    return Prompt(system, message, tuple(omitted), truncated)


def _file_tokens(file: TouchedFile) -> int:
    # Numbering adds six characters a line; the header and fence about twenty tokens.
    return estimate_tokens(file.text) + (file.text.count("\n") + 1) * 6 // CHARS_PER_TOKEN + 20
