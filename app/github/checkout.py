"""Check out or mirror a repository as the App: the one place that mints a token for git.

Each call mints (or reuses) a token narrowed to one repository and read-only contents, asks
GitHub for the clone URL with it, and runs git off the event loop. Callers get a tree, a sha or
an authenticated `Remote`; the token itself is never handed out.
"""

from __future__ import annotations

from pathlib import Path

from app.github.client import GitHubAccess
from app.github.git import Remote, fetch_tree, mirror_branch
from app.threads import in_thread

# Git only ever reads: contents to fetch, metadata to look the repository up.
READ_CONTENTS = {"contents": "read", "metadata": "read"}


async def open_remote(github: GitHubAccess, installation_id: int, owner: str, name: str) -> Remote:
    """Return the repository as a git remote that fetches with a read-only token of its own."""
    token = await github.installation_token(installation_id, [name], READ_CONTENTS)
    async with await github.installation_client(installation_id, [name], READ_CONTENTS) as client:
        repository = (await client.rest.repos.async_get(owner, name)).parsed_data
    return Remote(repository.clone_url, token.token)


async def checkout(
    github: GitHubAccess,
    installation_id: int,
    owner: str,
    name: str,
    branch: str,
    sha: str | None,
    into: Path,
) -> str:
    """Fetch `branch` (at `sha`, else its tip) into a fresh tree at `into`; return the sha."""
    remote = await open_remote(github, installation_id, owner, name)
    return await in_thread(fetch_tree, remote, branch, sha, into)


async def mirror(
    github: GitHubAccess, installation_id: int, owner: str, name: str, branch: str, path: Path
) -> str:
    """Bring the trusted mirror of `branch` at `path` up to date; return its head sha."""
    remote = await open_remote(github, installation_id, owner, name)
    return await in_thread(mirror_branch, remote, branch, path)
