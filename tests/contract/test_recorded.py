"""One recorded run of Townhall's loop against localhub, checked against GitHub's descriptions.

Townhall's REST requests and localhub's answers against the REST description (and that
Townhall's githubkit models parse an answer holding only what the description defines), its
GraphQL documents and variables against the GraphQL schema, localhub's webhook payloads
against the description's webhook schemas. (One file: the recorded run takes half a minute; see
tests/conftest.py WHOLE_FILES.)
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from app.github.client import REST_API_VERSION

from .beyond import parses_within_description
from .calls import raw_requests, rest_operations
from .checker import Contract, Operation, webhook_key
from .graphql_checker import check_document
from .scenario import Recorded

# Operations Townhall calls whose caller is not run by the recorded loop, and why.
NOT_RUN = {
    # Signing in with GitHub (OAuth user tokens): the dashboard's login, not the vote loop.
    "users/get-authenticated": "app/github/oauth.py serves the dashboard sign-in",
    # Creating the App (`townhall setup`): tests/test_manifest.py checks it against localhub.
    "apps/create-from-manifest": "app/github/manifest.py runs once, when the App is created",
}


def _operation(description: Contract, exchange: dict[str, Any]) -> Operation:
    found = description.find(str(exchange["method"]), str(exchange["path"]))
    assert found is not None, f"{exchange['method']} {exchange['path']} is no kept operation"
    return found[0]


def _rest(recorded: Recorded) -> list[dict[str, Any]]:
    return [e for e in recorded.exchanges if e["route"] != "POST /graphql"]


def test_every_operation_townhall_calls_is_in_the_description(description: Contract) -> None:
    calls = rest_operations()
    missing = sorted(set(calls) - set(description.operations))
    assert not missing, (
        f"{missing} are called by {[sorted(calls[m]) for m in missing]} but not in "
        "tests/contract/data: run `.venv/bin/python -m tests.contract.refresh`"
    )
    # The only raw request is GraphQL (checked against GitHub's GraphQL schema).
    assert raw_requests() == {("POST", "/graphql")}


def test_the_recorded_loop_runs_every_operation_townhall_calls(
    description: Contract, recorded: Recorded
) -> None:
    ids = {_operation(description, e).operation_id for e in _rest(recorded)}
    unrun = set(rest_operations()) - ids - set(NOT_RUN)
    assert not unrun, f"no recorded exchange for {sorted(unrun)}: make the scenario call them"


def test_townhall_requests_conform(description: Contract, recorded: Recorded) -> None:
    problems: Counter[str] = Counter()
    for exchange in _rest(recorded):
        operation = _operation(description, exchange)
        found = description.check_request(operation, exchange["query"], exchange["request_body"])
        problems.update(found)
    assert not problems, "\n".join(f"{n}x {p}" for p, n in problems.most_common())


def test_localhub_answers_conform(description: Contract, recorded: Recorded) -> None:
    problems: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for exchange in _rest(recorded):
        operation = _operation(description, exchange)
        status = int(exchange["status"])
        statuses[f"{operation.operation_id} {status}"] += 1
        headers = dict(exchange["response_headers"])
        found = description.check_response(
            operation,
            status,
            exchange["response_body"],
            headers,
            conditional="if-none-match" in exchange["request_headers"],
        )
        problems.update(found)
    assert not problems, "\n".join(f"{n}x {p}" for p, n in problems.most_common())
    assert any(key.endswith(" 304") for key in statuses), "Townhall made no conditional request"


def test_every_answer_names_the_version_townhall_pinned(recorded: Recorded) -> None:
    for exchange in _rest(recorded):
        assert exchange["request_headers"]["x-github-api-version"] == REST_API_VERSION
        assert exchange["version"] == REST_API_VERSION
    assert recorded.exchanges


def test_townhall_graphql_documents_and_variables_conform(recorded: Recorded) -> None:
    sent = [e for e in recorded.exchanges if e["route"] == "POST /graphql"]
    assert sent, "the sweep sent no GraphQL query"
    problems: Counter[str] = Counter()
    for exchange in sent:
        body = exchange["request_body"]
        assert isinstance(body, dict)
        problems.update(check_document(body["query"], body.get("variables") or {}))
    assert not problems, "\n".join(f"{n}x {p}" for p, n in problems.most_common())


def test_localhub_webhook_payloads_conform(description: Contract, recorded: Recorded) -> None:
    assert len(recorded.deliveries) >= 20
    problems: Counter[str] = Counter()
    for delivery in recorded.deliveries:
        key = webhook_key(delivery["event"], delivery["action"])
        problems.update(description.check_webhook(key, delivery["payload"]))
    assert not problems, "\n".join(f"{n}x {p}" for p, n in problems.most_common())


def test_townhall_parses_answers_cut_to_what_the_description_defines(
    description: Contract, recorded: Recorded
) -> None:
    called = set(rest_operations())
    checked, problems = 0, Counter[str]()
    for exchange in _rest(recorded):
        operation = _operation(description, exchange)
        if operation.operation_id not in called or not 200 <= exchange["status"] < 300:
            continue
        checked += 1
        failure = parses_within_description(
            description, operation, exchange["status"], exchange["response_body"]
        )
        if failure:
            problems[failure] += 1
    assert checked > 50
    assert not problems, "\n".join(f"{n}x {p}" for p, n in problems.most_common())
