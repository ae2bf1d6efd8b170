"""Budgets: deterministic dollar caps per day and per task; when reached, nothing new starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from app.store import Store
from app.store.times import to_db


@dataclass(frozen=True)
class Spend:
    """Dollars spent today (UTC) overall and in one repository."""

    today_usd: float
    repo_today_usd: float


def start_of_day(moment: datetime) -> datetime:
    """Midnight UTC of `moment`'s day; budgets reset then."""
    return datetime.combine(moment.date(), time.min, tzinfo=moment.tzinfo)


def budget_stop(spend: Spend, daily_cap_usd: float, repo_daily_cap_usd: float) -> str | None:
    """Return why nothing new may be dispatched, or None when there is budget left."""
    if spend.today_usd >= daily_cap_usd:
        return f"daily budget reached: ${spend.today_usd:.2f} of ${daily_cap_usd:.2f} spent today"
    if spend.repo_today_usd >= repo_daily_cap_usd:
        return (
            f"this repository's daily budget reached: ${spend.repo_today_usd:.2f} of "
            f"${repo_daily_cap_usd:.2f}"
        )
    return None


def task_over_budget(task_cost_usd: float, per_task_cap_usd: float) -> str | None:
    """Return why a task may not get another attempt on cost grounds, or None."""
    if task_cost_usd >= per_task_cap_usd:
        return f"task budget spent: ${task_cost_usd:.2f} of ${per_task_cap_usd:.2f}"
    return None


async def spend_today(store: Store, now: datetime, repo_id: int) -> Spend:
    """Sum today's model spend overall and for one repository's tasks."""
    since = to_db(start_of_day(now))
    row = await store.fetchone(
        "SELECT COALESCE(SUM(c.cost_usd), 0) AS total,"
        " COALESCE(SUM(CASE WHEN t.repo_id = ? THEN c.cost_usd ELSE 0 END), 0) AS repo"
        " FROM llm_calls c LEFT JOIN tasks t ON t.id = c.task_id WHERE c.created_at >= ?",
        (repo_id, since),
    )
    assert row is not None  # an aggregate always returns a row
    return Spend(float(row["total"]), float(row["repo"]))
