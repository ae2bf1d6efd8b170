"""Webhook payloads in GitHub's shape (the fields GitHub sends, with its URL templates)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from app.webhooks.signature import sign

API = "https://api.github.com"


def user(login: str, user_id: int = 1, kind: str = "User") -> dict[str, Any]:
    base = f"{API}/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": f"U_{user_id}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": base,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": kind,
        "site_admin": False,
    }


def repository(owner: str = "octo", name: str = "demo", repo_id: int = 42) -> dict[str, Any]:
    base = f"{API}/repos/{owner}/{name}"
    templates = {
        f"{key}_url": f"{base}/{path}"
        for key, path in {
            "forks": "forks",
            "keys": "keys{/key_id}",
            "collaborators": "collaborators{/collaborator}",
            "teams": "teams",
            "hooks": "hooks",
            "issue_events": "issues/events{/number}",
            "events": "events",
            "assignees": "assignees{/user}",
            "branches": "branches{/branch}",
            "tags": "tags",
            "blobs": "git/blobs{/sha}",
            "git_tags": "git/tags{/sha}",
            "git_refs": "git/refs{/sha}",
            "trees": "git/trees{/sha}",
            "statuses": "statuses/{sha}",
            "languages": "languages",
            "stargazers": "stargazers",
            "contributors": "contributors",
            "commits": "commits{/sha}",
            "git_commits": "git/commits{/sha}",
            "comments": "comments{/number}",
            "issue_comment": "issues/comments{/number}",
            "contents": "contents/{+path}",
            "compare": "compare/{base}...{head}",
            "merges": "merges",
            "issues": "issues{/number}",
            "pulls": "pulls{/number}",
            "labels": "labels{/name}",
            "releases": "releases{/id}",
        }.items()
    }
    return {
        "id": repo_id,
        "node_id": f"R_{repo_id}",
        "name": name,
        "full_name": f"{owner}/{name}",
        "private": False,
        "owner": user(owner, 100),
        "html_url": f"https://github.com/{owner}/{name}",
        "description": "A demo repository",
        "fork": False,
        "url": base,
        **templates,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "pushed_at": "2024-01-01T00:00:00Z",
        "clone_url": f"https://github.com/{owner}/{name}.git",
        "default_branch": "main",
        "open_issues_count": 1,
    }


def issue(
    number: int, title: str, body: str, author: str = "alice", **extra: Any
) -> dict[str, Any]:
    base = f"{API}/repos/octo/demo/issues/{number}"
    return {
        "url": base,
        "repository_url": f"{API}/repos/octo/demo",
        "labels_url": f"{base}/labels{{/name}}",
        "comments_url": f"{base}/comments",
        "events_url": f"{base}/events",
        "html_url": f"https://github.com/octo/demo/issues/{number}",
        "id": 5000 + number,
        "node_id": f"I_{number}",
        "number": number,
        "title": title,
        "user": user(author, 7),
        "labels": [],
        "state": "open",
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": 0,
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-01T10:00:00Z",
        "closed_at": None,
        "author_association": "NONE",
        "body": body,
        "reactions": {"url": f"{base}/reactions", "total_count": 0, "+1": 0, "-1": 0},
        **extra,
    }


def issues_event(
    action: str, number: int = 1, installation_id: int = 9, **fields: Any
) -> dict[str, Any]:
    return {
        "action": action,
        "issue": issue(
            number, fields.pop("title", "Add a dark mode"), fields.pop("body", "Please.")
        ),
        "repository": repository(),
        "sender": user(fields.pop("sender", "alice"), 7),
        "installation": {"id": installation_id, "node_id": "MDIz"},
        **fields,
    }


def signed(
    payload: dict[str, Any] | bytes, secret: str, event: str, delivery: str | None = None
) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return body, {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
        "User-Agent": "GitHub-Hookshot/test",
    }


def pull_request_event(
    action: str,
    number: int,
    head_ref: str,
    head_sha: str = "a" * 40,
    merged: bool = False,
    author: dict[str, Any] | None = None,
    head_repo: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A pull_request event; by default the App's PR from a branch of octo/demo itself."""
    base = f"{API}/repos/octo/demo/pulls/{number}"
    opener = author or user("townhall[bot]", 99, "Bot")
    head = head_repo or repository()
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "url": base,
            "id": 9000 + number,
            "number": number,
            "state": "closed" if action == "closed" else "open",
            "title": "A change",
            "user": opener,
            "author_association": "NONE",
            "body": "Closes #1",
            "head": {
                "ref": head_ref,
                "sha": head_sha,
                "label": f"{head['owner']['login']}:{head_ref}",
                "repo": head,
            },
            "base": {"ref": "main", "sha": "b" * 40, "label": "octo:main", "repo": repository()},
            "merged": merged,
            "merge_commit_sha": "c" * 40 if merged else None,
        },
        "repository": repository(),
        "sender": opener,
        "installation": {"id": 9, "node_id": "MDIz"},
    }
