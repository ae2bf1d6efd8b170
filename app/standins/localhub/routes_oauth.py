"""GitHub's OAuth web flow for an App's user authorization, and `GET /user`.

- `GET /login?login=<user>[&return_to=<url>]`: "sign in to localhub" in this browser (a
  cookie), then go on to `return_to`. Stands in for being signed in to github.com.
- `GET /login/oauth/authorize?client_id&redirect_uri&state[&login]`: authorize the App for the
  signed-in user (or `login`, a shortcut for tests) and send the browser back to
  `redirect_uri` with a one-time `code` and the `state`; with nobody signed in, a small form.
- `POST /login/oauth/access_token` (form or JSON: client_id, client_secret, code,
  redirect_uri?): a user token (`ghu_…`), or GitHub's `error` answer with status 200.
- `GET /user`: the user a user token belongs to.
- Control: `POST /_localhub/apps/{app_id}/client_secrets` → `{client_id, client_secret}`.

Codes live ten minutes and work once, and must come back with the client id (and redirect
URI) they were issued for, as on GitHub. Client secrets and codes live in memory only.
"""

from __future__ import annotations

import json
import secrets
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from . import render_core
from .api import Call, api_route, json_response
from .control import PREFIX
from .core import HubCore
from .errors import ApiError, requires_authentication
from .models import App

BROWSER_COOKIE = "localhub_user"
CODE_TTL = timedelta(minutes=10)
FORM = (
    "<!doctype html><title>Sign in to localhub</title><h1>Authorize {app}</h1>"
    '<form method="get" action="/login/oauth/authorize">{hidden}'
    '<label>Sign in as <input name="login" autofocus></label> <button>Authorize</button></form>'
)


def client_id_of(app: App) -> str:
    """Return the App's OAuth client id, as `GET /app` shows it."""
    return f"Iv1.{app.id:016x}"


@dataclass(frozen=True)
class Grant:
    """A one-time code: who authorized which client, for which redirect, until when."""

    login: str
    client_id: str
    redirect_uri: str
    expires_at: datetime


@dataclass
class OAuthClients:
    """The hub's OAuth state: each App's client secrets and the codes not yet exchanged."""

    secrets: dict[str, set[str]] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)

    def app_for(self, core: HubCore, client_id: str) -> App | None:
        """Return the App whose client id this is."""
        apps = core.state.data.apps.values()
        return next((app for app in apps if client_id_of(app) == client_id), None)


_CLIENTS: weakref.WeakKeyDictionary[HubCore, OAuthClients] = weakref.WeakKeyDictionary()


def oauth_clients(core: HubCore) -> OAuthClients:
    """Return the hub's OAuth clients (shared with the manifest flow, which issues secrets)."""
    return _CLIENTS.setdefault(core, OAuthClients())


def _oauth_error(code: str, description: str) -> JSONResponse:
    # GitHub answers token exchange errors with 200 and an `error` field.
    return JSONResponse({"error": code, "error_description": description, "error_uri": ""})


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query) + list(params.items())
    return parts._replace(query=urlencode(query)).geturl()


def _page(status: int, text: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>localhub</title><p>{escape(text)}</p>", status)


async def _fields(request: Request) -> dict[str, str]:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        parsed: Any = json.loads(raw or b"{}")
        return {str(k): str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else {}
    return dict(parse_qsl(raw.decode("utf-8", "replace")))


def routes(core: HubCore) -> list[Route]:
    """Return the OAuth, `GET /user` and client secret routes."""
    clients = oauth_clients(core)

    async def sign_in(request: Request) -> Response:
        login = request.query_params.get("login", "")
        user = core.state.find_user(login)
        if user is None:
            return _page(404, f"no localhub user called {login!r}")
        target = request.query_params.get("return_to") or "/"
        response: Response = RedirectResponse(target, status_code=302)
        response.set_cookie(BROWSER_COOKIE, user.login, max_age=3600, httponly=True)
        return response

    async def authorize(request: Request) -> Response:
        query = request.query_params
        app = clients.app_for(core, query.get("client_id", ""))
        redirect_uri = query.get("redirect_uri", "")
        if app is None or not redirect_uri.startswith(("http://", "https://")):
            return _page(404, "unknown client_id, or no redirect_uri")
        login = query.get("login") or request.cookies.get(BROWSER_COOKIE, "")
        if not login:
            hidden = "".join(
                f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                for k, v in query.items()
            )
            return HTMLResponse(FORM.format(app=escape(app.name), hidden=hidden))
        user = core.state.find_user(login)
        if user is None:
            return _page(404, f"no localhub user called {login!r}")
        code = secrets.token_hex(10)
        expires = core.now() + CODE_TTL
        clients.grants[code] = Grant(user.login, client_id_of(app), redirect_uri, expires)
        back = {"code": code, "state": query.get("state", "")}
        return RedirectResponse(_with_query(redirect_uri, back), status_code=302)

    async def access_token(request: Request) -> Response:
        try:
            form = await _fields(request)
        except ValueError:
            return _oauth_error("bad_request", "the body is not a form or JSON")
        client_id = form.get("client_id", "")
        if form.get("client_secret", "") not in clients.secrets.get(client_id, set()):
            return _oauth_error(
                "incorrect_client_credentials",
                "The client_id and/or client_secret passed are incorrect.",
            )
        grant = clients.grants.pop(form.get("code", ""), None)  # a code works once
        if grant is None or grant.client_id != client_id or grant.expires_at <= core.now():
            return _oauth_error("bad_verification_code", "The code passed is incorrect or expired.")
        if form.get("redirect_uri", grant.redirect_uri) != grant.redirect_uri:
            return _oauth_error("redirect_uri_mismatch", "The redirect_uri does not match.")
        token = "ghu_" + secrets.token_hex(18)
        core.state.data.user_tokens[token] = grant.login
        answer = {"access_token": token, "token_type": "bearer", "scope": ""}
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(answer)
        return Response(urlencode(answer), media_type="application/x-www-form-urlencoded")

    async def authenticated_user(call: Call) -> Response:
        if call.actor.kind == "anonymous":
            raise requires_authentication()
        if call.actor.kind != "user" or call.actor.login is None:
            raise ApiError(403, "Resource not accessible by integration")
        user = call.core.state.user(call.actor.login)
        return json_response(render_core.public_user(call.ctx.urls, user))

    async def new_client_secret(request: Request) -> Response:
        app = core.state.data.apps.get(int(request.path_params["app_id"]))
        if app is None:
            return ApiError(404, "Not Found").response()
        secret = secrets.token_hex(20)
        clients.secrets.setdefault(client_id_of(app), set()).add(secret)
        body = {"client_id": client_id_of(app), "client_secret": secret}
        return JSONResponse(body, status_code=201)

    return [
        Route("/login", sign_in, methods=["GET"]),
        Route("/login/oauth/authorize", authorize, methods=["GET"]),
        Route("/login/oauth/access_token", access_token, methods=["POST"]),
        api_route(core, "GET", "/user", authenticated_user),
        Route(PREFIX + "/apps/{app_id:int}/client_secrets", new_client_secret, methods=["POST"]),
    ]
