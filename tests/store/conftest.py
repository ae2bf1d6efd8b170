"""Every store test runs on three backends: a libSQL file, and a libSQL server over HTTP reached
by our Hrana client (production's path to Turso) and by the real `libsql` client.

The server is the sqld stand-in in its own process (the `libsql` client holds the GIL while it
waits, so a server thread in the test process could never answer it). Running the suite through
the `libsql` client too keeps the stand-in honest against a client we did not write.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.standins.libsql_server.process import LibsqlServerProcess
from app.store import Store, open_store
from app.store.db import RemoteClient

MIGRATED = "migrated"


@dataclass(frozen=True)
class Backend:
    """Where a test's store lives and which client reaches it."""

    url: str
    remote_client: RemoteClient = "hrana"


@pytest.fixture(scope="session")
def libsql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LibsqlServerProcess]:
    """One stand-in per test process, holding a migrated database that tests start from."""
    with LibsqlServerProcess(tmp_path_factory.mktemp("libsql") / "main.db") as server:
        open_store(server.database_url(MIGRATED)).close_sync()
        yield server


@pytest.fixture(params=["file", "hrana", "libsql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A fresh database: a file, or a database on the libSQL server (`http://`) and a client."""
    if request.param == "file":
        return Backend(str(tmp_path / "townhall.db"))
    server: LibsqlServerProcess = request.getfixturevalue("libsql_server")
    # A copy of the migrated database: migrating again over HTTP costs time in every test.
    return Backend(server.copy_database(MIGRATED, uuid.uuid4().hex), request.param)


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    """A migrated store on the backend the test is parametrised with."""
    opened = open_store(backend.url, remote_client=backend.remote_client)
    yield opened
    opened.close_sync()
