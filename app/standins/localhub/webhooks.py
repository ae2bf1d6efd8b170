"""Deliver signed webhooks in the background, one at a time, keeping a record of each delivery."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from .models import WebhookConfig
from .tls import shared_ssl_context

log = logging.getLogger(__name__)

USER_AGENT = "GitHub-Hookshot/localhub"


@dataclass
class Delivery:
    """One webhook delivery and what the receiver answered."""

    id: int
    guid: str
    event: str
    action: str | None
    url: str
    payload: dict[str, Any]
    status_code: int | None = None
    error: str | None = None
    duration_ms: float | None = None
    delivered: bool = False

    def describe(self, *, with_payload: bool = False) -> dict[str, Any]:
        """Return the delivery record as JSON."""
        record: dict[str, Any] = {
            "id": self.id,
            "guid": self.guid,
            "event": self.event,
            "action": self.action,
            "url": self.url,
            "status_code": self.status_code,
            "error": self.error,
            "duration_ms": self.duration_ms,
            "delivered": self.delivered,
        }
        if with_payload:
            record["payload"] = self.payload
        return record


def signature_256(secret: str, body: bytes) -> str:
    """Return the `X-Hub-Signature-256` value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookDispatcher:
    """A FIFO of deliveries drained by one worker task, so receivers see events in order."""

    def __init__(self, config: WebhookConfig, app_id: int | None = None) -> None:
        self.config = config
        self.app_id = app_id
        self.deliveries: list[Delivery] = []
        self._queue: asyncio.Queue[Delivery] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        """Start the delivery worker (called when the server starts, on the server's loop)."""
        # A fresh queue per start: a queue belongs to the event loop that first waits on it.
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(), name="localhub-webhooks")

    async def stop(self) -> None:
        """Stop the worker; deliveries still queued are dropped."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def enqueue(self, event: str, payload: dict[str, Any]) -> Delivery | None:
        """Queue a delivery of `event` if a webhook URL is configured."""
        if not self.config.url:
            return None
        delivery = Delivery(
            id=len(self.deliveries) + 1,
            guid=str(uuid.uuid4()),
            event=event,
            action=payload.get("action"),
            url=self.config.url,
            payload=payload,
        )
        self.deliveries.append(delivery)
        if self._queue is None:
            delivery.error = "webhook worker not running"
            return delivery
        self._queue.put_nowait(delivery)
        return delivery

    async def wait_idle(self, limit: float) -> bool:
        """Wait up to `limit` seconds until every queued delivery was attempted; False if not."""
        if self._queue is None:
            return True
        try:
            async with asyncio.timeout(limit):
                await self._queue.join()
        except TimeoutError:
            return False
        return True

    @property
    def pending(self) -> int:
        """Return how many deliveries are queued or in flight."""
        return sum(1 for d in self.deliveries if d.status_code is None and d.error is None)

    async def _run(self) -> None:
        queue = self._queue
        assert queue is not None
        while True:
            delivery = await queue.get()
            try:
                await self._deliver(delivery)
            except Exception as exc:  # a broken receiver must never stop the worker
                delivery.error = repr(exc)
                log.exception("webhook delivery %s failed", delivery.guid)
            finally:
                queue.task_done()

    async def _deliver(self, delivery: Delivery) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=10.0, verify=shared_ssl_context())
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-GitHub-Event": delivery.event,
            "X-GitHub-Delivery": delivery.guid,
            "X-GitHub-Hook-ID": str(self.config.hook_id),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-GitHub-Hook-Installation-Target-ID": str(self.app_id or 0),
        }
        if self.config.secret:
            headers["X-Hub-Signature-256"] = signature_256(self.config.secret, body)
            digest = hmac.new(self.config.secret.encode(), body, hashlib.sha1).hexdigest()
            headers["X-Hub-Signature"] = "sha1=" + digest
        started = time.perf_counter()
        try:
            response = await self._client.post(delivery.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        else:
            delivery.status_code = response.status_code
            delivery.delivered = response.is_success
        delivery.duration_ms = round((time.perf_counter() - started) * 1000, 2)
