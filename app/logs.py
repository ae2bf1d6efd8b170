"""Structured logging: one JSON object per line, tagged with the delivery, task and attempt.

The tags come from context variables set with `log_context`, so every line logged while a
delivery or an attempt is being handled carries them, including lines from libraries and from
asyncio tasks started inside the context. Every line passes a redactor first: token and key
shapes, and the secret values registered at start-up, never reach the output.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from app.settings import Settings

REDACTED = "[REDACTED]"
# Shorter registered values are not redacted: a 1-3 character "secret" would erase ordinary
# words from every line, and a value that short protects nothing anyway.
MIN_SECRET_LENGTH = 8

# Shapes of credentials, whoever's they are. Each pattern's first group (if any) is kept.
SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"-----BEGIN[A-Z0-9 ]*(?:PRIVATE )?KEY-----.*?(?:-----END[A-Z0-9 ]*KEY-----|\Z)", re.S
    ),
    re.compile(r"\b(?:ghs|ghp|gho|ghu|ghr)_[A-Za-z0-9_]{8,}"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{8,}"),
    re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{4,}"),
    re.compile(r"\beyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*"),  # JWTs
    re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=\-]{8,}", re.I),
    re.compile(
        r"(\bAuthorization[\"']?\s*[:=]\s*[\"']?(?:token|Basic)\s+)[A-Za-z0-9._~+/=\-]+", re.I
    ),
    re.compile(r"(://[^/\s:@]+:)[^@\s/]+(?=@)"),  # passwords in URLs
)

# Attributes every LogRecord has; anything else on a record came from `extra=` and is kept.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message"}  # uvicorn adds a coloured copy of the message
)

_delivery: ContextVar[str | None] = ContextVar("townhall_delivery", default=None)
_task: ContextVar[int | None] = ContextVar("townhall_task", default=None)
_attempt: ContextVar[int | None] = ContextVar("townhall_attempt", default=None)


@contextlib.contextmanager
def log_context(
    *, delivery: str | None = None, task: int | None = None, attempt: int | None = None
) -> Iterator[None]:
    """Tag every line logged inside the block with the given delivery, task and attempt."""
    delivery_token = _delivery.set(delivery) if delivery is not None else None
    task_token = _task.set(task) if task is not None else None
    attempt_token = _attempt.set(attempt) if attempt is not None else None
    try:
        yield
    finally:
        if attempt_token is not None:
            _attempt.reset(attempt_token)
        if task_token is not None:
            _task.reset(task_token)
        if delivery_token is not None:
            _delivery.reset(delivery_token)


def current_log_context() -> dict[str, Any]:
    """Return the tags set by the enclosing `log_context` blocks (unset ones omitted)."""
    values = {"delivery": _delivery.get(), "task": _task.get(), "attempt": _attempt.get()}
    return {name: value for name, value in values.items() if value is not None}


class Redactor:
    """Replace credential shapes and registered secret values in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.register(secrets)

    def register(self, secrets: Iterable[str]) -> None:
        """Add secret values (API keys, tokens, webhook secrets) to redact wherever they appear."""
        for secret in secrets:
            value = secret.strip()
            if len(value) >= MIN_SECRET_LENGTH:
                self._secrets.add(value)
                # A PEM key may be logged a line at a time; its body lines are secret too.
                self._secrets.update(
                    line.strip()
                    for line in value.splitlines()
                    if len(line.strip()) >= MIN_SECRET_LENGTH and "-----" not in line
                )

    def redact(self, text: str) -> str:
        """Return `text` with every secret replaced by a marker."""
        # Longest first, so a secret that contains another is removed whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in SECRET_PATTERNS:
            text = pattern.sub(_keep_prefix, text)
        return text


def _keep_prefix(match: re.Match[str]) -> str:
    prefix = match.group(1) if match.re.groups else None
    return f"{prefix or ''}{REDACTED}"


def redact(text: str) -> str:
    """Redact `text` with the process's redactor (shapes plus registered secrets)."""
    return _REDACTOR.redact(text)


def register_secrets(secrets: Iterable[str | None]) -> None:
    """Register configured secret values so no log line (or redacted text) ever shows them."""
    _REDACTOR.register(value for value in secrets if value)


def secrets_of(settings: Settings) -> list[str]:
    """Return the secret values in `settings` (to pass to `configure_logging`)."""
    values = [settings.webhook_secret, settings.db_auth_token, settings.anthropic_api_key]
    values += [settings.oauth_client_secret, settings.session_secret]
    if settings.github_app is not None:
        values.append(settings.github_app.private_key)
    return [value for value in values if value]


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message, context, extras."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a single redacted JSON line."""
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("delivery", "task", "attempt"):
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES and name not in line:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(self._redacted(line), default=str, ensure_ascii=False)

    def _redacted(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._redactor.redact(value)
        if isinstance(value, dict):
            return {key: self._redacted(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._redacted(item) for item in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self._redactor.redact(str(value))


class ContextFilter(logging.Filter):
    """Copy the current delivery, task and attempt onto each record (unless it has its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Tag the record; never drop it."""
        for name, value in current_log_context().items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class _TownhallHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs (found again to replace it, never doubled)."""


def configure_logging(
    level: str, secrets: Iterable[str | None] = (), stream: TextIO | None = None
) -> None:
    """Send every log record, as redacted JSON lines, to stderr (or `stream`); call at start-up."""
    register_secrets(secrets)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _TownhallHandler):
            root.removeHandler(handler)
    handler = _TownhallHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter(_REDACTOR))
    root.addHandler(handler)
    root.setLevel(level)


# The process's one redactor: it starts empty and learns values through register_secrets.
_REDACTOR = Redactor()
