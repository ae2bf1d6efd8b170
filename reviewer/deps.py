"""What the reviewer needs from the trusted side, and the GitHub permissions it asks for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from app.clock import Clock
from app.github.client import GitHubAccess
from app.llm import LLM
from app.sandbox import LocalOptions, LocalSandboxes, SandboxFactory
from app.store import Store
from app.store.leases import process_holder
from app.store.reviews import REVIEW_LEASE_TTL

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
# Tool reports (ruff's JSON on a large repository, say) are far larger than an agent's command
# output; a cut report would be unreadable and fail the tool.
TOOL_OUTPUT_CAP = 8_000_000


def local_review_sandboxes() -> SandboxFactory:
    """Local sandboxes with room for whole tool reports."""
    return LocalSandboxes(LocalOptions(output_cap=TOOL_OUTPUT_CAP))


@dataclass
class ReviewDeps:
    """The store, clock, GitHub access, model and sandboxes a review runs with."""

    store: Store
    clock: Clock
    github: GitHubAccess
    llm: LLM
    sandboxes: SandboxFactory = field(default_factory=local_review_sandboxes)
    # Names this process, so a review lease left by a killed reviewer is ended at once.
    holder: str = field(default_factory=lambda: process_holder("reviewer"))
    # The review lease is renewed every third of this; an expired one is recovered by the tick.
    lease_ttl: timedelta = REVIEW_LEASE_TTL
