"""Publish a worker's change: a commit made through the GitHub API, a branch, one PR.

Creating the commit through the API (blobs, a tree on the base tree, a commit) has GitHub sign
it, and keeps git credentials out of every checkout. Publishing is idempotent per task: the
branch `townhall/issue-<N>` is force-moved to the new commit and an open PR for it is reused.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.github.client import Client
from app.store.pulls import TOWNHALL_BRANCH_PREFIX


@dataclass(frozen=True)
class FileChange:
    """A file's new content (None when deleted) and whether it is executable."""

    content: bytes | None
    executable: bool = False


@dataclass(frozen=True)
class PullRequestText:
    """What the PR says: title and body (the body says `Closes #N`)."""

    title: str
    body: str


@dataclass(frozen=True)
class Published:
    """Where the change landed."""

    branch: str
    commit_sha: str
    pr_number: int
    pr_url: str
    reused_pr: bool


def branch_for(issue_number: int) -> str:
    """Townhall's branch for an issue."""
    return f"{TOWNHALL_BRANCH_PREFIX}{issue_number}"


async def _tree_entries(
    client: Client, owner: str, repo: str, changes: Mapping[str, FileChange]
) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for path in sorted(changes):
        change = changes[path]
        mode = "100755" if change.executable else "100644"
        if change.content is None:
            entries.append({"path": path, "mode": mode, "type": "blob", "sha": None})
            continue
        blob = await client.rest.git.async_create_blob(
            owner,
            repo,
            data={"content": base64.b64encode(change.content).decode(), "encoding": "base64"},
        )
        entries.append({"path": path, "mode": mode, "type": "blob", "sha": blob.parsed_data.sha})
    return entries


async def publish_change(
    client: Client,
    *,
    owner: str,
    repo: str,
    base_branch: str,
    base_sha: str,
    issue_number: int,
    changes: Mapping[str, FileChange],
    message: str,
    pr: PullRequestText,
    draft: bool = False,
    labels: Sequence[str] = (),
) -> Published:
    """Commit `changes` on `base_sha`, move the issue's branch there, and open or reuse a PR.

    A draft (work kept when an attempt hit a limit) is reused by later drafts; a ready change
    supersedes it with a new PR, since the REST API cannot turn a draft into a ready PR.
    """
    if not changes:
        raise ValueError("nothing to publish: the change is empty")
    base_commit = await client.rest.git.async_get_commit(owner, repo, base_sha)
    entries: list[Any] = await _tree_entries(client, owner, repo, changes)
    tree = await client.rest.git.async_create_tree(
        owner, repo, base_tree=base_commit.parsed_data.tree.sha, tree=entries
    )
    commit = await client.rest.git.async_create_commit(
        owner,
        repo,
        data={"message": message, "tree": tree.parsed_data.sha, "parents": [base_sha]},
    )
    sha = commit.parsed_data.sha
    branch = branch_for(issue_number)
    await _move_branch(client, owner, repo, branch, sha)
    published = await _open_or_reuse_pr(client, owner, repo, base_branch, branch, sha, pr, draft)
    if labels:
        await client.rest.issues.async_add_labels(
            owner, repo, published.pr_number, data={"labels": list(labels)}
        )
    return published


async def _move_branch(client: Client, owner: str, repo: str, branch: str, sha: str) -> None:
    existing = await client.rest.git.async_list_matching_refs(owner, repo, f"heads/{branch}")
    if any(ref.ref == f"refs/heads/{branch}" for ref in existing.parsed_data):
        await client.rest.git.async_update_ref(
            owner, repo, f"heads/{branch}", data={"sha": sha, "force": True}
        )
    else:
        await client.rest.git.async_create_ref(
            owner, repo, data={"ref": f"refs/heads/{branch}", "sha": sha}
        )


async def _open_or_reuse_pr(
    client: Client,
    owner: str,
    repo: str,
    base_branch: str,
    branch: str,
    sha: str,
    pr: PullRequestText,
    draft: bool,
) -> Published:
    open_prs = await client.rest.pulls.async_list(
        owner, repo, state="open", head=f"{owner}:{branch}"
    )
    matching: list[Any] = list(open_prs.parsed_data)
    if matching and (draft or not matching[0].draft):
        existing = matching[0]
        await client.rest.pulls.async_update(
            owner, repo, existing.number, data={"title": pr.title, "body": pr.body}
        )
        return Published(branch, sha, existing.number, existing.html_url, reused_pr=True)
    if matching:  # a ready change replaces the draft kept from an interrupted attempt
        await client.rest.pulls.async_update(
            owner, repo, matching[0].number, data={"state": "closed"}
        )
    created = await client.rest.pulls.async_create(
        owner,
        repo,
        data={
            "title": pr.title,
            "body": pr.body,
            "head": branch,
            "base": base_branch,
            "draft": draft,
        },
    )
    return Published(
        branch, sha, created.parsed_data.number, created.parsed_data.html_url, reused_pr=False
    )
