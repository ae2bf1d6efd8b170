"""The dashboard's data: plain frozen records read from the store, and the page built from them.

Durations are seconds and money is dollars, as numbers; the renderers format them. Nothing here
holds a secret: no log text, no diff, no token, only titles, states, numbers and times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from app.store.llm_calls import MergedTaskCost
from app.taskstate import TaskState


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the page: a login once signed in, and whether sign-in is offered."""

    login: str | None = None
    can_sign_in: bool = False


@dataclass(frozen=True)
class Limits:
    """How much the dashboard reads: rows per section, days charted, days of statistics."""

    rows: int = 25
    chart_days: int = 14
    window_days: int = 30
    queue_page: int = 0

    MAX_ROWS = 200

    def clamped(self) -> Limits:
        """Return the limits kept within safe bounds (request parameters are untrusted)."""
        return Limits(
            rows=min(max(self.rows, 1), self.MAX_ROWS),
            chart_days=min(max(self.chart_days, 1), 90),
            window_days=min(max(self.window_days, 1), 365),
            queue_page=min(max(self.queue_page, 0), 10_000),
        )


@dataclass(frozen=True)
class IssueRow:
    """An open issue on the leaderboard."""

    repo: str
    number: int
    title: str
    score: float
    voters: int
    decision: str
    decision_reason: str  # why it is decided, or why it is still pending ("" when unknown)
    task_id: int | None
    task_state: TaskState | None
    window_ends: datetime | None
    seconds_left: float | None  # None: window unknown; 0: closed


@dataclass(frozen=True)
class QueueRow:
    """A task waiting to run, and why it waits."""

    task_id: int
    repo: str
    issue_number: int
    title: str
    state: TaskState
    role: str | None
    priority: float
    attempt: int
    max_attempts: int
    passed_over: int
    waiting_reason: str | None
    waiting_seconds: float


@dataclass(frozen=True)
class RunningRow:
    """A running attempt and the files its task claims."""

    task_id: int
    repo: str
    issue_number: int
    title: str
    role: str | None
    attempt: int
    max_attempts: int
    worker: str | None
    running_seconds: float | None
    claims: tuple[str, ...]
    cost_usd: float


@dataclass(frozen=True)
class PullRow:
    """A task's pull request: opened, in review, merged or reverted, with cost and timing."""

    task_id: int
    repo: str
    issue_number: int
    title: str
    pr_number: int
    task_state: TaskState
    pr_state: str | None
    role: str | None
    attempt: int
    cost_usd: float
    to_pr_seconds: float | None
    to_merge_seconds: float | None
    updated_at: datetime | None


@dataclass(frozen=True)
class FailureRow:
    """An attempt that ended without a pull request."""

    task_id: int
    repo: str
    issue_number: int
    title: str
    attempt: int
    outcome: str
    task_state: TaskState
    ended_at: datetime
    duration_seconds: float | None
    cost_usd: float


@dataclass(frozen=True)
class NeedsHumanRow:
    """A task that stopped and waits for a maintainer, with the last reason recorded."""

    task_id: int
    repo: str
    issue_number: int
    title: str
    attempt: int
    max_attempts: int
    reason: str
    since: datetime | None


@dataclass(frozen=True)
class CostRow:
    """Model spend under one key (a day, a role, a model or a task)."""

    key: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass(frozen=True)
class DayCount:
    """Pull requests opened and merged on one day (UTC)."""

    day: date
    opened: int
    merged: int


@dataclass(frozen=True)
class LeadTime:
    """One task's first approval, first pull request and first merge."""

    task_id: int
    approved_at: datetime
    pr_at: datetime | None
    merged_at: datetime | None


@dataclass(frozen=True)
class StepRow:
    """How one kind of attempt step went over the statistics window."""

    step: str
    runs: int
    failures: int
    mean_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class RepoRow:
    """An installed repository: is its `.townhall.toml` usable, and is planning stuck on it."""

    id: int
    full_name: str
    active: bool  # False: removed from the installation, or the installation is gone
    policy_error: str | None  # None: the file is valid (or absent: the defaults apply)
    model_failures: int  # tasks waiting, or handed to a person, because the model failed

    @property
    def needs_operator(self) -> str | None:
        """Why the operator should look at this repository, or None when nothing is wrong."""
        if not self.active:
            return None
        if self.policy_error:
            return "its .townhall.toml is invalid: nothing is voted, planned or scheduled"
        if self.model_failures:
            count = self.model_failures
            return f"the model failed to plan {count} task{'' if count == 1 else 's'}"
        return None


@dataclass(frozen=True)
class TickRow:
    """The last recorded CEO tick, successful or not."""

    ended_at: datetime
    ok: bool
    detail: str


@dataclass(frozen=True)
class Facts:
    """Everything the dashboard reads from the store in one transaction."""

    now: datetime
    limits: Limits
    tasks_by_state: dict[str, int]
    open_issues: int
    leaderboard: tuple[IssueRow, ...]
    queue: tuple[QueueRow, ...]
    queue_total: int
    running: tuple[RunningRow, ...]
    pulls: tuple[PullRow, ...]
    failures: tuple[FailureRow, ...]
    needs_human: tuple[NeedsHumanRow, ...]
    cost_by_day: tuple[CostRow, ...]
    cost_by_role: tuple[CostRow, ...]
    cost_by_model: tuple[CostRow, ...]
    cost_by_task: tuple[CostRow, ...]
    throughput: tuple[DayCount, ...]
    lead_times: tuple[LeadTime, ...]
    attempts_ended: int
    attempts_with_pr: int
    tasks_merged: int
    tasks_given_up: int
    steps: tuple[StepRow, ...]
    spent_today_usd: float
    last_successful_tick: datetime | None
    last_tick: TickRow | None
    repos: tuple[RepoRow, ...] = ()
    merged_cost: MergedTaskCost | None = None  # model dollars of the tasks merged in the window


@dataclass(frozen=True)
class Outcomes:
    """Success rates and lead times over the statistics window."""

    window_days: int
    attempts_ended: int
    attempts_with_pr: int
    attempt_success_rate: float | None
    tasks_merged: int
    tasks_given_up: int
    merge_rate: float | None
    to_pr_median_seconds: float | None
    to_pr_p90_seconds: float | None
    to_merge_median_seconds: float | None
    to_merge_p90_seconds: float | None
    lead_time_samples: int


@dataclass(frozen=True)
class Budget:
    """Today's model spend against the daily budget."""

    spent_today_usd: float
    daily_budget_usd: float
    fraction: float
    stop_reason: str | None


@dataclass(frozen=True)
class Health:
    """Whether the CEO ticks on time: the last successful tick against the allowed age."""

    healthy: bool
    last_successful_tick: datetime | None
    tick_age_seconds: float | None
    max_age_seconds: float | None
    reason: str
    last_tick: TickRow | None = None


@dataclass(frozen=True)
class Bar:
    """One bar of a chart, in chart coordinates."""

    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class BarChart:
    """A small bar chart (one or two series) ready to draw as inline SVG."""

    title: str
    width: int
    height: int
    baseline: float
    max_value: float
    series: tuple[tuple[str, tuple[Bar, ...]], ...]
    axis_labels: tuple[tuple[float, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Dashboard:
    """The whole page: the facts plus what is computed from them."""

    generated_at: datetime
    facts: Facts
    outcomes: Outcomes
    budget: Budget
    health: Health
    cost_chart: BarChart
    throughput_chart: BarChart

    @property
    def total_tasks(self) -> int:
        """Return how many tasks the store holds."""
        return sum(self.facts.tasks_by_state.values())
