"""A model that keeps failing: the task says why it waits, then goes to a person after 3 ticks."""

from __future__ import annotations

from datetime import UTC, datetime

from app.ceo.plan_step import MODEL_FAILURES_FOR_PERSON
from app.ceo.tick import run_tick
from app.dashboard.board import Limits
from app.dashboard.queries import read_facts_tx
from app.standins.scripted_model import Fault
from tests.ceo import test_tick
from tests.ceo.test_tick import World, comments, file_and_vote

world = test_tick.world  # the tick's world: localhub, the scripted model, a store


async def _task(world: World) -> dict[str, object]:
    row = await world.store.fetchone("SELECT id, state, waiting_reason FROM tasks")
    assert row is not None
    return dict(row)


async def test_a_failing_model_shows_why_then_hands_the_task_to_a_person(world: World) -> None:
    number = file_and_vote(world, "Cart totals")
    world.model.inject(Fault("overloaded", count=1000))

    for failures in range(1, MODEL_FAILURES_FOR_PERSON):
        await run_tick(world.deps)
        task = await _task(world)
        assert task["state"] == "approved"
        reason = str(task["waiting_reason"])
        assert reason.startswith(f"planning postponed ({failures} failed in a row): ")
        assert "529" in reason and "Overloaded" in reason
    # What the dashboard and `townhall status` show as "why it waits".
    now = datetime.now(UTC)
    facts = world.store.run_sync(lambda tx: read_facts_tx(tx, now, Limits()))
    [queued] = facts.queue
    assert queued.waiting_reason is not None and "Overloaded" in queued.waiting_reason
    [repo] = facts.repos
    assert repo.needs_operator == "the model failed to plan 1 task"
    assert not [body for body in comments(world, number) if "needs a person" in body]

    await run_tick(world.deps)
    task = await _task(world)
    assert task["state"] == "needs_human" and task["waiting_reason"] is None
    told = [body for body in comments(world, number) if "needs a person" in body]
    assert len(told) == 1
    assert f"planning failed {MODEL_FAILURES_FOR_PERSON} ticks in a row" in told[0]
    assert "Overloaded" in told[0]
    facts = world.store.run_sync(lambda tx: read_facts_tx(tx, now, Limits()))
    [person] = facts.needs_human
    assert "the model could not be reached" in person.reason
    [repo] = facts.repos
    assert repo.needs_operator == "the model failed to plan 1 task"  # still the operator's

    # Another tick tells nobody twice.
    await run_tick(world.deps)
    assert len([body for body in comments(world, number) if "needs a person" in body]) == 1


async def test_a_success_between_failures_starts_the_count_again(world: World) -> None:
    file_and_vote(world, "Cart totals")
    world.model.inject(Fault("overloaded", count=1))
    await run_tick(world.deps)
    assert str((await _task(world))["waiting_reason"]).startswith("planning postponed (1 failed")
    await run_tick(world.deps)  # the model answers: planned and queued, the reason is gone
    task = await _task(world)
    assert task["state"] in ("queued", "running")
    assert not str(task["waiting_reason"] or "").startswith("planning postponed")
