"""Operator settings: read once from an environment mapping (and an optional .env file)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal, cast, get_args

Tier = Literal["fast", "standard", "deep"]
TIERS: tuple[Tier, ...] = ("fast", "standard", "deep")

DEFAULT_MODELS: dict[Tier, str] = {
    "fast": "claude-haiku-5-5",
    "standard": "claude-sonnet-5-5",
    "deep": "claude-opus-5-5",
}


# Backend names as settings spell them; app/wiring.py turns each into its object.
SandboxBackend = Literal["local", "modal"]
DispatchBackend = Literal["inline", "modal"]


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens; cache writes and reads are priced from the input rate."""

    input_per_mtok: float
    output_per_mtok: float
    cache_write_factor: float = 1.25
    cache_read_factor: float = 0.1


# Dollars per million tokens. Operators should check these against Anthropic's price list
# and override them with TOWNHALL_PRICES; a wrong table makes every budget wrong.
DEFAULT_PRICES: dict[str, Price] = {
    "claude-haiku-5-5": Price(1.0, 5.0),
    "claude-sonnet-5-5": Price(3.0, 15.0),
    "claude-opus-5-5": Price(5.0, 25.0),
}


class Need(StrEnum):
    """A part of the settings that a command cannot run without."""

    GITHUB_APP = "github_app"
    WEBHOOK = "webhook"
    MODEL = "model"


@dataclass(frozen=True)
class GitHubAppCredentials:
    """The GitHub App's identity: its id and RS256 private key (PEM)."""

    app_id: int
    private_key: str = field(repr=False)


