"""A tree's environment as the worker and the reviewer use it: planned, prepared, explained.

The plan comes from the tree's own files (manifests, lockfiles, `.townhall.toml`), read on the
trusted side without following links. Preparing it runs the setup commands once per
environment key (app/sandbox/environment.py); a failure is told to maintainers with the
command and its output's tail, and is never handed to the agent as something to fix.
"""

from __future__ import annotations

import re
from pathlib import Path

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
    """Plan the environment for the files of a trusted checkout at `tree` (blocking I/O)."""

    def read_text(path: str) -> str | None:
        try:
            data = read_tree_file(tree, path, MAX_MANIFEST_BYTES)
        except PathError:  # a link, a special file, a huge file: not read
            return None
        return None if data is None else data.decode("utf-8", "replace")

    return plan_environment(walk_files(tree), read_text, policy)


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
