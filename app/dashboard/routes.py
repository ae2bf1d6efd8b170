"""The dashboard's HTTP side: `GET /` (HTML), `GET /api/status` (JSON) and the tick health check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from app.clock import Clock
from app.dashboard.board import Dashboard, Health, Limits
from app.dashboard.queries import read_facts_tx
from app.dashboard.render import plain, render_html, status_json
from app.dashboard.summary import assess_health, build_dashboard
from app.store import Store
from app.store.timings import last_successful_tick_tx

# The CEO ticks every few minutes; three missed ticks in a row is an outage worth paging for.
DEFAULT_TICK_MAX_AGE = timedelta(minutes=15)

# No script runs on the page and nothing loads from elsewhere; the styles are inline.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:;"
        " base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class DashboardConfig:
    """What the dashboard needs: the store, the clock, the budget and the tick age limit."""

    store: Store
    clock: Clock
    daily_budget_usd: float = 25.0
    tick_max_age: timedelta | None = DEFAULT_TICK_MAX_AGE
    up_since: datetime | None = None  # when this process started (grace before a first tick)


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


async def load_dashboard(config: DashboardConfig, limits: Limits | None = None) -> Dashboard:
    """Read the store once and build the dashboard at the clock's current time."""
    now = config.clock.now()
    chosen = (limits or Limits()).clamped()
    facts = await config.store.run(lambda tx: read_facts_tx(tx, now, chosen))
    return build_dashboard(facts, config.daily_budget_usd, config.tick_max_age, config.up_since)


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

    async def page(request: Request) -> Response:
        dashboard = await load_dashboard(config, limits_from_query(request.query_params))
        return HTMLResponse(render_html(dashboard), headers=PAGE_HEADERS)

    async def api_status(request: Request) -> Response:
        dashboard = await load_dashboard(config, limits_from_query(request.query_params))
        return JSONResponse(status_json(dashboard), headers={"Cache-Control": "no-store"})

    return [
        Route("/", page, methods=["GET"]),
        Route("/api/status", api_status, methods=["GET"]),
    ]
