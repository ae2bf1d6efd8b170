"""Create repositories: the record plus a bare git repository, optionally seeded from a dir."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from .core import HubCore
from .errors import ApiError
from .git import Signature
from .models import Repo

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


async def create_repository(
    core: HubCore,
    *,
    owner: str,
    name: str,
    source_dir: Path | None,
    default_branch: str = "main",
    private: bool = False,
    description: str | None = None,
) -> Repo:
    """Create `owner/name`; import `source_dir` as the first commit on the default branch."""
    state = core.state
    if not _NAME.match(owner) or not _NAME.match(name) or name.endswith(".git"):
        raise ApiError(422, "Repository owner and name may use letters, digits, '-', '_', '.'")
    if state.find_repo(owner, name) is not None:
        raise ApiError(422, "Repository creation failed: name already exists on this account")
    if source_dir is not None and not await asyncio.to_thread(source_dir.is_dir):
        raise ApiError(422, f"source_dir {source_dir} is not a directory")
    now = core.now()
    account = state.add_user(owner, "User", now, None)
    repo = Repo(
        id=state.new_id(),
        owner_login=account.login,
        name=name,
        default_branch=default_branch,
        private=private,
        created_at=now,
        updated_at=now,
        pushed_at=now,
        description=description,
    )
    git = core.git(repo)
    await git.init(default_branch)
    if source_dir is not None:
        author = Signature(account.login, f"{account.login}@users.noreply.localhub", now)
        await git.import_directory(source_dir, default_branch, "Initial commit\n", author)
    state.data.repos[repo.id] = repo
    return repo
