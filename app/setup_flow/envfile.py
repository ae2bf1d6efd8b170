"""Write the new App's credentials into a .env file (mode 600), and say how Modal gets them.

Values are written unquoted on one line (the PEM with `\\n` escapes, which settings turn back
into newlines), so `sed -n 's/^KEY=//p' .env` reads back exactly what Townhall reads: that is
how the printed `modal secret create` line takes them without anyone seeing or pasting them.
An existing key is never replaced without `force`; other lines and comments are kept.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from app.github.manifest import CreatedApp
from app.settings import read_dotenv

APP_ID = "TOWNHALL_GITHUB_APP_ID"
PRIVATE_KEY = "TOWNHALL_GITHUB_PRIVATE_KEY"
PRIVATE_KEY_PATH = "TOWNHALL_GITHUB_PRIVATE_KEY_PATH"
WEBHOOK_SECRET = "TOWNHALL_WEBHOOK_SECRET"  # noqa: S105 - a setting's name
CLIENT_ID = "TOWNHALL_GITHUB_CLIENT_ID"
CLIENT_SECRET = "TOWNHALL_GITHUB_CLIENT_SECRET"  # noqa: S105 - a setting's name
SESSION_SECRET = "TOWNHALL_SESSION_SECRET"  # noqa: S105 - a setting's name
API_URL = "TOWNHALL_GITHUB_API_URL"
# What `townhall setup` writes: the App's identity, its webhook secret and its OAuth client
# (dashboard sign-in, which also needs a session secret: made here when missing).
APP_KEYS = (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, CLIENT_ID, CLIENT_SECRET)
# modal_app.py WEB_SECRET_NAMES: every function gets this secret.
MODAL_SECRET = "townhall-github"  # noqa: S105 - a secret's name
MODE = 0o600


class EnvFileError(Exception):
    """The .env file cannot take the credentials; the message says which key or why."""


def _key_of(line: str) -> str | None:
    # The same reading as app.settings.read_dotenv: comments, `export`, KEY=VALUE.
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    key, sep, _ = text.removeprefix("export ").strip().partition("=")
    return key.strip() if sep else None


def defined_keys(path: Path) -> set[str]:
    """Return the keys `path` defines (none when it does not exist)."""
    if not path.exists():
        return set()
    try:
        return set(read_dotenv(path))
    except OSError as error:
        raise EnvFileError(f"{path}: cannot read: {error.strerror}") from error


def _replaced(keys: Iterable[str]) -> set[str]:
    wanted = set(keys)
    if PRIVATE_KEY in wanted:
        wanted.add(PRIVATE_KEY_PATH)  # a key file and a key both set is an error in settings
    return wanted


def conflicts(path: Path, keys: Iterable[str]) -> list[str]:
    """Return the keys that `path` already defines and a write without force would replace."""
    return sorted(defined_keys(path) & _replaced(keys))


def reads_back(path: Path, key: str) -> bool:
    """Tell whether `sed -n 's/^KEY=//p'` yields exactly the value settings read for `key`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    raw = [line.removeprefix(f"{key}=") for line in lines if line.startswith(f"{key}=")]
    return len(raw) == 1 and read_dotenv(path).get(key) == raw[0]


def check_writable(path: Path) -> None:
    """Fail now, before an App is created, if `path` could not be written later."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise EnvFileError(f"{folder}: no such directory for {path.name}")
    if not os.access(folder, os.W_OK):
        raise EnvFileError(f"{folder}: not writable, so {path.name} cannot be written")


def credential_values(app: CreatedApp, api_url: str) -> dict[str, str]:
    """Return the settings the new App gives, keyed by their environment names."""
    values = {
        APP_ID: str(app.app_id),
        PRIVATE_KEY: app.pem.strip().replace("\r\n", "\n").replace("\n", "\\n"),
        CLIENT_ID: app.client_id,
        CLIENT_SECRET: app.client_secret,
    }
    if app.webhook_secret:
        values[WEBHOOK_SECRET] = app.webhook_secret
    if api_url.rstrip("/") != "https://api.github.com":
        values[API_URL] = api_url.rstrip("/")
    return values


def _checked(key: str, value: str) -> str:
    if "\n" in value or "\r" in value or value != value.strip():
        raise EnvFileError(f"{key}: the value does not fit on one unquoted .env line")
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        raise EnvFileError(f"{key}: a quoted value would be read without its quotes")
    return value


def merged_text(
    text: str, values: Mapping[str, str], keep_if_present: Mapping[str, str], *, force: bool
) -> tuple[str, list[str]]:
    """Return `text` with `values` set (replaced in place only with force), and the keys set.

    Keys of `keep_if_present` are set only when `text` lacks them; every other line stays.
    """
    lines = text.splitlines()
    present = {key for key in map(_key_of, lines) if key}
    clashes = sorted(present & _replaced(values))
    if clashes and not force:
        raise EnvFileError(f"already set: {', '.join(clashes)} (use --force to replace them)")
    wanted = dict(values) | {k: v for k, v in keep_if_present.items() if k not in present}
    out: list[str] = []
    written: set[str] = set()
    for line in lines:
        key = _key_of(line)
        if key == PRIVATE_KEY_PATH and PRIVATE_KEY in values:
            continue  # the new key replaces the key file
        if key in wanted:
            if key not in written:
                out.append(f"{key}={_checked(key, wanted[key])}")
                written.add(key)
            continue
        out.append(line)
    added = [key for key in wanted if key not in written]
    if added:
        if out and out[-1].strip():
            out.append("")
        out.append("# Written by `townhall setup`: the GitHub App's credentials.")
        out += [f"{key}={_checked(key, wanted[key])}" for key in added]
    return "\n".join(out) + "\n", list(wanted)


def write_env(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically; the file is readable by its owner only."""
    folder = path.parent if str(path.parent) else Path(".")
    descriptor, scratch = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        os.fchmod(descriptor, MODE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise


def modal_secret_command(path: Path, keys: Iterable[str]) -> str:
    """Return the `modal secret create` command that reads each key's value from `path`."""
    source = shlex.quote(str(path))
    parts = [f"modal secret create --force {MODAL_SECRET}"]
    for key in keys:
        parts.append(f"{key}=\"$(sed -n 's/^{key}=//p' {source})\"")
    return " \\\n        ".join(parts)
