"""Group commit: writes that arrive together share one transaction on the writer thread.

A transaction per webhook delivery made the single writer thread the queue every request waited
in: BEGIN, one INSERT, COMMIT, and the next caller's BEGIN. Here a caller queues its write and
awaits it; one batch job at a time goes to the writer thread and runs every write queued so far
in one transaction. Writes arriving while a batch commits wait for the next batch, so batches
grow with the load and a lone write goes at once: no timer, no added latency when idle. A
caller's `write` returns only after the COMMIT that holds its write, so an answer given after it
is an answer about durable data.

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
from collections.abc import Callable
from typing import Any, TypeVar

from app.store.db import Store, Tx

T = TypeVar("T")

# The most writes one transaction holds, so a batch keeps the writer thread for milliseconds.
MAX_BATCH = 256
# Writes committed together within this many seconds mean callers are queueing for the writer.
PRESSURE_WINDOW_S = 0.25

_Write = tuple[Callable[[Tx], Any], asyncio.Future[Any]]


class GroupCommitter:
    """Runs queued writes on the store's writer thread, many per transaction."""

    def __init__(self, store: Store, max_batch: int = MAX_BATCH) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: list[_Write] = []
        self._flusher: asyncio.Task[None] | None = None
        self._grouped_at = float("-inf")

    async def write(self, work: Callable[[Tx], T]) -> T:
        """Run `work` in the next group transaction; return its result once committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
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
        batch: list[_Write] = []
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

    async def _commit(self, batch: list[_Write]) -> None:
        works = [work for work, _ in batch]
        try:
            results = await self._run(lambda tx: [work(tx) for work in works])
        except Exception as error:
            if len(batch) == 1:
                _fail(batch[0][1], error)
                return
            for work, future in batch:  # rolled back whole: each alone, each its own outcome
                try:
                    _succeed(future, await self._run(work))
                except Exception as alone:
                    _fail(future, alone)
            return
        if len(batch) > 1:
            self._grouped_at = time.monotonic()
        for (_, future), result in zip(batch, results, strict=True):
            _succeed(future, result)

    async def _run(self, work: Callable[[Tx], T]) -> T:
        # A write into a deleted or replaced file would vanish on restart: never acknowledge one.
        self._store.check_file()
        return await self._store.run(work)


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
