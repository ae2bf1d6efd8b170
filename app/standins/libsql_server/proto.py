"""Hrana's JSON structures: values, statements, results and errors (docs/HRANA_3_SPEC.md)."""

from __future__ import annotations

import base64
from typing import Any

from .sqlite import Column, Description, Outcome, Value

Json = dict[str, Any]


class ProtocolError(Exception):
    """The client broke the protocol: the whole HTTP request fails with 400 and a text body."""


class StreamError(Exception):
    """One stream request failed; its result is `{"type": "error", "error": ...}`."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def to_json(self) -> Json:
        """Return the Hrana `Error` structure."""
        return {"message": self.message, "code": self.code}


def decode_value(value: Json) -> Value:
    """Turn a Hrana `Value` into a Python value."""
    kind = value.get("type")
    if kind == "null":
        return None
    if kind == "integer":
        # Integers travel as strings so that JSON parsers which use doubles keep every digit.
        return int(value["value"])
    if kind == "float":
        return float(value["value"])
    if kind == "text":
        return str(value["value"])
    if kind == "blob":
        text = str(value["base64"])
        return base64.b64decode(text + "=" * (-len(text) % 4))
    raise ProtocolError("Value type not recognized")


def encode_value(value: Value) -> Json:
    """Turn a Python value into a Hrana `Value` (blobs in base64 without padding, as sqld)."""
    if value is None:
        return {"type": "null"}
    if isinstance(value, int):
        return {"type": "integer", "value": str(value)}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    if isinstance(value, str):
        return {"type": "text", "value": value}
    return {"type": "blob", "base64": base64.b64encode(value).decode().rstrip("=")}


def columns_json(columns: list[Column]) -> list[Json]:
    """Return the `cols` array of a result."""
    return [{"name": column.name, "decltype": column.decltype} for column in columns]


def stmt_result(outcome: Outcome, duration_ms: float) -> Json:
    """Return a `StmtResult`."""
    return {
        "cols": columns_json(outcome.columns),
        "rows": [[encode_value(value) for value in row] for row in outcome.rows],
        "affected_row_count": outcome.affected_row_count,
        "last_insert_rowid": str(outcome.last_insert_rowid),
        "replication_index": None,
        "rows_read": len(outcome.rows),
        "rows_written": outcome.affected_row_count,
        "query_duration_ms": duration_ms,
    }


def describe_result(description: Description) -> Json:
    """Return a `DescribeResult`."""
    return {
        "params": [{"name": name} for name in description.parameters],
        "cols": columns_json(description.columns),
        "is_explain": description.is_explain,
        "is_readonly": description.is_readonly,
    }


def sql_text(body: Json, stored: dict[int, str]) -> str:
    """Return the SQL of a statement, `sequence` or `describe`: given inline or by `sql_id`."""
    sql, sql_id = body.get("sql"), body.get("sql_id")
    if (sql is None) == (sql_id is None):
        raise ProtocolError("Either `sql` or `sql_id` are required, but not both")
    if sql is not None:
        return str(sql)
    if sql_id not in stored:
        raise ProtocolError(f"SQL text {sql_id} not found")
    return stored[int(sql_id)]


def arguments(stmt: Json) -> tuple[list[Value], dict[str, Value]]:
    """Return a statement's positional and named arguments."""
    positional = [decode_value(value) for value in stmt.get("args") or []]
    named = {str(arg["name"]): decode_value(arg["value"]) for arg in stmt.get("named_args") or []}
    if positional and named:
        raise StreamError(
            "Specifying both positional and named arguments is not supported",
            "ARGS_BOTH_POSITIONAL_AND_NAMED",
        )
    return positional, named
