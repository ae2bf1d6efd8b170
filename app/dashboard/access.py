"""Who sees which repository on the dashboard.

Public repositories are shown to everyone. A private repository, or one whose privacy is not
recorded yet, is shown only to a signed-in viewer whose permission on it GitHub confirms
(read or better), asked through the App's installation and cached for a minute. Without
sign-in, or when GitHub cannot be asked, private repositories stay hidden.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from githubkit.exception import RequestFailed

from app.clock import Clock
from app.github.client import GitHubAccess
from app.store.repos import RepoVisibility
from app.webhooks.permissions import PermissionCache, api_lookup

log = logging.getLogger("townhall.dashboard")

# GitHub's answer for someone with no access at all; every other permission can read.
NO_ACCESS = "none"


class RepoReaders:
    """Ask GitHub whether a person may read a repository, through the App's installation."""

    def __init__(self, github: GitHubAccess, clock: Clock) -> None:
        self._github = github
        self._cache = PermissionCache(clock)

    async def can_read(self, repo: RepoVisibility, login: str) -> bool:
        """Tell whether `login` has read permission or better on `repo` (False when unsure)."""
        owner, _, name = repo.full_name.partition("/")

        async def lookup(owner: str, name: str, login: str) -> str:
            client = await self._github.installation_client(repo.installation_id)
            try:
                return await api_lookup(client)(owner, name, login)
            except RequestFailed as error:
                if error.response.status_code in (403, 404):
                    return NO_ACCESS  # not a collaborator, or not a user GitHub knows
                raise

        try:
            permission = await self._cache.permission(owner, name, login, lookup)
        except Exception:  # an outage must hide the repository, not break the page
            log.warning("cannot check %s's permission on %s", login, repo.full_name, exc_info=True)
            return False
        return permission != NO_ACCESS


async def visible_repo_ids(
    repos: Iterable[RepoVisibility], login: str | None, readers: RepoReaders | None
) -> frozenset[int]:
    """Return the ids of the repositories a viewer (None: anonymous) may see."""
    known = list(repos)
    public = {repo.id for repo in known if repo.private is False}
    others = [repo for repo in known if repo.private is not False]
    if not login or readers is None or not others:
        return frozenset(public)
    # One question per private repository, asked together so the page waits for the slowest.
    allowed = await asyncio.gather(*(readers.can_read(repo, login) for repo in others))
    return frozenset(public | {repo.id for repo, ok in zip(others, allowed, strict=True) if ok})
