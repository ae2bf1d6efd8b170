"""One libSQL connection owned by one thread; async callers queue their work onto it.

SQLite allows one writer at a time. Giving the connection to a single thread and running every
transaction there turns concurrent callers into a queue instead of SQLITE_BUSY errors.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import libsql

from app.store.migrations import MIGRATIONS, apply_migrations

T = TypeVar("T")
Row = dict[str, Any]
Params = Sequence[Any]

# A libSQL server is reached over HTTP: Turso as `libsql://` (the client uses https), a
# self-hosted sqld as `http://` or `https://`. Hrana over WebSocket URLs name the same server.
REMOTE_SCHEMES = ("libsql://", "https://", "http://", "wss://", "ws://")


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

    def __init__(
        self,
        connection: Any,
        executor: concurrent.futures.ThreadPoolExecutor,
        file: Path | None = None,
        *,
        remote: bool = False,
    ) -> None:
        self._connection = connection
        self._executor = executor
        self._closed = False
        self._remote = remote
        # A deleted or replaced file keeps taking writes through the open descriptor, and they
        # vanish on restart; remembering which file was opened lets check_file() notice.
        self._file = file
        self._file_identity = _identity(file) if file is not None else None

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
        # BEGIN fails on a read-only database, COMMIT on a full disk: both are store errors.
        self._control("BEGIN IMMEDIATE")
        try:
            result = work(Tx(connection))
        except BaseException:
            self._rollback()
            raise
        try:
            self._control("COMMIT")
        except StoreError:
            self._rollback()
            raise
        return result

    def _control(self, statement: str) -> None:
        """Begin or commit a transaction; raise StoreError when it does not happen."""
        connection = self._connection
        if not self._remote:
            _control(connection, statement)
            return
        # Over the network `execute` costs two round trips (describe, then run) and
        # `executescript` one; executescript swallows errors, so the transaction state
        # (which the client learns in the same round trip) tells whether it worked.
        connection.executescript(statement)
        if connection.in_transaction == (statement != "COMMIT"):
            return
        if statement != "COMMIT":
            # The reason was swallowed: beginning again the slow way works or names it.
            _control(connection, statement)
            return
        # The client closes the stream after a COMMIT, so the server has rolled it back.
        raise StoreError("COMMIT failed on the remote store; the transaction was rolled back")

    def _rollback(self) -> None:
        connection = self._connection
        if self._remote:
            # One round trip; an error means there was nothing left to roll back.
            connection.executescript("ROLLBACK")
            return
        with contextlib.suppress(ValueError):
            connection.execute("ROLLBACK")

    def check_file(self) -> None:
        """Raise StoreError when the database file was deleted or replaced since it was opened."""
        if self._file is None:
            return
        if _identity(self._file) != self._file_identity:
            raise StoreError(f"the database file {self._file} was deleted or replaced")

    async def check(self) -> None:
        """Raise StoreError unless the file is the one opened and a transaction can start."""
        self.check_file()
        await self.run(lambda tx: tx.scalar("SELECT 1"))

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


def _control(connection: Any, statement: str) -> None:
    try:
        connection.execute(statement)
    except ValueError as error:
        raise StoreError(f"{error} (in: {statement})") from error


def _identity(file: Path) -> tuple[int, int] | None:
    """Return the file's (device, inode), or None when it does not exist."""
    try:
        status = file.stat()
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def _client_url(url: str) -> str:
    """Return the URL the libsql client understands (it speaks Hrana over HTTP only)."""
    for websocket, http in (("wss://", "https://"), ("ws://", "http://")):
        if url.startswith(websocket):
            return http + url.removeprefix(websocket)
    return url


def _connect(url: str, auth_token: str | None) -> Any:
    if url.startswith(REMOTE_SCHEMES):
        # Turso or sqld: statements go over the network; the server serialises writers. The
        # PRAGMAs below are per connection and Hrana gives each transaction its own stream.
        return libsql.connect(_client_url(url), auth_token=auth_token or "", isolation_level=None)
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
    """Open the database at `url` (a path, `file:` path, or libSQL server URL) and migrate it."""
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
    try:
        connection = executor.submit(_connect, url, auth_token).result()
    except Exception as error:
        executor.shutdown(wait=False)
        raise StoreError(f"cannot open the store at {url}: {error}") from error
    store = Store(connection, executor, _local_file(url), remote=url.startswith(REMOTE_SCHEMES))
    if migrate:
        executor.submit(apply_migrations, connection, MIGRATIONS).result()
    return store


def _local_file(url: str) -> Path | None:
    """Return the database file behind `url`, or None for a remote or in-memory store."""
    path = url.removeprefix("file:")
    if url.startswith(REMOTE_SCHEMES) or path == ":memory:":
        return None
    return Path(os.path.abspath(Path(path).expanduser()))
