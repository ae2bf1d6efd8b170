"""Store throughput on a libSQL file and on a libSQL server (Turso's protocol) at 0 and 20 ms.

Part 1, the file: inserts and task transitions per second, one caller issuing statements one
after another against 8 concurrent async callers sharing the store's single writer connection.
Part 2, each backend (the file; the libSQL server stand-in reached over HTTP with 0 and with
20 ms added to every round trip, Turso seen from a Modal region, by each remote client: our
Hrana client, which the store uses, and the `libsql` package it used before, for comparison):
- webhook acknowledgements per second: `townhall serve --no-process` on that store, signed
  issue deliveries from 16 connections (each acknowledgement stores the delivery first);
- a tick's store work: not a whole tick (that needs GitHub and the model) but its transaction
  mix on 5 deliveries and 2 tasks: take the CEO lease, claim the due deliveries and finish each,
  create 2 tasks and move each through planned and queued, read the schedule, release the
  lease; its time, the round trips the server counted, and the longest the event loop stood
  still meanwhile (a 1 ms ticker's longest gap: the `libsql` package holds the GIL while it
  waits on the network).
Prints figures and exits 0 (not a test).
Run: .venv/bin/python bench/store_bench.py [--ops N] [--deliveries N] [--ticks N]
     [--remote-client hrana|libsql|both]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.clock import SystemClock
from app.serving import free_port
from app.standins.libsql_server.process import LibsqlServerProcess
from app.store import Store, Tx, open_store
from app.store.db import RemoteClient
from app.store.inbox import claim_due_tx, finish_delivery, store_delivery_tx
from app.store.leases import acquire, release
from app.store.tasks import create_task_tx, tasks_to_schedule, transition
from app.taskstate import TaskState

# The payload builders live with the webhook tests; the benchmark sends the same shapes.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.webhooks.payloads import issues_event, signed

SECRET = "bench-secret"

CLOCK = SystemClock()
LEASE = timedelta(minutes=5)
ROUND_TRIP_MS = (0.0, 20.0)
PAYLOAD = {"action": "opened", "installation": {"id": 1}}


def seed_repo(tx: Tx) -> None:
    tx.execute("INSERT INTO installations (id, account_login, created_at) VALUES (1, 'o', '')")
    tx.execute(
        "INSERT INTO repos (id, installation_id, full_name, created_at, updated_at)"
        " VALUES (1, 1, 'o/r', '', '')"
    )


async def insert_event(store: Store, n: int) -> None:
    await store.execute(
        "INSERT INTO events (actor, kind, reason, created_at) VALUES ('bench', 'insert', ?, '')",
        (str(n),),
    )


async def create_and_transition(store: Store, n: int) -> None:
    task = await store.run(
        lambda tx: create_task_tx(
            tx,
            CLOCK,
            repo_id=1,
            issue_number=n,
            max_attempts=3,
            priority=0,
            actor="bench",
            reason="",
        )
    )
    await transition(store, CLOCK, task.id, TaskState.PLANNED, actor="bench", reason="")


async def measure(
    store: Store,
    operation: Callable[[Store, int], Awaitable[None]],
    ops: int,
    callers: int,
    offset: int,
) -> float:
    """Run `ops` operations split across `callers` concurrent tasks; return ops per second."""

    async def caller(index: int) -> None:
        for n in range(index, ops, callers):
            await operation(store, offset + n)

    started = time.perf_counter()
    await asyncio.gather(*(caller(i) for i in range(callers)))
    return ops / (time.perf_counter() - started)


async def tick_mix(store: Store, tick: int) -> None:
    """One tick's store transactions on 5 new deliveries and 2 new tasks."""
    for n in range(5):
        await store_delivery(store, f"tick-{tick}-{n}")
    assert await acquire(store, CLOCK, "ceo", f"tick-{tick}", LEASE)
    for claimed in await store.run(lambda tx: claim_due_tx(tx, CLOCK, 50, LEASE)):
        await finish_delivery(store, CLOCK, claimed.id, "done")
    for n in range(2):
        # Ends in planned; the scheduler queues it below.
        await create_and_transition(store, 100_000 + tick * 10 + n)
    for task in await tasks_to_schedule(store, 1):
        await transition(store, CLOCK, task.id, TaskState.QUEUED, actor="bench", reason="")
    await release(store, "ceo", f"tick-{tick}")


