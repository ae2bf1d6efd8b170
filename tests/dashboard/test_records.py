"""Step and tick records: what workers and the CEO write, read back by the dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import ManualClock
from app.logs import REDACTED
from app.store import Store
from app.store.tasks import record_event
from app.store.timings import (
    StepTiming,
    TickTiming,
    last_successful_tick_tx,
    record_step,
    record_tick,
    timed_step,
    timed_tick,
)


async def test_record_step_stores_the_duration_and_outcome(
    store: Store, clock: ManualClock
) -> None:
    started = clock.now()
    timing = StepTiming(4, 1, "fetch", started, started + timedelta(seconds=2.5), True, "main@abc")
    await record_step(store, clock, timing)
    row = await store.fetchone("SELECT * FROM attempt_steps")
    assert row is not None
    assert (row["task_id"], row["attempt"], row["step"], row["ok"], row["detail"]) == (
        4,
        1,
        "fetch",
        1,
        "main@abc",
    )
    assert row["duration_ms"] == 2500.0


async def test_timed_step_records_success_and_failure_with_the_error_redacted(
    store: Store, clock: ManualClock
) -> None:
    async with timed_step(store, clock, 4, 1, "verify") as note:
        clock.advance(timedelta(seconds=30))
        note.detail = "2 commands passed"
    with pytest.raises(RuntimeError):
        async with timed_step(store, clock, 4, 1, "publish"):
            clock.advance(timedelta(seconds=3))
            raise RuntimeError("push refused for ghs_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    rows = await store.fetchall("SELECT step, ok, duration_ms, detail FROM attempt_steps")
    assert rows[0] == {
        "step": "verify",
        "ok": 1,
        "duration_ms": 30000.0,
        "detail": "2 commands passed",
    }
    assert (rows[1]["step"], rows[1]["ok"], rows[1]["duration_ms"]) == ("publish", 0, 3000.0)
    assert rows[1]["detail"] == f"RuntimeError: push refused for {REDACTED}"


async def test_last_successful_tick_reads_ticks_and_tick_completed_events(
    store: Store, clock: ManualClock
) -> None:
    assert store.run_sync(last_successful_tick_tx) is None
    first = clock.now()
    await record_tick(store, TickTiming(first - timedelta(seconds=20), first, True))
    clock.advance(timedelta(minutes=5))
    await record_tick(store, TickTiming(clock.now(), clock.now(), False, "GitHub was down"))
    assert store.run_sync(last_successful_tick_tx) == first  # the failed one does not count
    clock.advance(timedelta(minutes=5))
    await store.run(
        lambda tx: record_event(tx, clock, actor="ceo", kind="tick_completed", reason="1 repo")
    )
    assert store.run_sync(last_successful_tick_tx) == clock.now()


async def test_timed_tick_records_a_failed_tick_and_reraises(
    store: Store, clock: ManualClock
) -> None:
    with pytest.raises(ValueError, match="boom"):
        async with timed_tick(store, clock):
            raise ValueError("boom")
    async with timed_tick(store, clock):
        clock.advance(timedelta(seconds=12))
    rows = await store.fetchall("SELECT ok, detail FROM ticks ORDER BY id")
    assert rows == [{"ok": 0, "detail": "ValueError: boom"}, {"ok": 1, "detail": ""}]
