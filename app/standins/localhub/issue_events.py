"""Issue events (who labelled what, when) and the repository-wide listings Townhall catches up with.

GitHub sends no webhook again once a delivery failed; a client that was down reads what it
missed from `GET /repos/{owner}/{repo}/issues/events` (newest first, no `since`) and
`GET /repos/{owner}/{repo}/issues/comments` (`since`, `sort`, `direction`). localhub records
`labeled` and `unlabeled` events, with the acting user, as the issues service makes them.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from app.clock import format_timestamp, parse_timestamp

from . import render_issues
from .api import Call, api_route, json_response, paginate
from .core import Ctx, HubCore
from .errors import validation_failed
from .models import Issue, IssueEvent, Repo
from .render_core import JSON, node_id, simple_user

_ISSUES_OR_PULLS = ("issues", "pull_requests")


def record_issue_event(ctx: Ctx, repo: Repo, issue: Issue, event: str, label: str) -> None:
    """Add a `labeled`/`unlabeled` entry to the issue's history, acting as `ctx.login`."""
    entry = IssueEvent(ctx.state.new_id(), issue.number, event, ctx.login, ctx.core.now(), label)
    repo.issue_events[entry.id] = entry


def _event_json(call: Call, repo: Repo, entry: IssueEvent, with_issue: bool) -> JSON:
    urls, state = call.ctx.urls, call.core.state
    actor = state.find_user(entry.actor_login) if entry.actor_login else None
    color = repo.labels[entry.label].color if entry.label in repo.labels else None
    body: JSON = {
        "id": entry.id,
        "node_id": node_id("LabeledEvent", entry.id),
        "url": urls.repo(repo) + f"/issues/events/{entry.id}",
        "actor": simple_user(urls, actor) if actor else None,
        "event": entry.event,
        "commit_id": None,
        "commit_url": None,
        "created_at": format_timestamp(entry.created_at),
        "performed_via_github_app": None,
        "label": {"name": entry.label, "color": color},
    }
    issue = repo.issues.get(entry.issue_number)
    if with_issue and issue is not None:
        body["issue"] = render_issues.issue(urls, state, repo, issue)
    return body


async def list_repo_events(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/issues/events: newest first, like GitHub."""
    found = sorted(call.repo.issue_events.values(), key=lambda e: e.id, reverse=True)
    page, headers = paginate(call, found)
    rendered = [_event_json(call, call.repo, entry, with_issue=True) for entry in page]
    return json_response(rendered, headers=headers)


async def list_issue_events(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/issues/{issue_number}/events: oldest first."""
    issue = call.core.state.issue(call.repo, call.path_int("issue_number"))
    found = sorted(
        (e for e in call.repo.issue_events.values() if e.issue_number == issue.number),
        key=lambda e: e.id,
    )
    page, headers = paginate(call, found)
    rendered = [_event_json(call, call.repo, entry, with_issue=False) for entry in page]
    return json_response(rendered, headers=headers)


async def list_repo_comments(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/issues/comments: every issue's comments."""
    sort = call.query("sort") or "created"
    if sort not in ("created", "updated"):
        raise validation_failed("IssueComment", "sort")
    direction = call.query("direction") or "asc"
    if direction not in ("asc", "desc"):
        raise validation_failed("IssueComment", "direction")
    found = list(call.repo.comments.values())
    if since := call.query("since"):
        moment = parse_timestamp(since)
        found = [c for c in found if c.updated_at >= moment]
    if sort == "created":
        found.sort(key=lambda c: (c.created_at, c.id), reverse=direction == "desc")
    else:
        found.sort(key=lambda c: (c.updated_at, c.id), reverse=direction == "desc")
    page, headers = paginate(call, found)
    urls, state = call.ctx.urls, call.core.state
    rendered = [render_issues.comment(urls, state, call.repo, c) for c in page]
    return json_response(rendered, headers=headers)


def routes(core: HubCore) -> list[Route]:
    """Return the issue event and repository-wide comment routes."""
    base = "/repos/{owner}/{repo}/issues"
    return [
        api_route(core, "GET", base + "/events", list_repo_events, categories=_ISSUES_OR_PULLS),
        api_route(
            core,
            "GET",
            base + "/{issue_number:int}/events",
            list_issue_events,
            categories=_ISSUES_OR_PULLS,
        ),
        api_route(core, "GET", base + "/comments", list_repo_comments, categories=_ISSUES_OR_PULLS),
    ]
