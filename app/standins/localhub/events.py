"""Compose webhook payloads in GitHub's shapes and hand them to the delivery queue."""

from __future__ import annotations

from typing import Any

from . import render_issues, render_pulls
from .core import Ctx
from .models import Installation, Issue, Repo
from .pull_facts import pull_facts
from .render_core import JSON, node_id, repository, simple_user


def installation_ref(inst: Installation) -> JSON:
    """Return the `installation` object webhook payloads carry."""
    return {"id": inst.id, "node_id": node_id("Installation", inst.id)}


def wanted(ctx: Ctx) -> bool:
    """Tell whether anyone listens; without a webhook URL payloads are not even built."""
    return bool(ctx.core.webhooks.config.url)


def emit(ctx: Ctx, event: str, repo: Repo | None, body: JSON) -> None:
    """Queue `event` with `body` plus repository, sender and installation, like GitHub does."""
    if not wanted(ctx):
        return
    state = ctx.state
    payload: dict[str, Any] = dict(body)
    if repo is not None:
        installs = state.installations_for_repo(repo)
        if not installs:
            # GitHub only notifies an app about repositories it is installed on.
            return
        owner = state.user(repo.owner_login)
        payload["repository"] = repository(ctx.urls, repo, owner, state.open_issue_count(repo))
        payload.setdefault("installation", installation_ref(installs[0]))
    sender = state.find_user(ctx.login) if ctx.login else None
    if sender is not None:
        payload["sender"] = simple_user(ctx.urls, sender)
    ctx.core.webhooks.enqueue(event, payload)


async def emit_issue(
    ctx: Ctx, repo: Repo, issue: Issue, action: str, extra: JSON | None = None
) -> None:
    """Announce an issue change: `issues` for issues, `pull_request` for pull requests."""
    if not wanted(ctx):
        return
    if issue.is_pull:
        pull = repo.pulls[issue.number]
        facts = await pull_facts(ctx.core, repo, pull)
        rendered = render_pulls.pull(ctx.urls, ctx.state, repo, pull, facts)
        body: JSON = {"action": action, "number": issue.number, "pull_request": rendered}
        emit(ctx, "pull_request", repo, body | (extra or {}))
        return
    rendered = render_issues.issue(ctx.urls, ctx.state, repo, issue)
    emit(ctx, "issues", repo, {"action": action, "issue": rendered} | (extra or {}))
