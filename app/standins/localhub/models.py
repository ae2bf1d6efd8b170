"""Plain records of what localhub knows: users, apps, installations, repos and their issues."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# GitHub's reaction contents, in the order GitHub lists reaction groups.
REACTION_CONTENTS = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")

# Installation permission categories localhub enforces, and the levels each may take.
PERMISSION_CATEGORIES = ("contents", "issues", "pull_requests", "checks", "statuses", "metadata")
PERMISSION_LEVELS = {"read": 1, "write": 2, "admin": 3}

# Collaborator roles from weakest to strongest.
COLLABORATOR_ROLES = ("none", "read", "triage", "write", "maintain", "admin")


@dataclass
class User:
    """A GitHub account: a person (`User`) or an app's bot (`Bot`)."""

    id: int
    login: str
    type: str
    created_at: datetime
    name: str | None = None
    email: str | None = None


@dataclass
class App:
    """A GitHub App identity: its id, slug and the public half of its signing key."""

    id: int
    slug: str
    name: str
    owner_login: str
    public_key_pem: str
    permissions: dict[str, str]
    events: list[str]
    created_at: datetime
    description: str | None = None


@dataclass
class Installation:
    """An app installed on an account, on all its repositories or on selected ones."""

    id: int
    app_id: int
    account_login: str
    repository_selection: str
    repository_ids: list[int]
    permissions: dict[str, str]
    events: list[str]
    created_at: datetime


@dataclass
class AccessToken:
    """An installation access token, possibly narrowed to some repositories and permissions."""

    token: str
    installation_id: int
    expires_at: datetime
    permissions: dict[str, str]
    repository_ids: list[int] | None


@dataclass
class Label:
    """A repository label."""

    id: int
    name: str
    color: str
    description: str | None = None


@dataclass
class Issue:
    """An issue, or the issue half of a pull request (`is_pull`)."""

    id: int
    number: int
    title: str
    body: str | None
    user_login: str
    state: str
    created_at: datetime
    updated_at: datetime
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    closed_at: datetime | None = None
    closed_by: str | None = None
    state_reason: str | None = None
    locked: bool = False
    is_pull: bool = False


@dataclass
class Comment:
    """A comment on an issue or a pull request's conversation."""

    id: int
    issue_number: int
    user_login: str
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass
class IssueEvent:
    """One entry of an issue's history as the issue events API lists it (labels only)."""

    id: int
    issue_number: int
    event: str
    actor_login: str
    created_at: datetime
    label: str | None = None


@dataclass
class Reaction:
    """A reaction on an issue (`subject_type` "issue", id = number) or an issue comment."""

    id: int
    subject_type: str
    subject_id: int
    user_login: str
    content: str
    created_at: datetime


@dataclass
class PullRequest:
    """The pull-request half of an issue: branches, merge outcome and frozen shas once closed."""

    id: int
    number: int
    head_ref: str
    base_ref: str
    head_sha: str
    base_sha: str
    draft: bool = False
    maintainer_can_modify: bool = False
    merged: bool = False
    merged_at: datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None


@dataclass
class Review:
    """A submitted pull request review."""

    id: int
    pull_number: int
    user_login: str
    body: str
    state: str
    commit_id: str
    submitted_at: datetime


@dataclass
class ReviewComment:
    """An inline comment on a pull request diff."""

    id: int
    pull_number: int
    review_id: int | None
    user_login: str
    body: str
    path: str
    line: int | None
    side: str
    start_line: int | None
    start_side: str | None
    position: int | None
    commit_id: str
    diff_hunk: str
    created_at: datetime
    updated_at: datetime
    in_reply_to_id: int | None = None


@dataclass
class CheckSuite:
    """The suite grouping one app's check runs for one head commit."""

    id: int
    head_sha: str
    head_branch: str | None
    app_id: int | None
    status: str
    conclusion: str | None
    created_at: datetime
    updated_at: datetime


@dataclass
class CheckRun:
    """A check run reported by an app against a commit."""

    id: int
    check_suite_id: int
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    app_id: int | None
    started_at: datetime | None
    completed_at: datetime | None
    output_title: str | None = None
    output_summary: str | None = None
    output_text: str | None = None
    details_url: str | None = None
    external_id: str | None = None


@dataclass
class CommitStatus:
    """A commit status (the older statuses API)."""

    id: int
    sha: str
    state: str
    context: str
    creator_login: str
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    target_url: str | None = None


@dataclass
class Repo:
    """A repository: its metadata plus everything filed against it. Git objects live on disk."""

    id: int
    owner_login: str
    name: str
    default_branch: str
    private: bool
    created_at: datetime
    updated_at: datetime
    pushed_at: datetime
    description: str | None = None
    next_number: int = 1
    collaborators: dict[str, str] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    reactions: dict[int, Reaction] = field(default_factory=dict)
    reviews: dict[int, Review] = field(default_factory=dict)
    review_comments: dict[int, ReviewComment] = field(default_factory=dict)
    check_suites: dict[int, CheckSuite] = field(default_factory=dict)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    statuses: dict[int, CommitStatus] = field(default_factory=dict)
    issue_events: dict[int, IssueEvent] = field(default_factory=dict)
    # Branch protection: approving reviews a merge into the branch needs, by branch name.
    protected_branches: dict[str, int] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        """Return `owner/name`."""
        return f"{self.owner_login}/{self.name}"


@dataclass
class WebhookConfig:
    """Where webhooks go and the secret that signs them."""

    url: str | None = None
    secret: str = ""
    hook_id: int = 1


@dataclass
class HubData:
    """Everything persisted: the whole in-memory state, serialisable to JSON."""

    next_id: int = 1000
    users: dict[str, User] = field(default_factory=dict)
    user_tokens: dict[str, str] = field(default_factory=dict)
    apps: dict[int, App] = field(default_factory=dict)
    installations: dict[int, Installation] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    repos: dict[int, Repo] = field(default_factory=dict)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
