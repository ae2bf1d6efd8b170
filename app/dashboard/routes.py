"""The dashboard's HTTP side: `GET /` (HTML), `GET /api/status` (JSON) and the tick health check.

Both show public repositories to everyone and private ones only to a signed-in viewer with
read access (app.dashboard.access); sign-in itself lives in app.dashboard.signin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from app.clock import Clock
from app.dashboard.access import RepoReaders, visible_repo_ids
from app.dashboard.board import Dashboard, Health, Limits, Viewer
from app.dashboard.queries import EVERYTHING, Scope, read_facts_tx
from app.dashboard.render import plain, render_html, status_json
from app.dashboard.signin import SignIn, sign_in_routes
from app.dashboard.summary import DEFAULT_TICK_MAX_AGE, assess_health, build_dashboard
from app.store import Store
from app.store.repos import repo_visibility_tx
from app.store.timings import last_successful_tick_tx

# No script runs on the page and nothing loads from elsewhere; the styles are inline. The one
# form is sign-out, posted to the dashboard itself. What a page shows depends on the viewer.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:;"
        " base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Vary": "Cookie",
}


@dataclass(frozen=True)
class DashboardConfig:
    """What the dashboard needs: the store, the clock, the budget and the tick age limit."""

    store: Store
    clock: Clock
    daily_budget_usd: float = 25.0
    tick_max_age: timedelta | None = DEFAULT_TICK_MAX_AGE
    up_since: datetime | None = None  # when this process started (grace before a first tick)
    readers: RepoReaders | None = None  # None: no GitHub access, private repositories hidden
    sign_in: SignIn | None = None  # None: nobody signs in, private repositories hidden
    github_web_url: str = "https://github.com"  # where issue and PR links point


def limits_from_query(params: Mapping[str, str]) -> Limits:
    """Read `rows`, `days`, `window` and `queue_page` from a query string, ignoring junk."""
    defaults = Limits()

    def number(name: str, default: int) -> int:
        raw = params.get(name, "")
        return int(raw) if raw.isdigit() else default

    return Limits(
        rows=number("rows", defaults.rows),
        chart_days=number("days", defaults.chart_days),
        window_days=number("window", defaults.window_days),
        queue_page=number("queue_page", defaults.queue_page),
    ).clamped()


async def load_dashboard(
    config: DashboardConfig, limits: Limits | None = None, scope: Scope = EVERYTHING
) -> Dashboard:
    """Read the store once and build the dashboard at the clock's current time."""
    now = config.clock.now()
    chosen = (limits or Limits()).clamped()
    facts = await config.store.run(lambda tx: read_facts_tx(tx, now, chosen, scope))
    return build_dashboard(facts, config.daily_budget_usd, config.tick_max_age, config.up_since)


async def scope_for(config: DashboardConfig, login: str | None) -> Scope:
    """Return the repositories a viewer (None: anonymous) may see."""
    repos = await config.store.run(repo_visibility_tx)
    visible = await visible_repo_ids(repos, login, config.readers)
    return EVERYTHING if visible == {repo.id for repo in repos} else Scope(visible)


def viewer_of(config: DashboardConfig, request: Request) -> Viewer:
    """Return who is asking: a signed-in login, or an anonymous viewer."""
    if config.sign_in is None:
        return Viewer()
    return Viewer(config.sign_in.viewer(request, config.clock), can_sign_in=True)


async def tick_health(config: DashboardConfig) -> Health:
    """Judge the CEO's tick from the last successful one recorded."""
    now = config.clock.now()
    last = await config.store.run(last_successful_tick_tx)
    return assess_health(now, last, config.tick_max_age, config.up_since)


def health_json(health: Health) -> dict[str, Any]:
    """Return the /healthz body."""
    body: dict[str, Any] = {"status": "ok" if health.healthy else "unhealthy"}
    body.update(plain(health))
    body.pop("last_tick", None)
    return body


def dashboard_routes(config: DashboardConfig) -> list[Route]:
    """Return the dashboard's routes, to mount in the web app."""

    async def viewed(request: Request) -> tuple[Viewer, Dashboard]:
        viewer = viewer_of(config, request)
        scope = await scope_for(config, viewer.login)
        limits = limits_from_query(request.query_params)
        return viewer, await load_dashboard(config, limits, scope)

    async def page(request: Request) -> Response:
        viewer, dashboard = await viewed(request)
        page = render_html(dashboard, viewer, config.github_web_url)
        return HTMLResponse(page, headers=PAGE_HEADERS)

    async def api_status(request: Request) -> Response:
        _, dashboard = await viewed(request)
        headers = {"Cache-Control": "no-store", "Vary": "Cookie"}
        return JSONResponse(status_json(dashboard), headers=headers)

    sign_in = [] if config.sign_in is None else sign_in_routes(config.sign_in, config.clock)
    return [
        Route("/", page, methods=["GET"]),
        Route("/api/status", api_status, methods=["GET"]),
        *sign_in,
    ]
