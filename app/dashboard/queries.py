"""Read the dashboard's facts from the store in one transaction; every section is bounded.

Each query is limited (rows per section) or aggregated over a window of days and served by an
index, so the page costs about the same with ten tasks or ten thousand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from app.dashboard.board import (
    CostRow,
    DayCount,
    Facts,
    FailureRow,
    IssueRow,
    LeadTime,
    Limits,
    NeedsHumanRow,
    PullRow,
    QueueRow,
    RepoRow,
    RunningRow,
    StepRow,
    TickRow,
)
from app.dashboard.cells import (
    int_or_none,
    parse_time,
    seconds_between,
    state_or_none,
    text_or_none,
)
from app.logs import redact
from app.store import Row, Tx
from app.store.llm_calls import dollars_per_merged_task_tx
from app.store.repos import repo_configs_tx
from app.store.spend import start_of_day
from app.store.times import to_db
from app.store.timings import last_successful_tick_tx
from app.taskstate import TaskState

# Tasks that wait for the scheduler (or for planning) rather than for a worker or a reviewer.
WAITING_STATES: tuple[TaskState, ...] = (
    TaskState.APPROVED,
    TaskState.PLANNED,
    TaskState.QUEUED,
    TaskState.CHANGES_REQUESTED,
)

# Attempt outcomes that delivered a ready pull request ("pr_opened" is the older name).
SUCCESS_OUTCOMES: tuple[str, ...] = ("verified", "pr_opened")

# The columns every task section shows, joined to its repository and issue.
_TASK_COLUMNS = (
    "t.id AS task_id, COALESCE(r.full_name, '?') AS repo, t.issue_number,"
    " COALESCE(i.title, '') AS title"
)
_TASK_JOINS = (
    " LEFT JOIN repos r ON r.id = t.repo_id"
    " LEFT JOIN issues i ON i.repo_id = t.repo_id AND i.number = t.issue_number"
)
_TASK_COST = "(SELECT COALESCE(SUM(c.cost_usd), 0) FROM llm_calls c WHERE c.task_id = t.id)"


@dataclass(frozen=True)
class Scope:
    """Which repositories' rows a reader may see; None: every one (the operator's terminal).

    Each condition binds the visible ids as one JSON array, so the statement stays the same
    whatever their number. Spend and events reach their repository through their task.
    """

    repo_ids: frozenset[int] | None = None

    @property
    def is_partial(self) -> bool:
        """Tell whether some repositories may be left out."""
        return self.repo_ids is not None

    def repo(self, column: str) -> str:
        """Return a condition keeping rows whose `column` is a visible repository's id."""
        if self.repo_ids is None:
            return "1"
        return f"{column} IN (SELECT value FROM json_each(?))"  # noqa: S608 - a fixed column name

    def task(self, column: str) -> str:
        """Return a condition keeping rows whose `column` is a task of a visible repository."""
        if self.repo_ids is None:
            return "1"
        return (
            f"{column} IN (SELECT s.id FROM tasks s"  # noqa: S608 - a fixed column name
            " WHERE s.repo_id IN (SELECT value FROM json_each(?)))"
        )

    def params(self) -> tuple[object, ...]:
        """Return the parameter one condition binds (none when nothing is filtered)."""
        return () if self.repo_ids is None else (json.dumps(sorted(self.repo_ids)),)


EVERYTHING = Scope()


