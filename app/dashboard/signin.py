"""Dashboard sign-in with GitHub: `GET /signin`, `GET /oauth/callback`, `POST /signout`.

`/signin` sends the browser to GitHub with a random `state` that it also keeps in a signed,
short-lived cookie; the callback goes on only when the two match (no sign-in forged from another
site), asks GitHub who signed in, and sets a signed session cookie holding that login and an
expiry. Which repositories the viewer then sees is decided per request (app.dashboard.access).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from app.clock import Clock
from app.dashboard.session import (
    SESSION_COOKIE,
    SESSION_TTL,
    STATE_COOKIE,
    STATE_TTL,
    seal,
    unseal,
)
from app.github.oauth import OAuthApp, SignInFailed

log = logging.getLogger("townhall.dashboard")

CALLBACK_PATH = "/oauth/callback"
REFUSED = (
    "<!doctype html><title>Sign-in failed</title><p>Sign-in failed: {reason}.</p>"
    '<p><a href="{base}/signin">Try again</a> or <a href="{base}/">go back</a>.</p>'
)


@dataclass(frozen=True)
class SignIn:
    """What sign-in needs: the App's OAuth client, the cookie key and the dashboard's address."""

    oauth: OAuthApp
    session_secret: str = field(repr=False)
    public_url: str | None = None  # None: the address the request came to

    def base(self, request: Request) -> str:
        """Return the dashboard's own address, without a trailing slash."""
        return (self.public_url or str(request.base_url)).rstrip("/")

    def viewer(self, request: Request, clock: Clock) -> str | None:
        """Return the login of the signed-in viewer, or None for an anonymous one."""
        cookie = request.cookies.get(SESSION_COOKIE)
        values = unseal(self.session_secret, SESSION_COOKIE, cookie, clock.now())
        return values.get("login") if values else None

    def keep(
        self, response: Response, request: Request, name: str, values: dict[str, str], now: datetime
    ) -> None:
        """Set a signed, HttpOnly, SameSite=Lax cookie carrying `values` for its lifetime."""
        ttl = SESSION_TTL if name == SESSION_COOKIE else STATE_TTL
        response.set_cookie(
            name,
            seal(self.session_secret, name, values, now + ttl),
            max_age=int(ttl.total_seconds()),
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.base(request).startswith("https://"),
        )


def _refused(sign_in: SignIn, request: Request, reason: str) -> Response:
    base = escape(sign_in.base(request))
    response = HTMLResponse(REFUSED.format(reason=escape(reason), base=base), status_code=400)
    response.delete_cookie(STATE_COOKIE, path="/")
    return response


def sign_in_routes(sign_in: SignIn, clock: Clock) -> list[Route]:
    """Return the sign-in routes, to mount next to the dashboard."""

    async def start(request: Request) -> Response:
        base = sign_in.base(request)
        state = secrets.token_urlsafe(32)
        target = sign_in.oauth.authorize_url(base + CALLBACK_PATH, state)
        response = RedirectResponse(target, status_code=302)
        sign_in.keep(response, request, STATE_COOKIE, {"state": state}, clock.now())
        response.headers["Cache-Control"] = "no-store"
        return response

    async def callback(request: Request) -> Response:
        base = sign_in.base(request)
        kept = unseal(
            sign_in.session_secret, STATE_COOKIE, request.cookies.get(STATE_COOKIE), clock.now()
        )
        state = request.query_params.get("state", "")
        code = request.query_params.get("code", "")
        if not kept or not state or not hmac.compare_digest(kept["state"], state):
            return _refused(sign_in, request, "the sign-in state did not match (start again)")
        if not code:
            return _refused(sign_in, request, "GitHub sent no authorization code")
        try:
            login = await sign_in.oauth.login_for_code(code, base + CALLBACK_PATH)
        except SignInFailed as error:
            log.warning("dashboard sign-in failed: %s", error)
            return _refused(sign_in, request, "GitHub did not confirm who you are")
        response = RedirectResponse(base + "/", status_code=303)
        response.delete_cookie(STATE_COOKIE, path="/")
        sign_in.keep(response, request, SESSION_COOKIE, {"login": login}, clock.now())
        log.info("dashboard sign-in: %s", login)
        return response

    async def sign_out(request: Request) -> Response:
        response = RedirectResponse(sign_in.base(request) + "/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return [
        Route("/signin", start, methods=["GET"]),
        Route(CALLBACK_PATH, callback, methods=["GET"]),
        Route("/signout", sign_out, methods=["POST"]),
    ]
