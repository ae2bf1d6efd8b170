"""The one factory for GitHub clients: every GitHub call in Townhall gets its client here.

The base URL comes from settings, so pointing TOWNHALL_GITHUB_API_URL at localhub moves the
whole system offline. Handlers never see a JWT or a token: they ask for a ready client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any, Final

from githubkit import GitHub, TokenAuthStrategy
from githubkit.rest.paginator import Paginator
from githubkit.retry import RetryChainDecision, RetryRateLimit, RetryServerError
from githubkit.versions import RestVersionSwitcher
from githubkit_schemas.v2022_11_28.rest import RestNamespace

from app.clock import Clock, parse_timestamp
from app.github.compat import LabelCompatTransport, SyncLabelCompatTransport
from app.github.etags import MAX_ENTRIES, ConditionalTransport, ETagCache
from app.github.identity import (
    InstallationToken,
    InstallationTokenCache,
    TokenRequest,
    make_app_jwt,
)
from app.settings import GitHubAppCredentials

# Rate limits: honour retry-after (primary and secondary) a few times, then give up loudly;
# githubkit waits between tries, so nothing busy-loops.
RETRY_POLICY = RetryChainDecision(RetryRateLimit(max_retry=3), RetryServerError(max_retry=3))

USER_AGENT = "townhall-app"

# The REST API version every call asks for (githubkit would send its newest, 2026-03-10).
# 2022-11-28 is chosen on purpose: it is the version GitHub's published description
# (@octokit/openapi, checked by tests/contract) describes, GitHub supports it until at least
# March 2028, and it keeps fields Townhall reads: `merge_commit_sha` on pull requests (the
# post-merge check of a PR merged by hand needs it; 2026-03-10 removed it). githubkit's
# 2026-03-10 label model also requires `archived_at`/`archived_by`, which no published
# description defines, so parsing any labelled PR could fail on GitHub.
REST_API_VERSION: Final = "2022-11-28"


class PinnedRest(RestNamespace):
    """The pinned version's REST operations, plus githubkit's `paginate`."""

    def paginate(
        self, request: Callable[..., Any], map_func: Any = None, *args: Any, **kwargs: Any
    ) -> Paginator[Any]:
        """Iterate every page of a list operation (githubkit's Paginator)."""
        return RestVersionSwitcher(self._github).paginate(request, map_func, *args, **kwargs)


class Client(GitHub[Any]):
    """A githubkit client whose `rest` namespace is the pinned API version's.

    Its transports fill in the label fields githubkit's models require beyond GitHub's
    description (app/github/compat.py), unless the caller brings its own transports.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        verify = kwargs.get("ssl_verify", True)
        kwargs.setdefault("transport", SyncLabelCompatTransport(verify=verify))
        kwargs.setdefault("async_transport", LabelCompatTransport(verify=verify))
        super().__init__(*args, **kwargs)

    @cached_property
    def rest(self) -> PinnedRest:  # type: ignore[override]
        """Return the REST namespace of REST_API_VERSION (sends its X-GitHub-Api-Version)."""
        return PinnedRest(self)


class GitHubAccess:
    """Build authenticated githubkit clients for the App and its installations."""

    def __init__(
        self,
        api_url: str,
        credentials: GitHubAppCredentials,
        clock: Clock,
        *,
        conditional_requests: bool = True,
    ) -> None:
        self.api_url = api_url.rstrip("/") + "/"
        self._credentials = credentials
        self._clock = clock
        self._tokens = InstallationTokenCache(self._mint, clock)
        self._app_login: str | None = None  # an App's slug never changes: asked once
        # One ETag cache for every client: the CEO polls the same resources each tick. Without
        # conditional requests (benchmarks' "before") it keeps nothing, so nothing revalidates.
        self.etags = ETagCache(MAX_ENTRIES if conditional_requests else 0)

    def _client(self, token: str) -> Client:
        return Client(
            TokenAuthStrategy(token),
            base_url=self.api_url,
            user_agent=USER_AGENT,
            auto_retry=RETRY_POLICY,
            http_cache=False,  # hishel ignores `timeout`; ConditionalTransport revalidates
            async_transport=LabelCompatTransport(ConditionalTransport(self.etags)),
            timeout=30.0,
        )

    def app_client(self) -> Client:
        """A client that acts as the App itself (app and installation endpoints only)."""
        token = make_app_jwt(
            self._credentials.app_id, self._credentials.private_key, self._clock.now()
        )
        return self._client(token)

    async def _mint(self, request: TokenRequest) -> InstallationToken:
        body: dict[str, Any] = {}
        if request.repositories is not None:
            body["repositories"] = list(request.repositories)
        if request.permissions is not None:
            body["permissions"] = dict(request.permissions)
        async with self.app_client() as app:
            response = await app.rest.apps.async_create_installation_access_token(
                request.installation_id, data=body
            )
        minted = response.parsed_data
        permissions = minted.permissions.model_dump(exclude_none=True) if minted.permissions else {}
        repositories = minted.repositories or None
        return InstallationToken(
            token=minted.token,
            expires_at=parse_timestamp(minted.expires_at),
            permissions={str(k): str(v) for k, v in permissions.items()},
            repositories=tuple(repo.name for repo in repositories) if repositories else None,
        )

    async def installation_token(
        self,
        installation_id: int,
        repositories: Sequence[str] | None = None,
        permissions: Mapping[str, str] | None = None,
    ) -> InstallationToken:
        """Return a cached or fresh token, narrowed to `repositories` and `permissions`."""
        return await self._tokens.get(
            TokenRequest.narrowed(installation_id, repositories, permissions)
        )

    async def installation_client(
        self,
        installation_id: int,
        repositories: Sequence[str] | None = None,
        permissions: Mapping[str, str] | None = None,
    ) -> Client:
        """A client acting as the App inside one installation."""
        token = await self.installation_token(installation_id, repositories, permissions)
        return self._client(token.token)

    async def app_login(self) -> str:
        """The App's own login (`<slug>[bot]`), as its comments and reactions show it."""
        if self._app_login is None:
            async with self.app_client() as client:
                app = (await client.rest.apps.async_get_authenticated()).parsed_data
            self._app_login = f"{app.slug}[bot]" if app and app.slug else "townhall[bot]"
        return self._app_login

    def forget_installation(self, installation_id: int) -> None:
        """Drop cached tokens of an installation that was removed or suspended."""
        self._tokens.forget(installation_id)