def read_facts_tx(tx: Tx, now: datetime, limits: Limits, scope: Scope = EVERYTHING) -> Facts:
    """Read every section of the dashboard at `now` (one transaction: a consistent picture)."""
    limits = limits.clamped()
    today = start_of_day(now)
    chart_since = today - timedelta(days=limits.chart_days - 1)
    window_since = now - timedelta(days=limits.window_days)
    attempts = tx.fetchone(
        "SELECT COUNT(*) AS ended, COALESCE(SUM(outcome IN (?, ?)), 0) AS with_pr"  # noqa: S608 - fixed SQL fragments only
        f" FROM attempts WHERE ended_at >= ? AND {scope.task('task_id')}",
        (*SUCCESS_OUTCOMES, to_db(window_since), *scope.params()),
    )
    endings = _counts(
        tx.fetchall(
            "SELECT to_state AS key, COUNT(DISTINCT task_id) AS n FROM events"  # noqa: S608 - fixed SQL fragments only
            f" WHERE to_state IN (?, ?) AND created_at >= ? AND {scope.task('task_id')}"
            " GROUP BY to_state",
            (TaskState.MERGED, TaskState.NEEDS_HUMAN, to_db(window_since), *scope.params()),
        )
    )
    tasks_by_state = _counts(
        tx.fetchall(
            f"SELECT state AS key, COUNT(*) AS n FROM tasks WHERE {scope.repo('repo_id')}"  # noqa: S608 - fixed SQL fragments only
            " GROUP BY state",
            scope.params(),
        )
    )
    last_tick = tx.fetchone("SELECT ended_at, ok, detail FROM ticks ORDER BY id DESC LIMIT 1")
    return Facts(
        now=now,
        limits=limits,
        tasks_by_state=tasks_by_state,
        open_issues=int(
            tx.scalar(
                "SELECT COUNT(*) FROM issues WHERE state = 'open' AND is_pull_request = 0"  # noqa: S608 - fixed SQL fragments only
                f" AND {scope.repo('repo_id')}",
                scope.params(),
            )
            or 0
        ),
        leaderboard=leaderboard_tx(tx, now, limits.rows, scope),
        queue=queue_tx(tx, now, limits.rows, limits.queue_page, scope),
        queue_total=sum(tasks_by_state.get(state, 0) for state in WAITING_STATES),
        running=running_tx(tx, now, limits.rows, scope),
        pulls=pulls_tx(tx, limits.rows, scope),
        failures=failures_tx(tx, limits.rows, scope),
        needs_human=needs_human_tx(tx, limits.rows, scope),
        cost_by_day=cost_by_day_tx(tx, chart_since.date(), today.date(), scope),
        cost_by_role=cost_by_tx(tx, "role", window_since, scope),
        cost_by_model=cost_by_tx(tx, "model", window_since, scope),
        cost_by_task=cost_by_task_tx(tx, window_since, limits.rows, scope),
        throughput=throughput_tx(tx, chart_since.date(), today.date(), scope),
        lead_times=lead_times_since_tx(tx, window_since, scope),
        attempts_ended=int(attempts["ended"]) if attempts else 0,
        attempts_with_pr=int(attempts["with_pr"]) if attempts else 0,
        tasks_merged=endings.get(TaskState.MERGED, 0),
        tasks_given_up=endings.get(TaskState.NEEDS_HUMAN, 0),
        steps=steps_tx(tx, window_since, scope),
        spent_today_usd=float(
            tx.scalar(
                "SELECT COALESCE(SUM(cost_usd), 0) FROM llm_calls WHERE created_at >= ?"  # noqa: S608 - fixed SQL fragments only
                f" AND {scope.task('task_id')}",
                (to_db(today), *scope.params()),
            )
            or 0.0
        ),
        last_successful_tick=last_successful_tick_tx(tx),
        repos=repos_tx(tx, limits.rows, scope),
        merged_cost=dollars_per_merged_task_tx(tx, window_since, scope.repo_ids),
        last_tick=None
        if last_tick is None
        else TickRow(
            ended_at=parse_time(last_tick["ended_at"]) or now,
            ok=bool(last_tick["ok"]),
            # A failed tick's error may name any repository: shown only with the whole picture.
            detail="" if scope.is_partial else redact(last_tick["detail"] or ""),
        ),
    )


