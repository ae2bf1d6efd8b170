"""Issue, label, assignee, comment and reaction changes, each announced the way GitHub does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import render_core, render_issues
from .core import Ctx
from .errors import ApiError, not_found, validation_failed
from .events import emit, emit_issue, wanted
from .issue_events import record_issue_event
from .models import REACTION_CONTENTS, Comment, Issue, Label, Reaction, Repo

_DEFAULT_LABEL_COLOR = "ededed"


def ensure_label(ctx: Ctx, repo: Repo, name: str) -> Label:
    """Return the label `name`, creating it on first use (GitHub does when labelling issues)."""
    for existing in repo.labels.values():
        if existing.name.lower() == name.lower():
            return existing
    created = Label(id=ctx.state.new_id(), name=name, color=_DEFAULT_LABEL_COLOR)
    repo.labels[name] = created
    return created


def _check_user(ctx: Ctx, login: str) -> str:
    user = ctx.state.find_user(login)
    if user is None:
        raise validation_failed("Issue", "assignees", "invalid")
    return user.login


async def create_issue(
    ctx: Ctx,
    repo: Repo,
    title: str,
    body: str | None,
    labels: list[str] | None = None,
    assignees: list[str] | None = None,
    created_at: datetime | None = None,
    *,
    is_pull: bool = False,
    announce: bool = True,
) -> Issue:
    """File an issue as `ctx.login` and announce `issues opened`."""
    if not title:
        raise validation_failed("Issue", "title", "missing_field")
    moment = created_at or ctx.core.now()
    issue = Issue(
        id=ctx.state.new_id(),
        number=repo.next_number,
        title=title,
        body=body,
        user_login=ctx.login,
        state="open",
        created_at=moment,
        updated_at=moment,
        labels=[ensure_label(ctx, repo, name).name for name in labels or []],
        assignees=[_check_user(ctx, login) for login in assignees or []],
        is_pull=is_pull,
    )
    repo.next_number += 1
    repo.issues[issue.number] = issue
    if announce:
        await emit_issue(ctx, repo, issue, "opened")
    return issue


async def update_issue(ctx: Ctx, repo: Repo, issue: Issue, fields: dict[str, Any]) -> Issue:
    """Apply a PATCH to an issue and announce edited/closed/reopened/labeled/assigned."""
    changes: dict[str, Any] = {}
    for key in ("title", "body"):
        if key in fields and fields[key] != getattr(issue, key):
            changes[key] = {"from": getattr(issue, key)}
            setattr(issue, key, fields[key])
    now = ctx.core.now()
    if changes:
        issue.updated_at = now
        await emit_issue(ctx, repo, issue, "edited", {"changes": changes})
    if "labels" in fields and fields["labels"] is not None:
        wanted = [
            str(item["name"] if isinstance(item, dict) else item) for item in fields["labels"]
        ]
        await set_labels(ctx, repo, issue, wanted)
    if "assignees" in fields and fields["assignees"] is not None:
        wanted = [_check_user(ctx, str(login)) for login in fields["assignees"]]
        for login in [a for a in issue.assignees if a not in wanted]:
            await _unassign(ctx, repo, issue, login)
        await add_assignees(ctx, repo, issue, wanted)
    state = fields.get("state")
    if state is not None and state not in ("open", "closed"):
        raise validation_failed("Issue", "state", "invalid")
    if state is not None and state != issue.state:
        await set_state(ctx, repo, issue, state, fields.get("state_reason"))
    return issue


async def set_state(
    ctx: Ctx, repo: Repo, issue: Issue, state: str, reason: str | None = None
) -> None:
    """Close or reopen an issue and announce it."""
    now = ctx.core.now()
    issue.state = state
    issue.updated_at = now
    if state == "closed":
        issue.closed_at = now
        issue.closed_by = ctx.login or None
        issue.state_reason = reason or "completed"
        await emit_issue(ctx, repo, issue, "closed")
    else:
        issue.closed_at = None
        issue.closed_by = None
        issue.state_reason = "reopened"
        await emit_issue(ctx, repo, issue, "reopened")


async def set_labels(ctx: Ctx, repo: Repo, issue: Issue, names: list[str]) -> None:
    """Make the issue's labels exactly `names`."""
    lowered = {name.lower() for name in names}
    for current in list(issue.labels):
        if current.lower() not in lowered:
            await remove_label(ctx, repo, issue, current)
    await add_labels(ctx, repo, issue, names)


async def add_labels(ctx: Ctx, repo: Repo, issue: Issue, names: list[str]) -> None:
    """Add labels; announce `labeled` for each one that is new on the issue."""
    for name in names:
        lab = ensure_label(ctx, repo, name)
        if lab.name in issue.labels:
            continue
        issue.labels.append(lab.name)
        issue.updated_at = ctx.core.now()
        record_issue_event(ctx, repo, issue, "labeled", lab.name)
        extra = {"label": render_core.label(ctx.urls, repo, lab)}
        await emit_issue(ctx, repo, issue, "labeled", extra)


