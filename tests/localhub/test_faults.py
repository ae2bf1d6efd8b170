"""Injected faults as a client sees them: 5xx, secondary rate limits, slow answers; counters."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from githubkit.exception import (
    PrimaryRateLimitExceeded,
    RequestFailed,
    RequestTimeout,
    SecondaryRateLimitExceeded,
)

from .conftest import OWNER, REPO, World

ISSUES = "/repos/{owner}/{repo}/issues"


def test_server_errors_fail_the_next_requests_then_clear(world: World) -> None:
    world.ctl.create_issue(OWNER, REPO, "alice", "One")
    gh = world.as_user("alice", auto_retry=False)
    world.ctl.inject_fault("/repos/*/*/issues", status=503, times=2, method="GET")
    for _ in range(2):
        with pytest.raises(RequestFailed) as caught:
            gh.rest.issues.list_for_repo(OWNER, REPO)
        assert caught.value.response.status_code == 503
    assert [i.number for i in gh.rest.issues.list_for_repo(OWNER, REPO).parsed_data] == [1]
    counters = world.ctl.counters()
    assert counters["routes"][f"GET {ISSUES}"] == 3
    assert counters["faults"][f"GET {ISSUES}"] == 2
    assert counters["statuses"][f"GET {ISSUES} 503"] == 2


def test_githubkit_retries_through_a_single_server_error(world: World) -> None:
    gh = world.as_user("alice")
    world.ctl.inject_fault(ISSUES, status=502, method="POST")
    started = time.monotonic()
    issue = gh.rest.issues.create(OWNER, REPO, title="Retried").parsed_data
    assert issue.number == 1 and time.monotonic() - started >= 1.0
    assert world.ctl.counters()["statuses"][f"POST {ISSUES} 502"] == 1


def test_secondary_rate_limit_carries_retry_after(world: World) -> None:
    strict = world.as_installation(auto_retry=False)
    strict.rest.repos.get(OWNER, REPO)
    world.ctl.inject_fault("/repos/octo/demo", kind="secondary_rate_limit", retry_after=1)
    with pytest.raises(SecondaryRateLimitExceeded) as caught:
        strict.rest.repos.get(OWNER, REPO)
    assert caught.value.retry_after == timedelta(seconds=1)
    assert caught.value.response.status_code == 403
    assert "secondary rate limit" in caught.value.response.json()["message"]

    patient = world.as_installation()
    patient.rest.repos.get(OWNER, REPO)
    world.ctl.inject_fault("/repos/octo/demo", kind="secondary_rate_limit", retry_after=1)
    started = time.monotonic()
    assert patient.rest.repos.get(OWNER, REPO).parsed_data.name == REPO
    assert time.monotonic() - started >= 1.0


def test_slow_answers_and_graphql_faults(world: World) -> None:
    # githubkit's HTTP cache client ignores `timeout`, so the client that must time out has none.
    impatient = world.as_user("alice", timeout=0.2, auto_retry=False, http_cache=False)
    world.ctl.inject_fault("/users/*", kind="delay", delay=0.6)
    with pytest.raises(RequestTimeout):
        impatient.rest.users.get_by_username("alice")
    world.ctl.inject_fault("/graphql", status=500)
    with pytest.raises(RequestFailed) as caught:
        impatient.graphql("query { viewer { login } }")
    assert caught.value.response.status_code == 500
    assert impatient.graphql("query { viewer { login } }") == {"viewer": {"login": "alice"}}
    world.ctl.inject_fault("/users/*", times=5)
    world.ctl.clear_faults()
    assert world.ctl.counters()["faults"].get("GET /users/{username}") == 1
    assert impatient.rest.users.get_by_username("bob").parsed_data.login == "bob"


def test_primary_rate_limit_reports_an_empty_budget(world: World) -> None:
    strict = world.as_installation(auto_retry=False)
    strict.rest.repos.get(OWNER, REPO)
    world.ctl.inject_fault("/repos/octo/demo", kind="primary_rate_limit", retry_after=30)
    with pytest.raises(PrimaryRateLimitExceeded) as caught:
        strict.rest.repos.get(OWNER, REPO)
    assert caught.value.response.headers["x-ratelimit-remaining"] == "0"
    assert timedelta(seconds=10) <= caught.value.retry_after <= timedelta(seconds=30)
    assert strict.rest.repos.get(OWNER, REPO).headers["x-ratelimit-remaining"] == "4998"