# What app/ceo/plan_step.py writes when the model fails: the waiting reason of a postponed
# task, and the reason of its hand-off to a person after too many failures in a row.
POSTPONED_PREFIX = "planning postponed"
MODEL_HANDOFF = "planning failed % the model could not be reached%"


def repos_tx(tx: Tx, limit: int, scope: Scope = EVERYTHING) -> tuple[RepoRow, ...]:
    """Return the installed repositories, those needing the operator first, with their config."""
    failing = _counts(
        tx.fetchall(
            "SELECT t.repo_id AS key, COUNT(*) AS n FROM tasks t WHERE"  # noqa: S608 - fixed SQL fragments only
            " ((t.state = ? AND t.waiting_reason LIKE ?) OR (t.state = ? AND"
            "  (SELECT e.reason FROM events e WHERE e.task_id = t.id AND +e.to_state = ?"
            "   ORDER BY e.id DESC LIMIT 1) LIKE ?))"
            f" AND {scope.repo('t.repo_id')} GROUP BY t.repo_id",
            (
                TaskState.APPROVED,
                POSTPONED_PREFIX + "%",
                TaskState.NEEDS_HUMAN,
                TaskState.NEEDS_HUMAN,
                MODEL_HANDOFF,
                *scope.params(),
            ),
        )
    )
    rows = [
        RepoRow(
            id=config.id,
            full_name=config.full_name,
            active=config.active,
            policy_error=redact(config.policy_error) if config.policy_error else None,
            model_failures=failing.get(str(config.id), 0),
        )
        for config in repo_configs_tx(tx, scope.repo_ids)
    ]
    rows.sort(key=lambda row: (row.needs_operator is None, not row.active))
    return tuple(rows[:limit])


def _counts(rows: Iterable[Row]) -> dict[str, int]:
    return {str(row["key"]): int(row["n"]) for row in rows}


def leaderboard_tx(
    tx: Tx, now: datetime, limit: int, scope: Scope = EVERYTHING
) -> tuple[IssueRow, ...]:
    """Return open issues by vote score, with their decision, task state and window."""
    rows = tx.fetchall(
        "SELECT COALESCE(r.full_name, '?') AS repo, i.number, i.title, i.score, i.decision,"  # noqa: S608 - fixed SQL fragments only
        " i.decision_reason,"
        " t.id AS task_id, t.state AS task_state,"
        " (SELECT COUNT(*) FROM votes v WHERE v.repo_id = i.repo_id"
        "  AND v.issue_number = i.number AND v.counted = 1) AS voters,"
        " (SELECT json_extract(s.explanation, '$.window_ends') FROM vote_snapshots s"
        "  WHERE s.repo_id = i.repo_id AND s.issue_number = i.number"
        "  ORDER BY s.id DESC LIMIT 1) AS window_ends"
        " FROM issues i LEFT JOIN repos r ON r.id = i.repo_id"
        " LEFT JOIN tasks t ON t.repo_id = i.repo_id AND t.issue_number = i.number"
        f" WHERE i.state = 'open' AND i.is_pull_request = 0 AND {scope.repo('i.repo_id')}"
        " ORDER BY i.score DESC, i.number LIMIT ?",
        (*scope.params(), limit),
    )
    issues = []
    for row in rows:
        window_ends = parse_time(row["window_ends"])
        left = seconds_between(now, window_ends) if window_ends is not None else None
        issues.append(
            IssueRow(
                repo=str(row["repo"]),
                number=int(row["number"]),
                title=str(row["title"]),
                score=float(row["score"]),
                voters=int(row["voters"]),
                decision=str(row["decision"]),
                decision_reason=str(row["decision_reason"] or ""),
                task_id=int_or_none(row["task_id"]),
                task_state=state_or_none(row["task_state"]),
                window_ends=window_ends,
                seconds_left=left,
            )
        )
    return tuple(issues)


