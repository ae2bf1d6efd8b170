"""`townhall serve` killed with SIGKILL right after a burst's last 202: every delivery survives.

The burst is group-committed (many deliveries per transaction); a 202 is sent only after the
COMMIT holding its row, so a kill the moment the last answer arrives loses none of them, and
the restarted server processes each exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx

from app.serving import free_port
from app.standins.localhub import generate_app_keypair
from app.store import open_store
from tests.webhooks.conftest import SECRET
from tests.webhooks.payloads import issues_event, signed
from tests.webhooks.test_crash import serve

BURST = 64


def environment(db: Path, private_key: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")},
        "TOWNHALL_GITHUB_APP_ID": "1",
        "TOWNHALL_GITHUB_PRIVATE_KEY": private_key,
        "TOWNHALL_WEBHOOK_SECRET": SECRET,
        "TOWNHALL_DB_URL": str(db),
        "TOWNHALL_GITHUB_API_URL": "http://127.0.0.1:9",  # discard port: GitHub is never called
    }


async def burst(port: int, pid: int) -> list[httpx.Response]:
    """Send BURST deliveries at once (no installation: processing needs no GitHub); SIGKILL
    the server as soon as the last answer is in."""
    requests = [
        signed(issues_event("edited", number=n, body=f"v{n}", installation=None), SECRET,
               "issues", f"kill-{n}")
        for n in range(BURST)
    ]  # fmt: skip
    limits = httpx.Limits(max_connections=BURST)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        url = f"http://127.0.0.1:{port}/webhook"
        answers = await asyncio.gather(
            *(client.post(url, content=body, headers=headers) for body, headers in requests)
        )
        os.kill(pid, signal.SIGKILL)  # no graceful shutdown: nothing more is written
    return answers


def test_a_burst_survives_a_kill_right_after_its_last_202(tmp_path: Path) -> None:
    db = tmp_path / "intake.db"
    env = environment(db, generate_app_keypair().private_key_pem)
    port = free_port()
    with serve(env, port, "--no-process") as process:
        answers = asyncio.run(burst(port, process.pid))
        process.wait(10)
    assert process.returncode == -signal.SIGKILL
    assert [a.status_code for a in answers] == [202] * BURST

    store = open_store(str(db))
    try:
        ids = {
            row["id"] for row in store.run_sync(lambda tx: tx.fetchall("SELECT id FROM deliveries"))
        }
        assert ids == {f"kill-{n}" for n in range(BURST)}
    finally:
        store.close_sync()

    with serve(env, free_port()):  # processing on: each delivery is handled once
        store = open_store(str(db))
        try:
            deadline = time.monotonic() + 30
            while True:
                statuses = store.run_sync(
                    lambda tx: tx.fetchall("SELECT status, tries FROM deliveries")
                )
                if all(row["status"] == "done" for row in statuses):
                    break
                assert time.monotonic() < deadline, statuses
                time.sleep(0.1)
            assert {row["tries"] for row in statuses} == {1}
        finally:
            store.close_sync()
