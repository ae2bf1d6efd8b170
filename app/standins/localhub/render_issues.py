"""Render issues, issue comments and reactions in GitHub's REST JSON shapes."""

from __future__ import annotations

from datetime import datetime

from app.clock import format_timestamp

from .models import Comment, Issue, Reaction, Repo
from .render_core import JSON, Urls, label, node_id, reaction_rollup, simple_user
from .state import HubState


def stamp(moment: datetime | None) -> str | None:
    """Format an optional timestamp."""
    return format_timestamp(moment) if moment is not None else None


def issue_labels(urls: Urls, repo: Repo, issue: Issue) -> list[JSON]:
    """Render the labels on an issue."""
    return [label(urls, repo, repo.labels[name]) for name in issue.labels if name in repo.labels]


def issue(urls: Urls, state: HubState, repo: Repo, item: Issue) -> JSON:
    """Render an issue (or a pull request's issue half) as GitHub's `issue`."""
    api = urls.repo(repo) + f"/issues/{item.number}"
    html_kind = "pull" if item.is_pull else "issues"
    html = urls.html(f"/{repo.full_name}/{html_kind}/{item.number}")
    assignees = [simple_user(urls, state.user(login)) for login in item.assignees]
    reactions = [
        r
        for r in repo.reactions.values()
        if r.subject_type == "issue" and r.subject_id == item.number
    ]
    comments = sum(1 for c in repo.comments.values() if c.issue_number == item.number)
    closed_by = state.find_user(item.closed_by) if item.closed_by else None
    body: JSON = {
        "id": item.id,
        "node_id": node_id("Issue", item.id),
        "url": api,
        "repository_url": urls.repo(repo),
        "labels_url": api + "/labels{/name}",
        "comments_url": api + "/comments",
        "events_url": api + "/events",
        "html_url": html,
        "number": item.number,
        "state": item.state,
        "state_reason": item.state_reason,
        "title": item.title,
        "body": item.body,
        "user": simple_user(urls, state.user(item.user_login)),
        "labels": issue_labels(urls, repo, item),
        "assignee": assignees[0] if assignees else None,
        "assignees": assignees,
        "milestone": None,
        "locked": item.locked,
        "active_lock_reason": None,
        "comments": comments,
        "closed_at": stamp(item.closed_at),
        "created_at": format_timestamp(item.created_at),
        "updated_at": format_timestamp(item.updated_at),
        "closed_by": simple_user(urls, closed_by) if closed_by else None,
        "author_association": state.author_association(repo, item.user_login),
        "reactions": reaction_rollup(api + "/reactions", reactions),
        "timeline_url": api + "/timeline",
        "performed_via_github_app": None,
    }
    if item.is_pull:
        pull = repo.pulls[item.number]
        pull_api = urls.repo(repo) + f"/pulls/{item.number}"
        body["draft"] = pull.draft
        body["pull_request"] = {
            "url": pull_api,
            "html_url": html,
            "diff_url": html + ".diff",
            "patch_url": html + ".patch",
            "merged_at": stamp(pull.merged_at),
        }
    return body


def comment(urls: Urls, state: HubState, repo: Repo, item: Comment) -> JSON:
    """Render an issue comment as GitHub's `issue-comment`."""
    api = urls.repo(repo) + f"/issues/comments/{item.id}"
    parent = repo.issues[item.issue_number]
    html_kind = "pull" if parent.is_pull else "issues"
    reactions = [
        r
        for r in repo.reactions.values()
        if r.subject_type == "comment" and r.subject_id == item.id
    ]
    return {
        "id": item.id,
        "node_id": node_id("IssueComment", item.id),
        "url": api,
        "html_url": urls.html(
            f"/{repo.full_name}/{html_kind}/{item.issue_number}#issuecomment-{item.id}"
        ),
        "body": item.body,
        "user": simple_user(urls, state.user(item.user_login)),
        "created_at": format_timestamp(item.created_at),
        "updated_at": format_timestamp(item.updated_at),
        "issue_url": urls.repo(repo) + f"/issues/{item.issue_number}",
        "author_association": state.author_association(repo, item.user_login),
        "performed_via_github_app": None,
        "reactions": reaction_rollup(api + "/reactions", reactions),
    }


def reaction(urls: Urls, state: HubState, item: Reaction) -> JSON:
    """Render a reaction as GitHub's `reaction`."""
    return {
        "id": item.id,
        "node_id": node_id("Reaction", item.id),
        "user": simple_user(urls, state.user(item.user_login)),
        "content": item.content,
        "created_at": format_timestamp(item.created_at),
    }
