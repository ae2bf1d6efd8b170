"""The hub's in-memory state: lookups, id allocation and optional JSON persistence."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from .codec import from_jsonable, to_jsonable
from .errors import not_found
from .models import COLLABORATOR_ROLES, App, HubData, Installation, Issue, Repo, User


class HubState:
    """Owns HubData; every read and write of hub records goes through here."""

    def __init__(self, data: HubData | None = None, path: Path | None = None) -> None:
        self.data = data or HubData()
        self.path = path

    @classmethod
    def load(cls, path: Path) -> HubState:
        """Read state from `path` if it exists, else start empty; later saves go to `path`."""
        if path.exists():
            return cls(from_jsonable(HubData, json.loads(path.read_text())), path)
        return cls(HubData(), path)

    def save(self) -> None:
        """Write state to its file atomically (no-op when not persisting)."""
        if self.path is None:
            return
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(json.dumps(to_jsonable(self.data), indent=1))
        os.replace(scratch, self.path)

    def new_id(self) -> int:
        """Allocate a hub-wide unique numeric id."""
        self.data.next_id += 1
        return self.data.next_id

    # Accounts

    def find_user(self, login: str) -> User | None:
        """Return the user called `login` (case-insensitive, like GitHub) or None."""
        return self.data.users.get(login.lower())

    def user(self, login: str) -> User:
        """Return the user called `login` or raise a 404."""
        found = self.find_user(login)
        if found is None:
            raise not_found()
        return found

    def add_user(self, login: str, kind: str, created_at: datetime, name: str | None) -> User:
        """Create (or return the existing) user `login`."""
        existing = self.find_user(login)
        if existing is not None:
            return existing
        user = User(id=self.new_id(), login=login, type=kind, created_at=created_at, name=name)
        self.data.users[login.lower()] = user
        return user

    def bot_login(self, app: App) -> str:
        """Return the login the app's installations act as."""
        return f"{app.slug}[bot]"

    def app_for_installation(self, inst: Installation) -> App:
        """Return the app an installation belongs to."""
        return self.data.apps[inst.app_id]

    # Repositories

    def find_repo(self, owner: str, name: str) -> Repo | None:
        """Return repository `owner/name` (case-insensitive) or None."""
        wanted = f"{owner}/{name}".lower()
        for repo in self.data.repos.values():
            if repo.full_name.lower() == wanted:
                return repo
        return None

    def repo(self, owner: str, name: str) -> Repo:
        """Return repository `owner/name` or raise a 404."""
        found = self.find_repo(owner, name)
        if found is None:
            raise not_found()
        return found

    def repo_by_name(self, full_name: str) -> Repo | None:
        """Return the repository called `owner/name`, or None."""
        owner, _, name = full_name.partition("/")
        return self.find_repo(owner, name)

    def issue(self, repo: Repo, number: int) -> Issue:
        """Return issue (or pull request) `number` or raise a 404."""
        found = repo.issues.get(number)
        if found is None:
            raise not_found()
        return found

    def open_issue_count(self, repo: Repo) -> int:
        """Count open issues and pull requests, as GitHub's `open_issues_count` does."""
        return sum(1 for issue in repo.issues.values() if issue.state == "open")

    def role_of(self, repo: Repo, login: str) -> str:
        """Return a user's role on a repository: owner is admin, else the collaborator role."""
        if login.lower() == repo.owner_login.lower():
            return "admin"
        for name, role in repo.collaborators.items():
            if name.lower() == login.lower():
                return role
        return "read" if not repo.private else "none"

    def role_at_least(self, repo: Repo, login: str, wanted: str) -> bool:
        """Tell whether `login` holds at least role `wanted` on `repo`."""
        have = COLLABORATOR_ROLES.index(self.role_of(repo, login))
        return have >= COLLABORATOR_ROLES.index(wanted)

    def author_association(self, repo: Repo, login: str) -> str:
        """Return GitHub's author_association for `login` on `repo`."""
        if login.lower() == repo.owner_login.lower():
            return "OWNER"
        if any(name.lower() == login.lower() for name in repo.collaborators):
            return "COLLABORATOR"
        return "NONE"

    def installations_for_repo(self, repo: Repo) -> list[Installation]:
        """Return the installations that can reach `repo`."""
        found = []
        for inst in self.data.installations.values():
            if inst.account_login.lower() != repo.owner_login.lower():
                continue
            if inst.repository_selection == "all" or repo.id in inst.repository_ids:
                found.append(inst)
        return found
