"""`townhall dev`: the webhook endpoint and the tick loop in one process, against the stand-ins."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from app.serving import ServerThread, free_port
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.standins.scripted_model import ScriptedModel

TOWNHALL = str(Path(sys.executable).parent / "townhall")


@pytest.fixture
def dev_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    keys = generate_app_keypair()
    hub = LocalHub(tmp_path / "hub", token_ttl=timedelta(hours=1))
    with (
        ServerThread(hub.create_app()) as hub_server,
        ServerThread(ScriptedModel().create_app()) as model_server,
        LocalHubControl(hub_server.url) as ctl,
    ):
        ctl.create_app("townhall", keys.public_key_pem, app_id=31, owner="townhall-org")
        yield {
            **{
                k: v for k, v in os.environ.items() if not k.startswith(("TOWNHALL_", "ANTHROPIC_"))
            },
            "TOWNHALL_GITHUB_APP_ID": "31",
            "TOWNHALL_GITHUB_PRIVATE_KEY": keys.private_key_pem,
            "TOWNHALL_WEBHOOK_SECRET": "dev-secret",
            "TOWNHALL_GITHUB_API_URL": hub_server.url,
            "TOWNHALL_DB_URL": str(tmp_path / "dev.db"),
            "ANTHROPIC_API_KEY": "scripted",
            "ANTHROPIC_BASE_URL": model_server.url,
        }


def test_dev_serves_webhooks_and_keeps_ticking(dev_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [TOWNHALL, "dev", "--port", str(port), "--every", "0.5", "--workdir", str(tmp_path / "w")],
        env=dev_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        assert process.stdout is not None
        # It says where it listens first, then the loop keeps ticking.
        banner = process.stdout.readline()
        assert banner.startswith(f"townhall dev: webhooks at http://127.0.0.1:{port}/webhook")
        ticks = [process.stdout.readline() for _ in range(2)]
        assert all(line.startswith("tick: ") for line in ticks), ticks
    finally:
        process.terminate()
        process.wait(10)
