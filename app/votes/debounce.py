"""Debounce sweeps asked for by webhooks: a burst of issue events becomes one small sweep."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from app.votes.sweep import RepoRef, SweepBusy

log = logging.getLogger(__name__)

# Called with the repository and the issues to sweep (None: every open issue).
SweepCall = Callable[[RepoRef, frozenset[int] | None], Awaitable[object]]


@dataclass
class _Pending:
    repo: RepoRef
    numbers: set[int] | None
    first: float
    last: float
    runner: asyncio.Task[None] | None = field(default=None, repr=False)


class SweepDebouncer:
    """Sweep a repository once it has been quiet for `quiet` seconds, or `max_wait` after a poke.

    Webhook handlers call `poke` (cheap, never blocks); the sweep runs in the background. Sweeps
    of one repository never overlap; pokes that arrive during a sweep start the next one.
    """

    def __init__(self, sweep: SweepCall, *, quiet: float = 10.0, max_wait: float = 60.0) -> None:
        self._sweep = sweep
        self._quiet = quiet
        self._max_wait = max_wait
        self._pending: dict[int, _Pending] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._locks: dict[int, asyncio.Lock] = {}

    def poke(self, repo: RepoRef, number: int | None = None) -> None:
        """Ask for a sweep of one issue (or, with None, of every open issue) soon."""
        now = asyncio.get_running_loop().time()
        pending = self._pending.get(repo.id)
        if pending is None:
            pending = _Pending(repo, set(), now, now)
            self._pending[repo.id] = pending
            pending.runner = asyncio.create_task(self._wait_then_sweep(repo.id))
            self._running.add(pending.runner)
            pending.runner.add_done_callback(self._running.discard)
        pending.last = now
        if number is None:
            pending.numbers = None
        elif pending.numbers is not None:
            pending.numbers.add(number)

    def waiting(self) -> dict[str, frozenset[int] | None]:
        """Return what is waiting to be swept, by repository name."""
        return {
            p.repo.full_name: None if p.numbers is None else frozenset(p.numbers)
            for p in self._pending.values()
        }

    async def _wait_then_sweep(self, repo_id: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            pending = self._pending[repo_id]
            due = min(pending.last + self._quiet, pending.first + self._max_wait)
            delay = due - loop.time()
            if delay <= 0:
                break
            await asyncio.sleep(delay)
        del self._pending[repo_id]
        numbers = None if pending.numbers is None else frozenset(pending.numbers)
        async with self._locks.setdefault(repo_id, asyncio.Lock()):
            try:
                await self._sweep(pending.repo, numbers)
            except SweepBusy:
                # The tick is sweeping; it may have read the issue before the change: ask again.
                self._requeue(pending.repo, numbers)
            except Exception:
                # The CEO tick sweeps everything anyway; a failed early sweep only waits for it.
                log.exception("debounced vote sweep of %s failed", pending.repo.full_name)

    def _requeue(self, repo: RepoRef, numbers: frozenset[int] | None) -> None:
        if numbers is None:
            self.poke(repo)
        for number in sorted(numbers or ()):
            self.poke(repo, number)

    async def drain(self) -> None:
        """Wait until every requested sweep has run."""
        while self._running:
            await asyncio.gather(*list(self._running))

    async def close(self) -> None:
        """Cancel every waiting or running sweep (at shutdown; the next tick sweeps anyway)."""
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*list(self._running), return_exceptions=True)
        self._pending.clear()
