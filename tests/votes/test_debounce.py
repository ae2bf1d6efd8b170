"""The sweep debouncer: bursts become one sweep, a steady stream still sweeps, no overlap."""

from __future__ import annotations

import asyncio

from app.votes.debounce import SweepDebouncer
from app.votes.sweep import RepoRef, SweepBusy

ONE = RepoRef(1, 10, "octo/one")
TWO = RepoRef(2, 10, "octo/two")


class Recorder:
    def __init__(self, seconds: float = 0.0) -> None:
        self.calls: list[tuple[str, frozenset[int] | None]] = []
        self.seconds = seconds
        self.active = 0
        self.most_active = 0

    async def __call__(self, repo: RepoRef, numbers: frozenset[int] | None) -> None:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        self.calls.append((repo.full_name, numbers))
        await asyncio.sleep(self.seconds)
        self.active -= 1


async def test_a_burst_of_pokes_becomes_one_sweep_per_repository() -> None:
    recorder = Recorder()
    debouncer = SweepDebouncer(recorder, quiet=0.05, max_wait=5.0)
    for number in (3, 4, 3, 9):
        debouncer.poke(ONE, number)
    debouncer.poke(TWO, 1)
    assert debouncer.waiting() == {"octo/one": frozenset({3, 4, 9}), "octo/two": frozenset({1})}
    assert recorder.calls == []  # nothing runs before the quiet period
    await debouncer.drain()
    assert sorted(recorder.calls, key=lambda c: c[0]) == [
        ("octo/one", frozenset({3, 4, 9})),
        ("octo/two", frozenset({1})),
    ]
    assert debouncer.waiting() == {}


async def test_a_whole_repository_poke_widens_the_sweep() -> None:
    recorder = Recorder()
    debouncer = SweepDebouncer(recorder, quiet=0.02)
    debouncer.poke(ONE, 3)
    debouncer.poke(ONE)
    debouncer.poke(ONE, 4)
    await debouncer.drain()
    assert recorder.calls == [("octo/one", None)]


async def test_a_steady_stream_of_pokes_still_sweeps_by_max_wait() -> None:
    recorder = Recorder()
    debouncer = SweepDebouncer(recorder, quiet=0.05, max_wait=0.15)
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < 0.4:
        debouncer.poke(ONE, 1)
        await asyncio.sleep(0.01)  # never quiet for 0.05 s
    await debouncer.drain()
    assert 2 <= len(recorder.calls) <= 4


async def test_sweeps_of_one_repository_never_overlap_and_failures_are_contained() -> None:
    recorder = Recorder(seconds=0.1)
    failures = 0

    async def flaky(repo: RepoRef, numbers: frozenset[int] | None) -> None:
        nonlocal failures
        await recorder(repo, numbers)
        if len(recorder.calls) == 1:
            failures += 1
            raise RuntimeError("GitHub is down")

    debouncer = SweepDebouncer(flaky, quiet=0.01)
    debouncer.poke(ONE, 1)
    await asyncio.sleep(0.05)  # the first sweep is running now
    debouncer.poke(ONE, 2)
    await debouncer.drain()
    assert [numbers for _, numbers in recorder.calls] == [frozenset({1}), frozenset({2})]
    assert recorder.most_active == 1
    assert failures == 1


async def test_close_cancels_waiting_sweeps() -> None:
    recorder = Recorder()
    debouncer = SweepDebouncer(recorder, quiet=10.0)
    debouncer.poke(ONE, 1)
    await debouncer.close()
    assert recorder.calls == []
    assert debouncer.waiting() == {}


async def test_a_busy_repository_is_asked_again_later() -> None:
    recorder = Recorder()

    async def busy_once(repo: RepoRef, numbers: frozenset[int] | None) -> None:
        await recorder(repo, numbers)
        if len(recorder.calls) == 1:
            raise SweepBusy("the tick holds the lease")

    debouncer = SweepDebouncer(busy_once, quiet=0.01)
    debouncer.poke(ONE, 5)
    await debouncer.drain()
    assert recorder.calls == [("octo/one", frozenset({5})), ("octo/one", frozenset({5}))]
