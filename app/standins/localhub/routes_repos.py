"""REST routes for repositories, contents, branches, commits, collaborators and users."""

from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from . import render_core, render_git
from .api import Call, api_route, json_response, paginate
from .core import HubCore
from .errors import ApiError, not_found
from .models import User
from .state import HubState

_METADATA = ("metadata",)
_CONTENTS = ("contents",)
_HEADS = "refs/heads/"
# Commits localhub writes carry `<id>+<login>@users.noreply.localhub` or `<login>@...`.
_NOREPLY = re.compile(r"^(?:\d+\+)?(?P<login>[^@]+)@users\.noreply\.localhub$")


async def get_repo(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}."""
    state = call.core.state
    repo = call.repo
    body = render_core.repository(
        call.ctx.urls, repo, state.user(repo.owner_login), state.open_issue_count(repo)
    )
    if call.actor.kind == "user" and call.actor.login:
        role = state.role_of(repo, call.actor.login)
        body["permissions"] = {
            "admin": role == "admin",
            "maintain": role in ("maintain", "admin"),
            "push": role in ("write", "maintain", "admin"),
            "triage": role in ("triage", "write", "maintain", "admin"),
            "pull": role != "none",
        }
    return json_response(body)


async def get_content(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/contents/{path}[?ref=]: a file or a directory."""
    git = call.core.git(call.repo)
    ref_name = call.query("ref") or call.repo.default_branch
    commit = await git.resolve(ref_name)
    if commit is None:
        raise ApiError(404, f"No commit found for the ref {ref_name}")
    path = call.request.path_params.get("path", "").strip("/")
    urls = call.ctx.urls
    if path:
        found = await git.read_tree(commit, path=path)
        entry = next((e for e in found if e.path == path), None)
        if entry is None:
            raise not_found()
        if entry.type == "blob":
            data = await git.read_object("blob", entry.sha)
            body = render_git.content_file(urls, call.repo, ref_name, entry, data)
            if entry.mode == "120000":
                body = render_git.content_entry(urls, call.repo, ref_name, entry)
                body["target"] = data.decode(errors="replace")
            return json_response(body)
        if entry.type == "commit":
            body = render_git.content_entry(urls, call.repo, ref_name, entry)
            return json_response(body | {"submodule_git_url": ""})
    children = await git.read_tree(f"{commit}:{path}" if path else commit)
    listing = []
    for child in children:
        child_path = f"{path}/{child.path}" if path else child.path
        entry = type(child)(child.mode, child.type, child.sha, child_path, child.size)
        listing.append(render_git.content_entry(urls, call.repo, ref_name, entry))
    return json_response(listing)


