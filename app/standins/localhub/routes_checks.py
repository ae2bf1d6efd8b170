"""REST routes for check runs and commit statuses, with their check_run/check_suite webhooks."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from app.clock import parse_timestamp

from . import render_checks, render_git
from .api import Call, api_route, json_response, paginate
from .core import HubCore
from .errors import ApiError, not_found, validation_failed
from .events import emit, wanted
from .models import CheckRun, CheckSuite, CommitStatus

_CHECK_STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
_CONCLUSIONS = (
    "success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required",
)  # fmt: skip
_STATUS_STATES = ("error", "failure", "pending", "success")


async def _resolve(call: Call, ref: str) -> str:
    sha = await call.core.git(call.repo).resolve(ref)
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    return sha


def _suite_for(call: Call, head_sha: str, app_id: int | None) -> CheckSuite:
    for suite in call.repo.check_suites.values():
        if suite.head_sha == head_sha and suite.app_id == app_id:
            return suite
    branch = next((p.head_ref for p in call.repo.pulls.values() if p.head_sha == head_sha), None)
    now = call.core.now()
    suite = CheckSuite(call.core.state.new_id(), head_sha, branch, app_id, "queued", None, now, now)
    call.repo.check_suites[suite.id] = suite
    return suite


def _apply(call: Call, run: CheckRun, body: dict[str, Any]) -> None:
    for key in ("name", "details_url", "external_id"):
        if body.get(key) is not None:
            setattr(run, key, str(body[key]))
    output = body.get("output")
    if isinstance(output, dict):
        run.output_title = output.get("title", run.output_title)
        run.output_summary = output.get("summary", run.output_summary)
        run.output_text = output.get("text", run.output_text)
    if body.get("started_at"):
        run.started_at = parse_timestamp(str(body["started_at"]))
    if body.get("status") is not None:
        if body["status"] not in _CHECK_STATUSES:
            raise validation_failed("CheckRun", "status")
        run.status = str(body["status"])
    if body.get("conclusion") is not None:
        if body["conclusion"] not in _CONCLUSIONS:
            raise validation_failed("CheckRun", "conclusion")
        run.conclusion = str(body["conclusion"])
        run.status = "completed"
    if run.status == "completed":
        if run.conclusion is None:
            raise validation_failed("CheckRun", "conclusion", "missing_field")
        stamp = body.get("completed_at")
        run.completed_at = parse_timestamp(str(stamp)) if stamp else call.core.now()


async def _announce(call: Call, run: CheckRun, action: str) -> None:
    repo, state = call.repo, call.core.state
    if wanted(call.ctx):
        rendered = render_checks.check_run(call.ctx.urls, state, repo, run)
        emit(call.ctx, "check_run", repo, {"action": action, "check_run": rendered})
    suite = repo.check_suites[run.check_suite_id]
    runs = [r for r in repo.check_runs.values() if r.check_suite_id == suite.id]
    suite.updated_at = call.core.now()
    if all(r.status == "completed" for r in runs):
        conclusions = {r.conclusion for r in runs}
        worst = next((c for c in ("failure", "timed_out", "cancelled") if c in conclusions), None)
        suite.status, suite.conclusion = "completed", worst or "success"
        if wanted(call.ctx):
            head = await call.core.git(repo).read_commit(suite.head_sha)
            body = render_checks.check_suite(call.ctx.urls, state, repo, suite, head)
            emit(call.ctx, "check_suite", repo, {"action": "completed", "check_suite": body})
    else:
        suite.status, suite.conclusion = "in_progress", None


async def create_check_run(call: Call) -> Response:
    """Answer POST /repos/{owner}/{repo}/check-runs (GitHub Apps only)."""
    if call.actor.kind != "installation" or call.actor.app is None:
        raise ApiError(403, "You must authenticate via a GitHub App.")
    body = await call.body()
    if not body.get("name"):
        raise validation_failed("CheckRun", "name", "missing_field")
    head_sha = await _resolve(call, str(body.get("head_sha") or ""))
    suite = _suite_for(call, head_sha, call.actor.app.id)
    now = call.core.now()
    run = CheckRun(
        call.core.state.new_id(), suite.id, head_sha, str(body["name"]), "queued", None,
        call.actor.app.id, now, None,
    )  # fmt: skip
    _apply(call, run, body)
    call.repo.check_runs[run.id] = run
    await _announce(call, run, "created")
    if run.status == "completed":
        await _announce(call, run, "completed")
    state = call.core.state
    return json_response(render_checks.check_run(call.ctx.urls, state, call.repo, run), status=201)


def _run(call: Call) -> CheckRun:
    run = call.repo.check_runs.get(call.path_int("check_run_id"))
    if run is None:
        raise not_found()
    return run


async def update_check_run(call: Call) -> Response:
    """Answer PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}."""
    run = _run(call)
    was_completed = run.status == "completed"
    _apply(call, run, await call.body())
    if run.status == "completed" and not was_completed:
        await _announce(call, run, "completed")
    state = call.core.state
    return json_response(render_checks.check_run(call.ctx.urls, state, call.repo, run))


async def get_check_run(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/check-runs/{check_run_id}."""
    state = call.core.state
    return json_response(render_checks.check_run(call.ctx.urls, state, call.repo, _run(call)))


