"""Injected 529s, 429s with retry-after, and slow answers, as the SDK's retry logic sees them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam

from app.standins.scripted_model import Fault, Script, ScriptedModel, Text, Turn
from tests.scripted_model.conftest import API_KEY, MODEL

HELLO: list[MessageParam] = [{"role": "user", "content": "hello"}]


@pytest.fixture
def retrying(server: str) -> Iterator[anthropic.Anthropic]:
    """Return a client that retries twice, like the SDK's default."""
    with anthropic.Anthropic(base_url=server, api_key=API_KEY, max_retries=2, timeout=5.0) as sdk:
        yield sdk


def answer_once(model: ScriptedModel) -> None:
    model.load([Script("s", [Turn([Text("made it")])])])


def test_overloaded_is_retried_and_succeeds(
    model: ScriptedModel, retrying: anthropic.Anthropic
) -> None:
    answer_once(model)
    model.inject(Fault("overloaded", retry_after=0.05))

    reply = retrying.messages.create(model=MODEL, max_tokens=16, messages=HELLO)

    assert getattr(reply.content[0], "text", None) == "made it"
    assert [(r.status, r.outcome) for r in model.requests] == [(529, "fault"), (200, "served")]
    assert model.requests[0].response["error"]["type"] == "overloaded_error"
    assert model.requests[1].headers["x-stainless-retry-count"] == "1"


def test_rate_limit_carries_retry_after(model: ScriptedModel, client: anthropic.Anthropic) -> None:
    answer_once(model)
    model.inject(Fault("rate_limit", retry_after=0.3))

    with pytest.raises(anthropic.RateLimitError) as raised:
        client.messages.create(model=MODEL, max_tokens=16, messages=HELLO)

    assert raised.value.response.headers["retry-after"] == "0.3"
    assert raised.value.type == "rate_limit_error"
    assert model.remaining() == {"s": 1}


def test_sdk_waits_for_retry_after(model: ScriptedModel, retrying: anthropic.Anthropic) -> None:
    answer_once(model)
    model.inject(Fault("rate_limit", count=2, retry_after=0.1))

    reply = retrying.messages.create(model=MODEL, max_tokens=16, messages=HELLO)

    assert reply.stop_reason == "end_turn"
    first, second, third = model.requests
    assert [r.status for r in (first, second, third)] == [429, 429, 200]
    # The SDK honoured the header rather than its own backoff (at least 0.375 s).
    gaps = [
        (b.received_at - a.received_at).total_seconds()
        for a, b in ((first, second), (second, third))
    ]
    assert all(0.1 <= gap < 0.3 for gap in gaps), gaps


def test_slow_answer_past_the_client_timeout_is_a_timeout(
    model: ScriptedModel, server: str
) -> None:
    answer_once(model)
    model.inject(Fault("delay", seconds=3.0))

    with (
        anthropic.Anthropic(base_url=server, api_key=API_KEY, max_retries=0, timeout=0.3) as sdk,
        pytest.raises(anthropic.APITimeoutError),
    ):
        sdk.messages.create(model=MODEL, max_tokens=16, messages=HELLO)

    deadline = time.monotonic() + 2.0
    while model.requests[0].outcome != "disconnected" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert model.requests[0].outcome == "disconnected"
    # The client never saw the answer, so the turn is still there for its retry.
    assert model.remaining() == {"s": 1}


def test_timeout_then_retry_gets_the_turn(model: ScriptedModel, server: str) -> None:
    answer_once(model)
    model.inject(Fault("delay", seconds=3.0))

    with anthropic.Anthropic(base_url=server, api_key=API_KEY, max_retries=1, timeout=0.3) as sdk:
        reply = sdk.messages.create(model=MODEL, max_tokens=16, messages=HELLO)

    assert getattr(reply.content[0], "text", None) == "made it"
    assert model.remaining() == {"s": 0}


def test_short_delay_slows_the_answer(model: ScriptedModel, client: anthropic.Anthropic) -> None:
    answer_once(model)
    model.inject(Fault("delay", seconds=0.25))

    started = time.monotonic()
    client.messages.create(model=MODEL, max_tokens=16, messages=HELLO)

    assert time.monotonic() - started >= 0.25
    assert model.requests[0].duration is not None and model.requests[0].duration >= 0.25


def test_faults_apply_in_order_to_count_tokens_too(model: ScriptedModel, server: str) -> None:
    model.inject(Fault("api_error", count=2))
    headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
    body = {"model": MODEL, "messages": HELLO}

    with httpx.Client(base_url=server, timeout=5) as http:
        statuses = [
            http.post("/v1/messages/count_tokens", json=body, headers=headers).status_code
            for _ in range(3)
        ]

    assert statuses == [500, 500, 200]
    assert model.pending_faults() == []
