"""The inbox processor: failures recorded and retried with backoff, outcomes per delivery."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from app.clock import ManualClock
from app.github.client import GitHubAccess
from app.settings import Settings
from app.store import Store
from app.store.group_commit import GroupCommitter
from app.webhooks import inbox
from app.webhooks.handler_context import HandlerContext
from app.webhooks.processor import InboxProcessor
from app.webhooks.router import Router
from tests.webhooks.payloads import issues_event


def flaky_router(failures: int, calls: list[str]) -> Router:
    router = Router()

    @router.register("issues", "opened")
    async def sometimes_fails(context: HandlerContext, payload: dict[str, Any]) -> None:
        calls.append(context.delivery_id)
        if len(calls) <= failures:
            raise RuntimeError(f"boom {len(calls)}")

    return router


@pytest.fixture
def processor_parts(store: Store, clock: ManualClock, settings: Settings) -> tuple[Any, ...]:
    github = GitHubAccess(settings.github_api_url, settings.require_github_app(), clock)
    return store, clock, github


async def put(store: Store, clock: ManualClock, delivery_id: str, event: str = "issues") -> None:
    body = json.dumps(issues_event("opened"))
    await inbox.store_delivery(
        GroupCommitter(inbox.commit_deliveries(store)), clock, delivery_id, event, body
    )


async def status_of(store: Store, delivery_id: str) -> dict[str, Any]:
    row = await store.fetchone("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))
    assert row is not None
    return row


async def test_failed_handler_is_retried_after_backoff(processor_parts: tuple[Any, ...]) -> None:
    store, clock, github = processor_parts
    calls: list[str] = []
    processor = InboxProcessor(store, clock, flaky_router(2, calls), github)
    await put(store, clock, "d1")

    assert await processor.drain() == {"failed": 1}
    row = await status_of(store, "d1")
    assert row["status"] == "failed" and "boom 1" in row["last_error"]
    assert await processor.drain() == {}  # not due yet: backoff holds it
    clock.advance(inbox.backoff(1))
    assert await processor.drain() == {"failed": 1}
    clock.advance(inbox.backoff(2))
    assert await processor.drain() == {"done": 1}
    assert calls == ["d1", "d1", "d1"]
    row = await status_of(store, "d1")
    assert (row["status"], row["tries"], row["last_error"]) == ("done", 3, None)


async def test_a_delivery_that_keeps_failing_ends_dead(processor_parts: tuple[Any, ...]) -> None:
    store, clock, github = processor_parts
    calls: list[str] = []
    processor = InboxProcessor(store, clock, flaky_router(100, calls), github)
    await put(store, clock, "d2")
    for _ in range(inbox.MAX_TRIES):
        await processor.drain()
        clock.advance(inbox.BACKOFF_CAP)
    assert (await status_of(store, "d2"))["status"] == "dead"
    assert len(calls) == inbox.MAX_TRIES
    await processor.drain()
    assert len(calls) == inbox.MAX_TRIES


async def test_other_deliveries_still_flow_when_one_fails(processor_parts: tuple[Any, ...]) -> None:
    store, clock, github = processor_parts
    calls: list[str] = []
    processor = InboxProcessor(store, clock, flaky_router(1, calls), github)
    await put(store, clock, "first")
    await put(store, clock, "second")
    assert await processor.drain() == {"failed": 1, "done": 1}


async def test_a_claim_abandoned_by_a_crashed_processor_is_taken_again(
    processor_parts: tuple[Any, ...],
) -> None:
    store, clock, github = processor_parts
    await put(store, clock, "d3")
    claimed = await inbox.claim_due(store, clock)  # a processor claims it, then dies
    assert [d.id for d in claimed.deliveries] == ["d3"]
    assert (await inbox.claim_due(store, clock)).deliveries == []
    clock.advance(inbox.CLAIM_TIMEOUT + timedelta(seconds=1))
    calls: list[str] = []
    processor = InboxProcessor(store, clock, flaky_router(0, calls), github)
    assert await processor.drain() == {"done": 1}
    assert calls == ["d3"]


def test_backoff_doubles_and_is_capped() -> None:
    assert inbox.backoff(1) == inbox.BACKOFF_BASE
    assert inbox.backoff(2) == inbox.BACKOFF_BASE * 2
    assert inbox.backoff(30) == inbox.BACKOFF_CAP
