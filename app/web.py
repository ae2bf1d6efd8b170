"""The web app: `POST /webhook` (verify, store, acknowledge), `GET /healthz`, the dashboard.

A delivery is acknowledged only after it is stored, and processed afterwards by the inbox
processor, so GitHub gets its answer in milliseconds and nothing acknowledged is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.clock import Clock
from app.dashboard.routes import (
    DEFAULT_TICK_MAX_AGE,
    DashboardConfig,
    dashboard_routes,
    health_json,
    tick_health,
)
from app.store import Store
from app.webhooks.inbox import store_delivery
from app.webhooks.processor import InboxProcessor
from app.webhooks.signature import is_valid_signature

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


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class BodyTooLarge(Exception):
    """The request body passed the configured limit while it was being read."""


async def _read_body(request: Request, limit: int) -> bytes:
    """Read the body, stopping as soon as it passes `limit` (chunked bodies included)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_web_app(config: WebConfig) -> Starlette:
    """Assemble the Starlette app around a store, a secret and an optional processor."""
    dashboard = DashboardConfig(
        store=config.store,
        clock=config.clock,
        daily_budget_usd=config.daily_budget_usd,
        tick_max_age=config.tick_max_age,
        up_since=config.clock.now(),
    )

    async def webhook(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > config.max_body_bytes:
            return _error(413, f"body over {config.max_body_bytes} bytes")
        try:
            body = await _read_body(request, config.max_body_bytes)
        except BodyTooLarge:
            return _error(413, f"body over {config.max_body_bytes} bytes")
        signature = request.headers.get("x-hub-signature-256")
        if not is_valid_signature(config.webhook_secret, body, signature):
            return _error(401, "missing or invalid X-Hub-Signature-256")
        event = request.headers.get("x-github-event")
        delivery_id = request.headers.get("x-github-delivery")
        if not event or not delivery_id:
            return _error(400, "missing X-GitHub-Event or X-GitHub-Delivery")
        try:
            text = body.decode("utf-8")
            payload = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return _error(400, f"body is not JSON: {error}")
        if not isinstance(payload, dict):
            return _error(400, "body is not a JSON object")
        is_new = await store_delivery(config.store, config.clock, delivery_id, event, payload, text)
        if config.processor is not None and is_new:
            config.processor.wake()
        return JSONResponse(
            {"delivery": delivery_id, "status": "accepted" if is_new else "duplicate"},
            status_code=202,
        )

    async def healthz(request: Request) -> Response:
        health = await tick_health(dashboard)
        return JSONResponse(health_json(health), status_code=200 if health.healthy else 503)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = None
        if config.processor is not None:
            task = asyncio.create_task(config.processor.run_forever(), name="inbox")
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return Starlette(
        routes=[
            Route("/webhook", webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            *dashboard_routes(dashboard),
        ],
        lifespan=lifespan,
    )
