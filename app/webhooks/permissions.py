"""Who may run maintainer commands: write or admin permission, checked via the API, cached."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from app.clock import Clock
from app.github.client import Client

# Permission changes are rare; a short cache keeps a burst of commands to one API call.
PERMISSION_TTL = timedelta(seconds=60)
MAINTAINER_PERMISSIONS = frozenset({"admin", "maintain", "write"})

Lookup = Callable[[str, str, str], Awaitable[str]]


def api_lookup(client: Client) -> Lookup:
    """Look a user's permission up through the collaborator permission endpoint."""

    async def lookup(owner: str, repo: str, login: str) -> str:
        response = await client.rest.repos.async_get_collaborator_permission_level(
            owner, repo, login
        )
        data = response.parsed_data
        # `maintain` only shows in role_name; `permission` folds it into `write`.
        return "maintain" if data.role_name == "maintain" else data.permission

    return lookup


class PermissionCache:
    """Remember each (repo, user) permission for a short while."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._entries: dict[tuple[str, str, str], tuple[str, datetime]] = {}

    async def permission(self, owner: str, repo: str, login: str, lookup: Lookup) -> str:
        """Return the user's permission on the repo, asking `lookup` on a cache miss."""
        key = (owner.lower(), repo.lower(), login.lower())
        cached = self._entries.get(key)
        now = self._clock.now()
        if cached is not None and cached[1] > now:
            return cached[0]
        permission = await lookup(owner, repo, login)
        self._entries[key] = (permission, now + PERMISSION_TTL)
        return permission

    async def is_maintainer(self, owner: str, repo: str, login: str, lookup: Lookup) -> bool:
        """Tell whether the user has write, maintain or admin permission."""
        return await self.permission(owner, repo, login, lookup) in MAINTAINER_PERMISSIONS
