"""Read one store column as a typed value: the dashboard's readers build records with these.

Rows come back as `dict[str, Any]`; every reader turns each cell into its type right where it
reads it, so nothing untyped leaves a query function.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.taskstate import TaskState


def parse_time(value: Any) -> datetime | None:
    """Parse a stored timestamp; None for a missing or malformed one (rows seeded by hand)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """Return the seconds from `start` to `end`, or None when either is unknown."""
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def text_or_none(value: Any) -> str | None:
    """Read a nullable text column."""
    return None if value is None else str(value)


def int_or_none(value: Any) -> int | None:
    """Read a nullable integer column."""
    return None if value is None else int(value)


def state_or_none(value: Any) -> TaskState | None:
    """Read a nullable task state (an outer join with no task, an event with no move)."""
    return None if value is None else TaskState(str(value))
