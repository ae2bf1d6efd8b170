"""Store throughput on a libSQL file: inserts and task transitions per second.

Compares one caller issuing statements one after another with 8 concurrent async callers
sharing the store's single writer connection. Prints figures and exits 0 (not a test).
Run: .venv/bin/python bench/store_bench.py [--ops N]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from app.clock import SystemClock
from app.store import Store, Tx, open_store
from app.store.tasks import create_task_tx, transition
from app.taskstate import TaskState

CLOCK = SystemClock()


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
    asyncio.run(main(parser.parse_args().ops))