class SettingsError(Exception):
    """Settings are missing or malformed; `problems` lists every one of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
        super().__init__(f"Townhall settings are invalid ({count}):\n{lines}")


@dataclass(frozen=True)
class Settings:
    """Everything the operator configures. Built by `load_settings`; passed in, never global."""

    github_api_url: str = "https://api.github.com"
    github_app: GitHubAppCredentials | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_max_bytes: int = 25 * 1024 * 1024
    # A body still arriving after this many seconds is dropped (408): stalled senders
    # must not hold connections open.
    webhook_body_timeout_s: float = 10.0
    db_url: str = "townhall.db"
    db_auth_token: str | None = field(default=None, repr=False)
    anthropic_api_key: str | None = field(default=None, repr=False)
    anthropic_base_url: str | None = None
    models: Mapping[Tier, str] = field(default_factory=lambda: dict(DEFAULT_MODELS))
    prices: Mapping[str, Price] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    sandbox_backend: SandboxBackend = "local"
    # Local sandboxes are isolated by bubblewrap (`bwrap`: a name on PATH or a path) and
    # refused without it, unless `unisolated_sandbox` (TOWNHALL_UNISOLATED_SANDBOX=1), which
    # is for the scripted demo and tests only.
    unisolated_sandbox: bool = False
    bwrap: str = "bwrap"
    # Prepared environments (local backend) live in `cache_dir`/envs; None: the user's cache.
    cache_dir: Path | None = None
    max_environments: int = 8
    dispatch_backend: DispatchBackend = "inline"
    daily_budget_usd: float = 25.0
    public_url: str | None = None
    log_level: str = "INFO"
    # Dashboard sign-in (the App's OAuth web flow); without it private repositories stay hidden.
    github_web_url: str = "https://github.com"
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = field(default=None, repr=False)
    session_secret: str | None = field(default=None, repr=False)

    def require_github_app(self) -> GitHubAppCredentials:
        """Return the App credentials or fail naming the missing settings."""
        if self.github_app is None:
            raise SettingsError(
                ["TOWNHALL_GITHUB_APP_ID and TOWNHALL_GITHUB_PRIVATE_KEY are required here"]
            )
        return self.github_app

    def require_webhook_secret(self) -> str:
        """Return the webhook secret or fail naming the missing setting."""
        if not self.webhook_secret:
            raise SettingsError(["TOWNHALL_WEBHOOK_SECRET is required here"])
        return self.webhook_secret

    def price_for(self, model: str) -> Price | None:
        """Return the configured price of `model`, or None when it is not in the table."""
        return self.prices.get(model)


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a .env file: KEY=VALUE lines, `#` comments, optional quotes, `export` prefix."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise SettingsError([f"{path}:{number}: expected KEY=VALUE, got {raw!r}"])
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
            # Double-quoted values may carry \n, which is how PEM keys fit on one line.
            if raw.strip().split("=", 1)[1].strip().startswith('"'):
                value = value.replace("\\n", "\n")
        values[key.strip()] = value
    return values


def environment_with_dotenv(
    environ: Mapping[str, str], dotenv_path: Path | None = None
) -> dict[str, str]:
    """Merge a .env file under the real environment (the environment wins)."""
    path = dotenv_path or Path(environ.get("TOWNHALL_ENV_FILE", ".env"))
    merged = read_dotenv(path) if path.is_file() else {}
    merged.update(environ)
    return merged


class _Reader:
    """Collects every problem while reading typed values out of an environment mapping."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def text(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def integer(self, name: str, *, minimum: int | None = None) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name}: expected an integer, got {raw!r}")
            return None
        if minimum is not None and value < minimum:
            self.problems.append(f"{name}: must be at least {minimum}, got {value}")
            return None
        return value

    def number(self, name: str, *, minimum: float = 0.0) -> float | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name}: expected a number, got {raw!r}")
            return None
        if value < minimum:
            self.problems.append(f"{name}: must be at least {minimum}, got {value}")
            return None
        return value

    def choice(self, name: str, choices: Iterable[str], default: str) -> str:
        raw = self.text(name)
        options = list(choices)
        if raw is None:
            return default
        if raw not in options:
            self.problems.append(f"{name}: expected one of {', '.join(options)}, got {raw!r}")
            return default
        return raw

    def flag(self, name: str) -> bool:
        raw = (self.text(name) or "0").lower()
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw not in ("0", "false", "no", "off"):
            self.problems.append(f"{name}: expected 1 or 0 (true or false), got {raw!r}")
        return False

    def url(self, name: str, default: str | None) -> str | None:
        raw = self.text(name)
        if raw is None:
            return default
        if not raw.startswith(("http://", "https://")):
            self.problems.append(f"{name}: expected an http(s) URL, got {raw!r}")
            return default
        return raw.rstrip("/")


def _private_key(reader: _Reader) -> str | None:
    inline = reader.text("TOWNHALL_GITHUB_PRIVATE_KEY")
    key_path = reader.text("TOWNHALL_GITHUB_PRIVATE_KEY_PATH")
    if inline and key_path:
        reader.problems.append(
            "TOWNHALL_GITHUB_PRIVATE_KEY and TOWNHALL_GITHUB_PRIVATE_KEY_PATH are both set; "
            "set only one"
        )
        return None
    if key_path:
        try:
            inline = Path(key_path).expanduser().read_text(encoding="utf-8")
        except OSError as error:
            reader.problems.append(
                f"TOWNHALL_GITHUB_PRIVATE_KEY_PATH: cannot read {key_path}: {error.strerror}"
            )
            return None
    if inline is None:
        return None
    inline = inline.replace("\\n", "\n").strip() + "\n"
    if "-----BEGIN" not in inline or "PRIVATE KEY-----" not in inline:
        reader.problems.append("TOWNHALL_GITHUB_PRIVATE_KEY: not a PEM private key")
        return None
    return inline


def _models(reader: _Reader) -> dict[Tier, str]:
    models = dict(DEFAULT_MODELS)
    for tier in TIERS:
        value = reader.text(f"TOWNHALL_MODEL_{tier.upper()}")
        if value:
            models[tier] = value
    return models


