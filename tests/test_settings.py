"""Settings: typed values from an environment mapping, every problem reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.settings import Need, Price, SettingsError, load_settings, parse_prices, read_dotenv


@pytest.fixture(scope="module")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_defaults_need_nothing() -> None:
    settings = load_settings({})
    assert settings.github_api_url == "https://api.github.com"
    assert settings.db_url == "townhall.db"
    assert settings.sandbox_backend == "local"
    assert settings.models["fast"] in settings.prices
    assert settings.unisolated_sandbox is False and settings.bwrap == "bwrap"


def test_sandbox_isolation_and_cache_settings(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "TOWNHALL_UNISOLATED_SANDBOX": "1",
            "TOWNHALL_BWRAP": "/opt/bwrap",
            "TOWNHALL_CACHE_DIR": str(tmp_path / "cache"),
            "TOWNHALL_MAX_ENVIRONMENTS": "3",
        }
    )
    assert settings.unisolated_sandbox is True and settings.bwrap == "/opt/bwrap"
    assert settings.cache_dir == tmp_path / "cache" and settings.max_environments == 3
    xdg = load_settings({"XDG_CACHE_HOME": "/var/cache/me", "TOWNHALL_UNISOLATED_SANDBOX": "no"})
    assert xdg.cache_dir == Path("/var/cache/me/townhall") and not xdg.unisolated_sandbox
    home = load_settings({"HOME": "/home/op"})
    assert home.cache_dir == Path("/home/op/.cache/townhall")
    with pytest.raises(SettingsError) as caught:
        load_settings({"TOWNHALL_UNISOLATED_SANDBOX": "maybe", "TOWNHALL_MAX_ENVIRONMENTS": "0"})
    assert [problem.split(":")[0] for problem in caught.value.problems] == [
        "TOWNHALL_UNISOLATED_SANDBOX",
        "TOWNHALL_MAX_ENVIRONMENTS",
    ]


def test_full_environment_is_typed(pem: str, tmp_path: Path) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_text(pem)
    settings = load_settings(
        {
            "TOWNHALL_GITHUB_APP_ID": "1234",
            "TOWNHALL_GITHUB_PRIVATE_KEY_PATH": str(key_file),
            "TOWNHALL_WEBHOOK_SECRET": "s3cret",
            "TOWNHALL_GITHUB_API_URL": "http://127.0.0.1:9000/",
            "TOWNHALL_DB_URL": "libsql://db.turso.io",
            "TOWNHALL_DB_AUTH_TOKEN": "tok",
            "ANTHROPIC_API_KEY": "sk-test",
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:9001",
            "TOWNHALL_MODEL_FAST": "m-fast",
            "TOWNHALL_PRICES": "m-fast=0.5/2.5",
            "TOWNHALL_SANDBOX_BACKEND": "modal",
            "TOWNHALL_DISPATCH_BACKEND": "modal",
            "TOWNHALL_DAILY_BUDGET_USD": "12.5",
        },
        need=[Need.GITHUB_APP, Need.WEBHOOK, Need.MODEL],
    )
    assert settings.require_github_app().app_id == 1234
    assert "PRIVATE KEY" in settings.require_github_app().private_key
    assert settings.github_api_url == "http://127.0.0.1:9000"
    assert settings.models["fast"] == "m-fast"
    assert settings.price_for("m-fast") == Price(0.5, 2.5)
    assert settings.sandbox_backend == "modal"
    assert settings.dispatch_backend == "modal"
    assert settings.daily_budget_usd == 12.5


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {
                "TOWNHALL_GITHUB_APP_ID": "abc",
                "TOWNHALL_GITHUB_PRIVATE_KEY": "not a key",
                "TOWNHALL_GITHUB_API_URL": "ftp://x",
                "TOWNHALL_SANDBOX_BACKEND": "docker",
                "TOWNHALL_DAILY_BUDGET_USD": "-3",
                "TOWNHALL_DB_URL": "libsql://db.turso.io",
            },
            need=[Need.WEBHOOK, Need.MODEL],
        )
    problems = "\n".join(caught.value.problems)
    for name in (
        "TOWNHALL_GITHUB_APP_ID",
        "TOWNHALL_GITHUB_PRIVATE_KEY",
        "TOWNHALL_GITHUB_API_URL",
        "TOWNHALL_SANDBOX_BACKEND",
        "TOWNHALL_DAILY_BUDGET_USD",
        "TOWNHALL_DB_AUTH_TOKEN",
        "TOWNHALL_WEBHOOK_SECRET",
        "ANTHROPIC_API_KEY",
    ):
        assert name in problems
    assert len(caught.value.problems) == 8
    assert "8 problems" in str(caught.value)


def test_commands_ask_only_for_what_they_need() -> None:
    load_settings({"TOWNHALL_WEBHOOK_SECRET": "x"}, need=[Need.WEBHOOK])
    with pytest.raises(SettingsError, match="ANTHROPIC_API_KEY"):
        load_settings({"TOWNHALL_WEBHOOK_SECRET": "x"}, need=[Need.WEBHOOK, Need.MODEL])


def test_secrets_are_not_in_repr(pem: str) -> None:
    settings = load_settings(
        {
            "TOWNHALL_GITHUB_APP_ID": "1",
            "TOWNHALL_GITHUB_PRIVATE_KEY": pem,
            "TOWNHALL_WEBHOOK_SECRET": "hook-secret-value",
            "ANTHROPIC_API_KEY": "sk-secret-value",
        }
    )
    text = repr(settings)
    assert "hook-secret-value" not in text
    assert "sk-secret-value" not in text
    assert "PRIVATE KEY" not in text


def test_unpriced_model_is_an_error() -> None:
    with pytest.raises(SettingsError, match="no price for the deep model"):
        load_settings({"TOWNHALL_MODEL_DEEP": "mystery-model"})


def test_price_table_formats() -> None:
    assert parse_prices("a=1/2, b=3/4") == {"a": Price(1, 2), "b": Price(3, 4)}
    assert parse_prices('{"a": {"input": 1, "output": 2}}') == {"a": Price(1, 2)}
    with pytest.raises(ValueError, match="model=input/output"):
        parse_prices("a=1")


def test_dotenv_is_parsed_and_escaped_newlines_kept(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        '# comment\nexport TOWNHALL_WEBHOOK_SECRET="abc"\nKEY="line1\\nline2"\nPLAIN=x=y\n'
    )
    values = read_dotenv(env_file)
    assert values == {"TOWNHALL_WEBHOOK_SECRET": "abc", "KEY": "line1\nline2", "PLAIN": "x=y"}
    env_file.write_text("garbage line\n")
    with pytest.raises(SettingsError, match="expected KEY=VALUE"):
        read_dotenv(env_file)
