"""The environment a sandboxed command gets: a short allowlist, never a secret."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from app.policy import RESERVED_ENV_NAMES
from app.secretscan import declared_env_problem, is_secret_name, looks_like_secret

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Set by the sandbox itself; `[sandbox].env` may not name them (app.policy checks the same).
_FIXED = RESERVED_ENV_NAMES

__all__ = ["DEFAULT_PATH", "is_secret_name", "looks_like_secret", "sandbox_env"]


def sandbox_env(
    *,
    home: str,
    tmpdir: str,
    path: str = DEFAULT_PATH,
    extra: Mapping[str, str] | None = None,
    declared: Iterable[tuple[str, str]] = (),
) -> dict[str, str]:
    """Build a command's whole environment; raise ValueError for anything secret-looking.

    `extra` comes from the operator's side and may not even name a secret; `declared` is the
    repository's `[sandbox].env` (EnvironmentPlan.env), held to app.secretscan's rule for
    declared variables, under which `OPENAI_API_KEY = "dummy"` is allowed.
    """
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
    for name, value in declared:
        if name in _FIXED:
            raise ValueError(f"{name} is set by the sandbox and cannot be overridden")
        problem = declared_env_problem(name, value)
        if problem is not None:
            raise ValueError(f"{name} may not enter a sandbox: {problem}")
        env[name] = value
    for name, value in env.items():
        if looks_like_secret(value):
            raise ValueError(
                f"the value of {name} contains a credential and may not enter a sandbox"
            )
    return env
