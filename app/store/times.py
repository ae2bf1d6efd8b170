"""How the store writes time: ISO 8601 UTC with microseconds, so text order is time order."""

from __future__ import annotations

from datetime import UTC, datetime


def to_db(moment: datetime) -> str:
    """Format an aware datetime for storage."""
    if moment.tzinfo is None:
        raise ValueError("store timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(text: str) -> datetime:
    """Parse a stored timestamp."""
    return datetime.fromisoformat(text)
