"""Pull request reviews and inline review comments, validated against the diff like GitHub."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import render_pulls
from .core import Ctx
from .diff import (
    FileDiff,
    diff_hunk_for,
    line_in_diff,
    line_to_position,
    parse_diff,
    position_to_line,
)
from .errors import ApiError
from .events import emit, wanted
from .models import PullRequest, Repo, Review, ReviewComment
from .pull_facts import pull_facts

REVIEW_EVENTS = {
    "APPROVE": "APPROVED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}


@dataclass(frozen=True)
class Anchor:
    """Where an inline comment sits in the diff."""

    path: str
    line: int | None
    side: str
    start_line: int | None
    start_side: str | None
    position: int | None
    diff_hunk: str


def _thread_error(field: str, message: str) -> ApiError:
    return ApiError(
        422,
        "Validation Failed",
        errors=[
            {
                "resource": "PullRequestReviewComment",
                "code": "custom",
                "field": f"pull_request_review_thread.{field}",
                "message": f"pull_request_review_thread.{field} {message}",
            }
        ],
    )


def _unprocessable(message: str) -> ApiError:
    return ApiError(422, "Unprocessable Entity", errors=[message])


async def diff_at(ctx: Ctx, repo: Repo, pull: PullRequest, commit_id: str) -> list[FileDiff]:
    """Return the pull request's diff as of head commit `commit_id`."""
    git = ctx.core.git(repo)
    if await git.resolve(commit_id) is None:
        raise _unprocessable("commit_id is not part of the pull request")
    base = pull.base_sha
    fork_point = await git.merge_base(base, commit_id) or base
    return parse_diff(await git.diff(fork_point, commit_id))


def anchor(files: list[FileDiff], spec: dict[str, Any]) -> Anchor:
    """Check a comment's path/line/side (or legacy position) against the diff; 422 if outside."""
    path = str(spec.get("path") or "")
    diff = next((f for f in files if f.filename == path), None)
    if diff is None:
        raise _thread_error("path", "could not be resolved")
    if spec.get("subject_type") == "file":
        first_hunk = diff.hunks[0].lines[0] if diff.hunks else ""
        return Anchor(path, None, "RIGHT", None, None, 1, first_hunk)
    position = spec.get("position")
    if spec.get("line") is None and position is not None:
        resolved = position_to_line(diff, int(position))
        if resolved is None:
            raise _thread_error("position", "could not be resolved")
        line, side = resolved
    else:
        if spec.get("line") is None:
            raise _thread_error("line", "is required")
        line, side = int(spec["line"]), str(spec.get("side") or "RIGHT").upper()
        if side not in ("LEFT", "RIGHT"):
            raise _thread_error("side", "must be LEFT or RIGHT")
        if not line_in_diff(diff, line, side):
            raise _thread_error("line", "must be part of the diff")
        position = line_to_position(diff, line, side)
    start_line = spec.get("start_line")
    start_side = str(spec.get("start_side") or side).upper() if start_line is not None else None
    if start_line is not None:
        start_line = int(start_line)
        assert start_side is not None
        if start_line > line or not line_in_diff(diff, start_line, start_side):
            raise _thread_error("start_line", "must be part of the same hunk as the line")
    return Anchor(
        path, line, side, start_line, start_side, position, diff_hunk_for(diff, line, side)
    )


def _new_comment(
    ctx: Ctx, pull: PullRequest, review_id: int | None, where: Anchor, body: str, commit_id: str
) -> ReviewComment:
    now = ctx.core.now()
    return ReviewComment(
        id=ctx.state.new_id(),
        pull_number=pull.number,
        review_id=review_id,
        user_login=ctx.login,
        body=body,
        path=where.path,
        line=where.line,
        side=where.side,
        start_line=where.start_line,
        start_side=where.start_side,
        position=where.position,
        commit_id=commit_id,
        diff_hunk=where.diff_hunk,
        created_at=now,
        updated_at=now,
    )


async def _announce_comment(ctx: Ctx, repo: Repo, pull: PullRequest, item: ReviewComment) -> None:
    if not wanted(ctx):
        return
    facts = await pull_facts(ctx.core, repo, pull)
    emit(
        ctx,
        "pull_request_review_comment",
        repo,
        {
            "action": "created",
            "comment": render_pulls.review_comment(ctx.urls, ctx.state, repo, item),
            "pull_request": render_pulls.pull(ctx.urls, ctx.state, repo, pull, facts),
        },
    )


async def create_review(
    ctx: Ctx,
    repo: Repo,
    pull: PullRequest,
    *,
    body: str,
    event: str | None,
    comments: list[dict[str, Any]],
    commit_id: str | None,
) -> Review:
    """Submit a review (or leave it PENDING without `event`), with inline comments."""
    facts = await pull_facts(ctx.core, repo, pull)
    commit = commit_id or facts.head_sha
    if event is not None and event not in REVIEW_EVENTS:
        raise _unprocessable(f"Invalid event {event!r}")
    author = repo.issues[pull.number].user_login
    if event == "APPROVE" and ctx.login == author:
        raise _unprocessable("Can not approve your own pull request")
    if event == "REQUEST_CHANGES" and ctx.login == author:
        raise _unprocessable("Can not request changes on your own pull request")
    if event == "REQUEST_CHANGES" and not body:
        raise _unprocessable("Body is required when requesting changes")
    files = await diff_at(ctx, repo, pull, commit) if comments else []
    anchors = [(anchor(files, spec), str(spec.get("body") or "")) for spec in comments]
    review = Review(
        id=ctx.state.new_id(),
        pull_number=pull.number,
        user_login=ctx.login,
        body=body,
        state=REVIEW_EVENTS[event] if event else "PENDING",
        commit_id=commit,
        submitted_at=ctx.core.now(),
    )
    repo.reviews[review.id] = review
    created = [_new_comment(ctx, pull, review.id, where, text, commit) for where, text in anchors]
    for item in created:
        repo.review_comments[item.id] = item
    if event is None or not wanted(ctx):
        return review
    rendered = render_pulls.review(ctx.urls, ctx.state, repo, review)
    pull_json = render_pulls.pull(ctx.urls, ctx.state, repo, pull, facts)
    payload = {"action": "submitted", "review": rendered, "pull_request": pull_json}
    emit(ctx, "pull_request_review", repo, payload)
    for item in created:
        await _announce_comment(ctx, repo, pull, item)
    return review


async def create_review_comment(
    ctx: Ctx, repo: Repo, pull: PullRequest, spec: dict[str, Any]
) -> ReviewComment:
    """Post a single inline comment (or a reply to one) on a pull request."""
    body = str(spec.get("body") or "")
    if not body:
        raise _unprocessable("Body is required")
    reply_to = spec.get("in_reply_to")
    if reply_to is not None:
        parent = repo.review_comments.get(int(reply_to))
        if parent is None or parent.pull_number != pull.number:
            raise ApiError(404, "Not Found")
        where = Anchor(
            parent.path, parent.line, parent.side, parent.start_line, parent.start_side,
            parent.position, parent.diff_hunk,
        )  # fmt: skip
        commit = parent.commit_id
    else:
        facts = await pull_facts(ctx.core, repo, pull)
        commit = str(spec.get("commit_id") or facts.head_sha)
        where = anchor(await diff_at(ctx, repo, pull, commit), spec)
    item = _new_comment(ctx, pull, None, where, body, commit)
    item.in_reply_to_id = int(reply_to) if reply_to is not None else None
    repo.review_comments[item.id] = item
    await _announce_comment(ctx, repo, pull, item)
    return item
