"""Dashboard sign-in settings, the App manifest's callback, and repository privacy records."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.clock import ManualClock
from app.github.manifest import app_manifest
from app.logs import secrets_of
from app.settings import SettingsError, load_settings
from app.store import Tx, open_store
from app.store.installations import ensure_installation_tx
from app.store.repos import Repository, repo_visibility_tx, upsert_repo_tx
from app.wiring import dashboard_sign_in

SESSION = "s" * 32
SIGN_IN = {
    "TOWNHALL_GITHUB_CLIENT_ID": "Iv1.abc",
    "TOWNHALL_GITHUB_CLIENT_SECRET": "client-secret-value-123",
    "TOWNHALL_SESSION_SECRET": SESSION,
}


def test_sign_in_settings_are_read_and_kept_secret() -> None:
    settings = load_settings(SIGN_IN | {"TOWNHALL_PUBLIC_URL": "https://th.example"})
    assert settings.oauth_client_id == "Iv1.abc"
    assert settings.github_web_url == "https://github.com"
    assert "client-secret-value-123" not in repr(settings) and SESSION not in repr(settings)
    assert {"client-secret-value-123", SESSION} <= set(secrets_of(settings))
    sign_in = dashboard_sign_in(settings)
    assert sign_in is not None and sign_in.public_url == "https://th.example"
    assert sign_in.oauth.authorize_url("https://th.example/oauth/callback", "st").startswith(
        "https://github.com/login/oauth/authorize?client_id=Iv1.abc&"
    )
    assert dashboard_sign_in(load_settings({})) is None  # private repositories stay hidden


@pytest.mark.parametrize(
    ("api_url", "web_url"),
    [
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),  # localhub serves both
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
    ],
)
def test_githubs_web_address_follows_the_api_address(api_url: str, web_url: str) -> None:
    assert load_settings({"TOWNHALL_GITHUB_API_URL": api_url}).github_web_url == web_url
    chosen = {"TOWNHALL_GITHUB_API_URL": api_url, "TOWNHALL_GITHUB_WEB_URL": "https://w.example"}
    assert load_settings(chosen).github_web_url == "https://w.example"


def test_incomplete_sign_in_settings_are_reported() -> None:
    with pytest.raises(SettingsError) as half:
        load_settings({"TOWNHALL_GITHUB_CLIENT_ID": "Iv1.abc"})
    assert any("set both or neither" in problem for problem in half.value.problems)
    assert any("TOWNHALL_SESSION_SECRET: required" in p for p in half.value.problems)
    with pytest.raises(SettingsError) as short:
        load_settings(SIGN_IN | {"TOWNHALL_SESSION_SECRET": "short"})
    assert any("at least 32 characters" in problem for problem in short.value.problems)


def test_the_manifest_names_the_sign_in_callback() -> None:
    manifest = app_manifest("Townhall", "https://th.example/")
    assert manifest["callback_urls"] == ["https://th.example/oauth/callback"]


def test_privacy_is_recorded_from_payloads_and_kept_when_a_payload_omits_it(
    tmp_path: Path,
) -> None:
    store = open_store(str(tmp_path / "townhall.db"))
    clock = ManualClock()
    payload = {"id": 7, "full_name": "octo/vault", "private": True}
    assert Repository.from_github(payload).private is True
    assert Repository.from_github({"id": 7, "full_name": "octo/vault"}).private is None
    try:

        def record(tx: Tx, repository: Repository) -> None:
            ensure_installation_tx(tx, clock, 1, "octo")
            upsert_repo_tx(tx, clock, 1, repository)

        store.run_sync(lambda tx: record(tx, Repository(8, "octo/unknown")))
        store.run_sync(lambda tx: record(tx, Repository.from_github(payload)))
        store.run_sync(lambda tx: record(tx, Repository(7, "octo/vault")))  # no `private` field
        seen = {repo.full_name: repo.private for repo in store.run_sync(repo_visibility_tx)}
        assert seen == {"octo/vault": True, "octo/unknown": None}
        store.run_sync(lambda tx: record(tx, Repository(7, "octo/vault", private=False)))
        assert store.run_sync(repo_visibility_tx)[0].private is False
    finally:
        store.close_sync()
