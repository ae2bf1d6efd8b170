"""Trusted-side git: fetch a repository through a `Remote`; the token never reaches a checkout.

The installation token travels in an HTTP header given to git through GIT_CONFIG_* variables
of the trusted process: not in the URL, not in argv, not in any config file on disk. Git here
reads no configuration but its own defaults, so nothing a repository ships is ever obeyed.
These functions block; app.github.checkout runs them off the event loop.
"""

from __future__ import annotations

import base64
import functools
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

GIT_TIMEOUT = 300


class FetchError(Exception):
    """The repository could not be fetched; the message names the step and git's error."""


@functools.cache
def _empty_home() -> str:
    """A HOME with nothing in it, made on first use (never at import)."""
    return tempfile.mkdtemp(prefix="townhall-git-home-")


def git_environment(token: str | None = None) -> dict[str, str]:
    """A clean environment for trusted-side git: no user or system config at all.

    HOME is empty and global config is /dev/null, so nothing a repository ships (a committed
    `.gitconfig` with `core.fsmonitor`, `http.proxy`, ...) is ever read as configuration. The
    token, if any, only travels as an HTTP header in GIT_CONFIG_* variables.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": _empty_home(),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Townhall",
        "GIT_AUTHOR_EMAIL": "townhall@localhost",
        "GIT_COMMITTER_NAME": "Townhall",
        "GIT_COMMITTER_EMAIL": "townhall@localhost",
    }
    if token is not None:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
    return env


def run_git_bytes(args: list[str], cwd: Path, token: str | None = None) -> bytes:
    """Run git in `cwd` with the clean environment; raise FetchError with git's message."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=git_environment(token),
        capture_output=True,
        timeout=GIT_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        message = (result.stderr or result.stdout).decode("utf-8", "replace").strip()
        if token:
            message = message.replace(token, "***")
        raise FetchError(f"git {args[0]} failed: {message[-2000:]}")
    return result.stdout


def run_git(args: list[str], cwd: Path, token: str | None = None) -> str:
    """Run git in `cwd` with the clean environment; return its output as text."""
    return run_git_bytes(args, cwd, token).decode("utf-8", "replace")


class Remote:
    """A repository to fetch from, with the credential to do it held inside.

    Only app.github.checkout builds one with an installation token; tests build one over a
    local path. Its repr shows the URL, never the token.
    """

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self._token = token

    def __repr__(self) -> str:
        return f"Remote({self.url!r})"

    def fetch(self, tree: Path, refspecs: Sequence[str]) -> None:
        """Fetch `refspecs` into the repository at `tree`, forcing refs, without tags."""
        run_git(
            ["fetch", "--quiet", "--no-tags", "--force", self.url, *refspecs], tree, self._token
        )


def fetch_tree(remote: Remote, branch: str, sha: str | None, into: Path) -> str:
    """Fetch `branch` (and `sha` on it) of `remote` into `into`; return the checked-out sha.

    The result is a plain work tree with its own `.git` and no remote, so nothing in it can
    reach back to GitHub with Townhall's identity.
    """
    into.mkdir(parents=True, exist_ok=True)
    run_git(["init", "--quiet", "--initial-branch", branch], into)
    remote.fetch(into, [f"+refs/heads/{branch}:refs/base"])
    target = sha or run_git(["rev-parse", "refs/base"], into).strip()
    run_git(["checkout", "--quiet", "--detach", target], into)
    return run_git(["rev-parse", "HEAD"], into).strip()


def mirror_branch(remote: Remote, branch: str, path: Path) -> str:
    """Keep a trusted local copy of `branch` (with history) up to date; return its head sha.

    The CEO reads the tree, the codebase map and the co-change history from it; no agent ever
    runs in it.
    """
    if not (path / ".git").exists():
        path.mkdir(parents=True, exist_ok=True)
        run_git(["init", "--quiet", "--initial-branch", branch], path)
    remote.fetch(path, [f"+refs/heads/{branch}:refs/base"])
    run_git(["checkout", "--quiet", "--force", "--detach", "refs/base"], path)
    run_git(["clean", "--quiet", "-fdx"], path)
    return run_git(["rev-parse", "HEAD"], path).strip()
