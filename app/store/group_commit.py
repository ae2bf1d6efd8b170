"""Group commit: writes that arrive together share one transaction.

A transaction per webhook delivery made the single writer thread the queue every request waited
in: BEGIN, one INSERT, COMMIT, and the next caller's BEGIN. Here a caller queues its write and
awaits it; one batch at a time is committed, holding every write queued so far. Writes arriving
while a batch commits wait for the next batch, so batches grow with the load and a lone write
goes at once: no timer, no added latency when idle. A caller's `write` returns only after the
COMMIT that holds its write, so an answer given after it is an answer about durable data.

What a write is depends on the commit function: a `Tx` callable run on the writer thread
(`in_transaction`), or, for deliveries, a row sent as a statement known up front, so a batch
costs a remote store one round trip (app/webhooks/inbox.commit_deliveries).

When the batch fails (one write's error, or the COMMIT: a full disk, a read-only or replaced
file), it was rolled back whole, and each of its writes is run again alone, so every caller gets
its own outcome: a write that works alone is committed and answered, and only the failing one
fails. Retrying is safe because the batch left nothing behind, and the writes this is built for
(INSERT ... ON CONFLICT DO NOTHING) report a row committed by an ambiguous COMMIT as already
there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from app.store.db import Store, Tx

Item = TypeVar("Item")
Result = TypeVar("Result")

# Commits a batch of items in one transaction; returns each item's result, in order.
BatchCommit = Callable[[list[Item]], Awaitable[list[Result]]]
Work = Callable[[Tx], Any]

# The most writes one transaction holds, so a batch keeps the writer thread for milliseconds.
MAX_BATCH = 256
# Writes committed together within this many seconds mean callers are queueing for the writer.
PRESSURE_WINDOW_S = 0.25


def in_transaction(store: Store) -> BatchCommit[Work, Any]:
    """Commit a batch of `Tx` callables in one transaction on the store's writer thread."""

    async def commit(works: list[Work]) -> list[Any]:
        # A write into a deleted or replaced file would vanish on restart: never acknowledge one.
        store.check_file()
        return await store.run(lambda tx: [work(tx) for work in works])

    return commit


class GroupCommitter(Generic[Item, Result]):
    """Commits queued items through `commit`, as many per transaction as are waiting."""

    def __init__(self, commit: BatchCommit[Item, Result], max_batch: int = MAX_BATCH) -> None:
        self._commit_batch = commit
        self._max_batch = max_batch
        self._queue: list[_Pending[Item, Result]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._grouped_at = float("-inf")

    async def write(self, item: Item) -> Result:
        """Commit `item` in the next group transaction; return its result once committed."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="group-commit")
        return await future

    def under_pressure(self) -> bool:
        """Tell whether writes are queueing: a batch is waiting, or one held several lately."""
        if self._flusher is not None and self._queue:
            return True
        return time.monotonic() - self._grouped_at < PRESSURE_WINDOW_S

    async def _flush(self) -> None:
        """Commit batches until the queue is empty (new writes join the next batch)."""
        batch: list[_Pending[Item, Result]] = []
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._commit(batch)
        except BaseException as error:  # cancelled at shutdown: nobody is left waiting forever
            for _, future in (*batch, *self._queue):
                _fail(future, error)
            self._queue.clear()
            raise
        finally:
            self._flusher = None

    async def _commit(self, batch: list[_Pending[Item, Result]]) -> None:
        try:
            results = await self._commit_batch([item for item, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                _fail(batch[0][1], error)
                return
            for item, future in batch:  # rolled back whole: each alone, each its own outcome
                try:
                    [result] = await self._commit_batch([item])
                    _succeed(future, result)
                except Exception as alone:
                    _fail(future, alone)
            return
        if len(batch) > 1:
            self._grouped_at = time.monotonic()
        for (_, future), result in zip(batch, results, strict=True):
            _succeed(future, result)


_Pending = tuple[Item, "asyncio.Future[Result]"]


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # the caller may have gone (a cancelled request); its row stays
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if future.done():
        return
    if isinstance(error, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(error)
