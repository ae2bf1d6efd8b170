"""Smaller REST routes: an installation's repositories, repository labels, and rate limits."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from . import render_core
from .api import Call, api_route, json_response, paginate
from .auth import installation_reaches
from .core import HubCore
from .counters import RATE_LIMIT
from .errors import ApiError, validation_failed
from .issues_service import ensure_label


async def installation_repositories(call: Call) -> Response:
    """Answer GET /installation/repositories: what an installation token can reach."""
    inst, token = call.actor.installation, call.actor.token
    if inst is None or token is None:
        raise ApiError(403, "You must authenticate with an installation access token.")
    state = call.core.state
    repos = [
        repo
        for repo in sorted(state.data.repos.values(), key=lambda r: r.id)
        if installation_reaches(inst, repo)
        and (token.repository_ids is None or repo.id in token.repository_ids)
    ]
    page, headers = paginate(call, repos)
    rendered = [
        render_core.repository(
            call.ctx.urls, repo, state.user(repo.owner_login), state.open_issue_count(repo)
        )
        for repo in page
    ]
    selection = "selected" if token.repository_ids is not None else inst.repository_selection
    body = {"total_count": len(repos), "repository_selection": selection, "repositories": rendered}
    return json_response(body, headers=headers)


async def list_labels(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/labels."""
    labels = sorted(call.repo.labels.values(), key=lambda lab: lab.id)
    page, headers = paginate(call, labels)
    body = [render_core.label(call.ctx.urls, call.repo, lab) for lab in page]
    return json_response(body, headers=headers)


async def create_label(call: Call) -> Response:
    """Answer POST /repos/{owner}/{repo}/labels."""
    body = await call.body()
    name = str(body.get("name") or "")
    if not name:
        raise validation_failed("Label", "name", "missing_field")
    if any(lab.name.lower() == name.lower() for lab in call.repo.labels.values()):
        raise validation_failed("Label", "name", "already_exists")
    label = ensure_label(call.ctx, call.repo, name)
    label.color = str(body.get("color") or label.color).lstrip("#")
    label.description = body.get("description")
    return json_response(render_core.label(call.ctx.urls, call.repo, label), status=201)


async def rate_limit(call: Call) -> Response:
    """Answer GET /rate_limit: the caller's budgets (this request is free, as on GitHub)."""
    now = call.core.now()
    resources = {}
    for resource in ("core", "graphql", "search"):
        budget = call.core.counters.charge(resource, call.actor.rate_key, 0, now)
        resources[resource] = {
            "limit": RATE_LIMIT,
            "used": budget.used,
            "remaining": max(RATE_LIMIT - budget.used, 0),
            "reset": int(budget.reset_at.timestamp()),
        }
    return json_response({"resources": resources, "rate": resources["core"]})


def routes(core: HubCore) -> list[Route]:
    """Return the extra routes."""
    labels = "/repos/{owner}/{repo}/labels"
    issues = ("issues", "pull_requests")
    return [
        api_route(core, "GET", "/installation/repositories", installation_repositories),
        api_route(core, "GET", labels, list_labels, categories=issues),
        api_route(core, "POST", labels, create_label, categories=issues, user_role="triage"),
        api_route(core, "GET", "/rate_limit", rate_limit, resource="rate_limit"),
    ]
