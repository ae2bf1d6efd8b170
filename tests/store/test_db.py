"""The store: migrations, transactions, and many concurrent writers on one libSQL file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.store import Store, StoreError, Tx, open_store
from app.store.migrations import MIGRATIONS, apply_migrations

EXPECTED_TABLES = {
    "installations",
    "repos",
    "issues",
    "votes",
    "tasks",
    "attempts",
    "llm_calls",
    "deliveries",
    "events",
    "leases",
    "schema_migrations",
}


def table_names(store: Store) -> set[str]:
    rows = store.run_sync(
        lambda tx: tx.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
    )
    return {row["name"] for row in rows}


def test_fresh_file_is_migrated_to_the_latest_version(store: Store) -> None:
    assert table_names(store) >= EXPECTED_TABLES
    assert store.schema_version() == MIGRATIONS[-1][0]


def test_migrating_again_applies_nothing_and_keeps_data(tmp_path: Path) -> None:
    path = str(tmp_path / "again.db")
    first = open_store(path)
    first.run_sync(
        lambda tx: tx.execute(
            "INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES ('x', 'a', '', '')"
        )
    )
    first.close_sync()
    second = open_store(path)
    applied = second.run_sync(lambda tx: tx.scalar("SELECT COUNT(*) FROM schema_migrations"))
    assert applied == len(MIGRATIONS)
    assert second.run_sync(lambda tx: tx.scalar("SELECT holder FROM leases")) == "a"
    second.close_sync()


def test_apply_migrations_reports_only_new_versions(tmp_path: Path) -> None:
    import libsql

    connection = libsql.connect(str(tmp_path / "raw.db"), isolation_level=None)
    versions = [version for version, _ in MIGRATIONS]
    assert apply_migrations(connection, MIGRATIONS) == versions
    assert apply_migrations(connection, MIGRATIONS) == []
    extra = (*MIGRATIONS, (versions[-1] + 1, "CREATE TABLE extra (id INTEGER PRIMARY KEY)"))
    assert apply_migrations(connection, extra) == [versions[-1] + 1]
    connection.close()


async def test_failed_transaction_changes_nothing(store: Store) -> None:
    def insert_then_fail(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES ('y', 'a', '', '')"
        )
        tx.execute("INSERT INTO no_such_table VALUES (1)")

    with pytest.raises(StoreError, match="no_such_table"):
        await store.run(insert_then_fail)
    assert await store.fetchall("SELECT * FROM leases") == []


async def test_fifty_concurrent_writers_lose_nothing(store: Store) -> None:
    async def writer(number: int) -> None:
        for step in range(10):
            await store.execute(
                "INSERT INTO events (actor, kind, reason, created_at) VALUES (?, 'test', ?, '')",
                (f"writer-{number}", str(step)),
            )

    results = await asyncio.gather(*(writer(n) for n in range(50)), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    rows = await store.fetchall("SELECT actor, reason FROM events")
    assert len(rows) == 500
    assert {(r["actor"], r["reason"]) for r in rows} == {
        (f"writer-{n}", str(s)) for n in range(50) for s in range(10)
    }


async def test_closed_store_refuses_work(tmp_path: Path) -> None:
    closed = open_store(str(tmp_path / "closed.db"))
    await closed.close()
    with pytest.raises(StoreError, match="closed"):
        await closed.fetchall("SELECT 1")


def test_unopenable_path_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises((StoreError, OSError)):
        open_store(str(blocker / "sub" / "x.db"))


async def test_statements_known_up_front_run_in_one_transaction(store: Store) -> None:
    lease = "INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, 'a', '', '')"
    again = "INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, 'b', '', '')"
    changed = await store.execute_all(
        [(lease, ("x",)), (lease, ("y",)), (again + " ON CONFLICT (name) DO NOTHING", ("x",))]
    )
    assert changed == [1, 1, 0]
    with pytest.raises(StoreError, match=r"UNIQUE constraint failed: leases\.name.*\(in: INSERT"):
        await store.execute_all([(lease, ("z",)), (again, ("x",))])
    rows = await store.fetchall("SELECT name, holder FROM leases ORDER BY name")
    assert rows == [{"name": "x", "holder": "a"}, {"name": "y", "holder": "a"}]
