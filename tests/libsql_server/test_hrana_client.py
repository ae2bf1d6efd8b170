"""Our Hrana client (app/store/hrana.py) against the stand-in: round trips, errors, auth, GIL."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.clock import ManualClock
from app.serving import ServerThread
from app.standins.libsql_server import LibsqlServer
from app.standins.libsql_server.process import LibsqlServerProcess
from app.store import Store, StoreError, Tx, open_store
from app.store.db import RemoteClient
from app.store.group_commit import GroupCommitter
from app.store.hrana import HranaClient, HranaError, http_url, run_batch
from app.webhooks.inbox import commit_deliveries, store_delivery

LEASE = "INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, 'a', '', '')"


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LibsqlServerProcess]:
    with LibsqlServerProcess(tmp_path_factory.mktemp("hrana") / "main.db") as server:
        open_store(server.database_url("migrated")).close_sync()
        yield server


@pytest.fixture
def store(remote: LibsqlServerProcess) -> Iterator[Store]:
    opened = open_store(remote.copy_database("migrated", uuid.uuid4().hex))
    yield opened
    opened.close_sync()


def trips(remote: LibsqlServerProcess, action: Callable[[], object]) -> int:
    """Round trips the server counted while `action()` ran."""
    before = remote.round_trips()
    action()
    return remote.round_trips() - before


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("libsql://db-org.turso.io", "https://db-org.turso.io"),
        ("https://db.example/", "https://db.example"),
        ("http://127.0.0.1:8080/db/x", "http://127.0.0.1:8080/db/x"),
        ("wss://db.example", "https://db.example"),
        ("ws://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_server_urls_become_http_urls(url: str, expected: str) -> None:
    assert http_url(url) == expected


def test_a_url_of_another_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="not a libSQL server URL"):
        http_url("postgres://db")


@pytest.mark.parametrize("statements", [1, 2, 3, 10])
def test_an_interactive_transaction_costs_one_round_trip_per_statement_plus_one(
    remote: LibsqlServerProcess, store: Store, statements: int
) -> None:
    def work(tx: Tx) -> int:
        for n in range(statements - 1):
            tx.execute(LEASE, (f"lease-{n}",))
        return int(tx.scalar("SELECT COUNT(*) FROM leases"))

    # BEGIN rides with the first statement; COMMIT and the stream's close go together last.
    assert trips(remote, lambda: store.run_sync(work)) == statements + 1
    assert store.run_sync(lambda tx: tx.scalar("SELECT COUNT(*) FROM leases")) == statements - 1


def test_a_transaction_that_runs_nothing_costs_nothing(
    remote: LibsqlServerProcess, store: Store
) -> None:
    assert trips(remote, lambda: store.run_sync(lambda tx: None)) == 0


def test_a_single_statement_is_one_round_trip(remote: LibsqlServerProcess, store: Store) -> None:
    assert trips(remote, lambda: asyncio.run(store.execute(LEASE, ("x",)))) == 1
    assert trips(remote, lambda: asyncio.run(store.fetchall("SELECT * FROM leases"))) == 1
    assert trips(remote, lambda: asyncio.run(store.check())) == 1
    assert trips(remote, store.schema_version) == 1


def test_statements_known_up_front_cost_one_round_trip(
    remote: LibsqlServerProcess, store: Store
) -> None:
    writes = [(LEASE, (f"lease-{n}",)) for n in range(16)]
    assert trips(remote, lambda: asyncio.run(store.execute_all(writes))) == 1


def test_opening_a_migrated_database_costs_one_round_trip(remote: LibsqlServerProcess) -> None:
    url = remote.copy_database("migrated", "reopened")
    assert trips(remote, lambda: open_store(url).close_sync()) == 1


def test_a_failed_transaction_rolls_back_in_one_more_round_trip(
    remote: LibsqlServerProcess, store: Store
) -> None:
    def fail_second(tx: Tx) -> None:
        tx.execute(LEASE, ("kept-only-if-committed",))
        tx.execute("INSERT INTO nowhere VALUES (1)")

    def run() -> None:
        with pytest.raises(StoreError, match="no such table: nowhere"):
            store.run_sync(fail_second)

    assert trips(remote, run) == 3
    assert store.run_sync(lambda tx: tx.fetchall("SELECT name FROM leases")) == []


def test_a_batch_is_one_round_trip_and_all_or_nothing(remote: LibsqlServerProcess) -> None:
    client = HranaClient(remote.copy_database("migrated", "batch"))
    setup = ("PRAGMA foreign_keys=ON",)
    try:
        good = [(LEASE, ("a",)), (LEASE, ("b",)), ("SELECT COUNT(*) AS n FROM leases", ())]
        results = []
        assert trips(remote, lambda: results.extend(run_batch(client, setup, "BEGIN", good))) == 1
        assert [r.affected_row_count for r in results[:2]] == [1, 1]
        assert results[2].rows == [(2,)]
        bad = [(LEASE, ("c",)), (LEASE, ("a",))]  # the second breaks the primary key
        with pytest.raises(HranaError, match="UNIQUE constraint failed") as failure:
            run_batch(client, setup, "BEGIN", bad)
        assert failure.value.code == "SQLITE_CONSTRAINT"
        [count] = run_batch(client, setup, "BEGIN", [("SELECT COUNT(*) FROM leases", ())])
        assert count.rows == [(2,)]
    finally:
        client.close()


@pytest.fixture
def short_lived_streams(tmp_path: Path) -> Iterator[tuple[LibsqlServer, str]]:
    """A stand-in in a thread (our client lets go of the GIL) that expires streams quickly."""
    server = LibsqlServer(tmp_path / "main.db", stream_ttl=0.2)
    with ServerThread(server.create_app()) as thread:
        yield server, thread.url


def test_an_expired_baton_fails_the_transaction_and_the_next_one_starts_afresh(
    short_lived_streams: tuple[LibsqlServer, str],
) -> None:
    _, url = short_lived_streams
    store = open_store(url)

    def idle_in_the_middle(tx: Tx) -> None:
        tx.execute(LEASE, ("lost",))
        time.sleep(0.8)  # the server forgets the stream (and rolls it back) meanwhile
        tx.execute(LEASE, ("never",))

    try:
        with pytest.raises(StoreError, match=r"expired due to inactivity.*STREAM_EXPIRED"):
            store.run_sync(idle_in_the_middle)
        assert store.run_sync(lambda tx: tx.fetchall("SELECT name FROM leases")) == []
        assert asyncio.run(store.execute(LEASE, ("next",))) == 1
    finally:
        store.close_sync()


def test_an_invalid_baton_is_an_http_error_with_the_server_s_words(
    short_lived_streams: tuple[LibsqlServer, str],
) -> None:
    _, url = short_lived_streams
    client = HranaClient(url)
    try:
        with pytest.raises(HranaError, match="HTTP 400: Received an invalid baton"):
            client.pipeline(client.url, "forged", [{"type": "close"}])
    finally:
        client.close()


def test_an_unreachable_server_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(
        StoreError, match=re.escape("cannot reach the libSQL server at http://127.0.0.1:9")
    ):
        open_store("http://127.0.0.1:9")


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LibsqlServerProcess]:
    path = tmp_path_factory.mktemp("guarded") / "main.db"
    with LibsqlServerProcess(path, auth_token="sekrit") as server:
        yield server


@pytest.mark.parametrize("remote_client", ["hrana", "libsql"])
def test_a_server_with_a_token_serves_only_requests_that_carry_it(
    guarded: LibsqlServerProcess, remote_client: RemoteClient
) -> None:
    url = guarded.database_url(f"auth-{remote_client}")
    for token, works in (("sekrit", True), (None, False), ("wrong", False)):
        store = open_store(url, token, migrate=False, remote_client=remote_client)
        try:
            if works:
                assert store.run_sync(lambda tx: tx.scalar("SELECT 1")) == 1
            else:
                with pytest.raises((StoreError, ValueError), match=r"401|Unauthorized"):
                    store.run_sync(lambda tx: tx.scalar("SELECT 1"))
        finally:
            store.close_sync()


async def ticker_gaps(store: Store, work: Callable[[Tx], object]) -> tuple[float, int]:
    """Run `work` on the store while a 5 ms ticker runs; return the longest gap and tick count."""
    stamps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            stamps.append(time.perf_counter())
            await asyncio.sleep(0.005)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.02)
    await store.run(work)
    done.set()
    await ticker
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    return max(gaps), len(stamps)


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LibsqlServerProcess]:
    path = tmp_path_factory.mktemp("slow") / "main.db"
    with LibsqlServerProcess(path, latency_ms=50) as server:
        yield server


@pytest.mark.parametrize(("remote_client", "frozen"), [("hrana", False), ("libsql", True)])
def test_the_event_loop_keeps_running_while_the_store_waits_on_the_network(
    slow: LibsqlServerProcess, remote_client: RemoteClient, frozen: bool
) -> None:
    url = slow.database_url(f"loop-{remote_client}")
    store = open_store(url, migrate=False, remote_client=remote_client)

    def three_statements(tx: Tx) -> None:
        tx.execute("CREATE TABLE t (v)")
        tx.execute("INSERT INTO t (v) VALUES (1)")
        tx.execute("DROP TABLE t")

    try:
        longest, ticks = asyncio.run(ticker_gaps(store, three_statements))
    finally:
        store.close_sync()
    if frozen:
        # The `libsql` client keeps the GIL for each 50 ms round trip: the loop stands still.
        assert longest >= 0.045
    else:
        # At least 4 round trips of 50 ms: the ticker ran all along, never stalled for one.
        assert longest < 0.045
        assert ticks >= 20


async def test_a_group_of_deliveries_costs_a_remote_store_one_round_trip(
    remote: LibsqlServerProcess, store: Store
) -> None:
    committer = GroupCommitter(commit_deliveries(store))
    clock = ManualClock()
    ids = [f"group-{n}" for n in range(12)] + ["group-3"]  # the repeat: a duplicate
    before = remote.round_trips()
    first = asyncio.create_task(store_delivery(committer, clock, "lone", "ping", "{}"))
    await asyncio.sleep(0)  # the lone write's batch leaves; the rest queue behind it
    rest = [store_delivery(committer, clock, delivery, "issues", "{}") for delivery in ids]
    results = await asyncio.gather(first, *rest)
    # Was one INSERT per round trip, plus BEGIN's and COMMIT's: 15 for the 12 behind the lone.
    assert remote.round_trips() - before == 2
    assert results == [True] * 13 + [False]
    count = await store.fetchone("SELECT COUNT(*) AS n FROM deliveries")
    assert count == {"n": 13}