def queue_tx(
    tx: Tx, now: datetime, limit: int, page: int, scope: Scope = EVERYTHING
) -> tuple[QueueRow, ...]:
    """Return one page of waiting tasks in scheduling order, with why each waits."""
    marks = ", ".join("?" for _ in WAITING_STATES)
    rows = tx.fetchall(
        f"SELECT {_TASK_COLUMNS}, t.state, t.role, t.priority, t.attempt, t.max_attempts,"  # noqa: S608 - fixed SQL fragments only
        f" t.passed_over, t.waiting_reason, t.approved_at FROM tasks t{_TASK_JOINS}"
        f" WHERE t.state IN ({marks}) AND {scope.repo('t.repo_id')}"
        " ORDER BY t.priority DESC, t.approved_at, t.id LIMIT ? OFFSET ?",
        (*WAITING_STATES, *scope.params(), limit, page * limit),
    )
    return tuple(
        QueueRow(
            task_id=int(row["task_id"]),
            repo=str(row["repo"]),
            issue_number=int(row["issue_number"]),
            title=str(row["title"]),
            state=TaskState(row["state"]),
            role=text_or_none(row["role"]),
            priority=float(row["priority"]),
            attempt=int(row["attempt"]),
            max_attempts=int(row["max_attempts"]),
            passed_over=int(row["passed_over"]),
            waiting_reason=redact(row["waiting_reason"]) if row["waiting_reason"] else None,
            waiting_seconds=seconds_between(parse_time(row["approved_at"]), now) or 0.0,
        )
        for row in rows
    )


def running_tx(
    tx: Tx, now: datetime, limit: int, scope: Scope = EVERYTHING
) -> tuple[RunningRow, ...]:
    """Return running attempts, oldest first, with the files their tasks claim."""
    rows = tx.fetchall(
        f"SELECT {_TASK_COLUMNS}, t.role, t.attempt, t.max_attempts, t.predicted_files,"  # noqa: S608 - fixed SQL fragments only
        f" a.worker, a.started_at, {_TASK_COST} AS cost FROM tasks t{_TASK_JOINS}"
        " LEFT JOIN attempts a ON a.task_id = t.id AND a.number = t.attempt"
        f" WHERE t.state = ? AND {scope.repo('t.repo_id')} ORDER BY a.started_at, t.id LIMIT ?",
        (TaskState.RUNNING, *scope.params(), limit),
    )
    return tuple(
        RunningRow(
            task_id=int(row["task_id"]),
            repo=str(row["repo"]),
            issue_number=int(row["issue_number"]),
            title=str(row["title"]),
            role=text_or_none(row["role"]),
            attempt=int(row["attempt"]),
            max_attempts=int(row["max_attempts"]),
            worker=text_or_none(row["worker"]),
            running_seconds=seconds_between(parse_time(row["started_at"]), now),
            claims=tuple(_json_list(row["predicted_files"])),
            cost_usd=float(row["cost"]),
        )
        for row in rows
    )


def _json_list(text: Any) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except json.JSONDecodeError:
        return []
    return [str(item) for item in value] if isinstance(value, list) else []


