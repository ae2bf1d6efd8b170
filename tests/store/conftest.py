"""Every store test runs twice: on an embedded libSQL file, and on a libSQL server over HTTP.

The server is the sqld stand-in in its own process, reached by the real `libsql` client through
Hrana over HTTP: the path Townhall takes to Turso in production.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.standins.libsql_server.process import LibsqlServerProcess
from app.store import Store, open_store

MIGRATED = "migrated"


@pytest.fixture(scope="session")
def libsql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LibsqlServerProcess]:
    """One stand-in per test process, holding a migrated database that tests start from."""
    with LibsqlServerProcess(tmp_path_factory.mktemp("libsql") / "main.db") as server:
        open_store(server.database_url(MIGRATED)).close_sync()
        yield server


@pytest.fixture(params=["file", "remote"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh database: a file path, or a database on the libSQL server (`http://`)."""
    if request.param == "file":
        return str(tmp_path / "townhall.db")
    server: LibsqlServerProcess = request.getfixturevalue("libsql_server")
    # A copy of the migrated database: migrating again over HTTP costs a second per test.
    return server.copy_database(MIGRATED, uuid.uuid4().hex)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store on the backend the test is parametrised with."""
    opened = open_store(store_url)
    yield opened
    opened.close_sync()
