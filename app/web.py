"""The web app: `POST /webhook` (verify, store, acknowledge), `GET /healthz`, the dashboard.

A delivery is acknowledged only after it is stored, and processed afterwards by the inbox
processor, so GitHub gets its answer in milliseconds and nothing acknowledged is lost. The
webhook refuses what it can before reading the body (no or malformed signature, missing
headers, a declared size over the cap), hashes the body as it streams, and never answers 500:
a store that cannot write answers 503 with Retry-After, so the delivery can be redelivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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
from app.webhooks.inbox import (
    NotAnObject,
    Unprocessable,
    parse_body,
    store_dead_delivery,
    store_delivery,
)
from app.webhooks.processor import InboxProcessor
from app.webhooks.signature import StreamingSignature, parse_signature

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


# Seconds a client should wait before retrying when the store cannot take writes.
RETRY_AFTER_S = 30


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _refuse(status: int, message: str) -> JSONResponse:
    """Answer without reading the rest of the body, and close the connection it is on."""
    return JSONResponse({"error": message}, status_code=status, headers={"Connection": "close"})


def _unavailable(message: str, status: str | None = None) -> JSONResponse:
    body = {"error": message} if status is None else {"status": status, "error": message}
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


class BodyTooLarge(Exception):
    """The request body passed the configured limit while it was being read."""


async def _read_body(request: Request, limit: int, signature: StreamingSignature) -> bytes:
    """Read the body into the HMAC, stopping as soon as it passes `limit` (chunked included)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        signature.update(chunk)
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
        readers=None if config.github is None else RepoReaders(config.github, config.clock),
        sign_in=config.sign_in if config.github is not None else None,
    )

    async def webhook(request: Request) -> Response:
        try:
            return await receive_delivery(request)
        except Exception:  # a bug, not the request's fault; still no 500 for GitHub to show
            log.exception("webhook failed")
            return _unavailable("the delivery could not be taken; try again")

    async def receive_delivery(request: Request) -> Response:
        claimed = parse_signature(request.headers.get("x-hub-signature-256"))
        if claimed is None:
            return _refuse(401, "missing or malformed X-Hub-Signature-256")
        event = request.headers.get("x-github-event")
        delivery_id = request.headers.get("x-github-delivery")
        if not event or not delivery_id:
            return _refuse(400, "missing X-GitHub-Event or X-GitHub-Delivery")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > config.max_body_bytes:
            return _refuse(413, f"body over {config.max_body_bytes} bytes")
        signature = StreamingSignature(config.webhook_secret, claimed)
        try:
            async with asyncio.timeout(config.body_timeout_s):
                body = await _read_body(request, config.max_body_bytes, signature)
        except BodyTooLarge:
            return _refuse(413, f"body over {config.max_body_bytes} bytes")
        except TimeoutError:
            log.info("webhook body incomplete after %ss; dropped", config.body_timeout_s)
            return _refuse(408, f"body not received within {config.body_timeout_s}s")
        except ClientDisconnect:
            log.info("webhook client hung up before its body was complete")
            return _refuse(400, "client disconnected")  # nobody reads this answer
        if not signature.matches():
            return _error(401, "invalid X-Hub-Signature-256")
        try:
            text, payload = parse_body(body)
        except NotAnObject as error:
            return _error(400, str(error))
        try:
            if isinstance(payload, Unprocessable):
                log.warning("delivery %s (%s) stored dead: %s", delivery_id, event, payload.reason)
                is_new = await store_dead_delivery(
                    config.store, config.clock, delivery_id, event, text, payload.reason
                )
            else:
                is_new = await store_delivery(
                    config.store, config.clock, delivery_id, event, payload, text
                )
        except StoreError as error:
            log.error("delivery %s not stored, answered 503: %s", delivery_id, error)
            return _unavailable(f"the store cannot take deliveries: {error}")
        if config.processor is not None and is_new:
            config.processor.wake()
        answer: dict[str, str] = {"delivery": delivery_id, "status": "duplicate"}
        if is_new:
            answer["status"] = "dead" if isinstance(payload, Unprocessable) else "accepted"
        if isinstance(payload, Unprocessable):
            answer["reason"] = payload.reason
        return JSONResponse(answer, status_code=202)

    async def healthz(request: Request) -> Response:
        try:
            await config.store.check()
            health = await tick_health(dashboard)
        except StoreError as error:
            log.warning("healthz: the store is unavailable: %s", error)
            return _unavailable(str(error), status="store unavailable")
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
