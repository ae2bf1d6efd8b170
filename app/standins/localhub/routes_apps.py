"""App endpoints (JWT): the app itself, its installations, and installation access tokens."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from app.clock import format_timestamp

from . import render_core
from .api import Call, api_route, json_response
from .auth import account_for, installation_reaches, mint_installation_token, require_app
from .core import HubCore
from .errors import ApiError, not_found
from .models import Installation


def _installation_json(call: Call, inst: Installation) -> render_core.JSON:
    state = call.core.state
    app = state.app_for_installation(inst)
    return render_core.installation(call.ctx.urls, inst, app, account_for(state, inst))


def _own_installation(call: Call) -> Installation:
    app = require_app(call.actor)
    inst = call.core.state.data.installations.get(call.path_int("installation_id"))
    if inst is None or inst.app_id != app.id:
        raise not_found()
    return inst


async def get_app(call: Call) -> Response:
    """Answer GET /app."""
    app = require_app(call.actor)
    owner = call.core.state.user(app.owner_login)
    return json_response(render_core.integration(call.ctx.urls, app, owner))


async def list_installations(call: Call) -> Response:
    """Answer GET /app/installations."""
    app = require_app(call.actor)
    found = [i for i in call.core.state.data.installations.values() if i.app_id == app.id]
    return json_response([_installation_json(call, inst) for inst in found])


async def get_installation(call: Call) -> Response:
    """Answer GET /app/installations/{installation_id}."""
    return json_response(_installation_json(call, _own_installation(call)))


async def get_repo_installation(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/installation."""
    app = require_app(call.actor)
    repo = call.core.state.find_repo(call.path("owner"), call.path("repo"))
    if repo is None:
        raise not_found()
    for inst in call.core.state.data.installations.values():
        if inst.app_id == app.id and installation_reaches(inst, repo):
            return json_response(_installation_json(call, inst))
    raise not_found()


async def create_access_token(call: Call) -> Response:
    """Answer POST /app/installations/{installation_id}/access_tokens."""
    inst = _own_installation(call)
    body = await call.body()
    repositories = body.get("repositories")
    repository_ids = body.get("repository_ids")
    permissions = body.get("permissions")
    if repositories is not None and not isinstance(repositories, list):
        raise ApiError(422, "repositories must be a list of names")
    if permissions is not None and not isinstance(permissions, dict):
        raise ApiError(422, "permissions must be an object")
    state = call.core.state
    token = mint_installation_token(
        state,
        inst,
        call.core.now(),
        call.core.token_ttl,
        [str(name) for name in repositories or []],
        [int(ident) for ident in repository_ids or []],
        {str(k): str(v) for k, v in (permissions or {}).items()},
    )
    payload: render_core.JSON = {
        "token": token.token,
        "expires_at": format_timestamp(token.expires_at),
        "permissions": token.permissions,
        "repository_selection": "selected"
        if token.repository_ids is not None
        else inst.repository_selection,
    }
    if token.repository_ids is not None:
        payload["repositories"] = [
            render_core.repository(
                call.ctx.urls,
                state.data.repos[ident],
                state.user(state.data.repos[ident].owner_login),
                state.open_issue_count(state.data.repos[ident]),
            )
            for ident in token.repository_ids
        ]
    return json_response(payload, status=201)


def routes(core: HubCore) -> list[Route]:
    """Return the app routes."""
    return [
        api_route(core, "GET", "/app", get_app, app_auth=True),
        api_route(core, "GET", "/app/installations", list_installations, app_auth=True),
        api_route(
            core, "GET", "/app/installations/{installation_id}", get_installation, app_auth=True
        ),
        api_route(
            core,
            "POST",
            "/app/installations/{installation_id}/access_tokens",
            create_access_token,
            app_auth=True,
        ),
        api_route(
            core, "GET", "/repos/{owner}/{repo}/installation", get_repo_installation, app_auth=True
        ),
    ]