def parse_prices(raw: str) -> dict[str, Price]:
    """Parse `model=input/output[,model=input/output...]` or a JSON object of the same."""
    table: dict[str, Price] = {}
    if raw.lstrip().startswith("{"):
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        for model, rates in data.items():
            if not isinstance(rates, dict) or {"input", "output"} - set(rates):
                raise ValueError(f"{model}: expected {{'input': ..., 'output': ...}}")
            table[str(model)] = Price(float(rates["input"]), float(rates["output"]))
        return table
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        model, sep, rates = entry.partition("=")
        input_rate, slash, output_rate = rates.partition("/")
        if not sep or not slash or not model.strip():
            raise ValueError(f"expected model=input/output, got {entry!r}")
        table[model.strip()] = Price(float(input_rate), float(output_rate))
    return table


def _prices(reader: _Reader, models: Mapping[Tier, str]) -> dict[str, Price]:
    prices = dict(DEFAULT_PRICES)
    raw = reader.text("TOWNHALL_PRICES")
    if raw:
        try:
            prices.update(parse_prices(raw))
        except (ValueError, json.JSONDecodeError) as error:
            reader.problems.append(f"TOWNHALL_PRICES: {error}")
    for tier, model in models.items():
        if model not in prices:
            reader.problems.append(
                f"TOWNHALL_PRICES: no price for the {tier} model {model!r}; add {model}=in/out"
            )
    return prices


def _db(reader: _Reader) -> tuple[str, str | None]:
    url = reader.text("TOWNHALL_DB_URL") or "townhall.db"
    token = reader.text("TOWNHALL_DB_AUTH_TOKEN")
    if url.startswith(("libsql://", "https://", "wss://")) and not token:
        reader.problems.append(f"TOWNHALL_DB_AUTH_TOKEN: required for the remote store {url}")
    return url, token


# Sessions are signed with HMAC-SHA256; a shorter key is guessable offline from one cookie.
MIN_SESSION_SECRET = 32


def web_url_for(api_url: str) -> str:
    """Return GitHub's web address for an API address (github.com, GHES, or localhub)."""
    if api_url.rstrip("/") == "https://api.github.com":
        return "https://github.com"
    return api_url.rstrip("/").removesuffix("/api/v3")


def _sign_in(reader: _Reader) -> tuple[str | None, str | None, str | None]:
    client_id = reader.text("TOWNHALL_GITHUB_CLIENT_ID")
    client_secret = reader.text("TOWNHALL_GITHUB_CLIENT_SECRET")
    session_secret = reader.text("TOWNHALL_SESSION_SECRET")
    if bool(client_id) != bool(client_secret):
        reader.problems.append(
            "TOWNHALL_GITHUB_CLIENT_ID and TOWNHALL_GITHUB_CLIENT_SECRET: set both or neither"
        )
    if client_id and not session_secret:
        reader.problems.append("TOWNHALL_SESSION_SECRET: required for dashboard sign-in")
    if session_secret and len(session_secret) < MIN_SESSION_SECRET:
        reader.problems.append(
            f"TOWNHALL_SESSION_SECRET: at least {MIN_SESSION_SECRET} characters, got"
            f" {len(session_secret)}"
        )
        session_secret = None
    return client_id, client_secret, session_secret


