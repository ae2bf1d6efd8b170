"""Group commit: deliveries arriving together share a transaction, each answered once durable.

Over real HTTP (uvicorn on loopback, concurrent httpx clients) and on the committer itself with
a real libSQL file. "Durable" is checked from a second connection to the same file, which sees
only committed rows: every 202 must name a row that connection can already read.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.clock import ManualClock
from app.github.client import GitHubAccess
from app.serving import ServerThread
from app.settings import Settings
from app.store import Store, StoreError, Tx, open_store
from app.store.group_commit import GroupCommitter, in_transaction
from app.store.inbox import store_unread_delivery_tx
from app.webhooks import inbox
from app.webhooks.handler_context import HandlerContext
from app.webhooks.processor import INTAKE_YIELD_S, InboxProcessor
from app.webhooks.router import Router
from app.wiring import Runtime
from tests.webhooks.conftest import SECRET
from tests.webhooks.payloads import issues_event, signed
from tests.webhooks.test_web import deliveries

CONCURRENT = 48


@pytest.fixture
def reader(settings: Settings) -> Iterator[Store]:
    """A second connection to the server's database file: it sees committed rows only."""
    opened = open_store(settings.db_url, migrate=False)
    yield opened
    opened.close_sync()


def committed(reader: Store, delivery_id: str) -> bool:
    row = reader.run_sync(
        lambda tx: tx.scalar("SELECT COUNT(*) FROM deliveries WHERE id = ?", (delivery_id,))
    )
    return bool(row)


async def post_all(
    server: ServerThread,
    requests: list[tuple[bytes, dict[str, str]]],
    on_answer: Callable[[str, httpx.Response], None],
) -> list[httpx.Response]:
    """Send every request at once, each on its own connection; call on_answer as each returns."""
    limits = httpx.Limits(max_connections=len(requests))
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:

        async def one(body: bytes, headers: dict[str, str]) -> httpx.Response:
            response = await client.post("/webhook", content=body, headers=headers)
            on_answer(headers["X-GitHub-Delivery"], response)  # before any other await
            return response

        return await asyncio.gather(*(one(body, headers) for body, headers in requests))


def test_concurrent_deliveries_are_each_answered_after_their_commit(
    served: ServerThread, runtime: Runtime, reader: Store
) -> None:
    requests = [
        signed(issues_event("opened", number=n), SECRET, "issues", f"burst-{n}")
        for n in range(CONCURRENT)
    ]
    not_yet_durable: list[str] = []

    def check(delivery_id: str, response: httpx.Response) -> None:
        if response.status_code == 202 and not committed(reader, delivery_id):
            not_yet_durable.append(delivery_id)

    answers = asyncio.run(post_all(served, requests, check))
    assert [a.status_code for a in answers] == [202] * CONCURRENT
    assert {a.json()["status"] for a in answers} == {"accepted"}
    assert not_yet_durable == []
    stored = {row["id"] for row in deliveries(runtime)}
    assert stored == {f"burst-{n}" for n in range(CONCURRENT)}


def test_duplicates_within_one_burst_are_stored_once(
    served: ServerThread, runtime: Runtime
) -> None:
    same = signed(issues_event("opened", number=7), SECRET, "issues", "twice")
    others = [
        signed(issues_event("opened", number=n), SECRET, "issues", f"other-{n}") for n in range(20)
    ]
    answers = asyncio.run(post_all(served, [same, *others, same, same], lambda *_: None))
    assert [a.status_code for a in answers] == [202] * 23
    statuses = [a.json()["status"] for a in answers if a.json()["delivery"] == "twice"]
    assert sorted(statuses) == ["accepted", "duplicate", "duplicate"]
    ids = [row["id"] for row in deliveries(runtime)]
    assert ids.count("twice") == 1 and len(ids) == 21


def test_bad_signatures_in_a_burst_are_refused_without_touching_the_store(
    served: ServerThread, runtime: Runtime, reader: Store
) -> None:
    # A store that takes no writes: a delivery that reached it would answer 503, not 401.
    runtime.store.run_sync(lambda tx: tx.execute("PRAGMA query_only = ON"))
    forged = [
        signed(issues_event("opened", number=n), "not-the-secret", "issues", f"forged-{n}")
        for n in range(16)
    ]
    good = signed(issues_event("opened"), SECRET, "issues", "good-1")
    answers = asyncio.run(post_all(served, [*forged, good], lambda *_: None))
    assert [a.status_code for a in answers] == [401] * 16 + [503]
    assert reader.run_sync(lambda tx: tx.fetchall("SELECT id FROM deliveries")) == []


