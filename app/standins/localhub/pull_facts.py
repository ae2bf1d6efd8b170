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


_WRITERS = ("write", "maintain", "admin")


def unmet_protection(repo: Repo, pull: PullRequest) -> str | None:
    """GitHub's reason a merge of `pull` is blocked by its base branch's protection, or None.

    Approvals count when they are a user's latest review, come from a collaborator with write
    access (or the owner), and are not the author's own; an App's review never counts.
    """
    required = repo.protected_branches.get(pull.base_ref, 0)
    if required <= 0:
        return None
    author = repo.issues[pull.number].user_login
    latest: dict[str, str] = {}
    for review in sorted(repo.reviews.values(), key=lambda r: r.id):
        if review.pull_number == pull.number and review.state != "COMMENTED":
            latest[review.user_login] = review.state
    approvals = sum(
        1
        for login, state in latest.items()
        if state == "APPROVED"
        and login != author
        and not login.endswith("[bot]")
        and (login == repo.owner_login or repo.collaborators.get(login) in _WRITERS)
    )
    if approvals >= required:
        return None
    if required == 1:
        return "At least 1 approving review is required by reviewers with write access."
    return f"At least {required} approving reviews are required by reviewers with write access."


async def current_shas(core: HubCore, repo: Repo, pull: PullRequest) -> tuple[str, str]:
    """Return (head, base) shas: live branch tips while open, frozen values once closed."""
    issue = repo.issues[pull.number]
    if issue.state != "open":
        return pull.head_sha, pull.base_sha
    tips = await core.git(repo).list_refs("refs/heads/")
    head = tips.get(f"refs/heads/{pull.head_ref}", pull.head_sha)
    base = tips.get(f"refs/heads/{pull.base_ref}", pull.base_sha)
    pull.head_sha, pull.base_sha = head, base
    return head, base


@dataclass(frozen=True)
class _GitFacts:
    files: list[FileDiff]
    commits: int
    mergeable: bool


async def _git_facts(
    core: HubCore, repo: Repo, head: str, base: str, merge_commit: str | None
) -> _GitFacts:
    key = (str(core.git(repo).path), head, base, merge_commit)
    known = core.git_memo.get(key)
    if isinstance(known, _GitFacts):
        return known
    git = core.git(repo)
    if merge_commit:
        # After a merge the base contains the head; diff against the merge's first parent.
        merged = await git.read_commit(merge_commit)
        fork_point = merged.parents[0] if merged.parents else base
    else:
        fork_point = await git.merge_base(base, head) or base
    files = parse_diff(await git.diff(fork_point, head))
    commits = len(await git.commits_between(fork_point, head))
    mergeable = merge_commit is not None or (await git.merge_trees(base, head)).tree is not None
    facts = _GitFacts(files, commits, mergeable)
    core.remember(key, facts)
    return facts


async def pull_facts(core: HubCore, repo: Repo, pull: PullRequest) -> PullFacts:
    """Compute a pull request's shas, changed files, commit count and mergeability."""
    head, base = await current_shas(core, repo, pull)
    merge_commit = pull.merge_commit_sha if pull.merged else None
    derived = await _git_facts(core, repo, head, base, merge_commit)
    files, commits = derived.files, derived.commits
    if repo.issues[pull.number].state != "open":
        return PullFacts(head, base, None, "unknown", commits, files)
    if not derived.mergeable:
        state = "dirty"
    elif pull.draft:
        state = "draft"
    elif unmet_protection(repo, pull) is not None:
        state = "blocked"
    elif checks_failing(repo, head):
        state = "unstable"
    else:
        state = "clean"
    return PullFacts(head, base, derived.mergeable, state, commits, files)
