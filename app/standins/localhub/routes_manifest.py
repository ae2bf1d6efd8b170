"""GitHub's App manifest flow: the form target, the "Create GitHub App" page, the conversion.

- `POST /settings/apps/new?state=…` (or `/organizations/{org}/settings/apps/new`), form field
  `manifest`: the manifest is checked as GitHub checks it (manifest_rules.py) and a page shows
  what will be created, with the App's name editable and a "Create GitHub App" button. Nobody
  signed in (`GET /login?login=…`, routes_oauth.py): the page asks who is signing in.
- `POST /settings/apps` (or `/organizations/{org}/settings/apps`): create the App, its key
  pair, webhook secret and OAuth client secret, and send the browser to the manifest's
  `redirect_url` with a one-time `code` and the `state`.
- `POST /app-manifests/{code}/conversions` (no authentication): 201 with the App as
  `GET /app` shows it plus `client_id`, `client_secret`, `webhook_secret` and `pem`. A code
  works once and for one hour, as on GitHub; after that it is a 404.

The created App is the hub's App from then on (its JWT is accepted, webhooks are sent for its
installations, to its hook URL when the hook is active). The private key exists only until the
conversion hands it over. Unlike GitHub, organisation membership is not checked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from . import render_core
from .api import Call, api_route, json_response
from .core import HubCore
from .errors import not_found
from .keys import generate_app_keypair
from .manifest_rules import Manifest, ManifestRejected, parse_manifest, slug_of
from .models import App, User
from .routes_oauth import BROWSER_COOKIE, client_id_of, oauth_clients

CODE_TTL = timedelta(hours=1)
STYLE = "body{font:16px system-ui;max-width:42rem;margin:2rem auto}dt{font-weight:600}"
CONFIRM = """<!doctype html><html><head><meta charset="utf-8"><title>Create GitHub App</title>
<style>{style}</style></head><body><h1>Create GitHub App for {owner}</h1>
<form method="post" action="{action}">
<input type="hidden" name="manifest" value="{manifest}"><input type="hidden" name="state"
value="{state}">{sign_in}
<p><label>GitHub App name <input name="name" value="{name}" required></label></p>
<dl><dt>Homepage</dt><dd>{url}</dd><dt>Webhook</dt><dd>{hook}</dd>
<dt>Permissions</dt><dd>{permissions}</dd><dt>Events</dt><dd>{events}</dd>
<dt>Then back to</dt><dd>{redirect}</dd></dl>
<button id="create" type="submit">Create GitHub App</button></form></body></html>"""
SIGN_IN = '<p><label>Sign in as <input name="login" required autofocus></label></p>'
PROBLEMS = (
    '<!doctype html><html><head><meta charset="utf-8"><title>Invalid GitHub App manifest'
    "</title><style>{style}</style></head><body><h1>Invalid GitHub App manifest</h1>"
    "<ul>{items}</ul></body></html>"
)


@dataclass(frozen=True)
class PendingConversion:
    """A created App whose credentials wait for their one-time code."""

    app_id: int
    pem: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    client_secret: str = field(repr=False)
    expires_at: datetime


def _page(status: int, title: str, text: str) -> HTMLResponse:
    body = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>"
    return HTMLResponse(body + f"<p>{escape(text)}</p>", status)


def _rejected(problems: list[str]) -> HTMLResponse:
    items = "".join(f"<li>{escape(problem)}</li>" for problem in problems)
    return HTMLResponse(PROBLEMS.format(style=STYLE, items=items), 422)


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query) + list(params.items())
    return parts._replace(query=urlencode(query)).geturl()


async def _form(request: Request) -> dict[str, str]:
    # Browsers send forms url-encoded; parsing them needs no multipart library.
    raw = (await request.body()).decode("utf-8", "replace")
    return dict(parse_qsl(raw, keep_blank_values=True))


def routes(core: HubCore) -> list[Route]:
    """Return the manifest form target, the create page's target and the conversion."""
    pending: dict[str, PendingConversion] = {}

    def owner_for(request: Request) -> User | None:
        org = request.path_params.get("org")
        if org is None:
            return None
        account = core.state.find_user(str(org))
        if account is None or account.type != "Organization":
            raise LookupError(f"no localhub organisation called {org!r}")
        return account

    async def new_app(request: Request) -> Response:
        try:
            org = owner_for(request)
        except LookupError as error:
            return _page(404, "Not Found", str(error))
        form = await _form(request)
        try:
            manifest = parse_manifest(form.get("manifest", ""))
        except ManifestRejected as error:
            return _rejected(error.problems)
        signed_in = request.cookies.get(BROWSER_COOKIE, "")
        owner = org.login if org else (signed_in or "you")
        page = CONFIRM.format(
            style=STYLE,
            owner=escape(owner),
            action=escape(request.url.path.removesuffix("/new")),
            manifest=escape(form["manifest"]),
            state=escape(request.query_params.get("state", "")),
            sign_in="" if signed_in else SIGN_IN,
            name=escape(manifest.name),
            url=escape(manifest.url),
            hook=escape(
                f"{manifest.hook_url} ({'active' if manifest.hook_active else 'inactive'})"
                if manifest.hook_url
                else "none"
            ),
            permissions=escape(", ".join(f"{k}: {v}" for k, v in manifest.permissions.items())),
            events=escape(", ".join(manifest.events) or "none"),
            redirect=escape(manifest.redirect_url),
        )
        return HTMLResponse(page)

    async def create_app(request: Request) -> Response:
        try:
            org = owner_for(request)
        except LookupError as error:
            return _page(404, "Not Found", str(error))
        form = await _form(request)
        login = request.cookies.get(BROWSER_COOKIE) or form.get("login", "")
        person = core.state.find_user(login)
        if person is None:
            return _page(404, "Not Found", f"no localhub user called {login!r}")
        try:
            manifest = parse_manifest(form.get("manifest", ""), form.get("name"))
        except ManifestRejected as error:
            return _rejected(error.problems)
        slug = slug_of(manifest.name)
        if any(app.slug == slug for app in core.state.data.apps.values()):
            return _rejected([f"name {manifest.name!r} is already taken"])
        code = secrets.token_hex(10)
        pending[code] = register(core, manifest, org or person)
        core.state.save()
        back = {"code": code, "state": form.get("state", "")}
        return RedirectResponse(_with_query(manifest.redirect_url, back), status_code=302)

    async def conversion(call: Call) -> Response:
        found = pending.pop(call.path("code"), None)  # a code works once, even if expired
        if found is None or found.expires_at <= core.now():
            raise not_found()
        app = core.state.data.apps.get(found.app_id)
        if app is None:
            raise not_found()
        body = render_core.integration(call.ctx.urls, app, core.state.user(app.owner_login))
        body |= {
            "client_id": client_id_of(app),
            "client_secret": found.client_secret,
            "webhook_secret": found.webhook_secret,
            "pem": found.pem,
        }
        return json_response(body, status=201)

    return [
        Route("/settings/apps/new", new_app, methods=["POST"]),
        Route("/organizations/{org}/settings/apps/new", new_app, methods=["POST"]),
        Route("/settings/apps", create_app, methods=["POST"]),
        Route("/organizations/{org}/settings/apps", create_app, methods=["POST"]),
        api_route(core, "POST", "/app-manifests/{code}/conversions", conversion),
    ]


def register(core: HubCore, manifest: Manifest, owner: User) -> PendingConversion:
    """Create the App with fresh credentials, make it the hub's App, and keep its secrets."""
    state = core.state
    keys = generate_app_keypair()
    app = App(
        id=state.new_id(),
        slug=slug_of(manifest.name),
        name=manifest.name,
        owner_login=owner.login,
        public_key_pem=keys.public_key_pem,
        permissions=dict(manifest.permissions),
        events=list(manifest.events),
        created_at=core.now(),
        description=manifest.description,
    )
    state.data.apps[app.id] = app
    state.add_user(state.bot_login(app), "Bot", core.now(), None)
    core.webhooks.app_id = app.id
    webhook_secret = secrets.token_hex(20)
    if manifest.hook_url and manifest.hook_active:
        # localhub has one webhook target: the newest App's hook, as its control API sets it.
        state.data.webhook.url = manifest.hook_url
        state.data.webhook.secret = webhook_secret
    client_secret = secrets.token_hex(20)
    oauth_clients(core).secrets.setdefault(client_id_of(app), set()).add(client_secret)
    return PendingConversion(
        app.id, keys.private_key_pem, webhook_secret, client_secret, core.now() + CODE_TTL
    )
