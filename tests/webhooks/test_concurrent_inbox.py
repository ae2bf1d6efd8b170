"""The inbox runs deliveries concurrently, bounded, and one issue's deliveries in order (issue 20).

A reply waiting out a rate limit used to hold up every other delivery behind it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from app.clock import ManualClock
from app.github.client import GitHubAccess
from app.settings import Settings
from app.store import Store
from app.store.group_commit import GroupCommitter
from app.store.inbox import delivery_lane
from app.webhooks import inbox
from app.webhooks.handler_context import HandlerContext
from app.webhooks.processor import InboxProcessor
from app.webhooks.router import Router
from tests.webhooks.payloads import issues_event


@pytest.fixture
def github(clock: ManualClock, settings: Settings) -> GitHubAccess:
    return GitHubAccess(settings.github_api_url, settings.require_github_app(), clock)


async def put(store: Store, clock: ManualClock, delivery_id: str, number: int) -> None:
    body = json.dumps(issues_event("opened", number=number))
    await inbox.store_delivery(
        GroupCommitter(inbox.commit_deliveries(store)), clock, delivery_id, "issues", body
    )
    clock.advance(timedelta(milliseconds=1))  # received in this order


async def test_a_slow_delivery_holds_up_neither_other_issues_nor_its_order(
    store: Store, clock: ManualClock, github: GitHubAccess
) -> None:
    log: list[str] = []
    other_issue_ran = asyncio.Event()
    router = Router()

    @router.register("issues", "opened")
    async def handle(context: HandlerContext, payload: dict[str, Any]) -> None:
        log.append(f"start {context.delivery_id}")
        if context.delivery_id == "slow":  # waiting out a rate limit, say
            try:
                await asyncio.wait_for(other_issue_ran.wait(), 5)
            except TimeoutError:
                log.append("slow waited for nothing")
        if payload["issue"]["number"] == 2:
            other_issue_ran.set()
        log.append(f"end {context.delivery_id}")

    await put(store, clock, "slow", number=1)
    await put(store, clock, "next", number=1)  # the same issue: must wait for "slow"
    await put(store, clock, "other", number=2)

    outcomes = await InboxProcessor(store, clock, router, github).drain()

    assert outcomes == {"done": 3}
    assert "slow waited for nothing" not in log, log
    assert log.index("end other") < log.index("end slow")
    assert log.index("end slow") < log.index("start next")


async def test_concurrency_is_bounded(
    store: Store, clock: ManualClock, github: GitHubAccess
) -> None:
    running = 0
    most = 0
    router = Router()

    @router.register("issues", "opened")
    async def handle(context: HandlerContext, payload: dict[str, Any]) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1

    for number in range(1, 13):
        await put(store, clock, f"d{number}", number=number)
    outcomes = await InboxProcessor(store, clock, router, github, concurrency=4).drain()
    assert outcomes == {"done": 12}
    assert most == 4


def test_deliveries_are_laned_by_repository_and_issue() -> None:
    opened = issues_event("opened", number=5)
    repo_id = opened["repository"]["id"]
    assert delivery_lane(opened) == f"repo:{repo_id}#5"
    pull = {"pull_request": {"number": 5}, "repository": {"id": repo_id}}
    assert delivery_lane(pull) == f"repo:{repo_id}#5"  # issues and PRs share numbers
    assert delivery_lane({"repository": {"id": repo_id}, "ref": "main"}) == f"repo:{repo_id}"
    assert delivery_lane({"installation": {"id": 9}}) == "installation:9"
    assert delivery_lane({"zen": "hi"}) is None
