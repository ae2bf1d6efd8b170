"""Ask GitHub only what the rules need about voters: permissions and past contributors."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from githubkit.exception import RequestFailed

from app.clock import Clock
from app.github.client import Client
from app.policy import VotePolicy
from app.votes.ballots import IssueSnapshot, VoterFacts
from app.votes.fetch import Meter
from app.votes.rules import judge_votes
from app.webhooks.permissions import PermissionCache

log = logging.getLogger(__name__)

CONTRIBUTORS_PER_PAGE = 100
# Who has contributed changes slowly; one listing an hour keeps sweeps cheap.
CONTRIBUTORS_TTL = timedelta(hours=1)


@dataclass
class VoterCaches:
    """Short-lived answers about voters, kept across sweeps."""

    clock: Clock
    permissions: PermissionCache = field(init=False)
    contributors: dict[str, tuple[frozenset[str], datetime]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.permissions = PermissionCache(self.clock)


def logins_needing_permission(
    issues: Sequence[IssueSnapshot], policy: VotePolicy, app_login: str, now: datetime
) -> set[str]:
    """Return the people whose write access changes a decision.

    Signal reactors (approve/veto) always; voters only when a maintainer's vote weighs
    differently from anyone else's, and then only those whose vote would count.
    """
    signals = {policy.approve_reaction, policy.veto_reaction} - {""}
    wanted = {
        r.account.login
        for issue in issues
        for r in issue.reactions
        if r.content in signals and r.account.login and not r.account.is_bot
    }
    if policy.maintainer_weight != 1.0:
        bare = VoterFacts(app_login=app_login)
        for issue in issues:
            lines = judge_votes(issue, policy, bare, now)
            wanted |= {line.login for line in lines if line.counted}
    return wanted


def needs_contributors(issues: Sequence[IssueSnapshot], policy: VotePolicy) -> bool:
    """Tell whether past contributors' weight matters for any vote in these issues."""
    if policy.contributor_weight == 1.0:
        return False
    votes = set(policy.up) | set(policy.down)
    return any(r.content in votes for issue in issues for r in issue.reactions)


class VoterLookup:
    """Look voters up through the REST API, each person at most once per sweep."""

    def __init__(
        self,
        client: Client,
        owner: str,
        name: str,
        caches: VoterCaches,
        meter: Meter,
    ) -> None:
        self._client = client
        self._owner = owner
        self._name = name
        self._caches = caches
        self._meter = meter

    async def _permission(self, owner: str, name: str, login: str) -> str:
        self._meter.rest_reads += 1
        try:
            response = await self._client.rest.repos.async_get_collaborator_permission_level(
                owner, name, login
            )
        except RequestFailed as error:
            if error.response.status_code == 404:
                return "none"  # the account is gone: it has no access
            raise
        data = response.parsed_data
        return "maintain" if data.role_name == "maintain" else data.permission

    async def contributors(self) -> frozenset[str]:
        """Return the repository's contributors, from the cache while it is fresh."""
        key = f"{self._owner}/{self._name}".lower()
        now = self._caches.clock.now()
        cached = self._caches.contributors.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        found = await self._list_contributors()
        self._caches.contributors[key] = (found, now + CONTRIBUTORS_TTL)
        return found

    async def _list_contributors(self) -> frozenset[str]:
        """Return the logins GitHub lists as contributors (commit authors on the default branch)."""
        found: set[str] = set()
        page = 1
        while True:
            self._meter.rest_reads += 1
            try:
                response = await self._client.rest.repos.async_list_contributors(
                    self._owner, self._name, per_page=CONTRIBUTORS_PER_PAGE, page=page
                )
            except RequestFailed as error:
                if error.response.status_code == 404:
                    log.warning("contributors of %s/%s unavailable", self._owner, self._name)
                    return frozenset(found)
                raise
            if response.status_code == 204:  # an empty repository: no body to parse
                return frozenset(found)
            batch = response.parsed_data or []
            found |= {person.login.lower() for person in batch if person.login}
            if len(batch) < CONTRIBUTORS_PER_PAGE:
                return frozenset(found)
            page += 1

    async def facts(
        self, issues: Sequence[IssueSnapshot], policy: VotePolicy, app_login: str, now: datetime
    ) -> VoterFacts:
        """Return what the rules need to know about the voters of these issues."""
        permissions = {}
        for login in sorted(logins_needing_permission(issues, policy, app_login, now)):
            permissions[login.lower()] = await self._caches.permissions.permission(
                self._owner, self._name, login, self._permission
            )
        contributors = await self.contributors() if needs_contributors(issues, policy) else None
        return VoterFacts(
            app_login=app_login,
            permissions=permissions,
            contributors=contributors or frozenset(),
        )