def pulls_tx(tx: Tx, limit: int, scope: Scope = EVERYTHING) -> tuple[PullRow, ...]:
    """Return the tasks with a pull request, most recently changed first, with cost and timing."""
    rows = tx.fetchall(
        f"SELECT {_TASK_COLUMNS}, t.pr_number, t.state, p.state AS pr_state, t.role, t.attempt,"  # noqa: S608 - fixed SQL fragments only
        f" t.updated_at, {_TASK_COST} AS cost FROM tasks t{_TASK_JOINS}"
        " LEFT JOIN pull_requests p ON p.repo_id = t.repo_id AND p.number = t.pr_number"
        f" WHERE t.pr_number IS NOT NULL AND {scope.repo('t.repo_id')}"
        " ORDER BY t.updated_at DESC LIMIT ?",
        (*scope.params(), limit),
    )
    times = {
        lead.task_id: lead for lead in lead_times_of_tx(tx, [int(row["task_id"]) for row in rows])
    }
    pulls = []
    for row in rows:
        lead = times.get(int(row["task_id"]))
        pulls.append(
            PullRow(
                task_id=int(row["task_id"]),
                repo=str(row["repo"]),
                issue_number=int(row["issue_number"]),
                title=str(row["title"]),
                pr_number=int(row["pr_number"]),
                task_state=TaskState(row["state"]),
                pr_state=text_or_none(row["pr_state"]),
                role=text_or_none(row["role"]),
                attempt=int(row["attempt"]),
                cost_usd=float(row["cost"]),
                to_pr_seconds=seconds_between(lead.approved_at, lead.pr_at) if lead else None,
                to_merge_seconds=seconds_between(lead.approved_at, lead.merged_at)
                if lead
                else None,
                updated_at=parse_time(row["updated_at"]),
            )
        )
    return tuple(pulls)


def failures_tx(tx: Tx, limit: int, scope: Scope = EVERYTHING) -> tuple[FailureRow, ...]:
    """Return the latest attempts that ended without a pull request."""
    rows = tx.fetchall(
        f"SELECT {_TASK_COLUMNS}, a.number, a.outcome, t.state, a.started_at, a.ended_at,"  # noqa: S608 - fixed SQL fragments only
        " (SELECT COALESCE(SUM(c.cost_usd), 0) FROM llm_calls c"
        "  WHERE c.task_id = a.task_id AND c.attempt = a.number) AS cost"
        f" FROM attempts a JOIN tasks t ON t.id = a.task_id{_TASK_JOINS}"
        " WHERE a.ended_at IS NOT NULL AND COALESCE(a.outcome, '') NOT IN (?, ?)"
        f" AND {scope.repo('t.repo_id')} ORDER BY a.ended_at DESC LIMIT ?",
        (*SUCCESS_OUTCOMES, *scope.params(), limit),
    )
    failures = []
    for row in rows:
        ended = parse_time(row["ended_at"])
        if ended is None:
            continue
        failures.append(
            FailureRow(
                task_id=int(row["task_id"]),
                repo=str(row["repo"]),
                issue_number=int(row["issue_number"]),
                title=str(row["title"]),
                attempt=int(row["number"]),
                outcome=str(row["outcome"] or "unknown"),
                task_state=TaskState(row["state"]),
                ended_at=ended,
                duration_seconds=seconds_between(parse_time(row["started_at"]), ended),
                cost_usd=float(row["cost"]),
            )
        )
    return tuple(failures)


def needs_human_tx(tx: Tx, limit: int, scope: Scope = EVERYTHING) -> tuple[NeedsHumanRow, ...]:
    """Return tasks waiting for a maintainer, with the reason of their last event."""
    rows = tx.fetchall(
        f"SELECT {_TASK_COLUMNS}, t.attempt, t.max_attempts, t.updated_at,"  # noqa: S608 - fixed SQL fragments only
        # Why it was handed over, not what was done since (the comment telling the issue).
        " (SELECT e.reason FROM events e WHERE e.task_id = t.id AND e.to_state = ?"
        f" ORDER BY e.id DESC LIMIT 1) AS reason FROM tasks t{_TASK_JOINS}"
        f" WHERE t.state = ? AND {scope.repo('t.repo_id')} ORDER BY t.updated_at DESC LIMIT ?",
        (TaskState.NEEDS_HUMAN, TaskState.NEEDS_HUMAN, *scope.params(), limit),
    )
    return tuple(
        NeedsHumanRow(
            task_id=int(row["task_id"]),
            repo=str(row["repo"]),
            issue_number=int(row["issue_number"]),
            title=str(row["title"]),
            attempt=int(row["attempt"]),
            max_attempts=int(row["max_attempts"]),
            reason=redact(row["reason"] or ""),
            since=parse_time(row["updated_at"]),
        )
        for row in rows
    )


