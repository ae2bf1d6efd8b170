"""What the reviewer needs from the trusted side, and the GitHub permissions it asks for."""

from __future__ import annotations

from dataclasses import dataclass

from app.clock import Clock
from app.github.client import GitHubAccess
from app.llm import LLM
from app.store import Store
from workers.sandbox import LocalOptions

# Narrowed installation token: review and merge PRs, label and comment, read checks. The
# combined commit status needs `statuses: read`, which the App manifest does not ask for;
# without it only check runs are read (see reviewer/actions.read_checks).
PERMISSIONS = {
    "contents": "write",
    "pull_requests": "write",
    "issues": "write",
    "checks": "read",
    "metadata": "read",
}
READ_CONTENTS = {"contents": "read", "metadata": "read"}


@dataclass
class ReviewDeps:
    """The store, clock, GitHub access, model and sandbox backend a review runs with."""

    store: Store
    clock: Clock
    github: GitHubAccess
    llm: LLM
    sandbox_backend: str = "local"
    sandbox_local: LocalOptions | None = None
    holder: str = "reviewer"
