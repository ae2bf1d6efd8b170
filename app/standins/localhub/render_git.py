"""Render git data (blobs, trees, commits, refs), branches and contents in GitHub's JSON shapes."""

from __future__ import annotations

import base64

from app.clock import format_timestamp

from .git import CommitInfo, Signature, TreeEntry
from .models import Repo
from .render_core import JSON, Urls, node_id


def _signature(sig: Signature) -> JSON:
    return {"name": sig.name, "email": sig.email, "date": format_timestamp(sig.date)}


def _unverified() -> JSON:
    return {
        "verified": False,
        "reason": "unsigned",
        "signature": None,
        "payload": None,
        "verified_at": None,
    }


def blob(urls: Urls, repo: Repo, sha: str, data: bytes) -> JSON:
    """Render a blob as GitHub's `blob` (base64 content)."""
    return {
        "sha": sha,
        "node_id": node_id("Blob", sha),
        "size": len(data),
        "url": urls.repo(repo) + f"/git/blobs/{sha}",
        "content": base64.encodebytes(data).decode(),
        "encoding": "base64",
    }


def short_blob(urls: Urls, repo: Repo, sha: str) -> JSON:
    """Render the answer to blob creation."""
    return {"sha": sha, "url": urls.repo(repo) + f"/git/blobs/{sha}"}


def tree(urls: Urls, repo: Repo, sha: str, entries: list[TreeEntry]) -> JSON:
    """Render a tree as GitHub's `git-tree`."""
    items = []
    for entry in entries:
        kind = "blobs" if entry.type == "blob" else "trees"
        item: JSON = {"path": entry.path, "mode": entry.mode, "type": entry.type, "sha": entry.sha}
        if entry.type == "blob":
            item["size"] = entry.size
        if entry.type != "commit":
            item["url"] = urls.repo(repo) + f"/git/{kind}/{entry.sha}"
        items.append(item)
    return {
        "sha": sha,
        "url": urls.repo(repo) + f"/git/trees/{sha}",
        "tree": items,
        "truncated": False,
    }


def git_commit(urls: Urls, repo: Repo, commit: CommitInfo) -> JSON:
    """Render a commit as GitHub's `git-commit` (the git data API)."""
    api = urls.repo(repo)
    return {
        "sha": commit.sha,
        "node_id": node_id("Commit", commit.sha),
        "url": api + f"/git/commits/{commit.sha}",
        "html_url": urls.html(f"/{repo.full_name}/commit/{commit.sha}"),
        "author": _signature(commit.author),
        "committer": _signature(commit.committer),
        "message": commit.message,
        "tree": {"sha": commit.tree, "url": api + f"/git/trees/{commit.tree}"},
        "parents": [
            {
                "sha": parent,
                "url": api + f"/git/commits/{parent}",
                "html_url": urls.html(f"/{repo.full_name}/commit/{parent}"),
            }
            for parent in commit.parents
        ],
        "verification": _unverified(),
    }


def commit(urls: Urls, repo: Repo, info: CommitInfo) -> JSON:
    """Render a commit as GitHub's `commit` (the repos API, as embedded in branches)."""
    api = urls.repo(repo)
    return {
        "url": api + f"/commits/{info.sha}",
        "sha": info.sha,
        "node_id": node_id("Commit", info.sha),
        "html_url": urls.html(f"/{repo.full_name}/commit/{info.sha}"),
        "comments_url": api + f"/commits/{info.sha}/comments",
        "commit": {
            "url": api + f"/git/commits/{info.sha}",
            "author": _signature(info.author),
            "committer": _signature(info.committer),
            "message": info.message.rstrip("\n"),
            "comment_count": 0,
            "tree": {"sha": info.tree, "url": api + f"/git/trees/{info.tree}"},
            "verification": _unverified(),
        },
        "author": None,
        "committer": None,
        "parents": [
            {
                "sha": parent,
                "url": api + f"/commits/{parent}",
                "html_url": urls.html(f"/{repo.full_name}/commit/{parent}"),
            }
            for parent in info.parents
        ],
    }


def ref(urls: Urls, repo: Repo, name: str, sha: str, kind: str = "commit") -> JSON:
    """Render a reference as GitHub's `git-ref`."""
    api = urls.repo(repo)
    plural = "commits" if kind == "commit" else f"{kind}s"
    return {
        "ref": name,
        "node_id": node_id("Ref", f"{repo.id}:{name}"),
        "url": api + f"/git/{name}",
        "object": {"type": kind, "sha": sha, "url": api + f"/git/{plural}/{sha}"},
    }


def branch(urls: Urls, repo: Repo, name: str, info: CommitInfo) -> JSON:
    """Render a branch as GitHub's `branch-with-protection`."""
    api = urls.repo(repo) + f"/branches/{name}"
    protected = name in repo.protected_branches
    return {
        "name": name,
        "commit": commit(urls, repo, info),
        "_links": {"self": api, "html": urls.html(f"/{repo.full_name}/tree/{name}")},
        "protected": protected,
        "protection": {
            "enabled": protected,
            "required_status_checks": {
                "enforcement_level": "off",
                "contexts": [],
                "checks": [],
            },
        },
        "protection_url": api + "/protection",
    }


def short_branch(urls: Urls, repo: Repo, name: str, sha: str) -> JSON:
    """Render a branch as GitHub's `short-branch` (branch listings)."""
    return {
        "name": name,
        "commit": {"sha": sha, "url": urls.repo(repo) + f"/commits/{sha}"},
        "protected": name in repo.protected_branches,
    }


def content_entry(urls: Urls, repo: Repo, ref_name: str, entry: TreeEntry) -> JSON:
    """Render one directory entry (or the metadata of a file) of the contents API."""
    kinds = {"blob": "file", "tree": "dir", "commit": "submodule"}
    kind = "symlink" if entry.mode == "120000" else kinds[entry.type]
    self_url = urls.repo(repo) + f"/contents/{entry.path}?ref={ref_name}"
    html = urls.html(f"/{repo.full_name}/{'tree' if kind == 'dir' else 'blob'}/{ref_name}/")
    git_kind = "trees" if kind == "dir" else "blobs"
    git_url = urls.repo(repo) + f"/git/{git_kind}/{entry.sha}"
    raw = urls.html(f"/{repo.full_name}/raw/{ref_name}/{entry.path}")
    return {
        "type": kind,
        "size": entry.size or 0,
        "name": entry.path.rsplit("/", 1)[-1],
        "path": entry.path,
        "sha": entry.sha,
        "url": self_url,
        "git_url": git_url,
        "html_url": html + entry.path,
        "download_url": raw if kind == "file" else None,
        "_links": {"self": self_url, "git": git_url, "html": html + entry.path},
    }


def content_file(urls: Urls, repo: Repo, ref_name: str, entry: TreeEntry, data: bytes) -> JSON:
    """Render a file of the contents API, with its base64 content."""
    return content_entry(urls, repo, ref_name, entry) | {
        "encoding": "base64",
        "content": base64.encodebytes(data).decode(),
    }
