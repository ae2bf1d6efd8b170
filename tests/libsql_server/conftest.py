"""The libSQL server stand-in in a thread on loopback, for clients that do not hold the GIL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.serving import ServerThread
from app.standins.libsql_server import LibsqlServer


@pytest.fixture
def server(tmp_path: Path) -> LibsqlServer:
    """A stand-in over a fresh SQLite file."""
    return LibsqlServer(tmp_path / "hrana.db")


@pytest.fixture
def http(server: LibsqlServer) -> Iterator[httpx.Client]:
    """An HTTP client for the served stand-in (raw Hrana requests, as the spec writes them)."""
    with ServerThread(server.create_app()) as thread, httpx.Client(base_url=thread.url) as client:
        yield client