async def list_check_runs(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/commits/{ref}/check-runs."""
    sha = await _resolve(call, call.path("ref"))
    found = sorted(
        (r for r in call.repo.check_runs.values() if r.head_sha == sha),
        key=lambda r: r.id,
        reverse=True,
    )
    if name := call.query("check_name"):
        found = [r for r in found if r.name == name]
    if status := call.query("status"):
        found = [r for r in found if r.status == status]
    if call.query("filter") != "all":
        # GitHub's default filter keeps only the most recent run per name.
        latest: dict[str, CheckRun] = {}
        for run in found:
            latest.setdefault(run.name, run)
        found = list(latest.values())
    page, headers = paginate(call, found)
    state = call.core.state
    runs = [render_checks.check_run(call.ctx.urls, state, call.repo, r) for r in page]
    return json_response({"total_count": len(found), "check_runs": runs}, headers=headers)


async def create_status(call: Call) -> Response:
    """Answer POST /repos/{owner}/{repo}/statuses/{sha}."""
    body = await call.body()
    sha = call.path("sha")
    if await call.core.git(call.repo).object_type(sha) != "commit":
        raise ApiError(422, f"No commit found for SHA: {sha}")
    if body.get("state") not in _STATUS_STATES:
        raise validation_failed("Status", "state")
    now = call.core.now()
    item = CommitStatus(
        id=call.core.state.new_id(),
        sha=sha,
        state=str(body["state"]),
        context=str(body.get("context") or "default"),
        creator_login=call.ctx.login or call.repo.owner_login,
        created_at=now,
        updated_at=now,
        description=body.get("description"),
        target_url=body.get("target_url"),
    )
    call.repo.statuses[item.id] = item
    rendered = render_checks.status(call.ctx.urls, call.core.state, call.repo, item)
    # GitHub's `status` event carries the whole commit, as GET /commits/{sha} renders it.
    info = await call.core.git(call.repo).read_commit(sha)
    commit = render_git.commit(call.ctx.urls, call.repo, info)
    emit(call.ctx, "status", call.repo, _status_event(item, rendered, commit))
    return json_response(rendered, status=201)


def _status_event(
    item: CommitStatus, rendered: dict[str, Any], commit: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": item.id,
        "sha": item.sha,
        "name": "",
        "target_url": item.target_url,
        "context": item.context,
        "description": item.description,
        "state": item.state,
        "commit": commit,
        "branches": [],
        "created_at": rendered["created_at"],
        "updated_at": rendered["updated_at"],
    }


def _statuses_for(call: Call, sha: str) -> list[CommitStatus]:
    return sorted(
        (s for s in call.repo.statuses.values() if s.sha == sha), key=lambda s: s.id, reverse=True
    )


async def list_statuses(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/commits/{ref}/statuses (newest first)."""
    sha = await _resolve(call, call.path("ref"))
    page, headers = paginate(call, _statuses_for(call, sha))
    state = call.core.state
    body = [render_checks.status(call.ctx.urls, state, call.repo, s) for s in page]
    return json_response(body, headers=headers)


async def combined_status(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/commits/{ref}/status."""
    sha = await _resolve(call, call.path("ref"))
    latest: dict[str, CommitStatus] = {}
    for item in _statuses_for(call, sha):
        latest.setdefault(item.context, item)
    state = call.core.state
    body = render_checks.combined_status(
        call.ctx.urls, state, call.repo, sha, list(latest.values())
    )
    return json_response(body)


def routes(core: HubCore) -> list[Route]:
    """Return the checks and statuses routes (before the generic commits route)."""
    base = "/repos/{owner}/{repo}"
    checks, statuses = ("checks",), ("statuses",)
    return [
        api_route(core, "POST", base + "/check-runs", create_check_run, categories=checks),
        api_route(
            core, "GET", base + "/check-runs/{check_run_id:int}", get_check_run, categories=checks
        ),
        api_route(
            core,
            "PATCH",
            base + "/check-runs/{check_run_id:int}",
            update_check_run,
            categories=checks,
        ),
        api_route(
            core, "GET", base + "/commits/{ref}/check-runs", list_check_runs, categories=checks
        ),
        api_route(core, "POST", base + "/statuses/{sha}", create_status, categories=statuses),
        api_route(
            core, "GET", base + "/commits/{ref}/statuses", list_statuses, categories=statuses
        ),
        api_route(
            core, "GET", base + "/commits/{ref}/status", combined_status, categories=statuses
        ),
    ]
