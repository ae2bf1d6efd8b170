"""Hrana over HTTP as the spec (tursodatabase/libsql docs/HRANA_3_SPEC.md) words it, raw JSON."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from app.serving import ServerThread
from app.standins.libsql_server import LibsqlServer

Json = dict[str, Any]


def stmt(sql: str, *args: Json, **extra: Any) -> Json:
    return {"sql": sql, "args": list(args), **extra}


def integer(value: int) -> Json:
    return {"type": "integer", "value": str(value)}


def text(value: str) -> Json:
    return {"type": "text", "value": value}


def execute(sql: str, *args: Json) -> Json:
    return {"type": "execute", "stmt": stmt(sql, *args)}


def pipeline(http: httpx.Client, baton: str | None, *requests: Json, version: int = 3) -> Json:
    reply = http.post(f"/v{version}/pipeline", json={"baton": baton, "requests": list(requests)})
    assert reply.status_code == 200, reply.text
    body: Json = reply.json()
    return body


def responses(body: Json) -> list[Json]:
    assert [result["type"] for result in body["results"]] == ["ok"] * len(body["results"])
    return [result["response"] for result in body["results"]]


def count(http: httpx.Client) -> int:
    [response, _] = responses(
        pipeline(http, None, execute("SELECT COUNT(*) FROM t"), {"type": "close"})
    )
    return int(response["result"]["rows"][0][0]["value"])


@pytest.fixture
def table(http: httpx.Client) -> None:
    pipeline(http, None, execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v)"), {"type": "close"})


def test_version_checks_answer_for_json_and_not_for_protobuf(http: httpx.Client) -> None:
    assert http.get("/v2").status_code == 200
    assert http.get("/v3").status_code == 200
    # Clients probe v3-protobuf first and fall back to JSON when it is missing.
    assert http.get("/v3-protobuf").status_code == 404


@pytest.mark.usefixtures("table")
def test_a_transaction_spans_requests_through_batons(http: httpx.Client) -> None:
    first = pipeline(
        http, None, execute("BEGIN"), execute("INSERT INTO t (v) VALUES (?)", text("a"))
    )
    [_, inserted] = responses(first)
    assert inserted["result"]["affected_row_count"] == 1
    assert inserted["result"]["last_insert_rowid"] == "1"
    baton = first["baton"]
    assert baton and first["base_url"] is None
    assert count(http) == 0  # another stream does not see the open transaction
    second = pipeline(http, baton, {"type": "get_autocommit"})
    assert responses(second) == [{"type": "get_autocommit", "is_autocommit": False}]
    assert second["baton"] not in (None, baton)
    last = pipeline(http, second["baton"], execute("COMMIT"), {"type": "close"})
    assert last["baton"] is None
    assert count(http) == 1


@pytest.mark.usefixtures("table")
def test_a_baton_is_good_for_one_request(http: httpx.Client) -> None:
    baton = pipeline(http, None, execute("SELECT 1"))["baton"]
    pipeline(http, baton, execute("SELECT 1"))
    reused = http.post("/v3/pipeline", json={"baton": baton, "requests": []})
    assert (reused.status_code, reused.text) == (400, "Received an invalid baton")


@pytest.mark.usefixtures("table")
def test_batch_conditions_commit_or_roll_back(http: httpx.Client) -> None:
    insert = "INSERT INTO t (id, v) VALUES (?, 'x')"
    steps = [
        {"stmt": stmt("BEGIN")},
        {"stmt": stmt(insert, integer(1)), "condition": {"type": "ok", "step": 0}},
        {"stmt": stmt(insert, integer(1)), "condition": {"type": "ok", "step": 1}},
        {
            "stmt": stmt("COMMIT"),
            "condition": {
                "type": "and",
                "conds": [
                    {"type": "ok", "step": 2},
                    {"type": "not", "cond": {"type": "is_autocommit"}},
                ],
            },
        },
        {"stmt": stmt("ROLLBACK"), "condition": {"type": "not", "cond": {"type": "ok", "step": 3}}},
        {
            "stmt": stmt("SELECT 1"),
            "condition": {"type": "or", "conds": [{"type": "error", "step": 2}]},
        },
    ]
    body = pipeline(http, None, {"type": "batch", "batch": {"steps": steps}}, {"type": "close"})
    result = responses(body)[0]["result"]
    ran = [step is not None for step in result["step_results"]]
    failed = [error is not None for error in result["step_errors"]]
    assert ran == [True, True, False, False, True, True]
    assert failed == [False, False, True, False, False, False]
    assert result["step_errors"][2]["code"] == "SQLITE_CONSTRAINT"
    assert count(http) == 0


def test_a_failed_statement_is_an_error_result_and_the_rest_still_runs(
    http: httpx.Client,
) -> None:
    body = pipeline(http, None, execute("SELECT * FROM missing"), execute("SELECT 2"))
    [failed, ran] = body["results"]
    assert failed["type"] == "error"
    assert set(failed["error"]) == {"message", "code"}
    assert "no such table: missing" in failed["error"]["message"]
    assert ran["type"] == "ok"
    many = pipeline(http, body["baton"], execute("SELECT 1; SELECT 2"))["results"][0]
    assert many["error"]["code"] == "SQL_MANY_STATEMENTS"


def test_protocol_errors_are_http_errors(http: httpx.Client, server: LibsqlServer) -> None:
    assert http.post("/v3/pipeline", content=b"{not json").status_code == 400
    forged = http.post("/v3/pipeline", json={"baton": "forged", "requests": []})
    assert forged.status_code == 400
    v2 = http.post("/v2/pipeline", json={"baton": None, "requests": [{"type": "get_autocommit"}]})
    assert v2.status_code == 400
    assert "only supported in protocol version 3" in v2.text


def test_an_idle_stream_expires_and_says_so(http: httpx.Client, server: LibsqlServer) -> None:
    server.stream_ttl = 0.0
    baton = pipeline(http, None, execute("BEGIN"))["baton"]
    server.expire_idle_streams()
    expired = http.post("/v3/pipeline", json={"baton": baton, "requests": []})
    assert expired.status_code == 400
    assert expired.json()["code"] == "STREAM_EXPIRED"


def test_values_keep_their_types(http: httpx.Client) -> None:
    values = [
        {"type": "null"},
        integer(2**62 + 1),
        {"type": "float", "value": 0.5},
        text("héllo"),
        {"type": "blob", "base64": "AAEC"},
        {"type": "blob", "base64": "AAE="},  # padded or not, as clients differ
    ]
    body = pipeline(http, None, execute("SELECT ?, ?, ?, ?, ?, ?", *values))
    [row] = responses(body)[0]["result"]["rows"]
    assert row == [*values[:5], {"type": "blob", "base64": "AAE"}]


def test_named_arguments_with_or_without_their_prefix(http: httpx.Client) -> None:
    named = [{"name": ":a", "value": integer(1)}, {"name": "b", "value": integer(2)}]
    body = pipeline(
        http, None, {"type": "execute", "stmt": {"sql": "SELECT :a + $b", "named_args": named}}
    )
    assert responses(body)[0]["result"]["rows"] == [[integer(3)]]
    missing = pipeline(http, None, execute("SELECT ?, ?", integer(1)))["results"][0]
    assert missing["error"]["code"] == "ARGS_INVALID"


@pytest.mark.usefixtures("table")
def test_stored_sql_sequence_and_describe(http: httpx.Client) -> None:
    body = pipeline(
        http,
        None,
        {"type": "store_sql", "sql_id": 7, "sql": "INSERT INTO t (v) VALUES (?) RETURNING id"},
        {"type": "execute", "stmt": {"sql_id": 7, "args": [text("a")]}},
        {
            "type": "sequence",
            "sql": "INSERT INTO t (v) VALUES ('b'); INSERT INTO t (v) VALUES ('c');",
        },
        {"type": "describe", "sql_id": 7},
        {"type": "describe", "sql": "SELECT v AS value, ?2, :name FROM t"},
        {"type": "close_sql", "sql_id": 7},
        {"type": "close"},
    )
    [_, returned, sequence, insert, select, closed, _] = responses(body)
    assert returned["result"]["rows"] == [[integer(1)]]
    assert sequence == {"type": "sequence"}
    assert insert["result"]["is_readonly"] is False
    assert select["result"] == {
        "params": [{"name": None}, {"name": "?2"}, {"name": ":name"}],
        "cols": [
            {"name": "value", "decltype": None},
            {"name": "?2", "decltype": None},
            {"name": ":name", "decltype": None},
        ],
        "is_explain": False,
        "is_readonly": True,
    }
    assert closed == {"type": "close_sql"}
    assert count(http) == 3


@pytest.mark.usefixtures("table")
def test_the_cursor_endpoint_streams_a_batch_as_lines(http: httpx.Client) -> None:
    steps = [
        {"stmt": stmt("INSERT INTO t (v) VALUES ('a'), ('b')")},
        {"stmt": stmt("SELECT v FROM t ORDER BY id")},
        {"stmt": stmt("SELECT nothing FROM t")},
    ]
    reply = http.post("/v3/cursor", json={"baton": None, "batch": {"steps": steps}})
    head, *entries = [line for line in reply.text.splitlines()]
    assert httpx.Response(200, content=head).json()["baton"]
    kinds = [httpx.Response(200, content=entry).json()["type"] for entry in entries]
    assert kinds == ["step_begin", "step_end", "step_begin", "row", "row", "step_end", "step_error"]


def test_latency_is_added_to_every_round_trip(tmp_path: Any) -> None:
    slow = LibsqlServer(tmp_path / "slow.db", latency_ms=60)
    with ServerThread(slow.create_app()) as thread, httpx.Client(base_url=thread.url) as client:
        started = time.perf_counter()
        client.post("/v3/pipeline", json={"baton": None, "requests": [execute("SELECT 1")]})
        assert time.perf_counter() - started >= 0.06
    assert slow.round_trips() == 1