async def store_delivery(store: Store, delivery_id: str) -> None:
    """Record a delivery as the webhook endpoint does before acknowledging it."""
    await store.run(lambda tx: store_delivery_tx(tx, CLOCK, delivery_id, "issues", PAYLOAD, "{}"))


def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def prepare(count: int) -> list[bytes]:
    """Build signed HTTP/1.1 requests up front, so the timed loop measures the server."""
    requests = []
    for n in range(count):
        payload = issues_event("opened", number=n + 1, body=f"Issue body {n} " * 20)
        body, headers = signed(payload, SECRET, "issues", str(uuid.uuid4()))
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        requests.append(
            f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            f"{head}\r\n".encode()
            + body
        )
    return requests


async def send_all(port: int, requests: list[bytes], concurrency: int) -> tuple[list[float], int]:
    """Send every request over `concurrency` keep-alive connections; return latencies, failures.

    A raw HTTP/1.1 client: an HTTP library's own overhead would be measured instead of the
    server's on this 2-core machine.
    """
    latencies: list[float] = []
    failures = 0
    queue = iter(requests)

    async def connection() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for request in queue:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            failures += int(head.split(b" ", 2)[1]) != 202
        writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies, failures


# `townhall serve` with the store reaching its server through the `libsql` package: the wiring
# opens the store, so the comparison swaps the client in there (this benchmark only).
SERVE_WITH_LIBSQL = """
import functools, sys
import app.wiring
app.wiring.open_store = functools.partial(app.wiring.open_store, remote_client="libsql")
from app.cli import main
sys.exit(main(sys.argv[1:]))
"""


