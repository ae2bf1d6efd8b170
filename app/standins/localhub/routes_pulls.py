"""REST routes for pull requests: CRUD, files, merge, reviews and review comments."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from . import merge_service, pulls_service, render_pulls, review_service
from .api import Call, api_route, json_response, paginate
from .core import HubCore
from .errors import ApiError, not_found, validation_failed
from .models import PullRequest
from .pull_facts import pull_facts

_PULLS = ("pull_requests",)


def _pull(call: Call) -> PullRequest:
    pull = call.repo.pulls.get(call.path_int("pull_number"))
    if pull is None:
        raise not_found()
    return pull


async def _pull_json(call: Call, pull: PullRequest, *, full: bool = True) -> dict[str, Any]:
    facts = await pull_facts(call.core, call.repo, pull)
    return render_pulls.pull(call.ctx.urls, call.core.state, call.repo, pull, facts, full=full)


async def list_pulls(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/pulls[?state=&head=&base=]."""
    repo = call.repo
    state = call.query("state") or "open"
    if state not in ("open", "closed", "all"):
        raise validation_failed("PullRequest", "state")
    found = [
        p for p in repo.pulls.values() if state == "all" or repo.issues[p.number].state == state
    ]
    if head := call.query("head"):
        owner, sep, branch = head.partition(":")
        if not sep:
            owner, branch = repo.owner_login, head
        if owner.lower() != repo.owner_login.lower():
            found = []
        found = [p for p in found if p.head_ref == branch]
    if base := call.query("base"):
        found = [p for p in found if p.base_ref == base]
    found.sort(key=lambda p: p.number, reverse=(call.query("direction") or "desc") == "desc")
    page, headers = paginate(call, found)
    rendered = []
    for pull in page:
        facts = await pull_facts(call.core, repo, pull)
        rendered.append(
            render_pulls.pull(call.ctx.urls, call.core.state, repo, pull, facts, full=False)
        )
    return json_response(rendered, headers=headers)


async def create_pull(call: Call) -> Response:
    """Answer POST /repos/{owner}/{repo}/pulls."""
    body = await call.body()
    for key in ("head", "base"):
        if not body.get(key):
            raise validation_failed("PullRequest", key, "missing_field")
    pull = await pulls_service.create_pull(
        call.ctx,
        call.repo,
        str(body.get("title") or ""),
        body.get("body"),
        str(body["head"]),
        str(body["base"]),
        bool(body.get("draft", False)),
        bool(body.get("maintainer_can_modify", False)),
    )
    return json_response(await _pull_json(call, pull), status=201)


async def get_pull(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/pulls/{pull_number}."""
    return json_response(await _pull_json(call, _pull(call)))


async def update_pull(call: Call) -> Response:
    """Answer PATCH /repos/{owner}/{repo}/pulls/{pull_number}."""
    pull = _pull(call)
    await pulls_service.update_pull(call.ctx, call.repo, pull, await call.body())
    return json_response(await _pull_json(call, pull))


async def list_files(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/pulls/{pull_number}/files."""
    pull = _pull(call)
    facts = await pull_facts(call.core, call.repo, pull)
    page, headers = paginate(call, facts.files)
    body = [render_pulls.diff_entry(call.ctx.urls, call.repo, facts.head_sha, f) for f in page]
    return json_response(body, headers=headers)


async def merge(call: Call) -> Response:
    """Answer PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge."""
    pull = _pull(call)
    body = await call.body()
    outcome = await merge_service.merge_pull(
        call.ctx,
        call.repo,
        pull,
        expected_sha=body.get("sha"),
        method=str(body.get("merge_method") or "merge"),
        title=body.get("commit_title"),
        message=body.get("commit_message"),
    )
    return json_response({"sha": outcome.sha, "merged": True, "message": outcome.message})


async def check_merged(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/pulls/{pull_number}/merge: 204 if merged, else 404."""
    if not _pull(call).merged:
        raise not_found()
    return Response(status_code=204)


async def list_reviews(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews."""
    pull = _pull(call)
    found = sorted(
        (r for r in call.repo.reviews.values() if r.pull_number == pull.number),
        key=lambda r: r.id,
    )
    page, headers = paginate(call, found)
    state = call.core.state
    body = [render_pulls.review(call.ctx.urls, state, call.repo, r) for r in page]
    return json_response(body, headers=headers)


async def create_review(call: Call) -> Response:
    """Answer POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews."""
    pull = _pull(call)
    body = await call.body()
    comments = body.get("comments") or []
    if not isinstance(comments, list) or not all(isinstance(c, dict) for c in comments):
        raise ApiError(422, "Invalid request", errors=["comments must be a list of objects"])
    review = await review_service.create_review(
        call.ctx,
        call.repo,
        pull,
        body=str(body.get("body") or ""),
        event=body.get("event"),
        comments=comments,
        commit_id=body.get("commit_id"),
    )
    state = call.core.state
    return json_response(render_pulls.review(call.ctx.urls, state, call.repo, review))


async def list_review_comments(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/pulls/{pull_number}/comments."""
    pull = _pull(call)
    found = sorted(
        (c for c in call.repo.review_comments.values() if c.pull_number == pull.number),
        key=lambda c: c.id,
    )
    page, headers = paginate(call, found)
    state = call.core.state
    body = [render_pulls.review_comment(call.ctx.urls, state, call.repo, c) for c in page]
    return json_response(body, headers=headers)


async def create_review_comment(call: Call) -> Response:
    """Answer POST /repos/{owner}/{repo}/pulls/{pull_number}/comments."""
    pull = _pull(call)
    item = await review_service.create_review_comment(call.ctx, call.repo, pull, await call.body())
    state = call.core.state
    body = render_pulls.review_comment(call.ctx.urls, state, call.repo, item)
    return json_response(body, status=201)


def routes(core: HubCore) -> list[Route]:
    """Return the pull request routes."""
    base = "/repos/{owner}/{repo}/pulls"
    one = base + "/{pull_number:int}"

    def r(method: str, path: str, handler: Any, categories: tuple[str, ...] = _PULLS) -> Route:
        return api_route(core, method, path, handler, categories=categories)

    return [
        r("GET", base, list_pulls),
        # Anyone who can read a repository may open a PR on it (on GitHub, from a fork).
        api_route(core, "POST", base, create_pull, categories=_PULLS, user_role="read"),
        r("GET", one, get_pull),
        r("PATCH", one, update_pull),
        r("GET", one + "/files", list_files),
        r("PUT", one + "/merge", merge, ("contents",)),
        r("GET", one + "/merge", check_merged),
        r("GET", one + "/reviews", list_reviews),
        r("POST", one + "/reviews", create_review),
        r("GET", one + "/comments", list_review_comments),
        r("POST", one + "/comments", create_review_comment),
    ]
