"""A store that cannot write answers 503 with Retry-After; /healthz notices a vanished file."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import httpx
import pytest

from app.serving import ServerThread
from app.settings import Settings
from app.wiring import Runtime
from tests.webhooks.conftest import SECRET
from tests.webhooks.payloads import issues_event, signed
from tests.webhooks.test_web import deliveries, post


def db_file(settings: Settings) -> Path:
    return Path(settings.db_url)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0


def no_tracebacks(logs: pytest.LogCaptureFixture) -> bool:
    return not [r for r in logs.records if r.exc_info]


def test_a_read_only_store_answers_503_with_retry_after(
    served: ServerThread, runtime: Runtime, logs: pytest.LogCaptureFixture
) -> None:
    # SQLite's own read-only mode: every write transaction fails as on a read-only file.
    runtime.store.run_sync(lambda tx: tx.execute("PRAGMA query_only = ON"))
    body, headers = signed(issues_event("opened"), SECRET, "issues", "ro-1")
    assert_unavailable(post(served, body, headers))
    health = httpx.get(f"{served.url}/healthz")
    assert_unavailable(health)
    assert health.json()["status"] == "store unavailable"
    assert "readonly" in health.json()["error"]
    assert no_tracebacks(logs)


def test_a_full_disk_answers_503_and_the_redelivery_is_stored_later(
    served: ServerThread, runtime: Runtime, logs: pytest.LogCaptureFixture
) -> None:
    pages = runtime.store.run_sync(lambda tx: tx.scalar("PRAGMA page_count"))
    # The file may not grow: exactly what a full disk does to SQLite.
    runtime.store.run_sync(lambda tx: tx.fetchall(f"PRAGMA max_page_count = {pages}"))
    body, headers = signed(issues_event("opened", body="x" * 40_000), SECRET, "issues", "full-1")
    response = post(served, body, headers)
    assert_unavailable(response)
    assert "full" in response.json()["error"]
    assert deliveries(runtime) == []
    runtime.store.run_sync(lambda tx: tx.fetchall("PRAGMA max_page_count = 1000000"))
    assert post(served, body, headers).status_code == 202
    assert [d["id"] for d in deliveries(runtime)] == ["full-1"]
    assert no_tracebacks(logs)


def test_a_deleted_database_file_is_noticed(
    served: ServerThread, runtime: Runtime, settings: Settings, logs: pytest.LogCaptureFixture
) -> None:
    assert httpx.get(f"{served.url}/healthz").status_code == 200
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file(settings)}{suffix}").unlink(missing_ok=True)
    health = httpx.get(f"{served.url}/healthz")
    assert_unavailable(health)
    assert "deleted or replaced" in health.json()["error"]
    body, headers = signed(issues_event("opened"), SECRET, "issues", "gone-1")
    assert_unavailable(post(served, body, headers))
    assert no_tracebacks(logs)
    assert not [r for r in logs.records if r.levelno >= logging.ERROR and r.name != "townhall.web"]


def test_a_replaced_database_file_is_noticed(
    served: ServerThread, runtime: Runtime, settings: Settings
) -> None:
    path = db_file(settings)
    copy = path.with_name("copy.db")
    shutil.copyfile(path, copy)
    os.replace(copy, path)  # same name, another file (a restore from backup, say)
    assert_unavailable(httpx.get(f"{served.url}/healthz"))
    body, headers = signed(issues_event("opened"), SECRET, "issues", "moved-1")
    assert_unavailable(post(served, body, headers))
