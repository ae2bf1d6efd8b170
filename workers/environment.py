"""A tree's environment as the worker and the reviewer use it: planned, prepared, explained.

The plan comes from the tree's own files (manifests, lockfiles, `.townhall.toml`), read on the
trusted side without following links. Preparing it runs the setup commands once per
environment key (app/sandbox/environment.py); a failure is told to maintainers with the
command and its output's tail, and is never handed to the agent as something to fix.
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from app.github.git import FetchError, run_git
from app.pathrules import PathError, read_tree_file
from app.policy import Policy
from app.sandbox.environment import EnvironmentFailed
from app.sandbox.tree import walk_files
from app.stacks import EnvironmentPlan, plan_environment
from app.untrusted import code_span, strip_hidden

# Manifests and lockfiles larger than this are not read for planning (a lockfile of a large
# monorepo is a few MB).
MAX_MANIFEST_BYTES = 8_000_000
# How much of a failed setup command's output maintainers see.
FAILURE_LINES = 40

ENVIRONMENT_FAILED_TEXT = """\
The repository's environment could not be set up, so no agent ran and no attempt was used.
Setup command {command} exited with code {exit_code}:

{log}
A maintainer can describe the environment in the `[sandbox]` section of `.townhall.toml`
(setup commands, system packages, toolchain versions, environment variables) and comment
`/townhall retry`."""

ENVIRONMENT_FAILED_NOTE = (
    "The environment could not be set up (a setup command failed); no agent ran. This is not "
    "about the change: maintainers were asked to fix the environment."
)


def plan_for_tree(tree: Path, policy: Policy) -> EnvironmentPlan:
    """Plan the environment for the files of a trusted checkout at `tree` (blocking I/O).

    When `tree` is a git work tree, what no lockfile pins resolves as of the newest commit
    that changed the plan's key files (manifests, lockfiles, `.townhall.toml`): an old base
    commit gets the releases it was tested with, not today's (newer anyio broke starlette's
    suite at its own base commit). That date, not the checked-out commit's, keeps the
    environment key, and so the cache, shared by every commit that leaves the manifests alone.
    """

    def read_text(path: str) -> str | None:
        try:
            data = read_tree_file(tree, path, MAX_MANIFEST_BYTES)
        except PathError:  # a link, a special file, a huge file: not read
            return None
        return None if data is None else data.decode("utf-8", "replace")

    files = walk_files(tree)
    plan = plan_environment(files, read_text, policy)
    if not plan.setup:  # nothing installs anything: no date can change the plan
        return plan
    released_before = key_files_date(tree, plan.key_files)
    if not released_before:
        return plan
    return plan_environment(files, read_text, policy, released_before=released_before)


def key_files_date(tree: Path, key_files: tuple[str, ...]) -> str:
    """The committer date (UTC, ISO 8601) of HEAD's newest commit changing any of `key_files`.

    "" when `tree` is not a git work tree or no commit changed them (the files are not in
    git). On a merge the reviewer just made, history simplification follows the parent the
    file came from, so the date is that of the commit that really changed it.
    """
    if not key_files or not (tree / ".git").exists():
        return ""
    # `--` with literal pathspecs: a key file's name is never read as an option or a glob.
    newest = ["--literal-pathspecs", "log", "-1", "--format=%ct", "HEAD", "--", *key_files]
    try:
        stamp = run_git(newest, tree).strip()
    except (FetchError, OSError, subprocess.TimeoutExpired):
        # A clone whose history stops short (a bundle of one commit without its parents)
        # cannot be walked: HEAD's own committer date is the closest bound it has.
        stamp = _head_committer_time(tree)
    if not stamp.isdigit():
        return ""
    return datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_text(error: EnvironmentFailed) -> str:
    """What maintainers are told about a failed setup: the command and its output's tail."""
    tail = "\n".join(error.log_tail.strip().splitlines()[-FAILURE_LINES:])
    return ENVIRONMENT_FAILED_TEXT.format(
        command=code_span(error.command),
        exit_code=error.exit_code,
        log=code_block(tail or "(no output)"),
    )


def code_block(text: str) -> str:
    """Text as a fenced code block nothing in it can close (no mention or link is live)."""
    text = strip_hidden(text)
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence}text\n{text}\n{fence}\n"


def _head_committer_time(tree: Path) -> str:
    """HEAD's committer time (Unix seconds) read from the commit object itself, or ""."""
    try:
        commit = run_git(["cat-file", "commit", "HEAD"], tree)
    except (FetchError, OSError, subprocess.TimeoutExpired):
        return ""
    for line in commit.split("\n\n", 1)[0].splitlines():
        if line.startswith("committer "):
            words = line.split()
            return words[-2] if len(words) >= 3 else ""
    return ""
