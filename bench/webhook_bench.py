"""Webhook intake: signed deliveries of realistic payloads over loopback, with concurrency.

Starts `townhall serve` (processing on, as in production) on a fresh libSQL file, sends N
signed issue deliveries from C concurrent connections, and reports acknowledged deliveries
per second and p50/p99 latency; then checks every delivery is in the store.
Run: .venv/bin/python bench/webhook_bench.py [--deliveries N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.serving import free_port
from app.store import open_store

# The payload builders live with the webhook tests; the benchmark sends the same shapes.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.webhooks.payloads import issues_event, signed

SECRET = "bench-secret"


def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def start_server(db: Path, port: int, process_inbox: bool) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TOWNHALL_GITHUB_APP_ID": "1",
        "TOWNHALL_GITHUB_PRIVATE_KEY": private_key(),
        "TOWNHALL_WEBHOOK_SECRET": SECRET,
        "TOWNHALL_DB_URL": str(db),
        "TOWNHALL_GITHUB_API_URL": "http://127.0.0.1:9",
        "TOWNHALL_LOG_LEVEL": "WARNING",
    }
    townhall = str(Path(sys.executable).parent / "townhall")
    extra = [] if process_inbox else ["--no-process"]
    process = subprocess.Popen([townhall, "serve", "--port", str(port), *extra], env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz")
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("townhall serve did not start")


def prepare(count: int) -> list[bytes]:
    """Build signed HTTP/1.1 requests up front, so the timed loop measures the server."""
    requests = []
    for n in range(count):
        payload = issues_event("opened", number=n + 1, body=f"Issue body {n} " * 20)
        body, headers = signed(payload, SECRET, "issues", str(uuid.uuid4()))
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        requests.append(
            f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            f"{head}\r\n".encode()
            + body
        )
    return requests


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response with a Content-Length body; return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def send_all(port: int, requests: list[bytes], concurrency: int) -> tuple[list[float], int]:
    """Send every request over `concurrency` keep-alive connections; return latencies, failures.

    A raw HTTP/1.1 client: an HTTP library's own overhead would be measured instead of the
    server's on this 2-core machine.
    """
    latencies: list[float] = []
    failures = 0
    queue = iter(requests)

    async def connection() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for request in queue:
            started = time.perf_counter()
            writer.write(request)
            status = await read_response(reader)
            latencies.append(time.perf_counter() - started)
            failures += status != 202
        writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies, failures


def wait_until_processed(db: Path, started: float, limit: float = 120.0) -> float | None:
    """Poll the store (a reader beside the server's writer) until nothing is left to process."""
    store = open_store(str(db), migrate=False)
    try:
        while time.perf_counter() - started < limit:
            left = store.run_sync(
                lambda tx: tx.scalar(
                    "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'processing')"
                )
            )
            if left == 0:
                return time.perf_counter() - started
            time.sleep(0.2)
        return None
    finally:
        store.close_sync()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--no-process", action="store_true", help="measure intake alone (inbox not processed)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        db = Path(directory) / "bench.db"
        port = free_port()
        server = start_server(db, port, not args.no_process)
        try:
            warm_up, timed = prepare(200), prepare(args.deliveries)
            asyncio.run(send_all(port, warm_up, args.concurrency))
            started = time.perf_counter()
            latencies, failures = asyncio.run(send_all(port, timed, args.concurrency))
            elapsed = time.perf_counter() - started
            drained = None if args.no_process else wait_until_processed(db, started)
        finally:
            server.terminate()
            server.wait(10)
        store = open_store(str(db))
        stored = store.run_sync(lambda tx: tx.scalar("SELECT COUNT(*) FROM deliveries"))
        processed = store.run_sync(
            lambda tx: tx.scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'done'")
        )
        store.close_sync()
    latencies.sort()
    size = len(signed(issues_event("opened", body="Issue body 0 " * 20), SECRET, "issues")[0])
    print(
        f"webhook benchmark: {args.deliveries} deliveries (~{size} bytes each), "
        f"{args.concurrency} concurrent connections, "
        f"inbox processing {'off' if args.no_process else 'on'}"
    )
    print(f"  acknowledged/s : {len(latencies) / elapsed:,.0f}")
    print(f"  p50 latency    : {statistics.median(latencies) * 1000:.1f} ms")
    print(f"  p99 latency    : {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms")
    print(f"  non-202        : {failures}")
    print(f"  stored         : {stored} of {args.deliveries + 200} sent (incl. 200 warm-up)")
    print(f"  processed      : {processed} by the time the server was stopped")
    if drained is not None:
        print(
            f"  processing     : every delivery handled {drained:.1f} s after the first was sent "
            f"({args.deliveries / drained:,.0f} deliveries/s through the handlers)"
        )


if __name__ == "__main__":
    main()
