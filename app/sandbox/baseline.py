"""Base trees: the sandbox's own git base, and the checks' results at the base commit.

Every sandbox commits its checkout as handed over, so the agent (and the worker) can `git
diff`. Separately, the build and test commands run once at a task's base commit, per
environment, and the result is kept in the store: a check that already failed there is
reported as such instead of being blamed on the change (app/sandbox/verify.py compares).
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.clock import Clock
from app.sandbox.base import Sandbox, SandboxError
from app.sandbox.verify import as_baseline_checks, verify
from app.store import Store
from app.store.baselines import Baseline, read_baseline, record_baseline

if TYPE_CHECKING:
    from app.sandbox.environment import Environment
    from app.sandbox.factory import SandboxFactory

# Identity and settings live in the new repository's own config: nothing comes from the
# trusted side. `-f` adds every file handed over, even ones the tree's .gitignore would skip.
BASELINE_COMMAND = (
    "git init -q -b main"
    " && git config user.name Townhall"
    " && git config user.email townhall@localhost"
    " && git config commit.gpgsign false"
    " && git add -A -f{pathspecs}"
    " && git commit -q --no-verify --allow-empty -m 'Townhall: base tree'"
)


def baseline_command(exclude: Sequence[str] = ()) -> str:
    """The shell line that commits the checkout, leaving the `exclude` directories out.

    An environment's directories (.venv, node_modules) are not the repository's files: they
    stay out of the base commit and out of `git status` (through .git/info/exclude), so the
    agent's diff never shows them.
    """
    if not exclude:
        return BASELINE_COMMAND.format(pathspecs="")
    pathspecs = " -- ." + "".join(f" {shlex.quote(f':(exclude,top){name}')}" for name in exclude)
    # No trailing slash: unisolated, an environment directory is a symlink, not a directory.
    ignored = " ".join(shlex.quote(f"/{name.strip('/')}") for name in exclude)
    init, rest = BASELINE_COMMAND.format(pathspecs=pathspecs).split(" && ", 1)
    # After `git init` (which makes .git/info/exclude), before `git add`.
    return f"{init} && printf '%s\\n' {ignored} >> .git/info/exclude && {rest}"


async def init_baseline(
    sandbox: Sandbox, time_limit: float = 120.0, *, exclude: Sequence[str] = ()
) -> None:
    """Commit the checkout as handed over, as the base the agent's changes are diffed against."""
    result = await sandbox.exec(baseline_command(exclude), timeout=time_limit)
    if result.exit_code != 0 or result.timed_out:
        raise SandboxError(
            f"could not create the sandbox's git repository (exit {result.exit_code}): "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )


async def base_checks(
    store: Store,
    clock: Clock,
    sandboxes: SandboxFactory,
    environment: Environment,
    tree: Path,
    *,
    repo: str,
    base_sha: str,
    checks: Sequence[tuple[str, str]],
) -> Baseline:
    """Return the checks' results at the base commit `tree` holds: recorded, or run now.

    Run once per (repository, base commit, environment key); every check runs even after one
    fails, so each later comparison has all of them.
    """
    recorded = await read_baseline(store, repo, base_sha, environment.key)
    if recorded is not None:
        return recorded
    started = time.monotonic()
    async with sandboxes.open(tree, environment) as sandbox:
        result = await verify(sandbox, checks, environment.plan.command_timeout, keep_going=True)
    baseline = Baseline(
        repo, base_sha, environment.key, as_baseline_checks(result), result.report(),
        time.monotonic() - started,
    )  # fmt: skip
    # Two attempts on one base may both get here; the first record stands.
    await record_baseline(store, clock, baseline)
    return baseline
