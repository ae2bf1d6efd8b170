"""What the reviewer needs from the trusted side, and the GitHub permissions it asks for."""

from __future__ import annotations

from dataclasses import dataclass

from app.clock import Clock
from app.github.client import GitHubAccess
from app.llm import LLM
from app.sandbox import LocalOptions
from app.store import Store

# Narrowed installation token: review and merge PRs, label and comment, read checks and the
# combined commit status (an installation without `statuses: read`, created from an older
# manifest, still works: only check runs are read then, see reviewer/actions.read_checks).
PERMISSIONS = {
    "contents": "write",
    "pull_requests": "write",
    "issues": "write",
    "checks": "read",
    "statuses": "read",
    "metadata": "read",
}
READ_CONTENTS = {"contents": "read", "metadata": "read"}
# Tool reports (ruff's JSON on a large repository, say) are far larger than an agent's command
# output; a cut report would be unreadable and fail the tool.
TOOL_OUTPUT_CAP = 8_000_000


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

    def local_options(self) -> LocalOptions:
        """Return the local sandbox options, with room for whole tool reports by default."""
        return self.sandbox_local or LocalOptions(output_cap=TOOL_OUTPUT_CAP)
