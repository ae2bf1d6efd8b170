"""A small Hrana 3 over HTTP client: how the store talks to Turso or a self-hosted sqld.

The protocol (docs/HRANA_3_SPEC.md in tursodatabase/libsql): `POST /v3/pipeline` carries a
list of stream requests and a baton naming the stream (null opens a new one); the reply gives
the baton for the next request, or null once the stream is closed. A stream is one server-side
connection, so a transaction lives on one stream. Every request is one network round trip, so
this client never asks the server to `describe` a statement (the `libsql` package does, doubling
the trips) and puts as much as the protocol allows into each request.

httpx waits on the socket without the GIL, so the event loop keeps running while the store's
writer thread waits here (the `libsql` package holds the GIL for the whole round trip).
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


Json = dict[str, Any]
Value = None | int | float | str | bytes

# Turso's `libsql://` URLs name the HTTPS endpoint; a WebSocket URL names the same server.
SCHEMES = (
    ("libsql://", "https://"),
    ("wss://", "https://"),
    ("ws://", "http://"),
    ("https://", "https://"),
    ("http://", "http://"),
)
INT64 = range(-(2**63), 2**63)
CLOSE: Json = {"type": "close"}
NO_DELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class HranaError(Exception):
    """The server refused a statement or a request, or could not be reached."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message if code is None else f"{message} [{code}]")
        self.message = message
        self.code = code
        # In a batch: which of the caller's statements failed (None: BEGIN, COMMIT, setup).
        self.statement: int | None = None


@dataclass(frozen=True)
class StmtResult:
    """What one statement gave: column names, rows, rows changed and the last rowid."""

    columns: list[str]
    rows: list[tuple[Value, ...]]
    affected_row_count: int
    last_insert_rowid: int | None


def http_url(url: str) -> str:
    """Return the HTTP base URL of the server that `url` names (no trailing slash)."""
    for scheme, http in SCHEMES:
        if url.startswith(scheme):
            return http + url.removeprefix(scheme).rstrip("/")
    raise ValueError(f"not a libSQL server URL (libsql://, http(s):// or ws(s)://): {url}")


def encode_value(value: Value) -> Json:
    """Return the Hrana `Value` of a Python value; integers go as strings to keep all 64 bits."""
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool | int):
        number = int(value)
        if number not in INT64:
            raise HranaError(f"the integer {number} does not fit in SQLite's 64 bits")
        return {"type": "integer", "value": str(number)}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    if isinstance(value, str):
        return {"type": "text", "value": value}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"type": "blob", "base64": base64.b64encode(bytes(value)).decode()}
    raise HranaError(f"cannot send a {type(value).__name__} to the database: {value!r}")


def decode_value(value: Json) -> Value:
    """Return the Python value of a Hrana `Value`."""
    kind = value.get("type")
    if kind == "null":
        return None
    if kind == "integer":
        return int(value["value"])
    if kind == "float":
        return float(value["value"])
    if kind == "text":
        return str(value["value"])
    if kind == "blob":
        # The spec allows base64 with or without padding.
        text = str(value["base64"])
        return base64.b64decode(text + "=" * (-len(text) % 4))
    raise HranaError(f"the server sent a value of unknown type {kind!r}")


def stmt(sql: str, args: Sequence[Value] = ()) -> Json:
    """Return a Hrana `Stmt` with positional arguments."""
    return {"sql": sql, "args": [encode_value(arg) for arg in args], "want_rows": True}


def stmt_result(result: Json) -> StmtResult:
    """Return the `StmtResult` a server sent."""
    rowid = result.get("last_insert_rowid")
    return StmtResult(
        columns=[str(column.get("name") or "") for column in result["cols"]],
        rows=[tuple(decode_value(value) for value in row) for row in result["rows"]],
        affected_row_count=int(result["affected_row_count"]),
        last_insert_rowid=None if rowid is None else int(rowid),
    )


def _error(error: Json) -> HranaError:
    return HranaError(str(error.get("message") or "unknown error"), error.get("code"))


class HranaClient:
    """One server (one database): opens streams over a shared HTTP connection pool."""

    def __init__(self, url: str, auth_token: str | None = None, *, timeout: float = 30.0) -> None:
        self.url = http_url(url)
        # Imported here: httpx loads ~20 modules, and every CLI command imports the store
        # (`townhall version` must stay fast; only a remote store needs HTTP).
        import httpx

        self._httpx = httpx
        headers = {"Authorization": f"Bearer {auth_token}"} if auth_token else {}
        # httpx writes a request's head and body separately; with Nagle's algorithm the body
        # then waits for the server to acknowledge the head (milliseconds on every round trip).
        transport = httpx.HTTPTransport(socket_options=[NO_DELAY])
        self._http = httpx.Client(headers=headers, timeout=timeout, transport=transport)

    def pipeline(self, base_url: str, baton: str | None, requests: list[Json]) -> Json:
        """Send one pipeline request (one round trip); return the reply's JSON body."""
        try:
            reply = self._http.post(
                f"{base_url}/v3/pipeline", json={"baton": baton, "requests": requests}
            )
        except self._httpx.HTTPError as error:
            raise HranaError(f"cannot reach the libSQL server at {base_url}: {error}") from error
        if reply.status_code != 200:
            raise _http_error(reply)
        try:
            body = reply.json()
        except ValueError as error:
            raise HranaError(f"the libSQL server sent a reply that is not JSON: {error}") from None
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise HranaError(f"the libSQL server sent a reply without results: {reply.text[:200]}")
        return body

    def stream(self) -> Stream:
        """Return a new stream (opened on the server by its first request)."""
        return Stream(self)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()


