"""Run Hrana stream requests on one stream's SQLite connection (called from a worker thread)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .proto import (
    Json,
    ProtocolError,
    StreamError,
    arguments,
    describe_result,
    sql_text,
    stmt_result,
)
from .sqlite import Connection, SqliteError, bind_all

MAX_STORED_SQL = 50


@dataclass
class Stream:
    """A Hrana stream: its own SQLite connection and the SQL texts stored on it."""

    connection: Connection
    # Takes the connection back when the stream closes (the server keeps idle ones open).
    give_back: Callable[[Connection], None] = Connection.close
    stored_sql: dict[int, str] = field(default_factory=dict)
    closed: bool = False
    expires_at: float = 0.0

    def close(self) -> None:
        """Close the stream; an unfinished transaction is rolled back."""
        if self.closed:
            return
        self.closed = True
        if not self.connection.is_autocommit:
            try:
                self.connection.execute_script("ROLLBACK")
            except SqliteError:
                self.connection.close()
                return
        self.give_back(self.connection)


def handle_requests(stream: Stream, requests: list[Json], version: int) -> list[Json]:
    """Run a pipeline's requests in order; each gives an ok or an error result."""
    results = []
    for request in requests:
        try:
            results.append({"type": "ok", "response": _handle(stream, request, version)})
        except StreamError as error:
            results.append({"type": "error", "error": error.to_json()})
    return results


def _handle(stream: Stream, request: Json, version: int) -> Json:
    kind = request.get("type")
    if kind == "close":
        stream.close()
        return {"type": "close"}
    if kind in ("store_sql", "close_sql"):
        return _stored_sql(stream, request)
    if stream.closed:
        raise ProtocolError("Stream for this baton was closed")
    if kind == "execute":
        return {"type": "execute", "result": execute_stmt(stream, request["stmt"])}
    if kind == "batch":
        return {
            "type": "batch",
            "result": batch_result(run_batch(stream, request["batch"], version)),
        }
    if kind == "sequence":
        _sequence(stream, sql_text(request, stream.stored_sql))
        return {"type": "sequence"}
    if kind == "describe":
        return {
            "type": "describe",
            "result": _describe(stream, sql_text(request, stream.stored_sql)),
        }
    if kind == "get_autocommit":
        _require(version, 3, "The `get_autocommit` request")
        return {"type": "get_autocommit", "is_autocommit": stream.connection.is_autocommit}
    raise ProtocolError("StreamRequest type not recognized")


def _require(version: int, minimum: int, what: str) -> None:
    if version < minimum:
        raise ProtocolError(f"{what} is only supported in protocol version {minimum} and higher")


def _stored_sql(stream: Stream, request: Json) -> Json:
    sql_id = int(request["sql_id"])
    if request["type"] == "close_sql":
        stream.stored_sql.pop(sql_id, None)
        return {"type": "close_sql"}
    if sql_id in stream.stored_sql:
        raise ProtocolError(f"SQL text {sql_id} already exists")
    if len(stream.stored_sql) >= MAX_STORED_SQL:
        raise StreamError(
            f"The server already stores {len(stream.stored_sql)} SQL texts, it cannot store more",
            "SQL_STORE_TOO_MANY",
        )
    stream.stored_sql[sql_id] = str(request["sql"])
    return {"type": "store_sql"}


def execute_stmt(stream: Stream, stmt: Json) -> Json:
    """Run one `Stmt`; return its `StmtResult`."""
    connection = stream.connection
    sql = sql_text(stmt, stream.stored_sql)
    positional, named = arguments(stmt)
    started = time.perf_counter()
    try:
        statement, rest = connection.prepare(sql)
        if statement is None:
            raise StreamError("SQL string does not contain any statement", "SQL_NO_STATEMENT")
        with statement:
            if _has_statement(connection, rest):
                raise StreamError(
                    "SQL string contains more than one statement", "SQL_MANY_STATEMENTS"
                )
            try:
                bind_all(statement, positional, named)
            except ValueError as error:
                raise StreamError(
                    f"Arguments do not match SQL parameters: {error}", "ARGS_INVALID"
                ) from error
            outcome = statement.run(want_rows=stmt.get("want_rows") is not False)
    except SqliteError as error:
        raise StreamError(error.message, error.code) from error
    return stmt_result(outcome, (time.perf_counter() - started) * 1000)


