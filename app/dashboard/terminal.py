"""The dashboard as terminal tables (rich): `townhall status`, `costs` and `task N`.

Every value from the store goes in as plain `Text` with control characters removed, so an issue
title can neither inject rich markup nor terminal escape sequences.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from app.dashboard import text
from app.dashboard.board import CostRow, Dashboard
from app.dashboard.render import every_state
from app.dashboard.task_history import TaskHistory
from app.dashboard.transcript import readable_log

NUMERIC_COLUMNS = ("#", "Cost", "Calls", "Score", "Voters", "Priority", "Tokens", "Took")


def clean(value: Any, *, keep_newlines: bool = False) -> str:
    """Return `value` as text without control characters (newlines kept only when asked)."""
    raw = "" if value is None else str(value)
    kept = "\n\t" if keep_newlines else ""
    return "".join(
        char
        if char in kept or unicodedata.category(char) != "Cc"
        else (" " if char in "\n\t" else "")
        for char in raw
    )


def _table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], empty: str
) -> RenderableType:
    """Return a table of `rows`, or one dim line saying `empty` when there are none."""
    table = Table(title=title, title_justify="left", title_style="bold", expand=False)
    for column in columns:
        numeric = column.startswith(NUMERIC_COLUMNS)
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*(Text(clean(cell)) for cell in row))
    if table.row_count == 0:
        return Text.assemble((title, "bold"), (f": {empty}", "dim"))
    return table


def header(now: Any, store: str | None) -> Text:
    """The first line of every view: the time, and which store it reads (a wrong folder's
    empty store is then plain to see)."""
    head = Text()
    head.append(f"Townhall at {text.when(now)}", style="bold")
    if store:
        head.append(f" · store {clean(store)}", style="dim")
    return head


def status_renderables(dashboard: Dashboard, store: str | None = None) -> list[RenderableType]:
    """Return `townhall status`: the dashboard's sections as tables."""
    facts = dashboard.facts
    now = dashboard.generated_at
    budget, health, outcomes = dashboard.budget, dashboard.health, dashboard.outcomes
    summary = Text()
    summary.append_text(header(now, store))
    summary.append("\n")
    summary.append(
        f"Spent today {text.money(budget.spent_today_usd)} of "
        f"{text.money(budget.daily_budget_usd)} ({text.percent(budget.fraction)})",
        style="red" if budget.stop_reason else "green",
    )
    if budget.stop_reason:
        summary.append(f" - {budget.stop_reason}", style="red")
    summary.append("\nLast successful CEO tick: ")
    note = (
        f"on time, limit {text.duration(health.max_age_seconds)}"
        if health.healthy and health.last_successful_tick is not None
        else health.reason
    )
    summary.append(
        f"{text.ago(health.last_successful_tick, now)} ({note})",
        style="green" if health.healthy else "red",
    )
    last = health.last_tick
    if last is not None:
        summary.append(f"\nLast tick {text.ago(last.ended_at, now)}: ")
        summary.append("ok" if last.ok else "failed", style="green" if last.ok else "red")
        lines = clean(last.detail, keep_newlines=True).splitlines()
        if lines:
            summary.append(f" ({lines[0]})")
        for line in lines[1:]:
            summary.append(f"\n  {line}", style=None if last.ok else "red")
    summary.append(
        f"\nAttempts verified (PR ready): {text.percent(outcomes.attempt_success_rate)}"
        f" ({outcomes.attempts_with_pr} of {outcomes.attempts_ended});"
        f" approval to PR median {text.duration(outcomes.to_pr_median_seconds)},"
        f" p90 {text.duration(outcomes.to_pr_p90_seconds)};"
        f" to merge median {text.duration(outcomes.to_merge_median_seconds)},"
        f" p90 {text.duration(outcomes.to_merge_p90_seconds)}"
        f" (last {outcomes.window_days} days)"
    )
    if dashboard.facts.merged_cost is not None and dashboard.facts.merged_cost.merged_tasks:
        cost = dashboard.facts.merged_cost
        summary.append(
            f"\nModel cost per merged task: {text.money(cost.per_merged_task)}"
            f" ({text.plural(cost.merged_tasks, 'task')} merged; all task spend per merge"
            f" {text.money(cost.all_in_per_merged_task)})"
        )
    states = every_state(dashboard)
    return [
        Panel(summary, expand=False),
        _table(
            f"Repositories ({len(facts.repos)})",
            ["Repository", ".townhall.toml", "Needs the operator"],
            (
                (
                    r.full_name + ("" if r.active else " (not installed)"),
                    f"invalid: {r.policy_error}" if r.policy_error else "valid",
                    r.needs_operator or text.NOTHING,
                )
                for r in facts.repos
            ),
            "no repository is installed yet",
        ),
        _table(
            "Tasks by state",
            ["State", "#"],
            [*states.items(), ("total", sum(states.values()))],
            "no tasks",
        ),
        _table(
            f"Leaderboard ({len(facts.leaderboard)} of {facts.open_issues} open issues)",
            ["Issue", "Title", "Score", "Voters", "Decision", "Task", "Voting"],
            (
                (
                    f"{i.repo}#{i.number}",
                    i.title,
                    f"{i.score:g}",
                    i.voters,
                    f"{i.decision}: {i.decision_reason}"
                    if i.decision == "pending" and i.decision_reason
                    else i.decision,
                    i.task_state or text.NOTHING,
                    text.voting(i.seconds_left, i.decision),
                )
                for i in facts.leaderboard
            ),
            "no open issues",
        ),
        _table(
            "Running",
            ["Task", "Title", "Role", "Attempt", "Running for", "Cost", "File claims"],
            (
                (
                    f"{t.repo}#{t.issue_number}",
                    t.title,
                    t.role or text.NOTHING,
                    f"{t.attempt}/{t.max_attempts}",
                    text.duration(t.running_seconds),
                    text.money(t.cost_usd),
                    ", ".join(t.claims) or text.NOTHING,
                )
                for t in facts.running
            ),
            "nothing running",
        ),
        _table(
            f"Queue ({len(facts.queue)} of {facts.queue_total} waiting)",
            ["Task", "Title", "State", "Priority", "Waiting", "Why it waits"],
            (
                (
                    f"{t.repo}#{t.issue_number}",
                    t.title,
                    t.state,
                    f"{t.priority:g}",
                    text.duration(t.waiting_seconds),
                    t.waiting_reason
                    or (
                        f"passed over {text.plural(t.passed_over, 'time')}" if t.passed_over else ""
                    )
                    or text.NOTHING,
                )
                for t in facts.queue
            ),
            "the queue is empty",
        ),
        _table(
            "Recent pull requests and merges",
            ["PR", "Title", "State", "Role", "Cost", "To PR", "To merge"],
            (
                (
                    f"{p.repo}#{p.pr_number}",
                    p.title,
                    p.task_state,
                    p.role or text.NOTHING,
                    text.money(p.cost_usd),
                    text.duration(p.to_pr_seconds),
                    text.duration(p.to_merge_seconds),
                )
                for p in facts.pulls
            ),
            "no pull requests yet",
        ),
        _table(
            "Failed attempts",
            ["Task", "Attempt", "Outcome", "Ended", "Took", "Cost"],
            (
                (
                    f"{f.repo}#{f.issue_number}",
                    f.attempt,
                    f.outcome,
                    text.ago(f.ended_at, now),
                    text.duration(f.duration_seconds),
                    text.money(f.cost_usd),
                )
                for f in facts.failures
            ),
            "no failed attempts",
        ),
        _table(
            "Needs a person",
            ["Task", "Title", "Attempts", "Why", "Since"],
            (
                (
                    f"{t.repo}#{t.issue_number}",
                    t.title,
                    f"{t.attempt}/{t.max_attempts}",
                    t.reason,
                    text.ago(t.since, now),
                )
                for t in facts.needs_human
            ),
            "nothing waits for a person",
        ),
    ]


