"""Render accounts, apps, installations and repositories in GitHub's REST JSON shapes."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from app.clock import format_timestamp

from .models import App, Installation, Label, Reaction, Repo, User

JSON = dict[str, Any]

_REPO_TEMPLATES = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def node_id(kind: str, ident: int | str) -> str:
    """Return a GitHub-style (legacy format) global node id for object `kind` number `ident`."""
    return base64.b64encode(f"0{len(kind)}:{kind}{ident}".encode()).decode()


class Urls:
    """Builds the absolute URLs that appear inside JSON, from the hub's base URL."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def api(self, path: str) -> str:
        """Return the API URL for `path` (which starts with a slash)."""
        return f"{self.base}{path}"

    def repo(self, repo: Repo) -> str:
        """Return the repository's API URL."""
        return f"{self.base}/repos/{repo.full_name}"

    def html(self, path: str) -> str:
        """Return the web URL for `path`."""
        return f"{self.base}{path}"


def simple_user(urls: Urls, user: User) -> JSON:
    """Render a user as GitHub's `simple-user`."""
    # A bot's login ends in `[bot]`, which GitHub escapes in URLs (`%5Bbot%5D`).
    api = urls.api(f"/users/{quote(user.login, safe='')}")
    if user.type == "Bot":
        html = urls.html(f"/apps/{user.login.removesuffix('[bot]')}")
    else:
        html = urls.html(f"/{user.login}")
    return {
        "login": user.login,
        "id": user.id,
        "node_id": node_id(user.type, user.id),
        "avatar_url": urls.html(f"/avatars/u/{user.id}?v=4"),
        "gravatar_id": "",
        "url": api,
        "html_url": html,
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": user.type,
        "user_view_type": "public",
        "site_admin": False,
    }


def public_user(urls: Urls, user: User) -> JSON:
    """Render a user as GitHub's `public-user` (GET /users/{login})."""
    return simple_user(urls, user) | {
        "name": user.name,
        "company": None,
        "blog": "",
        "location": None,
        "email": user.email,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": format_timestamp(user.created_at),
        "updated_at": format_timestamp(user.created_at),
    }


def repository(urls: Urls, repo: Repo, owner: User, open_issues: int) -> JSON:
    """Render a repository as GitHub's `full-repository`."""
    api = urls.repo(repo)
    html = urls.html(f"/{repo.full_name}")
    templated = {key: api + suffix for key, suffix in _REPO_TEMPLATES.items()}
    return {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": simple_user(urls, owner),
        "private": repo.private,
        "html_url": html,
        "description": repo.description,
        "fork": False,
        "url": api,
        **templated,
        "git_url": html + ".git",
        "ssh_url": html + ".git",
        "clone_url": html + ".git",
        "svn_url": html,
        "mirror_url": None,
        "homepage": None,
        "language": None,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "size": 0,
        "default_branch": repo.default_branch,
        "open_issues_count": open_issues,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": False,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": False,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "private" if repo.private else "public",
        "pushed_at": format_timestamp(repo.pushed_at),
        "created_at": format_timestamp(repo.created_at),
        "updated_at": format_timestamp(repo.updated_at),
        "allow_rebase_merge": True,
        "allow_squash_merge": True,
        "allow_merge_commit": True,
        "allow_auto_merge": False,
        "delete_branch_on_merge": False,
        "allow_forking": True,
        "web_commit_signoff_required": False,
        "subscribers_count": 0,
        "network_count": 0,
        "license": None,
        "forks": 0,
        "open_issues": open_issues,
        "watchers": 0,
    }


def integration(urls: Urls, app: App, owner: User) -> JSON:
    """Render a GitHub App as GitHub's `integration` (GET /app)."""
    stamp = format_timestamp(app.created_at)
    return {
        "id": app.id,
        "slug": app.slug,
        "client_id": f"Iv1.{app.id:016x}",
        "node_id": node_id("Integration", app.id),
        "owner": simple_user(urls, owner),
        "name": app.name,
        "description": app.description,
        "external_url": urls.html(f"/apps/{app.slug}"),
        "html_url": urls.html(f"/apps/{app.slug}"),
        "created_at": stamp,
        "updated_at": stamp,
        "permissions": dict(app.permissions),
        "events": list(app.events),
        "installations_count": 0,
    }


def installation(urls: Urls, inst: Installation, app: App, account: User) -> JSON:
    """Render an installation as GitHub's `installation`."""
    stamp = format_timestamp(inst.created_at)
    return {
        "id": inst.id,
        "account": simple_user(urls, account),
        "repository_selection": inst.repository_selection,
        "access_tokens_url": urls.api(f"/app/installations/{inst.id}/access_tokens"),
        "repositories_url": urls.api("/installation/repositories"),
        "html_url": urls.html(f"/settings/installations/{inst.id}"),
        "app_id": inst.app_id,
        "app_slug": app.slug,
        "client_id": f"Iv1.{app.id:016x}",
        "target_id": account.id,
        "target_type": account.type,
        "permissions": dict(inst.permissions),
        "events": list(inst.events),
        "created_at": stamp,
        "updated_at": stamp,
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": None,
    }


def label(urls: Urls, repo: Repo, lab: Label) -> JSON:
    """Render a label."""
    return {
        "id": lab.id,
        "node_id": node_id("Label", lab.id),
        "url": urls.repo(repo) + f"/labels/{quote(lab.name, safe='')}",
        "name": lab.name,
        "description": lab.description,
        "color": lab.color,
        "default": False,
    }


def reaction_rollup(url: str, reactions: Iterable[Reaction]) -> JSON:
    """Render the `reactions` summary object GitHub embeds in issues and comments."""
    counts = {content: 0 for content in ("+1", "-1", "laugh", "hooray", "confused", "heart")}
    counts |= {"rocket": 0, "eyes": 0}
    total = 0
    for item in reactions:
        counts[item.content] += 1
        total += 1
    return {"url": url, "total_count": total, **counts}
