"""`townhall serve` killed after acknowledging: the delivery survives and is processed once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.serving import free_port
from app.store import open_store
from tests.webhooks.conftest import SECRET
from tests.webhooks.payloads import issues_event, signed

TOWNHALL = str(Path(sys.executable).parent / "townhall")


@contextmanager
def serve(env: dict[str, str], port: int, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([TOWNHALL, "serve", "--port", str(port), *extra], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError("townhall serve did not come up")
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def test_kill_after_ack_then_restart_processes_once(tmp_path: Path, private_key_pem: str) -> None:
    db = tmp_path / "crash.db"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")},
        "TOWNHALL_GITHUB_APP_ID": "1",
        "TOWNHALL_GITHUB_PRIVATE_KEY": private_key_pem,
        "TOWNHALL_WEBHOOK_SECRET": SECRET,
        "TOWNHALL_DB_URL": str(db),
        "TOWNHALL_GITHUB_API_URL": "http://127.0.0.1:9",
    }
    port = free_port()
    body, headers = signed(issues_event("edited", body="changed"), SECRET, "issues", "crash-1")
    with serve(env, port, "--no-process") as process:
        response = httpx.post(f"http://127.0.0.1:{port}/webhook", content=body, headers=headers)
        assert response.status_code == 202
        process.send_signal(signal.SIGKILL)  # no graceful shutdown, no chance to process
        process.wait(10)

    store = open_store(str(db))
    row = store.run_sync(lambda tx: tx.fetchone("SELECT status FROM deliveries"))
    assert row == {"status": "pending"}
    store.close_sync()

    with serve(env, free_port()):
        deadline = time.monotonic() + 20
        store = open_store(str(db))
        try:
            while True:
                status = store.run_sync(lambda tx: tx.scalar("SELECT status FROM deliveries"))
                if status == "done" or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert status == "done"
            edits = store.run_sync(
                lambda tx: tx.scalar("SELECT COUNT(*) FROM events WHERE kind = 'issue_edited'")
            )
            assert edits == 1
        finally:
            store.close_sync()
