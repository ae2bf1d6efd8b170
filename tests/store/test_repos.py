"""Installation and repository rows: upserts keep what GitHub omits; marks follow the App."""

from __future__ import annotations

from app.clock import ManualClock
from app.store import Store, Tx
from app.store.installations import (
    Installation,
    delete_installation_tx,
    ensure_installation_tx,
    suspend_installation_tx,
    unsuspend_installation_tx,
    upsert_installation_tx,
)
from app.store.repos import (
    Repository,
    deactivate_repos_tx,
    repo_default_branch,
    repo_id_by_name_tx,
    upsert_repo_tx,
)


def _install(store: Store, clock: ManualClock) -> None:
    def install(tx: Tx) -> None:
        upsert_installation_tx(tx, clock, Installation(7, "octo"))
        upsert_repo_tx(tx, clock, 7, Repository(1, "octo/demo", "trunk"))
        upsert_repo_tx(tx, clock, 7, Repository(2, "octo/other", "main"))

    store.run_sync(install)


def _active(store: Store) -> dict[int, int]:
    rows = store.run_sync(lambda tx: tx.fetchall("SELECT id, active FROM repos ORDER BY id"))
    return {row["id"]: row["active"] for row in rows}


async def test_an_omitted_default_branch_keeps_the_stored_one(
    store: Store, clock: ManualClock
) -> None:
    _install(store, clock)
    store.run_sync(lambda tx: upsert_repo_tx(tx, clock, 7, Repository(1, "octo/demo")))
    assert await repo_default_branch(store, 1) == "trunk"
    assert await repo_default_branch(store, 99) is None


def test_repositories_are_found_by_name_whatever_the_case(store: Store, clock: ManualClock) -> None:
    _install(store, clock)
    assert store.run_sync(lambda tx: repo_id_by_name_tx(tx, "Octo/Demo")) == 1
    assert store.run_sync(lambda tx: repo_id_by_name_tx(tx, "octo/nothing")) is None


def test_suspension_and_deletion_deactivate_every_repository(
    store: Store, clock: ManualClock
) -> None:
    _install(store, clock)
    store.run_sync(lambda tx: suspend_installation_tx(tx, clock, 7))
    assert _active(store) == {1: 0, 2: 0}
    store.run_sync(lambda tx: unsuspend_installation_tx(tx, 7))
    assert _active(store) == {1: 1, 2: 1}
    store.run_sync(lambda tx: delete_installation_tx(tx, clock, 7))
    assert _active(store) == {1: 0, 2: 0}
    deleted = store.run_sync(lambda tx: tx.scalar("SELECT deleted_at FROM installations"))
    assert deleted is not None


def test_removed_repositories_are_deactivated_and_kept(store: Store, clock: ManualClock) -> None:
    _install(store, clock)
    store.run_sync(lambda tx: deactivate_repos_tx(tx, clock, [2]))
    assert _active(store) == {1: 1, 2: 0}


def test_ensuring_an_installation_never_overwrites_it(store: Store, clock: ManualClock) -> None:
    _install(store, clock)
    store.run_sync(lambda tx: ensure_installation_tx(tx, clock, 7, "someone-else"))
    login = store.run_sync(lambda tx: tx.scalar("SELECT account_login FROM installations"))
    assert login == "octo"


def test_payload_objects_read_into_records() -> None:
    installation = Installation.from_github({"id": 7, "account": {"login": "o", "type": "User"}})
    assert installation == Installation(7, "o", "User")
    assert Installation.from_github({"id": 8}) == Installation(8, "", "Organization")
    repository = Repository.from_github({"id": 1, "full_name": "o/r", "default_branch": None})
    assert repository == Repository(1, "o/r", "")
