"""Pure computations over the facts: rates, lead-time percentiles, budget, health and charts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from app.dashboard.board import (
    Bar,
    BarChart,
    Budget,
    Dashboard,
    Facts,
    Health,
    LeadTime,
    Outcomes,
    TickRow,
)
from app.dashboard.text import duration
from app.store.spend import Spend, budget_stop

# The CEO ticks every few minutes; three missed ticks in a row is an outage worth paging for.
DEFAULT_TICK_MAX_AGE = timedelta(minutes=15)

CHART_WIDTH = 640
CHART_HEIGHT = 180
CHART_LEFT = 44  # room for the value axis labels
CHART_BOTTOM = 22  # room for the day labels
CHART_TOP = 10


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Return the `fraction` quantile (0..1) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rate(part: int, whole: int) -> float | None:
    """Return part/whole, or None when there is nothing to divide."""
    return part / whole if whole else None


def outcomes(facts: Facts) -> Outcomes:
    """Compute success rates and approval-to-PR and approval-to-merge times in the window."""
    since = facts.now - timedelta(days=facts.limits.window_days)
    to_pr = _durations(facts.lead_times, since, merged=False)
    to_merge = _durations(facts.lead_times, since, merged=True)
    return Outcomes(
        window_days=facts.limits.window_days,
        attempts_ended=facts.attempts_ended,
        attempts_with_pr=facts.attempts_with_pr,
        attempt_success_rate=rate(facts.attempts_with_pr, facts.attempts_ended),
        tasks_merged=facts.tasks_merged,
        tasks_given_up=facts.tasks_given_up,
        merge_rate=rate(facts.tasks_merged, facts.tasks_merged + facts.tasks_given_up),
        to_pr_median_seconds=percentile(to_pr, 0.5),
        to_pr_p90_seconds=percentile(to_pr, 0.9),
        to_merge_median_seconds=percentile(to_merge, 0.5),
        to_merge_p90_seconds=percentile(to_merge, 0.9),
        lead_time_samples=len(to_pr),
    )


def _durations(times: Sequence[LeadTime], since: datetime, *, merged: bool) -> list[float]:
    values = []
    for lead in times:
        end = lead.merged_at if merged else lead.pr_at
        if end is not None and end >= since and end >= lead.approved_at:
            values.append((end - lead.approved_at).total_seconds())
    return values


def budget(spent_today_usd: float, daily_budget_usd: float) -> Budget:
    """Compare today's spend with the daily budget (the CEO's own stop rule says when it stops)."""
    if daily_budget_usd > 0:
        fraction = spent_today_usd / daily_budget_usd
    else:
        fraction = 1.0 if spent_today_usd > 0 else 0.0
    return Budget(
        spent_today_usd=spent_today_usd,
        daily_budget_usd=daily_budget_usd,
        fraction=fraction,
        stop_reason=budget_stop(
            Spend(spent_today_usd, spent_today_usd), daily_budget_usd, math.inf
        ),
    )


def assess_health(
    now: datetime,
    last_success: datetime | None,
    max_age: timedelta | None,
    up_since: datetime | None = None,
    last_tick: TickRow | None = None,
) -> Health:
    """Judge whether the CEO ticks on time.

    Unhealthy when the last successful tick is older than `max_age`; before any tick has
    succeeded, the process's start (`up_since`) stands in for it, so a fresh deployment gets
    one `max_age` of grace. `max_age=None` turns the check off.
    """
    age = None if last_success is None else max((now - last_success).total_seconds(), 0.0)
    limit = None if max_age is None else max_age.total_seconds()
    if limit is None:
        healthy, reason = True, "tick age not checked"
    elif last_success is None and up_since is None:
        healthy, reason = False, "no successful CEO tick recorded"
    elif age is None:
        waited = max((now - (up_since or now)).total_seconds(), 0.0)
        healthy = waited <= limit
        reason = (
            f"waiting for the first successful CEO tick ({duration(waited)} since start-up)"
            if healthy
            else f"no successful CEO tick in the {duration(waited)} since start-up"
            f" (limit {duration(limit)})"
        )
    else:
        healthy = age <= limit
        reason = f"last successful CEO tick {duration(age)} ago (limit {duration(limit)})"
    return Health(healthy, last_success, age, limit, reason, last_tick)


def bar_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]
) -> BarChart:
    """Lay out grouped bars, one group per label and one bar per series, in a fixed box."""
    top = max((value for _, values in series for value in values), default=0.0)
    scale_max = _nice_ceiling(top)
    plot_width = CHART_WIDTH - CHART_LEFT - 4
    plot_height = CHART_HEIGHT - CHART_BOTTOM - CHART_TOP
    baseline = CHART_TOP + plot_height
    slot = plot_width / max(len(labels), 1)
    bar_width = max(slot * 0.8 / max(len(series), 1), 1.0)
    drawn = []
    for index, (name, values) in enumerate(series):
        bars = []
        for position, (label, value) in enumerate(zip(labels, values, strict=True)):
            height = plot_height * value / scale_max if scale_max else 0.0
            bars.append(
                Bar(
                    label=label,
                    value=value,
                    x=round(CHART_LEFT + position * slot + slot * 0.1 + index * bar_width, 2),
                    y=round(baseline - height, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    title=f"{label}: {name} {value:g}",
                )
            )
        drawn.append((name, tuple(bars)))
    ticks = tuple(
        (round(baseline - plot_height * step / 2, 2), f"{scale_max * step / 2:g}")
        for step in range(3)
    )
    return BarChart(title, CHART_WIDTH, CHART_HEIGHT, baseline, scale_max, tuple(drawn), ticks)


def _nice_ceiling(value: float) -> float:
    """Round a chart maximum up to 1, 2 or 5 times a power of ten (0 stays 0)."""
    if value <= 0:
        return 0.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def build_dashboard(
    facts: Facts,
    daily_budget_usd: float,
    tick_max_age: timedelta | None,
    up_since: datetime | None = None,
) -> Dashboard:
    """Assemble the page from the facts: nothing here reads the store or the clock."""
    days = [row.key[5:] for row in facts.cost_by_day]  # MM-DD
    return Dashboard(
        generated_at=facts.now,
        facts=facts,
        outcomes=outcomes(facts),
        budget=budget(facts.spent_today_usd, daily_budget_usd),
        health=assess_health(
            facts.now, facts.last_successful_tick, tick_max_age, up_since, facts.last_tick
        ),
        cost_chart=bar_chart(
            "Model spend per day (USD)",
            days,
            [("spend", [round(row.cost_usd, 4) for row in facts.cost_by_day])],
        ),
        throughput_chart=bar_chart(
            "Pull requests opened and merged per day",
            [day.day.isoformat()[5:] for day in facts.throughput],
            [
                ("opened", [float(day.opened) for day in facts.throughput]),
                ("merged", [float(day.merged) for day in facts.throughput]),
            ],
        ),
    )
