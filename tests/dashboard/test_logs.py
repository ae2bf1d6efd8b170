"""Structured logs: one JSON object per line, context tags, and no secret ever written."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.logs import (
    REDACTED,
    Redactor,
    configure_logging,
    current_log_context,
    log_context,
    redact,
    register_secrets,
    secrets_of,
)
from tests.dashboard.conftest import CapturedLogs

log = logging.getLogger("townhall.test")

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAx1dashboardtestkeybody0000000000000000000000000000\n"
    "b2R5IG9mIGEga2V5IHRoYXQgbXVzdCBuZXZlciBiZSBsb2dnZWQ0000000000000000\n"
    "-----END RSA PRIVATE KEY-----\n"
)
SHAPES = {
    "installation token": "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
    "personal token": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "fine-grained token": "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    "anthropic key": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz-0123456789",
    "jwt": "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjM0NSJ9.c2lnbmF0dXJlc2lnbmF0dXJl",
}


def test_every_line_is_one_json_object_with_level_logger_and_message(
    captured_logs: CapturedLogs,
) -> None:
    log.info("hello %s", "world", extra={"pr": 12})
    log.warning("second")
    lines = captured_logs.lines(log.name)
    assert [(line["level"], line["logger"], line["message"]) for line in lines] == [
        ("INFO", "townhall.test", "hello world"),
        ("WARNING", "townhall.test", "second"),
    ]
    assert lines[0]["pr"] == 12
    assert lines[0]["ts"].endswith("+00:00")
    assert "task" not in lines[0] and "delivery" not in lines[0]


def test_context_tags_lines_inside_the_block_and_in_tasks_started_there(
    captured_logs: CapturedLogs,
) -> None:
    async def worker() -> None:
        await asyncio.sleep(0)
        log.info("inside a child task")

    async def scenario() -> None:
        with log_context(delivery="d-42"):
            with log_context(task=7, attempt=2):
                log.info("inner")
                await asyncio.create_task(worker())
                assert current_log_context() == {"delivery": "d-42", "task": 7, "attempt": 2}
            log.info("delivery only")
        log.info("outside")

    asyncio.run(scenario())
    tags = [
        (line["message"], line.get("delivery"), line.get("task"), line.get("attempt"))
        for line in captured_logs.lines(log.name)
    ]
    assert tags == [
        ("inner", "d-42", 7, 2),
        ("inside a child task", "d-42", 7, 2),
        ("delivery only", "d-42", None, None),
        ("outside", None, None, None),
    ]


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_credential_shapes_are_redacted_in_messages(captured_logs: CapturedLogs, name: str) -> None:
    secret = SHAPES[name]
    log.info("calling with %s now", secret)
    text = captured_logs.text
    assert secret not in text
    assert REDACTED in text and "calling with" in text


def test_headers_urls_and_keys_are_redacted_everywhere_a_line_can_carry_them(
    captured_logs: CapturedLogs,
) -> None:
    log.info("Authorization: Bearer abcdefghijklmnop1234")
    log.info("auth header", extra={"headers": {"authorization": "token ghs_" + "x" * 36}})
    log.info("cloning https://x-access-token:s3cr3tvalue99@github.com/o/r.git")
    log.info("key follows\n%s", PEM)
    try:
        raise RuntimeError(f"upstream said: {SHAPES['anthropic key']}")
    except RuntimeError:
        log.exception("call failed")
    text = captured_logs.text
    for leaked in ("abcdefghijklmnop1234", "ghs_xxxx", "s3cr3tvalue99", "MIIEowIBAAKCAQEA"):
        assert leaked not in text
    assert SHAPES["anthropic key"] not in text
    lines = captured_logs.lines(log.name)
    assert lines[0]["message"] == f"Authorization: Bearer {REDACTED}"
    assert "x-access-token:" in lines[2]["message"] and "@github.com" in lines[2]["message"]
    assert "RuntimeError" in lines[4]["exception"]


def test_registered_secret_values_are_redacted_and_tiny_values_are_ignored(
    captured_logs: CapturedLogs,
) -> None:
    register_secrets(["webhook-secret-for-dashboard-tests", "k", None])
    log.info("secret is webhook-secret-for-dashboard-tests; a k stays a k")
    line = captured_logs.lines(log.name)[0]["message"]
    assert line == f"secret is {REDACTED}; a k stays a k"


def test_a_registered_pem_is_redacted_even_one_line_at_a_time() -> None:
    redactor = Redactor([PEM])
    body_line = PEM.splitlines()[1]
    assert body_line not in redactor.redact(f"read line: {body_line}")
    assert redactor.redact("nothing secret here") == "nothing secret here"


def test_configuring_twice_does_not_double_lines(captured_logs: CapturedLogs) -> None:
    root = logging.getLogger()
    before = len(root.handlers)
    configure_logging("INFO", stream=captured_logs.stream)
    assert len(root.handlers) == before
    log.info("once")
    assert [line["message"] for line in captured_logs.lines(log.name)] == ["once"]


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "attempt 2 of 3 failed: verification_failed (token budget left: 1200)"
    assert redact(text) == text


def test_the_configured_secrets_are_collected_from_settings(captured_logs: CapturedLogs) -> None:
    from app.settings import load_settings

    settings = load_settings(
        {
            "TOWNHALL_GITHUB_APP_ID": "12",
            "TOWNHALL_GITHUB_PRIVATE_KEY": PEM,
            "TOWNHALL_WEBHOOK_SECRET": "hook-secret-from-settings",
            "ANTHROPIC_API_KEY": "plain-api-key-from-settings",
            "TOWNHALL_DB_URL": "libsql://db.example",
            "TOWNHALL_DB_AUTH_TOKEN": "db-token-from-settings",
        }
    )
    secrets = secrets_of(settings)
    assert len(secrets) == 4
    configure_logging("INFO", secrets=secrets, stream=captured_logs.stream)
    log.info("values: %s", " | ".join(secrets))
    message = captured_logs.lines(log.name)[0]["message"]
    assert "from-settings" not in message and "MIIE" not in message
