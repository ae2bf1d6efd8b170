"""App JWTs and the installation token cache, against a manual clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.clock import ManualClock
from app.github.identity import (
    JWT_BACKDATE,
    TOKEN_REFRESH_MARGIN,
    InstallationToken,
    InstallationTokenCache,
    TokenRequest,
    make_app_jwt,
)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_jwt_is_rs256_backdated_and_short_lived(key: rsa.RSAPrivateKey) -> None:
    clock = ManualClock()
    token = make_app_jwt(4321, pem(key), clock.now())
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(
        token,
        key.public_key(),
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    now = int(clock.now().timestamp())
    assert claims["iss"] == "4321"
    assert claims["iat"] == now - int(JWT_BACKDATE.total_seconds())
    assert 0 < claims["exp"] - now <= 600


class CountingMinter:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.requests: list[TokenRequest] = []

    async def __call__(self, request: TokenRequest) -> InstallationToken:
        self.requests.append(request)
        await asyncio.sleep(0.01)  # a real mint takes a round trip; callers overlap meanwhile
        return InstallationToken(
            token=f"tok-{len(self.requests)}",
            expires_at=self.clock.now() + timedelta(hours=1),
            permissions={},
            repositories=request.repositories,
        )


async def test_tokens_are_reused_until_the_refresh_margin() -> None:
    clock = ManualClock()
    minter = CountingMinter(clock)
    cache = InstallationTokenCache(minter, clock)
    request = TokenRequest.narrowed(7)
    first = await cache.get(request)
    clock.advance(timedelta(hours=1) - TOKEN_REFRESH_MARGIN - timedelta(seconds=1))
    assert (await cache.get(request)).token == first.token
    clock.advance(timedelta(seconds=2))
    assert (await cache.get(request)).token != first.token
    assert len(minter.requests) == 2


async def test_concurrent_callers_share_one_mint() -> None:
    clock = ManualClock()
    minter = CountingMinter(clock)
    cache = InstallationTokenCache(minter, clock)
    tokens = await asyncio.gather(*(cache.get(TokenRequest.narrowed(7)) for _ in range(10)))
    assert {t.token for t in tokens} == {"tok-1"}
    assert len(minter.requests) == 1


async def test_narrowed_tokens_are_cached_separately_and_canonically() -> None:
    clock = ManualClock()
    minter = CountingMinter(clock)
    cache = InstallationTokenCache(minter, clock)
    a = await cache.get(TokenRequest.narrowed(7, ["b", "a"], {"issues": "write"}))
    b = await cache.get(TokenRequest.narrowed(7, ["a", "b"], {"issues": "write"}))
    c = await cache.get(TokenRequest.narrowed(7))
    assert a.token == b.token != c.token
    assert a.repositories == ("a", "b")
    cache.forget(7)
    assert (await cache.get(TokenRequest.narrowed(7))).token == "tok-3"
