"""Compute a pull request's live facts from its git branches: shas, diff, mergeability."""

from __future__ import annotations

from dataclasses import dataclass, field

from .core import HubCore
from .diff import FileDiff, parse_diff
from .models import PullRequest, Repo

# Check conclusions and status states that make GitHub report a PR as "unstable".
_FAILING_CONCLUSIONS = {"failure", "timed_out", "cancelled", "action_required"}
_FAILING_STATES = {"failure", "error"}


@dataclass
class PullFacts:
    """Derived pull request data that lives in git rather than in the hub's records."""

    head_sha: str
    base_sha: str
    mergeable: bool | None
    mergeable_state: str
    commits: int
    files: list[FileDiff] = field(default_factory=list)

    @property
    def additions(self) -> int:
        """Return the lines added over all files."""
        return sum(f.additions for f in self.files)

    @property
    def deletions(self) -> int:
        """Return the lines removed over all files."""
        return sum(f.deletions for f in self.files)


def checks_failing(repo: Repo, sha: str) -> bool:
    """Tell whether any check run or latest commit status on `sha` is failing."""
    for run in repo.check_runs.values():
        if run.head_sha == sha and run.conclusion in _FAILING_CONCLUSIONS:
            return True
    latest: dict[str, str] = {}
    for status in sorted(repo.statuses.values(), key=lambda s: s.id):
        if status.sha == sha:
            latest[status.context] = status.state
    return any(state in _FAILING_STATES for state in latest.values())


async def current_shas(core: HubCore, repo: Repo, pull: PullRequest) -> tuple[str, str]:
    """Return (head, base) shas: live branch tips while open, frozen values once closed."""
    issue = repo.issues[pull.number]
    if issue.state != "open":
        return pull.head_sha, pull.base_sha
    git = core.git(repo)
    head = await git.resolve(f"refs/heads/{pull.head_ref}") or pull.head_sha
    base = await git.resolve(f"refs/heads/{pull.base_ref}") or pull.base_sha
    pull.head_sha, pull.base_sha = head, base
    return head, base


async def pull_facts(core: HubCore, repo: Repo, pull: PullRequest) -> PullFacts:
    """Compute a pull request's shas, changed files, commit count and mergeability."""
    git = core.git(repo)
    head, base = await current_shas(core, repo, pull)
    if pull.merged and pull.merge_commit_sha:
        # After a merge the base contains the head; diff against the merge's first parent.
        merged = await git.read_commit(pull.merge_commit_sha)
        fork_point = merged.parents[0] if merged.parents else base
    else:
        fork_point = await git.merge_base(base, head) or base
    files = parse_diff(await git.diff(fork_point, head))
    commits = len(await git.commits_between(fork_point, head))
    issue = repo.issues[pull.number]
    if issue.state != "open":
        return PullFacts(head, base, None, "unknown", commits, files)
    merge = await git.merge_trees(base, head)
    mergeable = merge.tree is not None
    if not mergeable:
        state = "dirty"
    elif pull.draft:
        state = "draft"
    elif checks_failing(repo, head):
        state = "unstable"
    else:
        state = "clean"
    return PullFacts(head, base, mergeable, state, commits, files)