async def remove_label(ctx: Ctx, repo: Repo, issue: Issue, name: str) -> None:
    """Remove a label (404 when the issue does not carry it) and announce `unlabeled`."""
    present = next((n for n in issue.labels if n.lower() == name.lower()), None)
    if present is None:
        raise ApiError(404, "Label does not exist")
    issue.labels.remove(present)
    issue.updated_at = ctx.core.now()
    record_issue_event(ctx, repo, issue, "unlabeled", present)
    extra = {"label": render_core.label(ctx.urls, repo, repo.labels[present])}
    await emit_issue(ctx, repo, issue, "unlabeled", extra)


async def add_assignees(ctx: Ctx, repo: Repo, issue: Issue, logins: list[str]) -> None:
    """Assign users; announce `assigned` for each new assignee."""
    for raw in logins:
        login = _check_user(ctx, raw)
        if login in issue.assignees:
            continue
        issue.assignees.append(login)
        issue.updated_at = ctx.core.now()
        extra = {"assignee": render_core.simple_user(ctx.urls, ctx.state.user(login))}
        await emit_issue(ctx, repo, issue, "assigned", extra)


async def remove_assignees(ctx: Ctx, repo: Repo, issue: Issue, logins: list[str]) -> None:
    """Unassign users that are assigned."""
    for login in logins:
        if login in issue.assignees:
            await _unassign(ctx, repo, issue, login)


async def _unassign(ctx: Ctx, repo: Repo, issue: Issue, login: str) -> None:
    issue.assignees.remove(login)
    issue.updated_at = ctx.core.now()
    extra = {"assignee": render_core.simple_user(ctx.urls, ctx.state.user(login))}
    await emit_issue(ctx, repo, issue, "unassigned", extra)


def _comment_event(ctx: Ctx, repo: Repo, comment: Comment, action: str, extra: Any) -> None:
    if not wanted(ctx):
        return
    issue = repo.issues[comment.issue_number]
    body = {
        "action": action,
        "issue": render_issues.issue(ctx.urls, ctx.state, repo, issue),
        "comment": render_issues.comment(ctx.urls, ctx.state, repo, comment),
    }
    emit(ctx, "issue_comment", repo, body | (extra or {}))


def create_comment(
    ctx: Ctx, repo: Repo, issue: Issue, body: str, created_at: datetime | None = None
) -> Comment:
    """Comment on an issue as `ctx.login` and announce `issue_comment created`."""
    if not body:
        raise validation_failed("IssueComment", "body", "missing_field")
    moment = created_at or ctx.core.now()
    comment = Comment(ctx.state.new_id(), issue.number, ctx.login, body, moment, moment)
    repo.comments[comment.id] = comment
    issue.updated_at = max(issue.updated_at, moment)
    _comment_event(ctx, repo, comment, "created", None)
    return comment


def find_comment(repo: Repo, comment_id: int) -> Comment:
    """Return an issue comment of `repo` or raise a 404."""
    comment = repo.comments.get(comment_id)
    if comment is None:
        raise not_found()
    return comment


def update_comment(ctx: Ctx, repo: Repo, comment: Comment, body: str) -> Comment:
    """Edit a comment and announce `issue_comment edited` with the old body."""
    if not body:
        raise validation_failed("IssueComment", "body", "missing_field")
    previous = comment.body
    comment.body = body
    comment.updated_at = ctx.core.now()
    _comment_event(ctx, repo, comment, "edited", {"changes": {"body": {"from": previous}}})
    return comment


def delete_comment(ctx: Ctx, repo: Repo, comment: Comment) -> None:
    """Delete a comment and announce `issue_comment deleted`."""
    _comment_event(ctx, repo, comment, "deleted", None)
    del repo.comments[comment.id]
    for key in [k for k, r in repo.reactions.items() if r.subject_type == "comment"]:
        if repo.reactions[key].subject_id == comment.id:
            del repo.reactions[key]


def add_reaction(
    ctx: Ctx,
    repo: Repo,
    subject_type: str,
    subject_id: int,
    content: str,
    created_at: datetime | None = None,
) -> tuple[Reaction, bool]:
    """React as `ctx.login`; return (reaction, created). Reactions send no webhook on GitHub."""
    if content not in REACTION_CONTENTS:
        raise validation_failed("Reaction", "content", "invalid")
    for existing in repo.reactions.values():
        same_subject = (existing.subject_type, existing.subject_id) == (subject_type, subject_id)
        if same_subject and existing.user_login == ctx.login and existing.content == content:
            return existing, False
    moment = created_at or ctx.core.now()
    reaction = Reaction(ctx.state.new_id(), subject_type, subject_id, ctx.login, content, moment)
    repo.reactions[reaction.id] = reaction
    return reaction, True


def reactions_on(repo: Repo, subject_type: str, subject_id: int) -> list[Reaction]:
    """Return the reactions on one issue or comment, oldest first."""
    found = [
        r
        for r in repo.reactions.values()
        if r.subject_type == subject_type and r.subject_id == subject_id
    ]
    return sorted(found, key=lambda r: r.id)


def delete_reaction(repo: Repo, subject_type: str, subject_id: int, reaction_id: int) -> None:
    """Delete a reaction from an issue or comment (404 if it is not there)."""
    found = repo.reactions.get(reaction_id)
    if found is None or (found.subject_type, found.subject_id) != (subject_type, subject_id):
        raise not_found()
    del repo.reactions[reaction_id]
