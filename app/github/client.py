"""The one factory for GitHub clients: every GitHub call in Townhall gets its client here.

The base URL comes from settings, so pointing TOWNHALL_GITHUB_API_URL at localhub moves the
whole system offline. Handlers never see a JWT or a token: they ask for a ready client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from githubkit import GitHub, TokenAuthStrategy
from githubkit.retry import RetryChainDecision, RetryRateLimit, RetryServerError

from app.clock import Clock, parse_timestamp
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

Client = GitHub[Any]


class GitHubAccess:
    """Build authenticated githubkit clients for the App and its installations."""

    def __init__(self, api_url: str, credentials: GitHubAppCredentials, clock: Clock) -> None:
        self.api_url = api_url.rstrip("/") + "/"
        self._credentials = credentials
        self._clock = clock
        self._tokens = InstallationTokenCache(self._mint, clock)

    def _client(self, token: str) -> Client:
        return GitHub(
            TokenAuthStrategy(token),
            base_url=self.api_url,
            user_agent=USER_AGENT,
            auto_retry=RETRY_POLICY,
            http_cache=False,
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
        async with self.app_client() as client:
            app = (await client.rest.apps.async_get_authenticated()).parsed_data
        return f"{app.slug}[bot]" if app and app.slug else "townhall[bot]"

    def forget_installation(self, installation_id: int) -> None:
        """Drop cached tokens of an installation that was removed or suspended."""
        self._tokens.forget(installation_id)