def _cost_table(
    title: str, rows: Sequence[CostRow], empty: str = "no model calls"
) -> RenderableType:
    # Days (or keys) without a single call say nothing: only the spend is listed.
    rows = [row for row in rows if row.calls or row.cost_usd]
    return _table(
        title,
        ["Key", "Calls", "Tokens in", "Tokens out", "Cost"],
        (
            (
                row.key,
                row.calls,
                text.tokens(row.input_tokens),
                text.tokens(row.output_tokens),
                text.money(row.cost_usd),
            )
            for row in rows
        ),
        empty,
    )


def costs_renderables(dashboard: Dashboard, store: str | None = None) -> list[RenderableType]:
    """Return `townhall costs`: spend per day, role, model and task."""
    facts = dashboard.facts
    window = facts.limits.window_days
    total = sum(row.cost_usd for row in facts.cost_by_model)
    headline = Text(
        f"Spent today {text.money(facts.spent_today_usd)} of "
        f"{text.money(dashboard.budget.daily_budget_usd)}; "
        f"last {window} days {text.money(total)}",
        style="bold",
    )
    merged = facts.merged_cost
    if merged is not None and merged.merged_tasks:
        headline.append(
            f"; {text.money(merged.per_merged_task)} per merged task"
            f" ({text.plural(merged.merged_tasks, 'task')} merged)"
        )
    days = facts.limits.chart_days
    return [
        header(dashboard.generated_at, store),
        headline,
        _cost_table(f"Per day (last {days} days)", facts.cost_by_day[::-1], "no model calls"),
        _cost_table(f"Per role (last {window} days)", facts.cost_by_role),
        _cost_table(f"Per model (last {window} days)", facts.cost_by_model),
        _cost_table(f"Costliest tasks (last {window} days)", facts.cost_by_task),
    ]


