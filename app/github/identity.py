"""The App's identity: short-lived RS256 JWTs, and installation tokens cached until near expiry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import jwt

from app.clock import Clock

# GitHub rejects a JWT whose iat is in the future; backdating absorbs clock drift.
JWT_BACKDATE = timedelta(seconds=60)
# GitHub's maximum JWT lifetime is 10 minutes; stay under it.
JWT_LIFETIME = timedelta(minutes=9)
# Refresh an installation token this long before it expires so no request carries a dying one.
TOKEN_REFRESH_MARGIN = timedelta(minutes=5)


def make_app_jwt(app_id: int, private_key: str, now: datetime) -> str:
    """Return a JWT that authenticates as the App itself."""
    issued = now - JWT_BACKDATE
    claims = {
        "iat": int(issued.timestamp()),
        "exp": int((now + JWT_LIFETIME).timestamp()),
        "iss": str(app_id),
    }
    return jwt.encode(claims, private_key, algorithm="RS256")


@dataclass(frozen=True)
class InstallationToken:
    """A token that acts as the App inside one installation, maybe narrowed."""

    token: str = field(repr=False)
    expires_at: datetime
    permissions: Mapping[str, str]
    repositories: tuple[str, ...] | None


@dataclass(frozen=True)
class TokenRequest:
    """Which token to mint: an installation, optionally narrowed to repos and permissions."""

    installation_id: int
    repositories: tuple[str, ...] | None = None
    permissions: tuple[tuple[str, str], ...] | None = None

    @staticmethod
    def narrowed(
        installation_id: int,
        repositories: Sequence[str] | None = None,
        permissions: Mapping[str, str] | None = None,
    ) -> TokenRequest:
        """Build a request in a canonical order so equal narrowings share a cache entry."""
        return TokenRequest(
            installation_id,
            tuple(sorted(repositories)) if repositories is not None else None,
            tuple(sorted(permissions.items())) if permissions is not None else None,
        )


Minter = Callable[[TokenRequest], Awaitable[InstallationToken]]


class InstallationTokenCache:
    """Mint installation tokens on demand and reuse each until shortly before it expires."""

    def __init__(self, mint: Minter, clock: Clock) -> None:
        self._mint = mint
        self._clock = clock
        self._tokens: dict[TokenRequest, InstallationToken] = {}
        self._locks: dict[TokenRequest, asyncio.Lock] = {}

    async def get(self, request: TokenRequest) -> InstallationToken:
        """Return a token for `request` with at least the refresh margin left."""
        lock = self._locks.setdefault(request, asyncio.Lock())
        async with lock:  # one mint per request at a time, however many callers wait
            cached = self._tokens.get(request)
            if cached is not None and cached.expires_at - TOKEN_REFRESH_MARGIN > self._clock.now():
                return cached
            fresh = await self._mint(request)
            self._tokens[request] = fresh
            return fresh

    def forget(self, installation_id: int) -> None:
        """Drop every cached token of an installation (it was deleted or suspended)."""
        for request in [r for r in self._tokens if r.installation_id == installation_id]:
            del self._tokens[request]
