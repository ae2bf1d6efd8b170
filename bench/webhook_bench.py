"""Webhook intake side by side with @octokit/webhooks, under the same load generator.

The peer is GitHub's Node toolkit (what Probot runs): a tiny Node server around
`createNodeMiddleware` that verifies each delivery and dispatches it to an `issues.opened`
handler, storing nothing. Townhall is `townhall serve` with processing on, storing every
delivery in a libSQL file. Both get the same signed `issues.opened` example payload from
GitHub's docs (as shipped in @octokit/webhooks-examples), from `wrk -t1 -c32 -d10s` with a Lua
script that gives every request its own X-GitHub-Delivery. Printed for both: acknowledged
requests per second, p50 and p99 latency, and the ratios; then the deliveries Townhall answered
2xx are counted in its inbox, and a single one missing fails the run (exit 1). Last, how many
deliveries the processor handles in the few seconds after the load (it yields during it).

Needs node, npm and wrk (`apt-get install -y wrk`, or .ci/install-wrk). npm installs the two
packages into a temporary folder (or into --octokit-dir, kept for the next run).
Run: .venv/bin/python bench/webhook_bench.py [--duration 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The server under test is this checkout's code (bench/..), also when another checkout's package
# is installed in the venv: a copy of the repository benchmarks its own code.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.serving import free_port  # noqa: E402
from app.store import open_store  # noqa: E402

SECRET = "bench-secret"
PACKAGES = ("@octokit/webhooks@14", "@octokit/webhooks-examples@7")

# The peer: verify and dispatch like Probot (a handler runs per delivery), store nothing.
NODE_SERVER = """\
import http from "node:http";
import { Webhooks, createNodeMiddleware } from "@octokit/webhooks";

