"""Render check runs, check suites and commit statuses in GitHub's JSON shapes."""

from __future__ import annotations

from app.clock import format_timestamp

from .git import CommitInfo
from .models import CheckRun, CheckSuite, CommitStatus, PullRequest, Repo
from .render_core import JSON, Urls, integration, node_id, repository, simple_user
from .render_issues import stamp
from .state import HubState


def _app_json(urls: Urls, state: HubState, app_id: int | None) -> JSON | None:
    app = state.data.apps.get(app_id) if app_id is not None else None
    if app is None:
        return None
    return integration(urls, app, state.user(app.owner_login))


def pull_minimal(urls: Urls, repo: Repo, pull: PullRequest) -> JSON:
    """Render GitHub's `pull-request-minimal` (embedded in checks)."""
    short = {"id": repo.id, "url": urls.repo(repo), "name": repo.name}
    return {
        "id": pull.id,
        "number": pull.number,
        "url": urls.repo(repo) + f"/pulls/{pull.number}",
        "head": {"ref": pull.head_ref, "sha": pull.head_sha, "repo": short},
        "base": {"ref": pull.base_ref, "sha": pull.base_sha, "repo": short},
    }


def pulls_for_sha(urls: Urls, repo: Repo, sha: str) -> list[JSON]:
    """Render the open pull requests whose head is `sha`."""
    return [
        pull_minimal(urls, repo, p)
        for p in repo.pulls.values()
        if p.head_sha == sha and repo.issues[p.number].state == "open"
    ]


def check_run(urls: Urls, state: HubState, repo: Repo, run: CheckRun) -> JSON:
    """Render a check run as GitHub's `check-run` (with a simple check suite embedded)."""
    api = urls.repo(repo) + f"/check-runs/{run.id}"
    suite = repo.check_suites[run.check_suite_id]
    return {
        "id": run.id,
        "head_sha": run.head_sha,
        "node_id": node_id("CheckRun", run.id),
        "external_id": run.external_id or "",
        "url": api,
        "html_url": urls.html(f"/{repo.full_name}/runs/{run.id}"),
        # GitHub falls back to the run's page when the app gives no details URL.
        "details_url": run.details_url or urls.html(f"/{repo.full_name}/runs/{run.id}"),
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": stamp(run.started_at),
        "completed_at": stamp(run.completed_at),
        "output": {
            "title": run.output_title,
            "summary": run.output_summary,
            "text": run.output_text,
            "annotations_count": 0,
            "annotations_url": api + "/annotations",
        },
        "name": run.name,
        "check_suite": {
            "id": suite.id,
            "node_id": node_id("CheckSuite", suite.id),
            "head_branch": suite.head_branch,
            "head_sha": suite.head_sha,
            "status": suite.status,
            "conclusion": suite.conclusion,
            "url": urls.repo(repo) + f"/check-suites/{suite.id}",
        },
        "app": _app_json(urls, state, run.app_id),
        "pull_requests": pulls_for_sha(urls, repo, run.head_sha),
    }


def check_suite(
    urls: Urls, state: HubState, repo: Repo, suite: CheckSuite, head: CommitInfo
) -> JSON:
    """Render a check suite as GitHub's `check-suite`."""
    owner = state.user(repo.owner_login)
    runs = [r for r in repo.check_runs.values() if r.check_suite_id == suite.id]
    api = urls.repo(repo) + f"/check-suites/{suite.id}"
    return {
        "id": suite.id,
        "node_id": node_id("CheckSuite", suite.id),
        "head_branch": suite.head_branch,
        "head_sha": suite.head_sha,
        "status": suite.status,
        "conclusion": suite.conclusion,
        "url": api,
        "before": None,
        "after": suite.head_sha,
        "pull_requests": pulls_for_sha(urls, repo, suite.head_sha),
        "app": _app_json(urls, state, suite.app_id),
        "repository": repository(urls, repo, owner, state.open_issue_count(repo)),
        "created_at": format_timestamp(suite.created_at),
        "updated_at": format_timestamp(suite.updated_at),
        "head_commit": {
            "id": head.sha,
            "tree_id": head.tree,
            "message": head.message,
            "timestamp": format_timestamp(head.committer.date),
            "author": {"name": head.author.name, "email": head.author.email},
            "committer": {"name": head.committer.name, "email": head.committer.email},
        },
        "latest_check_runs_count": len(runs),
        "check_runs_url": api + "/check-runs",
        "rerequestable": True,
        "runs_rerequestable": True,
    }


def status(urls: Urls, state: HubState, repo: Repo, item: CommitStatus) -> JSON:
    """Render a commit status as GitHub's `status`."""
    return {
        "url": urls.repo(repo) + f"/statuses/{item.sha}",
        "avatar_url": None,
        "id": item.id,
        "node_id": node_id("StatusContext", item.id),
        "state": item.state,
        "description": item.description,
        "target_url": item.target_url,
        "context": item.context,
        "created_at": format_timestamp(item.created_at),
        "updated_at": format_timestamp(item.updated_at),
        "creator": simple_user(urls, state.user(item.creator_login)),
    }


def combined_status(
    urls: Urls, state: HubState, repo: Repo, sha: str, latest: list[CommitStatus]
) -> JSON:
    """Render GitHub's `combined-commit-status` from the latest status per context."""
    states = {s.state for s in latest}
    if states & {"failure", "error"}:
        overall = "failure"
    elif not latest or "pending" in states:
        overall = "pending"
    else:
        overall = "success"
    owner = state.user(repo.owner_login)
    simple = [status(urls, state, repo, s) for s in latest]
    for item in simple:
        item.pop("creator")
    return {
        "state": overall,
        "statuses": simple,
        "sha": sha,
        "total_count": len(latest),
        "repository": repository(urls, repo, owner, state.open_issue_count(repo)),
        "commit_url": urls.repo(repo) + f"/commits/{sha}",
        "url": urls.repo(repo) + f"/commits/{sha}/status",
    }
