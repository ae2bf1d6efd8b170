"""A fresh git repository inside the sandbox, so the agent (and the worker) can `git diff`."""

from __future__ import annotations

from app.sandbox.base import Sandbox, SandboxError

# Identity and settings live in the new repository's own config: nothing comes from the
# trusted side. `-f` adds every file handed over, even ones the tree's .gitignore would skip.
BASELINE_COMMAND = (
    "git init -q -b main"
    " && git config user.name Townhall"
    " && git config user.email townhall@localhost"
    " && git config commit.gpgsign false"
    " && git add -A -f"
    " && git commit -q --no-verify --allow-empty -m 'Townhall: base tree'"
)


async def init_baseline(sandbox: Sandbox, time_limit: float = 120.0) -> None:
    """Commit the checkout as handed over, as the base the agent's changes are diffed against."""
    result = await sandbox.exec(BASELINE_COMMAND, timeout=time_limit)
    if result.exit_code != 0 or result.timed_out:
        raise SandboxError(
            f"could not create the sandbox's git repository (exit {result.exit_code}): "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