def serve_townhall(db_url: str, port: int, client: RemoteClient) -> subprocess.Popen[bytes]:
    """Start `townhall serve --no-process` on the store at `db_url`."""
    env = {
        **os.environ,
        "TOWNHALL_GITHUB_APP_ID": "1",
        "TOWNHALL_GITHUB_PRIVATE_KEY": private_key(),
        "TOWNHALL_WEBHOOK_SECRET": SECRET,
        "TOWNHALL_DB_URL": db_url,
        "TOWNHALL_GITHUB_API_URL": "http://127.0.0.1:9",
        "TOWNHALL_LOG_LEVEL": "WARNING",
    }
    townhall = [str(Path(sys.executable).parent / "townhall")]
    if client == "libsql":
        townhall = [sys.executable, "-c", SERVE_WITH_LIBSQL]
    arguments = ["serve", "--port", str(port), "--no-process"]
    process = subprocess.Popen([*townhall, *arguments], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz")
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("townhall serve did not start")


def acknowledgements(
    db_url: str,
    deliveries: int,
    round_trips: Callable[[], int] = lambda: 0,
    client: RemoteClient = "hrana",
) -> tuple[float, float]:
    """Send signed deliveries to `townhall serve` on the store; return acks/s and trips/ack."""
    port = free_port()
    server = serve_townhall(db_url, port, client)
    try:
        warm_up, timed = prepare(20), prepare(deliveries)
        asyncio.run(send_all(port, warm_up, 16))
        before = round_trips()
        started = time.perf_counter()
        latencies, failures = asyncio.run(send_all(port, timed, 16))
        elapsed = time.perf_counter() - started
        trips = (round_trips() - before) / deliveries
    finally:
        server.terminate()
        server.wait(10)
    if failures:
        print(f"  ({failures} deliveries were not acknowledged with 202)")
    return len(latencies) / elapsed, trips


@dataclass(frozen=True)
class TickFigures:
    """The tick mix's mean time, round trips per tick, and the event loop's longest stall."""

    seconds: float
    trips: float
    stall: float


async def with_ticker(work: Awaitable[None]) -> float:
    """Await `work` while a 1 ms ticker runs; return the longest gap between its ticks.

    The gap is how long the event loop stood still: other requests (webhooks, the dashboard)
    would have waited that long too.
    """
    stamps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            stamps.append(time.perf_counter())
            await asyncio.sleep(0.001)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    await work
    done.set()
    await ticker
    return max((b - a for a, b in itertools.pairwise(stamps)), default=0.0)


def tick_figures(
    db_url: str, ticks: int, server: LibsqlServerProcess | None, client: RemoteClient = "hrana"
) -> TickFigures:
    """Run the tick mix `ticks` times; return its figures."""
    store = open_store(db_url, remote_client=client)
    store.run_sync(seed_repo)
    before = server.round_trips() if server else 0
    started = time.perf_counter()
    stall = 0.0
    for tick in range(ticks):
        stall = max(stall, asyncio.run(with_ticker(tick_mix(store, tick))))
    seconds = (time.perf_counter() - started) / ticks
    trips = (server.round_trips() - before) / ticks if server else 0.0
    store.close_sync()
    return TickFigures(seconds, trips, stall)


def compare_backends(deliveries: int, ticks: int, clients: tuple[RemoteClient, ...]) -> None:
    """Print acknowledgements per second and the tick mix on the file and the remote store."""
    print(
        f"\nbackends: webhook intake ({deliveries} deliveries, 16 connections) and a tick's "
        f"store work (mean of {ticks} runs of the mix)"
    )
    print(
        f"{'store':<40}{'acks/s':>10}{'trips/ack':>11}{'tick mix':>12}{'trips/tick':>12}"
        f"{'loop stall':>12}"
    )
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        acks, _ = acknowledgements(str(base / "acks.db"), deliveries)
        tick = tick_figures(str(base / "tick.db"), ticks, None)
        print(
            f"{'libSQL file':<40}{acks:>10.0f}{'-':>11}{tick.seconds * 1000:>10.0f}ms{'-':>12}"
            f"{tick.stall * 1000:>10.0f}ms"
        )
        for latency in ROUND_TRIP_MS:
            for client in clients:
                # Its own folder: the server keeps `/db/{name}` next to its main file.
                folder = base / f"{latency:g}ms-{client}"
                folder.mkdir()
                with LibsqlServerProcess(folder / "main.db", latency_ms=latency) as server:
                    acks_url = server.database_url("acks")
                    acks, per_ack = acknowledgements(
                        acks_url, deliveries, server.round_trips, client
                    )
                    tick_url = server.database_url("tick")
                    tick = tick_figures(tick_url, ticks, server, client)
                label = f"libSQL server, {latency:g} ms/trip, {client}"
                print(
                    f"{label:<40}{acks:>10.0f}{per_ack:>11.1f}{tick.seconds * 1000:>10.0f}ms"
                    f"{tick.trips:>12.1f}{tick.stall * 1000:>10.0f}ms"
                )


async def main(ops: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = open_store(str(Path(directory) / "bench.db"))
        store.run_sync(seed_repo)
        print(f"store benchmark: libSQL file, {ops} operations per figure")
        print(f"{'operation':<34}{'1 caller':>12}{'8 callers':>12}{'ratio':>8}")
        offset = 0
        for name, operation in (
            ("insert (1 statement)", insert_event),
            ("create task + transition (2 tx)", create_and_transition),
        ):
            single = await measure(store, operation, ops, 1, offset)
            offset += ops
            concurrent = await measure(store, operation, ops, 8, offset)
            offset += ops
            print(f"{name:<34}{single:>10.0f}/s{concurrent:>10.0f}/s{concurrent / single:>8.2f}")
        events = store.run_sync(lambda tx: tx.scalar("SELECT COUNT(*) FROM events"))
        tasks = store.run_sync(lambda tx: tx.scalar("SELECT COUNT(*) FROM tasks"))
        print(
            f"rows written: {events} events, {tasks} tasks (expected {2 * ops + 4 * ops}, "
            f"{2 * ops})"
        )
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--deliveries", type=int, default=300)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument(
        "--remote-client",
        choices=("hrana", "libsql", "both"),
        default="both",
        help="the client reaching the libSQL server: ours (the store's), the libsql package, both",
    )
    arguments = parser.parse_args()
    chosen = arguments.remote_client
    remote_clients: tuple[RemoteClient, ...] = (
        ("libsql", "hrana") if chosen == "both" else (chosen,)
    )
    asyncio.run(main(arguments.ops))
    compare_backends(arguments.deliveries, arguments.ticks, remote_clients)