const webhooks = new Webhooks({ secret: process.env.BENCH_SECRET });
let handled = 0;
webhooks.on("issues.opened", async ({ id, payload }) => {
  handled += payload.issue.number > 0 ? 1 : 0;
});
const middleware = createNodeMiddleware(webhooks, { path: "/webhook" });
const server = http.createServer(middleware);
server.listen(Number(process.env.BENCH_PORT), "127.0.0.1", () => console.log("listening"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
"""

# Print the first `issues.opened` example as GitHub's docs show it, compact.
NODE_EXAMPLE = """\
import { createRequire } from "node:module";
const examples = createRequire(import.meta.url)("@octokit/webhooks-examples");
const issues = examples.find((entry) => entry.name === "issues");
const opened = issues.examples.find((example) => example.action === "opened");
process.stdout.write(JSON.stringify(opened));
"""

# wrk: POST the signed body; each request gets its own delivery id (Townhall dedups by it).
# `done` prints the figures as one JSON line (latencies in microseconds).
WRK_SCRIPT = """\
local file = io.open("{body_path}", "rb")
wrk.method = "POST"
wrk.path = "/webhook"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "GitHub-Hookshot/bench"
wrk.headers["X-GitHub-Event"] = "issues"
wrk.headers["X-GitHub-Hook-ID"] = "1"
wrk.headers["X-Hub-Signature-256"] = "{signature}"

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tag", "{prefix}" .. threads .. "-")
end

local sent = 0
function request()
  sent = sent + 1
  wrk.headers["X-GitHub-Delivery"] = tag .. sent
  return wrk.format()
end

function done(summary, latency, requests)
  io.write(string.format(
    '{{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d,'
    .. ' "p50_us": %d, "p99_us": %d, "max_us": %d}}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class Load:
    """What one wrk run measured."""

    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def acknowledged(self) -> int:
        """Requests answered 2xx (wrk counts a status of 400 and above as an error)."""
        return self.requests - self.non_2xx

    @property
    def per_second(self) -> float:
        """Acknowledged requests per second."""
        return self.acknowledged / self.seconds


def need(tool: str, hint: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise SystemExit(f"webhook bench: `{tool}` not found; {hint}")
    return found


def install_octokit(folder: Path) -> None:
    """npm-install the peer and GitHub's example payloads into `folder` (once)."""
    if (folder / "node_modules" / "@octokit" / "webhooks-examples").is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text('{"private": true, "type": "module"}\n')
    npm = need("npm", "install Node.js 18 or later")
    subprocess.run(
        [npm, "install", "--silent", "--no-audit", "--no-fund", *PACKAGES], cwd=folder, check=True
    )


def example_payload(folder: Path) -> bytes:
    """The `issues.opened` example from @octokit/webhooks-examples, as bytes to send."""
    script = folder / "example.mjs"
    script.write_text(NODE_EXAMPLE)
    node = need("node", "install Node.js 18 or later")
    return subprocess.run([node, str(script)], cwd=folder, check=True, capture_output=True).stdout


def wait_until_up(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    """Wait until the server accepts connections (the peer answers no other path)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"webhook bench: {name} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"webhook bench: {name} did not start within 30 s")


def start_octokit(folder: Path, port: int) -> subprocess.Popen[bytes]:
    script = folder / "server.mjs"
    script.write_text(NODE_SERVER)
    env = {**os.environ, "BENCH_SECRET": SECRET, "BENCH_PORT": str(port)}
    node = need("node", "install Node.js 18 or later")
    process = subprocess.Popen([node, str(script)], cwd=folder, env=env, stdout=subprocess.DEVNULL)
    wait_until_up(port, process, "the octokit server")
    return process


def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def start_townhall(db: Path, port: int) -> subprocess.Popen[bytes]:
    """`townhall serve` from this checkout, processing on, on a fresh libSQL file."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")},
        "PYTHONPATH": str(ROOT),
        "TOWNHALL_GITHUB_APP_ID": "1",
        "TOWNHALL_GITHUB_PRIVATE_KEY": private_key(),
        "TOWNHALL_WEBHOOK_SECRET": SECRET,
        "TOWNHALL_DB_URL": str(db),
        "TOWNHALL_GITHUB_API_URL": "http://127.0.0.1:9",  # discard port: GitHub is not called
        "TOWNHALL_LOG_LEVEL": "ERROR",
    }
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    wait_until_up(port, process, "townhall serve")
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def run_wrk(folder: Path, port: int, body: bytes, prefix: str, args: argparse.Namespace) -> Load:
    """Run wrk against the server on `port`; deliveries are named `<prefix><thread>-<n>`."""
    wrk = need("wrk", "install it: apt-get install -y wrk (or run .ci/install-wrk)")
    body_path = folder / "body.json"
    body_path.write_bytes(body)
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    script = folder / f"{prefix}post.lua"
    script.write_text(WRK_SCRIPT.format(body_path=body_path, signature=signature, prefix=prefix))
    command = [
        wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--timeout",
        "10s", "-s", str(script), f"http://127.0.0.1:{port}/webhook",
    ]  # fmt: skip
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    return Load(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        non_2xx=figures["status_errors"],
        socket_errors=figures["socket_errors"],
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
    )


def measure(
    folder: Path, port: int, body: bytes, name: str, args: argparse.Namespace
) -> tuple[Load, str]:
    """A short warm-up, then the timed run; return its figures and its delivery-id prefix."""
    warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
    run_wrk(folder, port, body, f"{name}-warm-", warm)
    prefix = f"{name}-{uuid.uuid4().hex[:8]}-"
    return run_wrk(folder, port, body, prefix, args), prefix


def processed(db: Path) -> int:
    """Deliveries handled so far (read beside the server's writer, like any second process)."""
    store = open_store(str(db), migrate=False)
    try:
        return int(
            store.run_sync(
                lambda tx: tx.scalar(
                    "SELECT COUNT(*) FROM deliveries WHERE status IN ('done', 'ignored')"
                )
            )
        )
    finally:
        store.close_sync()


def inbox_counts(db: Path, prefix: str) -> tuple[int, int]:
    """Rows the timed run left in the inbox, and how many of them were already processed."""
    store = open_store(str(db), migrate=False)
    try:
        return store.run_sync(
            lambda tx: (
                int(tx.scalar("SELECT COUNT(*) FROM deliveries WHERE id LIKE ?", (prefix + "%",))),
                int(
                    tx.scalar(
                        "SELECT COUNT(*) FROM deliveries WHERE id LIKE ?"
                        " AND status IN ('done', 'ignored')",
                        (prefix + "%",),
                    )
                ),
            )
        )
    finally:
        store.close_sync()


def row(name: str, load: Load) -> str:
    return (
        f"  {name:<28}{load.per_second:>10,.0f}{load.p50_ms:>10.1f}{load.p99_ms:>10.1f}"
        f"{load.acknowledged:>10,}{load.non_2xx + load.socket_errors:>9,}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t (default 1)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server")
    parser.add_argument("--octokit-dir", type=Path, help="keep the npm install here for reuse")
    parser.add_argument(
        "--after", type=float, default=5.0, help="seconds of processing watched after the load"
    )
    args = parser.parse_args()
    need("wrk", "install it: apt-get install -y wrk (or run .ci/install-wrk)")
    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as scratch:
        work = Path(scratch)
        octokit_dir = args.octokit_dir or work / "octokit"
        install_octokit(octokit_dir)
        body = example_payload(octokit_dir)

        peer_port = free_port()
        peer = start_octokit(octokit_dir, peer_port)
        try:
            octokit, _ = measure(work, peer_port, body, "octokit", args)
        finally:
            stop(peer)

        db = work / "townhall.db"
        port = free_port()
        server = start_townhall(db, port)
        try:
            townhall, prefix = measure(work, port, body, "townhall", args)
            # Under load the processor yields to intake; once the load stops it catches up.
            before = processed(db)
            time.sleep(args.after)
            caught_up = processed(db) - before
        finally:
            stop(server)  # graceful: what was acknowledged is already committed
        stored, handled = inbox_counts(db, prefix)

    load = os.getloadavg()[0]
    print(
        f"webhook intake: issues.opened example ({len(body):,} bytes, signed), "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s; "
        f"load average {load:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"  {'':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'2xx':>10}{'errors':>9}")
    print(row("@octokit/webhooks (Node)", octokit))
    print(row("townhall serve (stored)", townhall))
    rate = townhall.per_second / octokit.per_second
    tail = townhall.p99_ms / octokit.p99_ms
    print(
        f"  ratio: {rate:.2f}x octokit's req/s (goal >= 1, floor 0.5); p99 {tail:.2f}x (goal <= 2)"
    )
    lost = max(townhall.acknowledged - stored, 0)
    print(
        f"  inbox: {stored:,} rows for {townhall.acknowledged:,} deliveries answered 2xx "
        f"({lost} lost); {handled:,} of them processed when the server stopped"
    )
    print(
        f"  processing: {caught_up:,} deliveries handled in the {args.after:g} s after the load "
        f"({caught_up / args.after:,.0f}/s; all are about one issue, so they run one at a time)"
    )
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
