"""POST /webhook refuses early, hashes as the body streams, bounds time and size, never 500s."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from app.serving import ServerThread
from app.settings import Settings
from app.webhooks.signature import sign
from app.wiring import Runtime, build_runtime, build_web_app
from tests.webhooks.conftest import SECRET
from tests.webhooks.payloads import issues_event, signed
from tests.webhooks.raw import connect, head, read_until_closed, refused_head, status_of
from tests.webhooks.test_web import deliveries, post, wait_for

WELL_FORMED_BUT_WRONG = "sha256=" + "0" * 64


def event_headers(delivery: str = "d-raw") -> dict[str, str]:
    return {"X-GitHub-Event": "issues", "X-GitHub-Delivery": delivery}


def errors_and_tracebacks(logs: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in logs.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha1=abc", "sha256=abc", "sha256=" + "g" * 64, "sha256=é" + "0" * 63],
    ids=["missing", "empty", "sha1", "short", "not-hex", "non-ascii"],
)
def test_a_missing_or_malformed_signature_is_refused_before_the_body(
    served: ServerThread, runtime: Runtime, signature: str | None
) -> None:
    headers = event_headers()
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    with connect(served, timeout=3) as sock:
        # Only the head: an answer that waited for the 60,000 declared bytes would time out.
        sock.sendall(head(headers, 60_000))
        response = read_until_closed(sock)
    assert status_of(response) == 401
    assert deliveries(runtime) == []


def test_a_non_ascii_signature_answers_401_not_500(served: ServerThread, runtime: Runtime) -> None:
    body, headers = signed(issues_event("opened"), SECRET, "issues")
    raw = [(name.encode(), value.encode()) for name, value in headers.items()]
    raw = [(n, b"sha256=\xe9" + b"0" * 63 if n == b"X-Hub-Signature-256" else v) for n, v in raw]
    response = httpx.post(f"{served.url}/webhook", content=body, headers=raw, timeout=10)
    assert response.status_code == 401
    assert deliveries(runtime) == []


def test_the_signature_is_checked_on_a_streamed_chunked_body(
    served: ServerThread, runtime: Runtime
) -> None:
    body, headers = signed(issues_event("opened"), SECRET, "issues", "chunked-1")

    def chunks(data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), 1000):
            yield data[start : start + 1000]

    tampered = body.replace(b"Add a dark mode", b"Add a dork mode")
    assert tampered != body
    url = f"{served.url}/webhook"
    assert httpx.post(url, content=chunks(tampered), headers=headers).status_code == 401
    assert deliveries(runtime) == []
    assert httpx.post(url, content=chunks(body), headers=headers).status_code == 202
    assert [d["id"] for d in deliveries(runtime)] == ["chunked-1"]


def test_a_wrong_signature_on_a_full_body_is_401(served: ServerThread, runtime: Runtime) -> None:
    body, headers = signed(issues_event("opened"), SECRET, "issues")
    headers["X-Hub-Signature-256"] = WELL_FORMED_BUT_WRONG
    assert post(served, body, headers).status_code == 401
    headers["X-Hub-Signature-256"] = sign(SECRET, body).upper().replace("SHA256=", "sha256=")
    assert post(served, body, headers).status_code == 202  # hex digits in either case


@pytest.fixture
def impatient(settings: Settings) -> Iterator[ServerThread]:
    """The served app with a body timeout of half a second."""
    runtime = build_runtime(replace(settings, webhook_body_timeout_s=0.5))
    try:
        with ServerThread(build_web_app(runtime), bounded=True) as server:
            yield server
    finally:
        runtime.store.close_sync()


def test_a_stalled_body_is_dropped_after_the_timeout(
    impatient: ServerThread, logs: pytest.LogCaptureFixture
) -> None:
    body, headers = signed(issues_event("opened"), SECRET, "issues")
    started = time.monotonic()
    with connect(impatient, timeout=5) as sock:
        sock.sendall(head(headers, len(body)) + body[:100])  # then nothing more
        response = read_until_closed(sock)
    assert status_of(response) == 408
    assert 0.4 < time.monotonic() - started < 4
    assert any("incomplete after" in r.getMessage() for r in logs.records)
    assert errors_and_tracebacks(logs) == []


def test_a_client_hanging_up_mid_body_is_logged_at_info(
    served: ServerThread, runtime: Runtime, logs: pytest.LogCaptureFixture
) -> None:
    body, headers = signed(issues_event("opened"), SECRET, "issues")
    with connect(served) as sock:
        sock.sendall(head(headers, len(body)) + body[:100])
        time.sleep(0.2)
    wait_for(lambda: any("hung up" in r.getMessage() for r in logs.records))
    time.sleep(0.2)
    hung_up = [r for r in logs.records if "hung up" in r.getMessage()]
    assert [r.levelno for r in hung_up] == [logging.INFO]
    assert errors_and_tracebacks(logs) == []
    assert deliveries(runtime) == []


def test_the_server_bounds_the_request_head(served: ServerThread, runtime: Runtime) -> None:
    body, headers = signed(issues_event("opened"), SECRET, "issues")
    headers["X-Padding"] = "x" * (1 << 20)
    with connect(served) as sock:
        # Without a bound the server would buffer the head and then wait for the body.
        answer = refused_head(sock, head(headers, len(body)))
    assert answer == b"" or status_of(answer) == 400
    assert deliveries(runtime) == []
    # The server still answers after refusing the oversized head.
    body, headers = signed(issues_event("opened"), SECRET, "issues")
    assert post(served, body, headers).status_code == 202


def dead_delivery(runtime: Runtime, delivery: str) -> dict[str, Any]:
    rows = [d for d in deliveries(runtime) if d["id"] == delivery]
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json}", "not JSON"),
        (b'{"a": ' + b"[" * 990 + b"]" * 990 + b"}", "nested too deeply"),
        (b'{"action": "\\ud800", "zen": "x"}', "lone UTF-16 surrogate"),
        (b'{"action": "opened", "issue": {"title": "a\\udc00b"}}', "lone UTF-16 surrogate"),
        (b'{"action": "opened", "n": ' + b"1" * 5000 + b"}", "cannot be read"),
    ],
    ids=["malformed", "deep", "surrogate-action", "surrogate-title", "huge-integer"],
)
def test_a_signed_unusual_body_is_stored_dead_with_its_reason(
    served: ServerThread,
    runtime: Runtime,
    logs: pytest.LogCaptureFixture,
    body: bytes,
    reason: str,
) -> None:
    # Intake stores the body unread; the processor reads it and stores it dead with the reason.
    payload, headers = signed(body, SECRET, "issues", "odd-1")
    response = post(served, payload, headers)
    assert response.status_code == 202
    assert response.json()["status"] == "accepted"
    wait_for(lambda: dead_delivery(runtime, "odd-1")["status"] == "dead")
    row = dead_delivery(runtime, "odd-1")
    assert reason in row["last_error"]
    assert row["payload"] == body.decode()
    assert any(reason in r.getMessage() for r in logs.records if r.name == "townhall.inbox")
    # A redelivery changes nothing; the processor never picks a dead delivery up.
    assert post(served, payload, headers).json()["status"] == "duplicate"
    time.sleep(0.3)
    assert dead_delivery(runtime, "odd-1")["tries"] == 0
    assert errors_and_tracebacks(logs) == []


def test_a_huge_installation_id_is_stored_without_it(
    served: ServerThread, runtime: Runtime
) -> None:
    payload = {"action": "created", "installation": {"id": 10**30}}
    body, headers = signed(payload, SECRET, "star", "big-id")
    assert post(served, body, headers).status_code == 202
    wait_for(lambda: dead_delivery(runtime, "big-id")["status"] == "ignored")
    assert dead_delivery(runtime, "big-id")["installation_id"] is None


def test_logged_payload_fields_are_truncated(
    served: ServerThread, runtime: Runtime, logs: pytest.LogCaptureFixture
) -> None:
    zen = "Keep it logically awesome. " * 2000  # 54,000 characters
    body, headers = signed({"zen": zen, "hook_id": 7, "hook": {}}, SECRET, "ping", "ping-1")
    assert post(served, body, headers).status_code == 202
    wait_for(lambda: deliveries(runtime)[0]["status"] == "done")
    pings = [r.getMessage() for r in logs.records if "ping from hook" in r.getMessage()]
    assert len(pings) == 1
    assert pings[0].startswith("ping from hook 7: Keep it logically awesome.")
    assert len(pings[0]) < 1000
    assert "more characters" in pings[0]
