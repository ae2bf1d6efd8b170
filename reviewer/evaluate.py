"""Judge one merged tree: phase 1 in a sandbox, then the rubric review, then the verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.llm import LLM, CallContext
from app.pathrules import PathError
from app.policy import Policy
from app.sandbox import SandboxError, SandboxFactory
from app.sandbox.base import Sandbox
from app.untrusted import Fence
from reviewer.gitwork import Merged
from reviewer.phase1 import BaselineLookup, Phase1, review_sandbox, run_phase1
from reviewer.prompt import ReviewInput, TouchedFile, build_prompt
from reviewer.review import ask_reviewer
from reviewer.rubric import Criterion, rubric_for
from reviewer.static.diff import FileDiff, commentable_lines, parse_diff
from reviewer.static.findings import Finding
from reviewer.verdict import ModelReview, Verdict, blocking_phase1, decide, finding_comment

# Touched files larger than this are listed by name only (they would not fit a prompt anyway).
MAX_FILE_BYTES = 400_000


@dataclass(frozen=True)
class Subject:
    """What the review is about, besides the code: the issue and the agent's brief."""

    issue_number: int
    issue_title: str
    issue_body: str
    brief: str
    base_branch: str


@dataclass(frozen=True)
class Evaluation:
    """Everything a review found, and the verdict drawn from it."""

    phase1: Phase1
    model: ModelReview
    rubric: tuple[Criterion, ...]
    verdict: Verdict
    blockers: tuple[Finding, ...]
    omitted: tuple[str, ...]


async def read_touched(sandbox: Sandbox, files: Sequence[FileDiff]) -> tuple[TouchedFile, ...]:
    """Read the new text of each changed file that still exists and is not binary."""
    touched = []
    for file in files:
        if file.new_path is None or file.binary:
            continue
        try:
            data = await sandbox.read_file(file.new_path, max_bytes=MAX_FILE_BYTES)
        except (SandboxError, PathError):
            # Too large, or a symlink leading out of the checkout: the diff still shows it.
            continue
        touched.append(TouchedFile(file.new_path, data.decode("utf-8", "replace")))
    return tuple(touched)


async def evaluate(
    llm: LLM,
    context: CallContext,
    tree: Path,
    merged: Merged,
    policy: Policy,
    subject: Subject,
    *,
    sandboxes: SandboxFactory,
    baseline: BaselineLookup | None = None,
) -> Evaluation:
    """Run phase 1 on `tree` (the merge) in its environment, ask the model, and decide."""
    diff_files = parse_diff(merged.diff_text)
    async with review_sandbox(sandboxes, tree, policy) as (sandbox, prepared):
        phase1 = await run_phase1(sandbox, merged.diff_text, policy, prepared, baseline)
        touched = await read_touched(sandbox, diff_files)
    rubric = rubric_for(policy.review)
    review_input = ReviewInput(
        issue_number=subject.issue_number,
        issue_title=subject.issue_title,
        issue_body=subject.issue_body,
        brief=subject.brief,
        base_branch=subject.base_branch,
        base_sha=merged.base_sha,
        head_sha=merged.head_sha,
        diff_text=merged.diff_text,
        files=touched,
        report=phase1.report,
        rubric=rubric,
    )
    prompt = build_prompt(review_input, Fence(), policy.review.context_tokens)
    model = await ask_reviewer(llm, prompt, rubric, context)
    blockers = blocking_phase1(phase1.findings, diff_files)
    verdict = decide(
        model,
        rubric,
        len(blockers),
        commentable_lines(diff_files),
        mechanical=[finding_comment(finding) for finding in blockers],
    )
    return Evaluation(phase1, model, rubric, verdict, tuple(blockers), prompt.omitted)
