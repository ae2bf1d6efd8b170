"""Render pull requests, their files, reviews and review comments in GitHub's REST JSON shapes."""

from __future__ import annotations

from app.clock import format_timestamp

from .diff import FileDiff
from .models import PullRequest, Repo, Review, ReviewComment
from .pull_facts import PullFacts
from .render_core import JSON, Urls, node_id, reaction_rollup, repository, simple_user
from .render_issues import issue_labels, stamp
from .state import HubState


def _branch(urls: Urls, state: HubState, repo: Repo, ref: str, sha: str, repo_json: JSON) -> JSON:
    owner = state.user(repo.owner_login)
    return {
        "label": f"{repo.owner_login}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": simple_user(urls, owner),
        "repo": repo_json,
    }


def pull(
    urls: Urls,
    state: HubState,
    repo: Repo,
    item: PullRequest,
    facts: PullFacts,
    *,
    full: bool = True,
) -> JSON:
    """Render a pull request: `pull-request` when `full`, else `pull-request-simple`."""
    issue = repo.issues[item.number]
    api = urls.repo(repo) + f"/pulls/{item.number}"
    issue_api = urls.repo(repo) + f"/issues/{item.number}"
    html = urls.html(f"/{repo.full_name}/pull/{item.number}")
    statuses = urls.repo(repo) + f"/statuses/{facts.head_sha}"
    repo_json = repository(urls, repo, state.user(repo.owner_login), state.open_issue_count(repo))
    assignees = [simple_user(urls, state.user(login)) for login in issue.assignees]
    body: JSON = {
        "url": api,
        "id": item.id,
        "node_id": node_id("PullRequest", item.id),
        "html_url": html,
        "diff_url": html + ".diff",
        "patch_url": html + ".patch",
        "issue_url": issue_api,
        "commits_url": api + "/commits",
        "review_comments_url": api + "/comments",
        "review_comment_url": urls.repo(repo) + "/pulls/comments{/number}",
        "comments_url": issue_api + "/comments",
        "statuses_url": statuses,
        "number": item.number,
        "state": issue.state,
        "locked": issue.locked,
        "title": issue.title,
        "user": simple_user(urls, state.user(issue.user_login)),
        "body": issue.body,
        "labels": issue_labels(urls, repo, issue),
        "milestone": None,
        "active_lock_reason": None,
        "created_at": format_timestamp(issue.created_at),
        "updated_at": format_timestamp(issue.updated_at),
        "closed_at": stamp(issue.closed_at),
        "merged_at": stamp(item.merged_at),
        "merge_commit_sha": item.merge_commit_sha,
        "assignee": assignees[0] if assignees else None,
        "assignees": assignees,
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _branch(urls, state, repo, item.head_ref, facts.head_sha, repo_json),
        "base": _branch(urls, state, repo, item.base_ref, facts.base_sha, repo_json),
        "_links": {
            "self": {"href": api},
            "html": {"href": html},
            "issue": {"href": issue_api},
            "comments": {"href": issue_api + "/comments"},
            "review_comments": {"href": api + "/comments"},
            "review_comment": {"href": urls.repo(repo) + "/pulls/comments{/number}"},
            "commits": {"href": api + "/commits"},
            "statuses": {"href": statuses},
        },
        "author_association": state.author_association(repo, issue.user_login),
        "auto_merge": None,
        "draft": item.draft,
    }
    if not full:
        return body
    merged_by = state.find_user(item.merged_by) if item.merged_by else None
    return body | {
        "merged": item.merged,
        "mergeable": facts.mergeable,
        "rebaseable": facts.mergeable,
        "mergeable_state": facts.mergeable_state,
        "merged_by": simple_user(urls, merged_by) if merged_by else None,
        "comments": sum(1 for c in repo.comments.values() if c.issue_number == item.number),
        "review_comments": sum(
            1 for c in repo.review_comments.values() if c.pull_number == item.number
        ),
        "maintainer_can_modify": item.maintainer_can_modify,
        "commits": facts.commits,
        "additions": facts.additions,
        "deletions": facts.deletions,
        "changed_files": len(facts.files),
    }


def diff_entry(urls: Urls, repo: Repo, head_sha: str, item: FileDiff) -> JSON:
    """Render one changed file as GitHub's `diff-entry`."""
    base = urls.html(f"/{repo.full_name}")
    entry: JSON = {
        "sha": item.blob_sha if item.status != "removed" else None,
        "filename": item.filename,
        "status": item.status,
        "additions": item.additions,
        "deletions": item.deletions,
        "changes": item.additions + item.deletions,
        "blob_url": f"{base}/blob/{head_sha}/{item.filename}",
        "raw_url": f"{base}/raw/{head_sha}/{item.filename}",
        "contents_url": urls.repo(repo) + f"/contents/{item.filename}?ref={head_sha}",
    }
    if not item.binary:
        entry["patch"] = item.patch
    if item.previous_filename:
        entry["previous_filename"] = item.previous_filename
    return entry


def review(urls: Urls, state: HubState, repo: Repo, item: Review) -> JSON:
    """Render a pull request review."""
    pull_api = urls.repo(repo) + f"/pulls/{item.pull_number}"
    html = urls.html(f"/{repo.full_name}/pull/{item.pull_number}#pullrequestreview-{item.id}")
    return {
        "id": item.id,
        "node_id": node_id("PullRequestReview", item.id),
        "user": simple_user(urls, state.user(item.user_login)),
        "body": item.body,
        "state": item.state,
        "html_url": html,
        "pull_request_url": pull_api,
        "_links": {"html": {"href": html}, "pull_request": {"href": pull_api}},
        "submitted_at": format_timestamp(item.submitted_at),
        "commit_id": item.commit_id,
        "author_association": state.author_association(repo, item.user_login),
    }


def review_comment(urls: Urls, state: HubState, repo: Repo, item: ReviewComment) -> JSON:
    """Render an inline review comment as GitHub's `pull-request-review-comment`."""
    api = urls.repo(repo) + f"/pulls/comments/{item.id}"
    pull_api = urls.repo(repo) + f"/pulls/{item.pull_number}"
    html = urls.html(f"/{repo.full_name}/pull/{item.pull_number}#discussion_r{item.id}")
    body: JSON = {
        "url": api,
        "pull_request_review_id": item.review_id,
        "id": item.id,
        "node_id": node_id("PullRequestReviewComment", item.id),
        "diff_hunk": item.diff_hunk,
        "path": item.path,
        "position": item.position,
        "original_position": item.position,
        "commit_id": item.commit_id,
        "original_commit_id": item.commit_id,
        "user": simple_user(urls, state.user(item.user_login)),
        "body": item.body,
        "created_at": format_timestamp(item.created_at),
        "updated_at": format_timestamp(item.updated_at),
        "html_url": html,
        "pull_request_url": pull_api,
        "author_association": state.author_association(repo, item.user_login),
        "_links": {
            "self": {"href": api},
            "html": {"href": html},
            "pull_request": {"href": pull_api},
        },
        "start_line": item.start_line,
        "original_start_line": item.start_line,
        "start_side": item.start_side,
        "line": item.line,
        "original_line": item.line,
        "side": item.side,
        "subject_type": "line" if item.line is not None else "file",
        "reactions": reaction_rollup(api + "/reactions", []),
    }
    if item.in_reply_to_id is not None:
        body["in_reply_to_id"] = item.in_reply_to_id
    return body
