"""Pull request lifecycle: open, edit, follow branch pushes, close, and reopen."""

from __future__ import annotations

from typing import Any

from . import issues_service
from .core import Ctx
from .errors import ApiError, validation_failed
from .events import emit_issue
from .models import PullRequest, Repo
from .pull_facts import current_shas

_HEADS = "refs/heads/"


def _custom_error(message: str) -> ApiError:
    return ApiError(
        422,
        "Validation Failed",
        errors=[{"resource": "PullRequest", "code": "custom", "message": message}],
    )


def _branch_name(repo: Repo, head: str) -> str:
    owner, sep, branch = head.partition(":")
    if not sep:
        return head
    if owner.lower() != repo.owner_login.lower():
        # Forks do not exist here; only same-repository heads can be resolved.
        raise validation_failed("PullRequest", "head", "invalid")
    return branch


async def create_pull(
    ctx: Ctx,
    repo: Repo,
    title: str,
    body: str | None,
    head: str,
    base: str,
    draft: bool = False,
    maintainer_can_modify: bool = False,
) -> PullRequest:
    """Open a pull request from branch `head` into `base` and announce `opened`."""
    git = ctx.core.git(repo)
    head_ref = _branch_name(repo, head)
    head_sha = await git.resolve(_HEADS + head_ref)
    if head_sha is None:
        raise validation_failed("PullRequest", "head", "invalid")
    base_sha = await git.resolve(_HEADS + base)
    if base_sha is None:
        raise validation_failed("PullRequest", "base", "invalid")
    if not title:
        raise validation_failed("PullRequest", "title", "missing_field")
    if not await git.commits_between(base_sha, head_sha):
        raise _custom_error(f"No commits between {base} and {head_ref}")
    for other in repo.pulls.values():
        still_open = repo.issues[other.number].state == "open"
        if still_open and (other.head_ref, other.base_ref) == (head_ref, base):
            raise _custom_error(f"A pull request already exists for {repo.owner_login}:{head_ref}.")
    issue = await issues_service.create_issue(ctx, repo, title, body, is_pull=True, announce=False)
    pull = PullRequest(
        id=ctx.state.new_id(),
        number=issue.number,
        head_ref=head_ref,
        base_ref=base,
        head_sha=head_sha,
        base_sha=base_sha,
        draft=draft,
        maintainer_can_modify=maintainer_can_modify,
    )
    repo.pulls[pull.number] = pull
    await emit_issue(ctx, repo, issue, "opened")
    return pull


async def update_pull(ctx: Ctx, repo: Repo, pull: PullRequest, fields: dict[str, Any]) -> None:
    """Apply a PATCH (title, body, base, state) to a pull request and announce it."""
    issue = repo.issues[pull.number]
    changes: dict[str, Any] = {}
    base = fields.get("base")
    if base and base != pull.base_ref:
        if await ctx.core.git(repo).resolve(_HEADS + str(base)) is None:
            raise validation_failed("PullRequest", "base", "invalid")
        changes["base"] = {"ref": {"from": pull.base_ref}, "sha": {"from": pull.base_sha}}
        pull.base_ref = str(base)
    for key in ("title", "body"):
        if key in fields and fields[key] is not None and fields[key] != getattr(issue, key):
            changes[key] = {"from": getattr(issue, key)}
            setattr(issue, key, fields[key])
    if changes:
        issue.updated_at = ctx.core.now()
        await emit_issue(ctx, repo, issue, "edited", {"changes": changes})
    state = fields.get("state")
    if state is not None and state not in ("open", "closed"):
        raise validation_failed("PullRequest", "state", "invalid")
    if state is not None and state != issue.state:
        if pull.merged:
            raise _custom_error("Cannot reopen a merged pull request")
        await current_shas(ctx.core, repo, pull)
        await issues_service.set_state(ctx, repo, issue, state)


async def on_ref_moved(
    ctx: Ctx, repo: Repo, ref: str, before: str | None, after: str | None
) -> None:
    """Announce `synchronize` on PRs whose head branch moved; close PRs whose head vanished."""
    if not ref.startswith(_HEADS):
        return
    branch = ref[len(_HEADS) :]
    repo.pushed_at = ctx.core.now()
    for pull in list(repo.pulls.values()):
        issue = repo.issues[pull.number]
        if issue.state != "open" or pull.head_ref != branch:
            continue
        if after is None:
            await issues_service.set_state(ctx, repo, issue, "closed")
            continue
        pull.head_sha = after
        issue.updated_at = ctx.core.now()
        extra = {"before": before, "after": after}
        await emit_issue(ctx, repo, issue, "synchronize", extra)