def load_settings(env: Mapping[str, str], need: Iterable[Need] = ()) -> Settings:
    """Build Settings from `env`, checking that every part in `need` is present.

    Raises SettingsError listing every missing or malformed value at once.
    """
    reader = _Reader(env)
    needed = set(need)
    app_id = reader.integer("TOWNHALL_GITHUB_APP_ID", minimum=1)
    private_key = _private_key(reader)
    github_app = (
        GitHubAppCredentials(app_id, private_key) if app_id is not None and private_key else None
    )
    if Need.GITHUB_APP in needed:
        if "TOWNHALL_GITHUB_APP_ID" not in env:
            reader.problems.append("TOWNHALL_GITHUB_APP_ID: missing (the GitHub App's numeric id)")
        if not env.get("TOWNHALL_GITHUB_PRIVATE_KEY") and not env.get(
            "TOWNHALL_GITHUB_PRIVATE_KEY_PATH"
        ):
            reader.problems.append(
                "TOWNHALL_GITHUB_PRIVATE_KEY: missing (PEM text, or a file in "
                "TOWNHALL_GITHUB_PRIVATE_KEY_PATH)"
            )
    webhook_secret = reader.text("TOWNHALL_WEBHOOK_SECRET")
    if Need.WEBHOOK in needed and not webhook_secret:
        reader.problems.append("TOWNHALL_WEBHOOK_SECRET: missing (the App's webhook secret)")
    api_key = reader.text("ANTHROPIC_API_KEY")
    if Need.MODEL in needed and not api_key:
        reader.problems.append("ANTHROPIC_API_KEY: missing (needed to call the model)")
    db_url, db_token = _db(reader)
    models = _models(reader)
    api_url = reader.url("TOWNHALL_GITHUB_API_URL", None) or "https://api.github.com"
    client_id, client_secret, session_secret = _sign_in(reader)
    settings = Settings(
        github_api_url=api_url,
        github_web_url=reader.url("TOWNHALL_GITHUB_WEB_URL", None) or web_url_for(api_url),
        oauth_client_id=client_id,
        oauth_client_secret=client_secret,
        session_secret=session_secret,
        github_app=github_app,
        webhook_secret=webhook_secret,
        webhook_max_bytes=reader.integer("TOWNHALL_WEBHOOK_MAX_BYTES", minimum=1024)
        or 25 * 1024 * 1024,
        webhook_body_timeout_s=_default(
            reader.number("TOWNHALL_WEBHOOK_BODY_TIMEOUT", minimum=0.1), 10.0
        ),
        db_url=db_url,
        db_auth_token=db_token,
        anthropic_api_key=api_key,
        anthropic_base_url=reader.url("ANTHROPIC_BASE_URL", None),
        models=models,
        prices=_prices(reader, models),
        # `choice` returns one of the given names, so the casts only tell mypy what it checked.
        sandbox_backend=cast(
            SandboxBackend,
            reader.choice("TOWNHALL_SANDBOX_BACKEND", get_args(SandboxBackend), "local"),
        ),
        unisolated_sandbox=reader.flag("TOWNHALL_UNISOLATED_SANDBOX"),
        bwrap=reader.text("TOWNHALL_BWRAP") or "bwrap",
        cache_dir=cache_dir_from(env),
        max_environments=reader.integer("TOWNHALL_MAX_ENVIRONMENTS", minimum=1) or 8,
        dispatch_backend=cast(
            DispatchBackend,
            reader.choice("TOWNHALL_DISPATCH_BACKEND", get_args(DispatchBackend), "inline"),
        ),
        daily_budget_usd=_default(reader.number("TOWNHALL_DAILY_BUDGET_USD"), 25.0),
        public_url=reader.url("TOWNHALL_PUBLIC_URL", None),
        log_level=reader.choice(
            "TOWNHALL_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"
        ),
    )
    if reader.problems:
        raise SettingsError(reader.problems)
    return settings


def cache_dir_from(env: Mapping[str, str]) -> Path:
    """Return Townhall's cache directory: TOWNHALL_CACHE_DIR, else the XDG user cache."""
    if env.get("TOWNHALL_CACHE_DIR", "").strip():
        return Path(env["TOWNHALL_CACHE_DIR"].strip()).expanduser()
    if env.get("XDG_CACHE_HOME", "").strip():
        return Path(env["XDG_CACHE_HOME"].strip()) / "townhall"
    return Path(env.get("HOME") or Path.home()) / ".cache" / "townhall"


def _default(value: float | None, default: float) -> float:
    return default if value is None else value


def settings_from_process(need: Iterable[Need] = ()) -> Settings:
    """Load settings from this process's environment and .env file (call at start-up only)."""
    return load_settings(environment_with_dotenv(os.environ), need)