def _cost_row(key: str, row: Row) -> CostRow:
    """Build one spend record from a row of _COST_SUMS."""
    return CostRow(
        key=key,
        calls=int(row["calls"]),
        input_tokens=int(row["input_tokens"] or 0),
        output_tokens=int(row["output_tokens"] or 0),
        cost_usd=float(row["cost"] or 0.0),
    )


_COST_SUMS = (
    "COUNT(*) AS calls, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,"
    " SUM(cost_usd) AS cost"
)


def days_between(first: date, last: date) -> list[date]:
    """Return every day from `first` to `last`, inclusive."""
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def cost_by_day_tx(
    tx: Tx, first: date, last: date, scope: Scope = EVERYTHING
) -> tuple[CostRow, ...]:
    """Return model spend per UTC day from `first` to `last`, days without spend included."""
    spent = {
        str(row["day"]): _cost_row(str(row["day"]), row)
        for row in tx.fetchall(
            f"SELECT substr(created_at, 1, 10) AS day, {_COST_SUMS} FROM llm_calls"  # noqa: S608 - fixed SQL fragments only
            f" WHERE created_at >= ? AND {scope.task('task_id')} GROUP BY day",
            (first.isoformat(), *scope.params()),
        )
    }
    return tuple(
        spent.get(day.isoformat(), CostRow(day.isoformat(), 0, 0, 0, 0.0))
        for day in days_between(first, last)
    )


# What spend can be grouped by. Calls without a role (the CEO's planning) go under their phase.
COST_KEYS = {"role": "COALESCE(role, phase)", "model": "model"}


def cost_by_tx(tx: Tx, key: str, since: datetime, scope: Scope = EVERYTHING) -> tuple[CostRow, ...]:
    """Return model spend since `since` grouped by one of COST_KEYS."""
    rows = tx.fetchall(
        f"SELECT {COST_KEYS[key]} AS key, {_COST_SUMS} FROM llm_calls"  # noqa: S608 - fixed SQL fragments only
        f" WHERE created_at >= ? AND {scope.task('task_id')} GROUP BY key ORDER BY cost DESC",
        (to_db(since), *scope.params()),
    )
    return tuple(_cost_row(str(row["key"] or "unknown"), row) for row in rows)


def cost_by_task_tx(
    tx: Tx, since: datetime, limit: int, scope: Scope = EVERYTHING
) -> tuple[CostRow, ...]:
    """Return the costliest tasks since `since`."""
    rows = tx.fetchall(
        f"SELECT c.*, COALESCE(r.full_name, '?') AS repo, t.issue_number FROM (SELECT task_id,"  # noqa: S608 - fixed SQL fragments only
        f" {_COST_SUMS} FROM llm_calls WHERE created_at >= ? AND task_id IS NOT NULL"
        f" AND {scope.task('task_id')} GROUP BY task_id ORDER BY cost DESC LIMIT ?) c"
        " LEFT JOIN tasks t ON t.id = c.task_id LEFT JOIN repos r ON r.id = t.repo_id"
        " ORDER BY c.cost DESC",
        (to_db(since), *scope.params(), limit),
    )
    return tuple(
        _cost_row(f"task {row['task_id']} ({row['repo']}#{row['issue_number']})", row)
        for row in rows
    )


