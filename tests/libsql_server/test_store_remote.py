"""Townhall's store on a libSQL server through the real `libsql` client: URLs and round trips."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.standins.libsql_server.process import LibsqlServerProcess
from app.store import Tx, open_store


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[LibsqlServerProcess]:
    with LibsqlServerProcess(tmp_path / "main.db") as server:
        yield server


@pytest.mark.parametrize("scheme", ["http://", "ws://"])
def test_a_self_hosted_server_url_opens_a_migrated_store(
    remote: LibsqlServerProcess, scheme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = remote.database_url("townhall").replace("http://", scheme)
    store = open_store(url)
    try:
        assert store.schema_version() > 0
    finally:
        store.close_sync()
    assert remote.stats()["requests"]["POST /db/townhall/v3/pipeline"] > 0
    # Taken for a file path, the URL would leave an `http:` or `ws:` directory behind.
    assert not (tmp_path / scheme.rstrip("/")).exists()


def test_a_transaction_costs_two_round_trips_per_statement_plus_two(
    remote: LibsqlServerProcess,
) -> None:
    store = open_store(remote.database_url("townhall"))

    def three_statements(tx: Tx) -> int:
        tx.execute(
            "INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES ('x', 'a', '', '')"
        )
        tx.execute("UPDATE leases SET holder = 'b' WHERE name = 'x'")
        return int(tx.scalar("SELECT COUNT(*) FROM leases"))

    try:
        before = remote.round_trips()
        assert store.run_sync(three_statements) == 1
        # The libsql client describes each statement before running it (two round trips); BEGIN
        # and COMMIT go as scripts, one round trip each, with the autocommit state piggybacked.
        assert remote.round_trips() - before == 2 * 3 + 2
    finally:
        store.close_sync()
