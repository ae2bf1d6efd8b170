"""Merge a pull request for real in the bare repository: merge commit, squash or rebase."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import issues_service
from .core import Ctx
from .errors import ApiError, validation_failed
from .events import emit_issue
from .git import GitError, Signature
from .models import PullRequest, Repo
from .pull_facts import current_shas, unmet_protection

MERGE_METHODS = ("merge", "squash", "rebase")

# GitHub closes issues a pull request references with these keywords when it merges into the
# default branch.
_CLOSING = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+#(\d+)\b", re.IGNORECASE)


@dataclass(frozen=True)
class MergeOutcome:
    """The merge commit sha and GitHub's message."""

    sha: str
    message: str


def _not_mergeable() -> ApiError:
    return ApiError(405, "Pull Request is not mergeable")


def _noreply(ctx: Ctx, login: str) -> Signature:
    user = ctx.state.user(login)
    email = f"{user.id}+{user.login}@users.noreply.localhub"
    return Signature(user.name or user.login, email, ctx.core.now())


def closing_references(text: str | None) -> list[int]:
    """Return the issue numbers a text closes ("Closes #12", "fixes #3")."""
    return [int(number) for number in _CLOSING.findall(text or "")]


async def merge_pull(
    ctx: Ctx,
    repo: Repo,
    pull: PullRequest,
    *,
    expected_sha: str | None,
    method: str,
    title: str | None,
    message: str | None,
) -> MergeOutcome:
    """Merge `pull` into its base branch, as GitHub's PUT /pulls/{n}/merge does."""
    if method not in MERGE_METHODS:
        raise validation_failed("PullRequest", "merge_method", "invalid")
    issue = repo.issues[pull.number]
    git = ctx.core.git(repo)
    async with ctx.core.repo_lock(repo):
        if issue.state != "open" or pull.merged:
            raise _not_mergeable()
        head, base = await current_shas(ctx.core, repo, pull)
        if expected_sha is not None and expected_sha != head:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        if pull.draft:
            raise ApiError(405, "Pull Request is still a draft")
        if (blocked := unmet_protection(repo, pull)) is not None:
            raise ApiError(405, blocked)
        merged = await git.merge_trees(base, head)
        if merged.tree is None:
            raise _not_mergeable()
        committer = Signature("GitHub", "noreply@github.com", ctx.core.now())
        merger = _noreply(ctx, ctx.login) if ctx.login else committer
        number = pull.number
        if method == "merge":
            subject = (
                title or f"Merge pull request #{number} from {repo.owner_login}/{pull.head_ref}"
            )
            text = f"{subject}\n\n{message if message is not None else issue.title}\n"
            sha = await git.write_commit(merged.tree, [base, head], text, merger, committer)
        elif method == "squash":
            commits = [await git.read_commit(s) for s in await git.commits_between(base, head)]
            default = "\n\n".join("* " + c.message.strip() for c in commits)
            subject = title or f"{issue.title} (#{number})"
            text = f"{subject}\n\n{message if message is not None else default}".rstrip() + "\n"
            author = _noreply(ctx, issue.user_login)
            sha = await git.write_commit(merged.tree, [base], text, author, committer)
        else:
            try:
                sha = await git.replay(base, await git.commits_between(base, head), committer)
            except GitError as exc:
                raise _not_mergeable() from exc
        await git.update_ref(f"refs/heads/{pull.base_ref}", sha, base)
        now = ctx.core.now()
        pull.merged, pull.merged_at, pull.merge_commit_sha = True, now, sha
        pull.merged_by = ctx.login or None
        pull.head_sha, pull.base_sha = head, base
        repo.pushed_at = now
        issue.state, issue.closed_at, issue.updated_at = "closed", now, now
        issue.closed_by = ctx.login or None
    await emit_issue(ctx, repo, issue, "closed")
    if pull.base_ref == repo.default_branch:
        await _close_referenced(ctx, repo, issue.body)
    return MergeOutcome(sha, "Pull Request successfully merged")


async def _close_referenced(ctx: Ctx, repo: Repo, body: str | None) -> None:
    for number in closing_references(body):
        target = repo.issues.get(number)
        if target is not None and not target.is_pull and target.state == "open":
            await issues_service.set_state(ctx, repo, target, "closed", "completed")