def _has_statement(connection: Connection, sql: str) -> bool:
    if not sql.strip(" \t\r\n;"):
        return False
    try:
        statement, _ = connection.prepare(sql)
    except SqliteError:
        return True
    if statement is None:
        return False
    statement.close()
    return True


@dataclass(frozen=True)
class StepOutcome:
    """One batch step: skipped (both None), or its result, or its error."""

    result: Json | None
    error: Json | None


def run_batch(stream: Stream, batch: Json, version: int) -> list[StepOutcome]:
    """Run a `Batch`'s steps in order, skipping those whose condition is false."""
    outcomes: list[StepOutcome] = []
    for step in batch.get("steps") or []:
        condition = step.get("condition")
        if condition is not None and not _holds(condition, outcomes, stream, version):
            outcomes.append(StepOutcome(None, None))
            continue
        try:
            outcomes.append(StepOutcome(execute_stmt(stream, step["stmt"]), None))
        except StreamError as error:
            outcomes.append(StepOutcome(None, error.to_json()))
    return outcomes


def batch_result(outcomes: list[StepOutcome]) -> Json:
    """Return the `BatchResult` of a batch's step outcomes."""
    return {
        "step_results": [outcome.result for outcome in outcomes],
        "step_errors": [outcome.error for outcome in outcomes],
        "replication_index": None,
    }


def cursor_entries(outcomes: list[StepOutcome]) -> list[Json]:
    """Return the `CursorEntry` sequence that encodes a batch's step outcomes."""
    entries: list[Json] = []
    for index, outcome in enumerate(outcomes):
        if outcome.error is not None:
            entries.append({"type": "step_error", "step": index, "error": outcome.error})
        elif outcome.result is not None:
            result = outcome.result
            entries.append({"type": "step_begin", "step": index, "cols": result["cols"]})
            entries.extend({"type": "row", "row": row} for row in result["rows"])
            entries.append(
                {
                    "type": "step_end",
                    "affected_row_count": result["affected_row_count"],
                    "last_insert_rowid": result["last_insert_rowid"],
                }
            )
    return entries


def _holds(condition: Json, outcomes: list[StepOutcome], stream: Stream, version: int) -> bool:
    kind = condition.get("type")
    if kind in ("ok", "error"):
        step = int(condition["step"])
        if step >= len(outcomes):
            raise ProtocolError("Invalid reference to step in a batch condition")
        outcome = outcomes[step]
        return (outcome.result if kind == "ok" else outcome.error) is not None
    if kind == "not":
        return not _holds(condition["cond"], outcomes, stream, version)
    if kind in ("and", "or"):
        values = (_holds(part, outcomes, stream, version) for part in condition["conds"])
        return all(values) if kind == "and" else any(values)
    if kind == "is_autocommit":
        _require(version, 3, "The `is_autocommit` condition")
        return stream.connection.is_autocommit
    raise ProtocolError("BatchCond type not recognized")


def _sequence(stream: Stream, sql: str) -> None:
    try:
        stream.connection.execute_script(sql)
    except SqliteError as error:
        raise StreamError(error.message, error.code) from error


def _describe(stream: Stream, sql: str) -> Json:
    try:
        statement, _ = stream.connection.prepare(sql)
    except SqliteError as error:
        raise StreamError(error.message, error.code) from error
    if statement is None:
        raise StreamError("SQL string does not contain any statement", "SQL_NO_STATEMENT")
    with statement:
        return describe_result(statement.describe())


def as_json_object(body: Any) -> Json:
    """Return `body` if it is a JSON object, else fail the request."""
    if not isinstance(body, dict):
        raise ProtocolError("Cannot deserialize client message from JSON: expected an object")
    return body