kept: list[Tx] = []


def insert(delivery_id: str, clock: ManualClock, seen: list[int]) -> Callable[[Tx], bool]:
    def work(tx: Tx) -> bool:
        # One Tx object per transaction; kept alive in `kept` so no two share an id().
        kept.append(tx)
        seen.append(id(tx))
        return store_unread_delivery_tx(tx, clock, delivery_id, "issues", "{}")

    return work


async def test_writes_queued_together_share_one_transaction(
    store: Store, clock: ManualClock
) -> None:
    committer = GroupCommitter(in_transaction(store))
    seen: list[int] = []
    first = asyncio.create_task(committer.write(insert("lone", clock, seen)))
    await asyncio.sleep(0)  # the first write's batch is on its way to the writer thread
    rest = [committer.write(insert(f"d{n}", clock, seen)) for n in range(10)]
    results = await asyncio.gather(first, *rest, committer.write(insert("d3", clock, seen)))
    assert results == [True] * 11 + [False]  # the repeated id, in the same batch: a duplicate
    # Everything queued behind the lone write shares one transaction (the lone write has its
    # own, unless a loaded machine let the rest catch up with it before its batch left).
    assert len(seen) == 12 and len(set(seen[1:])) == 1
    assert committer.under_pressure()
    count = await store.fetchone("SELECT COUNT(*) AS n FROM deliveries")
    assert count == {"n": 11}


async def test_a_failing_write_fails_alone_and_the_rest_commit(
    store: Store, clock: ManualClock
) -> None:
    committer = GroupCommitter(in_transaction(store))
    seen: list[int] = []

    def broken(tx: Tx) -> bool:
        tx.execute("INSERT INTO deliveries (id) VALUES ('no-columns')")  # NOT NULL violated
        return True

    results = await asyncio.gather(
        committer.write(insert("a", clock, seen)),
        committer.write(broken),
        committer.write(insert("b", clock, seen)),
        return_exceptions=True,
    )
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], StoreError)
    ids = await store.fetchall("SELECT id FROM deliveries ORDER BY id")
    assert ids == [{"id": "a"}, {"id": "b"}]


async def test_a_failed_commit_fails_every_write_in_it(
    store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    pages = store.run_sync(lambda tx: tx.scalar("PRAGMA page_count"))
    store.run_sync(lambda tx: tx.fetchall(f"PRAGMA max_page_count = {pages}"))  # a full disk
    committer = GroupCommitter(in_transaction(store))
    body = json.dumps({"zen": "x" * 20_000})

    def big(delivery_id: str) -> Callable[[Tx], bool]:
        return lambda tx: store_unread_delivery_tx(tx, clock, delivery_id, "ping", body)

    results = await asyncio.gather(
        *(committer.write(big(f"full-{n}")) for n in range(4)), return_exceptions=True
    )
    assert all(isinstance(r, StoreError) and "full" in str(r) for r in results), results
    assert await store.fetchall("SELECT id FROM deliveries") == []


async def test_the_processor_yields_to_busy_intake_and_still_progresses(
    store: Store, clock: ManualClock, settings: Settings
) -> None:
    github = GitHubAccess(settings.github_api_url, settings.require_github_app(), clock)
    router = Router()

    @router.register("issues", "opened")
    async def handle(context: HandlerContext, payload: dict[str, Any]) -> None:
        return None

    committer = GroupCommitter(inbox.commit_deliveries(store))
    for n in range(3):  # one issue: one lane, so three claims one after another
        await inbox.store_delivery(
            committer, clock, f"d{n}", "issues", json.dumps(issues_event("opened"))
        )
    processor = InboxProcessor(store, clock, router, github)
    processor.yield_to(lambda: True)  # intake always busy
    started = time.monotonic()
    assert await processor.drain() == {"done": 3}
    assert time.monotonic() - started >= 3 * INTAKE_YIELD_S
