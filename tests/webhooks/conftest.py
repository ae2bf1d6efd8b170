"""Fixtures: App credentials, settings for a loopback GitHub, and a served webhook app."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.serving import ServerThread
from app.settings import GitHubAppCredentials, Settings
from app.wiring import Runtime, build_runtime, build_web_app

SECRET = "webhook-test-secret"


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def settings(tmp_path: Path, private_key_pem: str) -> Settings:
    return Settings(
        github_api_url="http://127.0.0.1:9",  # discard port: these tests never call GitHub
        github_app=GitHubAppCredentials(1, private_key_pem),
        webhook_secret=SECRET,
        webhook_max_bytes=64 * 1024,
        db_url=str(tmp_path / "web.db"),
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    built = build_runtime(settings)
    yield built
    built.store.close_sync()


@pytest.fixture
def served(runtime: Runtime) -> Iterator[ServerThread]:
    with ServerThread(build_web_app(runtime), bounded=True) as server:
        yield server


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record at INFO and above, uvicorn's included (its logger does not propagate)."""
    caplog.set_level(logging.INFO)
    uvicorn_logger = logging.getLogger("uvicorn")
    uvicorn_logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        uvicorn_logger.removeHandler(caplog.handler)
