"""The HTTP side of the stand-in: sqld's Hrana routes, batons, stream expiry and latency."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from anyio import to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .engine import (
    Stream,
    as_json_object,
    cursor_entries,
    handle_requests,
    run_batch,
)
from .proto import Json, ProtocolError, StreamError
from .sqlite import Connection

# sqld closes a stream after ten seconds without a request, rolling back what it left open.
STREAM_TTL_SECONDS = 10.0
# sqld keeps expired batons long enough to tell "expired" from "invalid".
EXPIRED_MEMORY_SECONDS = 300.0
VERSION = "townhall libsql-server stand-in (Hrana 2 and 3 over HTTP, JSON)"
DATABASE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Idle connections kept per database: closing the last connection to a WAL database checkpoints
# it and deletes the WAL, which would make every new stream cost milliseconds.
IDLE_CONNECTIONS = 8


class LibsqlServer:
    """A libSQL server (sqld) stand-in over one SQLite file; `create_app()` gives its ASGI app.

    Beyond sqld, `/db/{name}/...` serves the database `{name}.db` next to the main file, so
    one server can give every test its own database (sqld picks namespaces by host name).
    """

    def __init__(
        self,
        db_path: str | Path,
        *,
        latency_ms: float = 0.0,
        stream_ttl: float = STREAM_TTL_SECONDS,
        busy_timeout_ms: int = 5000,
        auth_token: str | None = None,
    ) -> None:
        self.db_path = str(db_path)
        # sqld with authentication (Turso always) refuses Hrana requests without the token.
        self.auth_token = auth_token
        self.latency_ms = latency_ms
        self.stream_ttl = stream_ttl
        self.busy_timeout_ms = busy_timeout_ms
        self.requests: Counter[str] = Counter()
        self._streams: dict[str, Stream] = {}
        self._expired: dict[str, float] = {}
        self._in_wal_mode: set[str] = set()
        self._idle: dict[str, list[Connection]] = {}
        self._open(self.db_path).close()

    def _open(self, path: str) -> Connection:
        connection = Connection(path, self.busy_timeout_ms)
        # A commit syncs at checkpoints only, not every time: the stand-in's disk is a test's.
        connection.execute_script("PRAGMA synchronous=NORMAL")
        if path not in self._in_wal_mode:
            # Readers and the writer work side by side in WAL mode, as in sqld.
            connection.execute_script("PRAGMA journal_mode=WAL")
            self._in_wal_mode.add(path)
        return connection

    def round_trips(self) -> int:
        """Return how many HTTP requests the server has answered since the last reset."""
        return sum(self.requests.values())

    def reset_counts(self) -> None:
        """Forget the request counts."""
        self.requests.clear()

    def create_app(self) -> Starlette:
        """Return the ASGI app serving sqld's HTTP routes for Hrana 2 and 3 (JSON)."""

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            sweeper = asyncio.create_task(self._sweep_forever())
            try:
                yield
            finally:
                sweeper.cancel()
                for stream in self._streams.values():
                    stream.close()
                self._streams.clear()
                for connections in self._idle.values():
                    for connection in connections:
                        connection.close()
                self._idle.clear()

        routes = [
            Route("/", self._timed(self._ok), methods=["GET"]),
            Route("/health", self._timed(self._ok), methods=["GET"]),
            Route("/version", self._timed(self._version), methods=["GET"]),
            Route("/_standin/stats", self._stats, methods=["GET"]),
            Route("/_standin/copy", self._copy, methods=["POST"]),
        ]
        for prefix in ("", "/db/{database}"):
            routes += [
                Route(f"{prefix}/v2", self._timed(self._index), methods=["GET"]),
                Route(f"{prefix}/v3", self._timed(self._index), methods=["GET"]),
                Route(f"{prefix}/v2/pipeline", self._hrana(self._pipeline_v2), methods=["POST"]),
                Route(f"{prefix}/v3/pipeline", self._hrana(self._pipeline_v3), methods=["POST"]),
                Route(f"{prefix}/v3/cursor", self._hrana(self._cursor), methods=["POST"]),
            ]
        return Starlette(routes=routes, lifespan=lifespan)

    def _database(self, name: str | None) -> str:
        """Return the file of the database `name` (the main one when None)."""
        if name is None:
            return self.db_path
        if not DATABASE_NAME.fullmatch(name):
            raise ProtocolError(f"invalid database name {name!r}")
        return str(Path(self.db_path).parent / f"{name}.db")

    async def _copy(self, request: Request) -> Response:
        """Copy database `from` (the main one when absent) to a new database `to`."""
        body = await _read_json(request)
        source = self._database(body.get("from"))
        target = self._database(str(body.get("to")))

        def copy() -> None:
            connection = Connection(source)
            try:
                statement, _ = connection.prepare("VACUUM INTO ?")
                assert statement is not None
                with statement:
                    statement.bind(1, target)
                    statement.run(want_rows=False)
            finally:
                connection.close()

        await to_thread.run_sync(copy)
        return JSONResponse({"database": Path(target).stem})

    def _timed(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            self.requests[f"{request.method} {request.url.path}"] += 1
            if self.latency_ms:
                # One network round trip between the app and its database (Modal to Turso).
                await asyncio.sleep(self.latency_ms / 1000)
            try:
                return await handler(request)
            except ProtocolError as error:
                return PlainTextResponse(str(error), status_code=400)
            except StreamError as error:
                return JSONResponse(error.to_json(), status_code=400)

        return endpoint

    def _hrana(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """A Hrana route: timed, and refused with 401 without the token when one is set."""

        async def authorized(request: Request) -> Response:
            if self.auth_token is not None and request.headers.get("authorization") != (
                f"Bearer {self.auth_token}"
            ):
                return PlainTextResponse(
                    "Unauthorized: the request needs `Authorization: Bearer <token>`",
                    status_code=401,
                )
            return await handler(request)

        return self._timed(authorized)

    async def _ok(self, request: Request) -> Response:
        return Response(status_code=200)

    async def _version(self, request: Request) -> Response:
        return PlainTextResponse(VERSION)

    async def _index(self, request: Request) -> Response:
        return PlainTextResponse("Hello, this is HTTP API v2 (Hrana over HTTP)")

    async def _stats(self, request: Request) -> Response:
        return JSONResponse({"round_trips": self.round_trips(), "requests": dict(self.requests)})

    async def _pipeline_v2(self, request: Request) -> Response:
        return await self._pipeline(request, 2)

    async def _pipeline_v3(self, request: Request) -> Response:
        return await self._pipeline(request, 3)

    async def _pipeline(self, request: Request, version: int) -> Response:
        body = await _read_json(request)
        requests = body.get("requests")
        if not isinstance(requests, list):
            raise ProtocolError("Cannot deserialize client message from JSON: `requests` missing")
        stream = await self._acquire(body.get("baton"), request)
        results = await self._on_stream(stream, handle_requests, stream, requests, version)
        return JSONResponse({"baton": self._release(stream), "base_url": None, "results": results})

    async def _cursor(self, request: Request) -> Response:
        body = await _read_json(request)
        batch = body.get("batch")
        if not isinstance(batch, dict):
            raise ProtocolError("Cannot deserialize client message from JSON: `batch` missing")
        stream = await self._acquire(body.get("baton"), request)
        outcomes = await self._on_stream(stream, run_batch, stream, batch, 3)
        head = {"baton": self._release(stream), "base_url": None}
        lines = [head, *cursor_entries(outcomes)]
        text = "".join(json.dumps(line) + "\n" for line in lines)
        return PlainTextResponse(text)

    async def _on_stream(self, stream: Stream, work: Callable[..., Any], *args: Any) -> Any:
        """Run `work` in a worker thread: SQLite may wait there for another stream's writer."""
        try:
            return await to_thread.run_sync(work, *args)
        except (KeyError, TypeError, ValueError) as error:
            stream.close()
            raise ProtocolError(f"Cannot deserialize client message from JSON: {error}") from error
        except ProtocolError:
            # An HTTP error ends the stream (the spec: "the stream is no longer valid").
            stream.close()
            raise

    async def _acquire(self, baton: Any, request: Request) -> Stream:
        if baton is None:
            path = self._database(request.path_params.get("database"))
            idle = self._idle.setdefault(path, [])
            connection = idle.pop() if idle else await to_thread.run_sync(self._open, path)
            return Stream(connection, give_back=lambda used: self._keep(path, used))
        stream = self._streams.pop(str(baton), None)
        if stream is not None:
            return stream
        if str(baton) in self._expired:
            raise StreamError("The stream has expired due to inactivity", "STREAM_EXPIRED")
        raise ProtocolError("Received an invalid baton")

    def _keep(self, path: str, connection: Connection) -> None:
        """Keep a finished stream's connection for the next stream, or close it."""
        idle = self._idle.setdefault(path, [])
        if len(idle) < IDLE_CONNECTIONS:
            idle.append(connection)
        else:
            connection.close()

    def _release(self, stream: Stream) -> str | None:
        """Return the baton for the stream's next request, or None once it is closed."""
        if stream.closed:
            return None
        # Each baton is good for one request: a client must wait for a reply before sending on.
        baton = secrets.token_urlsafe(24)
        stream.expires_at = time.monotonic() + self.stream_ttl
        self._streams[baton] = stream
        return baton

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.stream_ttl / 2))
            self.expire_idle_streams()

    def expire_idle_streams(self) -> None:
        """Close every stream idle for longer than the stream TTL."""
        now = time.monotonic()
        for baton, stream in list(self._streams.items()):
            if stream.expires_at <= now:
                del self._streams[baton]
                stream.close()
                self._expired[baton] = now + EXPIRED_MEMORY_SECONDS
        for baton, forget_at in list(self._expired.items()):
            if forget_at <= now:
                del self._expired[baton]


async def _read_json(request: Request) -> Json:
    try:
        body = json.loads(await request.body())
    except ValueError as error:
        raise ProtocolError(f"Cannot deserialize client message from JSON: {error}") from error
    return as_json_object(body)
