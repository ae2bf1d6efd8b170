"""Process the inbox: claim due deliveries, run their handlers, record each outcome.

Up to MAX_CONCURRENT deliveries run at once, so one waiting out a rate limit does not hold up
the others; deliveries about one issue still run one at a time, in order (the store hands out
one delivery per lane: app/store/inbox.claim_due_tx).

Intake comes first: the web app shares the event loop and the writer thread with this
processor, and a delivery is only answered once stored. While intake is under pressure (its
group commits are holding several deliveries), each claim waits INTAKE_YIELD_S first, so
processing takes a small share of the loop and the writer, and never none; when the burst
ends it runs flat out and catches up. Each claim is one short transaction (a few reads, at
most MAX_CONCURRENT rows claimed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import Callable
from typing import Any

from app.clock import Clock
from app.github.client import GitHubAccess
from app.logs import log_context
from app.store import Store, StoreError
from app.store.inbox import Delivery
from app.webhooks import inbox
from app.webhooks.handler_context import HandlerContext
from app.webhooks.permissions import PermissionCache
from app.webhooks.router import Router

log = logging.getLogger("townhall.inbox")

POLL_INTERVAL = 1.0
MAX_CONCURRENT = 8
# Under intake pressure a claim waits this long first: at most 10 claims a second.
INTAKE_YIELD_S = 0.1
# Handlers log payload fields (a ping's zen, titles); a signed body can make one 25 MB long.
MAX_LOGGED_FIELD = 300


class ShortFieldsAdapter(logging.LoggerAdapter[logging.Logger]):
    """A handler's logger: tags lines with the delivery and cuts long arguments short."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """Log with every argument's text cut to MAX_LOGGED_FIELD characters."""
        super().log(level, msg, *(_shorten(arg) for arg in args), **kwargs)


def _shorten(value: object) -> object:
    if isinstance(value, int | float | bool) or value is None:
        return value  # keeps %d and %f working
    text = str(value)
    if len(text) <= MAX_LOGGED_FIELD:
        return value
    return f"{text[:MAX_LOGGED_FIELD]}… [{len(text) - MAX_LOGGED_FIELD} more characters]"


class InboxProcessor:
    """Runs handlers for stored deliveries; wake() makes it look at once after a new one."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        router: Router,
        github: GitHubAccess,
        concurrency: int = MAX_CONCURRENT,
    ) -> None:
        self._store = store
        self._clock = clock
        self._router = router
        self._github = github
        self._concurrency = concurrency
        # Deliveries being handled in this process, by any drain: the bound counts them all.
        self._in_flight: set[asyncio.Task[str]] = set()
        self._permissions = PermissionCache(clock)
        self._wakeup = asyncio.Event()
        self._intake_busy: Callable[[], bool] = lambda: False

    def wake(self) -> None:
        """Tell the processor new work is waiting."""
        self._wakeup.set()

    def yield_to(self, intake_busy: Callable[[], bool]) -> None:
        """Give way to intake: wait before each claim while `intake_busy()` says so."""
        self._intake_busy = intake_busy

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
            log=ShortFieldsAdapter(log, {"delivery": delivery.id}),
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
                _shorten("".join(traceback.format_exception_only(error)).strip()),
            )
            return status
        await inbox.finish(self._store, self._clock, delivery, "done")
        return "done"

    async def drain(self) -> dict[str, int]:
        """Process everything due now, several at once (the CEO tick calls this); count outcomes.

        Returns when nothing it started is still running and nothing more is due; a delivery
        that becomes due meanwhile (the next in a lane, a new one) is picked up on the way.
        """
        outcomes: dict[str, int] = {}
        mine: set[asyncio.Task[str]] = set()
        try:
            while True:
                mine |= await self._start_due()
                if not mine:
                    return outcomes
                done, _ = await asyncio.wait(
                    mine, timeout=POLL_INTERVAL, return_when=asyncio.FIRST_COMPLETED
                )
                for job in done:
                    mine.discard(job)
                    status = job.result()
                    outcomes[status] = outcomes.get(status, 0) + 1
        except asyncio.CancelledError:
            for job in mine:  # shutting down: their claims expire and another process retries
                job.cancel()
            raise
        finally:
            # Never leave a handler running unowned (an error, or this drain being cancelled).
            if mine:
                await asyncio.gather(*mine, return_exceptions=True)

    async def _start_due(self) -> set[asyncio.Task[str]]:
        """Claim as many due deliveries as there are free slots and start handling them."""
        if self._concurrency - len(self._in_flight) <= 0:
            return set()
        if self._intake_busy():
            await asyncio.sleep(INTAKE_YIELD_S)
        started: set[asyncio.Task[str]] = set()
        while (free := self._concurrency - len(self._in_flight)) > 0:
            claim = await inbox.claim_due(self._store, self._clock, free)
            for dead in claim.unreadable:
                log.warning("delivery %s (%s) stored dead: %s", dead.id, dead.event, dead.reason)
            for delivery in claim.deliveries:
                job = asyncio.create_task(
                    self.process_one(delivery), name=f"delivery:{delivery.id}"
                )
                self._in_flight.add(job)
                job.add_done_callback(self._in_flight.discard)
                started.add(job)
            if claim.deliveries or not claim.unreadable:
                break  # else only unreadable bodies were read: read on
        return started

    async def run_forever(self) -> None:
        """Drain, then sleep until woken or the poll interval passes (for retries)."""
        while True:
            try:
                await self.drain()
            except StoreError as error:
                # The store being briefly unavailable must not kill the web app's processor,
                # nor fill the log with a traceback a second.
                log.warning("inbox drain failed, the store is unavailable: %s", error)
            except Exception:
                log.exception("inbox drain failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), POLL_INTERVAL)
            self._wakeup.clear()
