"""`townhall serve` as shipped: the request head is bounded and a stalled body is dropped."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from app.serving import free_port
from tests.webhooks.conftest import SECRET
from tests.webhooks.payloads import issues_event, signed
from tests.webhooks.raw import connect, head, read_until_closed, refused_head, status_of
from tests.webhooks.test_crash import serve


@dataclass(frozen=True)
class Address:
    host: str
    port: int


def test_serve_bounds_heads_and_times_out_stalled_bodies(
    tmp_path: Path, private_key_pem: str
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")},
        "TOWNHALL_GITHUB_APP_ID": "1",
        "TOWNHALL_GITHUB_PRIVATE_KEY": private_key_pem,
        "TOWNHALL_WEBHOOK_SECRET": SECRET,
        "TOWNHALL_DB_URL": str(tmp_path / "serve.db"),
        "TOWNHALL_GITHUB_API_URL": "http://127.0.0.1:9",
        "TOWNHALL_WEBHOOK_BODY_TIMEOUT": "1",
    }
    address = Address("127.0.0.1", free_port())
    body, headers = signed(issues_event("opened"), SECRET, "issues")
    with serve(env, address.port, "--no-process"):
        with connect(address) as sock:
            answer = refused_head(sock, head({**headers, "X-Padding": "x" * (1 << 20)}, 10))
            assert answer == b"" or status_of(answer) == 400

        started = time.monotonic()
        with connect(address) as sock:
            sock.sendall(head(headers, len(body)) + body[:50])  # and then nothing
            assert status_of(read_until_closed(sock)) == 408
        assert time.monotonic() - started < 4

        with connect(address) as sock:
            sock.sendall(head({**headers, "Connection": "close"}, len(body)) + body)
            assert status_of(read_until_closed(sock)) == 202
