"""Render the dashboard: HTML from Jinja2 templates (autoescaped) and the JSON of /api/status."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2

from app.dashboard import text
from app.dashboard.board import Dashboard, Viewer
from app.taskstate import TaskState

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def _environment() -> jinja2.Environment:
    """Build the template environment once, on first use (never at import)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        # Every value is escaped: issue titles and reasons come from untrusted users.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        duration=text.duration,
        money=text.money,
        percent=text.percent,
        when=text.when,
        time_left=text.time_left,
        tokens=text.tokens,
    )
    environment.globals.update(
        ago=text.ago,
        voting=text.voting,
        plural=text.plural,
        issue_url=text.issue_url,
        pull_url=text.pull_url,
        repo_url=text.repo_url,
    )
    return environment


def render_html(
    dashboard: Dashboard, viewer: Viewer | None = None, github_web_url: str = "https://github.com"
) -> str:
    """Return the dashboard page for `dashboard`, as `viewer` (default: anonymous) sees it.

    Issues, pull requests and repositories link to their pages under `github_web_url`
    (the settings' TOWNHALL_GITHUB_WEB_URL: GitHub, GitHub Enterprise, or localhub).
    """
    template = _environment().get_template("dashboard.html")
    return template.render(
        d=dashboard,
        f=dashboard.facts,
        states=every_state(dashboard),
        viewer=viewer or Viewer(),
        web=github_web_url,
    )


def every_state(dashboard: Dashboard) -> dict[str, int]:
    """Return task counts for every state, in the state machine's order (zeros included)."""
    counts = dashboard.facts.tasks_by_state
    known = {state.value: counts.get(state.value, 0) for state in TaskState}
    extra = {state: count for state, count in counts.items() if state not in known}
    return known | extra


def plain(value: Any) -> Any:
    """Turn dataclasses, times and tuples into JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: plain(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def status_json(dashboard: Dashboard) -> dict[str, Any]:
    """Return what /api/status and `townhall status --json` print: the page's data."""
    facts = dashboard.facts
    states = every_state(dashboard)
    return {
        "generated_at": plain(dashboard.generated_at),
        "tasks_by_state": states,
        "total": sum(states.values()),
        "open_issues": facts.open_issues,
        "budget": plain(dashboard.budget),
        "health": plain(dashboard.health),
        "leaderboard": plain(facts.leaderboard),
        "queue": {
            "total": facts.queue_total,
            "page": facts.limits.queue_page,
            "rows": plain(facts.queue),
        },
        "running": plain(facts.running),
        "pull_requests": plain(facts.pulls),
        "failures": plain(facts.failures),
        "needs_human": plain(facts.needs_human),
        "costs": costs_json(dashboard),
        "throughput": plain(facts.throughput),
        "outcomes": plain(dashboard.outcomes),
        "steps": plain(facts.steps),
        "limits": plain(facts.limits),
        "repos": repos_json(dashboard),
        "last_tick": plain(facts.last_tick),
    }


def repos_json(dashboard: Dashboard) -> list[dict[str, Any]]:
    """Return the installed repositories with their config validity and what needs the operator."""
    return [
        {
            **plain(repo),
            "policy_valid": repo.policy_error is None,
            "needs_operator": repo.needs_operator,
        }
        for repo in dashboard.facts.repos
    ]


def costs_json(dashboard: Dashboard) -> dict[str, Any]:
    """Return the spend sections (what `townhall costs --json` prints)."""
    facts = dashboard.facts
    return {
        "today_usd": facts.spent_today_usd,
        "daily_budget_usd": dashboard.budget.daily_budget_usd,
        "window_days": facts.limits.window_days,
        "by_day": plain(facts.cost_by_day),
        "by_role": plain(facts.cost_by_role),
        "by_model": plain(facts.cost_by_model),
        "by_task": plain(facts.cost_by_task),
        "merged_tasks": merged_json(dashboard),
    }


def merged_json(dashboard: Dashboard) -> dict[str, Any] | None:
    """Return what the tasks merged in the window cost, per task and all in."""
    cost = dashboard.facts.merged_cost
    if cost is None:
        return None
    return {
        **plain(cost),
        "per_merged_task_usd": cost.per_merged_task,
        "all_in_per_merged_task_usd": cost.all_in_per_merged_task,
    }