async def list_branches(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/branches."""
    refs = await call.core.git(call.repo).list_refs(_HEADS)
    names = sorted(refs)
    page, headers = paginate(call, names)
    body = [
        render_git.short_branch(call.ctx.urls, call.repo, n[len(_HEADS) :], refs[n]) for n in page
    ]
    return json_response(body, headers=headers)


async def get_branch(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/branches/{branch}."""
    git = call.core.git(call.repo)
    name = call.path("branch")
    refs = await git.list_refs(_HEADS + name)
    sha = refs.get(_HEADS + name)
    if sha is None:
        raise ApiError(404, "Branch not found")
    info = await git.read_commit(sha)
    return json_response(render_git.branch(call.ctx.urls, call.repo, name, info))


async def get_commit(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/commits/{ref}."""
    git = call.core.git(call.repo)
    sha = await git.resolve(call.path("ref"))
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {call.path('ref')}")
    info = await git.read_commit(sha)
    return json_response(render_git.commit(call.ctx.urls, call.repo, info))


async def tarball(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/tarball/{ref}: 302 to a short-lived download URL.

    GitHub redirects to codeload with a token in the query; localhub's codeload route is
    `/_codeload/...`, which needs no Authorization header, only that token.
    """
    sha = await call.core.git(call.repo).resolve(call.path("ref"))
    if sha is None:
        raise not_found()
    token = secrets.token_urlsafe(16)
    call.core.download_tokens[token] = (call.repo.full_name, sha)
    location = call.ctx.urls.api(
        f"/_codeload/{call.repo.full_name}/legacy.tar.gz/{sha}?token={token}"
    )
    return RedirectResponse(location, status_code=302)


def _contributor(state: HubState, email: str) -> User | None:
    """Return the account a commit's author email belongs to (None: anonymous)."""
    matched = _NOREPLY.match(email)
    if matched is not None:
        return state.find_user(matched["login"])
    return next((u for u in state.data.users.values() if u.email and u.email == email), None)


async def list_contributors(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/contributors: commit authors by contributions.

    An empty repository answers 204 with no body, as on GitHub.
    """
    git = call.core.git(call.repo)
    head = await git.resolve(call.repo.default_branch)
    if head is None:
        return Response(status_code=204)
    emails = (await git.text("log", "--format=%ae", head)).splitlines()
    state = call.core.state
    counts: Counter[str] = Counter()
    accounts: dict[str, User] = {}
    for email in emails:
        user = _contributor(state, email)
        if user is not None:
            counts[user.login] += 1
            accounts[user.login] = user
    ranked = sorted(counts, key=lambda login: (-counts[login], login.lower()))
    page, headers = paginate(call, ranked)
    body = [
        render_core.simple_user(call.ctx.urls, accounts[login]) | {"contributions": counts[login]}
        for login in page
    ]
    return json_response(body, headers=headers)


async def collaborator_permission(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/collaborators/{username}/permission."""
    state = call.core.state
    user = state.user(call.path("username"))
    role = state.role_of(call.repo, user.login)
    legacy = {"maintain": "write", "triage": "read"}.get(role, role)
    collaborator: dict[str, Any] = render_core.simple_user(call.ctx.urls, user)
    collaborator["role_name"] = role
    collaborator["permissions"] = {
        "admin": role == "admin",
        "maintain": role in ("maintain", "admin"),
        "push": role in ("write", "maintain", "admin"),
        "triage": role in ("triage", "write", "maintain", "admin"),
        "pull": role != "none",
    }
    return json_response({"permission": legacy, "role_name": role, "user": collaborator})


async def get_user(call: Call) -> Response:
    """Answer GET /users/{username}."""
    user = call.core.state.user(call.path("username"))
    return json_response(render_core.public_user(call.ctx.urls, user))


def codeload(core: HubCore) -> Callable[[Request], Awaitable[Response]]:
    """Return the download endpoint a tarball redirect points at (token in the query)."""

    async def download(request: Request) -> Response:
        owner, name = request.path_params["owner"], request.path_params["repo"]
        wanted = core.download_tokens.get(request.query_params.get("token", ""))
        if wanted != (f"{owner}/{name}", request.path_params["sha"]):
            return Response("Not Found", status_code=404, media_type="text/plain")
        repo = core.state.repo(owner, name)
        sha = wanted[1]
        prefix = f"{repo.owner_login}-{repo.name}-{sha[:7]}"
        data = await core.git(repo).archive(sha, prefix)
        disposition = f"attachment; filename={prefix}.tar.gz"
        headers = {"content-disposition": disposition}
        return Response(data, media_type="application/x-gzip", headers=headers)

    return download


def routes(core: HubCore) -> list[Route]:
    """Return the repository routes."""
    base = "/repos/{owner}/{repo}"
    return [
        api_route(core, "GET", base, get_repo, categories=_METADATA),
        api_route(core, "GET", base + "/contents", get_content, categories=_CONTENTS),
        api_route(core, "GET", base + "/contents/{path:path}", get_content, categories=_CONTENTS),
        api_route(core, "GET", base + "/branches", list_branches, categories=_CONTENTS),
        api_route(core, "GET", base + "/branches/{branch:path}", get_branch, categories=_CONTENTS),
        api_route(core, "GET", base + "/commits/{ref:path}", get_commit, categories=_CONTENTS),
        api_route(core, "GET", base + "/tarball/{ref:path}", tarball, categories=_CONTENTS),
        api_route(core, "GET", base + "/contributors", list_contributors, categories=_METADATA),
        Route("/_codeload/{owner}/{repo}/legacy.tar.gz/{sha}", codeload(core), methods=["GET"]),
        api_route(
            core,
            "GET",
            base + "/collaborators/{username}/permission",
            collaborator_permission,
            categories=_METADATA,
        ),
        api_route(core, "GET", "/users/{username}", get_user),
    ]
