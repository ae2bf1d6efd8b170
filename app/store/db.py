"""One libSQL connection owned by one thread; async callers queue their work onto it.

SQLite allows one writer at a time. Giving the connection to a single thread and running every
transaction there turns concurrent callers into a queue instead of SQLITE_BUSY errors.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import libsql

from app.store.migrations import MIGRATIONS, apply_migrations

T = TypeVar("T")
Row = dict[str, Any]
Params = Sequence[Any]

REMOTE_SCHEMES = ("libsql://", "https://", "wss://")


class StoreError(Exception):
    """A statement failed; the transaction it was part of was rolled back."""


class Tx:
    """A transaction in progress on the writer thread; run statements, read rows as dicts."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def _cursor(self, sql: str, params: Params) -> Any:
        try:
            return self._connection.execute(sql, tuple(params))
        except ValueError as error:
            # libsql reports SQL errors as ValueError; name them as store errors.
            raise StoreError(f"{error} (in: {sql.split()[0]} ...)") from error

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        cursor = self._cursor(sql, params)
        return int(cursor.rowcount)

    def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT; return the new row's id."""
        cursor = self._cursor(sql, params)
        return int(cursor.lastrowid)

    def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Run a query; return every row as a dict keyed by column name."""
        cursor = self._cursor(sql, params)
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """Run a query; return its first row, or None."""
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Params = ()) -> Any:
        """Run a query; return the first column of its first row, or None."""
        row = self.fetchone(sql, params)
        return None if row is None else next(iter(row.values()))


class Store:
    """Async access to one libSQL database (an embedded file, or Turso over the network)."""

    def __init__(self, connection: Any, executor: concurrent.futures.ThreadPoolExecutor) -> None:
        self._connection = connection
        self._executor = executor
        self._closed = False

    async def run(self, work: Callable[[Tx], T]) -> T:
        """Run `work` in one transaction on the writer thread; commit, or roll back on error."""
        if self._closed:
            raise StoreError("the store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transaction, work)

    def run_sync(self, work: Callable[[Tx], T]) -> T:
        """Run `work` in one transaction from synchronous code (CLI, benchmarks)."""
        return self._executor.submit(self._transaction, work).result()

    def _transaction(self, work: Callable[[Tx], T]) -> T:
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = work(Tx(connection))
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return result

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one query in its own transaction."""
        return await self.run(lambda tx: tx.fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """Run one query in its own transaction; return the first row or None."""
        return await self.run(lambda tx: tx.fetchone(sql, params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement in its own transaction; return the rows changed."""
        return await self.run(lambda tx: tx.execute(sql, params))

    def schema_version(self) -> int:
        """Return the highest migration applied."""
        return int(
            self.run_sync(lambda tx: tx.scalar("SELECT MAX(version) FROM schema_migrations")) or 0
        )

    async def close(self) -> None:
        """Close the connection and stop the writer thread."""
        self.close_sync()

    def close_sync(self) -> None:
        """Close from synchronous code."""
        if self._closed:
            return
        self._closed = True
        self._executor.submit(self._connection.close).result()
        self._executor.shutdown(wait=True)


def _connect(url: str, auth_token: str | None) -> Any:
    if url.startswith(REMOTE_SCHEMES):
        # Turso: statements go over the network; the server serialises writers.
        return libsql.connect(url, auth_token=auth_token or "", isolation_level=None)
    path = url.removeprefix("file:")
    if path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connection = libsql.connect(path, isolation_level=None, timeout=30.0)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def open_store(url: str, auth_token: str | None = None, *, migrate: bool = True) -> Store:
    """Open the database at `url` (a path, `file:` path, or `libsql://` URL) and migrate it."""
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
    try:
        connection = executor.submit(_connect, url, auth_token).result()
    except Exception as error:
        executor.shutdown(wait=False)
        raise StoreError(f"cannot open the store at {url}: {error}") from error
    store = Store(connection, executor)
    if migrate:
        executor.submit(apply_migrations, connection, MIGRATIONS).result()
    return store