def _http_error(reply: httpx.Response) -> HranaError:
    """Name an HTTP error: sqld sends a JSON `Error` or a plain text message."""
    text = reply.text.strip()
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and "message" in body:
        error = _error(body)
        return HranaError(f"HTTP {reply.status_code}: {error.message}", error.code)
    return HranaError(f"HTTP {reply.status_code}: {text or reply.reason_phrase}")


class Stream:
    """A Hrana stream: requests on it run in order on one server connection."""

    def __init__(self, client: HranaClient) -> None:
        self._client = client
        self._base_url = client.url
        self._baton: str | None = None
        self.opened = False
        self.closed = False

    def send(self, requests: list[Json]) -> list[Json]:
        """Send `requests` in one round trip; return one result (`ok` or `error`) for each."""
        if self.closed:
            raise HranaError("the stream is closed")
        try:
            body = self._client.pipeline(self._base_url, self._baton, requests)
        except HranaError:
            # After an HTTP error the server no longer knows the stream (spec, "Errors").
            self.closed = True
            raise
        self.opened = True
        self._baton = body.get("baton")
        # The server may ask for the stream's next requests at another address.
        self._base_url = str(body.get("base_url") or self._base_url).rstrip("/")
        self.closed = self._baton is None
        results: list[Json] = body["results"]
        if len(results) != len(requests):
            raise HranaError(f"the server answered {len(results)} of {len(requests)} requests")
        return results


def _response(result: Json) -> Json:
    if result["type"] == "error":
        raise _error(result["error"])
    response: Json = result["response"]
    return response


def _batch(steps: list[tuple[Json, int | None]]) -> Json:
    """Return a `batch` request; each step runs only if the step it names succeeded."""
    return {
        "type": "batch",
        "batch": {
            "steps": [
                {"stmt": step}
                if after is None
                else {"stmt": step, "condition": {"type": "ok", "step": after}}
                for step, after in steps
            ]
        },
    }


def _step_errors(response: Json) -> list[HranaError | None]:
    return [None if error is None else _error(error) for error in response["result"]["step_errors"]]


class Transaction:
    """An interactive transaction on its own stream, for code that reads before it writes.

    Round trips: none until the first statement; then one per statement, the stream's setup
    and BEGIN riding in a batch with the first; then one for COMMIT and the stream's close
    together. A statement's result is needed before the caller's next line runs, so no two
    statements can share a request, and COMMIT cannot ride with the last statement because
    nothing says which one is last: N statements cost N + 1 round trips.
    """

    def __init__(self, client: HranaClient, setup: Sequence[str], begin: str) -> None:
        self._stream = client.stream()
        self._setup = setup
        self._begin = begin
        self.round_trips = 0

    def execute(self, sql: str, args: Sequence[Value] = ()) -> StmtResult:
        """Run one statement in the transaction; raise HranaError when it fails."""
        statement = stmt(sql, args)
        if self._stream.opened:
            [result] = self._send([{"type": "execute", "stmt": statement}])
            return stmt_result(_response(result)["result"])
        # Setup, BEGIN and the statement, each only if the one before it worked: a statement
        # must never run outside the transaction.
        steps = [stmt(setup) for setup in (*self._setup, self._begin)] + [statement]
        [result] = self._send([_batch([(s, i - 1 if i else None) for i, s in enumerate(steps)])])
        response = _response(result)
        for error in _step_errors(response):
            if error is not None:
                raise error
        return stmt_result(response["result"]["step_results"][-1])

    def commit(self) -> None:
        """Commit and close the stream; raise HranaError (the server then rolled back)."""
        if not self._stream.opened:
            return
        commit, _ = self._send([{"type": "execute", "stmt": stmt("COMMIT")}, CLOSE])
        _response(commit)

    def rollback(self) -> None:
        """Roll back and close the stream (closing alone would, but say it for the reader)."""
        if not self._stream.opened or self._stream.closed:
            return
        # ROLLBACK fails when an error already ended the transaction; closing is what matters.
        # Should the server be unreachable, it rolls back when the stream expires: the error
        # that brought us here is the one to report.
        with contextlib.suppress(HranaError):
            self._send([{"type": "execute", "stmt": stmt("ROLLBACK")}, CLOSE])

    def _send(self, requests: list[Json]) -> list[Json]:
        self.round_trips += 1
        return self._stream.send(requests)


def run_batch(
    client: HranaClient,
    setup: Sequence[str],
    begin: str,
    statements: Sequence[tuple[str, Sequence[Value]]],
) -> list[StmtResult]:
    """Run `statements` as one transaction in one round trip; return each one's result.

    One batch, then `close`, in one pipeline request: setup, BEGIN, the statements and COMMIT,
    each step only if the one before it worked, and ROLLBACK unless COMMIT worked, so a failed
    step leaves nothing behind. Raise the first step's error; its `statement` says which.
    """
    sqls = [stmt(setup) for setup in (*setup, begin)]
    body = sqls + [stmt(sql, args) for sql, args in statements] + [stmt("COMMIT")]
    steps: list[tuple[Json, int | None]] = [(s, i - 1 if i else None) for i, s in enumerate(body)]
    commit = len(body) - 1
    batch = _batch(steps)
    batch["batch"]["steps"].append(
        {
            "stmt": stmt("ROLLBACK"),
            "condition": {"type": "not", "cond": {"type": "ok", "step": commit}},
        }
    )
    [result, _] = client.stream().send([batch, CLOSE])
    response = _response(result)
    errors = _step_errors(response)
    for step, error in enumerate(errors[:-1]):
        if error is not None:
            error.statement = step - len(sqls) if len(sqls) <= step < commit else None
            raise error
    results = response["result"]["step_results"][len(sqls) : commit]
    return [stmt_result(result) for result in results]
