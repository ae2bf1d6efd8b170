"""Render what the reviewer posts and records: the review body, inline comments, feedback."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from reviewer.rubric import Criterion
from reviewer.static.report import StaticReport
from reviewer.texts import (
    BODY_COMMENTS_SECTION,
    CRITERIA_SECTION,
    FEEDBACK,
    FEEDBACK_COMMENTS,
    HEADLINE_APPROVE,
    HEADLINE_CHANGES,
    OVERRULED_NOTE,
    PHASE1_SECTION,
    REASONS_SECTION,
    REVIEW_BODY,
)
from reviewer.verdict import Comment, ModelReview, Verdict

MAX_LISTED_FINDINGS = 20
MESSAGE_CHARS = 500


def inline_payload(comments: Iterable[Comment]) -> list[dict[str, Any]]:
    """Return review comments as the pulls review API takes them (new-file side)."""
    return [
        {"path": c.path, "line": c.line, "side": "RIGHT", "body": _comment_text(c)}
        for c in comments
    ]


def review_body(
    verdict: Verdict,
    model: ModelReview,
    rubric: Sequence[Criterion],
    report: StaticReport,
    *,
    head_sha: str,
    base_branch: str,
    base_sha: str,
    note: str = "",
) -> str:
    """Return the review's body: headline, summary, reasons, rubric, phase 1, other comments."""
    approved = verdict.decision == "approve"
    if verdict.overruled_model and model.decision == "approve":
        note = OVERRULED_NOTE + note
    return REVIEW_BODY.format(
        headline=HEADLINE_APPROVE if approved else HEADLINE_CHANGES,
        summary=model.summary or "(the model gave no summary)",
        reasons=REASONS_SECTION.format(items=_bullets(verdict.reasons)) if verdict.reasons else "",
        criteria=CRITERIA_SECTION.format(rows=criteria_rows(rubric, model)),
        phase1=PHASE1_SECTION.format(tools=_tools(report), items=findings_list(report)),
        comments=BODY_COMMENTS_SECTION.format(items=comment_list(verdict.body_comments))
        if verdict.body_comments
        else "",
        head_sha=head_sha,
        base_branch=base_branch,
        base_sha=base_sha,
        note=note,
    )


def criteria_rows(rubric: Sequence[Criterion], model: ModelReview) -> str:
    """Return one table row per criterion with the model's answer."""
    rows = []
    for criterion in rubric:
        answer = model.criteria.get(criterion.id)
        result = "unanswered" if answer is None else "pass" if answer else "**fail**"
        note = _one_line(model.notes.get(criterion.id, ""))
        blocking = "yes" if criterion.blocking else "no"
        rows.append(f"| `{criterion.id}` | {blocking} | {result} | {note} |")
    return "\n".join(rows)


def findings_list(report: StaticReport) -> str:
    """Return the errors and warnings of phase 1 as a bullet list (capped)."""
    shown = [f for f in report["findings"] if f["severity"] in ("error", "warning")]
    if not shown:
        return "- no errors or warnings"
    items = [
        f"- {f['severity']}: {f['tool']} `{f['rule']}` {_where(f['path'], f['line'])}"
        f"{_one_line(str(f['message']))}"
        for f in shown[:MAX_LISTED_FINDINGS]
    ]
    if len(shown) > MAX_LISTED_FINDINGS:
        items.append(f"- … and {len(shown) - MAX_LISTED_FINDINGS} more")
    return "\n".join(items)


def comment_list(comments: Iterable[Comment]) -> str:
    """Return comments as bullets that name their place."""
    return "\n".join(
        f"- {_where(c.path or None, c.line)}{_comment_text(c)}".replace("\n", "\n  ")
        for c in comments
    )


def worker_feedback(verdict: Verdict, pr_number: int, head_sha: str) -> str:
    """Return what the next attempt is told: the reasons and every comment (phase 1 included)."""
    comments = [*verdict.inline, *verdict.body_comments]
    return FEEDBACK.format(
        pr_number=pr_number,
        head_sha=head_sha,
        reasons=_bullets(verdict.reasons),
        comments=FEEDBACK_COMMENTS.format(items=comment_list(comments)) if comments else "",
    )


def _comment_text(comment: Comment) -> str:
    return f"**Blocking:** {comment.body}" if comment.blocking else comment.body


def _bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _where(path: object, line: object) -> str:
    if not path:
        return ""
    return f"`{path}:{line}`: " if line else f"`{path}`: "


def _one_line(text: str) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= MESSAGE_CHARS else flat[: MESSAGE_CHARS - 1] + "…"


def _tools(report: StaticReport) -> str:
    return ", ".join(f"{tool}: {status}" for tool, status in report["tools"].items()) or "no tools"
