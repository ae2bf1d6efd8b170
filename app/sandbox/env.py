"""The environment a sandboxed command gets: a short allowlist, never a secret."""

from __future__ import annotations

import re
from collections.abc import Mapping

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Name parts that mark a credential (`GITHUB_TOKEN`, `OPENAI_API_KEY`, `DB_PASSWORD`, ...).
_SECRET_WORDS = re.compile(
    r"(TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|APIKEY|PRIVATE|COOKIE|SESSION|(^|_)(KEY|PASS|AUTH|PAT)(_|$))"
)
# Whole families of variables that belong to the trusted side.
_SECRET_PREFIXES = (
    "ANTHROPIC_",
    "TOWNHALL_",
    "GITHUB_",
    "GH_",
    "MODAL_",
    "TURSO_",
    "LIBSQL_",
    "AWS_",
)
# Values that carry a credential whatever the variable is called.
_SECRET_VALUES = re.compile(
    r"://[^/\s:@]+:[^/\s@]+@"
    r"|gh[opsu]_[A-Za-z0-9]{20}|github_pat_|sk-ant-"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY"
)

_FIXED = ("PATH", "HOME", "TMPDIR", "LANG")


def is_secret_name(name: str) -> bool:
    """Return whether an environment variable's name says it holds a secret."""
    upper = name.upper()
    return upper.startswith(_SECRET_PREFIXES) or _SECRET_WORDS.search(upper) is not None


def looks_like_secret(value: str) -> bool:
    """Return whether a value contains a credential (URL userinfo, a token, a private key)."""
    return _SECRET_VALUES.search(value) is not None


def sandbox_env(
    *, home: str, tmpdir: str, path: str = DEFAULT_PATH, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Build a command's whole environment; raise ValueError for anything secret-looking."""
    env = {
        "PATH": path,
        "HOME": home,
        "TMPDIR": tmpdir,
        "LANG": "C.UTF-8",
        # A system gitconfig may hold credentials or helpers; the sandbox never reads it.
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        # Bytecode caches are keyed on mtime in whole seconds: an edit and a re-run within one
        # second (the agent's fix rounds) would run the stale code. They are never part of a
        # change either.
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name, value in (extra or {}).items():
        if name in _FIXED:
            raise ValueError(f"{name} is set by the sandbox and cannot be overridden")
        if is_secret_name(name):
            raise ValueError(f"{name} looks like a secret and may not enter a sandbox")
        if looks_like_secret(value):
            raise ValueError(
                f"the value of {name} contains a credential and may not enter a sandbox"
            )
        env[name] = value
    for name, value in env.items():
        if looks_like_secret(value):
            raise ValueError(
                f"the value of {name} contains a credential and may not enter a sandbox"
            )
    return env
