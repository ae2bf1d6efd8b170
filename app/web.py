"""The web app: `POST /webhook` (verify, store, acknowledge), `GET /healthz`, the dashboard.

A delivery is acknowledged only after it is stored, and processed afterwards by the inbox
processor, so GitHub gets its answer in milliseconds and nothing acknowledged is lost. The
webhook is the one path every delivery takes, so it is served by raw ASGI ahead of Starlette's
routing (app/webhooks/intake.py), storing through a group commit shared by every request in
this process; the processor yields to it while deliveries are queueing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from app.clock import Clock
from app.dashboard.access import RepoReaders
from app.dashboard.routes import (
    DashboardConfig,
    dashboard_routes,
    health_json,
    tick_health,
)
from app.dashboard.signin import SignIn
from app.dashboard.summary import DEFAULT_TICK_MAX_AGE
from app.github.client import GitHubAccess
from app.store import Store, StoreError
from app.store.checkpointer import Checkpointer
from app.store.group_commit import GroupCommitter
from app.webhooks.inbox import commit_deliveries
from app.webhooks.intake import RETRY_AFTER_S, Intake, WebhookIntake
from app.webhooks.processor import InboxProcessor

log = logging.getLogger("townhall.web")


@dataclass
class WebConfig:
    """What the web app needs; assembled by the caller from settings."""

    store: Store
    clock: Clock
    webhook_secret: str
    max_body_bytes: int
    processor: InboxProcessor | None  # None: store only; the CEO tick drains the inbox
    daily_budget_usd: float = 25.0  # shown on the dashboard against today's spend
    # /healthz answers 503 when the last successful CEO tick is older (None: not checked).
    tick_max_age: timedelta | None = DEFAULT_TICK_MAX_AGE
    # Dashboard sign-in: GitHub access checks a viewer's permission on private repositories;
    # without both, private repositories are never shown.
    github: GitHubAccess | None = None
    sign_in: SignIn | None = None
    # A body still arriving after this many seconds is dropped with 408.
    body_timeout_s: float = 10.0
    # Where the dashboard's links to issues, PRs and repositories point (GHES, localhub).
    github_web_url: str = "https://github.com"
    # A store file's WAL checkpoints run in a process of their own (app/store/checkpointer.py).
    checkpointer: bool = True


def _unavailable(message: str, status: str | None = None) -> JSONResponse:
    body = {"error": message} if status is None else {"status": status, "error": message}
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


def create_web_app(config: WebConfig) -> Starlette:
    """Assemble the Starlette app around a store, a secret and an optional processor."""
    dashboard = DashboardConfig(
        store=config.store,
        clock=config.clock,
        daily_budget_usd=config.daily_budget_usd,
        tick_max_age=config.tick_max_age,
        up_since=config.clock.now(),
        readers=None if config.github is None else RepoReaders(config.github, config.clock),
        sign_in=config.sign_in if config.github is not None else None,
        github_web_url=config.github_web_url,
    )

    async def healthz(request: Request) -> Response:
        try:
            await config.store.check()
            health = await tick_health(dashboard)
        except StoreError as error:
            log.warning("healthz: the store is unavailable: %s", error)
            return _unavailable(str(error), status="store unavailable")
        return JSONResponse(health_json(health), status_code=200 if health.healthy else 503)

    file = config.store.file
    checkpointer = Checkpointer(file) if file is not None and config.checkpointer else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = None
        if checkpointer is not None:
            await checkpointer.start()
        if config.processor is not None:
            task = asyncio.create_task(config.processor.run_forever(), name="inbox")
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if checkpointer is not None:
                await checkpointer.stop()

    committer = GroupCommitter(commit_deliveries(config.store))
    processor = config.processor
    if processor is not None:
        processor.yield_to(committer.under_pressure)
    intake = Intake(
        committer=committer,
        clock=config.clock,
        secret=config.webhook_secret,
        max_body_bytes=config.max_body_bytes,
        body_timeout_s=config.body_timeout_s,
        on_new=processor.wake if processor is not None else lambda: None,
    )
    return _WebApp(
        intake,
        routes=[Route("/healthz", healthz, methods=["GET"]), *dashboard_routes(dashboard)],
        lifespan=lifespan,
    )


class _WebApp(Starlette):
    """Starlette, with `POST /webhook` taken outside its middleware and routing."""

    def __init__(self, intake: Intake, **options: Any) -> None:
        super().__init__(**options)
        self._intake = intake

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack (errors, routing, the dashboard) behind the webhook intake."""
        return WebhookIntake(super().build_middleware_stack(), self._intake)
