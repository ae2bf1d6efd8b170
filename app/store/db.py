"""One libSQL connection owned by one thread; async callers queue their work onto it.

SQLite allows one writer at a time. Giving the connection to a single thread and running every
transaction there turns concurrent callers into a queue instead of SQLITE_BUSY errors.

An embedded file goes through the `libsql` package. A libSQL server (Turso, sqld) goes through
our own Hrana client (app/store/hrana.py): the `libsql` package holds the GIL while it waits on
the network, freezing the event loop, describes every statement before running it (two round
trips each), sends large integers as floats and leaves foreign keys unenforced. It can still
be chosen for a server (`remote_client="libsql"`) to compare the two.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import libsql

from app.store.hrana import HranaClient, HranaError, StmtResult, Transaction, run_batch
from app.store.migrations import MIGRATIONS, apply_migrations

T = TypeVar("T")
Row = dict[str, Any]
Params = Sequence[Any]

# A libSQL server is reached over HTTP: Turso as `libsql://` (the client uses https), a
# self-hosted sqld as `http://` or `https://`. Hrana over WebSocket URLs name the same server.
REMOTE_SCHEMES = ("libsql://", "https://", "http://", "wss://", "ws://")
# Each Hrana stream is its own server connection, and foreign keys are off in a new SQLite
# connection: turn them on, as the file mode does, before each transaction's BEGIN.
STREAM_SETUP = ("PRAGMA foreign_keys=ON",)
# Take the write lock at the start, as the file mode does, so a transaction that reads and then
# writes never fails halfway with SQLITE_BUSY.
BEGIN = "BEGIN IMMEDIATE"
RemoteClient = Literal["hrana", "libsql"]


class StoreError(Exception):
    """A statement failed; the transaction it was part of was rolled back."""


# Runs one statement of the transaction in progress.
Statement = Callable[[str, Params], StmtResult]


class Tx:
    """A transaction in progress on the writer thread; run statements, read rows as dicts."""

    def __init__(self, run: Statement) -> None:
        self._run = run

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        return self._run(sql, params).affected_row_count

    def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT; return the new row's id."""
        return int(self._run(sql, params).last_insert_rowid or 0)

    def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Run a query; return every row as a dict keyed by column name."""
        return _rows(self._run(sql, params))

    def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """Run a query; return its first row, or None."""
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Params = ()) -> Any:
        """Run a query; return the first column of its first row, or None."""
        row = self.fetchone(sql, params)
        return None if row is None else next(iter(row.values()))


def _rows(result: StmtResult) -> list[Row]:
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


class _Backend(Protocol):
    """How a store reaches its database; every method runs on the writer thread."""

    def transaction(self, work: Callable[[Tx], T]) -> T:
        """Run `work` in one transaction; commit, or roll back on error."""

    def statements(self, statements: Sequence[tuple[str, Params]]) -> list[StmtResult]:
        """Run statements known up front in one transaction of their own."""

    def migrate(self) -> None:
        """Apply the migrations the database lacks."""

    def close(self) -> None:
        """Close the connection."""


class Store:
    """Async access to one libSQL database (an embedded file, or Turso over the network)."""

    def __init__(
        self,
        backend: _Backend,
        executor: concurrent.futures.ThreadPoolExecutor,
        file: Path | None = None,
    ) -> None:
        self._backend = backend
        self._executor = executor
        self._closed = False
        # A deleted or replaced file keeps taking writes through the open descriptor, and they
        # vanish on restart; remembering which file was opened lets check_file() notice.
        self._file = file
        self._file_identity = _identity(file) if file is not None else None

    async def run(self, work: Callable[[Tx], T]) -> T:
        """Run `work` in one transaction on the writer thread; commit, or roll back on error."""
        if self._closed:
            raise StoreError("the store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._backend.transaction, work)

    def run_sync(self, work: Callable[[Tx], T]) -> T:
        """Run `work` in one transaction from synchronous code (CLI, benchmarks)."""
        return self._executor.submit(self._backend.transaction, work).result()

    async def _statements(self, statements: Sequence[tuple[str, Params]]) -> list[StmtResult]:
        """Run statements known up front in one transaction (over the network: one round trip)."""
        if self._closed:
            raise StoreError("the store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._backend.statements, statements)

    async def _statement(self, sql: str, params: Params) -> StmtResult:
        [result] = await self._statements([(sql, params)])
        return result

    async def execute_all(self, statements: Sequence[tuple[str, Params]]) -> list[int]:
        """Run statements in one transaction; return the rows each changed.

        For writes that need no answer before the next one is sent (a batch of inserts): over
        the network the whole transaction is one round trip, where `run` costs one per
        statement and one more for COMMIT. One failing statement rolls them all back.
        """
        return [result.affected_row_count for result in await self._statements(statements)]

    @property
    def file(self) -> Path | None:
        """The database file this store opened, or None for a remote or in-memory store."""
        return self._file

    def check_file(self) -> None:
        """Raise StoreError when the database file was deleted or replaced since it was opened."""
        if self._file is None:
            return
        if _identity(self._file) != self._file_identity:
            raise StoreError(f"the database file {self._file} was deleted or replaced")

    async def check(self) -> None:
        """Raise StoreError unless the file is the one opened and a transaction can start."""
        self.check_file()
        await self._statement("SELECT 1", ())

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one query in its own transaction."""
        return _rows(await self._statement(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """Run one query in its own transaction; return the first row or None."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement in its own transaction; return the rows changed."""
        return (await self._statement(sql, params)).affected_row_count

    def schema_version(self) -> int:
        """Return the highest migration applied."""
        sql = "SELECT MAX(version) FROM schema_migrations"
        [result] = self._executor.submit(self._backend.statements, [(sql, ())]).result()
        return int(result.rows[0][0] or 0)

    async def close(self) -> None:
        """Close the connection and stop the writer thread."""
        self.close_sync()

    def close_sync(self) -> None:
        """Close from synchronous code."""
        if self._closed:
            return
        self._closed = True
        self._executor.submit(self._backend.close).result()
        self._executor.shutdown(wait=True)


class _LibsqlBackend:
    """A `libsql` connection: the embedded file (or, for comparison, a server)."""

    def __init__(self, connection: Any, *, remote: bool) -> None:
        self._connection = connection
        self._remote = remote

    def _run(self, sql: str, params: Params) -> StmtResult:
        try:
            cursor = self._connection.execute(sql, tuple(params))
            rows = cursor.fetchall() or []
        except ValueError as error:
            # libsql reports SQL errors as ValueError; name them as store errors.
            raise StoreError(f"{error} (in: {sql.split()[0]} ...)") from error
        names = [column[0] for column in cursor.description or ()]
        return StmtResult(names, [tuple(row) for row in rows], cursor.rowcount, cursor.lastrowid)

    def transaction(self, work: Callable[[Tx], T]) -> T:
        # BEGIN fails on a read-only database, COMMIT on a full disk: both are store errors.
        self._control(BEGIN)
        try:
            result = work(Tx(self._run))
        except BaseException:
            self._rollback()
            raise
        try:
            self._control("COMMIT")
        except StoreError:
            self._rollback()
            raise
        return result

    def statements(self, statements: Sequence[tuple[str, Params]]) -> list[StmtResult]:
        return self.transaction(lambda tx: [self._run(sql, params) for sql, params in statements])

    def migrate(self) -> None:
        apply_migrations(self._connection, MIGRATIONS)

    def close(self) -> None:
        self._connection.close()

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


def _control(connection: Any, statement: str) -> None:
    try:
        connection.execute(statement)
    except ValueError as error:
        raise StoreError(f"{error} (in: {statement})") from error


class _HranaBackend:
    """A libSQL server through our Hrana client: each transaction on a stream of its own."""

    def __init__(self, client: HranaClient) -> None:
        self._client = client

    def transaction(self, work: Callable[[Tx], T]) -> T:
        transaction = Transaction(self._client, STREAM_SETUP, BEGIN)

        def run(sql: str, params: Params) -> StmtResult:
            with _named(sql):
                return transaction.execute(sql, params)

        try:
            result = work(Tx(run))
        except BaseException:
            transaction.rollback()
            raise
        with _named("COMMIT"):
            transaction.commit()
        return result

    def statements(self, statements: Sequence[tuple[str, Params]]) -> list[StmtResult]:
        # Known before they are sent: the whole transaction goes in one round trip.
        try:
            return run_batch(self._client, STREAM_SETUP, BEGIN, statements)
        except HranaError as error:
            failed = "BEGIN" if error.statement is None else statements[error.statement][0]
            raise StoreError(f"{error} (in: {failed.split()[0]} ...)") from error

    def migrate(self) -> None:
        # Asking which versions are applied costs one round trip; checking each migration in
        # a transaction of its own would cost two per migration on every start.
        try:
            [result] = self.statements([("SELECT version FROM schema_migrations", ())])
            rows = result.rows
        except StoreError:
            rows = []  # a new database; apply_migrations creates the table
        applied = {row[0] for row in rows}
        missing = tuple(item for item in MIGRATIONS if item[0] not in applied)
        if missing:
            apply_migrations(_MigrationConnection(self._client), missing)

    def close(self) -> None:
        self._client.close()


@contextlib.contextmanager
def _named(sql: str) -> Iterator[None]:
    """Turn the server's refusal into a StoreError naming the statement, as the file mode does."""
    try:
        yield
    except HranaError as error:
        raise StoreError(f"{error} (in: {sql.split()[0]} ...)") from error


class _MigrationConnection:
    """What apply_migrations uses of a connection (`execute` with BEGIN/COMMIT), over Hrana."""

    def __init__(self, client: HranaClient) -> None:
        self._client = client
        self._transaction: Transaction | None = None

    def execute(self, sql: str, params: Params = ()) -> _Rows:
        word = sql.split()[0].upper()
        with _named(sql):
            if word == "BEGIN":
                self._transaction = Transaction(self._client, STREAM_SETUP, sql)
                return _Rows([])
            if word in ("COMMIT", "ROLLBACK"):
                transaction, self._transaction = self._transaction, None
                if transaction is not None:
                    transaction.commit() if word == "COMMIT" else transaction.rollback()
                return _Rows([])
            if self._transaction is None:
                [result] = run_batch(self._client, STREAM_SETUP, BEGIN, [(sql, params)])
            else:
                result = self._transaction.execute(sql, params)
        return _Rows(result.rows)


class _Rows:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None


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


def _connect(url: str, auth_token: str | None, remote_client: RemoteClient) -> _Backend:
    if url.startswith(REMOTE_SCHEMES) and remote_client == "hrana":
        # Turso or sqld: statements go over the network; the server serialises writers.
        return _HranaBackend(HranaClient(url, auth_token))
    if url.startswith(REMOTE_SCHEMES):
        connection = libsql.connect(
            _client_url(url), auth_token=auth_token or "", isolation_level=None
        )
        return _LibsqlBackend(connection, remote=True)
    path = url.removeprefix("file:")
    if path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connection = libsql.connect(path, isolation_level=None, timeout=30.0)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA busy_timeout=30000")
    return _LibsqlBackend(connection, remote=False)


def open_store(
    url: str,
    auth_token: str | None = None,
    *,
    migrate: bool = True,
    remote_client: RemoteClient = "hrana",
) -> Store:
    """Open the database at `url` (a path, `file:` path, or libSQL server URL) and migrate it.

    `remote_client` picks how a server is reached: our Hrana client, or (to compare, in tests
    and benchmarks) the `libsql` package.
    """
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
    try:
        backend = executor.submit(_connect, url, auth_token, remote_client).result()
    except Exception as error:
        executor.shutdown(wait=False)
        raise StoreError(f"cannot open the store at {url}: {error}") from error
    store = Store(backend, executor, _local_file(url))
    if migrate:
        try:
            executor.submit(backend.migrate).result()
        except BaseException:
            store.close_sync()  # or the writer thread and the connection stay behind
            raise
    return store


def _local_file(url: str) -> Path | None:
    """Return the database file behind `url`, or None for a remote or in-memory store."""
    path = url.removeprefix("file:")
    if url.startswith(REMOTE_SCHEMES) or path == ":memory:":
        return None
    return Path(os.path.abspath(Path(path).expanduser()))
