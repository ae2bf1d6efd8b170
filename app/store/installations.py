"""Installation rows: created, suspended, unsuspended and deleted as the App is (un)installed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.clock import Clock
from app.store.db import Tx
from app.store.times import to_db


@dataclass(frozen=True)
class Installation:
    """An installation of the App: its id and the account it is installed on."""

    id: int
    account_login: str
    account_type: str = "Organization"

    @staticmethod
    def from_github(installation: Mapping[str, Any]) -> Installation:
        """Read an installation object of a webhook payload (its account may be absent)."""
        account = installation.get("account") or {}
        return Installation(
            id=int(installation["id"]),
            account_login=str(account.get("login", "")),
            account_type=str(account.get("type", "Organization")),
        )


def upsert_installation_tx(tx: Tx, clock: Clock, installation: Installation) -> None:
    """Record an installation (created, or seen again)."""
    tx.execute(
        "INSERT INTO installations (id, account_login, account_type, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " account_login = excluded.account_login, account_type = excluded.account_type,"
        " deleted_at = NULL",
        (
            installation.id,
            installation.account_login,
            installation.account_type,
            to_db(clock.now()),
        ),
    )


def ensure_installation_tx(tx: Tx, clock: Clock, installation_id: int, owner_login: str) -> None:
    """Make sure an installation row exists (a delivery may arrive before `installation`)."""
    tx.execute(
        "INSERT INTO installations (id, account_login, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (id) DO NOTHING",
        (installation_id, owner_login, to_db(clock.now())),
    )


def delete_installation_tx(tx: Tx, clock: Clock, installation_id: int) -> None:
    """Mark an installation deleted and its repositories inactive (their history is kept)."""
    tx.execute(
        "UPDATE installations SET deleted_at = ? WHERE id = ?",
        (to_db(clock.now()), installation_id),
    )
    _set_repos_active_tx(tx, installation_id, active=False)


def suspend_installation_tx(tx: Tx, clock: Clock, installation_id: int) -> None:
    """Mark an installation suspended and its repositories inactive."""
    tx.execute(
        "UPDATE installations SET suspended_at = ? WHERE id = ?",
        (to_db(clock.now()), installation_id),
    )
    _set_repos_active_tx(tx, installation_id, active=False)


def unsuspend_installation_tx(tx: Tx, installation_id: int) -> None:
    """Clear an installation's suspension and make its repositories active again."""
    tx.execute("UPDATE installations SET suspended_at = NULL WHERE id = ?", (installation_id,))
    _set_repos_active_tx(tx, installation_id, active=True)


def _set_repos_active_tx(tx: Tx, installation_id: int, *, active: bool) -> None:
    tx.execute(
        "UPDATE repos SET active = ? WHERE installation_id = ?",
        (1 if active else 0, installation_id),
    )