def throughput_tx(
    tx: Tx, first: date, last: date, scope: Scope = EVERYTHING
) -> tuple[DayCount, ...]:
    """Return pull requests opened by workers and merges per UTC day, from the events."""
    opened, merged = TaskState.PR_OPEN, TaskState.MERGED
    counts = {
        (str(row["day"]), TaskState(row["to_state"])): int(row["n"])
        for row in tx.fetchall(
            "SELECT substr(created_at, 1, 10) AS day, to_state, COUNT(*) AS n FROM events"  # noqa: S608 - fixed SQL fragments only
            " WHERE to_state IN (?, ?) AND created_at >= ?"
            f" AND (to_state = ? OR from_state = ?) AND {scope.task('task_id')}"
            " GROUP BY day, to_state",
            (opened, merged, first.isoformat(), merged, TaskState.RUNNING, *scope.params()),
        )
    }
    return tuple(
        DayCount(
            day=day,
            opened=counts.get((day.isoformat(), opened), 0),
            merged=counts.get((day.isoformat(), merged), 0),
        )
        for day in days_between(first, last)
    )


# Approval is the task's `approved_at` (written with its `task_created` event); the first pull
# request and merge come from the transition events. `+` keeps SQLite on the per-task index.
_LEAD_TIME_SQL = (
    "SELECT e.task_id, t.approved_at,"
    " MIN(CASE WHEN e.to_state = ? THEN e.created_at END) AS pr_at,"
    " MIN(CASE WHEN e.to_state = ? THEN e.created_at END) AS merged_at"
    " FROM events e JOIN tasks t ON t.id = e.task_id"
    " WHERE {} GROUP BY e.task_id"
)
_LEAD_STATES = (TaskState.PR_OPEN, TaskState.MERGED)


def _lead_times_tx(tx: Tx, where: str, params: Sequence[object]) -> tuple[LeadTime, ...]:
    """Read lead times of the tasks whose pull request or merge events match `where`."""
    times = []
    for row in tx.fetchall(_LEAD_TIME_SQL.format(where), (*_LEAD_STATES, *params)):
        approved = parse_time(row["approved_at"])
        if approved is not None:
            times.append(
                LeadTime(
                    task_id=int(row["task_id"]),
                    approved_at=approved,
                    pr_at=parse_time(row["pr_at"]),
                    merged_at=parse_time(row["merged_at"]),
                )
            )
    return tuple(times)


def lead_times_of_tx(tx: Tx, task_ids: Sequence[int]) -> tuple[LeadTime, ...]:
    """Return first approval, pull request and merge times of the given tasks."""
    if not task_ids:
        return ()
    marks = ", ".join("?" for _ in task_ids)
    return _lead_times_tx(
        tx, f"+e.to_state IN (?, ?) AND e.task_id IN ({marks})", (*_LEAD_STATES, *task_ids)
    )


def lead_times_since_tx(tx: Tx, since: datetime, scope: Scope = EVERYTHING) -> tuple[LeadTime, ...]:
    """Return lead times of tasks that opened a pull request or merged since `since`.

    The pull request and merge times are the first such events inside the window, read from
    one index range rather than task by task.
    """
    return _lead_times_tx(
        tx,
        f"e.to_state IN (?, ?) AND e.created_at >= ? AND {scope.repo('t.repo_id')}",
        (*_LEAD_STATES, to_db(since), *scope.params()),
    )


def steps_tx(tx: Tx, since: datetime, scope: Scope = EVERYTHING) -> tuple[StepRow, ...]:
    """Return, per kind of step, how many ran since `since`, how many failed, and how long."""
    rows = tx.fetchall(
        "SELECT step, COUNT(*) AS runs, SUM(ok = 0) AS failures, AVG(duration_ms) AS mean_ms,"  # noqa: S608 - fixed SQL fragments only
        f" MAX(duration_ms) AS max_ms FROM attempt_steps WHERE started_at >= ?"
        f" AND {scope.task('task_id')} GROUP BY step ORDER BY step",
        (to_db(since), *scope.params()),
    )
    return tuple(
        StepRow(
            step=str(row["step"]),
            runs=int(row["runs"]),
            failures=int(row["failures"] or 0),
            mean_seconds=float(row["mean_ms"] or 0) / 1000,
            max_seconds=float(row["max_ms"] or 0) / 1000,
        )
        for row in rows
    )
