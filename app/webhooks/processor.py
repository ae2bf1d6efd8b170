"""Process the inbox: claim due deliveries, run their handlers, record each outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback

from app.clock import Clock
from app.github.client import GitHubAccess
from app.logs import log_context
from app.store import Store
from app.store.inbox import Delivery
from app.webhooks import inbox
from app.webhooks.handler_context import HandlerContext
from app.webhooks.permissions import PermissionCache
from app.webhooks.router import Router

log = logging.getLogger("townhall.inbox")

POLL_INTERVAL = 1.0


class InboxProcessor:
    """Runs handlers for stored deliveries; wake() makes it look at once after a new one."""

    def __init__(
        self, store: Store, clock: Clock, router: Router, github: GitHubAccess, batch: int = 50
    ) -> None:
        self._store = store
        self._clock = clock
        self._router = router
        self._github = github
        self._batch = batch
        self._permissions = PermissionCache(clock)
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Tell the processor new work is waiting."""
        self._wakeup.set()

    async def process_one(self, delivery: Delivery) -> str:
        """Run every handler for one claimed delivery; return the status recorded."""
        with log_context(delivery=delivery.id):
            return await self._process(delivery)

    async def _process(self, delivery: Delivery) -> str:
        handlers = self._router.handlers_for(delivery.event, delivery.action)
        if not handlers:
            await inbox.finish(self._store, self._clock, delivery, "ignored")
            return "ignored"
        context = HandlerContext(
            store=self._store,
            clock=self._clock,
            github=self._github,
            permissions=self._permissions,
            delivery_id=delivery.id,
            installation_id=delivery.installation_id,
            log=logging.LoggerAdapter(log, {"delivery": delivery.id}),
        )
        try:
            for handler in handlers:
                await handler(context, delivery.payload)
        except Exception as error:
            status = await inbox.fail(
                self._store, self._clock, delivery, f"{type(error).__name__}: {error}"
            )
            log.warning(
                "delivery %s (%s.%s) failed on try %d, now %s: %s",
                delivery.id,
                delivery.event,
                delivery.action,
                delivery.tries,
                status,
                "".join(traceback.format_exception_only(error)).strip(),
            )
            return status
        await inbox.finish(self._store, self._clock, delivery, "done")
        return "done"

    async def drain(self) -> dict[str, int]:
        """Process everything due now (the CEO tick calls this); return outcome counts."""
        outcomes: dict[str, int] = {}
        while True:
            claimed = await inbox.claim_due(self._store, self._clock, self._batch)
            if not claimed:
                return outcomes
            for delivery in claimed:
                status = await self.process_one(delivery)
                outcomes[status] = outcomes.get(status, 0) + 1

    async def run_forever(self) -> None:
        """Drain, then sleep until woken or the poll interval passes (for retries)."""
        while True:
            try:
                await self.drain()
            except Exception:
                # The store being briefly unavailable must not kill the web app's processor.
                log.exception("inbox drain failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), POLL_INTERVAL)
            self._wakeup.clear()