# One log line can be a whole transcript; the tail view shortens each line to this much.
LINE_LIMIT = 600


def tail_lines(log: str, lines: int) -> str:
    """Return the last `lines` lines of `log`, each cut to LINE_LIMIT (0: all of it, uncut)."""
    if lines <= 0:
        return log
    kept = []
    for line in log.splitlines()[-lines:]:
        extra = len(line) - LINE_LIMIT
        kept.append(line if extra <= 0 else f"{line[:LINE_LIMIT]}… ({extra} more characters)")
    return "\n".join(kept)


def history_renderables(
    history: TaskHistory, log_lines: int = 40, store: str | None = None
) -> list[RenderableType]:
    """Return `townhall task N`: the task, its events, attempts with logs, steps and calls."""
    task = history.task
    head = Text()
    if store:
        head.append(f"store {clean(store)}\n", style="dim")
    head.append(f"Task {task.task_id}: {task.repo}#{task.issue_number} ", style="bold")
    head.append(clean(task.title))
    head.append(
        f"\napproved {text.when(task.approved_at)}; times below are UTC"
        f"\nstate {task.state}, attempt {task.attempt}/{task.max_attempts},"
        f" role {task.role or text.NOTHING}, complexity {task.complexity or text.NOTHING},"
        f" priority {task.priority:g}, cost {text.money(task.cost_usd)}"
    )
    if task.pr_number is not None:
        head.append(f"\npull request #{task.pr_number} on {clean(task.branch)}")
    if task.predicted_files:
        head.append(f"\nclaims {clean(', '.join(task.predicted_files))}")
    if task.waiting_reason:
        head.append(f"\nwaiting: {clean(task.waiting_reason)}")
    if task.brief:
        head.append(f"\n\n{clean(task.brief, keep_newlines=True)}")
    parts: list[RenderableType] = [Panel(head, expand=False)]
    parts.append(
        _table(
            "Events",
            ["When", "Actor", "Kind", "From", "To", "Reason"],
            (
                (
                    text.stamp(e.at),
                    e.actor,
                    e.kind,
                    e.from_state or "",
                    e.to_state or "",
                    e.reason,
                )
                for e in history.events
            ),
            "no events",
        )
    )
    for attempt in history.attempts:
        title = (
            f"Attempt {attempt.number}: {attempt.outcome or attempt.state}"
            f" (worker {attempt.worker or text.NOTHING}, started {text.when(attempt.started_at)},"
            f" took {text.duration(attempt.duration_seconds)}, {text.money(attempt.cost_usd)})"
        )
        log = tail_lines(readable_log(attempt.log), log_lines)
        body = Text(clean(log, keep_newlines=True) or "(no log)")
        parts.append(Panel(body, title=Text(clean(title)), title_align="left"))
    parts.append(
        _table(
            "Reviews",
            ["When", "Attempt", "PR head", "Decision", "Outcome", "Why", "Merge"],
            (
                (
                    text.stamp(r.at),
                    r.attempt,
                    f"#{r.pr_number} {r.head_sha[:10]}",
                    f"{r.decision} (overruled the model)" if r.overruled else r.decision,
                    r.outcome,
                    "; ".join(r.reasons),
                    " ".join(filter(None, [(r.merge_sha or "")[:10], r.post_merge])),
                )
                for r in history.reviews
            ),
            "no reviews",
        )
    )
    parts.append(
        _table(
            "Steps",
            ["Attempt", "Step", "Started", "Took", "OK", "Detail"],
            (
                (
                    s.attempt,
                    s.step,
                    text.stamp(s.started_at),
                    text.duration(s.duration_seconds),
                    "yes" if s.ok else "NO",
                    s.detail,
                )
                for s in history.steps
            ),
            "no steps recorded",
        )
    )
    parts.append(
        _table(
            "Model calls",
            ["When", "Attempt", "Phase", "Model", "Tokens in/out", "Cache r/w", "Cost", "Latency"],
            (
                (
                    text.stamp(c.at),
                    c.attempt if c.attempt is not None else "",
                    f"{c.phase} ({c.role})" if c.role else c.phase,
                    c.model,
                    f"{c.input_tokens}/{c.output_tokens}",
                    f"{c.cache_read_tokens}/{c.cache_creation_tokens}",
                    text.money(c.cost_usd),
                    f"{c.latency_ms:.0f} ms" + (f" {c.error}" if c.error else ""),
                )
                for c in history.calls
            ),
            "no model calls",
        )
    )
    if history.truncated:
        parts.append(Text("(only the latest 500 events, steps and model calls are shown)"))
    return [Group(*parts)]
