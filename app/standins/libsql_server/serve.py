"""Run the libSQL server stand-in standalone (wired to `townhall libsql-server`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import uvicorn

from .server import LibsqlServer


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    db: Path | None = None,
    *,
    latency_ms: float = 0.0,
    log_level: str = "warning",
    auth_token: str | None = None,
) -> None:
    """Serve Hrana over HTTP for the SQLite file `db` (a fresh temporary one when None)."""
    path = db or Path(tempfile.mkdtemp(prefix="libsql-standin-")) / "standin.db"
    server = LibsqlServer(path, latency_ms=latency_ms, auth_token=auth_token)
    delay = f", {latency_ms:g} ms added per round trip" if latency_ms else ""
    print(
        f"libsql-server stand-in: TOWNHALL_DB_URL=http://{host}:{port} (database {path}{delay})",
        flush=True,
    )
    uvicorn.run(server.create_app(), host=host, port=port, log_level=log_level)
