"""Run the stand-in in a child process on loopback (tests, benchmarks).

Not a thread, unlike localhub: the `libsql` client keeps the GIL while it waits for the network,
so a server thread in the same process could never answer it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from app.serving import free_port


class LibsqlServerProcess:
    """`python -m app.standins.libsql_server` on a free loopback port; a context manager."""

    def __init__(
        self,
        db: Path,
        *,
        latency_ms: float = 0.0,
        host: str = "127.0.0.1",
        auth_token: str | None = None,
    ) -> None:
        self.db = db
        self.latency_ms = latency_ms
        self.auth_token = auth_token
        self.host = host
        self.port = free_port(host)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL: what `TOWNHALL_DB_URL` names."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> LibsqlServerProcess:
        """Start the server and wait until it answers."""
        command = [sys.executable, "-m", "app.standins.libsql_server", "--host", self.host]
        command += ["--port", str(self.port), "--db", str(self.db)]
        command += ["--latency-ms", str(self.latency_ms)]
        if self.auth_token is not None:
            command += ["--auth-token", self.auth_token]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"the libsql-server stand-in exited with {self._process.returncode}"
                )
            try:
                httpx.get(f"{self.url}/health", timeout=1.0).raise_for_status()
                return self
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the stand-in on {self.url} did not start") from None
                time.sleep(0.05)

    def database_url(self, name: str) -> str:
        """The URL of the server's database `name` (a stand-in extension: `/db/{name}`)."""
        return f"{self.url}/db/{name}"

    def copy_database(self, source: str | None, target: str) -> str:
        """Copy database `source` (the main one when None) to `target`; return its URL."""
        reply = httpx.post(f"{self.url}/_standin/copy", json={"from": source, "to": target})
        reply.raise_for_status()
        return self.database_url(target)

    def stats(self) -> dict[str, Any]:
        """Return the server's request counts (`round_trips`, `requests` by route)."""
        stats: dict[str, Any] = httpx.get(f"{self.url}/_standin/stats").json()
        return stats

    def round_trips(self) -> int:
        """Return how many Hrana HTTP requests the server has answered so far."""
        return int(self.stats()["round_trips"])

    def stop(self) -> None:
        """Stop the server."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)

    def __enter__(self) -> LibsqlServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
